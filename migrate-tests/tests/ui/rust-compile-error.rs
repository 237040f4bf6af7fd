const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("fixtures/rust_compile_error");

fn main() {}
