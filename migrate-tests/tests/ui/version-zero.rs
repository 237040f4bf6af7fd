const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("fixtures/version_zero");

fn main() {}
