//! Faults in the database: a tracking table edited by hand in every way the
//! schema allows (and some it only allows after a rebuild), a read-only
//! database, a locked one, a full disk, a connection inside a transaction.
//! Every action either works or returns an error that names the table (and
//! the version when it can be read), never panics, and changes nothing.
//!
//! Where the runner accepts an edit, the test says so and why that is right
//! or is a known limit of the constant-cost check.

mod common;

use std::time::Duration;

use Action::{History, Rollback, Run, RunPending, Status};
use Expect::{Irreversible, Malformed, Sqlite, Works};
use common::{Database, Folder, rows};
use migrate::{Checksum, DEFAULT_TABLE, Error, Migrations, Problem};
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags};

const EVENTS: &str = "migrate_schema_history_events";

/// Three reversible migrations: a table, then one row each.
fn three() -> Folder {
    Folder::new(&[
        (
            "0001_log.up.sql",
            "CREATE TABLE log (v INTEGER NOT NULL);\n",
        ),
        ("0001_log.down.sql", "DROP TABLE log;\n"),
        ("0002_two.up.sql", "INSERT INTO log VALUES (2);\n"),
        ("0002_two.down.sql", "DELETE FROM log WHERE v = 2;\n"),
        ("0003_three.up.sql", "INSERT INTO log VALUES (3);\n"),
        ("0003_three.down.sql", "DELETE FROM log WHERE v = 3;\n"),
    ])
}

/// `three` and a fourth migration, pending on a database at version 3.
fn four() -> Folder {
    let folder = three();
    folder.write("0004_four.up.sql", "INSERT INTO log VALUES (4);\n");
    folder.write("0004_four.down.sql", "DELETE FROM log WHERE v = 4;\n");
    folder
}

/// Everything a failed action must leave as it was: every schema object
/// (the tracking table and the history included), the data, every tracking
/// row and every event, column by column.
#[derive(Debug, PartialEq)]
struct Snapshot {
    schema: Vec<Vec<Value>>,
    log: Vec<Vec<Value>>,
    tracking: Vec<Vec<Value>>,
    events: Vec<Vec<Value>>,
}

fn snapshot(conn: &Connection) -> Snapshot {
    let table_rows = |table: &str| {
        let exists: bool = conn
            .query_row(
                "SELECT count(*) > 0 FROM sqlite_schema WHERE name = ?1",
                [table],
                |row| row.get(0),
            )
            .unwrap();
        if exists {
            rows(conn, &format!("SELECT * FROM \"{table}\" ORDER BY rowid"))
        } else {
            Vec::new()
        }
    };
    Snapshot {
        schema: rows(
            conn,
            "SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name",
        ),
        log: table_rows("log"),
        tracking: table_rows(DEFAULT_TABLE),
        events: table_rows(EVENTS),
    }
}

// ---------------------------------------------------------------------------
// A hand-edited tracking table
// ---------------------------------------------------------------------------

/// The actions a user runs on an edited database.
#[derive(Debug, Clone, Copy)]
enum Action {
    /// `run` with the set that was applied: nothing pending.
    Run,
    /// `run` with a fourth migration pending.
    RunPending,
    Status,
    /// `rollback(1)`.
    Rollback,
    History,
}

/// What an action must do on an edited database.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// Works, with no problem reported. An action that only reads (and a run
    /// with nothing pending) changes nothing.
    Works,
    /// `Error::MalformedRow` naming this table and version.
    Malformed(&'static str, Option<i64>),
    /// A verification problem naming this version: `Error::Verification` from
    /// `run`, a problem in `status().problems`.
    Problem(u64),
    /// `Error::Irreversible` naming this version.
    Irreversible(u64),
    /// `Error::Database` whose message names the tracking table: the table's
    /// shape, not a row, is wrong (a dropped column).
    Sqlite,
}

fn problem_version(problem: &Problem) -> Option<u64> {
    match problem {
        Problem::Divergent { version, .. }
        | Problem::VersionReused { version, .. }
        | Problem::Missing { version, .. }
        | Problem::OutOfOrder { version, .. } => Some(*version),
        _ => None,
    }
}

/// What happened: the problems `status` reported (empty for the other
/// actions), or the error.
fn act(action: Action, conn: &mut Connection) -> Result<Vec<u64>, Error> {
    let (three, four) = (three().migrations(), four().migrations());
    match action {
        Action::Run => three.run(conn).map(|_| Vec::new()),
        Action::RunPending => four.run(conn).map(|_| Vec::new()),
        Action::Status => three
            .status(conn)
            .map(|s| s.problems.iter().filter_map(problem_version).collect()),
        Action::Rollback => three.rollback(conn, 1).map(|_| Vec::new()),
        Action::History => three.history(conn).map(|_| Vec::new()),
    }
}

/// Whether `outcome` is what `expect` says; a description when not.
fn judge(outcome: &Result<Vec<u64>, Error>, expect: Expect) -> Result<(), String> {
    let fine = match (outcome, expect) {
        (Ok(problems), Expect::Works) => problems.is_empty(),
        (Ok(problems), Expect::Problem(v)) => problems.contains(&v),
        (Err(Error::Verification(problem)), Expect::Problem(v)) => {
            problem_version(problem) == Some(v)
        }
        (Err(error @ Error::MalformedRow { table, version, .. }), Expect::Malformed(t, v)) => {
            table == t && *version == v && error.to_string().contains(&format!("`{t}`"))
        }
        (Err(Error::Irreversible { version, .. }), Expect::Irreversible(v)) => *version == v,
        (Err(error @ Error::Database { .. }), Expect::Sqlite) => {
            error.to_string().contains(&format!("`{DEFAULT_TABLE}`"))
        }
        _ => false,
    };
    if fine {
        Ok(())
    } else {
        Err(format!("expected {expect:?}, got {outcome:?}"))
    }
}

/// Applies `three`, makes `edit`, then runs each action on its own copy of
/// the edited database and checks it against `expect`. An action that
/// fails, or only reads, must leave the database as it was.
fn check_edit(edit: &str, expect: [(Action, Expect); 5]) -> Vec<String> {
    let mut failures = Vec::new();
    for (action, expected) in expect {
        let mut conn = Connection::open_in_memory().unwrap();
        three().migrations().run(&mut conn).unwrap();
        conn.execute_batch(edit)
            .unwrap_or_else(|e| panic!("edit {edit}: {e}"));
        let before = snapshot(&conn);
        let outcome = act(action, &mut conn);
        if let Err(why) = judge(&outcome, expected) {
            failures.push(format!("{action:?}: {why}"));
        }
        let changes = matches!(action, Action::RunPending | Action::Rollback) && outcome.is_ok();
        if !changes && snapshot(&conn) != before {
            failures.push(format!("{action:?} changed the database: {outcome:?}"));
        }
    }
    let edit = edit
        .replace(REBUILD, "<rebuild>")
        .replace(REBUILD_WITHOUT_KEY, "<rebuild without key>");
    failures
        .into_iter()
        .map(|failure| format!("after `{}`: {failure}", edit.trim()))
        .collect()
}

/// Fails listing every failure.
fn assert_none(failures: impl IntoIterator<Item = String>) {
    let failures: Vec<String> = failures.into_iter().collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Rebuilds the tracking table without types, `NOT NULL` or `CHECK`, as a
/// hand edit with a SQLite browser might, so that anything fits. `version`
/// stays the primary key (without a type, one that takes any value), which
/// the runner's upserts need.
const REBUILD: &str = "
    CREATE TABLE loose (version PRIMARY KEY, name, checksum, running_checksum, applied_at, duration_ms, state, error);
    INSERT INTO loose SELECT * FROM migrate_schema_history;
    DROP TABLE migrate_schema_history;
    ALTER TABLE loose RENAME TO migrate_schema_history;";

/// [`REBUILD`] without the primary key either.
const REBUILD_WITHOUT_KEY: &str = "
    CREATE TABLE loose (version, name, checksum, running_checksum, applied_at, duration_ms, state, error);
    INSERT INTO loose SELECT * FROM migrate_schema_history;
    DROP TABLE migrate_schema_history;
    ALTER TABLE loose RENAME TO migrate_schema_history;";

const T: &str = DEFAULT_TABLE;

/// A version that is not an integer cannot be named; `status` calls it a
/// malformed row, and so must `run`, which reads it first as the latest.
#[test]
fn text_in_version_is_a_malformed_row() {
    assert_none(check_edit(
        &format!("{REBUILD} UPDATE {T} SET version = 'abc' WHERE version = 3;"),
        [
            (Run, Malformed(T, None)),
            (RunPending, Malformed(T, None)),
            (Status, Malformed(T, None)),
            (Rollback, Malformed(T, None)),
            (History, Works),
        ],
    ));
}

#[test]
fn a_version_beyond_sqlite_integer_is_a_malformed_row() {
    // Stored as REAL after the rebuild: 2^64 does not fit an INTEGER. As
    // with text, `run` reads it first, as the latest row.
    assert_none(check_edit(
        &format!("{REBUILD} UPDATE {T} SET version = 18446744073709551616 WHERE version = 3;"),
        [
            (Run, Malformed(T, None)),
            (RunPending, Malformed(T, None)),
            (Status, Malformed(T, None)),
            (Rollback, Malformed(T, None)),
            (History, Works),
        ],
    ));
}

#[test]
fn the_largest_version_unknown_to_the_build_is_missing() {
    let sum = Checksum::of_text("x");
    assert_none(check_edit(
        &format!(
            "INSERT INTO {T} VALUES (9223372036854775807, 'future', '{sum}', '{sum}',
             '2024-01-01T00:00:00.000Z', 1, 'applied', NULL);"
        ),
        [
            (Run, Expect::Problem(i64::MAX as u64)),
            (RunPending, Expect::Problem(i64::MAX as u64)),
            (Status, Expect::Problem(i64::MAX as u64)),
            (Rollback, Irreversible(i64::MAX as u64)),
            (History, Works),
        ],
    ));
}

#[test]
fn a_negative_version_is_a_malformed_row() {
    // Not the latest row, so the constant-cost check of `run` does not read
    // it: `run` trusts the latest running checksum, which still covers what
    // was applied. Every action that reads all rows names it.
    assert_none(check_edit(
        &format!(
            "PRAGMA ignore_check_constraints = ON;
             UPDATE {T} SET version = -2 WHERE version = 2;"
        ),
        [
            (Run, Works),
            (RunPending, Works),
            (Status, Malformed(T, Some(-2))),
            (Rollback, Malformed(T, Some(-2))),
            (History, Works),
        ],
    ));
}

#[test]
fn a_number_or_garbage_in_checksum_is_a_malformed_row() {
    // The latest row's `checksum` is not read by the constant-cost check:
    // its running checksum, intact, covers the checksum recorded when it was
    // applied, so `run` rightly finds the database up to date and applies
    // on top. Every action that reads all rows names it.
    assert_none(["42", "'abc'", "X'00'"].into_iter().flat_map(|value| {
        check_edit(
            &format!("{REBUILD} UPDATE {T} SET checksum = {value} WHERE version = 3;"),
            [
                (Run, Works),
                (RunPending, Works),
                (Status, Malformed(T, Some(3))),
                (Rollback, Malformed(T, Some(3))),
                (History, Works),
            ],
        )
    }));
}

#[test]
fn a_negative_duration_is_a_malformed_row() {
    assert_none(check_edit(
        &format!("UPDATE {T} SET duration_ms = -5 WHERE version = 2;"),
        [
            (Run, Works),
            (RunPending, Works),
            (Status, Malformed(T, Some(2))),
            (Rollback, Malformed(T, Some(2))),
            (History, Works),
        ],
    ));
}

#[test]
fn nulls_after_a_rebuild_are_malformed_rows() {
    assert_none(
        ["name", "checksum", "applied_at", "duration_ms"]
            .into_iter()
            .flat_map(|column| {
                check_edit(
                    &format!("{REBUILD} UPDATE {T} SET {column} = NULL WHERE version = 2;"),
                    [
                        (Run, Works),
                        (RunPending, Works),
                        (Status, Malformed(T, Some(2))),
                        (Rollback, Malformed(T, Some(2))),
                        (History, Works),
                    ],
                )
            }),
    );
    assert_none(check_edit(
        &format!("{REBUILD} UPDATE {T} SET version = NULL WHERE version = 2;"),
        [
            (Run, Works),
            (RunPending, Works),
            (Status, Malformed(T, None)),
            (Rollback, Malformed(T, None)),
            (History, Works),
        ],
    ));
}

#[test]
fn a_null_running_checksum_on_the_latest_row_is_a_malformed_row() {
    // `running_checksum` is nullable in the schema (rows that are not
    // applied have none). `run` refuses the row; `status` must not call the
    // same database up to date. Rolling the row back needs no running
    // checksum, and removes it.
    assert_none(check_edit(
        &format!("UPDATE {T} SET running_checksum = NULL WHERE version = 3;"),
        [
            (Run, Malformed(T, Some(3))),
            (RunPending, Malformed(T, Some(3))),
            (Status, Malformed(T, Some(3))),
            (Rollback, Works),
            (History, Works),
        ],
    ));
}

/// A state outside the four (with the check constraint ignored, or NULL
/// after a rebuild) makes the row invisible to every query: its migration
/// looks pending, `run` applies it a second time (the latest) and
/// `rollback(1)` reverts the one below it. It must be a malformed row.
#[test]
fn an_unknown_or_null_state_is_a_malformed_row_not_a_pending_migration() {
    let ignore = "PRAGMA ignore_check_constraints = ON;";
    assert_none(
        [
            (
                format!("{ignore} UPDATE {T} SET state = 'garbage' WHERE version = 3;"),
                3,
            ),
            (
                format!("{ignore} UPDATE {T} SET state = 'APPLIED' WHERE version = 3;"),
                3,
            ),
            (
                format!("{ignore} UPDATE {T} SET state = 'garbage' WHERE version = 2;"),
                2,
            ),
            (
                format!("{REBUILD} UPDATE {T} SET state = NULL WHERE version = 3;"),
                3,
            ),
        ]
        .into_iter()
        .flat_map(|(edit, version)| {
            check_edit(
                &edit,
                [
                    (Run, Malformed(T, Some(version))),
                    (RunPending, Malformed(T, Some(version))),
                    (Status, Malformed(T, Some(version))),
                    (Rollback, Malformed(T, Some(version))),
                    (History, Works),
                ],
            )
        }),
    );
}

/// Two rows for one version, possible only once the primary key is gone:
/// accepted (the chain and every checksum still match), except where the
/// runner's upsert needs the key, which names the table.
#[test]
fn a_duplicated_row_without_the_primary_key_is_accepted_until_a_write() {
    assert_none(check_edit(
        &format!("{REBUILD_WITHOUT_KEY} INSERT INTO {T} SELECT * FROM {T} WHERE version = 2;"),
        [
            (Run, Works),
            (RunPending, Sqlite),
            (Status, Works),
            (Rollback, Works),
            (History, Works),
        ],
    ));
}

#[test]
fn an_extra_column_is_ignored() -> migrate::Result<()> {
    let edit = format!("ALTER TABLE {T} ADD COLUMN note TEXT DEFAULT 'by hand';");
    assert_none(check_edit(
        &edit,
        [
            (Run, Works),
            (RunPending, Works),
            (Status, Works),
            (Rollback, Works),
            (History, Works),
        ],
    ));
    // And the runner still writes through it.
    let mut conn = Connection::open_in_memory().unwrap();
    three().migrations().run(&mut conn)?;
    conn.execute_batch(&edit).unwrap();
    let four = four().migrations();
    assert_eq!(four.run(&mut conn)?.applied.len(), 1);
    assert_eq!(four.rollback(&mut conn, 2)?.rolled_back.len(), 2);
    assert!(four.status(&mut conn)?.problems.is_empty());
    Ok(())
}

#[test]
fn a_dropped_column_is_a_named_error() {
    // `run` with nothing pending reads only `version` and `running_checksum`.
    assert_none(check_edit(
        &format!("ALTER TABLE {T} DROP COLUMN duration_ms;"),
        [
            (Run, Works),
            (RunPending, Sqlite),
            (Status, Sqlite),
            (Rollback, Sqlite),
            (History, Works),
        ],
    ));
    assert_none(check_edit(
        &format!("ALTER TABLE {T} DROP COLUMN running_checksum;"),
        [
            (Run, Sqlite),
            (RunPending, Sqlite),
            // `status` reads the row `run` trusts first, so as not to call
            // up to date what `run` refuses.
            (Status, Sqlite),
            (Rollback, Works),
            (History, Works),
        ],
    ));
}

/// A row deleted in the middle: the latest running checksum still matches,
/// so `run` (constant cost) finds nothing wrong and applies on top, while
/// `status` (every row) lists version 2 as pending and out of order, and
/// `rollback` skips its down. Not applying it again is right (its effects
/// are in the database, and the chain says it ran); that `status` advises
/// renumbering it is not.
#[test]
fn a_row_deleted_in_the_middle_is_seen_by_status_but_not_by_run() {
    assert_none(check_edit(
        &format!("DELETE FROM {T} WHERE version = 2;"),
        [
            (Run, Works),
            (RunPending, Works),
            (Status, Expect::Problem(2)),
            (Rollback, Works),
            (History, Works),
        ],
    ));
    let mut conn = Connection::open_in_memory().unwrap();
    three().migrations().run(&mut conn).unwrap();
    conn.execute_batch(&format!("DELETE FROM {T} WHERE version = 2;"))
        .unwrap();
    let status = three().migrations().status(&mut conn).unwrap();
    let pending: Vec<u64> = status.pending.iter().map(|p| p.version).collect();
    assert_eq!(pending, [2]);
    assert!(
        matches!(
            status.problems[..],
            [Problem::OutOfOrder {
                version: 2,
                latest_applied: 3,
                ..
            }]
        ),
        "{:?}",
        status.problems
    );
    // Without its record, version 2 is not reverted either: rolling back
    // two runs the downs of 3 and 1, never the down of 2.
    let reverted: Vec<u64> = three()
        .migrations()
        .rollback(&mut conn, 2)
        .unwrap()
        .rolled_back
        .iter()
        .map(|r| r.version)
        .collect();
    assert_eq!(reverted, [3, 1]);
}

/// The latest running checksum edited to another valid checksum: the
/// constant-cost check fails, the row-by-row check finds every checksum
/// right, so `run` works (safely, but reading every row from now on);
/// `repair` re-chains the running checksums and restores the fast path.
#[test]
fn an_edited_running_checksum_falls_back_to_the_full_check_and_repair_restores_it() {
    let forged = Checksum::of_text("forged");
    assert_none(check_edit(
        &format!("UPDATE {T} SET running_checksum = '{forged}' WHERE version = 3;"),
        [
            (Run, Works),
            (RunPending, Works),
            (Status, Works),
            (Rollback, Works),
            (History, Works),
        ],
    ));
    let migrations = three().migrations();
    let mut conn = Connection::open_in_memory().unwrap();
    migrations.run(&mut conn).unwrap();
    conn.execute_batch(&format!(
        "UPDATE {T} SET running_checksum = '{forged}' WHERE version = 3;"
    ))
    .unwrap();
    migrations.runner().repair(&mut conn).unwrap();
    let stored: String = conn
        .query_row(
            &format!("SELECT running_checksum FROM {T} WHERE version = 3"),
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(
        stored,
        migrations.get(3).unwrap().running_checksum().to_string()
    );
}

#[test]
fn hand_edited_history_rows_are_malformed_rows_of_the_history() {
    let cases = [
        (
            format!("UPDATE {EVENTS} SET duration_ms = -1 WHERE version = 2;"),
            Some(2),
        ),
        (
            format!(
                "PRAGMA ignore_check_constraints = ON;
                 UPDATE {EVENTS} SET event = 'exploded' WHERE version = 2;"
            ),
            Some(2),
        ),
        (
            format!(
                "PRAGMA ignore_check_constraints = ON;
                 UPDATE {EVENTS} SET direction = 'sideways' WHERE version = 2;"
            ),
            Some(2),
        ),
        (
            format!("UPDATE {EVENTS} SET checksum = 'abc' WHERE version = 2;"),
            Some(2),
        ),
        (
            format!("UPDATE {EVENTS} SET id = -7 WHERE version = 2;"),
            Some(2),
        ),
        (
            format!("UPDATE {EVENTS} SET version = 'two' WHERE version = 2;"),
            None,
        ),
        (
            format!("UPDATE {EVENTS} SET version = 0 WHERE version = 2;"),
            Some(0),
        ),
        (
            format!("UPDATE {EVENTS} SET at = 20240101 WHERE version = 2;"),
            None,
        ),
    ];
    assert_none(cases.into_iter().flat_map(|(edit, version)| {
        // `at` is TEXT: SQLite stores 20240101 as the text '20240101', which
        // reads fine; only the others are malformed.
        let expect = if edit.contains("SET at") {
            Works
        } else {
            Malformed(EVENTS, version)
        };
        check_edit(
            &edit,
            [
                (Run, Works),
                (RunPending, Works),
                (Status, Works),
                (Rollback, Works),
                (History, expect),
            ],
        )
    }));
}

// ---------------------------------------------------------------------------
// Database faults
// ---------------------------------------------------------------------------

/// A database file at version 3 and its bytes.
fn database_at_three() -> (Database, Vec<u8>) {
    let db = Database::new();
    three().migrations().run(&mut db.open()).unwrap();
    let bytes = std::fs::read(db.path()).unwrap();
    (db, bytes)
}

/// A read-only connection: `status` and `history` work, a run with a
/// pending migration fails naming what it was doing and changes nothing.
/// (An up-to-date `run` on a read-only connection works:
/// `tests/apply.rs::an_up_to_date_read_only_database_runs_without_writing`.)
#[test]
fn a_read_only_database_reads_and_refuses_to_apply() {
    let (db, bytes) = database_at_three();
    let mut conn =
        Connection::open_with_flags(db.path(), OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let four = four().migrations();

    let status = four.status(&mut conn).unwrap();
    assert_eq!(status.current_version, Some(3));
    assert_eq!(status.pending.len(), 1);
    assert_eq!(four.history(&mut conn).unwrap().len(), 3);

    let error = four.run(&mut conn).unwrap_err();
    assert_read_only(&error);
    let error = four.rollback(&mut conn, 1).unwrap_err();
    assert_read_only(&error);
    drop(conn);
    assert_eq!(std::fs::read(db.path()).unwrap(), bytes, "the file changed");
}

fn assert_read_only(error: &Error) {
    let source = match error {
        Error::Database { error: cause, .. } => cause
            .downcast_ref::<rusqlite::Error>()
            .unwrap_or_else(|| panic!("{error:?}")),
        Error::MigrationFailed { error: cause, .. } => cause
            .downcast_ref::<migrate::sqlite::StatementError>()
            .map(|statement| statement.sqlite_error())
            .unwrap_or_else(|| panic!("{error:?}")),
        other => panic!("expected a SQLite error, got {other:?}"),
    };
    assert_eq!(
        source.sqlite_error_code(),
        Some(rusqlite::ErrorCode::ReadOnly),
        "{error}"
    );
    assert!(error.to_string().contains("readonly"), "{error}");
}

/// Another connection holds `BEGIN EXCLUSIVE` in this journal mode. A run
/// that must write gives up after the lock timeout with `Error::Locked`; an
/// action that only reads does too when the lock blocks readers
/// (`blocks_readers`), and works when it does not. Nothing changes.
fn check_exclusive_lock(journal: &str, blocks_readers: bool) {
    let (db, _) = database_at_three();
    let other = db.open();
    other.pragma_update(None, "journal_mode", journal).unwrap();
    let before = snapshot(&other);
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();

    let timeout = Duration::from_millis(150);
    let mut conn = db.open();
    let four = four().migrations();
    let three = three().migrations();
    let locked = |outcome: &Result<(), Error>| matches!(outcome, Err(Error::Locked { waited, .. }) if *waited == timeout);
    let mut failures = Vec::new();
    let pending = four.runner().lock_timeout(timeout).run(&mut conn).map(drop);
    if !locked(&pending) {
        failures.push(format!("run with a pending migration: {pending:?}"));
    }
    let rollback = four
        .runner()
        .lock_timeout(timeout)
        .rollback(&mut conn, 1)
        .map(drop);
    if !locked(&rollback) {
        failures.push(format!("rollback: {rollback:?}"));
    }
    let reads = [
        (
            "up-to-date run",
            three
                .runner()
                .lock_timeout(timeout)
                .run(&mut conn)
                .map(drop),
        ),
        (
            "status",
            four.runner()
                .lock_timeout(timeout)
                .status(&mut conn)
                .map(drop),
        ),
        (
            "history",
            four.runner()
                .lock_timeout(timeout)
                .history(&mut conn)
                .map(drop),
        ),
    ];
    for (action, outcome) in reads {
        if blocks_readers != locked(&outcome) || (!blocks_readers && outcome.is_err()) {
            failures.push(format!("{action}: {outcome:?}"));
        }
    }
    other.execute_batch("ROLLBACK").unwrap();
    if snapshot(&other) != before {
        failures.push("the database changed".to_owned());
    }
    assert!(failures.is_empty(), "{journal}:\n{}", failures.join("\n"));
}

/// In WAL mode an exclusive transaction still lets readers in: the
/// up-to-date check, `status` and `history` take no lock and work.
#[test]
fn an_exclusive_lock_in_wal_mode_is_locked_for_writes_only() {
    check_exclusive_lock("wal", false);
}

/// In rollback-journal mode (SQLite's default) an exclusive lock blocks
/// readers too, so every action waits for the lock timeout: each must say
/// `Error::Locked`, not a generic error about reading the tracking table.
#[test]
fn an_exclusive_lock_in_rollback_journal_mode_is_locked_for_every_action() {
    check_exclusive_lock("delete", true);
}

/// A data migration that fills the disk (`PRAGMA max_page_count`, set on
/// the running connection): it fails with SQLite's message, is rolled back
/// completely and recorded as failed; with room again, a run completes.
#[test]
fn a_full_disk_fails_the_migration_rolls_it_back_and_records_it() -> migrate::Result<()> {
    let folder = Folder::new(&[("0001_blobs.sql", "CREATE TABLE blobs (b BLOB NOT NULL);\n")]);
    let db = Database::new();
    let mut conn = db.open();
    folder.migrations().run(&mut conn)?;
    folder.write(
        "0002_fill.sql",
        "INSERT INTO blobs VALUES (randomblob(10));\n\
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)\n\
         INSERT INTO blobs SELECT randomblob(1000) FROM n;\n",
    );
    let migrations = folder.migrations();
    let pages: i64 = conn
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    conn.pragma_update(None, "max_page_count", pages + 8)
        .unwrap();

    let error = migrations.run(&mut conn).unwrap_err();
    assert!(
        matches!(
            &error,
            Error::MigrationFailed {
                version: 2,
                line: Some(2),
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("database or disk is full"),
        "{error}"
    );
    let blobs: i64 = conn
        .query_row("SELECT count(*) FROM blobs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(blobs, 0, "the first statement was rolled back too");
    let status = migrations.status(&mut conn)?;
    assert_eq!(status.current_version, Some(1));
    assert_eq!(status.failed.len(), 1);
    assert!(
        status.failed[0].error.contains("database or disk is full"),
        "{:?}",
        status.failed
    );

    conn.pragma_update(None, "max_page_count", 1_073_741_823)
        .unwrap();
    assert_eq!(migrations.run(&mut conn)?.applied.len(), 1);
    let blobs: i64 = conn
        .query_row("SELECT count(*) FROM blobs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(blobs, 2001);
    assert!(migrations.status(&mut conn)?.failed.is_empty());
    Ok(())
}

/// A failure whose record does not fit either: no room at all, and an error
/// message (a CHECK constraint's 20 000-character name) that needs new
/// pages. The migration's error is still returned, and the database is as
/// before: no half-written record, the migration pending.
#[test]
fn a_failure_that_cannot_be_recorded_still_returns_its_error_and_changes_nothing()
-> migrate::Result<()> {
    let name = "k".repeat(20_000);
    let folder = Folder::new(&[(
        "0001_checked.sql",
        &format!("CREATE TABLE checked (x INTEGER CONSTRAINT \"{name}\" CHECK (x < 0));\n"),
    )]);
    let db = Database::new();
    let mut conn = db.open();
    folder.migrations().run(&mut conn)?;
    folder.write("0002_violate.sql", "INSERT INTO checked VALUES (1);\n");
    let migrations = folder.migrations();
    let pages: i64 = conn
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    let free: i64 = conn
        .query_row("PRAGMA freelist_count", [], |r| r.get(0))
        .unwrap();
    assert_eq!(free, 0);
    conn.pragma_update(None, "max_page_count", pages).unwrap();
    let before = snapshot(&conn);

    let error = migrations.run(&mut conn).unwrap_err();
    assert!(
        matches!(&error, Error::MigrationFailed { version: 2, .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("CHECK constraint failed"),
        "{error}"
    );
    assert_eq!(snapshot(&conn), before, "a partial failure record");
    let status = migrations.status(&mut conn)?;
    assert_eq!(status.current_version, Some(1));
    assert!(status.failed.is_empty());
    assert_eq!(status.pending.len(), 1);
    Ok(())
}

/// `run` on a connection inside a transaction is
/// `tests/conformance/apply.rs::refuses_a_connection_inside_a_transaction`; every other
/// action refuses the same way and changes nothing.
#[test]
fn every_action_refuses_a_connection_inside_a_transaction() {
    let (db, _) = database_at_three();
    let mut conn = db.open();
    let four: Migrations = four().migrations();
    conn.execute_batch("BEGIN; INSERT INTO log VALUES (99);")
        .unwrap();
    let before = snapshot(&conn);
    let outcomes: Vec<(&str, Result<(), Error>)> = vec![
        ("status", four.status(&mut conn).map(drop)),
        ("history", four.history(&mut conn).map(drop)),
        ("rollback", four.rollback(&mut conn, 1).map(drop)),
        ("rollback_to", four.rollback_to(&mut conn, 0).map(drop)),
        ("redo", four.redo(&mut conn).map(drop)),
        ("dry_run", four.runner().dry_run(&mut conn).map(drop)),
        ("repair", four.runner().repair(&mut conn).map(drop)),
        ("baseline", four.runner().baseline(&mut conn, 4).map(drop)),
        ("run_to", four.run_to(&mut conn, 4).map(drop)),
    ];
    for (action, outcome) in outcomes {
        assert!(
            matches!(outcome, Err(Error::TransactionOpen)),
            "{action}: {outcome:?}"
        );
    }
    assert_eq!(snapshot(&conn), before);
    conn.execute_batch("ROLLBACK").unwrap();
}
