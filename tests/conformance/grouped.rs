//! Grouped runs: all pending migrations in one transaction, so a failure in
//! the last one leaves none of them applied; a migration that must run
//! outside a transaction cannot be part of a group.

use migrate::{Direction, Error, EventKind, Migrations};

use super::support::{all_of, new_events, recorded, running_checksums, snapshot, states, versions};
use super::{Folder, Harness};

fn four_with_last(last: (&str, &str)) -> Folder {
    Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);",
        ),
        (
            "0002_seed.sql",
            "INSERT INTO users (id, email) VALUES (1, 'a@example.com'), (2, 'b@example.com');",
        ),
        (
            "0003_posts.sql",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));",
        ),
        last,
    ])
}

fn failing_last() -> Folder {
    four_with_last((
        "0004_index.sql",
        "CREATE INDEX posts_user ON posts (user_id);\nINSERT INTO nowhere VALUES (1);\n",
    ))
}

const USERS: &str =
    "SELECT CAST(id AS TEXT) || ' ' || COALESCE(email, 'NULL') FROM users ORDER BY id";

/// Runs the group whose last migration fails, checks the error names it and
/// that the history gained its failure and nothing else.
fn run_the_failing_group<H: Harness>(migrations: &Migrations, conn: &mut H::Conn) {
    let events_before = migrations.history(conn).unwrap().len();

    let error = migrations.runner().grouped(true).run(conn).unwrap_err();

    let Error::MigrationFailed {
        version: 4,
        file,
        direction: Direction::Up,
        grouped: true,
        line: Some(2),
        ..
    } = &error
    else {
        panic!("expected migration 4 to fail, got {error:?}");
    };
    assert_eq!(file, "0004_index.sql");
    let message = error.to_string();
    assert!(
        message.starts_with("migration 4 (index) failed in `0004_index.sql` at line 2")
            && message
                .ends_with("the whole group was rolled back: none of its migrations is applied"),
        "{message}"
    );
    assert_eq!(
        new_events::<H>(migrations, conn, events_before),
        [(EventKind::Failed, 4, Direction::Up)],
        "no applied event"
    );
}

pub fn a_failure_in_the_last_migration_leaves_a_new_database_empty<H: Harness>()
-> migrate::Result<()> {
    let migrations = failing_last().migrations();
    let db = H::new_database();
    let mut conn = db.connect();

    run_the_failing_group::<H>(&migrations, &mut conn);

    assert!(
        H::schema(&mut conn).is_empty(),
        "{:?}",
        H::schema(&mut conn)
    );
    // Of the group, only the failed attempt of 4 is recorded.
    assert_eq!(states::<H>(&migrations, &mut conn), [(4, "failed")]);
    let status = migrations.status(&mut conn)?;
    assert_eq!(status.current_version, None);
    assert_eq!(status.pending.len(), 4);
    Ok(())
}

pub fn a_failure_in_the_last_migration_leaves_the_database_as_before<H: Harness>()
-> migrate::Result<()> {
    let migrations = failing_last().migrations();
    let db = H::new_database();
    let mut conn = db.connect();
    migrations.run_to(&mut conn, 1)?;
    H::execute(
        &mut conn,
        "INSERT INTO users (id, email) VALUES (10, 'existing@example.com');",
    );
    let schema_before = H::schema(&mut conn);
    let users_before = H::texts(&mut conn, USERS);
    let applied_before = migrations.status(&mut conn)?.applied;
    let running_before = running_checksums::<H>(&mut conn);

    run_the_failing_group::<H>(&migrations, &mut conn);

    assert_eq!(H::schema(&mut conn), schema_before);
    assert_eq!(
        H::texts(&mut conn, USERS),
        users_before,
        "the seed of 2 is gone with the rest"
    );
    let status = migrations.status(&mut conn)?;
    assert_eq!(status.applied, applied_before);
    assert_eq!(running_checksums::<H>(&mut conn), running_before);
    assert_eq!(
        states::<H>(&migrations, &mut conn),
        [(1, "applied"), (4, "failed")]
    );
    assert_eq!(status.current_version, Some(1));
    let pending: Vec<u64> = status.pending.iter().map(|p| p.version).collect();
    assert_eq!(pending, [2, 3, 4]);
    Ok(())
}

pub fn a_grouped_run_applies_every_pending_migration<H: Harness>() -> migrate::Result<()> {
    let folder = four_with_last((
        "0004_index.sql",
        "CREATE INDEX posts_user ON posts (user_id);",
    ));
    let migrations = folder.migrations();
    let db = H::new_database();
    let mut conn = db.connect();

    let report = migrations.runner().grouped(true).run(&mut conn)?;

    assert_eq!(versions(&report.applied), [1, 2, 3, 4]);
    assert_eq!(recorded::<H>(&migrations, &mut conn), all_of(&migrations));
    assert_eq!(
        states::<H>(&migrations, &mut conn),
        [1, 2, 3, 4].map(|v| (v, "applied"))
    );
    assert_eq!(H::count(&mut conn, "SELECT count(*) FROM users"), 2);
    assert_eq!(
        new_events::<H>(&migrations, &mut conn, 0),
        (1..=4)
            .map(|v| (EventKind::Applied, v, Direction::Up))
            .collect::<Vec<_>>()
    );
    // Each event holds what its migration's row does, as a run one by one
    // writes it.
    let history = migrations.history(&mut conn)?;
    for (event, applied) in history.iter().zip(&report.applied) {
        assert_eq!(
            (
                event.version,
                event.name.as_str(),
                event.at.as_str(),
                event.checksum,
                event.duration
            ),
            (
                applied.version,
                applied.name.as_str(),
                applied.applied_at.as_str(),
                Some(applied.checksum),
                Some(applied.duration)
            )
        );
    }
    // The running checksums agree with the set: a plain run is a no-op.
    assert!(migrations.status(&mut conn)?.is_up_to_date());
    assert!(migrations.run(&mut conn)?.applied.is_empty());

    folder.write("0005_notes.sql", "CREATE TABLE notes (body TEXT);");
    let report = folder.migrations().runner().grouped(true).run(&mut conn)?;
    assert_eq!(versions(&report.applied), [5]);
    Ok(())
}

pub fn a_group_with_a_migration_outside_a_transaction_is_refused_before_anything<H: Harness>()
-> migrate::Result<()> {
    let migrations = Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);",
        ),
        (
            "0002_posts.sql",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY);",
        ),
        ("0003_vacuum.sql", "-- migrate:no-transaction\nVACUUM;\n"),
        ("0004_tags.sql", "CREATE TABLE tags (name TEXT);"),
    ])
    .migrations();
    let db = H::new_database();
    let mut conn = db.connect();

    let error = migrations
        .runner()
        .grouped(true)
        .run(&mut conn)
        .unwrap_err();

    let Error::NoTransactionInGroup {
        version: 3,
        name,
        file,
    } = &error
    else {
        panic!("expected NoTransactionInGroup for 3, got {error:?}");
    };
    assert_eq!(
        (name.as_str(), file.as_str()),
        ("vacuum", "0003_vacuum.sql")
    );
    assert_eq!(
        error.to_string(),
        "migration 3 (vacuum, `0003_vacuum.sql`) runs outside a transaction (`-- migrate:no-transaction`), \
         so it cannot be part of a grouped run; nothing was applied"
    );
    assert!(H::is_empty(&mut conn));

    // With 1 applied, the same refusal changes nothing.
    migrations.run_to(&mut conn, 1)?;
    let before = snapshot::<H>(&migrations, &mut conn);
    let error = migrations
        .runner()
        .grouped(true)
        .run(&mut conn)
        .unwrap_err();
    assert!(
        matches!(error, Error::NoTransactionInGroup { version: 3, .. }),
        "{error:?}"
    );
    assert_eq!(snapshot::<H>(&migrations, &mut conn), before);
    assert_eq!(H::objects(&mut conn), ["table users"]);

    // Up to a target below it, the group is all in a transaction.
    let report = migrations.runner().grouped(true).target(2).run(&mut conn)?;
    assert_eq!(versions(&report.applied), [2]);
    Ok(())
}
