//! Rust migrations on PostgreSQL, embedded with `engine = "postgres"` (the
//! blocking client's transaction) and `engine = "tokio-postgres"` (async
//! functions over the async client's): they run in the migration's
//! transaction, their downs revert them, and a set written for one client is
//! refused on the other before anything is applied.
//!
//! `verify = false`: these tests run without PostgreSQL's parser (feature
//! `postgres-parse`), which `tests/compile_errors.rs` covers.

#[path = "../../tests/common/postgres.rs"]
mod postgres;

use migrate::postgres::tokio_postgres::{self, NoTls};
use migrate::{Error, Migrations};
use postgres::TestDatabase;

const BLOCKING: Migrations = migrate::embed_migrations!(
    "tests/fixtures/pg_rust",
    engine = "postgres",
    verify = false
);
const ASYNC: Migrations = migrate::embed_migrations!(
    "tests/fixtures/pg_rust_async",
    engine = "tokio-postgres",
    verify = false
);

fn slugs(client: &mut migrate::postgres::postgres::Client) -> Vec<String> {
    client
        .query("SELECT slug FROM projects ORDER BY id", &[])
        .expect("read the slugs")
        .iter()
        .map(|row| row.get(0))
        .collect()
}

const SLUGS: [&str; 3] = ["docs-&-guides-1", "docs-guides-2", "api-3"];

#[test]
fn a_blocking_rust_migration_runs_in_its_transaction_and_its_down_reverts_it() {
    if !postgres::available() {
        return;
    }
    let db = TestDatabase::new();
    let mut client = db.connect();

    let report = BLOCKING.run(&mut client).expect("run");

    assert_eq!(report.applied.len(), 2);
    assert_eq!(slugs(&mut client), SLUGS);
    BLOCKING.rollback(&mut client, 1).expect("rollback");
    let columns = client
        .query(
            "SELECT column_name::text FROM information_schema.columns WHERE table_name = 'projects' ORDER BY ordinal_position",
            &[],
        )
        .expect("columns");
    assert_eq!(columns.len(), 2, "slug dropped by the down");
}

#[test]
fn an_async_rust_migration_runs_with_the_async_client() {
    if !postgres::available() {
        return;
    }
    let db = TestDatabase::new();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let (mut client, connection) = tokio_postgres::connect(&db.url(), NoTls)
            .await
            .expect("connect");
        tokio::spawn(connection);
        let report = ASYNC.run_async(&mut client).await;
        assert_eq!(report.expect("run").applied.len(), 2);
        ASYNC
            .rollback_async(&mut client, 1)
            .await
            .expect("rollback");
        ASYNC.run_async(&mut client).await.expect("run again");
    });
    assert_eq!(slugs(&mut db.connect()), SLUGS);
}

#[test]
fn code_for_the_other_client_is_refused_before_anything_is_applied() {
    if !postgres::available() {
        return;
    }
    let db = TestDatabase::new();
    let mut client = db.connect();

    let error = ASYNC.run(&mut client).unwrap_err();

    assert!(
        matches!(&error, Error::OtherEngine { version: 2, .. }),
        "{error:?}"
    );
    let tables: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'projects'",
            &[],
        )
        .expect("count")
        .get(0);
    assert_eq!(tables, 0, "nothing applied");
}
