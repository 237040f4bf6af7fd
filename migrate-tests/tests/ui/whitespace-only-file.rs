const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("fixtures/whitespace_only");

fn main() {}
