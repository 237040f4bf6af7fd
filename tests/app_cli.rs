//! The `migrate` commands mounted in an application's own command line
//! (feature `cli`): `examples/app_cli.rs` itself, run in process against a
//! temporary database, over its embedded set, Rust migration included.

mod common;

#[allow(dead_code)] // its `main`
#[path = "../examples/app_cli.rs"]
mod app_cli;

use app_cli::App;
use clap::Parser;
use common::{Database, tracking_states};

/// Runs `app_cli --database <db> <args>`; its output and error.
fn app(database: &Database, args: &[&str]) -> (String, Option<anyhow::Error>) {
    let path = database.path();
    let mut argv = vec!["app_cli", "--database", path.to_str().unwrap()];
    argv.extend(args);
    let app = App::try_parse_from(argv).unwrap_or_else(|e| panic!("{e}"));
    let mut out = anstream::StripStream::new(Vec::new());
    let result = app_cli::run(&app, &mut out);
    (String::from_utf8(out.into_inner()).unwrap(), result.err())
}

#[test]
fn db_up_and_db_status_run_over_the_embedded_set_and_the_apps_connection() {
    let database = Database::new();
    let (status, error) = app(&database, &["db", "status"]);
    assert!(error.is_none(), "{error:?}");
    assert!(
        status.contains("summary   0 applied, 13 pending"),
        "{status}"
    );

    let (up, error) = app(&database, &["db", "up"]);
    assert!(error.is_none(), "{error:?}");
    assert!(
        up.contains("applied      13  project_slugs"),
        "the Rust migration ran: {up}"
    );
    assert!(up.ends_with(", at version 13\n"), "{up}");
    let conn = database.open();
    assert_eq!(tracking_states(&conn).len(), 13);
    let slugs: i64 = conn
        .query_row(
            "SELECT count(*) FROM pragma_table_info('projects') WHERE name = 'slug'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(slugs, 1);

    let (status, _) = app(&database, &["db", "status", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["current_version"], 13);
    assert_eq!(status["up_to_date"], true);

    let (down, error) = app(&database, &["db", "down"]);
    assert!(error.is_none(), "{error:?}");
    assert!(
        down.starts_with("rolled back  13  project_slugs"),
        "the Rust down ran: {down}"
    );
    assert_eq!(tracking_states(&database.open()).len(), 12);

    let (tasks, error) = app(&database, &["tasks"]);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(tasks, "0 tasks\n");
}

#[test]
fn the_mounted_commands_have_no_folder_commands_and_share_the_exit_codes() {
    for args in [
        &["app_cli", "db", "new", "x"][..],
        &["app_cli", "db", "validate"],
        &["app_cli", "db", "up", "--dir", "m"],
    ] {
        let error = App::try_parse_from(args)
            .err()
            .expect("not a mounted command");
        assert_eq!(
            error.exit_code(),
            i32::from(migrate::cli::USAGE),
            "{args:?}"
        );
    }
    let database = Database::new();
    app(&database, &["db", "up"]);
    let (_, error) = app(&database, &["db", "baseline", "1"]);
    let error = error.expect("a database with migrations cannot be baselined");
    assert_eq!(
        migrate::cli::exit_code(&error),
        std::process::ExitCode::from(migrate::cli::REFUSED)
    );
}

#[test]
fn the_mounted_commands_take_their_options_before_or_after_and_check_the_database() {
    let database = Database::new();
    let (_, error) = app(&database, &["db", "check"]);
    let error = error.expect("everything is pending");
    assert_eq!(
        migrate::cli::exit_code(&error),
        std::process::ExitCode::from(migrate::cli::PENDING)
    );
    let (_, error) = app(&database, &["db", "run", "--to", "2"]);
    assert!(error.is_none(), "{error:?}");
    for args in [
        &["db", "--json", "info"][..],
        &["db", "status", "--format", "json"],
    ] {
        let (status, error) = app(&database, args);
        assert!(error.is_none(), "{error:?}");
        let status: serde_json::Value = serde_json::from_str(&status).unwrap();
        assert_eq!(status["current_version"], 2, "{args:?}");
    }
    app(&database, &["db", "up"]);
    let (checked, error) = app(&database, &["db", "check"]);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        checked,
        format!(
            "up to date: `{}`, at version 13\n",
            database.path().display()
        )
    );
}
