const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("migrations", verify = maybe);

fn main() {}
