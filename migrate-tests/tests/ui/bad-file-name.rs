const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("fixtures/bad_file_name");

fn main() {}
