const MIGRATIONS: migrate::Migrations =
    migrate::embed_migrations!("migrations", verify = false, functions(app_hash));

fn main() {}
