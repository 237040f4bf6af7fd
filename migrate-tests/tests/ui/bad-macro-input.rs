const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!(42);

fn main() {}
