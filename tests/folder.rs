//! The folder grammar and validation, through `Migrations::from_folder` (the
//! same code `embed_migrations!` runs at build time): every rule, every
//! problem reported at once, each naming its file.

mod common;

use std::path::Path;

use common::Folder;
use migrate::Migrations;
use migrate::folder::{FileNameError, FolderProblem};

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
            "no migrations in `migrations`: add a file such as `migrations/0001_create_users.sql` (accepted names: `<version>_<name>.sql`, `<version>_<name>.up.sql` with an optional `<version>_<name>.down.sql`, or `V<version>__<name>.sql`)"
        ]
    );

    let missing = folder.path().join("nope");
    let error = Migrations::from_folder(&missing).unwrap_err();
    assert!(
        matches!(&error.problems()[0], FolderProblem::MissingFolder { resolved, .. } if resolved == &missing)
    );
    assert!(
        error
            .to_string()
            .contains(&format!("resolved to `{}`", missing.display()))
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
