//! The feature `time`: the reports' RFC 3339 times (`applied_at`,
//! `failed_at`, `started_at`, an event's `at`) parsed as
//! `time::OffsetDateTime` at UTC, and a time the tracking table does not
//! hold in RFC 3339 refused rather than guessed.

#![cfg(feature = "time")]

mod common;

use common::{Database, Folder};
use migrate::time::{Duration, OffsetDateTime, UtcOffset};

/// Now, to the millisecond below: the reports' times have milliseconds.
fn now_to_the_millisecond() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(now.millisecond() as u32 * 1_000_000)
        .expect("a valid nanosecond")
}

#[test]
fn applied_failed_and_event_times_are_the_times_they_happened_at_utc() {
    let folder = Folder::new(&[
        ("0001_users.sql", "CREATE TABLE users (id INTEGER);"),
        ("0002_broken.sql", "INSERT INTO nowhere VALUES (1);"),
    ]);
    let migrations = folder.migrations();
    let mut conn = rusqlite::Connection::open_in_memory().unwrap();

    let before = now_to_the_millisecond();
    migrations.run(&mut conn).unwrap_err();
    let after = OffsetDateTime::now_utc();

    let status = migrations.status(&mut conn).unwrap();
    let applied_at = status.applied[0].applied_at_time().unwrap();
    let failed_at = status.failed[0].failed_at_time().unwrap();
    for time in [applied_at, failed_at] {
        assert_eq!(time.offset(), UtcOffset::UTC);
        assert!(
            before <= time && time <= after,
            "{before} <= {time} <= {after}"
        );
    }
    assert!(applied_at <= failed_at);

    // The events: the commit of 1, then the failure of 2, in order.
    let history = migrations.history(&mut conn).unwrap();
    let times: Vec<OffsetDateTime> = history.iter().map(|e| e.at_time().unwrap()).collect();
    assert_eq!(times.len(), 2);
    assert!(
        before <= times[0] && times[0] <= times[1] && times[1] <= after,
        "{before} <= {times:?} <= {after}"
    );
}

#[test]
fn a_dirty_migration_has_the_time_it_started() {
    let folder = Folder::new(&[(
        "0001_split.sql",
        "-- migrate:no-transaction\nCREATE TABLE half (x);\nINSERT INTO nowhere VALUES (1);",
    )]);
    let db = Database::new();
    let mut conn = db.open();
    let before = now_to_the_millisecond();
    folder.migrations().run(&mut conn).unwrap_err();

    let status = folder.migrations().status(&mut conn).unwrap();
    let started_at = status.dirty[0].started_at_time().unwrap();
    assert_eq!(started_at.offset(), UtcOffset::UTC);
    assert!(before <= started_at && started_at <= OffsetDateTime::now_utc());
}

#[test]
fn a_time_that_is_not_rfc_3339_is_an_error_and_its_text_is_kept() {
    let folder = Folder::new(&[("0001_users.sql", "CREATE TABLE users (id INTEGER);")]);
    let migrations = folder.migrations();
    let mut conn = rusqlite::Connection::open_in_memory().unwrap();
    migrations.run(&mut conn).unwrap();
    conn.execute_batch(
        "UPDATE migrate_schema_history SET applied_at = '2024-01-31 12:00:00';
         UPDATE migrate_schema_history_events SET at = '2024-01-31T12:00:00.250+01:00';",
    )
    .unwrap();

    let status = migrations.status(&mut conn).unwrap();
    assert_eq!(status.applied[0].applied_at, "2024-01-31 12:00:00");
    assert!(status.applied[0].applied_at_time().is_err());

    // Another offset is still RFC 3339: the same instant, kept at its offset.
    let event = &migrations.history(&mut conn).unwrap()[0];
    let at = event.at_time().unwrap();
    assert_eq!(at.offset(), UtcOffset::from_hms(1, 0, 0).unwrap());
    assert_eq!(
        at.to_offset(UtcOffset::UTC),
        OffsetDateTime::from_unix_timestamp(1_706_698_800).unwrap() + Duration::milliseconds(250)
    );
}
