//! Baseline: a database that existed before this tool gets its first
//! migrations recorded as applied without running them; later runs apply
//! only what is above.

use migrate::{DEFAULT_TABLE, Direction, Error, EventKind};

use super::support::{kinds, running_checksums, snapshot, states, versions};
use super::{Folder, Harness};

/// Five migrations; the first three are what the existing database already
/// has. Running 1..3 on it would fail (their tables exist) or duplicate rows.
fn five() -> Folder {
    Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);",
        ),
        (
            "0002_posts.sql",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL);",
        ),
        (
            "0003_admin.sql",
            "INSERT INTO users (id, email) VALUES (3, 'admin@example.com');",
        ),
        (
            "0004_tags.sql",
            "CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL);",
        ),
        (
            "0005_post_tags.sql",
            "CREATE TABLE post_tags (post_id INTEGER NOT NULL, tag_id INTEGER NOT NULL);",
        ),
    ])
}

/// A database made by hand, before this tool: the schema of 1..3 and data.
fn existing_database<H: Harness>() -> H {
    let db = H::new_database();
    H::execute(
        &mut db.connect(),
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
         CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL);
         INSERT INTO users (id, email) VALUES (1, 'admin@example.com'), (2, 'ann@example.com');
         INSERT INTO posts (id, user_id) VALUES (1, 2);",
    );
    db
}

pub fn baseline_records_migrations_as_applied_without_running_them<H: Harness>()
-> migrate::Result<()> {
    let folder = five();
    let migrations = folder.migrations();
    let db = existing_database::<H>();
    let mut conn = db.connect();

    let baselined = migrations.runner().baseline(&mut conn, 3)?;

    let versions: Vec<(u64, &str)> = baselined
        .iter()
        .map(|a| (a.version, a.name.as_str()))
        .collect();
    assert_eq!(versions, [(1, "users"), (2, "posts"), (3, "admin")]);
    for applied in &baselined {
        assert_eq!(
            applied.checksum,
            migrations.get(applied.version).unwrap().checksum()
        );
        assert!(applied.duration.is_zero(), "{applied:?}");
    }
    // Not run: the seed of 3 would have added a third user.
    assert_eq!(H::count(&mut conn, "SELECT count(*) FROM users"), 2);
    assert_eq!(H::objects(&mut conn), ["table posts", "table users"]);
    assert_eq!(
        states::<H>(&migrations, &mut conn),
        [(1, "applied"), (2, "applied"), (3, "applied")]
    );
    // Chained as if they had run, so the up-to-date check stays one row.
    let expected: Vec<String> = migrations
        .iter()
        .take(3)
        .map(|m| format!("{} {}", m.version(), m.running_checksum()))
        .collect();
    assert_eq!(running_checksums::<H>(&mut conn), expected);
    let status = migrations.status(&mut conn)?;
    assert_eq!(status.current_version, Some(3));
    let pending: Vec<u64> = status.pending.iter().map(|p| p.version).collect();
    assert_eq!(pending, [4, 5]);
    assert!(status.problems.is_empty(), "{:?}", status.problems);
    Ok(())
}

pub fn a_run_after_a_baseline_applies_only_what_is_above_it<H: Harness>() -> migrate::Result<()> {
    let folder = five();
    let migrations = folder.migrations();
    let db = existing_database::<H>();
    let mut conn = db.connect();
    migrations.runner().baseline(&mut conn, 3)?;

    let report = migrations.run(&mut db.connect())?;

    assert_eq!(versions(&report.applied), [4, 5]);
    assert_eq!(H::count(&mut conn, "SELECT count(*) FROM users"), 2);
    assert_eq!(
        H::objects(&mut conn),
        [
            "table post_tags",
            "table posts",
            "table tags",
            "table users"
        ]
    );
    let status = migrations.status(&mut conn)?;
    assert!(status.is_up_to_date(), "{status:?}");
    assert!(migrations.run(&mut conn)?.applied.is_empty());
    Ok(())
}

pub fn the_history_shows_the_baseline<H: Harness>() -> migrate::Result<()> {
    let folder = five();
    let migrations = folder.migrations();
    let db = existing_database::<H>();
    let mut conn = db.connect();
    migrations.runner().baseline(&mut conn, 3)?;
    migrations.run_to(&mut conn, 4)?;

    let history = migrations.history(&mut conn)?;

    assert_eq!(
        kinds(&history),
        [
            (EventKind::Baselined, 1, Direction::Up),
            (EventKind::Baselined, 2, Direction::Up),
            (EventKind::Baselined, 3, Direction::Up),
            (EventKind::Applied, 4, Direction::Up),
        ]
    );
    for event in &history[..3] {
        let migration = migrations.get(event.version).unwrap();
        assert_eq!(event.name, migration.name());
        assert_eq!(event.checksum, Some(migration.checksum()));
        assert_eq!(event.duration, None, "a baselined migration did not run");
        assert_eq!(event.detail, None);
    }
    Ok(())
}

pub fn baseline_is_refused_once_anything_is_applied_and_changes_nothing<H: Harness>()
-> migrate::Result<()> {
    let folder = five();
    let migrations = folder.migrations();
    let db = H::new_database();
    let mut conn = db.connect();
    migrations.run_to(&mut conn, 2)?;
    let before = snapshot::<H>(&migrations, &mut conn);

    let result = migrations.runner().baseline(&mut conn, 3);

    assert!(
        matches!(&result, Err(Error::BaselineRefused { version: 1 })),
        "{result:?}"
    );
    let message = result.unwrap_err().to_string();
    assert!(
        message.contains("migration 1 is already applied"),
        "{message}"
    );
    assert_eq!(snapshot::<H>(&migrations, &mut conn), before);
    assert_eq!(
        H::count(&mut conn, "SELECT count(*) FROM users"),
        0,
        "3 did not run"
    );
    Ok(())
}

pub fn a_second_baseline_is_refused<H: Harness>() -> migrate::Result<()> {
    let folder = five();
    let migrations = folder.migrations();
    let db = existing_database::<H>();
    let mut conn = db.connect();
    migrations.runner().baseline(&mut conn, 2)?;

    let result = migrations.runner().baseline(&mut conn, 3);

    assert!(
        matches!(&result, Err(Error::BaselineRefused { version: 1 })),
        "{result:?}"
    );
    assert_eq!(
        states::<H>(&migrations, &mut conn),
        [(1, "applied"), (2, "applied")]
    );
    Ok(())
}

pub fn baseline_to_an_unknown_version_is_refused_before_touching_the_database<H: Harness>()
-> migrate::Result<()> {
    let folder = five();
    let migrations = folder.migrations();
    let db = existing_database::<H>();
    let mut conn = db.connect();

    for version in [0, 6, 20240131] {
        let result = migrations.runner().baseline(&mut conn, version);
        assert!(
            matches!(&result, Err(Error::UnknownVersion(v)) if *v == version),
            "{version}: {result:?}"
        );
    }
    assert!(
        !H::table_exists(&mut conn, DEFAULT_TABLE)
            && !H::table_exists(&mut conn, &format!("{DEFAULT_TABLE}_events")),
        "no tracking table created"
    );
    Ok(())
}

pub fn baseline_to_the_latest_version_leaves_nothing_pending<H: Harness>() -> migrate::Result<()> {
    let folder = five();
    let migrations = folder.migrations();
    let db = H::new_database();
    let mut conn = db.connect();

    let baselined = migrations.runner().baseline(&mut conn, 5)?;

    assert_eq!(baselined.len(), 5);
    assert!(H::objects(&mut conn).is_empty(), "nothing ran");
    assert!(migrations.run(&mut conn)?.applied.is_empty());
    assert!(migrations.status(&mut conn)?.is_up_to_date());
    Ok(())
}

pub fn baseline_with_a_custom_table<H: Harness>() -> migrate::Result<()> {
    let folder = five();
    let migrations = folder.migrations();
    let db = existing_database::<H>();
    let mut conn = db.connect();
    let runner = migrations.runner().table("schema_migrations");

    runner.baseline(&mut conn, 3)?;
    let report = runner.run(&mut conn)?;

    assert_eq!(report.applied.len(), 2);
    assert_eq!(runner.status(&mut conn)?.applied.len(), 5);
    assert_eq!(runner.history(&mut conn)?.len(), 5);
    assert!(!H::table_exists(&mut conn, DEFAULT_TABLE));
    Ok(())
}

pub fn baseline_on_a_dirty_migration_asks_for_a_repair<H: Harness>() -> migrate::Result<()> {
    // Nothing is applied, but migration 1 was cut short outside a
    // transaction: the remedy is a repair, not "already applied".
    let folder = Folder::new(&[(
        "0001_broken.sql",
        "-- migrate:no-transaction\nINSERT INTO nowhere VALUES (1);\n",
    )]);
    let migrations = folder.migrations();
    let db = H::new_database();
    let mut conn = db.connect();
    let _ = migrations.run(&mut conn);
    let before = snapshot::<H>(&migrations, &mut conn);

    let result = migrations.runner().baseline(&mut conn, 1);

    assert!(
        matches!(&result, Err(Error::Dirty { version: 1, .. })),
        "{result:?}"
    );
    assert_eq!(snapshot::<H>(&migrations, &mut conn), before);
    assert_eq!(states::<H>(&migrations, &mut conn), [(1, "dirty_up")]);
    Ok(())
}
