//! Reverting migrations on a real SQLite file: each down restores the exact
//! schema before its up and keeps the data it does not remove; `rollback(n)`
//! and `rollback_to(v)` pick the right range; an irreversible migration in
//! the range changes nothing; a failing down stops the rollback.

mod common;

use common::{Database, Folder, count, renumbered_after_a_merge, rows, schema, tracking_rows};
use migrate::{DEFAULT_TABLE, Direction, Error, EventKind, Irreversible, Migrations};
use rusqlite::Connection;
use rusqlite::types::Value;

/// Four reversible migrations whose downs drop a table with its index and
/// view, rebuild a table to drop a column, and drop a trigger.
fn reversible() -> Folder {
    Folder::new(&[
        (
            "0001_users.up.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n\
             CREATE UNIQUE INDEX users_email ON users (email);",
        ),
        ("0001_users.down.sql", "DROP TABLE users;"),
        (
            "0002_posts.up.sql",
            "CREATE TABLE posts (\n    id INTEGER PRIMARY KEY,\n    user_id INTEGER NOT NULL REFERENCES users (id),\n    title TEXT NOT NULL\n);\n\
             CREATE INDEX posts_user ON posts (user_id);\n\
             CREATE VIEW post_titles AS SELECT title FROM posts;",
        ),
        (
            "0002_posts.down.sql",
            "DROP VIEW post_titles;\nDROP TABLE posts;",
        ),
        (
            "0003_nickname.up.sql",
            "ALTER TABLE users ADD COLUMN nickname TEXT;\nUPDATE users SET nickname = 'nick';",
        ),
        (
            // The rebuild that drops a column, with the table's original text.
            "0003_nickname.down.sql",
            "CREATE TABLE users_old AS SELECT id, email FROM users;\n\
             DROP TABLE users;\n\
             CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n\
             INSERT INTO users (id, email) SELECT id, email FROM users_old;\n\
             DROP TABLE users_old;\n\
             CREATE UNIQUE INDEX users_email ON users (email);",
        ),
        (
            "0004_tags.up.sql",
            "CREATE TABLE tags (name TEXT PRIMARY KEY);\n\
             CREATE TRIGGER users_tag AFTER INSERT ON users BEGIN INSERT OR IGNORE INTO tags VALUES ('new'); END;",
        ),
        (
            "0004_tags.down.sql",
            "DROP TRIGGER users_tag;\nDROP TABLE tags;",
        ),
    ])
}

/// Everything a rollback could change: the schema, every column of every
/// tracking row, and the history.
type State = (
    Vec<(String, String, String, Option<String>)>,
    Vec<Vec<Value>>,
    Vec<Vec<Value>>,
);

fn state(conn: &Connection) -> State {
    (
        schema(conn),
        rows(
            conn,
            &format!("SELECT * FROM {DEFAULT_TABLE} ORDER BY version"),
        ),
        rows(
            conn,
            &format!("SELECT * FROM {DEFAULT_TABLE}_events ORDER BY id"),
        ),
    )
}

fn applied_versions(conn: &Connection) -> Vec<i64> {
    tracking_rows(conn, DEFAULT_TABLE)
        .into_iter()
        .map(|row| {
            assert_eq!(row.3, "applied", "{row:?}");
            row.0
        })
        .collect()
}

fn pending_versions(migrations: &Migrations, conn: &mut Connection) -> Vec<u64> {
    let status = migrations.status(conn).unwrap();
    status.pending.iter().map(|p| p.version).collect()
}

#[test]
fn each_down_restores_the_exact_schema_before_its_up() -> migrate::Result<()> {
    let migrations = reversible().migrations();
    let db = Database::new();
    let mut conn = db.open();

    let mut before_up = Vec::new();
    for migration in migrations.iter() {
        before_up.push(schema(&conn));
        migrations.run_to(&mut conn, migration.version())?;
        assert_ne!(
            &schema(&conn),
            before_up.last().unwrap(),
            "the up changed something"
        );
    }
    assert!(before_up[0].is_empty());

    for (migration, expected) in migrations.iter().zip(&before_up).rev() {
        let version = migration.version();
        let report = migrations.rollback(&mut conn, 1)?;
        assert_eq!(report.rolled_back.len(), 1);
        assert_eq!(report.rolled_back[0].version, version);
        assert_eq!(&schema(&conn), expected, "after the down of {version}");
    }
    assert!(tracking_rows(&conn, DEFAULT_TABLE).is_empty());
    Ok(())
}

#[test]
fn downs_keep_the_rows_they_do_not_remove_with_foreign_keys_on() -> migrate::Result<()> {
    let migrations = reversible().migrations();
    let db = Database::new();
    let mut conn = db.open();
    conn.execute_batch("PRAGMA foreign_keys = ON;").unwrap();
    migrations.run_to(&mut conn, 2)?;
    conn.execute_batch(
        "INSERT INTO users (id, email) VALUES (1, 'a@example.com'), (2, 'b@example.com');
         INSERT INTO posts (id, user_id, title) VALUES (10, 1, 'hello'), (11, 2, 'world');",
    )
    .unwrap();
    let users = rows(&conn, "SELECT * FROM users ORDER BY id");
    let posts = rows(&conn, "SELECT * FROM posts ORDER BY id");
    migrations.run(&mut conn)?;
    assert_eq!(
        count(&conn, "SELECT count(*) FROM users WHERE nickname = 'nick'"),
        2
    );

    // The down of 3 drops `users`, which `posts` refers to: with foreign
    // keys enforced this would fail or lose rows.
    let report = migrations.rollback(&mut conn, 2)?;

    let reverted: Vec<u64> = report.rolled_back.iter().map(|r| r.version).collect();
    assert_eq!(reverted, [4, 3]);
    assert_eq!(rows(&conn, "SELECT * FROM users ORDER BY id"), users);
    assert_eq!(rows(&conn, "SELECT * FROM posts ORDER BY id"), posts);
    assert_eq!(
        count(&conn, "SELECT count(*) FROM pragma_foreign_key_check"),
        0
    );
    assert_eq!(count(&conn, "PRAGMA foreign_keys"), 1, "turned back on");
    Ok(())
}

#[test]
fn rollback_n_reverts_the_last_n_newest_first_and_a_run_reapplies_them() -> migrate::Result<()> {
    let migrations = reversible().migrations();
    let db = Database::new();
    let mut conn = db.open();
    migrations.run(&mut conn)?;
    let latest = schema(&conn);
    let events_before = migrations.history(&mut conn)?.len();

    let report = migrations.rollback(&mut conn, 2)?;

    let reverted: Vec<(u64, &str)> = report
        .rolled_back
        .iter()
        .map(|r| (r.version, r.name.as_str()))
        .collect();
    assert_eq!(reverted, [(4, "tags"), (3, "nickname")]);
    assert_eq!(applied_versions(&conn), [1, 2]);
    let status = migrations.status(&mut conn)?;
    assert_eq!(status.current_version, Some(2));
    assert_eq!(pending_versions(&migrations, &mut conn), [3, 4]);
    let history = migrations.history(&mut conn)?;
    let new_events: Vec<(EventKind, u64, Direction)> = history[events_before..]
        .iter()
        .map(|e| (e.kind, e.version, e.direction))
        .collect();
    assert_eq!(
        new_events,
        [
            (EventKind::RolledBack, 4, Direction::Down),
            (EventKind::RolledBack, 3, Direction::Down)
        ]
    );

    let report = migrations.run(&mut conn)?;
    let applied: Vec<u64> = report.applied.iter().map(|a| a.version).collect();
    assert_eq!(applied, [3, 4]);
    assert_eq!(schema(&conn), latest);
    assert!(migrations.status(&mut conn)?.is_up_to_date());
    Ok(())
}

#[test]
fn rollback_to_reverts_everything_above_the_version_and_zero_reverts_all() -> migrate::Result<()> {
    let migrations = reversible().migrations();
    let db = Database::new();
    let mut conn = db.open();
    migrations.run(&mut conn)?;

    let report = migrations.rollback_to(&mut conn, 1)?;
    let reverted: Vec<u64> = report.rolled_back.iter().map(|r| r.version).collect();
    assert_eq!(reverted, [4, 3, 2]);
    assert_eq!(applied_versions(&conn), [1]);
    assert_eq!(pending_versions(&migrations, &mut conn), [2, 3, 4]);

    let report = migrations.rollback_to(&mut conn, 1)?;
    assert!(report.rolled_back.is_empty(), "nothing above 1");

    let report = migrations.rollback_to(&mut conn, 0)?;
    let reverted: Vec<u64> = report.rolled_back.iter().map(|r| r.version).collect();
    assert_eq!(reverted, [1]);
    assert!(schema(&conn).is_empty(), "{:?}", schema(&conn));
    assert!(tracking_rows(&conn, DEFAULT_TABLE).is_empty());
    let status = migrations.status(&mut conn)?;
    assert_eq!(status.current_version, None);
    assert_eq!(pending_versions(&migrations, &mut conn), [1, 2, 3, 4]);

    let report = migrations.run(&mut conn)?;
    assert_eq!(report.applied.len(), 4);
    assert_eq!(applied_versions(&conn), [1, 2, 3, 4]);
    Ok(())
}

#[test]
fn rolling_back_more_than_applied_reverts_all_and_an_empty_database_stays_empty()
-> migrate::Result<()> {
    let migrations = reversible().migrations();
    let db = Database::new();
    let mut conn = db.open();

    let report = migrations.rollback(&mut conn, 3)?;
    assert!(report.rolled_back.is_empty());
    assert_eq!(count(&conn, "SELECT count(*) FROM sqlite_schema"), 0);

    migrations.run_to(&mut conn, 2)?;
    let report = migrations.rollback(&mut conn, 10)?;
    let reverted: Vec<u64> = report.rolled_back.iter().map(|r| r.version).collect();
    assert_eq!(reverted, [2, 1]);
    assert!(schema(&conn).is_empty());
    assert!(tracking_rows(&conn, DEFAULT_TABLE).is_empty());
    Ok(())
}

/// Migration 2 has no down; 3 and 4 do.
fn second_without_down(second: &str) -> Folder {
    Folder::new(&[
        (
            "0001_users.up.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);",
        ),
        ("0001_users.down.sql", "DROP TABLE users;"),
        (
            second,
            "INSERT INTO users (email) VALUES ('seed@example.com');",
        ),
        ("0003_tags.up.sql", "CREATE TABLE tags (name TEXT);"),
        ("0003_tags.down.sql", "DROP TABLE tags;"),
        ("0004_notes.up.sql", "CREATE TABLE notes (body TEXT);"),
        ("0004_notes.down.sql", "DROP TABLE notes;"),
    ])
}

#[test]
fn a_migration_without_a_down_in_range_refuses_before_reverting_anything() -> migrate::Result<()> {
    for (second, fix) in [
        (
            "0002_seed.sql",
            "rename it to `0002_seed.up.sql` and add `0002_seed.down.sql`",
        ),
        ("0002_seed.up.sql", "add `0002_seed.down.sql`"),
    ] {
        let migrations = second_without_down(second).migrations();
        let db = Database::new();
        let mut conn = db.open();
        migrations.run(&mut conn)?;
        let before = state(&conn);

        for error in [
            migrations.rollback(&mut conn, 3).unwrap_err(),
            migrations.rollback_to(&mut conn, 0).unwrap_err(),
        ] {
            let Error::Irreversible {
                version: 2,
                name,
                reason,
            } = &error
            else {
                panic!("expected Irreversible for 2, got {error:?}");
            };
            let Irreversible::NoDown { file, fix: found } = &**reason else {
                panic!("expected NoDown, got {reason:?}");
            };
            assert_eq!((name.as_str(), file.as_str()), ("seed", second));
            assert_eq!(found, fix);
            assert_eq!(
                error.to_string(),
                format!(
                    "cannot roll back migration 2 (seed): `{second}` has no down: {fix}; nothing was rolled back"
                )
            );
            // Not even 4 and 3, which have downs, were reverted.
            assert_eq!(state(&conn), before);
        }

        // The range is what matters: 4 and 3 alone can be reverted.
        let report = migrations.rollback(&mut conn, 2)?;
        assert_eq!(report.rolled_back.len(), 2);
        assert_eq!(applied_versions(&conn), [1, 2]);
    }
    Ok(())
}

#[test]
fn a_migration_edited_since_it_was_applied_refuses_before_reverting_anything() -> migrate::Result<()>
{
    let folder = reversible();
    let db = Database::new();
    let mut conn = db.open();
    let applied = folder.migrations();
    applied.run(&mut conn)?;
    let before = state(&conn);

    let edited = applied.get(2).unwrap().up_sql().unwrap().to_owned() + "\n-- edited\n";
    folder.write("0002_posts.up.sql", edited);
    let migrations = folder.migrations();
    let error = migrations.rollback(&mut conn, 3).unwrap_err();

    let Error::Irreversible {
        version: 2,
        name,
        reason,
    } = &error
    else {
        panic!("expected Irreversible for 2, got {error:?}");
    };
    let Irreversible::Divergent {
        file,
        applied: was,
        embedded,
    } = &**reason
    else {
        panic!("expected Divergent, got {reason:?}");
    };
    assert_eq!(
        (name.as_str(), file.as_str()),
        ("posts", "0002_posts.up.sql")
    );
    assert_eq!(*was, applied.get(2).unwrap().checksum());
    assert_eq!(*embedded, migrations.get(2).unwrap().checksum());
    assert_ne!(was, embedded);
    let message = error.to_string();
    assert!(
        message.starts_with("cannot roll back migration 2 (posts): it was applied with checksum ")
            && message.contains("but `0002_posts.up.sql` now has")
            && message.ends_with("restore the file or repair; nothing was rolled back"),
        "{message}"
    );
    assert_eq!(state(&conn), before);
    Ok(())
}

#[test]
fn a_migration_unknown_to_this_build_refuses_before_reverting_anything() -> migrate::Result<()> {
    // Timestamp versions may have gaps, so the middle one can disappear.
    let folder = Folder::new(&[
        (
            "20240101000000_users.up.sql",
            "CREATE TABLE users (id INTEGER);",
        ),
        ("20240101000000_users.down.sql", "DROP TABLE users;"),
        (
            "20240102000000_posts.up.sql",
            "CREATE TABLE posts (id INTEGER);",
        ),
        ("20240102000000_posts.down.sql", "DROP TABLE posts;"),
        (
            "20240103000000_tags.up.sql",
            "CREATE TABLE tags (id INTEGER);",
        ),
        ("20240103000000_tags.down.sql", "DROP TABLE tags;"),
    ]);
    let db = Database::new();
    let mut conn = db.open();
    folder.migrations().run(&mut conn)?;
    let before = state(&conn);
    folder.remove("20240102000000_posts.up.sql");
    folder.remove("20240102000000_posts.down.sql");
    let migrations = folder.migrations();

    let error = migrations.rollback(&mut conn, 2).unwrap_err();

    assert!(
        matches!(
            &error,
            Error::Irreversible { version: 20240102000000, name, reason }
                if name == "posts" && **reason == Irreversible::Missing
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "cannot roll back migration 20240102000000 (posts): it is applied but unknown to this build, \
         so its down is unknown; nothing was rolled back"
    );
    assert_eq!(state(&conn), before);
    Ok(())
}

#[test]
fn a_failing_down_is_rolled_back_and_keeps_the_downs_before_it() -> migrate::Result<()> {
    let folder = Folder::new(&[
        (
            "0001_users.up.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);",
        ),
        ("0001_users.down.sql", "DROP TABLE users;"),
        (
            "0002_tags.up.sql",
            "CREATE TABLE tags (name TEXT PRIMARY KEY);",
        ),
        (
            "0002_tags.down.sql",
            "DROP TABLE tags;\nDROP TABLE nowhere;\n",
        ),
        ("0003_notes.up.sql", "CREATE TABLE notes (body TEXT);"),
        ("0003_notes.down.sql", "DROP TABLE notes;"),
    ]);
    let migrations = folder.migrations();
    let db = Database::new();
    let mut conn = db.open();
    migrations.run(&mut conn)?;
    conn.execute_batch("INSERT INTO tags VALUES ('kept');")
        .unwrap();
    let events_before = migrations.history(&mut conn)?.len();

    let error = migrations.rollback(&mut conn, 3).unwrap_err();

    let Error::MigrationFailed {
        version: 2,
        name,
        file,
        direction: Direction::Down,
        dirty: false,
        line,
        ..
    } = &error
    else {
        panic!("expected the down of 2 to fail, got {error:?}");
    };
    assert_eq!(
        (name.as_str(), file.as_str()),
        ("tags", "0002_tags.down.sql")
    );
    assert_eq!(*line, Some(2));
    assert_eq!(
        error.to_string(),
        "the down of migration 2 (tags) failed in `0002_tags.down.sql` at line 2 (`DROP TABLE nowhere;`): \
         no such table: nowhere; it was rolled back and the migration stays applied"
    );

    // 3 stays reverted; 2's first statement was rolled back; 1 was not tried.
    assert_eq!(
        schema(&conn)
            .into_iter()
            .filter(|object| object.0 == "table")
            .map(|object| object.1)
            .collect::<Vec<_>>(),
        ["tags", "users"]
    );
    assert_eq!(count(&conn, "SELECT count(*) FROM tags"), 1);
    assert_eq!(applied_versions(&conn), [1, 2]);
    assert_eq!(migrations.status(&mut conn)?.current_version, Some(2));

    let history = migrations.history(&mut conn)?;
    let new_events: Vec<(EventKind, u64, Direction)> = history[events_before..]
        .iter()
        .map(|e| (e.kind, e.version, e.direction))
        .collect();
    assert_eq!(
        new_events,
        [
            (EventKind::RolledBack, 3, Direction::Down),
            (EventKind::Failed, 2, Direction::Down)
        ]
    );
    let detail = history.last().unwrap().detail.as_deref().unwrap_or("");
    assert!(detail.contains("no such table: nowhere"), "{detail}");
    Ok(())
}

#[test]
fn a_version_another_migration_took_is_rolled_back_by_the_build_that_applied_it()
-> migrate::Result<()> {
    // The down of the migration now at version 2 would not undo what was
    // applied there.
    let (folder, db) = renumbered_after_a_merge()?;
    let migrations = folder.migrations();
    let mut conn = db.open();
    let before = tracking_rows(&conn, DEFAULT_TABLE);

    let error = migrations.rollback(&mut conn, 1).unwrap_err();

    let reason = Irreversible::VersionReused {
        name: "add_avatar".into(),
        file: "0002_add_avatar.sql".into(),
    };
    assert!(
        matches!(&error, Error::Irreversible { version: 2, name, reason: r }
            if name == "add_phone" && **r == reason),
        "the applied one, for the reused version: {error:?}"
    );
    assert_eq!(
        error.to_string(),
        "cannot roll back migration 2 (add_phone): its version is now add_avatar in \
         `0002_add_avatar.sql`, whose down would not undo it; roll it back with the build or \
         folder that applied it; nothing was rolled back"
    );
    assert_eq!(tracking_rows(&conn, DEFAULT_TABLE), before);
    Ok(())
}
