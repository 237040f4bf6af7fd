const MIGRATIONS: migrate::Migrations =
    migrate::embed_migrations!("fixtures/verify_unknown_function", verify = false, functions(app_hash));

fn main() {}
