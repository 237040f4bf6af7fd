//! What applying costs per migration: 100 small migrations applied to a new
//! database file (each in its own transaction with its tracking row, the
//! write lock, the re-verification under it and, with foreign keys on, the
//! check before each commit), and to an in-memory database, where the file
//! system's syncs do not hide the runner's own work.
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
    group.finish();
}

criterion_group!(benches, apply);
criterion_main!(benches);
