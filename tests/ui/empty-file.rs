const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("../../../../tests/ui/fixtures/empty_file");

fn main() {}
