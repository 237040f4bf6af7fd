//! `baseline` and `repair`, a dirty migration: refused with exit code 3
//! until repaired, and a reused version: repair refuses it until told to
//! accept it.

mod common;

use common::{Project, REVERSIBLE, assert_contains, renumbered_after_a_merge};

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

#[test]
fn repair_refuses_a_reused_version_until_told_to_accept_it() {
    let project = renumbered_after_a_merge();
    let records = || {
        project.rows(
            "SELECT version, name, checksum FROM migrate_schema_history ORDER BY version",
            |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                ))
            },
        )
    };
    let before = records();
    let events = || {
        project.rows(
            "SELECT count(*) FROM migrate_schema_history_events",
            |row| row.get::<_, i64>(0),
        )
    };
    let events_before = events();

    let output = project.run(&["up"], 3);
    assert_contains(
        &output.stderr,
        "migration 2 (add_phone) was applied, but version 2 is now add_avatar in `0002_add_avatar.sql`, \
         and add_phone moved to version 3 (`0003_add_phone.sql`)",
    );
    let output = project.run(&["repair"], 3);
    assert_contains(
        &output.stderr,
        "error: repairing `app.db`: cannot repair: version 2 (applied as add_phone) is now add_avatar; ",
    );
    assert_contains(&output.stderr, "`migrate repair --accept-reused-versions`");
    assert_eq!(records(), before, "nothing changed");
    assert_eq!(events(), events_before);

    // What accepting asserts: the database has what add_avatar does and no
    // longer what add_phone did.
    project
        .open()
        .execute_batch(
            "ALTER TABLE users DROP COLUMN phone; ALTER TABLE users ADD COLUMN avatar TEXT;",
        )
        .unwrap();
    let output = project.run(&["repair", "--accept-reused-versions"], 0);
    assert!(
        output.stdout.starts_with(
            "repaired     2  add_avatar  accepted add_avatar at this version with checksum sha256:"
        ),
        "{}",
        output.stdout
    );
    assert_contains(&output.stdout, "(was applied as add_phone with sha256:");
    let output = project.run(&["up"], 0);
    assert_contains(&output.stdout, "applied      3  add_phone");
    let names: Vec<(i64, String)> = records().into_iter().map(|(v, n, _)| (v, n)).collect();
    assert_eq!(
        names,
        [
            (1, "users".into()),
            (2, "add_avatar".into()),
            (3, "add_phone".into())
        ]
    );
    assert_contains(&project.run(&["status"], 0).stdout, "0 problems");
}

/// `adopt --from diesel`: diesel's rows become this tool's, its table is
/// left as it was, the next `up` applies only what is newer; a row that
/// matches no migration is refused (exit 3) and nothing changes.
#[test]
fn adopt_records_what_another_tool_applied_and_leaves_its_table() {
    let project = Project::new(&[]);
    for (folder, up, down) in [
        (
            "2024-01-01-000000_create_users",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);",
            "DROP TABLE users;",
        ),
        (
            "2024-02-01-000000_create_posts",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY);",
            "DROP TABLE posts;",
        ),
    ] {
        std::fs::create_dir(project.migrations().join(folder)).unwrap();
        project.write(&format!("{folder}/up.sql"), up);
        project.write(&format!("{folder}/down.sql"), down);
    }
    // As diesel leaves a database where it applied the first one.
    project
        .open()
        .execute_batch(
            "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
             INSERT INTO __diesel_schema_migrations (version) VALUES ('20240101000000');
             CREATE TABLE users (id INTEGER PRIMARY KEY);",
        )
        .unwrap();

    let output = project.run(&["up", "--folder-format", "diesel"], 3);
    assert_contains(&output.stderr, "__diesel_schema_migrations");
    let output = project.run(
        &["adopt", "--from", "diesel", "--folder-format", "diesel"],
        0,
    );
    assert_contains(
        &output.stdout,
        "adopted diesel's tracking table in `app.db`: 1 migration recorded as applied",
    );
    let diesel_rows: i64 = project
        .open()
        .query_row(
            "SELECT count(*) FROM __diesel_schema_migrations",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(diesel_rows, 1, "diesel's table left as it was");
    let output = project.run(&["up", "--folder-format", "diesel"], 0);
    assert_contains(&output.stdout, "create_posts");
    assert_eq!(
        project.tracking("migrate_schema_history"),
        [
            (20240101000000, "applied".into()),
            (20240201000000, "applied".into())
        ]
    );

    // A row of diesel's that no migration of the folder has.
    let other = Project::new(&[]);
    std::fs::create_dir(other.migrations().join("2024-01-01-000000_create_users")).unwrap();
    other.write(
        "2024-01-01-000000_create_users/up.sql",
        "CREATE TABLE users (id INTEGER PRIMARY KEY);",
    );
    other
        .open()
        .execute_batch(
            "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
             INSERT INTO __diesel_schema_migrations (version) VALUES ('20240101000000'), ('20230101000000');",
        )
        .unwrap();
    let output = other.run(
        &["adopt", "--from", "diesel", "--folder-format", "diesel"],
        3,
    );
    assert_contains(&output.stderr, "20230101000000");
    let tables: i64 = other
        .open()
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'migrate_schema_history%'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(tables, 0, "nothing recorded");
}
