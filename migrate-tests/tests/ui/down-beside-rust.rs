const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("fixtures/down_beside_rust");

fn main() {}
