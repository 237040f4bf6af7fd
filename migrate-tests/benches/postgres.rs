//! PostgreSQL through tokio-postgres against a raw tokio-postgres floor, on
//! the test server (`MIGRATE_TEST_POSTGRES_URL`, see
//! `tests/common/postgres.rs`; without a server the benchmark says so and
//! measures nothing):
//!
//! - `check/*`: `run_async` on a database with 100 migrations applied, which
//!   finds it up to date, against the floor `SELECT max(version)` (one round
//!   trip, checking nothing) and against the same two statements the
//!   backend sends, sent raw;
//! - `apply/*`: 50 migrations (`CREATE TABLE`) applied to an empty
//!   database, against the floor doing, per migration, `BEGIN`, the SQL,
//!   one `INSERT` of its tracking row and `COMMIT`.
//!
//! `cargo bench -p migrate-tests --bench postgres`

#[path = "../../tests/common/postgres.rs"]
mod postgres;

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use migrate::Migrations;
use migrate::postgres::tokio_postgres::{self, Client, NoTls};
use postgres::TestDatabase;
use tokio::runtime::Runtime;

const APPLIED: usize = 100;
const APPLY: usize = 50;

fn folder(count: usize) -> (tempfile::TempDir, Migrations) {
    let dir = tempfile::tempdir().expect("temporary folder");
    for version in 1..=count {
        std::fs::write(
            dir.path().join(format!("{version:04}_table_{version}.sql")),
            format!("CREATE TABLE t{version} (id bigint PRIMARY KEY, value text);"),
        )
        .expect("migration file");
    }
    let migrations = Migrations::from_folder(dir.path()).expect("valid folder");
    (dir, migrations)
}

async fn connect(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.expect("connect");
    tokio::spawn(connection);
    client
}

fn check(c: &mut Criterion, runtime: &Runtime) {
    let (_dir, migrations) = folder(APPLIED);
    let db = TestDatabase::new();
    let mut client = runtime.block_on(connect(&db.url()));
    runtime
        .block_on(migrations.run_async(&mut client))
        .expect("apply all");
    let mut group = c.benchmark_group("check");
    let head = "SELECT l.version, l.running_checksum FROM (SELECT 1) AS one
        LEFT JOIN LATERAL (SELECT version, running_checksum FROM public.migrate_schema_history
                           WHERE state = 'applied' ORDER BY version DESC LIMIT 1) AS l ON true
        LEFT JOIN LATERAL (SELECT * FROM public.migrate_schema_history
                           WHERE coalesce(state, '') NOT IN ('applied', 'failed')
                           ORDER BY version LIMIT 1) AS d ON true";
    group.bench_function("floor_max_version", |b| {
        b.iter_custom(|iterations| {
            runtime.block_on(async {
                let started = Instant::now();
                for _ in 0..iterations {
                    client
                        .query_one("SELECT max(version) FROM migrate_schema_history", &[])
                        .await
                        .expect("query");
                }
                started.elapsed()
            })
        })
    });
    group.bench_function("floor_same_statements", |b| {
        b.iter_custom(|iterations| {
            runtime.block_on(async {
                let started = Instant::now();
                for _ in 0..iterations {
                    client
                        .simple_query(
                            "SELECT statement_timestamp() <> transaction_timestamp(),
                                    to_regclass('\"public\".\"migrate_schema_history\"') IS NOT NULL",
                        )
                        .await
                        .expect("check");
                    client.query_typed(head, &[]).await.expect("head");
                }
                started.elapsed()
            })
        })
    });
    group.bench_function("migrate_run_async", |b| {
        b.iter_custom(|iterations| {
            runtime.block_on(async {
                let started = Instant::now();
                for _ in 0..iterations {
                    let report = migrations.run_async(&mut client).await.expect("run");
                    assert!(report.applied.is_empty());
                }
                started.elapsed()
            })
        })
    });
    group.finish();
}

/// Times `body` on a fresh database each iteration, leaving out creating
/// and dropping it.
fn on_fresh_databases<F>(runtime: &Runtime, iterations: u64, mut body: F) -> Duration
where
    F: AsyncFnMut(&mut Client),
{
    let mut total = Duration::ZERO;
    for _ in 0..iterations {
        let db = TestDatabase::new();
        let mut client = runtime.block_on(connect(&db.url()));
        let started = Instant::now();
        runtime.block_on(body(&mut client));
        total += started.elapsed();
    }
    total
}

fn apply(c: &mut Criterion, runtime: &Runtime) {
    let (_dir, migrations) = folder(APPLY);
    let mut group = c.benchmark_group("apply");
    group.sample_size(10);
    group.bench_function("floor_begin_sql_insert_commit", |b| {
        b.iter_custom(|iterations| {
            on_fresh_databases(runtime, iterations, async |client| {
                client
                    .batch_execute(
                        "CREATE TABLE floor_history (version bigint PRIMARY KEY, name text NOT NULL,
                         checksum text NOT NULL, applied_at timestamptz NOT NULL)",
                    )
                    .await
                    .expect("tracking table");
                for migration in migrations.iter() {
                    let Some(migrate::Script::Sql { sql, .. }) =
                        migration.script(migrate::Direction::Up)
                    else {
                        unreachable!("SQL migrations")
                    };
                    let tx = client.transaction().await.expect("begin");
                    tx.batch_execute(sql).await.expect("migration");
                    let version = i64::try_from(migration.version()).expect("version");
                    tx.execute(
                        "INSERT INTO floor_history VALUES ($1, $2, $3, now())",
                        &[
                            &version,
                            &migration.name(),
                            &migration.checksum().to_string(),
                        ],
                    )
                    .await
                    .expect("tracking row");
                    tx.commit().await.expect("commit");
                }
            })
        })
    });
    group.bench_function("migrate_run_async", |b| {
        b.iter_custom(|iterations| {
            on_fresh_databases(runtime, iterations, async |client| {
                let report = migrations.run_async(client).await.expect("run");
                assert_eq!(report.applied.len(), APPLY);
            })
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    if !postgres::available() {
        return;
    }
    let runtime = Runtime::new().expect("tokio runtime");
    check(c, &runtime);
    apply(c, &runtime);
}

criterion_group!(postgres_benches, benches);
criterion_main!(postgres_benches);
