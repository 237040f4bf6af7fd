const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("fixtures/goose_annotations");

fn main() {}
