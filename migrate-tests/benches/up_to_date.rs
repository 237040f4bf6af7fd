//! The check `run` does on an up-to-date database, for 10, 100 and 1000
//! applied migrations: it reads one tracking row (the latest running
//! checksum), so its time should not grow with the number of migrations.
//! `status`, which reads every row, is measured beside it for contrast, and
//! the floor beside both: `SELECT MAX(version)` on the same tracking table
//! (the least a check can read; goal: `run` within 1.5x of it).
//!
//! `cargo bench -p migrate-tests --bench up_to_date`

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use migrate::Migrations;
use rusqlite::Connection;

fn applied_set(count: usize) -> (tempfile::TempDir, Migrations, Connection) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let folder = dir.path().join("migrations");
    std::fs::create_dir(&folder).expect("migrations folder");
    for version in 1..=count {
        std::fs::write(
            folder.join(format!("{version:04}_table_{version}.sql")),
            format!("CREATE TABLE t{version} (id INTEGER PRIMARY KEY, value TEXT);"),
        )
        .expect("migration file");
    }
    let migrations = Migrations::from_folder(&folder).expect("valid folder");
    let mut conn = Connection::open(dir.path().join("bench.db")).expect("database file");
    migrations.run(&mut conn).expect("apply all");
    (dir, migrations, conn)
}

fn up_to_date(c: &mut Criterion) {
    let mut group = c.benchmark_group("up_to_date");
    for count in [10, 100, 1000] {
        let (_dir, migrations, mut conn) = applied_set(count);
        group.bench_with_input(BenchmarkId::new("run", count), &count, |b, _| {
            b.iter(|| {
                let report = migrations.run(&mut conn).expect("run");
                assert!(report.applied.is_empty());
            })
        });
        group.bench_with_input(BenchmarkId::new("status", count), &count, |b, _| {
            b.iter(|| migrations.status(&mut conn).expect("status"))
        });
        group.bench_with_input(BenchmarkId::new("floor", count), &count, |b, _| {
            b.iter(|| {
                let max: Option<i64> = conn
                    .prepare_cached("SELECT MAX(version) FROM migrate_schema_history")
                    .expect("prepare")
                    .query_row([], |row| row.get(0))
                    .expect("query");
                assert_eq!(max, i64::try_from(count).ok());
            })
        });
    }
    group.finish();
}

criterion_group!(benches, up_to_date);
criterion_main!(benches);
