//! The JSON of every command's `--json` report and of the `--log-file`
//! lines, byte for byte (snapshots in `tests/snapshots/json-*.txt`), so that
//! a change of how they are built cannot change what scripts read. Times
//! and durations, which vary between runs, are replaced by `<time>` and `N`.

mod common;

use std::fs;

use common::{Project, REVERSIBLE, mixed_states, renumbered_after_a_merge, snapshot};

/// `$ migrate <args> (exit <code>)`, then what it printed on standard
/// output, times and durations replaced.
fn report(project: &Project, args: &[&str], code: i32) -> String {
    let output = project.run(args, code);
    format!(
        "$ migrate {} (exit {code})\n{}\n",
        args.join(" "),
        without_times(&output.stdout)
    )
}

/// `text` with every RFC 3339 time with milliseconds
/// (`2024-01-31T12:00:00.123Z`) as `<time>`, and every number after a
/// `"duration_ms":` key as `N`; everything else, layout included, as it is.
fn without_times(text: &str) -> String {
    const TIME: &[u8; 24] = b"dddd-dd-ddTdd:dd:dd.dddZ";
    const DURATION: &str = "\"duration_ms\":";
    let bytes = text.as_bytes();
    let mut result = String::new();
    let mut i = 0;
    while i < bytes.len() {
        let is_time = bytes.len() - i >= TIME.len()
            && TIME
                .iter()
                .zip(&bytes[i..])
                .all(|(pattern, byte)| match pattern {
                    b'd' => byte.is_ascii_digit(),
                    other => other == byte,
                });
        if is_time {
            result.push_str("<time>");
            i += TIME.len();
        } else if text[i..].starts_with(DURATION) {
            result.push_str(DURATION);
            i += DURATION.len();
            while bytes.get(i) == Some(&b' ') {
                result.push(' ');
                i += 1;
            }
            let digits = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
            if digits > 0 {
                result.push('N');
                i += digits;
            }
        } else {
            let c = text[i..].chars().next().expect("inside the text");
            result.push(c);
            i += c.len_utf8();
        }
    }
    result
}

#[test]
fn the_normaliser_replaces_only_times_and_durations() {
    assert_eq!(
        without_times(
            "{\"at\":\"2024-01-31T12:00:00.123Z\",\"duration_ms\":12,\"version\":3}\n  \"duration_ms\": null,\n  \"duration_ms\": 7\n"
        ),
        "{\"at\":\"<time>\",\"duration_ms\":N,\"version\":3}\n  \"duration_ms\": null,\n  \"duration_ms\": N\n"
    );
}

#[test]
fn new_and_validate_report_in_json() {
    let project = Project::new(&[
        ("0001_users.up.sql", "CREATE TABLE users (id INTEGER);\n"),
        ("0001_users.down.sql", "DROP TABLE users;\n"),
        (
            "0002_big.sql",
            "-- migrate:no-transaction\nCREATE TABLE big (x);\n",
        ),
    ]);
    let mut text = report(&project, &["validate", "--json"], 0);
    text += &report(&project, &["new", "more", "--json"], 0);
    text += &report(&project, &["new", "less", "--reversible", "--json"], 0);
    fs::remove_file(project.migrations().join("0004_less.up.sql")).unwrap();
    fs::remove_file(project.migrations().join("0004_less.down.sql")).unwrap();
    project.write("0003_more.sql", "CREATE TABLE more (x);\nDROP TABLE big;\n");
    project.write(
        "0004_nick.rs",
        "pub fn up(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {\n    tx.execute_batch(\"ALTER TABLE users ADD COLUMN nick TEXT\")\n}\n",
    );
    text += &report(&project, &["validate", "--no-verify", "--json"], 0);
    // The SQL check: a down that does not restore the schema.
    fs::remove_file(project.migrations().join("0004_nick.rs")).unwrap();
    project.write("0001_users.down.sql", "SELECT 1;\n");
    text += &report(&project, &["validate", "--json"], 1);
    // The folder rules: a gap and a bad name.
    project.write("0007_late.sql", "SELECT 1;\n");
    project.write("notes.txt", "hello\n");
    text += &report(&project, &["validate", "--json"], 1);
    snapshot("json-new-validate", &text);
}

#[test]
fn up_dry_run_grouped_down_and_redo_report_in_json() {
    let mut files = REVERSIBLE.to_vec();
    files.push((
        "0004_outside.sql",
        "-- migrate:no-transaction\nCREATE TABLE outside (x);\n",
    ));
    files.push(("0005_broken.sql", "INSERT INTO nowhere VALUES (1);\n"));
    let project = Project::new(&files);
    project.open(); // an empty database file
    let mut text = report(&project, &["redo", "--json"], 0);
    text += &report(&project, &["down", "--json"], 0);
    text += &report(&project, &["up", "--dry-run", "--json"], 1);
    text += &report(&project, &["up", "--json", "--to", "2"], 0);
    text += &report(&project, &["up", "--grouped", "--json", "--to", "3"], 0);
    text += &report(&project, &["redo", "--json"], 0);
    text += &report(&project, &["down", "2", "--json"], 0);
    text += &report(&project, &["up", "--dry-run", "--json", "--to", "3"], 0);
    text += &report(&project, &["up", "--json"], 1);
    text += &report(&project, &["up", "--json", "--to", "4"], 0);
    snapshot("json-up-down-redo", &text);
}

#[test]
fn status_reports_every_state_and_problem_in_json() {
    // 1 applied, 2 divergent, 3 failed (and out of order), 4 pending (and
    // out of order), 9 missing.
    let project = mixed_states();
    project
        .open()
        .execute_batch(
            "INSERT INTO migrate_schema_history (version, name, checksum, running_checksum, applied_at, duration_ms, state)
             SELECT 9, 'from_the_future', checksum, running_checksum, applied_at, 0, 'applied'
             FROM migrate_schema_history WHERE version = 2",
        )
        .unwrap();
    project.fix_times();
    let mut text = report(&project, &["status", "--json"], 0);

    // A reused version whose applied migration moved, then one that is gone.
    let project = renumbered_after_a_merge();
    text += &report(&project, &["status", "--json"], 0);
    fs::remove_file(project.migrations().join("0003_add_phone.sql")).unwrap();
    text += &report(&project, &["status", "--json"], 0);

    // Dirty: a no-transaction migration cut short, its error recorded.
    let project = Project::new(&[
        ("0001_users.sql", "CREATE TABLE users (id INTEGER);\n"),
        (
            "0002_split.sql",
            "-- migrate:no-transaction\nCREATE TABLE half (x);\nINSERT INTO nowhere VALUES (1);\n",
        ),
    ]);
    project.run(&["up"], 1);
    text += &report(&project, &["status", "--json"], 0);

    // Up to date.
    let project = Project::new(REVERSIBLE);
    project.run(&["up"], 0);
    project.fix_times();
    text += &report(&project, &["status", "--json"], 0);
    snapshot("json-status", &text);
}

#[test]
fn history_reports_every_kind_of_event_in_json() {
    let project = Project::new(REVERSIBLE);
    project.open();
    let mut text = report(&project, &["history", "--json"], 0);
    project.run(&["baseline", "1"], 0);
    project.run(&["up"], 0);
    project.run(&["down"], 0);
    project.write("0003_posts_by_user.down.sql", "DROP INDEX nowhere;\n");
    project.run(&["up"], 0);
    project.run(&["down"], 1);
    project.write(
        "0001_users.up.sql",
        "-- edited\nCREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);\n",
    );
    project.run(&["repair"], 0);
    text += &report(&project, &["history", "--json"], 0);
    snapshot("json-history", &text);
}

#[test]
fn baseline_and_repair_report_in_json() {
    let project = Project::new(REVERSIBLE);
    let mut text = report(&project, &["baseline", "2", "--json"], 0);
    text += &report(&project, &["repair", "--json"], 0);
    // An edited file, a failed attempt and a renamed file.
    project.write(
        "0001_users.up.sql",
        "-- edited\nCREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);\n",
    );
    project.write(
        "0003_posts_by_user.up.sql",
        "CREATE INDEX posts_by_user ON nowhere (user_id);\n",
    );
    project.run(&["repair"], 0);
    project.run(&["up"], 1);
    project.rename("0002_posts.up.sql", "0002_articles.up.sql");
    project.rename("0002_posts.down.sql", "0002_articles.down.sql");
    project.write(
        "0001_users.up.sql",
        "-- edited twice\nCREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);\n",
    );
    text += &report(&project, &["repair", "--json"], 0);

    // A dirty mark.
    let project = Project::new(&[
        ("0001_users.sql", "CREATE TABLE users (id INTEGER);\n"),
        (
            "0002_split.sql",
            "-- migrate:no-transaction\nCREATE TABLE half (x);\nINSERT INTO nowhere VALUES (1);\n",
        ),
    ]);
    project.run(&["up"], 1);
    text += &report(&project, &["repair", "--json"], 0);

    // A reused version, accepted.
    let project = renumbered_after_a_merge();
    text += &report(
        &project,
        &["repair", "--accept-reused-versions", "--json"],
        0,
    );
    snapshot("json-baseline-repair", &text);
}

#[test]
fn schema_and_its_check_report_in_json() {
    let project = Project::new(REVERSIBLE);
    project.run(&["up"], 0);
    project
        .open()
        .execute_batch("CREATE VIEW named AS SELECT name FROM users;")
        .unwrap();
    let mut text = report(&project, &["schema", "--json"], 0);
    text += &report(&project, &["schema", "--include-tracking", "--json"], 0);
    project.open().execute_batch("DROP VIEW named;").unwrap();
    text += &report(&project, &["schema", "--check", "--json"], 0);
    project
        .open()
        .execute_batch(
            "DROP INDEX posts_by_user; ALTER TABLE users ADD COLUMN nick TEXT; CREATE TABLE scratch (x);",
        )
        .unwrap();
    text += &report(&project, &["schema", "--check", "--json"], 1);
    snapshot("json-schema", &text);
}

#[test]
fn the_log_file_lines_are_unchanged() {
    let project = Project::new(REVERSIBLE);
    let log = project.path().join("migrate.log");
    let log_arg = log.to_str().unwrap();
    let run = |args: &[&str], code: i32| {
        let mut args = args.to_vec();
        args.extend(["--log-file", log_arg]);
        project.run(&args, code);
    };
    run(&["baseline", "1"], 0);
    run(&["up"], 0);
    run(&["redo"], 0);
    run(&["down"], 0);
    project.write(
        "0003_posts_by_user.up.sql",
        "CREATE INDEX posts_by_user ON nowhere (user_id);\n",
    );
    run(&["up"], 1);
    project.write("0001_users.up.sql", "-- edited\n");
    run(&["up"], 3);
    run(&["repair"], 0);
    run(&["up", "--to", "9"], 1);
    let lines = fs::read_to_string(&log).unwrap();
    snapshot("json-log-file", &without_times(&lines));
}
