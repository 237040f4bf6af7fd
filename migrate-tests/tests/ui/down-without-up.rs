const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("fixtures/down_without_up");

fn main() {}
