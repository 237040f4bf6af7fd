const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("../../../../tests/ui/fixtures/does_not_exist");

fn main() {}
