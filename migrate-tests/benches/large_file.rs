//! Applying one large data migration: files of 1, 4 and 10 MB of `INSERT`s
//! (about 10,000 statements a megabyte), applied by `run` to an in-memory
//! database, beside the floor: the same text run by rusqlite's
//! `execute_batch`, NUL-terminated so that SQLite does not copy the rest of
//! the text at every statement (see `script.rs`; without the NUL,
//! `execute_batch` itself grows with the square of the size: 33 s for the
//! 10 MB file on the project's machine). Applying should stay linear, within
//! 2× of the floor.
//!
//! `cargo bench -p migrate-tests --bench large_file`

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use migrate::Migrations;
use rusqlite::Connection;

/// A migration of about `megabytes` MB: a table, then one `INSERT` a line.
fn script(megabytes: usize) -> String {
    let mut sql =
        String::from("CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT, body TEXT);\n");
    let mut id = 0;
    while sql.len() < megabytes * 1_000_000 {
        id += 1;
        sql.push_str(&format!(
            "INSERT INTO notes (id, title, body) VALUES ({id}, 'note {id}', 'a line of text that makes the row longer');\n"
        ));
    }
    sql
}

fn large_file(c: &mut Criterion) {
    let mut group = c.benchmark_group("large_file");
    group.sample_size(10);
    for megabytes in [1, 4, 10] {
        let sql = script(megabytes);
        let dir = tempfile::tempdir().expect("temporary folder");
        std::fs::write(dir.path().join("0001_notes.sql"), &sql).expect("migration file");
        let migrations = Migrations::from_folder(dir.path()).expect("valid folder");
        group.throughput(Throughput::Bytes(sql.len() as u64));
        group.bench_with_input(BenchmarkId::new("run", megabytes), &megabytes, |b, _| {
            b.iter(|| {
                let mut conn = Connection::open_in_memory().expect("database");
                let report = migrations.run(&mut conn).expect("run");
                assert_eq!(report.applied.len(), 1);
            })
        });
        let terminated = format!("{sql}\0");
        group.bench_with_input(
            BenchmarkId::new("execute_batch_nul_terminated", megabytes),
            &megabytes,
            |b, _| {
                b.iter(|| {
                    let conn = Connection::open_in_memory().expect("database");
                    conn.execute_batch("BEGIN").expect("begin");
                    conn.execute_batch(&terminated).expect("execute_batch");
                    conn.execute_batch("COMMIT").expect("commit");
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, large_file);
criterion_main!(benches);
