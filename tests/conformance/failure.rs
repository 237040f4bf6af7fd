//! A failing migration: rolled back completely with its tracking row, the
//! run stops, the error names version, file, line and statement with the
//! engine's message, and the failure is recorded for `status`.

use migrate::Error;

use super::support::versions;
use super::{Folder, Harness, Message};

fn folder_with_a_broken_second_migration() -> Folder {
    Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);",
        ),
        (
            "0002_accounts.sql",
            "CREATE TABLE accounts (id INTEGER PRIMARY KEY);\nINSERT INTO accounts VALUES (1);\n\nINSERT INTO nowhere VALUES (1);\n",
        ),
        (
            "0003_posts.sql",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY);",
        ),
    ])
}

pub fn a_failed_migration_is_rolled_back_and_stops_the_run<H: Harness>() -> migrate::Result<()> {
    let folder = folder_with_a_broken_second_migration();
    let migrations = folder.migrations();
    let db = H::new_database();
    let mut conn = db.connect();

    let error = migrations.run(&mut conn).unwrap_err();

    let Error::MigrationFailed {
        version,
        name,
        file,
        line,
        statement,
        error: cause,
        ..
    } = &error
    else {
        panic!("expected MigrationFailed, got {error:?}");
    };
    assert_eq!(
        (*version, name.as_str(), file.as_str()),
        (2, "accounts", "0002_accounts.sql")
    );
    assert_eq!(*line, Some(4));
    assert_eq!(
        statement.as_deref(),
        Some("INSERT INTO nowhere VALUES (1);")
    );
    let message = H::message(Message::NoSuchTable("nowhere"));
    assert_eq!(cause.to_string(), message);
    assert_eq!(
        error.to_string(),
        format!(
            "migration 2 (accounts) failed in `0002_accounts.sql` at line 4 (`INSERT INTO nowhere VALUES (1);`): \
             {message}; it was rolled back and no later migration ran"
        )
    );

    // Migration 1 stays; nothing of 2 (its first statements included) or 3.
    assert_eq!(H::objects(&mut conn), ["table users"]);
    let status = migrations.status(&mut conn)?;
    assert_eq!(versions(&status.applied), [1]);
    let failed: Vec<u64> = status.failed.iter().map(|f| f.version).collect();
    assert_eq!(failed, [2], "2 is recorded as failed");
    assert!(status.dirty.is_empty(), "{:?}", status.dirty);
    Ok(())
}

pub fn status_shows_the_failure_until_a_fixed_build_applies_it<H: Harness>() -> migrate::Result<()>
{
    let folder = folder_with_a_broken_second_migration();
    let db = H::new_database();
    let _ = folder.migrations().run(&mut db.connect());

    let mut conn = db.connect();
    let status = folder.migrations().status(&mut conn)?;
    assert_eq!(status.current_version, Some(1));
    assert_eq!(status.failed.len(), 1);
    assert_eq!(status.failed[0].version, 2);
    let message = H::message(Message::NoSuchTable("nowhere"));
    assert!(
        status.failed[0].error.contains(&message),
        "{}",
        status.failed[0].error
    );
    let pending: Vec<u64> = status.pending.iter().map(|p| p.version).collect();
    assert_eq!(pending, [2, 3]);

    folder.write(
        "0002_accounts.sql",
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY);",
    );
    let report = folder.migrations().run(&mut conn)?;

    assert_eq!(versions(&report.applied), [2, 3]);
    let status = folder.migrations().status(&mut conn)?;
    assert!(status.failed.is_empty(), "{:?}", status.failed);
    assert!(status.is_up_to_date());
    assert_eq!(H::count(&mut conn, "SELECT count(*) FROM accounts"), 0);
    Ok(())
}

pub fn a_syntax_error_names_its_line<H: Harness>() -> migrate::Result<()> {
    let folder = Folder::new(&[(
        "0001_typo.sql",
        "CREATE TABLE a (x INTEGER);\n/* the next one is wrong */\nCREATE TABEL b (y INTEGER);\n",
    )]);
    let db = H::new_database();
    let mut conn = db.connect();

    let error = folder.migrations().run(&mut conn).unwrap_err();

    let message = H::message(Message::SyntaxError { near: "TABEL" });
    assert!(
        matches!(&error, Error::MigrationFailed { line: Some(3), .. })
            && error.to_string().contains(&message),
        "{error:?}"
    );
    assert!(H::objects(&mut conn).is_empty(), "table a rolled back too");
    Ok(())
}

pub fn a_constraint_failure_in_a_data_migration_keeps_the_earlier_data<H: Harness>()
-> migrate::Result<()> {
    let folder = Folder::new(&[
        ("0001_users.sql", "CREATE TABLE users (email TEXT UNIQUE);"),
        (
            "0002_seed.sql",
            "INSERT INTO users VALUES ('a@example.com');",
        ),
        (
            "0003_dupe.sql",
            "UPDATE users SET email = lower(email);\nINSERT INTO users VALUES ('a@example.com');",
        ),
    ]);
    let db = H::new_database();
    let mut conn = db.connect();

    let error = folder.migrations().run(&mut conn).unwrap_err();

    let message = H::message(Message::UniqueViolation {
        table: "users",
        column: "email",
    });
    assert!(
        matches!(&error, Error::MigrationFailed { version: 3, .. })
            && error.to_string().contains(&message),
        "{error:?}"
    );
    assert_eq!(H::count(&mut conn, "SELECT count(*) FROM users"), 1);
    assert_eq!(
        folder.migrations().status(&mut conn)?.current_version,
        Some(2)
    );
    Ok(())
}
