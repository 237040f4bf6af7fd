// touch: the first line, rewritten by rebuild.py before each timed build
use rusqlite::Connection;

mod embedded {
    refinery::embed_migrations!("migrations");
}

fn main() {
    let mut conn = Connection::open_in_memory().expect("in-memory database");
    let report = embedded::migrations::runner()
        .run(&mut conn)
        .expect("migrations");
    println!("{}", report.applied_migrations().len());
}
