//! Helpers the cases share: versions out of reports and the status, a
//! snapshot of everything an action that changes nothing must leave alone,
//! and the databases several cases start from.

use migrate::{
    AppliedMigration, Checksum, DEFAULT_TABLE, Direction, Event, EventKind, Migrations, Status,
};

use super::{Folder, Harness};

/// The versions of applied migrations, in the order given.
pub fn versions(applied: &[AppliedMigration]) -> Vec<u64> {
    applied.iter().map(|a| a.version).collect()
}

/// The applied versions, checking that nothing else is recorded (no failed
/// attempt, no dirty mark).
pub fn applied_versions<H: Harness>(migrations: &Migrations, conn: &mut H::Conn) -> Vec<u64> {
    let status = migrations.status(conn).unwrap();
    assert!(
        status.failed.is_empty() && status.dirty.is_empty(),
        "{status:?}"
    );
    versions(&status.applied)
}

/// `(version, state)` of every tracking row as `status` reports it, by
/// version: `applied`, `failed` (the last attempt was rolled back),
/// `dirty_up` or `dirty_down` (cut short outside a transaction).
pub fn states<H: Harness>(migrations: &Migrations, conn: &mut H::Conn) -> Vec<(u64, &'static str)> {
    let status = migrations.status(conn).unwrap();
    let mut states: Vec<(u64, &'static str)> = status
        .applied
        .iter()
        .map(|a| (a.version, "applied"))
        .chain(status.failed.iter().map(|f| (f.version, "failed")))
        .chain(status.dirty.iter().map(|d| {
            let state = match d.direction {
                Direction::Up => "dirty_up",
                Direction::Down => "dirty_down",
            };
            (d.version, state)
        }))
        .collect();
    states.sort_unstable();
    states
}

/// The pending versions.
pub fn pending_versions<H: Harness>(migrations: &Migrations, conn: &mut H::Conn) -> Vec<u64> {
    let status = migrations.status(conn).unwrap();
    status.pending.iter().map(|p| p.version).collect()
}

/// `(version, name, checksum)` of every applied migration, as recorded.
pub fn recorded<H: Harness>(
    migrations: &Migrations,
    conn: &mut H::Conn,
) -> Vec<(u64, String, Checksum)> {
    let status = migrations.status(conn).unwrap();
    status
        .applied
        .into_iter()
        .map(|a| (a.version, a.name, a.checksum))
        .collect()
}

/// `(version, name, checksum)` of every migration of the set: what
/// [`recorded`] says once all are applied.
pub fn all_of(migrations: &Migrations) -> Vec<(u64, String, Checksum)> {
    migrations
        .iter()
        .map(|m| (m.version(), m.name().to_owned(), m.checksum()))
        .collect()
}

/// `(kind, version, direction)` of every event.
pub fn kinds(history: &[Event]) -> Vec<(EventKind, u64, Direction)> {
    history
        .iter()
        .map(|e| (e.kind, e.version, e.direction))
        .collect()
}

/// The events added to the history after the first `since`.
pub fn new_events<H: Harness>(
    migrations: &Migrations,
    conn: &mut H::Conn,
    since: usize,
) -> Vec<(EventKind, u64, Direction)> {
    kinds(&migrations.history(conn).unwrap()[since..])
}

/// The running checksum of every applied row of the default tracking table,
/// as `"<version> <running checksum>"`, by version. The public API does not
/// show them, so this is the one read of the tracking table with SQL: for
/// the cases about the running checksums, and to catch an action that
/// changed nothing else.
pub fn running_checksums<H: Harness>(conn: &mut H::Conn) -> Vec<String> {
    if !H::table_exists(conn, DEFAULT_TABLE) {
        return Vec::new();
    }
    H::texts(
        conn,
        &format!(
            "SELECT CAST(version AS TEXT) || ' ' || running_checksum FROM {DEFAULT_TABLE}
             WHERE state = 'applied' ORDER BY version"
        ),
    )
}

/// The running checksums a database that applied the whole set from
/// scratch would have, as [`running_checksums`] reads them.
pub fn expected_running_checksums(migrations: &Migrations) -> Vec<String> {
    migrations
        .iter()
        .map(|m| format!("{} {}", m.version(), m.running_checksum()))
        .collect()
}

/// Everything an action that changes nothing must leave as it was.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    schema: Vec<String>,
    status: Status,
    history: Vec<Event>,
    running_checksums: Vec<String>,
}

/// The schema, the status against `migrations` (every tracking row's
/// version, name, checksum, time, duration, state and error), the history,
/// and the running checksums.
pub fn snapshot<H: Harness>(migrations: &Migrations, conn: &mut H::Conn) -> Snapshot {
    Snapshot {
        schema: H::schema(conn),
        status: migrations.status(conn).unwrap(),
        history: migrations.history(conn).unwrap(),
        running_checksums: running_checksums::<H>(conn),
    }
}

/// After a merge: a database applied `0001_users.sql` and
/// `0002_add_phone.sql`, then the folder renumbered add_phone to
/// `0003_add_phone.sql` (the same content) because the other side's
/// `0002_add_avatar.sql` took version 2.
pub fn renumbered_after_a_merge<H: Harness>() -> migrate::Result<(Folder, H)> {
    let folder = Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
        ),
        (
            "0002_add_phone.sql",
            "ALTER TABLE users ADD COLUMN phone TEXT;\n",
        ),
    ]);
    let db = H::new_database();
    folder.migrations().run(&mut db.connect())?;
    folder.rename("0002_add_phone.sql", "0003_add_phone.sql");
    folder.write(
        "0002_add_avatar.sql",
        "ALTER TABLE users ADD COLUMN avatar TEXT;\n",
    );
    Ok((folder, db))
}

/// Whether `at` is UTC RFC 3339 with milliseconds: `2024-01-31T12:00:00.123Z`.
pub fn is_rfc3339_utc_millis(at: &str) -> bool {
    let pattern = b"dddd-dd-ddTdd:dd:dd.dddZ";
    at.len() == pattern.len()
        && at.bytes().zip(pattern).all(|(c, &p)| match p {
            b'd' => c.is_ascii_digit(),
            _ => c == p,
        })
}

#[test]
fn the_timestamp_check_rejects_other_formats() {
    assert!(is_rfc3339_utc_millis("2024-01-31T12:00:00.123Z"));
    for other in [
        "2024-01-31 12:00:00.123",
        "2024-01-31T12:00:00Z",
        "2024-01-31T12:00:00.123+00:00",
        "2024-01-31T12:00:00.1234Z",
    ] {
        assert!(!is_rfc3339_utc_millis(other), "{other}");
    }
}
