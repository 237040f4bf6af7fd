// touch: the first line, rewritten by rebuild.py before each timed build
use migrate::rusqlite::Connection;

const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("migrations"@OPTIONS@);

fn main() {
    let mut conn = Connection::open_in_memory().expect("in-memory database");
    let report = MIGRATIONS.run(&mut conn).expect("migrations");
    println!("{}", report.applied.len());
}
