//! What applying costs per migration: 100 small migrations applied to a new
//! database file (each in its own transaction with its tracking row, the
//! write lock, the re-verification under it and, with foreign keys on, the
//! check before each commit), and to an in-memory database, where the file
//! system's syncs do not hide the runner's own work; grouped (one
//! transaction for all); and the floor beside them: per migration
//! `BEGIN IMMEDIATE`, its SQL, one `INSERT` of a tracking row, `COMMIT`.
//! (`benches/peers/` compares with refinery and rusqlite_migration.)
//!
//! `beside_rows`: 5 small migrations applied, with foreign keys on, to a
//! database that already holds 200,000 rows under a foreign key, which the
//! migrations do not touch: what the foreign key check costs at a real
//! database's size (one scan of those rows per run, for the violations the
//! database already had; none per migration).
//!
//! `cargo bench -p migrate-tests --bench apply`

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use migrate::Migrations;
use rusqlite::Connection;

fn set(count: usize) -> (tempfile::TempDir, Migrations) {
    let dir = tempfile::tempdir().expect("temporary folder");
    for version in 1..=count {
        std::fs::write(
            dir.path().join(format!("{version:04}_table_{version}.sql")),
            format!(
                "CREATE TABLE t{version} (id INTEGER PRIMARY KEY, value TEXT);\n\
                 INSERT INTO t{version} (value) VALUES ('a'), ('b');\n"
            ),
        )
        .expect("migration file");
    }
    let migrations = Migrations::from_folder(dir.path()).expect("valid folder");
    (dir, migrations)
}

fn apply(c: &mut Criterion) {
    let mut group = c.benchmark_group("apply");
    group.sample_size(20);
    let count = 100;
    let (_dir, migrations) = set(count);
    group.bench_with_input(BenchmarkId::new("memory", count), &count, |b, _| {
        b.iter_batched(
            || {
                let conn = Connection::open_in_memory().expect("database");
                conn.pragma_update(None, "foreign_keys", true)
                    .expect("foreign keys");
                conn
            },
            |mut conn| {
                let report = migrations.run(&mut conn).expect("run");
                assert_eq!(report.applied.len(), count);
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_with_input(BenchmarkId::new("memory_grouped", count), &count, |b, _| {
        b.iter_batched(
            || Connection::open_in_memory().expect("database"),
            |mut conn| {
                let report = migrations
                    .runner()
                    .grouped(true)
                    .run(&mut conn)
                    .expect("run");
                assert_eq!(report.applied.len(), count);
            },
            BatchSize::PerIteration,
        )
    });
    let sqls: Vec<String> = migrations
        .as_slice()
        .iter()
        .map(|m| match m.script(migrate::Direction::Up) {
            Some(migrate::Script::Sql { sql, .. }) => sql.to_string(),
            _ => unreachable!("SQL migrations"),
        })
        .collect();
    group.bench_with_input(BenchmarkId::new("memory_floor", count), &count, |b, _| {
        b.iter_batched(
            || Connection::open_in_memory().expect("database"),
            |conn| floor(&conn, &sqls),
            BatchSize::PerIteration,
        )
    });
    group.bench_with_input(BenchmarkId::new("file", count), &count, |b, _| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().expect("temporary folder");
                let conn = Connection::open(dir.path().join("bench.db")).expect("database");
                conn.pragma_update(None, "foreign_keys", true)
                    .expect("foreign keys");
                conn.pragma_update(None, "synchronous", "OFF")
                    .expect("synchronous");
                (dir, conn)
            },
            |(_dir, mut conn)| {
                let report = migrations.run(&mut conn).expect("run");
                assert_eq!(report.applied.len(), count);
            },
            BatchSize::PerIteration,
        )
    });
    let (_small_dir, five) = set(5);
    group.bench_with_input(BenchmarkId::new("beside_rows", 200_000), &5, |b, _| {
        b.iter_batched(
            || {
                let conn = Connection::open_in_memory().expect("database");
                conn.execute_batch(
                    "CREATE TABLE parent (id INTEGER PRIMARY KEY);
                     CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id));
                     WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)
                     INSERT INTO parent SELECT i FROM n;
                     INSERT INTO child SELECT id, id FROM parent;
                     PRAGMA foreign_keys = ON;",
                )
                .expect("rows under a foreign key");
                conn
            },
            |mut conn| {
                let report = five.run(&mut conn).expect("run");
                assert_eq!(report.applied.len(), 5);
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

/// The floor: what any runner must do at least, on raw rusqlite.
fn floor(conn: &Connection, sqls: &[String]) {
    conn.execute_batch(
        "CREATE TABLE floor_history (version INTEGER PRIMARY KEY, name TEXT NOT NULL,
             checksum TEXT NOT NULL, applied_at TEXT NOT NULL)",
    )
    .expect("tracking table");
    for (version, sql) in (1..).zip(sqls) {
        conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
        conn.execute_batch(sql).expect("migration");
        conn.prepare_cached(
            "INSERT INTO floor_history (version, name, checksum, applied_at)
             VALUES (?1, 'name', 'checksum', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
        )
        .expect("prepare")
        .execute([version])
        .expect("tracking row");
        conn.execute_batch("COMMIT").expect("commit");
    }
}

criterion_group!(benches, apply);
criterion_main!(benches);
