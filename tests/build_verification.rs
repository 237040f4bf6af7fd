//! Verification by running (`migrate::sqlite::verify`, which `embed_migrations!` runs
//! at build time): every migration applied in order to an empty in-memory
//! SQLite database, every down checked to restore the schema and the up to
//! apply again after it, directives and pragmas as at run time, Rust
//! migrations without their code taken as changing nothing.
//! (The compile errors themselves are in `migrate-tests/tests/ui/verify-*`;
//! the embedded schema and drift in `check_schema.rs`.)

mod common;

use common::{Database, Folder};
use migrate::sqlite::verify;
use migrate::sqlite::verify::{Stopped, VerifyProblem};
use migrate::{Direction, Migrations};

/// The messages of every problem `verify` finds in the folder.
fn problems(folder: &Folder) -> Vec<String> {
    match verify(&folder.migrations()) {
        Ok(verified) => panic!("expected problems, verification passed: {verified:?}"),
        Err(error) => error.problems().iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn downs_that_restore_the_schema_pass_and_give_the_schema_a_real_run_produces()
-> migrate::Result<()> {
    let folder = Folder::new(&[
        (
            "0001_users.up.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);",
        ),
        ("0001_users.down.sql", "DROP TABLE users;"),
        (
            "0002_email.up.sql",
            "ALTER TABLE users ADD COLUMN email TEXT;\nCREATE UNIQUE INDEX users_email ON users (email);",
        ),
        (
            "0002_email.down.sql",
            "DROP INDEX users_email;\nALTER TABLE users DROP COLUMN email;",
        ),
        (
            "0003_names.up.sql",
            "CREATE VIEW names AS SELECT name FROM users;\n\
             CREATE TRIGGER users_no_blank BEFORE INSERT ON users WHEN NEW.name = '' BEGIN SELECT RAISE(ABORT, 'blank'); END;",
        ),
        (
            "0003_names.down.sql",
            "DROP TRIGGER users_no_blank;\nDROP VIEW names;",
        ),
        // Rebuilt with other spacing and quoting: the same schema.
        (
            "0004_rename.up.sql",
            "ALTER TABLE users RENAME COLUMN name TO full_name;",
        ),
        (
            "0004_rename.down.sql",
            "ALTER TABLE users RENAME COLUMN full_name TO name;",
        ),
    ]);
    let migrations = folder.migrations();

    let verified = verify(&migrations).unwrap_or_else(|error| panic!("{error}"));

    assert_eq!(verified.stopped, None);
    let schema = verified.schema.expect("the schema of the whole set");
    let db = Database::new();
    let mut conn = db.open();
    migrations.run(&mut conn)?;
    let real: String = common::schema_in_creation_order(&conn)
        .iter()
        .map(|sql| format!("{sql};\n"))
        .collect();
    assert_eq!(schema.to_sql(), real);
    assert!(
        schema
            .to_sql()
            .contains("full_name TEXT NOT NULL, email TEXT")
    );
    Ok(())
}

#[test]
fn every_down_problem_is_reported_at_once_and_verification_goes_on() {
    let folder = Folder::new(&[
        (
            "0001_users.up.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);",
        ),
        ("0001_users.down.sql", "DROP TABLE users;"),
        (
            "0002_folders.up.sql",
            "CREATE TABLE folders (id INTEGER PRIMARY KEY);\nCREATE TABLE folders_ciphers (folder_id INTEGER);",
        ),
        ("0002_folders.down.sql", "DROP TABLE folders;"),
        (
            "0003_email.up.sql",
            "ALTER TABLE users ADD COLUMN email TEXT;",
        ),
        ("0003_email.down.sql", "ALTER TABLE users DROP COLUMN name;"),
        (
            "0004_tags.up.sql",
            "CREATE TABLE tags (id INTEGER PRIMARY KEY);",
        ),
        ("0004_tags.down.sql", "DROP TABLE tag;"),
        // Verified from what the ups alone leave, so no follow-on problem.
        (
            "0005_more.sql",
            "INSERT INTO folders_ciphers VALUES (1);\nINSERT INTO tags VALUES (1);",
        ),
    ]);

    assert_eq!(
        problems(&folder),
        [
            "the down of migration 2 (folders) in `0002_folders.down.sql` does not restore the schema from before its up: table `folders_ciphers` still exists",
            "the down of migration 3 (email) in `0003_email.down.sql` does not restore the schema from before its up: column `users.name` is missing; column `users.email` still exists",
            "the down of migration 4 (tags) fails in `0004_tags.down.sql` at line 1 (`DROP TABLE tag;`): no such table: tag",
        ]
    );
}

#[test]
fn a_failing_up_is_one_problem_and_nothing_after_it_is_tried() {
    let folder = Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);",
        ),
        (
            "0002_emails.sql",
            "-- add emails\nALTER TABLE users ADD COLUMN email TEXT;\n\nUPDATE userz SET email = 'x';",
        ),
        ("0003_also_broken.sql", "SELECT * FROM nowhere;"),
    ]);

    let migrations = folder.migrations();
    let error = verify(&migrations).unwrap_err();

    assert_eq!(
        error.problems(),
        [VerifyProblem::Failed {
            version: 2,
            name: "emails".to_owned(),
            file: "0002_emails.sql".to_owned(),
            direction: Direction::Up,
            again: false,
            line: Some(4),
            statement: Some("UPDATE userz SET email = 'x';".to_owned()),
            message: "no such table: userz".to_owned(),
        }]
    );
    assert_eq!(
        error.to_string(),
        "1 problem verifying the migrations on an empty in-memory SQLite database\n  \
         - migration 2 (emails) fails in `0002_emails.sql` at line 4 (`UPDATE userz SET email = 'x';`): no such table: userz"
    );
    assert!(!error.problems()[0].needs_application_setup());
}

#[test]
fn an_up_that_cannot_run_again_after_its_down_is_a_problem() {
    // The down restores the schema but not the data, so a redo would fail.
    let folder = Folder::new(&[
        ("0001_log.sql", "CREATE TABLE log (id INTEGER PRIMARY KEY);"),
        (
            "0002_seed.up.sql",
            "INSERT INTO log VALUES (1);\nCREATE TABLE seeded (x);",
        ),
        ("0002_seed.down.sql", "DROP TABLE seeded;"),
    ]);

    assert_eq!(
        problems(&folder),
        [
            "applied again after its down, migration 2 (seed) fails in `0002_seed.up.sql` at line 1 (`INSERT INTO log VALUES (1);`): UNIQUE constraint failed: log.id"
        ]
    );
}

#[test]
fn no_transaction_migrations_run_outside_a_transaction_as_at_run_time() {
    let vacuum = Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);",
        ),
        ("0002_vacuum.sql", "-- migrate:no-transaction\nVACUUM;"),
    ]);
    assert!(verify(&vacuum.migrations()).is_ok());

    let in_a_transaction = Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);",
        ),
        ("0002_vacuum.sql", "VACUUM;"),
    ]);
    assert_eq!(
        problems(&in_a_transaction),
        [
            "migration 2 (vacuum) fails in `0002_vacuum.sql` at line 1 (`VACUUM;`): cannot VACUUM from within a transaction"
        ]
    );
}

#[test]
fn the_foreign_key_check_runs_as_at_run_time() {
    let folder = Folder::new(&[
        (
            "0001_tables.sql",
            "CREATE TABLE teams (id INTEGER PRIMARY KEY);\nCREATE TABLE players (team_id INTEGER REFERENCES teams (id));",
        ),
        ("0002_orphan.sql", "INSERT INTO players VALUES (7);"),
    ]);

    let found = problems(&folder);

    assert_eq!(found.len(), 1);
    assert!(
        found[0].starts_with("migration 2 (orphan) fails in `0002_orphan.sql`: ")
            && found[0].contains("`players`"),
        "{found:?}"
    );

    // A foreign key naming a column that is not a key fails the check.
    let mismatch = Folder::new(&[
        ("0001_teams.sql", "CREATE TABLE teams (name TEXT);"),
        (
            "0002_players.sql",
            "CREATE TABLE players (team TEXT REFERENCES teams (name));",
        ),
    ]);
    assert_eq!(
        problems(&mismatch),
        [
            "migration 2 (players) fails in `0002_players.sql`: running PRAGMA foreign_key_check: foreign key mismatch - \"players\" referencing \"teams\""
        ]
    );
}

#[test]
fn a_table_rebuild_that_breaks_foreign_keys_only_part_way_passes_as_at_run_time() {
    // SQLite's way to change a column's type: copy, drop, rename. With
    // foreign keys enforced, the DROP would fail; the runner turns them off
    // for the transaction and checks before the commit, and so does
    // verification.
    let folder = Folder::new(&[
        (
            "0001_tables.sql",
            "CREATE TABLE teams (id INTEGER PRIMARY KEY, name INTEGER);
             CREATE TABLE players (team_id INTEGER REFERENCES teams (id));
             INSERT INTO teams VALUES (1, 7);
INSERT INTO players VALUES (1);",
        ),
        (
            "0002_team_names_as_text.sql",
            "CREATE TABLE teams_new (id INTEGER PRIMARY KEY, name TEXT);
             INSERT INTO teams_new SELECT id, CAST(name AS TEXT) FROM teams;
             DROP TABLE teams;
             ALTER TABLE teams_new RENAME TO teams;",
        ),
    ]);

    let verified = verify(&folder.migrations()).unwrap_or_else(|error| panic!("{error}"));

    let schema = verified.schema.expect("the whole set ran").to_sql();
    assert!(schema.contains("name TEXT"), "{schema}");
}

#[test]
fn a_function_only_the_application_has_is_flagged_for_the_opt_out() {
    let folder = Folder::new(&[
        ("0001_users.sql", "CREATE TABLE users (password TEXT);"),
        (
            "0002_hash.sql",
            "UPDATE users SET password = app_hash(password);",
        ),
    ]);

    let error = verify(&folder.migrations()).unwrap_err();

    assert!(error.problems()[0].needs_application_setup());
    assert!(error.to_string().ends_with("no such function: app_hash"));
}

#[test]
fn after_a_rust_migration_without_code_a_failing_statement_ends_verification_quietly() {
    // Read at run time, the Rust migration has no code: the table it would
    // create is not there, so 0003 fails, which may not be its fault.
    let folder = Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);",
        ),
        (
            "0002_cache.rs",
            "pub fn up(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {\n    tx.execute_batch(\"CREATE TABLE cache (k)\")\n}\n",
        ),
        ("0003_cache_index.sql", "CREATE INDEX cache_k ON cache (k);"),
        ("0004_broken.sql", "SELECT * FROM nowhere;"),
    ]);

    let verified = verify(&folder.migrations()).unwrap_or_else(|error| panic!("{error}"));

    assert_eq!(verified.schema, None);
    assert_eq!(
        verified.stopped,
        Some(Stopped {
            version: 3,
            after_rust: 2,
            message: "migration 3 (cache_index) fails in `0003_cache_index.sql` at line 1 (`CREATE INDEX cache_k ON cache (k);`): no such table: main.cache".to_owned(),
        })
    );
}

#[test]
fn before_a_rust_migration_and_for_downs_after_one_problems_still_count() {
    let folder = Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);",
        ),
        (
            "0002_fill.rs",
            "pub fn up(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {\n    Ok(())\n}\n",
        ),
        (
            "0003_tags.up.sql",
            "CREATE TABLE tags (id INTEGER PRIMARY KEY);\nCREATE TABLE tag_links (tag_id INTEGER);",
        ),
        ("0003_tags.down.sql", "DROP TABLE tags;"),
    ]);
    assert_eq!(
        problems(&folder),
        [
            "the down of migration 3 (tags) in `0003_tags.down.sql` does not restore the schema from before its up: table `tag_links` still exists"
        ]
    );

    folder.write(
        "0001_users.sql",
        "CREATE TABLE users (id INTEGER PRIMARY KEY) STRICTLY;",
    );
    assert_eq!(
        problems(&folder)[0],
        "migration 1 (users) fails in `0001_users.sql` at line 1 (`CREATE TABLE users (id INTEGER PRIMARY KEY) STRICTLY;`): unknown table option: STRICTLY"
    );
}

#[test]
fn an_embedded_set_with_rust_code_runs_it() -> migrate::Result<()> {
    // Compiled in, the Rust migration runs: its down deletes the rows its up
    // inserted, and would fail if the up had not run.
    const SET: Migrations = migrate::embed_migrations!("tests/fixtures/rust_and_directives");

    let verified = verify(&SET).unwrap_or_else(|error| panic!("{error}"));

    assert_eq!(verified.stopped, None);
    let schema = verified.schema.expect("the whole set ran");
    let names: Vec<&str> = schema.objects().iter().map(|o| o.name()).collect();
    assert_eq!(names, ["accounts", "accounts_by_name", "audit"]);
    Ok(())
}

#[test]
fn verify_false_embeds_a_set_that_needs_the_applications_connection() -> migrate::Result<()> {
    // Verified, this set would not build: `app_hash` exists only on the
    // application's connection
    // (`migrate-tests/tests/ui/verify-unknown-function.rs`).
    const NEEDS_APP: Migrations =
        migrate::embed_migrations!("tests/fixtures/needs_app_function", verify = false);
    let db = Database::new();
    let mut conn = db.open();
    conn.create_scalar_function(
        "app_hash",
        1,
        rusqlite::functions::FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| Ok(format!("hashed:{}", ctx.get::<String>(0)?)),
    )
    .map_err(|source| migrate::Error::database("registering app_hash", source))?;

    NEEDS_APP.run(&mut conn)?;

    assert_eq!(NEEDS_APP.embedded_schema(), None);
    assert_eq!(
        common::rows(&conn, "SELECT password FROM users"),
        [[rusqlite::types::Value::Text("hashed:hunter2".to_owned())]]
    );
    Ok(())
}

#[test]
fn functions_named_for_the_check_build_verified_and_run_with_the_applications_own()
-> migrate::Result<()> {
    // The functions are stand-ins at build time (the set is checked, and
    // its schema embedded); at run time the application's connection has
    // the real ones, which are what run.
    const NAMED: Migrations = migrate::embed_migrations!(
        "tests/fixtures/app_function_in_check",
        functions(app_is_email, "app_domain")
    );
    let set = NAMED;
    let schema = set
        .embedded_schema()
        .expect("checked, so its schema is embedded");
    assert_eq!(
        schema
            .objects()
            .iter()
            .map(|o| o.name())
            .collect::<Vec<_>>(),
        ["users", "users_by_domain"]
    );
    let db = Database::new();
    let mut conn = db.open();
    let refused = set.run(&mut conn).unwrap_err();
    assert!(
        refused.to_string().contains("no such function: app_"),
        "without the real functions the run fails: {refused}"
    );
    let flags = rusqlite::functions::FunctionFlags::SQLITE_DETERMINISTIC;
    let register = |conn: &rusqlite::Connection| {
        conn.create_scalar_function("app_is_email", 1, flags, |ctx| {
            Ok(ctx.get::<String>(0)?.contains('@'))
        })?;
        conn.create_scalar_function("app_domain", 1, flags, |ctx| {
            let email = ctx.get::<String>(0)?;
            Ok(email.split_once('@').map(|(_, domain)| domain.to_owned()))
        })
    };
    register(&conn).map_err(|source| migrate::Error::database("registering", source))?;
    set.run(&mut conn)?;
    assert_eq!(
        common::rows(&conn, "SELECT domain FROM users"),
        [[rusqlite::types::Value::Text("example.com".to_owned())]]
    );
    assert!(
        conn.execute("INSERT INTO users (email) VALUES ('nobody')", [])
            .is_err(),
        "the real CHECK runs"
    );
    Ok(())
}

#[test]
fn foreign_keys_false_checks_a_set_written_for_a_connection_without_them() -> migrate::Result<()> {
    // With the check's foreign keys on, the dangling post would fail the
    // build (as `verify_with` shows); with them off it is checked and embedded.
    const DANGLING: Migrations =
        migrate::embed_migrations!("tests/fixtures/dangling_foreign_key", foreign_keys = false);
    let set = DANGLING;
    assert!(
        set.embedded_schema().is_some(),
        "checked, so its schema is embedded"
    );
    let from_folder =
        Migrations::from_folder("tests/fixtures/dangling_foreign_key").expect("a valid folder");
    let error = verify(&from_folder).unwrap_err();
    assert!(error.to_string().contains("foreign key"), "{error}");

    // The runner goes by the connection, as the tool it was written for did.
    let db = Database::new();
    let mut conn = db.open();
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(|source| migrate::Error::database("foreign keys on", source))?;
    let refused = set.run(&mut conn).unwrap_err();
    assert!(refused.to_string().contains("foreign key"), "{refused}");
    conn.pragma_update(None, "foreign_keys", false)
        .map_err(|source| migrate::Error::database("foreign keys off", source))?;
    set.run(&mut conn)?;
    assert_eq!(
        common::rows(&conn, "SELECT user_id FROM posts"),
        [[rusqlite::types::Value::Integer(7)]]
    );
    Ok(())
}

/// The check runs on an in-memory database while the crate builds: a
/// statement that would open a file — `ATTACH`, `VACUUM INTO`, an extension
/// — is refused before SQLite opens it, and no file appears; the problem
/// says how to build without the check.
#[test]
fn the_check_touches_no_file_on_the_build_machine() {
    let outside = tempfile::tempdir().expect("a folder for the files");
    let file = |name: &str| outside.path().join(name).display().to_string();
    for (sql, opens) in [
        (
            format!("ATTACH '{}' AS archive;", file("attached.db")),
            format!("opens the file `{}`", file("attached.db")),
        ),
        (
            format!(
                "ATTACH ('{}' || '.db') AS archive;",
                outside.path().join("computed").display()
            ),
            "attaches a database by a computed file name".to_owned(),
        ),
        (
            format!(
                "-- migrate:no-transaction\nVACUUM INTO '{}';",
                file("backup.db")
            ),
            format!("opens the file `{}`", file("backup.db")),
        ),
        (
            "SELECT load_extension('mod_spatialite');".to_owned(),
            "loads an extension".to_owned(),
        ),
    ] {
        let folder = Folder::new(&[
            ("0001_t.sql", "CREATE TABLE t (x);"),
            ("0002_outside.sql", &sql),
        ]);

        let error = verify(&folder.migrations()).unwrap_err();

        let [
            problem @ VerifyProblem::Failed {
                version: 2,
                message,
                ..
            },
        ] = error.problems()
        else {
            panic!("{sql}: {error}");
        };
        assert_eq!(
            message,
            &format!(
                "the statement {opens}, but the build-time check runs on an in-memory database and may not touch any file on the build machine"
            ),
            "{sql}"
        );
        assert!(problem.opens_a_file());
        assert!(
            problem
                .in_folder(std::path::Path::new("migrations"))
                .ends_with("turn it off with `embed_migrations!(\"migrations\", verify = false)` (`migrate validate --no-verify`)"),
            "{sql}"
        );
        let left: Vec<_> = std::fs::read_dir(outside.path()).unwrap().collect();
        assert!(left.is_empty(), "{sql}: files were created: {left:?}");
    }
}

/// What the check refuses still runs in production, and in-memory
/// databases stay allowed in the check.
#[test]
fn the_refused_statements_run_at_run_time_and_memory_databases_in_the_check() -> migrate::Result<()>
{
    let outside = tempfile::tempdir().expect("a folder for the backup");
    let backup = outside.path().join("backup.db");
    let folder = Folder::new(&[
        ("0001_t.sql", "CREATE TABLE t (x);"),
        (
            "0002_backup.sql",
            &format!(
                "-- migrate:no-transaction\nVACUUM INTO '{}';",
                backup.display()
            ),
        ),
    ]);
    let db = Database::new();
    folder.migrations().run(&mut db.open())?;
    assert!(backup.exists(), "VACUUM INTO ran at run time");

    let scratch = Folder::new(&[(
        "0001_scratch.sql",
        "ATTACH ':memory:' AS scratch;\nCREATE TABLE scratch.t (x);\nCREATE TABLE t (x);",
    )]);
    verify(&scratch.migrations()).expect("an in-memory database may be attached");
    Ok(())
}

/// A reversible migration that attaches an in-memory scratch database
/// inside its transaction passes: the check applies its up, its down and
/// its up again, detaching the scratch database between them.
#[test]
fn a_migration_with_a_scratch_database_checks_like_any_other() {
    let folder = Folder::new(&[
        (
            "0001_a.up.sql",
            "ATTACH ':memory:' AS scratch;\nCREATE TABLE scratch.s (x);\nCREATE TABLE a (x);",
        ),
        ("0001_a.down.sql", "DROP TABLE a;"),
        (
            "0002_b.up.sql",
            "ATTACH ':memory:' AS scratch;\nCREATE TABLE b (x);",
        ),
        (
            "0002_b.down.sql",
            "DROP TABLE b;\nCREATE TABLE leftover (x);",
        ),
    ]);
    assert_eq!(
        problems(&folder),
        [
            "the down of migration 2 (b) in `0002_b.down.sql` does not restore the schema from before its up: table `leftover` still exists"
        ]
    );
}
