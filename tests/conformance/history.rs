//! History: an append-only log of every migration applied, rolled back,
//! failed, baselined or repaired, kept in `<table>_events`.

use migrate::{DEFAULT_TABLE, Direction, EventKind};

use super::support::{is_rfc3339_utc_millis, kinds};
use super::{Folder, Harness, Message};

fn reversible() -> Folder {
    Folder::new(&[
        (
            "0001_users.up.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);",
        ),
        ("0001_users.down.sql", "DROP TABLE users;"),
        (
            "0002_posts.up.sql",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY);",
        ),
        ("0002_posts.down.sql", "DROP TABLE posts;"),
    ])
}

pub fn a_fresh_database_has_an_empty_history_and_stays_empty<H: Harness>() -> migrate::Result<()> {
    let migrations = reversible().migrations();
    let db = H::new_database();
    let mut conn = db.connect();

    assert!(migrations.history(&mut conn)?.is_empty());
    assert!(
        H::is_empty(&mut conn),
        "reading the history creates nothing"
    );
    Ok(())
}

pub fn every_event_is_recorded_in_order<H: Harness>() -> migrate::Result<()> {
    let folder = reversible();
    let db = H::new_database();
    let mut conn = db.connect();

    folder.migrations().run(&mut conn)?;
    folder.migrations().rollback(&mut conn, 1)?;
    folder.write("0003_broken.sql", "INSERT INTO nowhere VALUES (1);");
    let _ = folder.migrations().run(&mut conn);
    folder.write("0003_broken.sql", "CREATE TABLE tags (id INTEGER);");
    folder.migrations().run(&mut conn)?;
    folder.remove("0003_broken.sql");
    folder.write("0003_broken.up.sql", "CREATE TABLE tags (id INTEGER);");
    folder.write("0003_broken.down.sql", "DROP TABLE tags;");
    let migrations = folder.migrations();
    migrations.redo(&mut conn)?;

    let history = migrations.history(&mut conn)?;

    assert_eq!(
        kinds(&history),
        [
            (EventKind::Applied, 1, Direction::Up),
            (EventKind::Applied, 2, Direction::Up),
            (EventKind::RolledBack, 2, Direction::Down),
            (EventKind::Applied, 2, Direction::Up),
            (EventKind::Failed, 3, Direction::Up),
            (EventKind::Applied, 3, Direction::Up),
            (EventKind::RolledBack, 3, Direction::Down),
            (EventKind::Applied, 3, Direction::Up),
        ]
    );
    let ids: Vec<u64> = history.iter().map(|e| e.id).collect();
    assert_eq!(ids, (1..=8).collect::<Vec<u64>>());
    for event in &history {
        assert!(is_rfc3339_utc_millis(&event.at), "{event:?}");
        assert_eq!(
            event.name,
            ["users", "posts", "broken"][event.version as usize - 1]
        );
        assert!(event.duration.is_some(), "{event:?}");
        assert!(event.checksum.is_some(), "{event:?}");
    }
    assert!(
        history.windows(2).all(|pair| pair[0].at <= pair[1].at),
        "in time order"
    );
    Ok(())
}

pub fn events_carry_the_checksum_duration_and_error<H: Harness>() -> migrate::Result<()> {
    let folder = reversible();
    let db = H::new_database();
    let mut conn = db.connect();
    let migrations = folder.migrations();
    migrations.run(&mut conn)?;
    migrations.rollback(&mut conn, 1)?;
    folder.write("0003_broken.sql", "INSERT INTO nowhere VALUES (1);");
    let broken = folder.migrations();
    let _ = broken.run(&mut conn);

    let history = broken.history(&mut conn)?;

    let posts = migrations.get(2).unwrap().checksum();
    let applied = &history[1];
    assert_eq!((applied.kind, applied.version), (EventKind::Applied, 2));
    assert_eq!(applied.checksum, Some(posts));
    assert_eq!(applied.detail, None);

    let rolled_back = &history[2];
    assert_eq!(rolled_back.kind, EventKind::RolledBack);
    assert_eq!(rolled_back.checksum, Some(posts));
    assert_eq!(rolled_back.detail, None);

    // The run re-applies 2, then 3 fails.
    let failed = history.last().unwrap();
    assert_eq!(
        (failed.kind, failed.version, failed.direction),
        (EventKind::Failed, 3, Direction::Up)
    );
    assert_eq!(failed.checksum, Some(broken.get(3).unwrap().checksum()));
    let detail = failed.detail.as_deref().expect("the error is recorded");
    assert!(detail.contains("migration 3 (broken) failed"), "{detail}");
    assert!(
        detail.contains(&H::message(Message::NoSuchTable("nowhere"))),
        "{detail}"
    );
    assert!(failed.duration.is_some());
    Ok(())
}

pub fn the_report_the_status_and_the_history_agree<H: Harness>() -> migrate::Result<()> {
    // Durations are whole milliseconds everywhere, so what a run reports is
    // what the database says afterwards.
    let migrations = reversible().migrations();
    let db = H::new_database();
    let mut conn = db.connect();

    let report = migrations.run(&mut conn)?;
    let status = migrations.status(&mut conn)?;
    let rolled_back = migrations.rollback(&mut conn, 1)?;
    let history = migrations.history(&mut conn)?;

    assert_eq!(report.applied, status.applied);
    for (applied, event) in report.applied.iter().zip(&history) {
        assert_eq!(
            (event.kind, event.version, event.duration),
            (EventKind::Applied, applied.version, Some(applied.duration))
        );
    }
    let event = history.last().unwrap();
    assert_eq!(
        (event.kind, event.duration),
        (
            EventKind::RolledBack,
            Some(rolled_back.rolled_back[0].duration)
        )
    );
    Ok(())
}

pub fn a_rollback_does_not_remove_earlier_events<H: Harness>() -> migrate::Result<()> {
    let migrations = reversible().migrations();
    let db = H::new_database();
    let mut conn = db.connect();
    migrations.run(&mut conn)?;
    let before = migrations.history(&mut conn)?;

    migrations.rollback_to(&mut conn, 0)?;

    let after = migrations.history(&mut conn)?;
    assert_eq!(after[..before.len()], before[..], "the past is unchanged");
    assert_eq!(
        kinds(&after[before.len()..]),
        [
            (EventKind::RolledBack, 2, Direction::Down),
            (EventKind::RolledBack, 1, Direction::Down),
        ]
    );
    assert!(migrations.status(&mut conn)?.applied.is_empty());
    Ok(())
}

/// About the tracking tables themselves: where the history is.
pub fn the_history_table_is_named_after_the_tracking_table<H: Harness>() -> migrate::Result<()> {
    let migrations = reversible().migrations();
    let db = H::new_database();
    let mut conn = db.connect();
    let runner = migrations.runner().table("schema_migrations");

    runner.run(&mut conn)?;

    assert_eq!(
        H::count(&mut conn, "SELECT count(*) FROM schema_migrations_events"),
        2
    );
    assert!(
        !H::table_exists(&mut conn, DEFAULT_TABLE)
            && !H::table_exists(&mut conn, &format!("{DEFAULT_TABLE}_events")),
        "nothing under the default name"
    );
    assert_eq!(runner.history(&mut conn)?.len(), 2);
    assert!(
        migrations.history(&mut conn)?.is_empty(),
        "the default table's history is another one"
    );
    Ok(())
}
