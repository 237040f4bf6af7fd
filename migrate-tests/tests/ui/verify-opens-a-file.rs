const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("fixtures/verify_opens_a_file");

fn main() {}
