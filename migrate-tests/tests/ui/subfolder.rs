const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("fixtures/subfolder");

fn main() {}
