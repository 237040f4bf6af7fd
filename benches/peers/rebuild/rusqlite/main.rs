// touch: the first line, rewritten by rebuild.py before each timed build
use rusqlite::Connection;

fn main() {
    let conn = Connection::open_in_memory().expect("in-memory database");
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))
        .expect("schema");
    println!("{tables}");
}
