const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("fixtures/mixed_schemes");

fn main() {}
