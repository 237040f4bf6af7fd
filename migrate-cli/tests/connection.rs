//! `--database` and `DATABASE_URL`: the connection strings accepted (a
//! path, `sqlite:`, `sqlite://`, `sqlite:///abs`, SQLite URIs and their
//! parameters), which commands may create the file, another database's URL
//! refused naming what is supported, and the PostgreSQL settings refused for
//! a SQLite database. PostgreSQL itself: `tests/postgres.rs`.

mod common;

use std::fs;

use common::{Project, REVERSIBLE, assert_contains};

/// The names of the files in the project's folder, sorted.
fn files(project: &Project) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(project.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn a_path_and_every_sqlite_prefix_name_the_same_file() {
    let project = Project::new(REVERSIBLE);
    project.run_bare(&["-D", "app.db", "up", "--to", "1"], 0);
    for (database, version) in [
        ("sqlite:app.db", "2"),
        ("sqlite://app.db", "3"),
        ("app.db", "3"),
    ] {
        project.run_bare(&["up", "--to", version, "--database", database], 0);
    }
    let absolute = project.database();
    let url = format!("sqlite://{}", absolute.display());
    assert!(url.starts_with("sqlite:///"), "{url}");
    let status = project.run_bare(&["status", "-D", &url], 0);
    assert_contains(&status.stdout, "current   version 3\n");
    assert_contains(
        &status.stdout,
        &format!("database  {}\n", absolute.display()),
    );
    assert_eq!(files(&project), ["app.db", "migrations"]);
}

#[test]
fn sqlx_style_parameters_open_the_file_in_that_mode_and_never_name_a_file_after_them() {
    let project = Project::new(REVERSIBLE);
    // `mode=rwc` creates the file, even for a command that would not.
    let status = project.run_bare(&["status", "-D", "sqlite://x.db?mode=rwc"], 0);
    assert_contains(&status.stdout, "database  x.db\n");
    project.run_bare(&["up", "-D", "sqlite://x.db?mode=rwc"], 0);
    assert_eq!(files(&project), ["migrations", "x.db"]);

    // `mode=ro` reads, and a change fails inside SQLite without touching
    // the file.
    project.write("0004_tags.sql", "CREATE TABLE tags (name TEXT);\n");
    let status = project.run_bare(&["status", "-D", "sqlite:x.db?mode=ro"], 0);
    assert_contains(&status.stdout, "summary   3 applied, 1 pending");
    let up = project.run_bare(&["up", "-D", "sqlite:x.db?mode=ro"], 1);
    assert_contains(&up.stderr, "attempt to write a readonly database");
    let after = project.run_bare(&["status", "-D", "x.db"], 0);
    assert_contains(&after.stdout, "summary   3 applied, 1 pending");

    // A parameter SQLite's URIs do not take is a mistake, not ignored.
    let typo = project.run_bare(&["status", "-D", "sqlite://x.db?mdoe=ro"], 1);
    assert_contains(
        &typo.stderr,
        "error: --database: `mdoe` in `sqlite://x.db?mdoe=ro` is not a parameter of SQLite's URIs",
    );
    assert_eq!(files(&project), ["migrations", "x.db"]);
}

#[test]
fn file_uris_are_read_by_sqlite_with_their_parameters() {
    let project = Project::new(REVERSIBLE);
    project.run_bare(&["up", "--to", "2", "-D", "file:app.db?mode=rwc"], 0);
    for uri in [
        "file:app.db",
        "file:app.db?mode=ro",
        "file:app.db?cache=shared",
        "file:app.db?immutable=1",
    ] {
        let status = project.run_bare(&["status", "-D", uri], 0);
        assert_contains(&status.stdout, "database  app.db\n");
        assert_contains(&status.stdout, "current   version 2\n");
    }
    let absolute = format!("file://{}?mode=rw", project.database().display());
    project.run_bare(&["up", "-D", &absolute], 0);
    assert_eq!(
        project.tracking("migrate_schema_history").len(),
        3,
        "applied through the URI, to the same file"
    );
    // Percent-escapes are decoded, as SQLite decodes them.
    fs::rename(project.database(), project.path().join("my app.db")).unwrap();
    let status = project.run_bare(&["status", "-D", "file:my%20app.db"], 0);
    assert_contains(&status.stdout, "database  my app.db\n");
    assert_eq!(files(&project), ["migrations", "my app.db"]);
}

#[test]
fn only_up_and_baseline_create_a_missing_file_unless_the_uri_says_mode_rwc() {
    let project = Project::new(REVERSIBLE);
    for database in [
        "app.db",
        "sqlite:app.db",
        "sqlite://app.db",
        "file:app.db",
        "file:app.db?cache=shared",
    ] {
        for command in ["status", "history", "down", "schema", "check"] {
            let output = project.run_bare(&[command, "-D", database], 1);
            assert_eq!(
                output.stderr,
                "error: database `app.db` not found: check the path, or create it with `migrate up`\n",
                "{command} {database}"
            );
        }
    }
    let output = project.run_bare(&["up", "-D", "file:app.db?mode=ro"], 1);
    assert_eq!(
        output.stderr,
        "error: database `app.db` not found, and `mode=ro` does not create it: check the path, or use `mode=rwc`\n"
    );
    assert_eq!(files(&project), ["migrations"]);

    project.run_bare(&["baseline", "1", "-D", "file:app.db"], 0);
    assert_eq!(files(&project), ["app.db", "migrations"]);
    fs::remove_file(project.database()).unwrap();
    project.run_bare(&["history", "-D", "file:app.db?mode=rwc"], 0);
    assert_eq!(files(&project), ["app.db", "migrations"]);
}

#[test]
fn another_databases_url_is_refused_naming_what_this_build_supports() {
    let project = Project::new(REVERSIBLE);
    project.run(&["up"], 0);
    let supported = "this build supports SQLite (a path, sqlite:, sqlite:// or a file: URI) and PostgreSQL (postgres:// or postgresql://)\n";
    for (url, refusal) in [
        (
            "mysql://user:secret@localhost/app",
            "mysql:// is not supported",
        ),
        ("MySQL://localhost/app", "mysql:// is not supported"),
        ("foo://", "foo:// is not supported"),
    ] {
        let output = project.run_bare(&["up", "-D", url], 1);
        assert_eq!(
            output.stderr,
            format!("error: --database: {refusal}: {supported}"),
            "{url}"
        );
        let from_env = common::run(project.bare().env("DATABASE_URL", url).arg("status"), 1);
        assert_eq!(
            from_env.stderr,
            format!("error: DATABASE_URL: {refusal}: {supported}")
        );
    }
    assert_eq!(files(&project), ["app.db", "migrations"]);
}

#[test]
fn the_postgres_settings_are_refused_for_a_sqlite_database_naming_where_they_came_from() {
    let project = Project::new(REVERSIBLE);
    project.run(&["up"], 0);
    let output = project.run(&["status", "--schema", "app"], 1);
    assert_eq!(
        output.stderr,
        "error: --schema is a PostgreSQL setting, but `app.db` is a SQLite database: leave it out for SQLite\n"
    );
    let output = project.run(&["--lock-scope", "transaction", "up"], 1);
    assert_eq!(
        output.stderr,
        "error: --lock-scope is a PostgreSQL setting, but `app.db` is a SQLite database: leave it out for SQLite\n"
    );
    project.write_file("migrate.toml", "lock_scope = \"session\"\n");
    let output = project.run(&["history"], 1);
    assert_eq!(
        output.stderr,
        "error: `lock_scope` in `migrate.toml` is a PostgreSQL setting, but `app.db` is a SQLite database: leave it out for SQLite\n"
    );
    let output = project.run(&["up", "--lock-scope", "table"], 2);
    assert_contains(
        &output.stderr,
        "invalid value 'table' for '--lock-scope <SCOPE>'",
    );
}
