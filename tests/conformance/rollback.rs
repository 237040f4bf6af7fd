//! Reverting migrations: each down restores the exact schema before its up;
//! `rollback(n)` and `rollback_to(v)` pick the right range; a migration in
//! the range that cannot be reverted changes nothing; a failing down stops
//! the rollback.

use migrate::{Direction, Error, EventKind, Irreversible};

use super::support::{
    applied_versions, new_events, pending_versions, renumbered_after_a_merge, snapshot, versions,
};
use super::{Folder, Harness, Message};

/// Four reversible migrations whose downs drop a table with its index and
/// view, drop a column, and drop an index and a table.
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
            "0003_nickname.down.sql",
            "ALTER TABLE users DROP COLUMN nickname;",
        ),
        (
            "0004_tags.up.sql",
            "CREATE TABLE tags (name TEXT PRIMARY KEY);\n\
             CREATE INDEX users_nickname ON users (nickname);",
        ),
        (
            "0004_tags.down.sql",
            "DROP INDEX users_nickname;\nDROP TABLE tags;",
        ),
    ])
}

pub fn each_down_restores_the_exact_schema_before_its_up<H: Harness>() -> migrate::Result<()> {
    let migrations = reversible().migrations();
    let db = H::new_database();
    let mut conn = db.connect();

    let mut before_up = Vec::new();
    for migration in migrations.iter() {
        before_up.push(H::schema(&mut conn));
        migrations.run_to(&mut conn, migration.version())?;
        assert_ne!(
            &H::schema(&mut conn),
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
        assert_eq!(
            &H::schema(&mut conn),
            expected,
            "after the down of {version}"
        );
    }
    assert!(migrations.status(&mut conn)?.applied.is_empty());
    Ok(())
}

pub fn rollback_n_reverts_the_last_n_newest_first_and_a_run_reapplies_them<H: Harness>()
-> migrate::Result<()> {
    let migrations = reversible().migrations();
    let db = H::new_database();
    let mut conn = db.connect();
    migrations.run(&mut conn)?;
    let latest = H::schema(&mut conn);
    let events_before = migrations.history(&mut conn)?.len();

    let report = migrations.rollback(&mut conn, 2)?;

    let reverted: Vec<(u64, &str)> = report
        .rolled_back
        .iter()
        .map(|r| (r.version, r.name.as_str()))
        .collect();
    assert_eq!(reverted, [(4, "tags"), (3, "nickname")]);
    assert_eq!(applied_versions::<H>(&migrations, &mut conn), [1, 2]);
    let status = migrations.status(&mut conn)?;
    assert_eq!(status.current_version, Some(2));
    assert_eq!(pending_versions::<H>(&migrations, &mut conn), [3, 4]);
    assert_eq!(
        new_events::<H>(&migrations, &mut conn, events_before),
        [
            (EventKind::RolledBack, 4, Direction::Down),
            (EventKind::RolledBack, 3, Direction::Down)
        ]
    );

    let report = migrations.run(&mut conn)?;
    assert_eq!(versions(&report.applied), [3, 4]);
    assert_eq!(H::schema(&mut conn), latest);
    assert!(migrations.status(&mut conn)?.is_up_to_date());
    Ok(())
}

pub fn rollback_to_reverts_everything_above_the_version_and_zero_reverts_all<H: Harness>()
-> migrate::Result<()> {
    let migrations = reversible().migrations();
    let db = H::new_database();
    let mut conn = db.connect();
    migrations.run(&mut conn)?;

    let report = migrations.rollback_to(&mut conn, 1)?;
    let reverted: Vec<u64> = report.rolled_back.iter().map(|r| r.version).collect();
    assert_eq!(reverted, [4, 3, 2]);
    assert_eq!(applied_versions::<H>(&migrations, &mut conn), [1]);
    assert_eq!(pending_versions::<H>(&migrations, &mut conn), [2, 3, 4]);

    let report = migrations.rollback_to(&mut conn, 1)?;
    assert!(report.rolled_back.is_empty(), "nothing above 1");

    let report = migrations.rollback_to(&mut conn, 0)?;
    let reverted: Vec<u64> = report.rolled_back.iter().map(|r| r.version).collect();
    assert_eq!(reverted, [1]);
    assert!(
        H::schema(&mut conn).is_empty(),
        "{:?}",
        H::schema(&mut conn)
    );
    assert!(applied_versions::<H>(&migrations, &mut conn).is_empty());
    let status = migrations.status(&mut conn)?;
    assert_eq!(status.current_version, None);
    assert_eq!(pending_versions::<H>(&migrations, &mut conn), [1, 2, 3, 4]);

    let report = migrations.run(&mut conn)?;
    assert_eq!(report.applied.len(), 4);
    assert_eq!(applied_versions::<H>(&migrations, &mut conn), [1, 2, 3, 4]);
    Ok(())
}

pub fn rolling_back_more_than_applied_reverts_all_and_an_empty_database_stays_empty<H: Harness>()
-> migrate::Result<()> {
    let migrations = reversible().migrations();
    let db = H::new_database();
    let mut conn = db.connect();

    let report = migrations.rollback(&mut conn, 3)?;
    assert!(report.rolled_back.is_empty());
    assert!(H::is_empty(&mut conn));

    migrations.run_to(&mut conn, 2)?;
    let report = migrations.rollback(&mut conn, 10)?;
    let reverted: Vec<u64> = report.rolled_back.iter().map(|r| r.version).collect();
    assert_eq!(reverted, [2, 1]);
    assert!(H::schema(&mut conn).is_empty());
    assert!(applied_versions::<H>(&migrations, &mut conn).is_empty());
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
            "INSERT INTO users (id, email) VALUES (1, 'seed@example.com');",
        ),
        ("0003_tags.up.sql", "CREATE TABLE tags (name TEXT);"),
        ("0003_tags.down.sql", "DROP TABLE tags;"),
        ("0004_notes.up.sql", "CREATE TABLE notes (body TEXT);"),
        ("0004_notes.down.sql", "DROP TABLE notes;"),
    ])
}

pub fn a_migration_without_a_down_in_range_refuses_before_reverting_anything<H: Harness>()
-> migrate::Result<()> {
    for (second, fix) in [
        (
            "0002_seed.sql",
            "rename it to `0002_seed.up.sql` and add `0002_seed.down.sql`",
        ),
        ("0002_seed.up.sql", "add `0002_seed.down.sql`"),
    ] {
        let migrations = second_without_down(second).migrations();
        let db = H::new_database();
        let mut conn = db.connect();
        migrations.run(&mut conn)?;
        let before = snapshot::<H>(&migrations, &mut conn);

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
            assert_eq!(snapshot::<H>(&migrations, &mut conn), before);
        }

        // The range is what matters: 4 and 3 alone can be reverted.
        let report = migrations.rollback(&mut conn, 2)?;
        assert_eq!(report.rolled_back.len(), 2);
        assert_eq!(applied_versions::<H>(&migrations, &mut conn), [1, 2]);
    }
    Ok(())
}

pub fn a_migration_edited_since_it_was_applied_refuses_before_reverting_anything<H: Harness>()
-> migrate::Result<()> {
    let folder = reversible();
    let db = H::new_database();
    let mut conn = db.connect();
    let applied = folder.migrations();
    applied.run(&mut conn)?;
    let before = snapshot::<H>(&applied, &mut conn);

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
    assert_eq!(snapshot::<H>(&applied, &mut conn), before);
    Ok(())
}

pub fn a_migration_unknown_to_this_build_refuses_before_reverting_anything<H: Harness>()
-> migrate::Result<()> {
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
    let db = H::new_database();
    let mut conn = db.connect();
    let applied = folder.migrations();
    applied.run(&mut conn)?;
    let before = snapshot::<H>(&applied, &mut conn);
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
    assert_eq!(snapshot::<H>(&applied, &mut conn), before);
    Ok(())
}

pub fn a_failing_down_is_rolled_back_and_keeps_the_downs_before_it<H: Harness>()
-> migrate::Result<()> {
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
            "DROP TABLE tags;\nINSERT INTO nowhere VALUES (1);\n",
        ),
        ("0003_notes.up.sql", "CREATE TABLE notes (body TEXT);"),
        ("0003_notes.down.sql", "DROP TABLE notes;"),
    ]);
    let migrations = folder.migrations();
    let db = H::new_database();
    let mut conn = db.connect();
    migrations.run(&mut conn)?;
    H::execute(&mut conn, "INSERT INTO tags VALUES ('kept');");
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
    let message = H::message(Message::NoSuchTable("nowhere"));
    assert_eq!(
        error.to_string(),
        format!(
            "the down of migration 2 (tags) failed in `0002_tags.down.sql` at line 2 (`INSERT INTO nowhere VALUES (1);`): \
             {message}; it was rolled back and the migration stays applied"
        )
    );

    // 3 stays reverted; 2's first statement was rolled back; 1 was not tried.
    assert_eq!(H::objects(&mut conn), ["table tags", "table users"]);
    assert_eq!(H::count(&mut conn, "SELECT count(*) FROM tags"), 1);
    assert_eq!(applied_versions::<H>(&migrations, &mut conn), [1, 2]);
    assert_eq!(migrations.status(&mut conn)?.current_version, Some(2));

    assert_eq!(
        new_events::<H>(&migrations, &mut conn, events_before),
        [
            (EventKind::RolledBack, 3, Direction::Down),
            (EventKind::Failed, 2, Direction::Down)
        ]
    );
    let history = migrations.history(&mut conn)?;
    let detail = history.last().unwrap().detail.as_deref().unwrap_or("");
    assert!(detail.contains(&message), "{detail}");
    Ok(())
}

pub fn a_version_another_migration_took_is_rolled_back_by_the_build_that_applied_it<H: Harness>()
-> migrate::Result<()> {
    // The down of the migration now at version 2 would not undo what was
    // applied there.
    let (folder, db) = renumbered_after_a_merge::<H>()?;
    let migrations = folder.migrations();
    let mut conn = db.connect();
    let before = snapshot::<H>(&migrations, &mut conn);

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
    assert_eq!(snapshot::<H>(&migrations, &mut conn), before);
    Ok(())
}
