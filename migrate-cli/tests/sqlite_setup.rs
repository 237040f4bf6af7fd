//! What the SQLite connection has before a command runs: `--load-extension`
//! (a real extension, compiled here from a few lines of C when a C compiler
//! and SQLite's `sqlite3ext.h` are on the machine), `validate`'s
//! `--function` stand-ins, and `--foreign-keys on|off` (the command line and
//! `migrate.toml`); both SQLite settings refused for PostgreSQL.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Project, assert_contains};

/// An extension that registers `half(x)`, deterministic: x / 2.0.
const HALF: &str = r#"
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1

static void half(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
    (void)argc;
    sqlite3_result_double(ctx, sqlite3_value_double(argv[0]) / 2.0);
}

#ifdef _WIN32
__declspec(dllexport)
#endif
int sqlite3_extension_init(sqlite3 *db, char **error, const sqlite3_api_routines *api) {
    (void)error;
    SQLITE_EXTENSION_INIT2(api);
    return sqlite3_create_function(db, "half", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, 0, half, 0, 0);
}
"#;

/// `half.so` built in `dir` from [`HALF`], or `None` (with a notice) when
/// this machine has no C compiler or no `sqlite3ext.h` (Debian's
/// `libsqlite3-dev`).
fn build_half(dir: &Path) -> Option<PathBuf> {
    let source = dir.join("half.c");
    std::fs::write(&source, HALF).expect("write half.c");
    let library = dir.join(if cfg!(target_os = "macos") {
        "half.dylib"
    } else {
        "half.so"
    });
    let compiler = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let built = Command::new(&compiler)
        .args(["-shared", "-fPIC", "-o"])
        .arg(&library)
        .arg(&source)
        .output();
    match built {
        Ok(output) if output.status.success() => Some(library),
        Ok(output) => {
            eprintln!(
                "skipped: `{compiler}` did not build the test extension (no sqlite3ext.h?): {}",
                String::from_utf8_lossy(&output.stderr)
            );
            None
        }
        Err(error) => {
            eprintln!("skipped: no C compiler `{compiler}` to build the test extension: {error}");
            None
        }
    }
}

/// A generated column calling `half`: SQLite needs the function when the
/// table is created.
const USES_HALF: &[(&str, &str)] = &[(
    "0001_t.sql",
    "CREATE TABLE t (x INTEGER, h REAL GENERATED ALWAYS AS (half(x)) STORED);\nINSERT INTO t (x) VALUES (8);\n",
)];

#[test]
fn an_extension_loads_into_the_connection_and_into_validates_check() {
    let project = Project::new(USES_HALF);
    let Some(library) = build_half(project.path()) else {
        return;
    };
    let library = library.display().to_string();

    let refused = project.run_bare(&["validate"], 1);
    assert_contains(&refused.stderr, "no such function: half");
    assert_contains(&refused.stderr, "`migrate validate --function half`");
    project.run_bare(&["validate", "--load-extension", &library], 0);
    // Before the subcommand too, as every source option.
    project.run_bare(&["--load-extension", &library, "validate"], 0);

    let failed = project.run(&["up"], 1);
    assert_contains(&failed.stderr, "no such function: half");
    project.run(&["up", "--load-extension", &library], 0);
    let halves: Vec<f64> = project.rows("SELECT h FROM t", |row| row.get(0));
    assert_eq!(halves, [4.0], "the extension's function ran");
    // Every command's connection has it: a status reads the same set.
    let status = project.run(&["--load-extension", &library, "status"], 0);
    assert_contains(&status.stdout, "current   version 1\n");
}

#[test]
fn stand_in_functions_let_validate_check_what_the_application_registers() {
    let project = Project::new(USES_HALF);
    let checked = project.run_bare(&["validate", "--function", "half"], 0);
    assert_contains(&checked.stdout, "valid");
    // A stand-in is not the function: `up` still needs the real one.
    project.run(&["up"], 1);
}

#[test]
fn an_extension_that_does_not_load_is_an_error_naming_its_path() {
    let project = Project::new(USES_HALF);
    let missing = project.path().join("no_such_extension.so");
    let missing = missing.display().to_string();
    for args in [
        vec!["validate", "--load-extension", missing.as_str()],
        vec!["-D", "app.db", "up", "--load-extension", missing.as_str()],
    ] {
        let failed = project.run_bare(&args, 1);
        assert_contains(
            &failed.stderr,
            &format!("loading the SQLite extension `{missing}`"),
        );
        assert!(
            !failed.stderr.contains("no such function"),
            "the load failed, not a migration: {}",
            failed.stderr
        );
        assert!(
            !project.database().exists(),
            "`up` that did not run leaves no empty database behind"
        );
    }
    // A file that is not a shared library, on a database that exists.
    project.write_file("not_a_library.so", "plain text");
    drop(project.open());
    let text = project
        .path()
        .join("not_a_library.so")
        .display()
        .to_string();
    let failed = project.run(&["status", "--load-extension", &text], 1);
    assert_contains(
        &failed.stderr,
        &format!("loading the SQLite extension `{text}`"),
    );
}

/// A migration that adds a row its foreign key does not allow.
const DANGLING: &[(&str, &str)] = &[(
    "0001_posts.sql",
    "CREATE TABLE users (id INTEGER PRIMARY KEY);\nCREATE TABLE posts (user_id INTEGER REFERENCES users (id));\nINSERT INTO posts VALUES (7);\n",
)];

#[test]
fn foreign_keys_off_leaves_the_foreign_key_check_out_as_refinery_does() {
    let project = Project::new(DANGLING);
    let refused = project.run(&["up"], 1);
    assert_contains(&refused.stderr, "foreign key");
    assert_eq!(project.tracking("migrate_schema_history").len(), 1);
    let refused = project.run_bare(&["validate"], 1);
    assert_contains(&refused.stderr, "foreign key");

    project.run_bare(&["validate", "--foreign-keys", "off"], 0);
    project.run(&["up", "--foreign-keys", "on"], 1);
    project.run(&["up", "--foreign-keys", "off"], 0);
    assert_eq!(
        project.tracking("migrate_schema_history"),
        [(1, "applied".to_owned())]
    );
    let dangling: Vec<i64> = project.rows("SELECT user_id FROM posts", |row| row.get(0));
    assert_eq!(dangling, [7]);

    // From the settings file, and the command line wins over it.
    let project = Project::new(DANGLING);
    project.write_file("migrate.toml", "foreign_keys = \"off\"\n");
    project.run(&["up", "--foreign-keys", "on"], 1);
    project.run(&["up"], 0);
}

#[test]
fn the_sqlite_settings_are_refused_for_a_postgres_database() {
    // Refused before connecting: no server is needed.
    let project = Project::new(DANGLING);
    for (args, origin) in [
        (vec!["status", "--foreign-keys", "off"], "--foreign-keys"),
        (
            vec!["--load-extension", "half.so", "up"],
            "--load-extension",
        ),
    ] {
        let mut all = vec!["-D", "postgres://nobody@127.0.0.1:1/none"];
        all.extend(args);
        let refused = project.run_bare(&all, 1);
        assert_eq!(
            refused.stderr,
            format!(
                "error: {origin} is a SQLite setting, but `postgres://nobody@127.0.0.1:1/none` is a PostgreSQL database: leave it out for PostgreSQL\n"
            )
        );
    }
}
