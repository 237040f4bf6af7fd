// As a `Connection` of another rusqlite version would be: a type that is not
// `migrate::rusqlite::Connection` (a second rusqlite cannot be linked here,
// both bundling SQLite).
mod rusqlite_0_43 {
    pub struct Connection;
}

fn main() {
    let migrations = migrate::Migrations::from_folder("migrations").unwrap();
    let mut conn = rusqlite_0_43::Connection;
    let _ = migrations.run(&mut conn);
}
