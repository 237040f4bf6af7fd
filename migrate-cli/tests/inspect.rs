//! `status`, `history` and `schema`: what they print about a database, in
//! text (snapshots) and in JSON.

mod common;

use common::{
    Project, REVERSIBLE, assert_contains, mixed_states, renumbered_after_a_merge, snapshot,
};
use serde_json::Value;

fn json(project: &Project, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.push("--json");
    serde_json::from_str(&project.run(&args, 0).stdout).expect("JSON output")
}

#[test]
fn status_shows_every_version_and_every_problem_in_full() {
    let project = mixed_states();
    let output = project.run(&["status"], 0);
    snapshot("status", &output.stdout);
    assert!(output.stderr.is_empty());
}

#[test]
fn status_in_json_lists_applied_pending_failed_divergent_and_missing() {
    let project = mixed_states();
    // 9 is applied but no file has it: the database is newer than the folder.
    project
        .open()
        .execute_batch(
            "INSERT INTO migrate_schema_history (version, name, checksum, running_checksum, applied_at, duration_ms, state)
             SELECT 9, 'from_the_future', checksum, running_checksum, applied_at, 0, 'applied'
             FROM migrate_schema_history WHERE version = 2",
        )
        .unwrap();
    let status = json(&project, &["status"]);
    assert_eq!(status["database"], "app.db");
    assert_eq!(status["current_version"], 9);
    assert_eq!(status["up_to_date"], false);
    let versions = |key: &str| -> Vec<u64> {
        status[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["version"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(versions("applied"), [1, 2, 9]);
    assert_eq!(versions("pending"), [3, 4]);
    assert_eq!(versions("failed"), [3]);
    assert_eq!(versions("divergent"), [2]);
    assert_eq!(versions("missing"), [9]);
    assert_eq!(versions("out_of_order"), [3, 4]);
    assert_eq!(versions("dirty"), Vec::<u64>::new());
    let error = status["failed"][0]["error"].as_str().unwrap();
    assert!(error.contains("no such table: main.nowhere"), "{error}");
    assert_eq!(
        status["applied"][0]["applied_at"],
        "2024-01-31T12:00:00.000Z"
    );
    assert_eq!(status["problems"].as_array().unwrap().len(), 4);
    // The binary reads its migrations from a folder, and says so where the
    // library speaks of "this build".
    assert!(
        status["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p
                == "migration 9 (from_the_future) is applied but unknown to the folder: the database is newer than the folder"),
        "{}",
        status["problems"]
    );
    let text = project.run(&["status"], 0).stdout;
    assert_contains(&text, "      9  from_the_future  missing");
    assert_contains(
        &text,
        "- migration 9 (from_the_future) is applied but unknown to the folder: the database is newer than the folder\n",
    );
    let down = project.run(&["down"], 3);
    assert_eq!(
        down.stderr,
        "error: rolling back migrations of `app.db`: cannot roll back migration 9 (from_the_future): \
         it is applied but unknown to the folder, so its down is unknown; nothing was rolled back\n"
    );
}

#[test]
fn status_and_up_align_wide_characters_by_the_columns_they_take() {
    let project = Project::new(&[
        ("0001_用户表.sql", "CREATE TABLE users (id INTEGER);\n"),
        (
            "0002_🚀_launch.sql",
            "CREATE TABLE launches (id INTEGER);\n",
        ),
        ("0003_cafe\u{301}.sql", "CREATE TABLE cafes (id INTEGER);\n"),
        ("0004_plain.sql", "CREATE TABLE plain (id INTEGER);\n"),
    ]);
    let up = project.run(&["up", "--to", "3"], 0);
    snapshot("up-wide-names", &common::without_durations(&up.stdout));
    project.fix_times();
    let status = project.run(&["status"], 0);
    snapshot("status-wide-names", &status.stdout);
}

#[test]
fn status_shows_a_version_a_different_migration_took_as_reused_not_divergent() {
    let project = renumbered_after_a_merge();
    let output = project.run(&["status"], 0);
    snapshot("status-version-reused", &output.stdout);

    let status = json(&project, &["status"]);
    assert_eq!(
        status["version_reused"],
        serde_json::json!([{
            "version": 2, "applied_name": "add_phone", "name": "add_avatar",
            "file": "0002_add_avatar.sql",
            "renumbered_to": { "version": 3, "file": "0003_add_phone.sql" },
        }])
    );
    assert_eq!(status["divergent"], serde_json::json!([]));
    assert_eq!(status["up_to_date"], false);
}

#[test]
fn status_of_a_new_database_has_everything_pending() {
    let project = Project::new(REVERSIBLE);
    project.open(); // an empty database file
    let status = json(&project, &["status"]);
    assert_eq!(status["current_version"], Value::Null);
    assert_eq!(status["pending"].as_array().unwrap().len(), 3);
    let output = project.run(&["status"], 0);
    assert_contains(&output.stdout, "current   none applied\n");
}

#[test]
fn history_shows_every_event_with_time_and_duration() {
    let project = Project::new(REVERSIBLE);
    project.open();
    assert_eq!(
        project.run(&["history"], 0).stdout,
        "no history in `app.db`: nothing was applied yet\n"
    );
    project.run(&["up"], 0);
    project.run(&["down"], 0);
    project.write("0003_posts_by_user.down.sql", "DROP INDEX nowhere;\n");
    project.run(&["up"], 0);
    project.run(&["down"], 1);
    project.fix_times();
    snapshot("history", &project.run(&["history"], 0).stdout);

    let history = json(&project, &["history"]);
    let events: Vec<(String, u64)> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap().to_owned(),
                e["version"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("applied", 1),
        ("applied", 2),
        ("applied", 3),
        ("rolled_back", 3),
        ("applied", 3),
        ("failed", 3),
    ];
    assert_eq!(events, expected.map(|(e, v)| (e.to_owned(), v)));
    assert_eq!(history["events"][5]["direction"], "down");
    assert_eq!(history["events"][0]["duration_ms"], 3);
    assert_contains(
        history["events"][5]["detail"].as_str().unwrap(),
        "no such index: nowhere",
    );
}

#[test]
fn schema_prints_sql_that_rebuilds_the_schema_without_the_tracking_tables() {
    let project = Project::new(REVERSIBLE);
    project.run(&["up"], 0);
    project
        .open()
        .execute_batch("CREATE VIEW named AS SELECT name FROM users;")
        .unwrap();
    let schema = project.run(&["schema"], 0).stdout;
    assert_eq!(
        schema,
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);\n\
         CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));\n\
         CREATE INDEX posts_by_user ON posts (user_id);\n\
         CREATE VIEW named AS SELECT name FROM users;\n"
    );
    // Replayed on a new database, it gives the same objects.
    let copy = rusqlite::Connection::open_in_memory().unwrap();
    copy.execute_batch(&schema).unwrap();
    let count: i64 = copy
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 4);

    let with_tracking = project.run(&["schema", "--include-tracking"], 0).stdout;
    assert!(
        with_tracking.contains("CREATE TABLE \"migrate_schema_history\" ("),
        "{with_tracking}"
    );
    assert!(
        with_tracking.contains("CREATE TABLE \"migrate_schema_history_events\" ("),
        "{with_tracking}"
    );

    // An empty database says so, in a comment that replays as nothing.
    let empty = Project::new(REVERSIBLE);
    empty.run(&["baseline", "1"], 0);
    let schema = empty.run(&["schema"], 0).stdout;
    assert_eq!(
        schema,
        "-- the database `app.db` has no schema objects (besides the tracking tables)\n"
    );
    rusqlite::Connection::open_in_memory()
        .unwrap()
        .execute_batch(&schema)
        .unwrap();
    let objects = json(&project, &["schema"]);
    assert_eq!(objects["objects"][2]["type"], "index");
    assert_eq!(objects["objects"][2]["name"], "posts_by_user");
    assert_eq!(objects["objects"][2]["table"], "posts");
}

#[test]
fn table_names_the_tracking_table_for_every_command() {
    let project = Project::new(REVERSIBLE);
    project.run(&["--table", "schema_migrations", "up", "--to", "2"], 0);
    assert_eq!(
        project.tracking("schema_migrations"),
        [(1, "applied".into()), (2, "applied".into())]
    );
    let status = json(&project, &["--table", "schema_migrations", "status"]);
    assert_eq!(status["current_version"], 2);
    let history = json(&project, &["history", "--table", "schema_migrations"]);
    assert_eq!(history["events"].as_array().unwrap().len(), 2);
    let schema = project
        .run(&["schema", "--table", "schema_migrations"], 0)
        .stdout;
    assert!(!schema.contains("schema_migrations"), "{schema}");

    let output = project.run(&["--table", "bad-name", "status"], 1);
    assert_contains(
        &output.stderr,
        "`bad-name` is not a valid tracking table name",
    );
}

#[test]
fn schema_check_lists_drift_and_exits_1_until_the_database_matches() {
    let project = Project::new(REVERSIBLE);
    project.run(&["up"], 0);
    let in_sync = project.run(&["schema", "--check"], 0);
    assert_eq!(
        in_sync.stdout,
        "in sync: the schema of `app.db` is what the migrations produce\n"
    );

    project
        .open()
        .execute_batch(
            "DROP INDEX posts_by_user; ALTER TABLE users ADD COLUMN nick TEXT; CREATE TABLE scratch (x);",
        )
        .unwrap();
    let drift = project.run(&["schema", "--check"], 1);
    assert_eq!(
        drift.stdout,
        "drift: index `posts_by_user` is missing\n\
         drift: table `scratch` is not created by any migration\n\
         drift: column `users.nick` is not created by any migration\n"
    );
    assert_contains(
        &drift.stderr,
        "the schema of `app.db` has drifted from what the migrations produce: 3 differences",
    );
    let report: Value =
        serde_json::from_str(&project.run(&["schema", "--check", "--json"], 1).stdout)
            .expect("JSON output");
    assert_eq!(report["in_sync"], false);
    assert_eq!(report["drift"][0], "index `posts_by_user` is missing");
}

#[test]
fn schema_check_of_a_folder_with_a_rust_migration_refuses_rather_than_guess() {
    let project = Project::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
        ),
        (
            "0002_nick.rs",
            "pub fn up(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {\n    tx.execute_batch(\"ALTER TABLE users ADD COLUMN nick TEXT\")\n}\n",
        ),
    ]);
    project.run(&["up", "--to", "1"], 0);
    project
        .open()
        .execute_batch("ALTER TABLE users ADD COLUMN nick TEXT")
        .unwrap();

    let output = project.run(&["schema", "--check"], 1);

    assert_eq!(output.stdout, "");
    assert_contains(
        &output.stderr,
        "Rust migration 2 (`0002_nick.rs`) may change the schema, and its code is not compiled into this program",
    );
}

#[test]
fn schema_puts_tables_first_so_that_a_view_made_before_its_table_replays() {
    let project = Project::new(REVERSIBLE);
    project
        .open()
        .execute_batch("CREATE VIEW named AS SELECT name FROM users;")
        .unwrap();
    project.run(&["up"], 0);

    let schema = project.run(&["schema"], 0).stdout;

    assert_eq!(
        schema,
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);\n\
         CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));\n\
         CREATE INDEX posts_by_user ON posts (user_id);\n\
         CREATE VIEW named AS SELECT name FROM users;\n"
    );
    let with_tracking = project.run(&["schema", "--include-tracking"], 0).stdout;
    let creates: Vec<&str> = with_tracking
        .lines()
        .filter_map(|line| line.strip_prefix("CREATE "))
        .map(|rest| rest.split(" (").next().unwrap_or(rest))
        .collect();
    assert_eq!(
        creates,
        [
            "TABLE \"migrate_schema_history\"",
            "TABLE \"migrate_schema_history_events\"",
            "TABLE users",
            "TABLE posts",
            "INDEX \"migrate_schema_history_unfinished\" ON \"migrate_schema_history\"",
            "INDEX posts_by_user ON posts",
            "VIEW named AS SELECT name FROM users;",
        ]
    );
}
