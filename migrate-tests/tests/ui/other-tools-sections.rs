const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("fixtures/other_tools_sections");

fn main() {}
