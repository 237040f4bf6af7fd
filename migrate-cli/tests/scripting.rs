//! What scripts and terminals rely on: JSON reports of the changing
//! commands, the `--log-file` lines, exit codes, colours only when asked for,
//! and an example in every subcommand's help.

mod common;

use std::fs;

use common::{Project, REVERSIBLE, assert_contains};
use serde_json::Value;

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn up_down_and_redo_report_in_json() {
    let project = Project::new(REVERSIBLE);
    let up = json(&project.run(&["up", "--json", "--to", "2"], 0).stdout);
    assert_eq!(up["applied"].as_array().unwrap().len(), 2);
    assert_eq!(up["applied"][1]["name"], "posts");
    assert_eq!(up["current_version"], 2);
    assert_eq!(up["error"], Value::Null);

    let dry = json(&project.run(&["up", "--dry-run", "--json"], 0).stdout);
    assert_eq!(dry["steps"][0]["version"], 3);
    assert_eq!(dry["steps"][0]["outcome"], "ok");

    let redo = json(&project.run(&["redo", "--json"], 0).stdout);
    assert_eq!(redo["rolled_back"][0]["version"], 2);
    assert_eq!(redo["applied"][0]["version"], 2);

    let down = json(&project.run(&["down", "2", "--json"], 0).stdout);
    let versions: Vec<u64> = down["rolled_back"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, [2, 1]);
    assert_eq!(down["current_version"], Value::Null);

    // A failed run still reports what it applied before the failure, and
    // the version the database is at after it.
    project.write("0004_broken.sql", "INSERT INTO nowhere VALUES (1);\n");
    let output = project.run(&["up", "--json"], 1);
    let up = json(&output.stdout);
    assert_eq!(up["applied"].as_array().unwrap().len(), 3);
    assert_eq!(up["current_version"], 3);
    assert_contains(up["error"].as_str().unwrap(), "migration 4 (broken) failed");
    assert!(
        output
            .stderr
            .starts_with("error: applying migrations to `app.db`: migration 4 (broken) failed")
    );
}

#[test]
fn the_log_file_gets_one_json_line_per_change() {
    let project = Project::new(REVERSIBLE);
    let log = project.path().join("migrate.log");
    let log_arg = log.to_str().unwrap();
    project.run(&["up", "--log-file", log_arg], 0);
    project.run(&["down", "--log-file", log_arg], 0);
    // Before the subcommand, `--log-file` applies where it means something:
    // `status` changes nothing, so it logs nothing (after it, it is refused).
    project.run(&["--log-file", log_arg, "status"], 0);
    project.run(&["status", "--log-file", log_arg], 2);
    project.write(
        "0003_posts_by_user.up.sql",
        "CREATE INDEX posts_by_user ON nowhere (user_id);\n",
    );
    project.run(&["up", "--log-file", log_arg], 1);
    project.write("0001_users.up.sql", "-- edited\n");
    project.run(&["up", "--log-file", log_arg], 3);

    let lines: Vec<Value> = fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(json)
        .collect();
    let events: Vec<(&str, Option<u64>)> = lines
        .iter()
        .map(|l| (l["event"].as_str().unwrap(), l["version"].as_u64()))
        .collect();
    assert_eq!(
        events,
        [
            ("applied", Some(1)),
            ("applied", Some(2)),
            ("applied", Some(3)),
            ("rolled_back", Some(3)),
            ("failed", Some(3)),
            ("refused", None),
        ]
    );
    for line in &lines {
        assert_eq!(line["database"], "app.db");
        let at = line["at"].as_str().unwrap();
        assert!(
            at.len() == 24 && at.ends_with('Z') && at.as_bytes()[10] == b'T',
            "{at}"
        );
    }
    assert_eq!(lines[0]["name"], "users");
    assert!(lines[0]["duration_ms"].is_u64());
    assert_eq!(lines[4]["direction"], "up");
    assert_contains(
        lines[4]["error"].as_str().unwrap(),
        "no such table: main.nowhere",
    );
    assert_eq!(lines[5]["command"], "up");
    assert_contains(
        lines[5]["error"].as_str().unwrap(),
        "migration 1 (users) was applied with checksum",
    );

    let output = project.run(&["up", "--log-file", "no/such/folder/x.log"], 1);
    assert!(
        output
            .stderr
            .starts_with("error: opening the log file `no/such/folder/x.log`: "),
        "{}",
        output.stderr
    );
}

#[test]
fn colour_only_when_forced_on_and_never_with_no_color() {
    let project = Project::new(REVERSIBLE);
    let piped = project.migrate().arg("up").output().unwrap();
    assert!(!piped.stdout.contains(&0x1b), "no colour when piped");

    project.run(&["down"], 0);
    let forced = project
        .migrate()
        .env("CLICOLOR_FORCE", "1")
        .arg("up")
        .output()
        .unwrap();
    let text = String::from_utf8(forced.stdout).unwrap();
    assert!(text.starts_with("\u{1b}[32mapplied"), "{text:?}");

    project.run(&["down"], 0);
    let no_color = project
        .migrate()
        .env("CLICOLOR_FORCE", "1")
        .env("NO_COLOR", "1")
        .arg("up")
        .output()
        .unwrap();
    assert!(!no_color.stdout.contains(&0x1b), "NO_COLOR wins");
}

#[test]
fn usage_errors_exit_with_2_and_every_subcommand_shows_an_example() {
    let project = Project::new(REVERSIBLE);
    for args in [
        &["frobnicate"][..],
        &["up", "--to", "x"],
        &["down", "1", "--to", "0"],
        &["up", "--dry-run", "--grouped"],
    ] {
        let output = project.bare().args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
    }
    for command in [
        "new",
        "validate",
        "up",
        "down",
        "redo",
        "status",
        "check",
        "history",
        "baseline",
        "repair",
        "schema",
        "completions",
        "man",
    ] {
        let output = project.bare().args([command, "--help"]).output().unwrap();
        assert!(output.status.success());
        let help = String::from_utf8(output.stdout).unwrap();
        assert!(
            help.contains(&format!("Examples:\n  migrate {command}")),
            "{command}: {help}"
        );
    }
    let help = String::from_utf8(project.bare().arg("--help").output().unwrap().stdout).unwrap();
    assert!(
        help.contains("Exit codes: 0 success, 1 failure, 2 usage, 3 refused"),
        "{help}"
    );
}
