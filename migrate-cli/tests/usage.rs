//! The command line itself: the aliases other tools' users type, each
//! subcommand's `--help` listing only the options that mean something
//! there, and the shell completions and man pages generated from it.

mod common;

use std::collections::BTreeSet;

use common::{Project, REVERSIBLE, assert_contains};

/// The subcommands, as `migrate --help` lists them.
const COMMANDS: &[&str] = &[
    "new",
    "validate",
    "up",
    "down",
    "redo",
    "status",
    "check",
    "history",
    "baseline",
    "adopt",
    "repair",
    "schema",
    "completions",
    "man",
];

/// The long options `migrate <command> --help` lists.
fn options(project: &Project, command: &str) -> BTreeSet<String> {
    let help = project.run_bare(&[command, "--help"], 0).stdout;
    help.lines()
        .filter_map(|line| {
            let line = line.trim_start();
            let line = line.strip_prefix("-D, ").unwrap_or(line);
            let line = line.strip_prefix("-r, ").unwrap_or(line);
            let line = line.strip_prefix("-h, ").unwrap_or(line);
            line.strip_prefix("--")
                .map(|rest| rest.split([' ', ',']).next().unwrap().to_owned())
        })
        .collect()
}

fn set(options: &[&str]) -> BTreeSet<String> {
    options.iter().map(|o| o.to_string()).collect()
}

#[test]
fn other_tools_words_are_aliases_of_the_commands_and_options() {
    let project = Project::new(REVERSIBLE);
    let added = project.run_bare(&["add", "tags", "-r", "--source", "migrations"], 0);
    assert_eq!(
        added.stdout,
        "created migrations/0004_tags.up.sql\ncreated migrations/0004_tags.down.sql\n"
    );
    std::fs::remove_file(project.migrations().join("0004_tags.up.sql")).unwrap();
    std::fs::remove_file(project.migrations().join("0004_tags.down.sql")).unwrap();

    let run = project.run_bare(&["run", "-D", "app.db", "--to", "2"], 0);
    assert_contains(&run.stdout, "applied 2 migrations to `app.db`");
    for alias in ["info", "list"] {
        let status = project.run_bare(&[alias, "-D", "app.db"], 0);
        assert_contains(&status.stdout, "current   version 2\n");
    }
    let reverted = project.run_bare(&["revert", "-D", "app.db"], 0);
    assert_contains(
        &reverted.stdout,
        "rolled back 1 migration of `app.db`, at version 1",
    );

    let help = project.run_bare(&["--help"], 0).stdout;
    for alias in [
        "[alias: add]",
        "[alias: run]",
        "[alias: revert]",
        "[aliases: info, list]",
    ] {
        assert_contains(&help, alias);
    }
}

#[test]
fn each_subcommands_help_lists_only_the_options_that_mean_something_there() {
    let project = Project::new(REVERSIBLE);
    let output = &["json", "format"][..];
    let source = &[
        "database",
        "schema",
        "lock-scope",
        "dir",
        "config",
        "folder-format",
        "placeholder",
        "load-extension",
        "foreign-keys",
    ][..];
    let cases: &[(&str, &[&[&str]])] = &[
        ("new", &[&["reversible", "dir", "config"], output]),
        (
            "validate",
            &[
                &[
                    "no-verify",
                    "dir",
                    "config",
                    "folder-format",
                    "placeholder",
                    "function",
                    "collation",
                    "load-extension",
                    "foreign-keys",
                    "postgres",
                ],
                output,
            ],
        ),
        (
            "up",
            &[
                &[
                    "to",
                    "dry-run",
                    "grouped",
                    "allow-out-of-order",
                    "table",
                    "log-file",
                ],
                output,
                source,
            ],
        ),
        ("down", &[&["to", "table", "log-file"], output, source]),
        ("redo", &[&["table", "log-file"], output, source]),
        ("status", &[&["exit-code", "table"], output, source]),
        ("check", &[&["table"], output, source]),
        ("history", &[&["table"], output, source]),
        ("baseline", &[&["table", "log-file"], output, source]),
        ("adopt", &[&["from", "table", "log-file"], output, source]),
        (
            "repair",
            &[
                &["accept-reused-versions", "table", "log-file"],
                output,
                source,
            ],
        ),
        (
            "schema",
            &[&["include-tracking", "check", "table"], output, source],
        ),
        ("completions", &[]),
        ("man", &[&["out-dir"]]),
    ];
    assert_eq!(cases.len(), COMMANDS.len());
    for (command, groups) in cases {
        let mut expected: BTreeSet<String> = groups.iter().flat_map(|g| set(g)).collect();
        expected.insert("help".into());
        assert_eq!(
            options(&project, command),
            expected,
            "migrate {command} --help"
        );
    }
    // Before the subcommand, every option is accepted and applies where it
    // means something.
    let top = options(&project, "--help");
    for option in [
        "database", "dir", "config", "json", "format", "table", "log-file",
    ] {
        assert!(top.contains(option), "migrate --help: {option}");
    }
    project.run_bare(&["-D", "app.db", "--table", "t", "new", "x"], 0);
    for args in [
        &["new", "y", "--database", "app.db"][..],
        &["new", "y", "--table", "t"],
    ] {
        let output = project.run_bare(args, 2);
        assert_contains(&output.stderr, "error: unexpected argument");
    }
}

#[test]
fn completions_for_every_shell_name_every_subcommand() {
    let project = Project::new(&[]);
    std::fs::remove_dir(project.migrations()).unwrap(); // needs no folder
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let output = project.run_bare(&["completions", shell], 0);
        assert!(output.stdout.len() > 1000, "{shell}: {}", output.stdout);
        for command in COMMANDS {
            assert_contains(&output.stdout, command);
        }
        // (fish writes `-l exit-code`, the others `--exit-code`.)
        for option in ["database", "exit-code", "reversible", "dry-run"] {
            assert_contains(&output.stdout, option);
        }
    }
    assert_contains(
        &project.run_bare(&["completions", "bash"], 0).stdout,
        "_migrate()",
    );
    project.run_bare(&["completions", "tcsh"], 2);
}

#[test]
fn man_prints_migrate_1_naming_every_subcommand_and_each_commands_page() {
    let project = Project::new(&[]);
    let page = project.run_bare(&["man"], 0).stdout;
    assert!(page.contains(".TH migrate 1"), "{page}");
    for command in COMMANDS {
        assert_contains(&page, &format!("migrate\\-{command}(1)"));
    }
    let up = project.run_bare(&["man", "up"], 0).stdout;
    assert_contains(&up, ".TH migrate-up 1");
    assert_contains(&up, "\\-\\-dry\\-run");

    let output = project.run_bare(&["man", "nope"], 1);
    assert_contains(
        &output.stderr,
        "error: `nope` is not a command of migrate: new, validate, up,",
    );

    let folder = project.path().join("man1");
    std::fs::create_dir(&folder).unwrap();
    let written = project.run_bare(&["man", "--out-dir", "man1"], 0);
    assert_eq!(written.stdout, "wrote 15 man pages to `man1`\n");
    let mut pages: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    pages.sort();
    let mut expected: Vec<String> = COMMANDS.iter().map(|c| format!("migrate-{c}.1")).collect();
    expected.push("migrate.1".into());
    expected.sort();
    assert_eq!(pages, expected);
}
