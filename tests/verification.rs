//! Verification of a tracking table SQLite lets hold what no other engine's
//! could: a value of another type than its column's. Verification on any
//! engine (divergent, missing, reused, out of order, running checksums) is in
//! the conformance suite (`tests/conformance/verification.rs`).

mod common;

use common::{Database, Folder};
use migrate::{DEFAULT_TABLE, Error};

fn two() -> Folder {
    Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
        ),
        (
            "0002_posts.sql",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY);\n",
        ),
    ])
}

/// `status` reads every row, so it names a malformed one below the latest.
#[test]
fn text_in_a_duration_is_a_malformed_row_that_status_names() -> migrate::Result<()> {
    let folder = two();
    let db = Database::new();
    folder.migrations().run(&mut db.open())?;
    let conn = db.open();
    conn.execute(
        &format!("UPDATE {DEFAULT_TABLE} SET duration_ms = 'slow' WHERE version = 1"),
        [],
    )
    .unwrap();
    let error = folder.migrations().status(&mut db.open()).unwrap_err();
    assert!(
        matches!(
            &error,
            Error::MalformedRow {
                version: Some(1),
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        error.to_string().starts_with(
            "the tracking table `migrate_schema_history` has a malformed row for version 1"
        ),
        "{error}"
    );
    Ok(())
}
