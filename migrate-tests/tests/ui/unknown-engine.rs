const MIGRATIONS: migrate::Migrations =
    migrate::embed_migrations!("migrations", engine = "mysql");

fn main() {}
