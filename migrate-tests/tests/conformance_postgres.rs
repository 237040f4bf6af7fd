//! The backend conformance suite (`tests/conformance`) on PostgreSQL through
//! the blocking `postgres` client: each case in a database of its own on the
//! test server (see `tests/common/postgres.rs`).

#[macro_use]
#[path = "../../tests/conformance/mod.rs"]
mod conformance;
#[path = "../../tests/common/postgres.rs"]
mod postgres;
#[path = "../../tests/common/postgres_messages.rs"]
mod postgres_messages;

use conformance::{Harness, Message};
use migrate::postgres::postgres::Client;
use postgres::{TestDatabase, queries};

/// A database of its own on the server.
struct PostgresHarness {
    database: TestDatabase,
}

impl Harness for PostgresHarness {
    type Conn = Client;

    fn available() -> bool {
        postgres::available()
    }

    fn new_database() -> Self {
        PostgresHarness {
            database: TestDatabase::new(),
        }
    }

    fn connect(&self) -> Client {
        self.database.connect()
    }

    fn execute(conn: &mut Client, sql: &str) {
        postgres::Query::run(conn, sql);
    }

    fn count(conn: &mut Client, sql: &str) -> i64 {
        queries::count(conn, sql)
    }

    fn texts(conn: &mut Client, sql: &str) -> Vec<String> {
        queries::texts(conn, sql)
    }

    fn table_exists(conn: &mut Client, name: &str) -> bool {
        queries::table_exists(conn, name)
    }

    fn columns(conn: &mut Client, table: &str) -> Vec<String> {
        queries::columns(conn, table)
    }

    fn objects(conn: &mut Client) -> Vec<String> {
        queries::objects(conn)
    }

    fn schema(conn: &mut Client) -> Vec<String> {
        queries::schema(conn)
    }

    fn is_empty(conn: &mut Client) -> bool {
        queries::is_empty(conn)
    }

    fn message(failure: Message<'_>) -> String {
        postgres_messages::pg_message(failure)
    }
}

conformance_suite!(PostgresHarness);
