const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("fixtures/duplicate_version");

fn main() {}
