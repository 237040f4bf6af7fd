//! The backend conformance suite (`tests/conformance`) on PostgreSQL through
//! the async `tokio-postgres` client.
//!
//! The suite's cases call the blocking actions. A tokio-postgres client's
//! futures need no runtime of their own once its connection is driven
//! elsewhere, so the harness drives every connection on one shared tokio
//! runtime and passes the client in a newtype that is `Blocking`: the
//! actions then run the same async driver code over the async backend,
//! waiting on this thread. `tests/tokio_postgres.rs` calls the `_async`
//! forms themselves.

#[macro_use]
#[path = "../../tests/conformance/mod.rs"]
mod conformance;
#[path = "../../tests/common/postgres.rs"]
mod postgres;
#[path = "../../tests/common/postgres_messages.rs"]
mod postgres_messages;

use std::sync::LazyLock;

use conformance::{Harness, Message};
use migrate::backend::{Session, block_on};
use migrate::postgres::tokio_postgres::{self, NoTls, Row};
use postgres::{Query, TestDatabase, queries};

/// The runtime that drives every connection of the tests.
static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("start a tokio runtime")
});

/// A tokio-postgres client whose connection runs on [`RUNTIME`].
struct AsyncClient(tokio_postgres::Client);

impl AsyncClient {
    fn connect(url: &str) -> AsyncClient {
        let client = RUNTIME.block_on(async move {
            let (client, connection) = tokio_postgres::connect(url, NoTls)
                .await
                .expect("connect to the test database");
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    eprintln!("connection error: {error}");
                }
            });
            client
        });
        AsyncClient(client)
    }
}

impl migrate::Database for AsyncClient {
    type Backend<'c> = <tokio_postgres::Client as migrate::Database>::Backend<'c>;

    async fn open<'c>(&'c mut self, session: &Session<'_>) -> migrate::Result<Self::Backend<'c>> {
        self.0.open(session).await
    }
}

/// Its connection is driven on [`RUNTIME`]'s threads, so its futures
/// complete on any thread that waits for them.
impl migrate::Blocking for AsyncClient {}

impl Query for AsyncClient {
    fn run(&mut self, sql: &str) {
        block_on(self.0.batch_execute(sql)).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    fn rows(&mut self, sql: &str) -> Vec<Row> {
        block_on(self.0.query(sql, &[])).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

/// A database of its own on the server.
struct TokioPostgresHarness {
    database: TestDatabase,
}

impl Harness for TokioPostgresHarness {
    type Conn = AsyncClient;

    fn available() -> bool {
        postgres::available()
    }

    fn new_database() -> Self {
        TokioPostgresHarness {
            database: TestDatabase::new(),
        }
    }

    fn connect(&self) -> AsyncClient {
        AsyncClient::connect(&self.database.url())
    }

    fn execute(conn: &mut AsyncClient, sql: &str) {
        conn.run(sql);
    }

    fn count(conn: &mut AsyncClient, sql: &str) -> i64 {
        queries::count(conn, sql)
    }

    fn texts(conn: &mut AsyncClient, sql: &str) -> Vec<String> {
        queries::texts(conn, sql)
    }

    fn table_exists(conn: &mut AsyncClient, name: &str) -> bool {
        queries::table_exists(conn, name)
    }

    fn columns(conn: &mut AsyncClient, table: &str) -> Vec<String> {
        queries::columns(conn, table)
    }

    fn objects(conn: &mut AsyncClient) -> Vec<String> {
        queries::objects(conn)
    }

    fn schema(conn: &mut AsyncClient) -> Vec<String> {
        queries::schema(conn)
    }

    fn is_empty(conn: &mut AsyncClient) -> bool {
        queries::is_empty(conn)
    }

    fn message(failure: Message<'_>) -> String {
        postgres_messages::pg_message(failure)
    }
}

conformance_suite!(TokioPostgresHarness);
