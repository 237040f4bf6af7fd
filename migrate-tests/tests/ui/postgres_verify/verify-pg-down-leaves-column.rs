//! With MIGRATE_VERIFY_DATABASE_URL set, a down that does not restore the
//! schema from before its up is a compile error naming the down's file and
//! what it leaves.

const MIGRATIONS: migrate::Migrations =
    migrate::embed_migrations!("fixtures/pg_verify_down_leaves_column", engine = "postgres");

fn main() {
    let _ = MIGRATIONS;
}
