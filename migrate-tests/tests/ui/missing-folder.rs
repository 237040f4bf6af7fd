const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("fixtures/does_not_exist");

fn main() {}
