const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("fixtures/rust_without_up");

fn main() {}
