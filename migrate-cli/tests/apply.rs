//! `up` (with a target, a dry run, grouped), `down` and `redo` through the
//! real binary: what they print, their exit codes, and the database after.

mod common;

use common::{Project, REVERSIBLE, assert_contains, snapshot, without_durations};

#[test]
fn up_applies_every_pending_migration_and_prints_each() {
    let project = Project::new(REVERSIBLE);
    let output = project.run(&["up"], 0);
    snapshot("up", &without_durations(&output.stdout));
    assert_eq!(
        project.objects(),
        ["index posts_by_user", "table posts", "table users"]
    );
    assert_eq!(
        project.tracking("migrate_schema_history"),
        [
            (1, "applied".into()),
            (2, "applied".into()),
            (3, "applied".into())
        ]
    );

    let again = project.run(&["up"], 0);
    assert_eq!(
        again.stdout,
        "`app.db` is up to date, at version 3: nothing to apply\n"
    );
}

#[test]
fn up_to_a_version_stops_there_and_an_unknown_target_changes_nothing() {
    let project = Project::new(REVERSIBLE);
    let output = project.run(&["up", "--to", "2"], 0);
    assert_contains(&output.stdout, "applied 2 migrations to `app.db`");
    assert_eq!(project.objects(), ["table posts", "table users"]);

    let output = project.run(&["up", "--to", "7"], 1);
    assert_eq!(
        output.stderr,
        "error: applying migrations to `app.db`: version 7 is not a migration of this set\n"
    );
    assert_eq!(project.objects(), ["table posts", "table users"]);
}

#[test]
fn a_failing_migration_stops_the_run_and_names_file_line_and_statement() {
    let project = Project::new(&[
        ("0001_users.sql", "CREATE TABLE users (id INTEGER);\n"),
        (
            "0002_broken.sql",
            "CREATE TABLE a (x);\nINSERT INTO nowhere VALUES (1);\n",
        ),
        ("0003_later.sql", "CREATE TABLE later (x);\n"),
    ]);
    let output = project.run(&["up"], 1);
    assert!(
        output.stdout.starts_with("applied      1  users"),
        "{}",
        output.stdout
    );
    assert_eq!(
        output.stderr,
        "error: applying migrations to `app.db`: migration 2 (broken) failed in `0002_broken.sql` at line 2 \
         (`INSERT INTO nowhere VALUES (1);`): no such table: nowhere; it was rolled back and no later migration ran\n"
    );
    assert_eq!(project.objects(), ["table users"]);
    assert_eq!(
        project.tracking("migrate_schema_history"),
        [(1, "applied".into()), (2, "failed".into())]
    );
}

#[test]
fn a_dry_run_reports_each_migration_and_leaves_the_file_unchanged() {
    let project = Project::new(REVERSIBLE);
    project.run(&["up", "--to", "1"], 0);
    let before = std::fs::read(project.database()).unwrap();
    let output = project.run(&["up", "--dry-run"], 0);
    assert_eq!(
        without_durations(&output.stdout),
        "would apply  2  posts          N ms\n\
         would apply  3  posts_by_user  N ms\n\
         dry run: 2 migrations tried, then rolled back; `app.db` is unchanged\n"
    );
    assert_eq!(std::fs::read(project.database()).unwrap(), before);

    project.write("0004_broken.up.sql", "INSERT INTO nowhere VALUES (1);\n");
    let output = project.run(&["up", "--dry-run"], 1);
    assert_contains(&output.stdout, "would fail   4  broken");
    assert!(
        output.stderr.starts_with(
            "error: dry run on `app.db`: a real run would fail: migration 4 (broken) failed in `0004_broken.up.sql`"
        ),
        "{}",
        output.stderr
    );
    assert_eq!(std::fs::read(project.database()).unwrap(), before);
}

#[test]
fn a_grouped_run_applies_all_or_nothing() {
    let project = Project::new(REVERSIBLE);
    project.write("0004_broken.sql", "INSERT INTO nowhere VALUES (1);\n");
    let output = project.run(&["up", "--grouped"], 1);
    assert_contains(
        &output.stderr,
        "the whole group was rolled back: none of its migrations is applied",
    );
    assert!(project.objects().is_empty());

    std::fs::remove_file(project.migrations().join("0004_broken.sql")).unwrap();
    let output = project.run(&["up", "--grouped"], 0);
    assert_contains(&output.stdout, "applied 3 migrations");
    assert_eq!(project.objects().len(), 3);
}

#[test]
fn down_reverts_the_latest_or_n_or_down_to_a_version() {
    let project = Project::new(REVERSIBLE);
    project.run(&["up"], 0);

    let output = project.run(&["down"], 0);
    snapshot("down", &without_durations(&output.stdout));
    assert_eq!(project.objects(), ["table posts", "table users"]);

    project.run(&["up"], 0);
    project.run(&["down", "2"], 0);
    assert_eq!(project.objects(), ["table users"]);

    project.run(&["up"], 0);
    let output = project.run(&["down", "--to", "0"], 0);
    assert!(
        output
            .stdout
            .ends_with("rolled back 3 migrations of `app.db`, with none applied\n"),
        "{}",
        output.stdout
    );
    assert!(project.objects().is_empty());
    assert!(project.tracking("migrate_schema_history").is_empty());

    let output = project.run(&["down"], 0);
    assert_eq!(
        output.stdout,
        "nothing to roll back in `app.db`, with none applied\n"
    );
}

#[test]
fn down_refuses_an_irreversible_migration_and_an_unknown_target() {
    let project = Project::new(&[
        ("0001_users.up.sql", "CREATE TABLE users (id INTEGER);\n"),
        ("0001_users.down.sql", "DROP TABLE users;\n"),
        ("0002_seed.sql", "INSERT INTO users VALUES (1);\n"),
    ]);
    project.run(&["up"], 0);
    let output = project.run(&["down", "--to", "0"], 3);
    assert_eq!(
        output.stderr,
        "error: rolling back migrations of `app.db`: cannot roll back migration 2 (seed): `0002_seed.sql` has no down: \
         rename it to `0002_seed.up.sql` and add `0002_seed.down.sql`; nothing was rolled back\n"
    );
    assert_eq!(project.tracking("migrate_schema_history").len(), 2);

    let output = project.run(&["down", "--to", "9"], 1);
    assert_eq!(
        output.stderr,
        "error: rolling back migrations of `app.db`: version 9 is not a migration of this set\n"
    );
    project.run(&["down", "1", "--to", "1"], 2);
}

#[test]
fn redo_reverts_and_applies_the_latest_again() {
    let project = Project::new(REVERSIBLE);
    project.open(); // an empty database file
    let output = project.run(&["redo"], 0);
    assert_eq!(
        output.stdout,
        "nothing is applied to `app.db`: nothing to redo\n"
    );
    project.run(&["up"], 0);
    project
        .open()
        .execute_batch("INSERT INTO users VALUES (1, 'a');")
        .unwrap();
    let output = project.run(&["redo"], 0);
    assert_eq!(
        without_durations(&output.stdout),
        "rolled back  3  posts_by_user  N ms\n\
         applied      3  posts_by_user  N ms\n"
    );
    assert_eq!(project.objects().len(), 3);
    let events: i64 = project
        .open()
        .query_row(
            "SELECT count(*) FROM migrate_schema_history_events",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        events, 5,
        "three applied, one rolled back, one applied again"
    );
}

#[test]
fn a_divergent_file_refuses_up_down_and_redo_with_exit_code_3() {
    let project = Project::new(REVERSIBLE);
    project.run(&["up", "--to", "2"], 0);
    project.write(
        "0001_users.up.sql",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT);\n",
    );
    for command in [
        &["up"][..],
        &["redo"],
        &["up", "--grouped"],
        &["up", "--dry-run"],
    ] {
        let output = project.run(command, 3);
        assert!(
            output
                .stderr
                .contains("migration 1 (users) was applied with checksum sha256:"),
            "{command:?}: {}",
            output.stderr
        );
        assert_contains(&output.stderr, "but `0001_users.up.sql` now has sha256:");
    }
    let output = project.run(&["down", "2"], 3);
    assert_contains(&output.stderr, "cannot roll back migration 1 (users)");
    assert_eq!(project.objects(), ["table posts", "table users"]);
}

#[test]
fn the_folder_is_read_with_the_macros_rules_before_the_database_is_touched() {
    let project = Project::new(REVERSIBLE);
    project.write("0005_gap.sql", "SELECT 1;\n");
    let output = project.run(&["up"], 1);
    assert_eq!(
        output.stderr,
        "error: version 4 is missing between `migrations/0003_posts_by_user.up.sql` and `migrations/0005_gap.sql`: \
         sequential versions must not have gaps; add the missing migration or renumber the later files\n"
    );
    assert!(!project.database().exists(), "no database file was created");

    let output = project
        .bare()
        .args(["--database", "app.db", "--dir", "elsewhere", "status"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    // The folder as given, and the absolute path looked for.
    let looked_for = project.path().canonicalize().unwrap().join("elsewhere");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!(
            "error: migrations folder `elsewhere` not found (resolved to `{}`): create it or correct the path\n",
            looked_for.display()
        )
    );
}

#[test]
fn a_rust_migration_needs_the_application_that_embeds_it() {
    let project = Project::new(&[
        ("0001_users.sql", "CREATE TABLE users (id INTEGER);\n"),
        (
            "0002_fill.rs",
            "pub fn up(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> { Ok(()) }\n",
        ),
    ]);
    let output = project.run(&["up"], 1);
    // Refused before anything is applied, as the library's `run` does.
    assert!(!output.stdout.contains("applied"), "{}", output.stdout);
    assert_contains(
        &output.stderr,
        "migration 2 (fill) is Rust code in `0002_fill.rs`, which only the application that embeds it can run",
    );
}

#[test]
fn the_database_comes_from_database_url_with_or_without_a_sqlite_prefix() {
    let project = Project::new(REVERSIBLE);
    for url in ["sqlite://app.db", "sqlite:app.db", "app.db"] {
        let output = project
            .bare()
            .env("DATABASE_URL", url)
            .arg("status")
            .output()
            .unwrap();
        // The first `status` finds no file: only `up` and `baseline` create one.
        if !project.database().exists() {
            assert_eq!(output.status.code(), Some(1));
            assert_eq!(
                String::from_utf8_lossy(&output.stderr),
                "error: database `app.db` not found: check the path, or create it with `migrate up`\n"
            );
            project
                .bare()
                .env("DATABASE_URL", url)
                .arg("up")
                .assert()
                .success();
        } else {
            assert!(output.status.success(), "{url}");
        }
    }
    let output = project.bare().arg("status").output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: no database: pass `--database <URL>`, set DATABASE_URL (in the environment or a .env file), or set `database` in migrate.toml\n"
    );
}
