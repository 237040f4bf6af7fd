//! Applying migrations: what a run applies and records, that an up-to-date
//! database applies nothing, status before anything is applied, the
//! tracking table's name, and a connection inside a transaction.

use migrate::{DEFAULT_TABLE, Error};

use super::support::{all_of, is_rfc3339_utc_millis, recorded, versions};
use super::{Folder, Harness};

fn three() -> Folder {
    Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);",
        ),
        (
            "0002_posts.sql",
            "-- posts belong to users\nCREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id));\nCREATE INDEX posts_user ON posts (user_id);",
        ),
        (
            "0003_seed.sql",
            "INSERT INTO users (id, email) VALUES (1, 'a@example.com'), (2, 'b@example.com');",
        ),
    ])
}

pub fn applies_every_pending_migration_and_records_it<H: Harness>() -> migrate::Result<()> {
    let folder = three();
    let migrations = folder.migrations();
    let db = H::new_database();
    let mut conn = db.connect();

    let report = migrations.run(&mut conn)?;

    assert_eq!(versions(&report.applied), [1, 2, 3]);
    assert_eq!(report.applied[1].name, "posts");
    assert_eq!(
        H::objects(&mut conn),
        ["index posts_user", "table posts", "table users"]
    );
    assert_eq!(H::count(&mut conn, "SELECT count(*) FROM users"), 2);

    assert_eq!(recorded::<H>(&migrations, &mut conn), all_of(&migrations));
    let status = migrations.status(&mut conn)?;
    assert!(
        status.failed.is_empty() && status.dirty.is_empty(),
        "{status:?}"
    );

    // applied_at is UTC RFC 3339 with milliseconds, e.g. 2024-01-31T12:00:00.123Z
    let applied_at = &report.applied[0].applied_at;
    assert!(is_rfc3339_utc_millis(applied_at), "{applied_at}");
    Ok(())
}

pub fn a_second_run_from_a_new_connection_applies_nothing<H: Harness>() -> migrate::Result<()> {
    let folder = three();
    let migrations = folder.migrations();
    let db = H::new_database();
    migrations.run(&mut db.connect())?;

    let mut conn = db.connect();
    let report = migrations.run(&mut conn)?;

    assert!(report.applied.is_empty());
    assert_eq!(
        H::count(&mut conn, "SELECT count(*) FROM users"),
        2,
        "seed ran once"
    );
    let status = migrations.status(&mut conn)?;
    assert_eq!(status.current_version, Some(3));
    assert_eq!(status.applied.len(), 3);
    assert!(status.is_up_to_date());
    Ok(())
}

pub fn a_migration_added_later_is_applied_alone<H: Harness>() -> migrate::Result<()> {
    let folder = three();
    let db = H::new_database();
    folder.migrations().run(&mut db.connect())?;

    folder.write(
        "0004_email_index.sql",
        "CREATE UNIQUE INDEX users_email ON users (email);",
    );
    let report = folder.migrations().run(&mut db.connect())?;

    assert_eq!(versions(&report.applied), [4]);
    assert!(H::objects(&mut db.connect()).contains(&"index users_email".to_owned()));
    Ok(())
}

pub fn status_of_a_new_database_lists_everything_pending_and_writes_nothing<H: Harness>()
-> migrate::Result<()> {
    let migrations = three().migrations();
    let db = H::new_database();
    let mut conn = db.connect();

    let status = migrations.status(&mut conn)?;

    assert_eq!(status.current_version, None);
    let pending: Vec<(u64, &str)> = status
        .pending
        .iter()
        .map(|p| (p.version, p.name.as_str()))
        .collect();
    assert_eq!(pending, [(1, "users"), (2, "posts"), (3, "seed")]);
    assert!(status.applied.is_empty() && status.failed.is_empty() && status.problems.is_empty());
    assert!(H::is_empty(&mut conn));
    Ok(())
}

/// About the tracking table itself: where it is.
pub fn the_tracking_table_name_can_be_changed_and_is_checked<H: Harness>() -> migrate::Result<()> {
    let migrations = three().migrations();
    let db = H::new_database();
    let mut conn = db.connect();
    let runner = migrations.runner().table("schema_migrations");

    runner.run(&mut conn)?;

    assert_eq!(runner.status(&mut conn)?.applied.len(), 3);
    assert!(H::table_exists(&mut conn, "schema_migrations"));
    assert!(!H::table_exists(&mut conn, DEFAULT_TABLE));
    let default = migrations.status(&mut conn)?;
    assert!(
        default.applied.is_empty() && default.pending.len() == 3,
        "nothing recorded under the default name: {default:?}"
    );

    for bad in ["", "1abc", "x; DROP TABLE users", "a\"b", "naïve"] {
        let result = migrations.runner().table(bad).run(&mut conn);
        assert!(
            matches!(&result, Err(Error::InvalidTableName(name)) if name == bad),
            "{bad:?}: {result:?}"
        );
    }
    assert!(H::table_exists(&mut conn, "users"), "not dropped");
    Ok(())
}

pub fn refuses_a_connection_inside_a_transaction<H: Harness>() -> migrate::Result<()> {
    let migrations = three().migrations();
    let db = H::new_database();
    let mut conn = db.connect();
    H::execute(&mut conn, "BEGIN; CREATE TABLE mine (x INTEGER);");

    let result = migrations.run(&mut conn);

    assert!(matches!(result, Err(Error::TransactionOpen)), "{result:?}");
    H::execute(&mut conn, "COMMIT");
    assert_eq!(H::objects(&mut conn), ["table mine"], "nothing applied");
    assert!(!H::table_exists(&mut conn, DEFAULT_TABLE));
    Ok(())
}

/// The same once the tracking table exists, up to date or not: the
/// caller's transaction is left usable, its own writes kept.
pub fn refuses_a_connection_inside_a_transaction_once_applied<H: Harness>() -> migrate::Result<()> {
    let folder = three();
    let db = H::new_database();
    let mut conn = db.connect();
    folder.migrations().run_to(&mut conn, 2)?;

    for pending in [true, false] {
        if !pending {
            folder.migrations().run(&mut conn)?;
        }
        H::execute(
            &mut conn,
            "BEGIN; INSERT INTO users (id, email) VALUES (10, 'mine@example.com');",
        );
        let result = folder.migrations().run(&mut conn);
        assert!(matches!(result, Err(Error::TransactionOpen)), "{result:?}");
        H::execute(&mut conn, "COMMIT");
        assert_eq!(
            H::count(&mut conn, "SELECT count(*) FROM users WHERE id = 10"),
            1,
            "the caller's own write was kept (pending: {pending})"
        );
        H::execute(&mut conn, "DELETE FROM users WHERE id = 10");
    }
    Ok(())
}
