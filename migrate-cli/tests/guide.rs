//! The `migrate …` commands the guide shows (`docs/`), run through the real
//! binary as they are written there.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::Project;

/// The workspace root, where `docs/` is.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("migrate-cli sits in the workspace")
        .to_path_buf()
}

/// The commands of the page's ```sh blocks, each split into its words, with
/// `# comments` left out. Every command starts with `migrate`.
fn commands(page: &str) -> Vec<Vec<String>> {
    let path = root().join("docs").join(page);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut in_sh = false;
    let mut commands = Vec::new();
    for line in text.lines() {
        if line.starts_with("```") {
            in_sh = line == "```sh";
            continue;
        }
        let command = line.split('#').next().unwrap_or_default().trim();
        if in_sh && !command.is_empty() {
            let words: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
            assert_eq!(words[0], "migrate", "a command of docs/{page}: {line}");
            commands.push(words[1..].to_vec());
        }
    }
    commands
}

#[test]
fn coming_from_another_tool_takes_over_a_database_as_the_page_shows() {
    // The guide's folder (four migrations, the last one in Rust), and a
    // database another tool brought to version 3, with that tool's own
    // tracking table.
    let project = Project::new(&[]);
    for entry in fs::read_dir(root().join("docs/migrations")).unwrap() {
        let path = entry.unwrap().path();
        fs::copy(&path, project.migrations().join(path.file_name().unwrap())).unwrap();
    }
    project
        .open()
        .execute_batch(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT);
             CREATE TABLE projects (id INTEGER PRIMARY KEY, owner INTEGER NOT NULL REFERENCES users (id), name TEXT NOT NULL);
             CREATE INDEX projects_by_owner ON projects (owner);
             CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY);
             INSERT INTO _sqlx_migrations VALUES (1), (2), (3);",
        )
        .unwrap();

    let commands = commands("coming-from-another-tool.md");
    assert_eq!(commands.len(), 3, "{commands:?}");
    let mut outputs = Vec::new();
    for args in &commands {
        let output = project.bare().args(args).output().unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(
            output.status.success(),
            "migrate {args:?}\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        outputs.push(stdout);
    }

    // What the comments say: 1 to 3 recorded as applied, not run; 4 pending;
    // the other tool's table left as it was.
    let applied = |version| (version, "applied".to_owned());
    assert_eq!(
        project.tracking("migrate_schema_history"),
        [applied(1), applied(2), applied(3)]
    );
    assert!(outputs[2].contains("pending"), "{}", outputs[2]);
    let other: Vec<i64> = project.rows("SELECT version FROM _sqlx_migrations", |row| row.get(0));
    assert_eq!(other, [1, 2, 3]);
}
