const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("../../../../tests/ui/fixtures/version_too_large");

fn main() {}
