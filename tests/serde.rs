//! The feature `serde`: the reports, the problems, checksums and the schema
//! types as JSON in the shapes their docs give (durations in whole
//! milliseconds under `duration_ms`, checksums as `sha256:<hex>`, enums as
//! `snake_case` words, a variant's name under `kind`), and the plain data
//! read back to what was serialized.

// serde_json comes with the `cli` feature (see the root Cargo.toml).
#![cfg(all(feature = "serde", feature = "cli"))]

mod common;

use std::fmt::Debug;

use common::{Database, Folder};
use migrate::{
    AppliedMigration, Checksum, Direction, DryRunReport, Error, Event, EventKind,
    ForeignKeyViolation, ObjectKind, Problem, RedoReport, RepairReport, Report, RollbackReport,
    Schema, SchemaDifference,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Two reversible migrations.
fn reversible() -> Folder {
    Folder::new(&[
        (
            "0001_users.up.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);",
        ),
        ("0001_users.down.sql", "DROP TABLE users;"),
        (
            "0002_posts.up.sql",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT);",
        ),
        ("0002_posts.down.sql", "DROP TABLE posts;"),
    ])
}

fn to_json(value: &impl Serialize) -> Value {
    serde_json::to_value(value).expect("serializes")
}

/// Serializes `value`, reads it back, and checks that nothing was lost.
fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: &T) -> Value {
    let json = to_json(value);
    let back: T = serde_json::from_value(json.clone()).unwrap_or_else(|e| panic!("{e}: {json:#}"));
    assert_eq!(&back, value, "{json:#}");
    json
}

/// The keys of a JSON object, sorted.
fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

#[test]
fn a_run_serializes_durations_in_whole_milliseconds_and_checksums_as_text() {
    let migrations = reversible().migrations();
    let mut conn = rusqlite::Connection::open_in_memory().unwrap();
    let report: Report = migrations.run(&mut conn).unwrap();

    let json = round_trip(&report);
    assert_eq!(keys(&json), ["applied"]);
    let first: &AppliedMigration = &report.applied[0];
    assert_eq!(
        json["applied"][0],
        json!({
            "version": 1,
            "name": "users",
            "checksum": first.checksum.to_string(),
            "applied_at": first.applied_at,
            "duration_ms": first.duration.as_millis() as u64,
        })
    );
    assert!(
        json["applied"][0]["checksum"]
            .as_str()
            .is_some_and(|c| c.starts_with("sha256:") && c.len() == 7 + 64)
    );

    let status = migrations.status(&mut conn).unwrap();
    let json = round_trip(&status);
    assert_eq!(
        keys(&json),
        [
            "applied",
            "current_version",
            "dirty",
            "failed",
            "pending",
            "problems"
        ]
    );
    assert_eq!(json["current_version"], 2);
    assert_eq!(json["applied"][1]["name"], "posts");
}

#[test]
fn a_pending_failed_and_dirty_migration_serialize_in_the_status() {
    let folder = Folder::new(&[
        ("0001_users.sql", "CREATE TABLE users (id INTEGER);"),
        (
            "0002_split.sql",
            "-- migrate:no-transaction\nCREATE TABLE half (x);\nINSERT INTO nowhere VALUES (1);",
        ),
        ("0003_tags.sql", "CREATE TABLE tags (name TEXT);"),
    ]);
    let db = Database::new();
    let mut conn = db.open();
    let error = folder.migrations().run(&mut conn).unwrap_err();
    assert!(
        matches!(error, Error::MigrationFailed { dirty: true, .. }),
        "{error:?}"
    );
    let status = folder.migrations().status(&mut conn).unwrap();
    let json = round_trip(&status);
    assert_eq!(
        json["dirty"],
        json!([{
            "version": 2,
            "name": "split",
            "direction": "up",
            "started_at": status.dirty[0].started_at,
            "error": error.to_string(),
        }])
    );
    assert_eq!(
        json["pending"][1],
        json!({ "version": 3, "name": "tags", "file": "0003_tags.sql" })
    );

    // A failed attempt, rolled back and recorded.
    let folder = Folder::new(&[
        ("0001_users.sql", "CREATE TABLE users (id INTEGER);"),
        ("0002_broken.sql", "INSERT INTO nowhere VALUES (1);"),
    ]);
    let mut conn = rusqlite::Connection::open_in_memory().unwrap();
    let migrations = folder.migrations();
    let error = migrations.run(&mut conn).unwrap_err();
    let status = migrations.status(&mut conn).unwrap();
    let json = round_trip(&status);
    let failed = &status.failed[0];
    assert_eq!(
        json["failed"],
        json!([{
            "version": 2,
            "name": "broken",
            "checksum": failed.checksum.to_string(),
            "failed_at": failed.failed_at,
            "error": error.to_string(),
        }])
    );
}

#[test]
fn problems_are_tagged_by_kind_with_their_documented_fields() {
    // Applied: users and add_phone. Then add_phone is renumbered to 3 (the
    // same content), add_avatar takes 2, users is edited, and 9 is applied
    // but unknown.
    let before = Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);",
        ),
        (
            "0002_add_phone.sql",
            "ALTER TABLE users ADD COLUMN phone TEXT;",
        ),
    ]);
    let mut conn = rusqlite::Connection::open_in_memory().unwrap();
    let applied = before.migrations().run(&mut conn).unwrap().applied;
    conn.execute_batch(
        "INSERT INTO migrate_schema_history (version, name, checksum, running_checksum, applied_at, duration_ms, state)
         SELECT 9, 'from_the_future', checksum, running_checksum, applied_at, 0, 'applied'
         FROM migrate_schema_history WHERE version = 2",
    )
    .unwrap();
    let after = Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);",
        ),
        (
            "0002_add_avatar.sql",
            "ALTER TABLE users ADD COLUMN avatar TEXT;",
        ),
        (
            "0003_add_phone.sql",
            "ALTER TABLE users ADD COLUMN phone TEXT;",
        ),
    ]);
    let migrations = after.migrations();
    let status = migrations.status(&mut conn).unwrap();
    let json = round_trip(&status);

    let users = migrations.get(1).unwrap();
    let avatar = migrations.get(2).unwrap();
    assert_eq!(
        json["problems"],
        json!([
            {
                "kind": "divergent",
                "version": 1,
                "name": "users",
                "file": "0001_users.sql",
                "applied_checksum": applied[0].checksum.to_string(),
                "checksum": users.checksum().to_string(),
            },
            {
                "kind": "version_reused",
                "version": 2,
                "applied_name": "add_phone",
                "name": "add_avatar",
                "file": "0002_add_avatar.sql",
                "renumbered_to": { "version": 3, "file": "0003_add_phone.sql" },
            },
            { "kind": "missing", "version": 9, "name": "from_the_future" },
            {
                "kind": "out_of_order",
                "version": 3,
                "name": "add_phone",
                "file": "0003_add_phone.sql",
                "latest_applied": 9,
            },
        ]),
        "{:#?}",
        status.problems
    );
    assert_ne!(
        avatar.checksum(),
        applied[1].checksum,
        "a reused version, not a renamed file"
    );

    // Without a migration of the applied name, `renumbered_to` is null.
    let gone = Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);",
        ),
        (
            "0002_add_avatar.sql",
            "ALTER TABLE users ADD COLUMN avatar TEXT;",
        ),
    ]);
    let status = gone.migrations().status(&mut conn).unwrap();
    let reused: Vec<&Problem> = status
        .problems
        .iter()
        .filter(|p| matches!(p, Problem::VersionReused { .. }))
        .collect();
    assert_eq!(round_trip(reused[0])["renumbered_to"], Value::Null);
}

#[test]
fn a_dry_run_serializes_each_step_with_its_outcome_beside_it() {
    let folder = Folder::new(&[
        ("0001_users.sql", "CREATE TABLE users (id INTEGER);"),
        (
            "0002_outside.sql",
            "-- migrate:no-transaction\nCREATE TABLE outside (x);",
        ),
        ("0003_broken.sql", "INSERT INTO nowhere VALUES (1);"),
    ]);
    let db = Database::new();
    let mut conn = db.open();
    let report: DryRunReport = folder.migrations().runner().dry_run(&mut conn).unwrap();
    let (_, error) = report.failure().expect("a real run would fail");
    let error = error.to_string();
    let json = to_json(&report);
    let migrate::DryRunOutcome::Ok(duration) = report.steps[0].outcome else {
        panic!("{:?}", report.steps[0]);
    };
    assert_eq!(
        json,
        json!({ "steps": [
            {
                "version": 1, "name": "users", "file": "0001_users.sql",
                "outcome": "ok", "duration_ms": duration.as_millis() as u64, "error": null,
            },
            {
                "version": 2, "name": "outside", "file": "0002_outside.sql",
                "outcome": "skipped_no_transaction", "duration_ms": null, "error": null,
            },
            {
                "version": 3, "name": "broken", "file": "0003_broken.sql",
                "outcome": "failed", "duration_ms": null, "error": error,
            },
        ]})
    );
}

#[test]
fn rollback_redo_repair_and_history_read_back_to_what_was_serialized() {
    let folder = reversible();
    let db = Database::new();
    let mut conn = db.open();
    let migrations = folder.migrations();
    migrations.run(&mut conn).unwrap();

    let redo: RedoReport = migrations.runner().redo(&mut conn).unwrap().unwrap();
    let json = round_trip(&redo);
    assert_eq!(keys(&json), ["applied", "rolled_back"]);
    assert_eq!(
        json["rolled_back"],
        json!({
            "version": 2,
            "name": "posts",
            "duration_ms": redo.rolled_back.duration.as_millis() as u64,
        })
    );

    let rollback: RollbackReport = migrations.rollback(&mut conn, 1).unwrap();
    assert_eq!(round_trip(&rollback)["rolled_back"][0]["version"], 2);

    folder.write(
        "0001_users.up.sql",
        "-- edited\nCREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);",
    );
    let edited = folder.migrations();
    let repair: RepairReport = edited.runner().repair(&mut conn).unwrap();
    let json = round_trip(&repair);
    assert_eq!(
        json,
        json!({ "repairs": [{
            "version": 1,
            "name": "users",
            "direction": "up",
            "action": {
                "kind": "accepted_checksum",
                "previous": migrations.get(1).unwrap().checksum().to_string(),
                "current": edited.get(1).unwrap().checksum().to_string(),
            },
        }]})
    );

    let history: Vec<Event> = edited.history(&mut conn).unwrap();
    let json = round_trip(&history);
    let kinds: Vec<&str> = history.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "applied",
            "applied",
            "rolled_back",
            "applied",
            "rolled_back",
            "repaired"
        ]
    );
    assert_eq!(
        keys(&json[0]),
        [
            "at",
            "checksum",
            "detail",
            "direction",
            "duration_ms",
            "event",
            "id",
            "name",
            "version"
        ]
    );
    assert_eq!(json[2]["event"], "rolled_back");
    assert_eq!(json[2]["direction"], "down");
    assert_eq!(
        json[2]["duration_ms"],
        history[2].duration.unwrap().as_millis() as u64
    );
    assert_eq!(json[5]["duration_ms"], Value::Null);
    assert_eq!(json[5]["detail"], history[5].detail.as_deref().unwrap());
}

#[test]
fn checksums_serialize_as_their_text_and_read_back_only_from_it() {
    let checksum = Checksum::of_text("CREATE TABLE t (id INTEGER);\n");
    let json = round_trip(&checksum);
    assert_eq!(json, Value::String(checksum.to_string()));
    for bad in [json!("md5:abc"), json!("sha256:xyz"), json!(42)] {
        assert!(
            serde_json::from_value::<Checksum>(bad.clone()).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn fieldless_enums_serialize_as_their_snake_case_words() {
    assert_eq!(round_trip(&Direction::Down), "down");
    assert_eq!(round_trip(&EventKind::RolledBack), "rolled_back");
    assert_eq!(round_trip(&ObjectKind::Index), "index");
    // PostgreSQL's kinds: `as_str`'s words, as SQLite's.
    for kind in [
        ObjectKind::Table,
        ObjectKind::Constraint,
        ObjectKind::Function,
        ObjectKind::Sequence,
        ObjectKind::Type,
    ] {
        assert_eq!(round_trip(&kind), kind.as_str());
    }
    for kind in [
        EventKind::Applied,
        EventKind::RolledBack,
        EventKind::Failed,
        EventKind::Baselined,
        EventKind::Repaired,
    ] {
        assert_eq!(to_json(&kind), kind.as_str());
    }
    assert!(serde_json::from_value::<Direction>(json!("sideways")).is_err());
}

#[test]
fn a_foreign_key_violation_reads_and_writes_its_documented_shape() {
    let shape = json!({ "table": "books", "rowid": 3, "parent": "authors", "foreign_key": 0 });
    let violation: ForeignKeyViolation = serde_json::from_value(shape.clone()).unwrap();
    assert_eq!(
        violation.to_string(),
        "row 3 of `books` refers to a missing row of `authors`"
    );
    assert_eq!(round_trip(&violation), shape);
}

#[test]
fn the_schema_and_its_drift_serialize_tagged_by_kind() {
    let migrations = reversible().migrations();
    let mut conn = rusqlite::Connection::open_in_memory().unwrap();
    migrations.run(&mut conn).unwrap();
    conn.execute_batch(
        "DROP TABLE posts; ALTER TABLE users ADD COLUMN nick TEXT; CREATE INDEX users_name ON users (name);",
    )
    .unwrap();

    let schema: Schema = migrations.runner().schema(&mut conn).unwrap();
    let objects: Vec<Value> = schema.objects().iter().map(round_trip).collect();
    assert_eq!(objects.len(), 2, "{objects:#?}");
    assert_eq!(
        objects[1],
        json!({
            "type": "index",
            "name": "users_name",
            "table": "users",
            "sql": "CREATE INDEX users_name ON users (name)",
        })
    );

    let drift: Vec<SchemaDifference> = migrations.runner().check_schema(&mut conn).unwrap();
    let json = round_trip(&drift);
    let described: Vec<String> = drift.iter().map(ToString::to_string).collect();
    assert_eq!(
        json,
        json!([
            { "kind": "missing", "type": "table", "name": "posts" },
            { "kind": "unexpected", "type": "index", "name": "users_name" },
            { "kind": "column_unexpected", "table": "users", "column": "nick" },
        ]),
        "{described:?}"
    );
}
