const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("fixtures/pg_only");

fn main() {}
