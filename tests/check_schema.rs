//! Drift: `check_schema` compares a live database's schema with the schema
//! the migrations produce — embedded at build time by `embed_migrations!`,
//! or worked out when called for a set read at run time, one embedded with
//! `verify = false`, or one with Rust migrations.

mod common;

use common::{Database, Folder};
use migrate::sqlite::verify;
use migrate::{Error, Migrations, ObjectKind, SchemaDifference, embed_migrations};

const MIXED: Migrations = embed_migrations!("tests/fixtures/mixed_styles");
const UNVERIFIED: Migrations = embed_migrations!("tests/fixtures/mixed_styles", verify = false);
const WITH_RUST: Migrations = embed_migrations!("tests/fixtures/rust_and_directives");

#[test]
fn the_embedded_schema_is_what_the_folder_produces_at_run_time() {
    let mixed = MIXED;
    let embedded = mixed.embedded_schema().expect("verified at build time");
    let from_folder = Migrations::from_folder("tests/fixtures/mixed_styles").unwrap();

    assert_eq!(from_folder.embedded_schema(), None);
    assert_eq!(
        Some(embedded),
        verify(&from_folder).unwrap().schema.as_ref(),
        "the same schema, object by object"
    );
    assert_eq!(
        embedded.to_sql(),
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);\nCREATE TABLE posts (id INTEGER PRIMARY KEY);\n"
    );
    // Not embedded: opted out, or Rust code that could not run at build time.
    assert_eq!(UNVERIFIED.embedded_schema(), None);
    assert_eq!(WITH_RUST.embedded_schema(), None);
}

#[test]
fn an_up_to_date_database_has_no_drift_and_pending_migrations_show_as_missing()
-> Result<(), Box<dyn std::error::Error>> {
    let db = Database::new();
    let mut conn = db.open();

    MIXED.run_to(&mut conn, 1)?;
    assert_eq!(
        MIXED.check_schema(&mut conn)?,
        [SchemaDifference::Missing {
            kind: ObjectKind::Table,
            name: "posts".to_owned()
        }]
    );

    MIXED.run(&mut conn)?;
    assert_eq!(MIXED.check_schema(&mut conn)?, []);
    Ok(())
}

#[test]
fn hand_made_changes_are_drift_named_object_by_object() -> Result<(), Box<dyn std::error::Error>> {
    let db = Database::new();
    let mut conn = db.open();
    MIXED.run(&mut conn)?;
    conn.execute_batch(
        "CREATE INDEX users_id ON users (id);
         ALTER TABLE users DROP COLUMN email;
         ALTER TABLE users ADD COLUMN nick TEXT NOT NULL DEFAULT '';
         DROP TABLE posts;
         CREATE TABLE scratch (x);",
    )?;
    drop(conn);

    let drift: Vec<String> = MIXED
        .check_schema(&mut db.open())?
        .iter()
        .map(ToString::to_string)
        .collect();

    assert_eq!(
        drift,
        [
            "table `posts` is missing",
            "table `scratch` is not created by any migration",
            "index `users_id` is not created by any migration",
            "column `users.email` is missing",
            "column `users.nick` is not created by any migration",
        ]
    );
    Ok(())
}

#[test]
fn a_column_defined_differently_or_a_lost_constraint_is_drift()
-> Result<(), Box<dyn std::error::Error>> {
    let folder = Folder::new(&[(
        "0001_users.sql",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, age INTEGER NOT NULL CHECK (age >= 0));",
    )]);
    let migrations = folder.migrations();
    let db = Database::new();
    let conn = db.open();
    // Built by hand, without the tracking table: its schema alone is compared.
    conn.execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY, age TEXT);")?;
    drop(conn);

    let drift = migrations.check_schema(&mut db.open())?;

    // The column, and the `CHECK` it lost with its new definition.
    assert_eq!(
        drift,
        [
            SchemaDifference::ColumnChanged {
                table: "users".to_owned(),
                column: "age".to_owned(),
                expected: "INTEGER NOT NULL".to_owned(),
                actual: "TEXT".to_owned(),
            },
            SchemaDifference::Changed {
                kind: ObjectKind::Table,
                name: "users".to_owned(),
                expected: "check (age>=0)".to_owned(),
                actual: "(nothing)".to_owned(),
            }
        ]
    );

    let conn = db.open();
    conn.execute_batch(
        "DROP TABLE users; CREATE TABLE users (id INTEGER PRIMARY KEY, age INTEGER NOT NULL);",
    )?;
    drop(conn);
    assert_eq!(
        migrations
            .check_schema(&mut db.open())?
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["table `users` is defined differently: `(nothing)`, expected `check (age>=0)`"]
    );
    Ok(())
}

#[test]
fn an_unverified_or_rust_set_works_its_schema_out_when_asked()
-> Result<(), Box<dyn std::error::Error>> {
    let db = Database::new();
    let mut conn = db.open();
    UNVERIFIED.run(&mut conn)?;
    assert_eq!(UNVERIFIED.check_schema(&mut conn)?, []);

    // The Rust migration's code runs on the in-memory database too.
    let db = Database::new();
    let mut conn = db.open();
    WITH_RUST.run(&mut conn)?;
    assert_eq!(WITH_RUST.check_schema(&mut conn)?, []);
    conn.execute_batch("DROP INDEX accounts_by_name")?;
    assert_eq!(
        WITH_RUST.check_schema(&mut conn)?,
        [SchemaDifference::Missing {
            kind: ObjectKind::Index,
            name: "accounts_by_name".to_owned()
        }]
    );
    Ok(())
}

#[test]
fn another_tracking_table_is_left_out_too() -> Result<(), Box<dyn std::error::Error>> {
    let db = Database::new();
    let mut conn = db.open();
    let mixed = MIXED;
    let runner = mixed.runner().table("schema_versions");
    runner.run(&mut conn)?;

    assert_eq!(runner.check_schema(&mut conn)?, []);
    let unexpected: Vec<String> = MIXED
        .check_schema(&mut conn)?
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        unexpected,
        [
            "table `schema_versions` is not created by any migration",
            "table `schema_versions_events` is not created by any migration",
            "index `schema_versions_unfinished` is not created by any migration",
        ],
        "under the default name, the other tracking table is not the migrations'"
    );
    Ok(())
}

#[test]
fn a_set_that_does_not_verify_has_no_known_schema() {
    let folder = Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);",
        ),
        (
            "0002_broken.sql",
            "ALTER TABLE userz ADD COLUMN email TEXT;",
        ),
    ]);
    let db = Database::new();

    let error = folder
        .migrations()
        .check_schema(&mut db.open())
        .unwrap_err();

    assert!(
        matches!(&error, Error::SchemaUnknown { .. }),
        "expected SchemaUnknown, got {error:?}"
    );
    assert_eq!(
        error.to_string(),
        "the schema the migrations produce is unknown: 1 problem verifying the migrations on an empty in-memory SQLite database\n  \
         - migration 2 (broken) fails in `0002_broken.sql` at line 1 (`ALTER TABLE userz ADD COLUMN email TEXT;`): no such table: userz"
    );
}

#[test]
fn a_set_read_from_a_folder_with_a_rust_migration_has_no_known_schema() -> migrate::Result<()> {
    // Its code is not compiled into this program, and it may change the
    // schema: rather than report its changes as drift, refuse.
    let folder = Migrations::from_folder("tests/fixtures/rust_and_directives").unwrap();
    let db = Database::new();
    let mut conn = db.open();
    WITH_RUST.run(&mut conn)?;

    let verified = verify(&folder).unwrap_or_else(|error| panic!("{error}"));
    let error = folder.check_schema(&mut conn).unwrap_err();

    assert_eq!((verified.schema, verified.stopped), (None, None));
    assert_eq!(
        error.to_string(),
        "the schema the migrations produce is unknown: Rust migration 3 (`0003_seed_accounts.rs`) may change the schema, and its code is not compiled into this program: check the schema from the application that embeds the set"
    );
    Ok(())
}
