//! `embed_migrations!` as a user meets it: a crate outside this workspace that
//! depends on `migrate` by path, built by running `cargo` on it. This is the
//! only place the user's own `CARGO_MANIFEST_DIR`, the `build.rs` line and
//! cargo's rebuild decisions are all real.
//!
//! The crates share one target dir, `target/external-crate`, so their
//! dependencies (rusqlite with bundled SQLite) compile once across tests and
//! runs. It is not `target/debug`: the `cargo test` running this file holds
//! that one's lock. Sharing it means the tests must not build at the same
//! time, hence [`one_build_at_a_time`].

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use tempfile::TempDir;

/// This workspace's root, where the `migrate` package is.
const WORKSPACE: &str = env!("CARGO_MANIFEST_DIR");

/// The program a user would write: embed `migrations`, apply them to an
/// in-memory database, print what it embedded and applied.
const MAIN_RS: &str = r#"const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("migrations");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut conn = rusqlite::Connection::open_in_memory()?;
    let report = MIGRATIONS.run(&mut conn)?;
    println!("{} migrations embedded", MIGRATIONS.len());
    for applied in &report.applied {
        println!("applied {} {}", applied.version, applied.name);
    }
    Ok(())
}
"#;

/// The one line the crate docs tell users to put in `build.rs`.
const BUILD_RS: &str = r#"fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
"#;

/// Serialises the tests of this file: they share one target dir.
fn one_build_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    // A failed test poisons the lock; the next one may still build.
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A package named `app` in a temporary directory, depending on `migrate` by
/// path, with a `migrations/` folder.
struct ExternalCrate {
    dir: TempDir,
}

impl ExternalCrate {
    /// A crate with the documented `build.rs` whose `migrations/` holds
    /// `files` (name, SQL).
    fn new(files: &[(&str, &str)]) -> ExternalCrate {
        let app = ExternalCrate::without_build_rs(files);
        app.write("build.rs", BUILD_RS);
        app
    }

    /// A crate without `build.rs` whose `migrations/` holds `files`.
    fn without_build_rs(files: &[(&str, &str)]) -> ExternalCrate {
        let dir = tempfile::tempdir().expect("create a temporary folder");
        // `:?` writes the path as a quoted string with `\` and `"` escaped,
        // which TOML reads back unchanged.
        let manifest = format!(
            r#"[package]
name = "app"
version = "0.1.0"
edition = "2024"
publish = false

[dependencies]
migrate = {{ path = {WORKSPACE:?} }}
rusqlite = {{ version = "0.42", default-features = false, features = ["bundled"] }}

# Not a member of whatever workspace the temporary folder is in.
[workspace]
"#,
        );
        let app = ExternalCrate { dir };
        app.write("Cargo.toml", manifest);
        // Pins the versions this workspace builds with, so the shared target
        // dir is reused and nothing new is resolved from the registry.
        let lock = fs::read(Path::new(WORKSPACE).join("Cargo.lock")).expect("read Cargo.lock");
        app.write("Cargo.lock", lock);
        app.write("src/main.rs", MAIN_RS);
        for (name, sql) in files {
            app.add_migration(name, sql);
        }
        app
    }

    fn write(&self, path: &str, content: impl AsRef<[u8]>) {
        let path = self.dir.path().join(path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create a folder in the external crate");
        }
        fs::write(&path, content).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    fn add_migration(&self, name: &str, sql: &str) {
        self.write(&format!("migrations/{name}"), sql);
    }

    /// `cargo run --quiet`: the program's output, after checking it ran.
    fn run(&self) -> String {
        let run = self.cargo(&["run", "--quiet"]);
        assert!(
            run.status.success(),
            "cargo run failed:\n{}",
            text(&run.stderr)
        );
        text(&run.stdout)
    }

    /// Adds a migration file after waiting long enough for its mtime to be
    /// later than the last build's, even on a file system with one-second
    /// timestamps; otherwise cargo could not see the change.
    fn add_migration_after_a_build(&self, name: &str, sql: &str) {
        thread::sleep(Duration::from_millis(1100));
        self.add_migration(name, sql);
    }

    /// Runs `cargo <args>` in the crate, with the shared target dir.
    fn cargo(&self, args: &[&str]) -> Output {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let target: PathBuf = [WORKSPACE, "target", "external-crate"].iter().collect();
        Command::new(cargo)
            .args(args)
            .args(["--color", "never"])
            .current_dir(self.dir.path())
            .env("CARGO_TARGET_DIR", target)
            .output()
            .expect("run cargo")
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_duplicate_version_fails_the_build_naming_both_files() {
    let _lock = one_build_at_a_time();
    let app = ExternalCrate::new(&[
        (
            "0001_init.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);",
        ),
        ("0002_a.sql", "CREATE TABLE a (id INTEGER PRIMARY KEY);"),
        ("0002_b.sql", "CREATE TABLE b (id INTEGER PRIMARY KEY);"),
    ]);

    let build = app.cargo(&["build"]);

    let stderr = text(&build.stderr);
    assert!(!build.status.success(), "the build should fail:\n{stderr}");
    assert!(
        stderr.contains(
            "duplicate version 2: `migrations/0002_a.sql`, `migrations/0002_b.sql` each claim it"
        ),
        "the error should name both files:\n{stderr}"
    );
}

#[test]
fn a_new_migration_file_rebuilds_the_crate_through_build_rs() {
    let _lock = one_build_at_a_time();
    let app = ExternalCrate::new(&[(
        "0001_init.sql",
        "CREATE TABLE users (id INTEGER PRIMARY KEY);",
    )]);
    assert_eq!(app.run(), "1 migrations embedded\napplied 1 init\n");

    // Only a new file, nothing edited: `include_str!` tracks the files that
    // existed at the last build, so only the `build.rs` line tells cargo.
    app.add_migration_after_a_build("0002_more.sql", "ALTER TABLE users ADD COLUMN email TEXT;");

    assert_eq!(
        app.run(),
        "2 migrations embedded\napplied 1 init\napplied 2 more\n"
    );
}

/// The control for the test above: without `build.rs` the same steps leave
/// the old binary, so the rebuild there is the `build.rs` line's doing (and the
/// crate docs are right to ask for it).
#[test]
fn without_build_rs_a_new_migration_file_goes_unseen() {
    let _lock = one_build_at_a_time();
    let app = ExternalCrate::without_build_rs(&[(
        "0001_init.sql",
        "CREATE TABLE users (id INTEGER PRIMARY KEY);",
    )]);
    assert_eq!(app.run(), "1 migrations embedded\napplied 1 init\n");

    app.add_migration_after_a_build("0002_more.sql", "ALTER TABLE users ADD COLUMN email TEXT;");

    assert_eq!(
        app.run(),
        "1 migrations embedded\napplied 1 init\n",
        "cargo rebuilt a crate without build.rs when a migration file was added: something \
         else forces the rebuild (is a build script of `migrate` always stale?), so the \
         build.rs test above proves nothing; if the macro now tracks the folder itself, \
         drop the build.rs advice from the docs"
    );
}

/// A Rust migration in a user's crate: compiled in, run, rebuilt when its
/// file is edited (rustc tracks `#[path]` modules), and a compile error in it
/// points at the file.
#[test]
fn a_rust_migration_is_compiled_in_rebuilt_on_edit_and_its_errors_point_at_it() {
    let _lock = one_build_at_a_time();
    let seed = |rows: u32| {
        format!(
            "pub fn up(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {{\n    \
                 for id in 1..={rows} {{\n        \
                     tx.execute(\"INSERT INTO users (id) VALUES (?1)\", [id])?;\n    \
                 }}\n    \
                 Ok(())\n\
             }}\n"
        )
    };
    let app = ExternalCrate::new(&[
        (
            "0001_init.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);",
        ),
        ("0002_seed.rs", &seed(2)),
    ]);
    app.write(
        "src/main.rs",
        MAIN_RS.replace(
            "    Ok(())\n}",
            "    let users: i64 = conn.query_row(\"SELECT count(*) FROM users\", [], |r| r.get(0))?;\n    \
             println!(\"{users} users\");\n    Ok(())\n}",
        ),
    );
    assert_eq!(
        app.run(),
        "2 migrations embedded\napplied 1 init\napplied 2 seed\n2 users\n"
    );

    // Editing the `.rs` file rebuilds: its new code runs.
    app.add_migration_after_a_build("0002_seed.rs", &seed(5));
    assert_eq!(
        app.run(),
        "2 migrations embedded\napplied 1 init\napplied 2 seed\n5 users\n"
    );

    // A type error in it is reported at its own line.
    app.add_migration_after_a_build(
        "0002_seed.rs",
        "pub fn up(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {\n    \
             let count: u32 = \"three\";\n    \
             Ok(())\n\
         }\n",
    );
    let build = app.cargo(&["build"]);
    let stderr = text(&build.stderr);
    assert!(!build.status.success(), "the build should fail:\n{stderr}");
    assert!(
        stderr.contains("migrations/0002_seed.rs:2:"),
        "the error should point into the Rust migration:\n{stderr}"
    );
}
