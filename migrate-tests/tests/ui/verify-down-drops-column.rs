const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("fixtures/verify_down_drops_column");

fn main() {}
