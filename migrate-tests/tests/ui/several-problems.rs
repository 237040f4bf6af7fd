const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("fixtures/several_problems");

fn main() {}
