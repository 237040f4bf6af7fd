const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("fixtures/unknown_directive");

fn main() {}
