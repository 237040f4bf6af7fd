//! `validate` and `new`: the folder, with the grammar and checks of
//! `embed_migrations!`. That the set read at run time equals the embedded
//! set field by field is proven once, in the workspace's `tests/embed.rs`;
//! here, that `validate` reports a bad folder with the very words of the
//! macro's compile errors in `migrate-tests/tests/ui/*.stderr`.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{Project, REVERSIBLE, assert_contains, snapshot};
use migrate_core::Migrations;

/// The package of the compile-error tests, where `tests/ui` is.
fn ui_package() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("migrate-tests")
}

/// How the ui cases name their fixture folders: `fixtures/<scenario>`,
/// relative to trybuild's project, where `fixtures` links to
/// `tests/ui/fixtures` (see `migrate-tests/tests/compile_errors.rs`); so
/// `validate` runs in `tests/ui` with the same path, and prints it the same.
const UI_FIXTURES: &str = "\"fixtures/";

#[test]
fn validate_prints_the_macros_compile_errors_word_for_word() {
    let mut checked = Vec::new();
    let mut cases: Vec<_> = fs::read_dir(ui_package().join("tests/ui"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .collect();
    cases.sort();
    for case in cases {
        let source = fs::read_to_string(&case).unwrap();
        let Some(start) = source.find(UI_FIXTURES).map(|quote| quote + 1) else {
            continue; // not about a folder (bad macro input)
        };
        let folder = &source[start..start + source[start..].find('"').unwrap()];
        let stderr = fs::read_to_string(case.with_extension("stderr")).unwrap();
        // The folder problems; not rustc's own errors (`error[E…]`) about a
        // Rust migration, nor those naming trybuild's project (`$DIR`).
        let expected: Vec<String> = stderr
            .lines()
            .filter_map(|line| line.strip_prefix("error: "))
            .filter(|message| !message.contains("$DIR"))
            .map(str::to_owned)
            .collect();
        let output = assert_cmd::Command::cargo_bin("migrate")
            .unwrap()
            .current_dir(ui_package().join("tests/ui"))
            .args(["validate", "--dir", folder])
            .output()
            .unwrap();
        let printed = String::from_utf8(output.stderr).unwrap();
        if stderr.lines().any(|line| line.starts_with("error: ")) && !expected.is_empty() {
            assert_eq!(output.status.code(), Some(1), "{}", case.display());
            for message in &expected {
                assert!(
                    printed.contains(&format!("error: {message}\n"))
                        || printed.contains(&format!("\n  - {message}\n")),
                    "{}: `migrate validate` does not print\n{message}\nit printed\n{printed}",
                    case.display()
                );
            }
            // Nothing more than the macro's problems: one line each, and a
            // heading when there are several.
            // (and the hint naming the format that reads the folder).
            let lines = printed
                .lines()
                .filter(|line| !line.starts_with("hint: "))
                .count();
            assert!(
                lines == expected.len() + usize::from(expected.len() > 1),
                "{printed}"
            );
            checked.push(case.file_stem().unwrap().to_string_lossy().into_owned());
        } else if !stderr.contains("$DIR") {
            // rustc's errors in a Rust migration: the folder itself is valid.
            assert!(output.status.success(), "{}: {printed}", case.display());
        }
    }
    assert!(checked.len() >= 24, "only {checked:?} ui cases checked");
    for case in [
        "goose-annotations",
        "other-tools-sections",
        "untouched-template",
    ] {
        assert!(checked.iter().any(|c| c == case), "{case} not checked");
    }
}

#[test]
fn validate_lists_every_problem_in_text_and_json() {
    let output = assert_cmd::Command::cargo_bin("migrate")
        .unwrap()
        .current_dir(ui_package())
        .args(["validate", "--dir", "tests/ui/fixtures/several_problems"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    snapshot(
        "validate-several-problems",
        &String::from_utf8(output.stderr).unwrap(),
    );

    let output = assert_cmd::Command::cargo_bin("migrate")
        .unwrap()
        .current_dir(ui_package())
        .args([
            "validate",
            "--json",
            "--dir",
            "tests/ui/fixtures/several_problems",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["valid"], false);
    assert_eq!(report["problems"].as_array().unwrap().len(), 9);
}

#[test]
fn validate_needs_no_database_and_summarises_a_valid_folder() {
    let project = Project::new(REVERSIBLE);
    project.write(
        "0004_fill.rs",
        "pub fn up(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> { Ok(()) }\n",
    );
    let output = project.bare().arg("validate").output().unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "valid: `migrations` has 4 migrations (1 to 4), 3 reversible, 1 in Rust\n"
    );
    assert!(!project.database().exists());

    let output = project
        .bare()
        .args(["validate", "--json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let set = Migrations::from_folder(project.migrations()).unwrap();
    let fill = set.get(4).unwrap();
    assert_eq!(report["migrations"][3]["kind"], "rust");
    assert_eq!(
        report["migrations"][3]["checksum"],
        fill.checksum().to_string()
    );
    assert_eq!(report["migrations"][0]["down_file"], "0001_users.down.sql");
}

#[test]
fn new_continues_the_folders_numbering_with_its_padding() {
    let project = Project::new(REVERSIBLE);
    let output = project.bare().args(["new", "add_email"]).output().unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "created migrations/0004_add_email.sql\n"
    );
    let output = project
        .bare()
        .args(["new", "tags", "--reversible"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "created migrations/0005_tags.up.sql\ncreated migrations/0005_tags.down.sql\n"
    );
    let up = fs::read_to_string(project.migrations().join("0004_add_email.sql")).unwrap();
    assert!(
        up.starts_with("-- Migration 0004: add_email (up, without a down)\n"),
        "{up}"
    );
    // Once written, the templates are migrations of one folder.
    for file in [
        "0004_add_email.sql",
        "0005_tags.up.sql",
        "0005_tags.down.sql",
    ] {
        let path = project.migrations().join(file);
        let text = fs::read_to_string(&path).unwrap();
        fs::write(&path, text + "SELECT 1;\n").unwrap();
    }
    let set = Migrations::from_folder(project.migrations()).unwrap();
    assert_eq!(set.len(), 5);
    assert!(set.get(5).unwrap().is_reversible());
    assert!(!set.get(4).unwrap().up_no_transaction());
}

#[test]
fn an_untouched_template_of_new_is_refused_by_validate_and_up() {
    let project = Project::new(REVERSIBLE);
    project.run(&["new", "add_email"], 0);
    let refused = project.run(&["validate"], 1);
    assert_eq!(
        refused.stderr,
        "error: `migrations/0004_add_email.sql` is still the template `migrate new` wrote: write the migration's SQL below its comments, or delete the file\n"
    );
    let refused = project.run(&["up"], 1);
    assert_contains(
        &refused.stderr,
        "`migrations/0004_add_email.sql` is still the template `migrate new` wrote",
    );
    assert!(!project.database().exists() || project.objects().is_empty());

    project.run(&["new", "tags", "--reversible"], 0);
    let refused = project.run(&["validate", "--no-verify"], 1);
    assert_contains(
        &refused.stderr,
        "\n  - `migrations/0005_tags.down.sql` is still the template `migrate new` wrote: write the down's SQL below its comments, or delete the file to leave the migration without a down\n",
    );
    assert_contains(
        &refused.stderr,
        "\n  - `migrations/0005_tags.up.sql` is still the template `migrate new` wrote: write the migration's SQL below its comments, or delete the file\n",
    );

    // Written, or deleted, they are no longer refused.
    let up = project.migrations().join("0004_add_email.sql");
    let text = fs::read_to_string(&up).unwrap();
    fs::write(&up, text + "ALTER TABLE users ADD email TEXT;\n").unwrap();
    fs::remove_file(project.migrations().join("0005_tags.down.sql")).unwrap();
    fs::remove_file(project.migrations().join("0005_tags.up.sql")).unwrap();
    project.run(&["up"], 0);
    assert_eq!(project.tracking("migrate_schema_history").len(), 4);
}

#[test]
fn new_starts_an_empty_folder_at_0001_and_follows_a_timestamp_folder() {
    let project = Project::new(&[]);
    fs::remove_dir(project.migrations()).unwrap();
    let output = project.bare().args(["new", "init"]).output().unwrap();
    assert!(output.status.success());
    assert!(project.migrations().join("0001_init.sql").exists());

    let project = Project::new(&[("20200101000000_init.sql", "CREATE TABLE t (x);\n")]);
    let output = project
        .bare()
        .args(["new", "more", "--json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let created = report["created"][0].as_str().unwrap();
    let version = &created["migrations/".len()..created.find("_more").unwrap()];
    assert_eq!(version.len(), 14, "{created}");
    assert!(
        version.as_bytes().iter().all(u8::is_ascii_digit) && version > "20200101000000",
        "{created}"
    );
    // Still one scheme: the one problem is the untouched template.
    let error = Migrations::from_folder(project.migrations()).unwrap_err();
    assert!(
        matches!(
            error.problems(),
            [migrate_core::folder::FolderProblem::UntouchedTemplate { down: false, .. }]
        ),
        "{error}"
    );
}

#[test]
fn new_refuses_a_name_that_would_not_read_back() {
    let project = Project::new(REVERSIBLE);
    for name in ["x.up", "a/b", ""] {
        let output = project.bare().args(["new", name]).output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{name:?}");
        assert!(String::from_utf8_lossy(&output.stderr).starts_with(&format!("error: `{name}`")));
    }
    assert_eq!(
        fs::read_dir(project.migrations()).unwrap().count(),
        REVERSIBLE.len()
    );
}

#[test]
fn validate_runs_the_migrations_on_an_empty_database_unless_told_not_to() {
    let project = Project::new(&[
        (
            "0001_users.up.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
        ),
        ("0001_users.down.sql", "DROP TABLE user;\n"),
        (
            "0002_tags.up.sql",
            "CREATE TABLE tags (id INTEGER);\nCREATE TABLE tag_links (id INTEGER);\n",
        ),
        ("0002_tags.down.sql", "DROP TABLE tags;\n"),
    ]);

    let checked = project.run(&["validate"], 1);

    assert_eq!(
        checked.stderr,
        "error: 2 problems checking migrations folder `migrations`:\n  \
         - checking `migrations` on an empty in-memory SQLite database: the down of migration 1 (users) fails in `0001_users.down.sql` at line 1 (`DROP TABLE user;`): no such table: user\n  \
         - checking `migrations` on an empty in-memory SQLite database: the down of migration 2 (tags) in `0002_tags.down.sql` does not restore the schema from before its up: table `tag_links` still exists\n"
    );
    // No database was needed or made.
    assert!(!project.database().exists());

    let rules_only = project.run(&["validate", "--no-verify"], 0);
    assert_contains(&rules_only.stdout, "valid: `migrations` has 2 migrations");
}

#[test]
fn every_folder_command_refuses_another_tools_format_and_runs_none_of_it() {
    let project = Project::new(&[(
        "00001_users.sql",
        "-- +goose Up\r\nCREATE TABLE users (id INTEGER);\r\n-- +goose Down\r\nDROP TABLE users;\r\n",
    )]);
    let message = "error: `migrations/00001_users.sql`, line 1: `-- +goose Up` is a goose annotation; looks like goose: use format = \"goose\"";
    for args in [
        &["validate", "--no-verify"][..],
        &["up"],
        &["up", "--dry-run"],
        &["baseline", "1"],
    ] {
        let refused = project.run(args, 1);
        assert_contains(&refused.stderr, message);
        assert_contains(
            &refused.stderr,
            "\nhint: the folder `migrations` looks like goose's layout, which `migrate` reads as goose does: add `--folder-format goose`\n",
        );
    }
    // Nothing ran: no table, up or down.
    assert!(!project.database().exists() || project.objects().is_empty());
}

#[test]
fn format_reads_another_tools_folder_on_every_command() {
    let project = Project::new(&[
        (
            "00001_users.sql",
            "-- +goose Up\nCREATE TABLE users (id INTEGER);\n-- +goose Down\nDROP TABLE users;\n",
        ),
        (
            "00003_posts.sql",
            "-- +goose Up\n-- +goose NO TRANSACTION\nCREATE TABLE posts (id INTEGER);\n-- +goose Down\nDROP TABLE posts;\n",
        ),
    ]);
    let valid = project.run(&["validate", "--folder-format", "goose"], 0);
    assert_contains(&valid.stdout, "valid: `migrations` has 2 migrations");
    // Before the subcommand too; the up sections only, goose's gap kept.
    project.run(&["--folder-format", "goose", "up"], 0);
    assert_eq!(project.objects(), ["table posts", "table users"]);
    project.run(&["down", "--folder-format", "goose"], 0);
    assert_eq!(project.objects(), ["table users"]);
    let unknown = project.run(&["validate", "--folder-format", "liquibase"], 2);
    assert_contains(&unknown.stderr, "unknown format `liquibase`");
}

#[test]
fn validate_suggests_the_format_a_folder_looks_like() {
    let project = Project::new(&[]);
    let migration = project.migrations().join("2024-01-31-120000_create_users");
    std::fs::create_dir_all(&migration).unwrap();
    std::fs::write(migration.join("up.sql"), "CREATE TABLE users (id INTEGER);").unwrap();
    std::fs::write(migration.join("down.sql"), "DROP TABLE users;").unwrap();
    let refused = project.run(&["validate"], 1);
    assert_contains(
        &refused.stderr,
        "hint: the folder `migrations` looks like diesel's layout, which `migrate` reads as diesel does: add `--folder-format diesel`",
    );
    let valid = project.run(&["validate", "--folder-format", "diesel"], 0);
    assert_contains(&valid.stdout, "valid: `migrations` has 1 migration");
}
