//! The PostgreSQL server the tests run against, and a throwaway database per
//! test.
//!
//! The server is `MIGRATE_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). When none answers, each
//! test says so in one line and passes without running, unless
//! `MIGRATE_REQUIRE_POSTGRES=1` (as `.ci/run` sets), which fails it instead.

#![allow(dead_code)] // each test file uses part of it

use std::str::FromStr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use migrate::postgres::postgres::{Client, Config, NoTls};

/// The default server: the project's machines run PostgreSQL 15 there.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The server's URL.
pub fn server_url() -> String {
    std::env::var("MIGRATE_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// Runs `f` on a thread of its own and waits for it. The blocking client
/// drives its connection on a runtime of its own, which tokio refuses to
/// start (or drop) on a thread of another runtime: this lets an async test
/// (`#[tokio::test]`) use the helpers here, and drop a [`TestDatabase`]
/// while it unwinds from a failed assertion.
pub fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| match scope.spawn(f).join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

/// Whether the server answers; when it does not, prints the one-line notice
/// (or panics under `MIGRATE_REQUIRE_POSTGRES=1`). Asked once per process.
pub fn available() -> bool {
    static ANSWERS: OnceLock<Result<(), String>> = OnceLock::new();
    let answer = ANSWERS.get_or_init(|| {
        off_runtime(|| {
            Client::connect(&server_url(), NoTls)
                .map(drop)
                .map_err(|error| error.to_string())
        })
    });
    match answer {
        Ok(()) => true,
        Err(error) if required() => {
            panic!(
                "MIGRATE_REQUIRE_POSTGRES=1 but no PostgreSQL server answers at {}: {error}",
                server_url()
            )
        }
        Err(_) => {
            eprintln!(
                "skipped: no PostgreSQL server answers at {} (set MIGRATE_TEST_POSTGRES_URL; MIGRATE_REQUIRE_POSTGRES=1 makes this a failure)",
                server_url()
            );
            false
        }
    }
}

fn required() -> bool {
    std::env::var_os("MIGRATE_REQUIRE_POSTGRES").is_some_and(|value| value == "1")
}

/// A database of its own on the server, dropped with the value.
pub struct TestDatabase {
    name: String,
    config: Config,
}

impl TestDatabase {
    /// Creates an empty database with a name no other test (or process)
    /// uses. Callable from an async test too (see [`off_runtime`]).
    pub fn new() -> TestDatabase {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "migrate_test_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        off_runtime(|| {
            let mut admin = Client::connect(&server_url(), NoTls).expect("connect to the server");
            // Two statements, two queries: a multi-statement query is one
            // implicit transaction, which `CREATE DATABASE` refuses.
            admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .expect("drop a leftover test database");
            admin
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .expect("create a test database");
        });
        let mut config = Config::from_str(&server_url()).expect("parse the server URL");
        config.dbname(&name);
        TestDatabase { name, config }
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its connection settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A URL to it, as the command line takes one.
    pub fn url(&self) -> String {
        let base = server_url();
        let (server, _) = base.rsplit_once('/').expect("a URL with a database name");
        format!("{server}/{}", self.name)
    }

    /// A new blocking connection to it.
    pub fn connect(&self) -> Client {
        self.config
            .connect(NoTls)
            .expect("connect to the test database")
    }
}

/// Drops the database (`WITH (FORCE)`: its connections are ended), also
/// from an async test (see [`off_runtime`]).
impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = &self.name;
        off_runtime(|| {
            if let Ok(mut admin) = Client::connect(&server_url(), NoTls) {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        });
    }
}

/// The application's objects in `public`: tables, views and sequences, and
/// indexes that are not a constraint's, as `"<kind> <name>"`, without the
/// default tracking tables and their index. Its rows have the name in
/// column 1, to sort and filter on.
pub const OBJECTS: &str = r"
SELECT kind || ' ' || name AS object, name, definition FROM (
    SELECT 'table' AS kind, c.relname AS name,
           (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                              || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
                              || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), ''),
                              ', ' ORDER BY a.attnum)
              FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)
           || coalesce((SELECT '; ' || string_agg(pg_get_constraintdef(k.oid), '; ' ORDER BY k.conname)
                          FROM pg_constraint k WHERE k.conrelid = c.oid), '') AS definition
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
    UNION ALL
    SELECT 'view', c.relname, pg_get_viewdef(c.oid)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('v', 'm')
    UNION ALL
    SELECT 'index', c.relname, pg_get_indexdef(c.oid)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_index i ON i.indexrelid = c.oid
     WHERE n.nspname = 'public' AND c.relkind = 'i'
       AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid)
) AS objects
WHERE name NOT IN ('migrate_schema_history', 'migrate_schema_history_events',
                   'migrate_schema_history_unfinished')
ORDER BY kind, name";

/// PostgreSQL's message for a conformance failure, as the backend shows a
/// server error: the message and its SQLSTATE.
pub fn message(failure: &str, sqlstate: &str) -> String {
    format!("{failure} (SQLSTATE {sqlstate})")
}

/// What the harnesses ask of a connection, blocking or async.
pub trait Query {
    /// Runs `sql` (statements without parameters).
    fn run(&mut self, sql: &str);
    /// The rows of one statement.
    fn rows(&mut self, sql: &str) -> Vec<migrate::postgres::tokio_postgres::Row>;
}

impl Query for Client {
    fn run(&mut self, sql: &str) {
        self.batch_execute(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    fn rows(&mut self, sql: &str) -> Vec<migrate::postgres::tokio_postgres::Row> {
        self.query(sql, &[])
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

/// The harness's queries, the same on both clients.
pub mod queries {
    use super::{OBJECTS, Query};

    pub fn count(conn: &mut impl Query, sql: &str) -> i64 {
        let rows = conn.rows(sql);
        let row = rows.first().unwrap_or_else(|| panic!("{sql}: no row"));
        row.try_get::<_, i64>(0)
            .or_else(|_| row.try_get::<_, i32>(0).map(i64::from))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    pub fn texts(conn: &mut impl Query, sql: &str) -> Vec<String> {
        conn.rows(sql).iter().map(|row| row.get(0)).collect()
    }

    pub fn table_exists(conn: &mut impl Query, name: &str) -> bool {
        count(
            conn,
            &format!(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = '{}'",
                name.replace('\'', "''")
            ),
        ) > 0
    }

    pub fn columns(conn: &mut impl Query, table: &str) -> Vec<String> {
        texts(
            conn,
            &format!(
                "SELECT column_name::text FROM information_schema.columns
                 WHERE table_schema = 'public' AND table_name = '{}' ORDER BY ordinal_position",
                table.replace('\'', "''")
            ),
        )
    }

    pub fn objects(conn: &mut impl Query) -> Vec<String> {
        texts(conn, &format!("SELECT object FROM ({OBJECTS}) AS o"))
    }

    pub fn schema(conn: &mut impl Query) -> Vec<String> {
        texts(
            conn,
            &format!("SELECT object || ': ' || coalesce(definition, '') FROM ({OBJECTS}) AS o"),
        )
    }

    pub fn is_empty(conn: &mut impl Query) -> bool {
        count(
            conn,
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
               AND n.nspname NOT LIKE 'pg\\_temp%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp%'",
        ) == 0
    }
}
