const MIGRATIONS: migrate::Migrations =
    migrate::embed_migrations!("fixtures/verify_unknown_function", collations());

fn main() {}
