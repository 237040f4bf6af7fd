const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("fixtures/no_migrations");

fn main() {}
