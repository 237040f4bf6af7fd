const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("fixtures/gap");

fn main() {}
