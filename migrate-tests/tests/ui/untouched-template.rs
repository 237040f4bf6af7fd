const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("fixtures/untouched_template");

fn main() {}
