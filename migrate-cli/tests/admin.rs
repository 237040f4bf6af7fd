//! `baseline` and `repair`, and a dirty migration: refused with exit code 3
//! until repaired.

mod common;

use common::{Project, REVERSIBLE, assert_contains};

#[test]
fn baseline_marks_migrations_applied_without_running_them() {
    let project = Project::new(REVERSIBLE);
    project
        .open()
        .execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);")
        .unwrap();
    let output = project.run(&["baseline", "1"], 0);
    assert_eq!(
        output.stdout,
        "baselined    1  users\n\
         baselined `app.db` at version 1: 1 migration marked as applied without running\n"
    );
    assert_eq!(
        project.tracking("migrate_schema_history"),
        [(1, "applied".into())]
    );
    project.run(&["up"], 0);
    assert_eq!(project.objects().len(), 3);

    let output = project.run(&["baseline", "2"], 3);
    assert_eq!(
        output.stderr,
        "error: baselining `app.db` at version 2: cannot baseline: migration 1 is already applied; \
         a baseline is only for a database with none applied\n"
    );
    let output = project.run(&["baseline", "8"], 1);
    assert_contains(&output.stderr, "version 8 is not a migration of this set");
}

#[test]
fn baseline_creates_the_database_file() {
    let project = Project::new(REVERSIBLE);
    project.run(&["baseline", "3"], 0);
    assert_eq!(project.tracking("migrate_schema_history").len(), 3);
    assert!(project.objects().is_empty(), "nothing ran");
}

#[test]
fn repair_accepts_an_edited_file_and_clears_a_failed_attempt() {
    let project = Project::new(REVERSIBLE);
    project.run(&["up", "--to", "2"], 0);
    assert_eq!(
        project.run(&["repair"], 0).stdout,
        "nothing to repair in `app.db`\n"
    );

    project.write(
        "0001_users.up.sql",
        "-- edited\nCREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);\n",
    );
    project.write(
        "0003_posts_by_user.up.sql",
        "CREATE INDEX posts_by_user ON nowhere (user_id);\n",
    );
    project.run(&["up"], 3);
    let output = project.run(&["repair"], 0);
    assert!(
        output
            .stdout
            .starts_with("repaired     1  users          accepted the current checksum sha256:"),
        "{}",
        output.stdout
    );
    project.run(&["up"], 1);
    assert_eq!(
        project.tracking("migrate_schema_history"),
        [
            (1, "applied".into()),
            (2, "applied".into()),
            (3, "failed".into())
        ]
    );
    let output = project.run(&["repair"], 0);
    assert_eq!(
        output.stdout,
        "repaired     3  posts_by_user  cleared the failed attempt\n"
    );
    assert_eq!(project.tracking("migrate_schema_history").len(), 2);
}

#[test]
fn a_dirty_migration_is_refused_until_repaired() {
    let project = Project::new(&[
        ("0001_users.sql", "CREATE TABLE users (id INTEGER);\n"),
        (
            "0002_split.sql",
            "-- migrate:no-transaction\nCREATE TABLE half (x);\nINSERT INTO nowhere VALUES (1);\n",
        ),
    ]);
    let output = project.run(&["up"], 1);
    assert_contains(
        &output.stderr,
        "the migration is marked dirty until repaired",
    );
    assert_eq!(
        project.tracking("migrate_schema_history"),
        [(1, "applied".into()), (2, "dirty_up".into())]
    );

    let status = project.run(&["status"], 0).stdout;
    assert!(status.contains("      2  split  dirty (up)"), "{status}");
    assert!(
        status.contains("- migration 2 (split) is marked dirty: its up did not finish"),
        "{status}"
    );

    for command in [&["up"][..], &["down"], &["redo"], &["baseline", "1"]] {
        let output = project.run(command, 3);
        assert!(
            output
                .stderr
                .contains("migration 2 (split) is marked dirty"),
            "{command:?}: {}",
            output.stderr
        );
    }

    // Undo what the cut-short up did, then repair: it is pending again.
    project.open().execute_batch("DROP TABLE half;").unwrap();
    project.write(
        "0002_split.sql",
        "-- migrate:no-transaction\nCREATE TABLE half (x);\n",
    );
    let output = project.run(&["repair"], 0);
    assert_contains(&output.stdout, "cleared the dirty mark");
    project.run(&["up"], 0);
    assert_eq!(project.objects(), ["table half", "table users"]);
}
