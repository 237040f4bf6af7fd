const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("fixtures/verify_sql_error");

fn main() {}
