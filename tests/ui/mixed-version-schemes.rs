const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("../../../../tests/ui/fixtures/mixed_schemes");

fn main() {}
