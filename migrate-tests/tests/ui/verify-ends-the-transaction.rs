const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("fixtures/verify_ends_the_transaction");

fn main() {}
