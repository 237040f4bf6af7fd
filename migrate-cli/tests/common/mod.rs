//! Helpers of the CLI tests: a temporary project (a migrations folder and a
//! database file) to run the real `migrate` binary in, and snapshots.

#![allow(dead_code)] // each test file uses a different subset

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use rusqlite::Connection;
use tempfile::TempDir;

/// Three reversible migrations: users, posts, an index on posts.
pub const REVERSIBLE: &[(&str, &str)] = &[
    (
        "0001_users.up.sql",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);\n",
    ),
    ("0001_users.down.sql", "DROP TABLE users;\n"),
    (
        "0002_posts.up.sql",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));\n",
    ),
    ("0002_posts.down.sql", "DROP TABLE posts;\n"),
    (
        "0003_posts_by_user.up.sql",
        "CREATE INDEX posts_by_user ON posts (user_id);\n",
    ),
    ("0003_posts_by_user.down.sql", "DROP INDEX posts_by_user;\n"),
];

/// After a merge: `app.db` applied `0001_users.sql` and `0002_add_phone.sql`,
/// then the folder renumbered add_phone to `0003_add_phone.sql` (the same
/// content) because the other side's `0002_add_avatar.sql` took version 2.
/// Times and durations fixed.
pub fn renumbered_after_a_merge() -> Project {
    let project = Project::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
        ),
        (
            "0002_add_phone.sql",
            "ALTER TABLE users ADD COLUMN phone TEXT;\n",
        ),
    ]);
    project.run(&["up"], 0);
    project.rename("0002_add_phone.sql", "0003_add_phone.sql");
    project.write(
        "0002_add_avatar.sql",
        "ALTER TABLE users ADD COLUMN avatar TEXT;\n",
    );
    project.fix_times();
    project
}

/// A temporary folder holding `migrations/` and, once a command creates it,
/// `app.db`; commands run inside it.
pub struct Project {
    dir: TempDir,
}

impl Project {
    /// A project whose `migrations/` holds `files` (name, content).
    pub fn new(files: &[(&str, &str)]) -> Project {
        let project = Project {
            dir: tempfile::tempdir().expect("create a temporary folder"),
        };
        fs::create_dir(project.migrations()).expect("create migrations/");
        for (name, content) in files {
            project.write(name, content);
        }
        project
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn migrations(&self) -> PathBuf {
        self.path().join("migrations")
    }

    pub fn database(&self) -> PathBuf {
        self.path().join("app.db")
    }

    /// Writes a file in `migrations/`.
    pub fn write(&self, name: &str, content: &str) {
        fs::write(self.migrations().join(name), content).expect("write a migration file");
    }

    /// Renames a file in `migrations/`, its content unchanged.
    pub fn rename(&self, from: &str, to: &str) {
        fs::rename(self.migrations().join(from), self.migrations().join(to))
            .expect("rename a migration file");
    }

    /// `migrate --database app.db` run in the project, without the caller's
    /// `DATABASE_URL` or colour settings.
    pub fn migrate(&self) -> Command {
        let mut command = self.bare();
        command.args(["--database", "app.db"]);
        command
    }

    /// `migrate` run in the project, with no options.
    pub fn bare(&self) -> Command {
        let mut command = Command::cargo_bin("migrate").expect("the migrate binary");
        command
            .current_dir(self.path())
            .env_remove("DATABASE_URL")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("NO_COLOR");
        command
    }

    /// Runs `migrate --database app.db <args>` and returns its output,
    /// asserting its exit code.
    pub fn run(&self, args: &[&str], code: i32) -> Output {
        run(self.migrate().args(args), code)
    }

    /// Runs `migrate <args>` (no `--database`) and returns its output,
    /// asserting its exit code.
    pub fn run_bare(&self, args: &[&str], code: i32) -> Output {
        run(self.bare().args(args), code)
    }

    /// Writes a file in the project's folder (beside `migrations/`),
    /// creating its folder.
    pub fn write_file(&self, path: &str, content: &str) {
        let path = self.path().join(path);
        fs::create_dir_all(path.parent().unwrap()).expect("create the folder");
        fs::write(path, content).expect("write a file");
    }

    /// A connection to `app.db`.
    pub fn open(&self) -> Connection {
        Connection::open(self.database()).expect("open app.db")
    }

    /// Tables, indexes, views and triggers of `app.db`, as `type name`,
    /// without SQLite's own and the tracking tables.
    pub fn objects(&self) -> Vec<String> {
        self.rows(
            "SELECT type || ' ' || name FROM sqlite_master
             WHERE name NOT LIKE 'sqlite_%' AND tbl_name NOT LIKE 'migrate_schema_history%'
             ORDER BY type, name",
            |row| row.get(0),
        )
    }

    /// `(version, state)` of every row of the tracking table `table`.
    pub fn tracking(&self, table: &str) -> Vec<(i64, String)> {
        self.rows(
            &format!("SELECT version, state FROM {table} ORDER BY version"),
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
    }

    /// Every row of a query on `app.db`, read by `read`.
    pub fn rows<T>(
        &self,
        sql: &str,
        read: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Vec<T> {
        let conn = self.open();
        let mut statement = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        statement
            .query_map([], read)
            .and_then(Iterator::collect)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Sets every recorded time to 2024-01-31T12:00:00.000Z and every
    /// duration to 3 ms, so that status and history print the same each run.
    pub fn fix_times(&self) {
        self.open()
            .execute_batch(
                "UPDATE migrate_schema_history SET applied_at = '2024-01-31T12:00:00.000Z', duration_ms = 3;
                 UPDATE migrate_schema_history_events SET at = '2024-01-31T12:00:00.000Z',
                     duration_ms = CASE WHEN duration_ms IS NULL THEN NULL ELSE 3 END;",
            )
            .expect("fix the recorded times");
    }
}

/// Runs `command` and returns its output, asserting its exit code.
pub fn run(command: &mut Command, code: i32) -> Output {
    let output = command.output().expect("run migrate");
    let result = Output {
        stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
    };
    assert_eq!(
        output.status.code(),
        Some(code),
        "{command:?}\nstdout:\n{}\nstderr:\n{}",
        result.stdout,
        result.stderr
    );
    result
}

/// What a command printed.
pub struct Output {
    pub stdout: String,
    pub stderr: String,
}

/// Compares `actual` with `tests/snapshots/<name>.txt`; with
/// `UPDATE_SNAPSHOTS=1`, writes it there instead (read the diff before
/// committing it).
pub fn snapshot(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("{name}.txt"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        fs::write(&path, actual).expect("write the snapshot");
        return;
    }
    let expected = fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "no snapshot `{}`: run with UPDATE_SNAPSHOTS=1 and review it\nactual:\n{actual}",
            path.display()
        )
    });
    assert_eq!(
        actual,
        expected,
        "output differs from `{}` (UPDATE_SNAPSHOTS=1 to accept)",
        path.display()
    );
}

/// `text` with every `<digits> ms` as `N ms`: durations vary between runs.
pub fn without_durations(text: &str) -> String {
    let mut result = String::new();
    let mut digits = String::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            if !digits.is_empty() {
                result.push_str(if rest.starts_with(" ms") {
                    "N"
                } else {
                    &digits
                });
                digits.clear();
            }
            result.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    result.push_str(&digits);
    result
}

/// Asserts that `text` contains `part`, showing both when it does not.
#[track_caller]
pub fn assert_contains(text: &str, part: &str) {
    assert!(text.contains(part), "expected\n{part}\nin\n{text}");
}

/// A database where 1 is applied, 2 was applied and its file edited since
/// (divergent), 3 failed, and 4 is pending; times and durations fixed.
pub fn mixed_states() -> Project {
    let project = Project::new(REVERSIBLE);
    project.run(&["up", "--to", "2"], 0);
    project.write(
        "0003_posts_by_user.up.sql",
        "CREATE INDEX posts_by_user ON nowhere (user_id);\n",
    );
    project.write("0004_tags.sql", "CREATE TABLE tags (name TEXT);\n");
    project.run(&["up"], 1);
    project.write(
        "0002_posts.up.sql",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id), title TEXT);\n",
    );
    project.fix_times();
    project
}
