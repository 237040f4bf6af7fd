//! The folder grammar and validation, through `Migrations::from_folder` (the
//! same code `embed_migrations!` runs at build time): every rule, every
//! problem reported at once, each naming its file.

mod common;

use std::path::Path;

use common::Folder;
use migrate::folder::{FileNameError, FolderProblem, parse_file_name};
use migrate::template::template;
use migrate::{Checksum, MigrationKind, Migrations};

/// The problems `from_folder` reports for a folder, as messages with the
/// temporary folder's path replaced by `migrations`.
fn problems(folder: &Folder) -> Vec<String> {
    let error = Migrations::from_folder(folder.path()).expect_err("the folder should be invalid");
    let root = folder.path().display().to_string();
    error
        .problems()
        .iter()
        .map(|p| p.to_string().replace(&root, "migrations"))
        .collect()
}

#[test]
fn versions_come_from_names_in_every_style_and_sort_numerically() {
    let folder = Folder::new(&[
        ("10_j.sql", "SELECT 10;"),
        ("9_i.up.sql", "SELECT 9;"),
        ("9_i.down.sql", "SELECT -9;"),
        ("V8__h.sql", "SELECT 8;"),
        ("0007_g.sql", "SELECT 7;"),
        (".hidden.sql", ""),
        ("README.md", "notes"),
    ]);
    let versions: Vec<u64> = folder.migrations().iter().map(|m| m.version()).collect();
    assert_eq!(versions, [7, 8, 9, 10]);
}

#[test]
fn a_version_claimed_twice_names_every_file() {
    let folder = Folder::new(&[
        ("0001_a.sql", "SELECT 1;"),
        ("1_b.sql", "SELECT 1;"),
        ("0002_c.sql", "SELECT 2;"),
    ]);
    assert_eq!(
        problems(&folder),
        [
            "duplicate version 1: `migrations/0001_a.sql`, `migrations/1_b.sql` each claim it; give every migration its own version"
        ]
    );
}

#[test]
fn an_up_sql_and_a_plain_sql_with_one_version_are_duplicates() {
    let folder = Folder::new(&[("1_a.sql", "SELECT 1;"), ("1_a.up.sql", "SELECT 1;")]);
    assert!(
        problems(&folder)[0]
            .starts_with("duplicate version 1: `migrations/1_a.sql`, `migrations/1_a.up.sql`")
    );
}

#[test]
fn gaps_name_the_missing_versions_and_their_neighbours() {
    let folder = Folder::new(&[
        ("0002_a.sql", "SELECT 1;"),
        ("0003_b.sql", "SELECT 1;"),
        ("0005_c.sql", "SELECT 1;"),
        ("0009_d.sql", "SELECT 1;"),
    ]);
    let messages = problems(&folder);
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert!(
        messages[0].starts_with(
            "version 4 is missing between `migrations/0003_b.sql` and `migrations/0005_c.sql`"
        ),
        "{}",
        messages[0]
    );
    assert!(messages[1].starts_with("versions 6 to 8 are missing between `migrations/0005_c.sql` and `migrations/0009_d.sql`"), "{}", messages[1]);
}

#[test]
fn a_sequential_folder_may_start_above_one_and_timestamps_may_have_gaps() {
    let squashed = Folder::new(&[
        ("0040_baseline.sql", "SELECT 1;"),
        ("0041_next.sql", "SELECT 1;"),
    ]);
    assert_eq!(squashed.migrations().len(), 2);
    let timestamps = Folder::new(&[
        ("20240131120000_a.sql", "SELECT 1;"),
        ("20250101000000_b.sql", "SELECT 1;"),
    ]);
    assert_eq!(
        timestamps.migrations().latest_version(),
        Some(20250101000000)
    );
}

#[test]
fn timestamps_and_sequential_versions_do_not_mix() {
    let folder = Folder::new(&[
        ("0001_a.sql", "SELECT 1;"),
        ("20240131120000_b.sql", "SELECT 1;"),
    ]);
    assert_eq!(
        problems(&folder),
        [
            "`migrations/20240131120000_b.sql` has a 14-digit timestamp version but `migrations/0001_a.sql` has a sequential one: use one scheme per folder"
        ]
    );
}

#[test]
fn bad_names_are_errors_not_skipped() {
    let folder = Folder::new(&[
        ("0001_a.sql", "SELECT 1;"),
        ("0002_b.txt", "SELECT 1;"),
        ("0_zero.sql", "SELECT 1;"),
        ("99999999999999999999_big.sql", "SELECT 1;"),
        ("0003_.sql", "SELECT 1;"),
    ]);
    let error = Migrations::from_folder(folder.path()).unwrap_err();
    let reasons: Vec<(String, FileNameError)> = error
        .problems()
        .iter()
        .map(|p| match p {
            FolderProblem::BadFileName { file, reason } => (
                file.file_name().unwrap().to_string_lossy().into_owned(),
                *reason,
            ),
            other => panic!("unexpected {other}"),
        })
        .collect();
    assert_eq!(
        reasons,
        [
            ("0002_b.txt".to_owned(), FileNameError::NotAMigration),
            ("0003_.sql".to_owned(), FileNameError::EmptyName),
            ("0_zero.sql".to_owned(), FileNameError::ZeroVersion),
            (
                "99999999999999999999_big.sql".to_owned(),
                FileNameError::VersionTooLarge
            ),
        ]
    );
    assert!(
        error.problems()[0]
            .to_string()
            .contains("use `<version>_<name>.sql`"),
        "the accepted patterns are shown"
    );
}

#[test]
fn a_bad_name_with_a_version_does_not_also_make_a_gap() {
    let folder = Folder::new(&[
        ("0001_a.sql", "SELECT 1;"),
        ("0002_b.txt", "SELECT 1;"),
        ("0003_c.sql", "SELECT 1;"),
    ]);
    let messages = problems(&folder);
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert!(messages[0].starts_with("`migrations/0002_b.txt`: not a migration file name"));
}

#[test]
fn a_down_file_needs_its_up_sql() {
    let folder = Folder::new(&[
        ("0001_a.sql", "SELECT 1;"),
        ("0001_a.down.sql", "SELECT 1;"),
        ("0002_b.up.sql", "SELECT 1;"),
        ("0002_c.down.sql", "SELECT 1;"),
        ("0003_d.up.sql", "SELECT 1;"),
        ("0004_e.down.sql", "SELECT 1;"),
    ]);
    assert_eq!(
        problems(&folder),
        [
            "`migrations/0001_a.down.sql` is a down migration without its up: `migrations/0001_a.sql` is up-only; rename it to `0001_a.up.sql` to pair them",
            "`migrations/0002_c.down.sql` is a down migration without its up: the up of version 2 is `migrations/0002_b.up.sql`; rename the down to `0002_b.down.sql`",
            "`migrations/0004_e.down.sql` is a down migration without its up: add `0004_e.up.sql` or delete the down file",
        ]
    );
}

#[test]
fn empty_whitespace_and_non_utf8_files_are_errors_but_a_comment_is_a_no_op() {
    let folder = Folder::new(&[
        ("0001_empty.sql", ""),
        ("0002_blank.sql", " \n\t\r\n"),
        ("0003_comment.sql", "-- nothing to do\n"),
        ("0004_bom_only.sql", "\u{feff}"),
        ("0005_ok.up.sql", "SELECT 1;"),
        ("0005_ok.down.sql", "\n"),
    ]);
    folder.write("0006_latin1.sql", b"INSERT INTO t VALUES ('caf\xe9');");
    let messages = problems(&folder);
    assert_eq!(messages.len(), 5, "{messages:#?}");
    assert!(messages[0].starts_with("`migrations/0001_empty.sql` is empty"));
    assert!(messages[1].starts_with("`migrations/0002_blank.sql` is empty"));
    assert!(messages[2].starts_with("`migrations/0004_bom_only.sql` is empty"));
    assert!(
        messages[3].starts_with("`migrations/0005_ok.down.sql` is empty")
            && messages[3].contains("delete it to make the migration irreversible")
    );
    assert_eq!(
        messages[4],
        "`migrations/0006_latin1.sql` is not valid UTF-8 (first invalid byte at offset 26): save it as UTF-8"
    );
}

#[test]
fn a_subfolder_is_an_error_and_hidden_ones_are_ignored() {
    let folder = Folder::new(&[("0001_a.sql", "SELECT 1;")]);
    std::fs::create_dir(folder.path().join("old")).unwrap();
    std::fs::create_dir(folder.path().join(".git")).unwrap();
    assert_eq!(
        problems(&folder),
        [
            "`migrations/old` is a subfolder: a migrations folder is flat; move its files up or out of the folder"
        ]
    );
}

#[test]
fn missing_and_empty_folders_say_where_they_looked() {
    let folder = Folder::new(&[("README.md", "notes only")]);
    assert_eq!(
        problems(&folder),
        [
            "no migrations in `migrations`: add a file such as `migrations/0001_create_users.sql` (accepted names: `<version>_<name>.sql`, `<version>_<name>.up.sql` with an optional `<version>_<name>.down.sql`, `V<version>__<name>.sql`, or `<version>_<name>.rs` for a Rust migration)"
        ]
    );

    // Resolved where it exists, as far as it exists: `..` and links gone.
    let missing = folder.path().join("sub/../nope");
    let real = folder.path().canonicalize().unwrap().join("nope");
    let error = Migrations::from_folder(&missing).unwrap_err();
    assert!(
        matches!(&error.problems()[0], FolderProblem::MissingFolder { resolved, .. } if resolved == &real),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains(&format!("resolved to `{}`", real.display()))
    );

    let file = folder.path().join("README.md");
    let error = Migrations::from_folder(Path::new(&file)).unwrap_err();
    assert!(
        matches!(&error.problems()[0], FolderProblem::NotAFolder { .. }),
        "{error}"
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let folder = Folder::new(&[
        ("0001_a.sql", "SELECT 1;"),
        ("0002_b.sql", "SELECT 1;"),
        ("0002_c.sql", "SELECT 1;"),
        ("0003_d.sql", ""),
        ("0006_e.sql", "SELECT 1;"),
        ("notes.txt", "todo"),
    ]);
    let error = Migrations::from_folder(folder.path()).unwrap_err();
    let kinds: Vec<&str> = error
        .problems()
        .iter()
        .map(|p| match p {
            FolderProblem::EmptyFile { .. } => "empty",
            FolderProblem::BadFileName { .. } => "bad name",
            FolderProblem::DuplicateVersion { .. } => "duplicate",
            FolderProblem::Gap { .. } => "gap",
            other => panic!("unexpected {other}"),
        })
        .collect();
    assert_eq!(kinds, ["empty", "bad name", "duplicate", "gap"]);
    assert!(
        error
            .to_string()
            .starts_with("4 problems in migrations folder"),
        "{error}"
    );
}

#[cfg(unix)]
#[test]
fn a_symlinked_file_is_read_like_the_file() {
    let target = Folder::new(&[("shared.sql", "CREATE TABLE shared (x);")]);
    let folder = Folder::new(&[]);
    std::os::unix::fs::symlink(
        target.path().join("shared.sql"),
        folder.path().join("0001_shared.sql"),
    )
    .unwrap();
    assert_eq!(
        folder.migrations().get(1).unwrap().up_sql(),
        Some("CREATE TABLE shared (x);")
    );
}

#[cfg(unix)]
#[test]
fn a_file_name_that_is_not_utf8_is_named_lossily() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    let folder = Folder::new(&[("0001_a.sql", "SELECT 1;")]);
    let name = OsStr::from_bytes(b"0002_caf\xe9.sql");
    if std::fs::write(folder.path().join(name), "SELECT 2;").is_err() {
        return; // a file system that only takes UTF-8 names cannot hold one
    }
    assert_eq!(
        problems(&folder),
        ["`migrations/0002_caf\u{fffd}.sql`: the file name is not valid UTF-8; rename it"]
    );
}

/// A Rust migration with `up` only.
const RUST_UP: &str = "use rusqlite::Transaction;\n\npub fn up(tx: &Transaction<'_>) -> rusqlite::Result<()> {\n    tx.execute_batch(\"SELECT 1;\")\n}\n";

/// A Rust migration with `up` and `down`.
const RUST_UP_DOWN: &str = "pub fn up<'a>(tx: &rusqlite::Transaction<'a>) -> Result<(), String> {\n    Ok(())\n}\n\n    pub fn down (tx: &rusqlite::Transaction<'_>) -> Result<(), String> {\n    Ok(())\n}\n";

#[test]
fn the_no_transaction_directive_is_read_from_the_first_line_of_up_and_down_files() {
    let folder = Folder::new(&[
        ("0001_plain.sql", "-- a comment, not a directive\nSELECT 1;"),
        ("0002_lf.sql", "-- migrate:no-transaction\nVACUUM;\n"),
        (
            "0003_crlf.up.sql",
            "-- migrate:no-transaction \t\r\nVACUUM;\r\n",
        ),
        (
            "0003_crlf.down.sql",
            "\u{feff}-- migrate:no-transaction\nVACUUM;",
        ),
        ("0004_down_only.up.sql", "CREATE TABLE t (x);"),
        (
            "0004_down_only.down.sql",
            "-- migrate:no-transaction\nDROP TABLE t;",
        ),
    ]);
    let flags: Vec<(u64, bool, bool)> = folder
        .migrations()
        .iter()
        .map(|m| (m.version(), m.up_no_transaction(), m.down_no_transaction()))
        .collect();
    assert_eq!(
        flags,
        [
            (1, false, false),
            (2, true, false),
            (3, true, true),
            (4, false, true)
        ]
    );
}

#[test]
fn an_unknown_or_misplaced_directive_is_an_error_naming_file_and_line() {
    let folder = Folder::new(&[
        ("0001_typo.sql", "-- migrate:no-transactions\nVACUUM;"),
        (
            "0002_late.up.sql",
            "-- why: VACUUM\n-- migrate:no-transaction\nVACUUM;",
        ),
        ("0002_late.down.sql", "SELECT 1;\n  --Migrate:transaction\n"),
    ]);
    assert_eq!(
        problems(&folder),
        [
            "`migrations/0001_typo.sql`, line 1: `-- migrate:no-transactions` is not a directive; the only one is `-- migrate:no-transaction`, alone on the first line (for a plain comment, leave out `migrate:`)",
            "`migrations/0002_late.down.sql`, line 2: `--Migrate:transaction` is not a directive; the only one is `-- migrate:no-transaction`, alone on the first line (for a plain comment, leave out `migrate:`)",
            "`migrations/0002_late.up.sql`, line 2: `-- migrate:no-transaction` must be the first line of the file; move it to line 1",
        ]
    );
}

#[test]
fn another_tools_one_file_format_is_one_error_per_file_naming_line_and_tool() {
    let folder = Folder::new(&[
        (
            "00001_goose.sql",
            "\u{feff}-- users\r\n-- +goose Up\r\n-- +goose StatementBegin\r\nCREATE TABLE users (id INTEGER);\r\n-- +goose StatementEnd\r\n\r\n-- +goose Down\r\nDROP TABLE users;\r\n",
        ),
        (
            "00002_goose_no_transaction.sql",
            "-- +goose NO TRANSACTION\n-- +goose up\nVACUUM;\n",
        ),
        (
            "00003_dbmate.sql",
            "-- migrate:up transaction:false\nCREATE TABLE a (x);\n\n-- migrate:down\nDROP TABLE a;\n",
        ),
        (
            "00004_sql_migrate.up.sql",
            "  -- +migrate Up notransaction\nCREATE TABLE b (x);\n-- +migrate Down\nDROP TABLE b;\n",
        ),
        (
            "00004_sql_migrate.down.sql",
            "-- +MICRATE Down\nDROP TABLE b;\n",
        ),
        (
            "00005_tern.sql",
            "CREATE TABLE c (x);\n\n---- create above / drop below ----\n\nDROP TABLE c;\n",
        ),
        (
            "00006_other.sql",
            "-- +Dbup Up\nCREATE TABLE d (x);\n-- +Dbup Down\nDROP TABLE d;\n",
        ),
        // A comment about another tool is not its marker.
        (
            "00007_plain.sql",
            "-- converted from goose: the Down section is 00007_plain.down.sql\nSELECT 1;\n",
        ),
    ]);
    // file, line, the line, what it is, whose format, the split's stem.
    let expected = [
        ("00001_goose.sql", 2, "-- +goose Up", "a goose annotation", "goose", "00001_goose"),
        ("00002_goose_no_transaction.sql", 1, "-- +goose NO TRANSACTION", "a goose annotation", "goose", "00002_goose_no_transaction"),
        ("00003_dbmate.sql", 1, "-- migrate:up transaction:false", "a dbmate section marker", "dbmate", "00003_dbmate"),
        ("00004_sql_migrate.down.sql", 1, "-- +MICRATE Down", "a micrate annotation", "micrate", "00004_sql_migrate"),
        ("00004_sql_migrate.up.sql", 1, "-- +migrate Up notransaction", "a sql-migrate annotation", "sql-migrate", "00004_sql_migrate"),
        ("00005_tern.sql", 3, "---- create above / drop below ----", "tern's separator of the up and down sections", "tern", "00005_tern"),
        ("00006_other.sql", 1, "-- +Dbup Up", "the section marker of another tool (`+Dbup`)", "that tool", "00006_other"),
    ]
    .map(|(file, line, text, what, tool, stem)| {
        let split = format!("move the up section into `{stem}.up.sql` and the down section, if any, into `{stem}.down.sql`, without the markers");
        match tool {
            // The formats `migrate` reads: named, with the split as the other way.
            "goose" | "dbmate" => format!(
                "`migrations/{file}`, line {line}: `{text}` is {what}; looks like {tool}: use format = \"{tool}\" in `embed_migrations!` (`--folder-format {tool}` on the command line) to read the folder as {tool} does; read as plain SQL, the whole file, its down section too, would run as one up migration (or {split})"
            ),
            _ => format!(
                "`migrations/{file}`, line {line}: `{text}` is {what}; `migrate` does not read {tool}'s format yet, and would run the whole file, its down section too, as one up migration: {split}"
            ),
        }
    });
    assert_eq!(problems(&folder), expected);

    folder.remove("00001_goose.sql");
    folder.write("00001_goose.up.sql", "CREATE TABLE users (id INTEGER);\r\n");
    folder.write("00001_goose.down.sql", "DROP TABLE users;\r\n");
    assert_eq!(problems(&folder), expected[1..]);
}

/// The template `migrate new` writes into `file`, created at `created`.
fn new_template(file: &str, created: &str) -> String {
    let parsed = parse_file_name(file).unwrap().unwrap();
    template(&parsed, created).unwrap()
}

#[test]
fn an_untouched_template_of_migrate_new_is_refused_but_other_comment_only_files_are_no_ops() {
    let created = "2025-06-30T23:59:59.999Z";
    let folder = Folder::new(&[
        ("0001_users.sql", "CREATE TABLE users (id INTEGER);\n"),
        (
            "0002_add_email.sql",
            &new_template("0002_add_email.sql", created),
        ),
        (
            "0003_tags.up.sql",
            &new_template("0003_tags.up.sql", created).replace('\n', "\r\n"),
        ),
        (
            "0003_tags.down.sql",
            &format!("\u{feff}{}", new_template("0003_tags.down.sql", created)),
        ),
        // A comment-only file written by hand, and a template filled in.
        ("0004_placeholder.sql", "-- nothing to do: see 0005\n"),
        (
            "0005_index.sql",
            &(new_template("0005_index.sql", created) + "CREATE INDEX users_id ON users (id);\n"),
        ),
    ]);
    assert_eq!(
        problems(&folder),
        [
            "`migrations/0002_add_email.sql` is still the template `migrate new` wrote: write the migration's SQL below its comments, or delete the file",
            "`migrations/0003_tags.down.sql` is still the template `migrate new` wrote: write the down's SQL below its comments, or delete the file to leave the migration without a down",
            "`migrations/0003_tags.up.sql` is still the template `migrate new` wrote: write the migration's SQL below its comments, or delete the file",
        ]
    );

    folder.write("0002_add_email.sql", "ALTER TABLE users ADD email TEXT;\n");
    folder.write("0003_tags.up.sql", "CREATE TABLE tags (x);\n");
    folder.remove("0003_tags.down.sql");
    let set = folder.migrations();
    assert_eq!(set.len(), 5);
    assert_eq!(
        set.get(4).unwrap().up_sql(),
        Some("-- nothing to do: see 0005\n")
    );
}

#[test]
fn the_untouched_template_ui_fixture_is_what_migrate_new_writes() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrate-tests/tests/ui/fixtures/untouched_template");
    for file in ["0002_add_email.up.sql", "0002_add_email.down.sql"] {
        let text = std::fs::read_to_string(fixture.join(file)).unwrap();
        assert_eq!(
            text,
            new_template(file, "2024-01-31T12:00:00.000Z"),
            "{file}"
        );
    }
}

#[test]
fn rust_migrations_sit_in_the_sequence_with_sql_ones() {
    let folder = Folder::new(&[
        ("0001_a.sql", "CREATE TABLE t (x);"),
        ("0002_seed.rs", RUST_UP),
        ("0003_backfill.rs", RUST_UP_DOWN),
        ("0004_b.sql", "SELECT 4;"),
    ]);
    let migrations = folder.migrations();
    let shape: Vec<_> = migrations
        .iter()
        .map(|m| {
            (
                m.version(),
                m.name(),
                m.kind(),
                m.down_file(),
                m.is_runnable(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            (1, "a", MigrationKind::Sql, None, true),
            (2, "seed", MigrationKind::Rust, None, false),
            (
                3,
                "backfill",
                MigrationKind::Rust,
                Some("0003_backfill.rs"),
                false
            ),
            (4, "b", MigrationKind::Sql, None, true),
        ]
    );
    let backfill = migrations.get(3).unwrap();
    assert!(backfill.is_reversible());
    assert_eq!((backfill.up_sql(), backfill.down_sql()), (None, None));
    assert_eq!(backfill.checksum(), Checksum::of_text(RUST_UP_DOWN));
    assert_eq!(
        backfill.running_checksum(),
        Checksum::chain(
            Some(&migrations.get(2).unwrap().running_checksum()),
            3,
            &backfill.checksum()
        )
    );
}

#[test]
fn a_rust_file_has_no_directives() {
    let folder = Folder::new(&[(
        "0001_a.rs",
        "// -- migrate:no-transaction\n-- migrate:whatever is not Rust, but not ours to judge\npub fn up(tx: &T) -> R {}\n",
    )]);
    let migrations = folder.migrations();
    assert!(!migrations.get(1).unwrap().up_no_transaction());
}

#[test]
fn a_rust_migration_needs_pub_fn_up() {
    let folder = Folder::new(&[
        (
            "0001_private.rs",
            "fn up(tx: &rusqlite::Transaction<'_>) -> R {}",
        ),
        (
            "0002_down_only.rs",
            "pub fn down(tx: &rusqlite::Transaction<'_>) -> R {}",
        ),
        ("0003_ok.rs", RUST_UP),
    ]);
    let expected = |file: &str| {
        format!(
            "`migrations/{file}` has no `pub fn up`: a Rust migration declares `pub fn up(tx: &rusqlite::Transaction<'_>) -> Result<(), E>` at the start of a line, where E converts into `migrate::BoxError`, and optionally `pub fn down` with the same signature (on PostgreSQL the transaction is `&mut postgres::Transaction<'_>`, or with tokio-postgres `pub async fn up(tx: &mut tokio_postgres::Transaction<'_>)`)"
        )
    };
    assert_eq!(
        problems(&folder),
        [expected("0001_private.rs"), expected("0002_down_only.rs")]
    );
}

#[test]
fn a_down_sql_beside_a_rust_migration_is_an_error() {
    let folder = Folder::new(&[
        ("0001_seed.rs", RUST_UP),
        ("0001_seed.down.sql", "DELETE FROM t;"),
        ("0002_other.rs", RUST_UP_DOWN),
        ("0002_renamed.down.sql", "DELETE FROM t;"),
    ]);
    assert_eq!(
        problems(&folder),
        [
            "`migrations/0001_seed.down.sql` is a SQL down for the Rust migration `migrations/0001_seed.rs`: write the down in the `.rs` file as `pub fn down` with the signature of `pub fn up`, and delete the `.down.sql`",
            "`migrations/0002_renamed.down.sql` is a SQL down for the Rust migration `migrations/0002_other.rs`: write the down in the `.rs` file as `pub fn down` with the signature of `pub fn up`, and delete the `.down.sql`",
        ]
    );
}

#[test]
fn a_sql_and_a_rust_migration_with_one_version_are_duplicates() {
    let folder = Folder::new(&[
        ("0001_a.sql", "SELECT 1;"),
        ("0002_x.sql", "SELECT 2;"),
        ("0002_y.rs", RUST_UP),
    ]);
    assert_eq!(
        problems(&folder),
        [
            "duplicate version 2: `migrations/0002_x.sql`, `migrations/0002_y.rs` each claim it; give every migration its own version"
        ]
    );
}

#[test]
fn a_rust_migration_fills_a_version_and_a_missing_one_is_a_gap() {
    let folder = Folder::new(&[
        ("0001_a.sql", "SELECT 1;"),
        ("0002_b.rs", RUST_UP),
        ("0004_c.rs", RUST_UP),
    ]);
    let messages = problems(&folder);
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert!(
        messages[0].starts_with(
            "version 3 is missing between `migrations/0002_b.rs` and `migrations/0004_c.rs`"
        ),
        "{}",
        messages[0]
    );
}

#[test]
fn rust_file_names_have_no_flyway_up_or_down_form() {
    let folder = Folder::new(&[
        ("0001_a.sql", "SELECT 1;"),
        ("V2__b.rs", RUST_UP),
        ("0003_c.up.rs", RUST_UP),
        ("0004_d.down.rs", RUST_UP),
        ("0005_e.RS", RUST_UP),
    ]);
    let error = Migrations::from_folder(folder.path()).unwrap_err();
    let reasons: Vec<(String, FileNameError)> = error
        .problems()
        .iter()
        .filter_map(|p| match p {
            FolderProblem::BadFileName { file, reason } => Some((
                file.file_name().unwrap().to_string_lossy().into_owned(),
                *reason,
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        reasons,
        [
            ("0003_c.up.rs".to_owned(), FileNameError::NotAMigration),
            ("0004_d.down.rs".to_owned(), FileNameError::NotAMigration),
            ("0005_e.RS".to_owned(), FileNameError::NotAMigration),
            ("V2__b.rs".to_owned(), FileNameError::NotAMigration),
        ]
    );
    assert_eq!(
        error.problems().len(),
        4,
        "the bad names keep their versions from looking like gaps: {error}"
    );
    assert!(
        error.problems()[0]
            .to_string()
            .contains("or `<version>_<name>.rs` for a Rust migration"),
        "{error}"
    );
}

#[test]
fn empty_and_non_utf8_rust_files_are_errors() {
    let folder = Folder::new(&[("0001_empty.rs", ""), ("0002_blank.rs", "\n  \r\n")]);
    folder.write("0003_latin1.rs", b"// caf\xe9\npub fn up(tx: &T) -> R {}\n");
    assert_eq!(
        problems(&folder),
        [
            "`migrations/0001_empty.rs` is empty or only whitespace: declare `pub fn up(tx: &rusqlite::Transaction<'_>) -> Result<(), E>` in it",
            "`migrations/0002_blank.rs` is empty or only whitespace: declare `pub fn up(tx: &rusqlite::Transaction<'_>) -> Result<(), E>` in it",
            "`migrations/0003_latin1.rs` is not valid UTF-8 (first invalid byte at offset 6): save it as UTF-8",
        ]
    );
}

/// SQLite stops reading SQL at a NUL byte: a file holding one would have
/// everything after it silently skipped, so it is an error naming the line,
/// and the runner never gets such a set.
#[test]
fn a_nul_byte_in_a_sql_file_is_an_error_naming_its_line() {
    let folder = Folder::new(&[
        ("0001_a.sql", "CREATE TABLE a (x);"),
        (
            "0002_b.sql",
            "CREATE TABLE b (x);\nINSERT INTO b VALUES ('a\0b');\nDROP TABLE a;\n",
        ),
    ]);
    assert_eq!(
        problems(&folder),
        [
            "`migrations/0002_b.sql`, line 2: a NUL byte (at byte 44); SQLite reads SQL only up to a NUL byte, so everything after it would silently not run: remove it (write `char(0)` for a NUL in a value)"
        ]
    );
}
