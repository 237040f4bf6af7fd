//! PostgreSQL through tokio-postgres against a raw tokio-postgres floor, on
//! the test server (`MIGRATE_TEST_POSTGRES_URL`, see
//! `tests/common/postgres.rs`; without a server the benchmark says so and
//! measures nothing):
//!
//! - `check/*`: `run_async` on a database with 100 migrations applied, which
//!   finds it up to date, against the floor `SELECT max(version)` (one round
//!   trip, checking nothing) and against the same statement the backend
//!   sends, sent raw;
//! - `apply/*`: 50 migrations (`CREATE TABLE`) applied to an empty
//!   database, against the floor doing, per migration, `BEGIN`, the SQL,
//!   one `INSERT` of its tracking row (one round trip, unprepared, as the
//!   backend's statements) and `COMMIT`.
//!
//! First it prints each one's ratio to its floor measured interleaved: 15
//! rounds, each timing the floor and `migrate` one after the other in a
//! shuffled order, the median of the rounds' ratios with their range
//! (steadier than two criterion times when the machine is busy). Then the
//! criterion groups.
//!
//! `cargo bench -p migrate-tests --bench postgres` (`-- --ratios` for the
//! ratios alone)

#[path = "../../tests/common/postgres.rs"]
mod postgres;

use std::time::{Duration, Instant};

use criterion::Criterion;
use migrate::Migrations;
use migrate::postgres::tokio_postgres::types::Type;
use migrate::postgres::tokio_postgres::{self, Client, NoTls};
use postgres::TestDatabase;
use tokio::runtime::Runtime;

const APPLIED: usize = 100;
const APPLY: usize = 50;
const ROUNDS: usize = 15;
/// Up-to-date checks timed per round of the ratio pass.
const CHECKS: u32 = 300;

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

/// The backend's up-to-date check: one statement (see its
/// `tracking::head_summary`).
const CHECK: &str = r#"SELECT statement_timestamp() <> transaction_timestamp(),
    CASE WHEN to_regclass('"public"."migrate_schema_history"') IS NOT NULL
         THEN query_to_xml('SELECT concat(l.version, ''|'', l.running_checksum, ''|'', d.version) AS h
              FROM (SELECT 1) AS one
              LEFT JOIN LATERAL (SELECT version, running_checksum FROM "public"."migrate_schema_history"
                                 WHERE state = ''applied'' ORDER BY version DESC LIMIT 1) AS l ON true
              LEFT JOIN LATERAL (SELECT version FROM "public"."migrate_schema_history"
                                 WHERE coalesce(state, '''') NOT IN (''applied'', ''failed'')
                                 ORDER BY version LIMIT 1) AS d ON true', false, true, '') END"#;

async fn floor_max_version(client: &mut Client) {
    client
        .query_one("SELECT max(version) FROM migrate_schema_history", &[])
        .await
        .expect("query");
}

async fn floor_same_statements(client: &mut Client) {
    let rows = client.simple_query(CHECK).await.expect("check");
    assert!(!rows.is_empty());
}

async fn migrate_check(client: &mut Client, migrations: &Migrations) {
    let report = migrations.run_async(client).await.expect("run");
    assert!(report.applied.is_empty());
}

/// Applies `migrations` as the floor does.
async fn floor_apply(client: &mut Client, migrations: &Migrations) {
    client
        .batch_execute(
            "CREATE TABLE floor_history (version bigint PRIMARY KEY, name text NOT NULL,
             checksum text NOT NULL, applied_at timestamptz NOT NULL)",
        )
        .await
        .expect("tracking table");
    for migration in migrations.iter() {
        let Some(migrate::Script::Sql { sql, .. }) = migration.script(migrate::Direction::Up)
        else {
            unreachable!("SQL migrations")
        };
        let tx = client.transaction().await.expect("begin");
        tx.batch_execute(sql).await.expect("migration");
        let version = i64::try_from(migration.version()).expect("version");
        tx.query_typed(
            "INSERT INTO floor_history VALUES ($1, $2, $3, now())",
            &[
                (&version, Type::INT8),
                (&migration.name(), Type::TEXT),
                (&migration.checksum().to_string(), Type::TEXT),
            ],
        )
        .await
        .expect("tracking row");
        tx.commit().await.expect("commit");
    }
}

async fn migrate_apply(client: &mut Client, migrations: &Migrations) {
    let report = migrations.run_async(client).await.expect("run");
    assert_eq!(report.applied.len(), migrations.len());
}

fn check(c: &mut Criterion, runtime: &Runtime) {
    let (_dir, migrations) = folder(APPLIED);
    let db = TestDatabase::new();
    let mut client = runtime.block_on(connect(&db.url()));
    runtime
        .block_on(migrations.run_async(&mut client))
        .expect("apply all");
    let mut group = c.benchmark_group("check");
    group.bench_function("floor_max_version", |b| {
        b.iter_custom(|iterations| {
            runtime.block_on(times(iterations, async || {
                floor_max_version(&mut client).await
            }))
        })
    });
    group.bench_function("floor_same_statements", |b| {
        b.iter_custom(|iterations| {
            runtime.block_on(times(iterations, async || {
                floor_same_statements(&mut client).await
            }))
        })
    });
    group.bench_function("migrate_run_async", |b| {
        b.iter_custom(|iterations| {
            runtime.block_on(times(iterations, async || {
                migrate_check(&mut client, &migrations).await
            }))
        })
    });
    group.finish();
}

/// How long `body` takes `iterations` times in a row.
async fn times(iterations: u64, mut body: impl AsyncFnMut()) -> Duration {
    let started = Instant::now();
    for _ in 0..iterations {
        body().await;
    }
    started.elapsed()
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
                floor_apply(client, &migrations).await
            })
        })
    });
    group.bench_function("migrate_run_async", |b| {
        b.iter_custom(|iterations| {
            on_fresh_databases(runtime, iterations, async |client| {
                migrate_apply(client, &migrations).await
            })
        })
    });
    group.finish();
}

/// The ratio pass (see the module docs).
fn ratios(runtime: &Runtime) {
    let mut shuffle = Shuffle(0x9e37_79b9_7f4a_7c15);
    let (_dir, applied) = folder(APPLIED);
    let db = TestDatabase::new();
    let mut client = runtime.block_on(connect(&db.url()));
    runtime
        .block_on(applied.run_async(&mut client))
        .expect("apply all");
    let mut check = Vec::new();
    let mut same = Vec::new();
    let mut over_same = Vec::new();
    for _ in 0..ROUNDS {
        let mut floor = Duration::ZERO;
        let mut raw = Duration::ZERO;
        let mut ours = Duration::ZERO;
        for which in shuffle.order(3) {
            let time = runtime.block_on(times(CHECKS.into(), async || match which {
                0 => floor_max_version(&mut client).await,
                1 => floor_same_statements(&mut client).await,
                _ => migrate_check(&mut client, &applied).await,
            }));
            *[&mut floor, &mut raw, &mut ours][which] = time;
        }
        check.push(ours.as_secs_f64() / floor.as_secs_f64());
        same.push(raw.as_secs_f64() / floor.as_secs_f64());
        over_same.push(ours.as_secs_f64() / raw.as_secs_f64());
    }
    let (_dir, pending) = folder(APPLY);
    let mut apply = Vec::new();
    for _ in 0..ROUNDS {
        let mut floor = Duration::ZERO;
        let mut ours = Duration::ZERO;
        for which in shuffle.order(2) {
            let time = on_fresh_databases(runtime, 1, async |client| {
                if which == 0 {
                    floor_apply(client, &pending).await;
                } else {
                    migrate_apply(client, &pending).await;
                }
            });
            *[&mut floor, &mut ours][which] = time;
        }
        apply.push(ours.as_secs_f64() / floor.as_secs_f64());
    }
    println!("ratio to the floor, median of {ROUNDS} interleaved rounds [range]:");
    println!("  up-to-date check, {APPLIED} applied (floor: SELECT max(version)):");
    println!(
        "    the backend's statement, raw:      {}",
        summary(&mut same)
    );
    println!(
        "    migrate run_async:                 {}",
        summary(&mut check)
    );
    println!(
        "  up-to-date check against the floor doing the same round trips (that statement): migrate run_async {}",
        summary(&mut over_same)
    );
    println!(
        "  apply {APPLY} (floor: BEGIN, SQL, INSERT, COMMIT): migrate run_async {}",
        summary(&mut apply)
    );
}

/// `median [min–max]` of `ratios`.
fn summary(ratios: &mut [f64]) -> String {
    ratios.sort_by(f64::total_cmp);
    format!(
        "{:.2} [{:.2}–{:.2}]",
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1]
    )
}

/// A small xorshift, for the order of a round (no dependency for it).
struct Shuffle(u64);

impl Shuffle {
    /// `0..n` in a shuffled order.
    fn order(&mut self, n: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            let j = usize::try_from(self.0 % (i as u64 + 1)).expect("small");
            order.swap(i, j);
        }
        order
    }
}

fn main() {
    if !postgres::available() {
        return;
    }
    let runtime = Runtime::new().expect("tokio runtime");
    ratios(&runtime);
    if std::env::args().any(|arg| arg == "--ratios") {
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    check(&mut c, &runtime);
    apply(&mut c, &runtime);
    c.final_summary();
}
