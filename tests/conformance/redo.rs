//! Redo: the latest migration's down, then its up again; the rest of the
//! data survives.

use migrate::{Direction, Error, EventKind, Irreversible, Problem};

use super::support::{new_events, recorded, snapshot, versions};
use super::{Folder, Harness};

fn two() -> Folder {
    Folder::new(&[
        (
            "0001_users.up.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);",
        ),
        ("0001_users.down.sql", "DROP TABLE users;"),
        (
            "0002_tags.up.sql",
            "CREATE TABLE tags (name TEXT PRIMARY KEY);\nINSERT INTO tags VALUES ('default');",
        ),
        ("0002_tags.down.sql", "DROP TABLE tags;"),
    ])
}

const USERS: &str = "SELECT CAST(id AS TEXT) || ' ' || email FROM users ORDER BY id";

pub fn redo_reverts_the_latest_and_applies_it_again<H: Harness>() -> migrate::Result<()> {
    let migrations = two().migrations();
    let db = H::new_database();
    let mut conn = db.connect();
    migrations.run(&mut conn)?;
    H::execute(
        &mut conn,
        "INSERT INTO users (id, email) VALUES (1, 'a@example.com'), (2, 'b@example.com');
         INSERT INTO tags VALUES ('mine');",
    );
    let users = H::texts(&mut conn, USERS);
    let schema_before = H::schema(&mut conn);
    let recorded_before = recorded::<H>(&migrations, &mut conn);
    let events_before = migrations.history(&mut conn)?.len();

    let report = migrations.redo(&mut conn)?.expect("something to redo");

    assert_eq!(
        (report.rolled_back.version, report.rolled_back.name.as_str()),
        (2, "tags")
    );
    assert_eq!(versions(&report.applied), [2]);
    assert_eq!(H::schema(&mut conn), schema_before);
    assert_eq!(recorded::<H>(&migrations, &mut conn), recorded_before);
    // `tags` was dropped and created again: only its seed row is left.
    assert_eq!(
        H::count(&mut conn, "SELECT count(*) FROM tags WHERE name = 'mine'"),
        0
    );
    assert_eq!(H::count(&mut conn, "SELECT count(*) FROM tags"), 1);
    assert_eq!(H::texts(&mut conn, USERS), users);

    assert_eq!(
        new_events::<H>(&migrations, &mut conn, events_before),
        [
            (EventKind::RolledBack, 2, Direction::Down),
            (EventKind::Applied, 2, Direction::Up)
        ]
    );
    assert!(migrations.status(&mut conn)?.is_up_to_date());
    Ok(())
}

pub fn redo_with_nothing_applied_returns_none_and_changes_nothing<H: Harness>()
-> migrate::Result<()> {
    let migrations = two().migrations();
    let db = H::new_database();
    let mut conn = db.connect();

    assert!(migrations.redo(&mut conn)?.is_none());
    assert!(H::is_empty(&mut conn));

    // Everything applied, then reverted: still nothing to redo, and nothing
    // is applied by asking.
    migrations.run(&mut conn)?;
    migrations.rollback_to(&mut conn, 0)?;
    let before = snapshot::<H>(&migrations, &mut conn);
    assert!(migrations.redo(&mut conn)?.is_none());
    assert_eq!(snapshot::<H>(&migrations, &mut conn), before);
    assert!(migrations.status(&mut conn)?.applied.is_empty());
    assert!(H::schema(&mut conn).is_empty());
    Ok(())
}

pub fn redo_of_a_migration_without_a_down_changes_nothing<H: Harness>() -> migrate::Result<()> {
    let folder = Folder::new(&[
        ("0001_users.up.sql", "CREATE TABLE users (id INTEGER);"),
        ("0001_users.down.sql", "DROP TABLE users;"),
        ("0002_seed.sql", "INSERT INTO users VALUES (1);"),
    ]);
    let migrations = folder.migrations();
    let db = H::new_database();
    let mut conn = db.connect();
    migrations.run(&mut conn)?;
    let before = snapshot::<H>(&migrations, &mut conn);

    let error = migrations.redo(&mut conn).unwrap_err();

    assert!(
        matches!(
            &error,
            Error::Irreversible { version: 2, reason, .. }
                if matches!(&**reason, Irreversible::NoDown { file, .. } if file == "0002_seed.sql")
        ),
        "{error:?}"
    );
    assert_eq!(
        H::count(&mut conn, "SELECT count(*) FROM users"),
        1,
        "seeded once"
    );
    assert_eq!(snapshot::<H>(&migrations, &mut conn), before);
    Ok(())
}

/// Redo verifies the whole set before reverting: an edited migration below
/// the latest refuses it, where reverting first would leave the latest
/// rolled back and the run after it refused.
pub fn a_divergent_migration_below_refuses_the_redo_before_anything_changes<H: Harness>()
-> migrate::Result<()> {
    let folder = two();
    let db = H::new_database();
    let mut conn = db.connect();
    let applied = folder.migrations();
    applied.run(&mut conn)?;
    folder.write(
        "0001_users.up.sql",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT);",
    );
    let before = snapshot::<H>(&applied, &mut conn);

    let error = folder.migrations().redo(&mut conn).unwrap_err();

    assert!(
        matches!(
            &error,
            Error::Verification(Problem::Divergent { version: 1, .. })
        ),
        "{error:?}"
    );
    assert_eq!(snapshot::<H>(&applied, &mut conn), before);
    Ok(())
}
