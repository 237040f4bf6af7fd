//! Where settings come from: the command line wins over the environment
//! (`DATABASE_URL`, also read from `.env` in the current folder or a
//! parent), which wins over `migrate.toml` (or `--config`), which wins over
//! the defaults; and a settings file with an unknown key is refused.

mod common;

use common::{Project, REVERSIBLE, assert_contains, run};

/// A project whose migrations are applied to `env.db`, `toml.db` and
/// `cli.db` up to versions 1, 2 and 3, so that `status` shows which one a
/// command opened.
fn three_databases() -> Project {
    let project = Project::new(REVERSIBLE);
    for (database, version) in [("env.db", "1"), ("toml.db", "2"), ("cli.db", "3")] {
        project.run_bare(&["up", "-D", database, "--to", version], 0);
    }
    project
}

/// The `current` line of `status` run with `command`'s settings.
fn current(command: &mut assert_cmd::Command) -> String {
    let output = run(command.arg("status"), 0);
    output
        .stdout
        .lines()
        .find(|line| line.starts_with("current"))
        .unwrap()
        .to_owned()
}

#[test]
fn dotenv_gives_database_url_from_this_folder_or_a_parent_and_the_environment_wins() {
    let project = three_databases();
    project.write_file(
        ".env",
        "# for sqlx and migrate\nDATABASE_URL=sqlite:env.db\n",
    );
    assert_eq!(current(&mut project.bare()), "current   version 1");

    // From a subfolder, the parent's `.env` (its relative path is the
    // current folder's, as for sqlx-cli and diesel).
    project.write_file("sub/.keep", "");
    let mut in_sub = project.bare();
    in_sub.current_dir(project.path().join("sub"));
    let output = run(
        in_sub.args(["status", "--dir", "../migrations", "-D", "../cli.db"]),
        0,
    );
    assert_contains(&output.stdout, "current   version 3\n");
    let mut in_sub = project.bare();
    in_sub.current_dir(project.path().join("sub"));
    let output = run(in_sub.args(["status", "--dir", "../migrations"]), 1);
    assert_eq!(
        output.stderr,
        "error: database `env.db` not found: check the path, or create it with `migrate up`\n",
        "the parent's .env was read"
    );

    // The real environment wins over `.env`, the command line over both.
    assert_eq!(
        current(project.bare().env("DATABASE_URL", "toml.db")),
        "current   version 2"
    );
    assert_eq!(
        current(
            project
                .bare()
                .env("DATABASE_URL", "toml.db")
                .args(["-D", "cli.db"])
        ),
        "current   version 3"
    );

    // A `.env` naming another database says where the URL came from.
    project.write_file(".env", "DATABASE_URL=mysql://localhost/app\n");
    let output = project.run_bare(&["status"], 1);
    let dot_env = project.path().canonicalize().unwrap().join(".env");
    assert_eq!(
        output.stderr,
        format!(
            "error: DATABASE_URL in `{}`: mysql:// is not supported: this build supports SQLite (a path, sqlite:, sqlite:// or a file: URI) and PostgreSQL (postgres:// or postgresql://)\n",
            dot_env.display()
        )
    );
}

#[test]
fn migrate_toml_sets_the_folder_table_format_and_database_below_the_environment() {
    let project = three_databases();
    project.write_file(
        "migrate.toml",
        "# the settings of `migrate`\n\
         dir = \"db/migrations\"\n\
         table = \"schema_migrations\"\n\
         format = \"json\"\n\
         database = \"sqlite://new.db\"\n",
    );
    std::fs::create_dir(project.path().join("db")).unwrap();
    std::fs::rename(project.migrations(), project.path().join("db/migrations")).unwrap();

    // `up` creates new.db, applies in the table `schema_migrations`, and
    // prints JSON.
    let up = project.run_bare(&["up"], 0);
    let up: serde_json::Value = serde_json::from_str(&up.stdout).unwrap();
    assert_eq!(up["database"], "new.db");
    assert_eq!(up["current_version"], 3);
    let conn = rusqlite::Connection::open(project.path().join("new.db")).unwrap();
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 3);

    // The environment wins over the file; the command line over both.
    let output = common::run(
        project
            .bare()
            .env("DATABASE_URL", "env.db")
            .args(["status", "--format", "text"]),
        0,
    );
    assert_contains(&output.stdout, "database  env.db\n");
    assert_contains(&output.stdout, "current   none applied\n");
    let output = project.run_bare(
        &[
            "status",
            "--format",
            "text",
            "--table",
            "migrate_schema_history",
            "-D",
            "cli.db",
        ],
        0,
    );
    assert_contains(&output.stdout, "current   version 3\n");
    let output = project.run_bare(&["status", "--dir", "nowhere"], 1);
    assert_contains(&output.stderr, "migrations folder `nowhere` not found");

    // `new` and `validate` take the folder (and format) from it too.
    let created = project.run_bare(&["new", "tags", "--format", "text"], 0);
    assert_contains(&created.stdout, "created db/migrations/0004_tags.sql\n");
    let valid = project.run_bare(&["validate", "--no-verify"], 1);
    let valid: serde_json::Value = serde_json::from_str(&valid.stdout).unwrap();
    assert_eq!(valid["folder"], "db/migrations");
    assert_eq!(valid["valid"], false, "the untouched template of `new`");
}

#[test]
fn config_names_another_settings_file_whose_relative_paths_are_its_own() {
    let project = three_databases();
    project.write_file(
        "deploy/prod.toml",
        "dir = \"../migrations\"\ndatabase = \"../cli.db\"\n",
    );
    let output = project.run_bare(&["status", "--config", "deploy/prod.toml"], 0);
    assert_contains(&output.stdout, "database  deploy/../cli.db\n");
    assert_contains(&output.stdout, "current   version 3\n");
    let output = project.run_bare(&["--config", "deploy/prod.toml", "check"], 0);
    assert_contains(
        &output.stdout,
        "up to date: `deploy/../cli.db`, at version 3\n",
    );

    let output = project.run_bare(&["status", "--config", "deploy/none.toml"], 1);
    assert_contains(
        &output.stderr,
        "error: reading the settings file `deploy/none.toml`: ",
    );
}

#[test]
fn a_settings_file_with_an_unknown_key_or_value_is_refused_naming_both() {
    let project = three_databases();
    project.write_file("migrate.toml", "dir = \"migrations\"\ntabel = \"x\"\n");
    for args in [
        &["status", "-D", "cli.db"][..],
        &["validate"],
        &["new", "x"],
    ] {
        let output = project.run_bare(args, 1);
        assert_eq!(
            output.stderr,
            "error: `migrate.toml` line 2: unknown key `tabel`, expected one of `dir`, `table`, `format`, `database`, `schema`, `lock_scope`, `foreign_keys`\n",
            "{args:?}"
        );
    }
    project.write_file("migrate.toml", "format = \"yaml\"\n");
    let output = project.run_bare(&["status", "-D", "cli.db"], 1);
    assert_eq!(
        output.stderr,
        "error: `migrate.toml` line 1: unknown variant `yaml`, expected `text` or `json`\n"
    );
    project.write_file("migrate.toml", "dir = [\n");
    let output = project.run_bare(&["status", "-D", "cli.db"], 1);
    assert_contains(&output.stderr, "error: `migrate.toml` line 1: ");
    // `completions` and `man` do not read it.
    project.run_bare(&["man"], 0);
}
