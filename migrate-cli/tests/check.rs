//! `check` and `status --exit-code`, for deploy scripts and CI: exit 0 when
//! the database is up to date, 4 when migrations are only pending, 3 when
//! anything is dirty, failed or disagrees with the folder.

mod common;

use common::{Project, REVERSIBLE, assert_contains};

#[test]
fn check_exits_0_up_to_date_and_4_with_migrations_pending() {
    let project = Project::new(REVERSIBLE);
    project.open(); // an empty database: everything pending
    let output = project.run(&["check"], 4);
    assert_eq!(
        output.stdout,
        "pending      1  users\npending      2  posts\npending      3  posts_by_user\n"
    );
    assert_eq!(
        output.stderr,
        "error: `app.db` is not up to date: 3 pending\n"
    );
    project.run(&["status", "--exit-code"], 4);
    project.run(&["status"], 0);

    project.run(&["up", "--to", "2"], 0);
    let output = project.run(&["check"], 4);
    assert_eq!(output.stdout, "pending      3  posts_by_user\n");

    project.run(&["up"], 0);
    let output = project.run(&["check"], 0);
    assert_eq!(output.stdout, "up to date: `app.db`, at version 3\n");
    assert!(output.stderr.is_empty());
    let output = project.run(&["status", "--exit-code"], 0);
    assert_contains(&output.stdout, "summary   3 applied, 0 pending");
}

#[test]
fn check_exits_3_when_a_migration_is_divergent_or_missing() {
    let project = Project::new(REVERSIBLE);
    project.run(&["up"], 0);

    // Divergent: an applied file edited since.
    project.write(
        "0003_posts_by_user.up.sql",
        "CREATE INDEX posts_by_user ON posts (id);\n",
    );
    let output = project.run(&["check"], 3);
    assert_contains(
        &output.stdout,
        "- migration 3 (posts_by_user) was applied with checksum",
    );
    assert_eq!(
        output.stderr,
        "error: `app.db` needs attention: 1 problem\n"
    );
    project.run(&["status", "--exit-code"], 3);
    project.run(&["repair"], 0);
    project.run(&["check"], 0);

    // Missing: applied, but its file is gone (the folder is older than the
    // database); in the folder's words.
    project.write("0004_tags.sql", "CREATE TABLE tags (name TEXT);\n");
    project.run(&["up"], 0);
    std::fs::remove_file(project.migrations().join("0004_tags.sql")).unwrap();
    let output = project.run(&["check"], 3);
    assert_contains(
        &output.stdout,
        "- migration 4 (tags) is applied but unknown to the folder: the database is newer than the folder\n",
    );
}

#[test]
fn check_exits_3_after_a_failed_attempt_and_while_a_migration_is_dirty() {
    let project = Project::new(&[
        ("0001_users.sql", "CREATE TABLE users (id INTEGER);\n"),
        ("0002_broken.sql", "INSERT INTO nowhere VALUES (1);\n"),
    ]);
    project.run(&["up"], 1);
    let output = project.run(&["check"], 3);
    assert_contains(&output.stdout, "pending      2  broken\n");
    assert_contains(&output.stdout, "no such table: nowhere");
    assert_eq!(
        output.stderr,
        "error: `app.db` needs attention: 1 failed, 1 pending\n"
    );

    project.write(
        "0002_broken.sql",
        "-- migrate:no-transaction\nCREATE TABLE half (x);\nINSERT INTO nowhere VALUES (1);\n",
    );
    project.run(&["repair"], 0);
    project.run(&["up"], 1);
    let output = project.run(&["check"], 3);
    assert_contains(&output.stdout, "- migration 2 (broken) is marked dirty");
    assert_contains(&output.stderr, "needs attention: ");
    assert_contains(&output.stderr, "1 dirty");
}

#[test]
fn check_in_json_prints_the_status_document_and_keeps_the_exit_code() {
    let project = Project::new(REVERSIBLE);
    project.run(&["up", "--to", "1"], 0);
    let output = project.run(&["check", "--json"], 4);
    let status: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!(status["current_version"], 1);
    assert_eq!(status["up_to_date"], false);
    assert_eq!(status["pending"].as_array().unwrap().len(), 2);
    let output = project.run(&["status", "--exit-code", "--json"], 4);
    let again: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!(again, status);
}
