const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("fixtures/empty_file");

fn main() {}
