const MIGRATIONS: migrate::Migrations =
    migrate::embed_migrations!("migrations", engine = "sqlite", verify = false, engine = "sqlite");

fn main() {}
