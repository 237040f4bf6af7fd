//! The PostgreSQL server the CLI's tests run against, and a throwaway
//! database per test: the rules of the facade's `tests/common/postgres.rs`
//! (which names the facade crate, not migrate-core), in the few lines the
//! CLI's tests need.
//!
//! The server is `MIGRATE_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). When none answers, each
//! test says so in one line and passes without running, unless
//! `MIGRATE_REQUIRE_POSTGRES=1` (as `.ci/run` sets), which fails it instead.

#![allow(dead_code)] // each test file uses part of it

use std::str::FromStr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use migrate_core::postgres::postgres::{Client, Config, NoTls};

/// The default server: the project's machines run PostgreSQL 15 there.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The server's URL.
pub fn server_url() -> String {
    std::env::var("MIGRATE_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// Whether the server answers; when it does not, prints the one-line notice
/// (or panics under `MIGRATE_REQUIRE_POSTGRES=1`). Asked once per process.
pub fn available() -> bool {
    static ANSWERS: OnceLock<Result<(), String>> = OnceLock::new();
    let answer = ANSWERS.get_or_init(|| {
        Client::connect(&server_url(), NoTls)
            .map(drop)
            .map_err(|error| error.to_string())
    });
    match answer {
        Ok(()) => true,
        Err(error)
            if std::env::var_os("MIGRATE_REQUIRE_POSTGRES").is_some_and(|value| value == "1") =>
        {
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

/// A database of its own on the server, dropped with the value.
pub struct TestDatabase {
    name: String,
    config: Config,
}

impl TestDatabase {
    /// Creates an empty database with a name no other test (or process)
    /// uses.
    pub fn new() -> TestDatabase {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "migrate_cli_test_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = Client::connect(&server_url(), NoTls).expect("connect to the server");
        // Two queries: `CREATE DATABASE` refuses a multi-statement one.
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .expect("drop a leftover test database");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create a test database");
        let mut config = Config::from_str(&server_url()).expect("parse the server URL");
        config.dbname(&name);
        TestDatabase { name, config }
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

    /// `(version, state)` of every row of `<schema>.migrate_schema_history`.
    pub fn tracking(&self, schema: &str) -> Vec<(i64, String)> {
        let sql = format!("SELECT version, state FROM {schema}.migrate_schema_history ORDER BY 1");
        self.connect()
            .query(&sql, &[])
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect()
    }

    /// The number of rows `sql` counts.
    pub fn count(&self, sql: &str) -> i64 {
        self.connect()
            .query_one(sql, &[])
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .get(0)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = Client::connect(&server_url(), NoTls) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}
