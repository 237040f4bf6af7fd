//! The command line on PostgreSQL, against the real server (a database per
//! test; see `common/postgres.rs` for the skip rule): every database
//! command with the JSON it prints on SQLite for the same folder, `--schema`
//! and `--lock-scope` (also from `migrate.toml`), URLs that cannot connect
//! named without their password, `schema` saying it does not work there
//! yet, and the mounted `Db` over a PostgreSQL client.

mod common;
#[path = "common/postgres.rs"]
mod pg;

use clap::Parser;
use common::{Output, Project, REVERSIBLE, assert_contains};
use migrate_core::postgres::Postgres;
use serde_json::Value;

/// Runs `migrate -D <url> <args>` in the project, asserting its exit code.
fn run(project: &Project, url: &str, args: &[&str], code: i32) -> Output {
    common::run(project.bare().args(["-D", url]).args(args), code)
}

/// What `--json` printed, with what differs between two runs or two
/// databases replaced: times by `<time>`, durations by 0, the database by
/// `<database>`, and the history's event ids by 0 (on PostgreSQL they come
/// from a sequence, which a rolled-back transaction — a dry run — does not
/// put back: increasing, with gaps).
fn json(output: &Output) -> Value {
    if output.stdout.is_empty() {
        // A refusal prints its error only.
        return Value::Null;
    }
    let mut value: Value = serde_json::from_str(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", output.stdout));
    normalise(&mut value);
    value
}

fn normalise(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            for (key, field) in fields.iter_mut() {
                match key.as_str() {
                    "at" | "applied_at" | "failed_at" | "started_at" if field.is_string() => {
                        *field = Value::from("<time>");
                    }
                    "duration_ms" | "id" if field.is_number() => *field = Value::from(0),
                    "database" if field.is_string() => *field = Value::from("<database>"),
                    _ => normalise(field),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalise),
        _ => {}
    }
}

/// The same commands on the project's `app.db` and on a PostgreSQL
/// database, each asserted to exit with its code: each one's normalised
/// JSON, in order. What they print on standard error is the same, but for
/// the name of the database.
fn on_both(project: &Project, url: &str, steps: &[(&[&str], i32)]) -> (Vec<Value>, Vec<Value>) {
    let mut sqlite = Vec::new();
    let mut postgres = Vec::new();
    for (args, code) in steps {
        let args: Vec<&str> = args.iter().copied().chain(["--json"]).collect();
        let on_sqlite = project.run(&args, *code);
        let on_postgres = run(project, url, &args, *code);
        assert_eq!(
            on_postgres.stderr.replace(url, "<database>"),
            on_sqlite.stderr.replace("app.db", "<database>"),
            "{args:?}"
        );
        sqlite.push(json(&on_sqlite));
        postgres.push(json(&on_postgres));
    }
    (sqlite, postgres)
}

#[test]
fn every_database_command_prints_on_postgres_the_json_it_prints_on_sqlite() {
    if !pg::available() {
        return;
    }
    let db = pg::TestDatabase::new();
    let url = db.url();
    let project = Project::new(REVERSIBLE);
    let (sqlite, postgres) = on_both(
        &project,
        &url,
        &[
            (&["up", "--to", "1"], 0),
            (&["check"], 4),
            (&["up", "--to", "2"], 0),
            (&["status"], 0),
            (&["up", "--dry-run"], 0),
            (&["up"], 0),
            (&["history"], 0),
            (&["down", "2"], 0),
            (&["redo"], 0),
            (&["up", "--grouped"], 0),
            (&["check"], 0),
            (&["down", "--to", "0"], 0),
        ],
    );
    assert_eq!(postgres, sqlite);
    let (sqlite_baseline, postgres_baseline) = {
        // A database that has what 1 and 2 create, made without `migrate`.
        let by_hand = "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);
                       CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));";
        project.open().execute_batch(by_hand).unwrap();
        db.connect().batch_execute(by_hand).unwrap();
        on_both(
            &project,
            &url,
            &[
                (&["baseline", "2"], 0),
                (&["baseline", "3"], 3),
                (&["status"], 0),
            ],
        )
    };
    assert_eq!(postgres_baseline, sqlite_baseline);
    assert_eq!(
        postgres_baseline[1],
        Value::Null,
        "refused, printing its error only"
    );
    assert_eq!(postgres[5]["applied"].as_array().unwrap().len(), 1);
    let history = run(&project, &url, &["history", "--json"], 0);
    let history: Value = serde_json::from_str(&history.stdout).unwrap();
    let ids: Vec<u64> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["id"].as_u64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "{ids:?}");
    assert_eq!(
        db.tracking("public"),
        [(1, "applied".into()), (2, "applied".into())]
    );

    // An edited file: divergent on both, refused by `up`, repaired.
    project.write(
        "0002_posts.up.sql",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id), title TEXT);\n",
    );
    let (sqlite, postgres) = on_both(
        &project,
        &url,
        &[
            (&["status"], 0),
            (&["check"], 3),
            (&["repair"], 0),
            (&["up"], 0),
            (&["history"], 0),
        ],
    );
    assert_eq!(postgres, sqlite);
    assert_eq!(postgres[0]["divergent"][0]["version"], 2);
    assert_eq!(
        postgres[2]["repairs"][0]["action"],
        sqlite[2]["repairs"][0]["action"]
    );
    assert_eq!(
        db.tracking("public"),
        [
            (1, "applied".into()),
            (2, "applied".into()),
            (3, "applied".into())
        ]
    );
    // What the migrations made is there: the index of 3 on the table of 2.
    assert_eq!(
        db.count("SELECT count(*) FROM pg_indexes WHERE tablename = 'posts' AND indexname = 'posts_by_user'"),
        1
    );
}

#[test]
fn the_text_output_names_the_url_without_its_password_and_reads_as_on_sqlite() {
    if !pg::available() {
        return;
    }
    let db = pg::TestDatabase::new();
    let url = db.url();
    // The server trusts this machine, so a password is accepted and unused:
    // what counts is that no message repeats it.
    let Some((scheme, rest)) = url.split_once("://") else {
        panic!("{url}")
    };
    let with_password = match rest.split_once('@') {
        Some((user, host)) if !user.contains(':') => format!("{scheme}://{user}:hunter2@{host}"),
        _ => format!("{scheme}://postgres:hunter2@{rest}"),
    };
    let shown = url.as_str();
    let project = Project::new(REVERSIBLE);
    let log = project.path().join("changes.log");
    let up = run(
        &project,
        &with_password,
        &["up", "--log-file", log.to_str().unwrap()],
        0,
    );
    assert_contains(
        &up.stdout,
        &format!("applied 3 migrations to `{shown}` in "),
    );
    assert_contains(&up.stdout, "applied      1  users");
    let status = common::run(
        project
            .bare()
            .env("DATABASE_URL", &with_password)
            .arg("status"),
        0,
    );
    assert_contains(&status.stdout, &format!("database  {shown}\n"));
    assert_contains(
        &status.stdout,
        "summary   3 applied, 0 pending, 0 failed, 0 dirty, 0 problems",
    );
    let down = run(&project, &with_password, &["down"], 0);
    assert_contains(
        &down.stdout,
        &format!("rolled back 1 migration of `{shown}`, at version 2"),
    );
    let history = run(&project, &with_password, &["history"], 0);
    assert_eq!(history.stdout.lines().count(), 5, "{}", history.stdout);
    let log = std::fs::read_to_string(&log).unwrap();
    assert_eq!(log.lines().count(), 3);
    for text in [
        &up.stdout,
        &status.stdout,
        &down.stdout,
        &history.stdout,
        &log,
    ] {
        assert!(!text.contains("hunter2"), "{text}");
    }
    assert_contains(&log, &format!("\"database\":\"{shown}\""));

    // `schema` reads the catalog; `--include-tracking` is not there yet on
    // PostgreSQL: exit 1, saying so.
    let schema = run(&project, &with_password, &["schema"], 0);
    assert_contains(&schema.stdout, "CREATE TABLE users (");
    let schema = run(
        &project,
        &with_password,
        &["schema", "--include-tracking"],
        1,
    );
    assert_eq!(
        schema.stderr,
        format!(
            "error: `migrate schema` does not work on `{shown}` yet: the PostgreSQL backend does not read schemas yet\n"
        )
    );
    // Rolled back to 2 of 3: the third migration's objects are missing.
    let check = run(&project, &url, &["schema", "--check"], 1);
    assert_contains(
        &check.stderr,
        &format!("error: the schema of `{shown}` has drifted from what the migrations produce: "),
    );
}

#[test]
fn a_url_that_cannot_connect_is_named_without_its_password() {
    if !pg::available() {
        return;
    }
    let db = pg::TestDatabase::new();
    let url = db.url();
    let (server, _) = url.rsplit_once('/').unwrap();
    let (scheme, rest) = server.split_once("://").unwrap();
    let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let project = Project::new(REVERSIBLE);
    for (given, shown, reason) in [
        (
            format!("{scheme}://nobody_here:hunter2@{host}/postgres"),
            format!("{scheme}://nobody_here@{host}/postgres"),
            "db error: FATAL: role \"nobody_here\" does not exist",
        ),
        (
            format!("{server}/no_such_database_here?password=hunter2"),
            format!("{server}/no_such_database_here"),
            "db error: FATAL: database \"no_such_database_here\" does not exist",
        ),
        (
            format!("{scheme}://u:hunter2@127.0.0.1:1/app"),
            format!("{scheme}://u@127.0.0.1:1/app"),
            "error connecting to server: ",
        ),
        (
            format!("{scheme}://u:hunter2@no-such-host.invalid/app"),
            format!("{scheme}://u@no-such-host.invalid/app"),
            "error connecting to server: ",
        ),
    ] {
        let output = run(&project, &given, &["status", "--json"], 1);
        assert_eq!(output.stdout, "");
        assert!(
            output
                .stderr
                .starts_with(&format!("error: connecting to `{shown}`: {reason}")),
            "{given}: {}",
            output.stderr
        );
        assert!(!output.stderr.contains("hunter2"), "{}", output.stderr);
    }
}

#[test]
fn schema_and_lock_scope_choose_where_the_tracking_tables_live_and_how_runs_lock() {
    if !pg::available() {
        return;
    }
    let db = pg::TestDatabase::new();
    let url = db.url();
    let project = Project::new(REVERSIBLE);
    let up = run(
        &project,
        &url,
        &["--schema", "deploy", "up", "--to", "2"],
        0,
    );
    assert_contains(&up.stdout, "applied 2 migrations");
    assert_eq!(
        db.tracking("deploy"),
        [(1, "applied".into()), (2, "applied".into())]
    );
    assert_eq!(
        db.count("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'migrate_schema_history%' AND schemaname <> 'deploy'"),
        0,
        "nothing in public"
    );
    // Without it, the default schema has nothing applied (the application's
    // tables are there, so `up` would fail: the tracking is elsewhere).
    let status = run(&project, &url, &["status"], 0);
    assert_contains(&status.stdout, "summary   0 applied, 3 pending");

    // From migrate.toml, with the transaction-scoped lock of PgBouncer.
    project.write_file(
        "migrate.toml",
        "schema = \"deploy\"\nlock_scope = \"transaction\"\n",
    );
    let up = run(&project, &url, &["up"], 0);
    assert_contains(&up.stdout, "applied 1 migration");
    assert_eq!(db.tracking("deploy").len(), 3);
    let down = run(&project, &url, &["down", "--lock-scope", "session"], 0);
    assert_contains(&down.stdout, "rolled back 1 migration");
    // The command line wins over the file.
    let status = run(&project, &url, &["status", "--schema", "public"], 0);
    assert_contains(&status.stdout, "summary   0 applied, 3 pending");

    let bad = run(&project, &url, &["status", "--schema", "deploy-2"], 1);
    assert_eq!(
        bad.stderr,
        "error: --schema: `deploy-2` is not a plain schema name: use ASCII letters, digits and `_`, not starting with a digit\n"
    );
}

/// An application's command line, mounting the commands.
#[derive(Parser)]
struct App {
    #[command(subcommand)]
    command: AppCommand,
}

#[derive(clap::Subcommand)]
enum AppCommand {
    Db(migrate_cli::Db),
}

/// Runs `app db <args>` over `conn`, returning what it printed.
fn mounted<D: migrate_cli::Connection>(
    migrations: &migrate_core::Migrations,
    conn: &mut D,
    args: &[&str],
) -> anyhow::Result<String> {
    let AppCommand::Db(db) = App::try_parse_from(["app", "db"].iter().chain(args))?.command;
    let mut out = anstream::StripStream::new(Vec::new());
    db.run_to(migrations, conn, &mut out)?;
    Ok(String::from_utf8(out.into_inner())?)
}

#[test]
fn the_mounted_commands_run_over_a_postgres_client_bare_or_with_its_settings() -> anyhow::Result<()>
{
    if !pg::available() {
        return Ok(());
    }
    let db = pg::TestDatabase::new();
    let project = Project::new(REVERSIBLE);
    let migrations = migrate_core::Migrations::from_folder(project.migrations())?;
    let mut client = db.connect();

    let up = mounted(&migrations, &mut client, &["up", "--to", "1"])?;
    assert_contains(&up, "applied 1 migration to `the database`");
    assert_eq!(db.tracking("public"), [(1, "applied".into())]);

    let other = pg::TestDatabase::new();
    let mut other_client = other.connect();
    let mut app = Postgres::new(&mut other_client).schema("app");
    let up = mounted(&migrations, &mut app, &["up"])?;
    assert_contains(&up, "applied 3 migrations to `the database` in ");
    let status = mounted(&migrations, &mut app, &["--json", "status"])?;
    let status: Value = serde_json::from_str(&status)?;
    assert_eq!(status["current_version"], 3);
    assert_eq!(other.tracking("app").len(), 3);

    // `schema` reads the catalog; `--include-tracking` is not there yet.
    let schema = mounted(&migrations, &mut client, &["schema"])?;
    assert_contains(&schema, "CREATE TABLE users (");
    let error = mounted(&migrations, &mut client, &["schema", "--include-tracking"]).unwrap_err();
    assert_eq!(
        format!("{error:#}"),
        "`migrate schema` does not work on `the database` yet: the PostgreSQL backend does not read schemas yet"
    );
    assert_eq!(
        migrate_cli::exit_code(&error),
        std::process::ExitCode::from(1)
    );
    Ok(())
}

#[test]
fn validate_on_postgres_checks_a_set_in_a_throwaway_database_on_the_server() {
    if !pg::available() {
        return;
    }
    let url = pg::server_url();
    // A diesel folder as real ones are: the setup migration, a reversible
    // table, and a down that leaves the column its up added.
    let project = Project::new(&[]);
    for (file, text) in [
        (
            "00000000000000_diesel_initial_setup/up.sql",
            "CREATE FUNCTION touch() RETURNS int LANGUAGE sql AS 'SELECT 1';",
        ),
        (
            "00000000000000_diesel_initial_setup/down.sql",
            "DROP FUNCTION touch();",
        ),
        (
            "2024-01-01-000000_users/up.sql",
            "CREATE TABLE users (id int PRIMARY KEY DEFAULT touch());",
        ),
        ("2024-01-01-000000_users/down.sql", "DROP TABLE users;"),
        (
            "2024-02-01-000000_email/up.sql",
            "ALTER TABLE users ADD COLUMN email text;",
        ),
        ("2024-02-01-000000_email/down.sql", ""),
    ] {
        project.write_file(&format!("migrations/{file}"), text);
    }
    let args = ["validate", "--folder-format", "diesel", "--postgres", &url];
    let failed = project.run_bare(&args, 1);
    assert_contains(
        &failed.stderr,
        "in a throwaway database on the PostgreSQL server postgres://",
    );
    assert_contains(
        &failed.stderr,
        "the down of migration 20240201000000 (email) in `2024-02-01-000000_email/down.sql` does not restore the schema from before its up: column `users.email` still exists",
    );
    project.write_file(
        "migrations/2024-02-01-000000_email/down.sql",
        "ALTER TABLE users DROP COLUMN email;",
    );
    let valid = project.run_bare(&args, 0);
    assert_contains(
        &valid.stdout,
        "has 3 migrations (1 to 20240201000000), 3 reversible",
    );
    assert!(
        !failed.stderr.contains("MIGRATE_VERIFY_DATABASE_URL"),
        "{}",
        failed.stderr
    );
    // The SQLite check's stand-ins have no place there.
    let refused = project.run_bare(
        &[
            "validate",
            "--folder-format",
            "diesel",
            "--postgres",
            &url,
            "--function",
            "f",
        ],
        2,
    );
    assert_contains(&refused.stderr, "cannot be used with");
}
