const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("fixtures/version_too_large");

fn main() {}
