const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("../../../../tests/ui/fixtures/duplicate_version");

fn main() {}
