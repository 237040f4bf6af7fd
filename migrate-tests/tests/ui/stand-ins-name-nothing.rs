const MIGRATIONS: migrate::Migrations =
    migrate::embed_migrations!("migrations", collations());

fn main() {}
