//! The set the concurrency races run (`tests/concurrency.rs` on SQLite, the
//! conformance suite's case on every backend), and how many rounds they run.

use super::folder::Folder;

/// Every migration appends a row to `applied_log`, which has no uniqueness
/// constraint: a migration applied twice leaves two rows. The second one is
/// a data migration (`rows` rows) that keeps the write lock for a while, and
/// the fourth changes every one of those rows, so that running it twice
/// shows in the numbers too. Portable SQL (SQLite, PostgreSQL).
pub fn racing_set(rows: u32) -> Folder {
    let backfill = format!(
        "CREATE TABLE numbers (n INTEGER);
         WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {rows})
         INSERT INTO numbers SELECT n FROM seq;
         INSERT INTO applied_log VALUES (2);"
    );
    Folder::new(&[
        (
            "0001_log.sql",
            "CREATE TABLE applied_log (version INTEGER);\nINSERT INTO applied_log VALUES (1);",
        ),
        ("0002_backfill.sql", &backfill),
        ("0003_more.sql", "INSERT INTO applied_log VALUES (3);"),
        (
            "0004_more.sql",
            "UPDATE numbers SET n = n + 1;\nINSERT INTO applied_log VALUES (4);",
        ),
    ])
}

/// How many rounds a race runs: `default`, or `heavy` when the environment
/// has `MIGRATE_HEAVY=1` (for CI's slow job; `cargo test` stays fast).
pub fn rounds(default: usize, heavy: usize) -> usize {
    if std::env::var_os("MIGRATE_HEAVY").is_some_and(|value| value == "1") {
        heavy
    } else {
        default
    }
}
