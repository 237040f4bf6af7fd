const MIGRATIONS: migrate::Migrations =
    migrate::embed_migrations!("fixtures/pg_syntax_error_down", engine = "postgres");

fn main() {}
