//! The floor: what any runner must do at least to apply a set, written
//! against raw rusqlite. A macro rather than a function because each binary
//! links its own rusqlite (two versions cannot be linked together).
//!
//! Per migration: `BEGIN IMMEDIATE`, its SQL, one `INSERT` of its tracking
//! row (version, name, checksum, time) with a cached statement, `COMMIT`;
//! grouped, one `BEGIN IMMEDIATE` ... `COMMIT` around all of them.

/// Applies `$generated` (a `&[harness::Generated]`) on `$conn` (a
/// `&mut Connection`), each in its own transaction or all in one.
#[macro_export]
macro_rules! floor {
    ($conn:expr, $generated:expr, $grouped:expr) => {{
        let conn: &mut Connection = $conn;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS floor_history (
                 version INTEGER PRIMARY KEY, name TEXT NOT NULL,
                 checksum TEXT NOT NULL, applied_at TEXT NOT NULL)",
        )
        .unwrap();
        let grouped: bool = $grouped;
        // A checksum's size of text, as a tracking row stores one.
        const CHECKSUM: &str = "5c8d2a1f0b7e4c3d9a6f1e2b8c7d4a3f5c8d2a1f0b7e4c3d9a6f1e2b8c7d4a3f";
        if grouped {
            conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        }
        for m in $generated.iter() {
            if !grouped {
                conn.execute_batch("BEGIN IMMEDIATE").unwrap();
            }
            conn.execute_batch(&m.sql).unwrap();
            conn.prepare_cached(
                "INSERT INTO floor_history (version, name, checksum, applied_at)
                 VALUES (?1, ?2, ?3, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
            )
            .unwrap()
            .execute((m.version, &m.name, CHECKSUM))
            .unwrap();
            if !grouped {
                conn.execute_batch("COMMIT").unwrap();
            }
        }
        if grouped {
            conn.execute_batch("COMMIT").unwrap();
        }
    }};
}
