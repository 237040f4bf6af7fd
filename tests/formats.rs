//! Other tools' folders read as those tools read them
//! (`migrate::formats`): for each tool a fixture folder written by us from
//! its rules (`tests/fixtures/formats/<tool>/`), read in that tool's
//! order, with its sections, no-transaction flags and downs; the build-time
//! check passes on it; applied to a real SQLite file it gives the schema
//! and rows the statements that tool runs give, and its downs, in the
//! tool's order, give what the tool's downs give. Then the refusals: what
//! each tool would refuse or do differently, named with the tool and the fix.

mod common;

use std::path::{Path, PathBuf};

use common::{Database, rows, schema};
use migrate::Migrations;
use migrate::formats::{Format, ReadOptions, guess_format};

fn fixture(tool: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/formats")
        .join(tool)
}

fn read(tool: &str, options: &ReadOptions) -> Migrations {
    let dir = fixture(tool);
    Migrations::read_folder_as(&dir, Path::new(tool), options)
        .unwrap_or_else(|error| panic!("{tool}: {error}"))
}

/// Version, up file, down file, up and down outside a transaction.
type Shape = (u64, String, Option<String>, bool, bool);

fn shape(set: &Migrations) -> Vec<Shape> {
    set.iter()
        .map(|m| {
            (
                m.version(),
                m.file().to_owned(),
                m.down_file().map(str::to_owned),
                m.up_no_transaction(),
                m.down_no_transaction(),
            )
        })
        .collect()
}

fn s(version: u64, file: &str, down: Option<&str>, up_no_tx: bool, down_no_tx: bool) -> Shape {
    (
        version,
        file.to_owned(),
        down.map(str::to_owned),
        up_no_tx,
        down_no_tx,
    )
}

/// One tool's fixture and what the tool itself does with it.
struct Case {
    tool: &'static str,
    options: ReadOptions,
    shape: Vec<Shape>,
    /// The SQL the tool runs, migration by migration, in its order.
    ups: &'static [&'static str],
    /// Where to roll back to, and the downs the tool runs on the way, in its order.
    rollback_to: u64,
    downs: &'static [&'static str],
    /// A query whose rows show the data the migrations wrote.
    data: &'static str,
}

fn cases() -> Vec<Case> {
    let mut flyway = ReadOptions::new(Format::Flyway);
    flyway
        .placeholders
        .insert("prefix".to_owned(), "app_".to_owned());
    vec![
        Case {
            tool: "diesel",
            options: ReadOptions::new(Format::Diesel),
            // diesel's text order: `20240112210182` before `20240313`
            // (of `2024-03-13_170000_…`), which is 20240313000000 here.
            shape: vec![
                s(
                    20230101000000,
                    "2023-01-01-000000_noop/up.sql",
                    None,
                    false,
                    false,
                ),
                s(
                    20231201090000,
                    "2023-12-01-090000_create_users/up.sql",
                    Some("2023-12-01-090000_create_users/down.sql"),
                    false,
                    false,
                ),
                s(
                    20240112210182,
                    "20240112210182_impossible_timestamp/up.sql",
                    Some("20240112210182_impossible_timestamp/down.sql"),
                    false,
                    false,
                ),
                s(
                    20240313000000,
                    "2024-03-13_170000_add_posts/up.sql",
                    Some("2024-03-13_170000_add_posts/down.sql"),
                    false,
                    false,
                ),
                s(
                    20240401000000,
                    "2024-04-01-000000_tags v2.0/up.sql",
                    Some("2024-04-01-000000_tags v2.0/down.sql"),
                    true,
                    true,
                ),
                s(
                    20240501000000,
                    "2024-05-01-000000_seed/up.sql",
                    Some("2024-05-01-000000_seed/down.sql"),
                    false,
                    false,
                ),
            ],
            ups: &[
                "",
                "CREATE TABLE users (\n  id INTEGER PRIMARY KEY,\n  name TEXT NOT NULL\n);",
                "CREATE INDEX users_name ON users (name);",
                "CREATE TABLE posts (\n  id INTEGER PRIMARY KEY,\n  user_id INTEGER NOT NULL REFERENCES users (id),\n  body TEXT NOT NULL\n);",
                "CREATE TABLE tags (name TEXT PRIMARY KEY);",
                "INSERT OR IGNORE INTO tags (name) VALUES ('first');",
            ],
            rollback_to: 20230101000000,
            // The zero-byte down.sql of the seed does nothing, as in diesel.
            downs: &[
                "",
                "DROP TABLE tags;",
                "DROP TABLE posts;",
                "DROP INDEX users_name;",
                "DROP TABLE users;",
            ],
            data: "SELECT name FROM tags",
        },
        Case {
            tool: "sqlx",
            options: ReadOptions::new(Format::Sqlx),
            shape: vec![
                s(
                    20240101000000,
                    "20240101000000_create_users.up.sql",
                    Some("20240101000000_create_users.down.sql"),
                    false,
                    false,
                ),
                s(
                    20240102000000,
                    "20240102000000_add_email.sql",
                    None,
                    false,
                    false,
                ),
                s(
                    20240103000000,
                    "20240103000000_index_email.up.sql",
                    Some("20240103000000_index_email.down.sql"),
                    true,
                    true,
                ),
                s(
                    20240104000000,
                    "20240104000000_placeholder.sql",
                    None,
                    false,
                    false,
                ),
            ],
            ups: &[
                "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);",
                "ALTER TABLE users ADD COLUMN email TEXT;",
                "CREATE INDEX users_email ON users (email);",
                "",
            ],
            rollback_to: 20240104000000,
            downs: &[],
            data: "SELECT count(*) FROM users",
        },
        Case {
            tool: "refinery",
            options: ReadOptions::new(Format::Refinery),
            // Numeric order (`V10` after `V2`), subfolders read, `U` in the
            // same sequence.
            shape: vec![
                s(1, "V1__create_users.sql", None, false, false),
                s(2, "V2__add_email.sql", None, false, false),
                s(3, "later/V3__seed_admin.sql", None, false, false),
                s(4, "U4__audit.sql", None, false, false),
                s(10, "V10__index_email.sql", None, false, false),
            ],
            ups: &[
                "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);",
                "ALTER TABLE users ADD COLUMN email TEXT;",
                "INSERT INTO users (name) VALUES ('admin');",
                "CREATE TABLE audit (at TEXT NOT NULL);",
                "CREATE INDEX users_email ON users (email);",
            ],
            rollback_to: 10,
            downs: &[],
            data: "SELECT name, email FROM users",
        },
        Case {
            tool: "flyway",
            options: flyway,
            shape: vec![
                s(
                    1,
                    "V1__Create_users.sql",
                    Some("U1__Create_users.sql"),
                    false,
                    false,
                ),
                s(2, "V2__Add_email.sql", None, false, false),
                s(
                    10,
                    "sql/V10__Index_email.sql",
                    Some("sql/U10__Index_email.sql"),
                    true,
                    false,
                ),
            ],
            ups: &[
                "CREATE TABLE app_users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);",
                "ALTER TABLE app_users ADD COLUMN email TEXT;",
                "CREATE INDEX app_users_email ON app_users (email);",
            ],
            rollback_to: 2,
            downs: &["DROP INDEX app_users_email;"],
            data: "SELECT count(*) FROM app_users",
        },
        Case {
            tool: "goose",
            options: ReadOptions::new(Format::Goose),
            shape: vec![
                s(
                    1,
                    "00001_create_users.sql",
                    Some("00001_create_users.sql"),
                    false,
                    false,
                ),
                s(
                    2,
                    "00002_trim_trigger.sql",
                    Some("00002_trim_trigger.sql"),
                    false,
                    false,
                ),
                s(
                    3,
                    "00003_index_without_transaction.sql",
                    Some("00003_index_without_transaction.sql"),
                    true,
                    true,
                ),
                s(4, "00004_seed_up_only.sql", None, false, false),
                s(
                    10,
                    "00010_add_email.sql",
                    Some("00010_add_email.sql"),
                    false,
                    false,
                ),
            ],
            // goose's statements, each run alone.
            ups: &[
                "CREATE TABLE users (\n  id INTEGER PRIMARY KEY,\n  name TEXT NOT NULL\n); -- the first table",
                "CREATE TRIGGER users_name_trim AFTER INSERT ON users BEGIN\n  UPDATE users SET name = trim(new.name) WHERE id = new.id;\nEND;",
                "CREATE INDEX users_name ON users (name);",
                "INSERT INTO users (name)\nVALUES ('  admin  ');",
                "ALTER TABLE users ADD COLUMN email TEXT;\nUPDATE users SET email = 'admin@example.com';",
            ],
            rollback_to: 4,
            downs: &["ALTER TABLE users DROP COLUMN email;"],
            data: "SELECT name, email FROM users",
        },
        Case {
            tool: "dbmate",
            options: ReadOptions::new(Format::Dbmate),
            shape: vec![
                s(
                    20240101000000,
                    "20240101000000_create_users.sql",
                    Some("20240101000000_create_users.sql"),
                    false,
                    false,
                ),
                s(
                    20240102000000,
                    "20240102000000_index_name.sql",
                    Some("20240102000000_index_name.sql"),
                    true,
                    true,
                ),
                s(
                    20240103000000,
                    "20240103000000_seed.sql",
                    Some("20240103000000_seed.sql"),
                    false,
                    false,
                ),
            ],
            ups: &[
                "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);",
                "CREATE INDEX users_name ON users (name);",
                "INSERT INTO users (name) VALUES ('admin');",
            ],
            rollback_to: 0,
            downs: &["", "DROP INDEX users_name;", "DROP TABLE users;"],
            data: "SELECT name FROM sqlite_schema WHERE name = 'users'",
        },
        Case {
            tool: "golang-migrate",
            options: ReadOptions::new(Format::GolangMigrate),
            shape: vec![
                s(
                    1,
                    "1_create_users.up.sql",
                    Some("1_create_users.down.sql"),
                    false,
                    false,
                ),
                s(2, "2_add_email.up.sql", None, false, false),
                s(3, "3_nothing_yet.up.sql", None, false, false),
                s(
                    10,
                    "10_index_email.up.sql",
                    Some("10_index_email.down.sql"),
                    false,
                    false,
                ),
            ],
            ups: &[
                "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);",
                "ALTER TABLE users ADD COLUMN email TEXT;",
                "",
                "CREATE INDEX users_email ON users (email);",
            ],
            rollback_to: 3,
            downs: &["DROP INDEX users_email;"],
            data: "SELECT count(*) FROM users",
        },
        Case {
            tool: "plain",
            options: ReadOptions::new(Format::Plain),
            shape: vec![
                s(1, "0001.sql", None, false, false),
                s(2, "0002.sql", None, false, false),
                s(5, "0005.sql", None, false, false),
                s(6, "0006_up.sql", Some("0006_down.sql"), false, false),
                s(7, "0007.up.sql", Some("0007.down.sql"), false, false),
            ],
            ups: &[
                "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);",
                "ALTER TABLE users ADD COLUMN email TEXT;",
                "CREATE INDEX users_email ON users (email);",
                "CREATE TABLE tags (name TEXT PRIMARY KEY);",
                "CREATE TABLE notes (body TEXT);",
            ],
            rollback_to: 5,
            downs: &["DROP TABLE notes;", "DROP TABLE tags;"],
            data: "SELECT count(*) FROM users",
        },
    ]
}

#[test]
fn each_reader_yields_the_tools_order_sections_transactions_and_downs() {
    for case in cases() {
        let set = read(case.tool, &case.options);
        assert_eq!(shape(&set), case.shape, "{}", case.tool);
    }
}

#[test]
fn the_build_time_check_passes_on_every_tools_fixture() {
    for case in cases() {
        let set = read(case.tool, &case.options);
        if let Err(error) = migrate::sqlite::verify(&set) {
            panic!("{}: {error}", case.tool);
        }
    }
}

#[test]
fn applied_and_rolled_back_as_the_tool_would() {
    for case in cases() {
        let set = read(case.tool, &case.options);
        let ours = Database::new();
        let mut conn = ours.open();
        let report = set
            .run(&mut conn)
            .unwrap_or_else(|e| panic!("{}: {e}", case.tool));
        let applied: Vec<u64> = report.applied.iter().map(|a| a.version).collect();
        let expected: Vec<u64> = case.shape.iter().map(|s| s.0).collect();
        assert_eq!(applied, expected, "{}", case.tool);

        let tools = Database::new();
        let theirs = tools.open();
        for sql in case.ups {
            theirs.execute_batch(sql).unwrap();
        }
        assert_eq!(
            schema(&conn),
            schema(&theirs),
            "{}: schema after up",
            case.tool
        );
        assert_eq!(
            rows(&conn, case.data),
            rows(&theirs, case.data),
            "{}: data",
            case.tool
        );

        let rolled_back = set
            .rollback_to(&mut conn, case.rollback_to)
            .unwrap_or_else(|e| panic!("{}: {e}", case.tool));
        assert_eq!(
            rolled_back.rolled_back.len(),
            case.downs.len(),
            "{}",
            case.tool
        );
        for sql in case.downs {
            theirs.execute_batch(sql).unwrap();
        }
        assert_eq!(
            schema(&conn),
            schema(&theirs),
            "{}: schema after the downs",
            case.tool
        );
    }
}

#[test]
fn every_tools_fixture_is_recognised_and_the_default_format_refuses_the_one_file_formats() {
    for (tool, format) in [
        ("diesel", Format::Diesel),
        ("goose", Format::Goose),
        ("dbmate", Format::Dbmate),
        ("flyway", Format::Flyway),
        ("sqlx", Format::Sqlx),
        ("plain", Format::Plain),
    ] {
        assert_eq!(guess_format(&fixture(tool)), Some(format), "{tool}");
    }
    // refinery's `U` (unversioned) is Flyway's undo prefix: only `V` files
    // look like refinery's.
    let dir = folder(&[("V1__a.sql", "SELECT 1;"), ("V2__b.sql", "SELECT 2;")]);
    assert_eq!(guess_format(dir.path()), Some(Format::Refinery));
    let error = Migrations::read_folder(&fixture("goose"), Path::new("goose")).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("looks like goose: use format = \"goose\""),
        "{error}"
    );
}

/// A temporary folder of `files` (paths with `/` make subfolders).
fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn refused(format: Format, files: &[(&str, &str)]) -> String {
    let dir = folder(files);
    match Migrations::read_folder_as(
        dir.path(),
        Path::new("migrations"),
        &ReadOptions::new(format),
    ) {
        Ok(set) => panic!("{format}: read {} migrations", set.len()),
        Err(error) => error.to_string(),
    }
}

#[test]
fn what_each_tool_refuses_or_would_do_differently_is_refused_naming_the_tool() {
    // The format, the folder's files, what the refusal says.
    type Refusal<'a> = (Format, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Refusal<'_>] = &[
        (
            Format::Diesel,
            &[("2024-01-01-000000_a/down.sql", "SELECT 1;")],
            "without `up.sql`",
        ),
        (
            Format::Diesel,
            &[
                ("00000000000000_diesel_initial_setup/up.sql", "SELECT 1;"),
                ("00000000000001_x/up.sql", "SELECT 1;"),
            ],
            "duplicate version 1",
        ),
        (
            Format::Diesel,
            &[("init_users/up.sql", "SELECT 1;")],
            "not only digits",
        ),
        (
            Format::Diesel,
            &[
                ("2024-01-01-000000_a/up.sql", "SELECT 1;"),
                (
                    "2024-01-01-000000_a/metadata.toml",
                    "run_in_transaction = \"no\"",
                ),
            ],
            "run_in_transaction",
        ),
        (
            Format::Diesel,
            &[
                ("2024-01-01-000000_a/up.sql", "SELECT 1;"),
                ("20240101_b/up.sql", "SELECT 1;"),
                ("2024-01-01_c/up.sql", "SELECT 1;"),
            ],
            "duplicate version 20240101000000",
        ),
        (
            Format::Diesel,
            &[
                ("x.sql", "SELECT 1;"),
                ("2024-01-01-000000_a/up.sql", "SELECT 1;"),
            ],
            "diesel would skip this `.sql` file silently",
        ),
        (
            Format::Sqlx,
            &[("0001.sql", "SELECT 1;")],
            "sqlx would skip",
        ),
        (
            Format::Sqlx,
            &[("x_a.sql", "SELECT 1;")],
            "sqlx refuses `x` as a version",
        ),
        (
            Format::Sqlx,
            &[("1_a.down.sql", "SELECT 1;")],
            "a down without an up of version 1",
        ),
        (
            Format::Sqlx,
            &[("1_a.sql", "SELECT 1;"), ("1_a.down.sql", "SELECT 1;")],
            "takes no down in sqlx's layout",
        ),
        (
            Format::Refinery,
            &[("V1.5__a.sql", "SELECT 1;")],
            "refinery would skip",
        ),
        (
            Format::Refinery,
            &[("V1__a b.sql", "SELECT 1;")],
            "refinery would skip",
        ),
        (
            Format::Refinery,
            &[("V1__a.rs", "fn migration() {}")],
            "refinery Rust migration",
        ),
        (
            Format::Refinery,
            &[("V1__a.sql", "SELECT 1;"), ("sub/U1__b.sql", "SELECT 1;")],
            "duplicate version 1",
        ),
        (
            Format::Flyway,
            &[("R__views.sql", "SELECT 1;")],
            "repeatable",
        ),
        (Format::Flyway, &[("V1.1__a.sql", "SELECT 1;")], "has parts"),
        (
            Format::Flyway,
            &[("V1__a.sql", "CREATE TABLE ${t} (x);")],
            "no value for the Flyway placeholder(s) `${t}`",
        ),
        (
            Format::Flyway,
            &[("U2__a.sql", "SELECT 1;")],
            "a down without an up of version 2",
        ),
        (
            Format::Goose,
            &[("1_a.sql", "-- +goose Up\nCREATE TABLE a (x)\n")],
            "missing semicolon",
        ),
        (
            Format::Goose,
            &[("1_a.sql", "CREATE TABLE a (x);\n")],
            "before `-- +goose Up`",
        ),
        (Format::Goose, &[("1_a.sql", "")], "no `-- +goose Up`"),
        (
            Format::Goose,
            &[("1_a.sql", "-- +goose Up\nINSERT INTO t VALUES ('a;\nb');\n")],
            "StatementBegin",
        ),
        (
            Format::Goose,
            &[("a.sql", "-- +goose Up\nSELECT 1;\n")],
            "goose refuses this name",
        ),
        (
            Format::Goose,
            &[("1_a.go", "package migrations")],
            "goose Go migration",
        ),
        (
            Format::Goose,
            &[
                ("1_a.sql", "-- +goose Up\nSELECT 1;\n"),
                ("01_b.sql", "-- +goose Up\nSELECT 2;\n"),
            ],
            "duplicate version 1",
        ),
        (
            Format::Dbmate,
            &[("1_a.sql", "CREATE TABLE a (x);\n")],
            "no `-- migrate:up`",
        ),
        (
            Format::Dbmate,
            &[("1_a.sql", "-- migrate:up\nCREATE TABLE a (x);\n")],
            "no `-- migrate:down`",
        ),
        (
            Format::Dbmate,
            &[(
                "1_a.sql",
                "SELECT 1;\n-- migrate:up\nSELECT 2;\n-- migrate:down\n",
            )],
            "SQL before `-- migrate:up`",
        ),
        (
            Format::Dbmate,
            &[
                ("9_a.sql", "-- migrate:up\n-- migrate:down\n"),
                ("10_b.sql", "-- migrate:up\n-- migrate:down\n"),
            ],
            "zero-pad",
        ),
        (
            Format::GolangMigrate,
            &[("1_a.sql", "SELECT 1;")],
            "golang-migrate would skip",
        ),
        (
            Format::GolangMigrate,
            &[("2_b.down.sql", "SELECT 1;")],
            "a down without an up of version 2",
        ),
        (
            Format::Plain,
            &[("0001_a.sql", "SELECT 1;"), ("0001_b.sql", "SELECT 2;")],
            "duplicate version 1",
        ),
        (
            Format::Plain,
            &[("init.sql", "SELECT 1;")],
            "not a plain numbered migration",
        ),
        (
            Format::Plain,
            &[
                ("0001.sql", "SELECT 1;\0"),
                ("0002.sql", "-- x\r SELECT 1;"),
            ],
            "NUL byte",
        ),
    ];
    for (format, files, expected) in cases {
        let message = refused(*format, files);
        assert!(message.contains(expected), "{format} {files:?}: {message}");
    }
}

#[test]
fn goose_skips_go_code_without_a_version_beside_its_migrations() {
    // An embedded goose folder keeps its `//go:embed *.sql` file, and
    // helpers, beside the migrations; goose skips a `.go` file whose name
    // has no version, and every `_test.go`.
    let dir = folder(&[
        (
            "00001_users.sql",
            "-- +goose Up\nCREATE TABLE users (id INTEGER PRIMARY KEY);\n-- +goose Down\nDROP TABLE users;\n",
        ),
        ("migrations.go", "package migrations\n"),
        ("helpers.go", "package migrations\n"),
        ("00002_seed_test.go", "package migrations\n"),
    ]);
    let set = Migrations::read_folder_as(
        dir.path(),
        Path::new("migrations"),
        &ReadOptions::new(Format::Goose),
    )
    .unwrap_or_else(|error| panic!("{error}"));
    let files: Vec<&str> = set.iter().map(|m| m.file()).collect();
    assert_eq!(files, ["00001_users.sql"]);
    migrate::sqlite::verify(&set).unwrap_or_else(|error| panic!("{error}"));
    // A `.go` file with a version is a Go migration: still refused.
    let message = refused(
        Format::Goose,
        &[
            ("00001_users.sql", "-- +goose Up\nSELECT 1;\n"),
            ("00002_seed.go", "package migrations\n"),
        ],
    );
    assert!(
        message.contains("00002_seed.go") && message.contains("goose Go migration"),
        "{message}"
    );
}

#[test]
fn a_diesel_version_with_zeros_past_14_digits_keeps_diesels_text_order() {
    // diesel takes any digits and dashes for a version; `-0000` after the
    // time is common in real folders. As text, diesel puts
    // `2024-06-01-120000-0000` after `2024-06-01-110000` and before
    // `2024-07-01-000000`.
    let dir = folder(&[
        (
            "2024-06-01-110000_users/up.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);",
        ),
        (
            "2024-06-01-120000-0000_posts/up.sql",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY);",
        ),
        ("2024-06-01-120000-0000_posts/down.sql", "DROP TABLE posts;"),
        (
            "2024-07-01-000000_tags/up.sql",
            "CREATE TABLE tags (id INTEGER PRIMARY KEY);",
        ),
    ]);
    let set = Migrations::read_folder_as(
        dir.path(),
        Path::new("migrations"),
        &ReadOptions::new(Format::Diesel),
    )
    .unwrap_or_else(|error| panic!("{error}"));
    let read: Vec<(u64, &str)> = set.iter().map(|m| (m.version(), m.file())).collect();
    assert_eq!(
        read,
        [
            (20240601110000, "2024-06-01-110000_users/up.sql"),
            (20240601120000, "2024-06-01-120000-0000_posts/up.sql"),
            (20240701000000, "2024-07-01-000000_tags/up.sql"),
        ]
    );
    // Digits past the 14th that are not zeros have no place in that order.
    let message = refused(
        Format::Diesel,
        &[("2024-06-01-120000-0001_posts/up.sql", "SELECT 1;")],
    );
    assert!(
        message.contains("2024-06-01-120000-0001_posts")
            && message.contains("not zeros after the 14th"),
        "{message}"
    );
    // With and without the zeros: two versions to diesel, one to
    // `migrate`, refused naming both and the fix.
    let message = refused(
        Format::Diesel,
        &[
            ("2024-06-01-120000_a/up.sql", "SELECT 1;"),
            ("2024-06-01-120000-0000_b/up.sql", "SELECT 1;"),
        ],
    );
    assert!(
        message.contains("2024-06-01-120000-0000_b")
            && message.contains("2024-06-01-120000_a")
            && message.contains("only in zeros, which `migrate`'s version of both (20240601120000")
            && message.contains("rename one of the two folders"),
        "{message}"
    );
    // Two folders of one diesel version are a plain duplicate.
    let message = refused(
        Format::Diesel,
        &[
            ("2024-06-01-120000_a/up.sql", "SELECT 1;"),
            ("2024-06-01-120000_b/up.sql", "SELECT 1;"),
        ],
    );
    assert!(
        message.contains("duplicate version 20240601120000"),
        "{message}"
    );
}

#[test]
fn diesels_setup_migration_is_version_1_and_runs_first() {
    // `diesel setup` writes `00000000000000_diesel_initial_setup` into every
    // PostgreSQL folder; later migrations use what it creates.
    let dir = folder(&[
        (
            "2024-01-01-000000_users/up.sql",
            "CREATE VIEW users AS SELECT done FROM setup;",
        ),
        (
            "00000000000000_diesel_initial_setup/up.sql",
            "CREATE TABLE setup (done INTEGER);",
        ),
        (
            "00000000000000_diesel_initial_setup/down.sql",
            "DROP TABLE setup;",
        ),
    ]);
    let set = Migrations::read_folder_as(
        dir.path(),
        Path::new("migrations"),
        &ReadOptions::new(Format::Diesel),
    )
    .unwrap_or_else(|error| panic!("{error}"));
    let read: Vec<(u64, &str)> = set.iter().map(|m| (m.version(), m.file())).collect();
    assert_eq!(
        read,
        [
            (1, "00000000000000_diesel_initial_setup/up.sql"),
            (20240101000000, "2024-01-01-000000_users/up.sql"),
        ]
    );
    migrate::sqlite::verify(&set).unwrap_or_else(|error| panic!("{error}"));
    let database = Database::new();
    let mut conn = database.open();
    let report = set.run(&mut conn).unwrap();
    assert_eq!(
        report.applied.iter().map(|a| a.version).collect::<Vec<_>>(),
        [1, 20240101000000]
    );
}

#[test]
fn a_zero_byte_diesel_down_that_does_not_restore_the_schema_fails_the_build_time_check() {
    let dir = folder(&[
        (
            "2024-01-01-000000_users/up.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);",
        ),
        ("2024-01-01-000000_users/down.sql", ""),
    ]);
    let set = Migrations::read_folder_as(
        dir.path(),
        Path::new("migrations"),
        &ReadOptions::new(Format::Diesel),
    )
    .unwrap();
    let error = migrate::sqlite::verify(&set).unwrap_err();
    assert!(error.to_string().contains("users"), "{error}");
}

#[test]
fn the_embedded_set_equals_the_set_read_at_run_time() {
    const GOOSE: Migrations =
        migrate::embed_migrations!("tests/fixtures/formats/goose", format = "goose");
    const DIESEL: Migrations =
        migrate::embed_migrations!("tests/fixtures/formats/diesel", format = "diesel");
    const FLYWAY: Migrations = migrate::embed_migrations!(
        "tests/fixtures/formats/flyway",
        format = "flyway",
        placeholders(prefix = "app_")
    );
    for (embedded, tool, format) in [
        (GOOSE, "goose", Format::Goose),
        (DIESEL, "diesel", Format::Diesel),
    ] {
        assert_eq!(
            embedded.as_slice(),
            read(tool, &ReadOptions::new(format)).as_slice(),
            "{tool}"
        );
    }
    let mut flyway = ReadOptions::new(Format::Flyway);
    flyway
        .placeholders
        .insert("prefix".to_owned(), "app_".to_owned());
    assert_eq!(FLYWAY.as_slice(), read("flyway", &flyway).as_slice());
    // goose's up is its statements, not the file: the down section is not in it.
    assert!(!GOOSE.as_slice()[0].up_sql().unwrap().contains("DROP TABLE"));
}
