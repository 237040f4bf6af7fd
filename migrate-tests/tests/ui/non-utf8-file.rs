const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("fixtures/non_utf8");

fn main() {}
