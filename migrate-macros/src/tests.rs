//! The tests of the macro's steps (outside the modules, which the
//! expansion bench includes by path).

use std::path::Path;

use migrate_core::sqlite::VerifyOptions;
use migrate_core::{Migrations, ObjectKind};
use proc_macro2::Span;

use crate::cache::{self, Object, Outcome, folder_for, key, load, sqlite_identity, store};
use crate::expand::verify_kept;

mod cache_kept {
    use super::*;

    fn set(files: &[(&str, &str)]) -> (tempfile::TempDir, Migrations) {
        let dir = tempfile::tempdir().expect("temporary folder");
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).expect("migration file");
        }
        let migrations = Migrations::from_folder(dir.path()).expect("valid folder");
        (dir, migrations)
    }

    const UP: (&str, &str) = ("0001_t.up.sql", "CREATE TABLE t (id INTEGER PRIMARY KEY);");
    const DOWN: (&str, &str) = ("0001_t.down.sql", "DROP TABLE t;");

    /// Anything the check depends on gives another key, so a kept outcome
    /// is never reused for it.
    #[test]
    fn a_changed_file_option_or_sqlite_changes_the_key() {
        let sqlite = sqlite_identity();
        assert!(sqlite.starts_with("3."), "{sqlite}");
        assert!(
            sqlite.contains("MAX_EXPR_DEPTH") || sqlite.contains("THREADSAFE"),
            "{sqlite}"
        );
        let (_dir, base) = set(&[UP, DOWN]);
        let arguments = "\"migrations\"";
        let none = VerifyOptions::new();
        let app_hash = VerifyOptions::new().stand_in_function("app_hash");
        let regexp = VerifyOptions::new().stand_in_function("regexp");
        let collation = VerifyOptions::new().stand_in_collation("app_hash");
        assert_ne!(
            key(&base, arguments, &app_hash, &sqlite),
            key(&base, arguments, &regexp, &sqlite),
            "another stand-in function"
        );
        let base_key = key(&base, arguments, &none, &sqlite);
        assert_eq!(
            base_key,
            key(&set(&[UP, DOWN]).1, arguments, &none, &sqlite),
            "same inputs, same key"
        );
        let changed_up = set(&[("0001_t.up.sql", "CREATE TABLE t (id INTEGER);"), DOWN]).1;
        let changed_down = set(&[UP, ("0001_t.down.sql", "DROP TABLE IF EXISTS t;")]).1;
        let no_down = set(&[("0001_t.sql", UP.1)]).1;
        let renamed = set(&[("0001_u.up.sql", UP.1), ("0001_u.down.sql", DOWN.1)]).1;
        let outside = set(&[
            UP,
            (
                "0001_t.down.sql",
                "-- migrate:no-transaction\nDROP TABLE t;",
            ),
        ])
        .1;
        for (what, other) in [
            ("a changed up", key(&changed_up, arguments, &none, &sqlite)),
            (
                "a changed down",
                key(&changed_down, arguments, &none, &sqlite),
            ),
            ("no down", key(&no_down, arguments, &none, &sqlite)),
            ("another name", key(&renamed, arguments, &none, &sqlite)),
            (
                "a down outside a transaction",
                key(&outside, arguments, &none, &sqlite),
            ),
            (
                "another option",
                key(&base, "\"migrations\", verify = true", &none, &sqlite),
            ),
            (
                "another folder",
                key(&base, "\"db/migrations\"", &none, &sqlite),
            ),
            (
                "a stand-in function",
                key(&base, arguments, &app_hash, &sqlite),
            ),
            (
                "foreign keys off",
                key(
                    &base,
                    arguments,
                    &VerifyOptions::new().foreign_keys(false),
                    &sqlite,
                ),
            ),
            (
                "a stand-in collation of that name",
                key(&base, arguments, &collation, &sqlite),
            ),
            (
                "another SQLite",
                key(&base, arguments, &none, &sqlite.replace("3.", "4.")),
            ),
            (
                "another build of SQLite",
                key(
                    &base,
                    arguments,
                    &none,
                    &format!("{sqlite} MAX_EXPR_DEPTH=4000"),
                ),
            ),
        ] {
            assert_ne!(base_key, other, "{what}");
        }
    }

    #[test]
    fn outcomes_are_kept_and_read_back_whole() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let folder = dir.path().join("migrate-check");
        let outcomes = [
            Outcome::Passed(Some(vec![Object {
                kind: ObjectKind::Table,
                name: "t\n2".to_owned(),
                table: "t\n2".to_owned(),
                sql: "CREATE TABLE \"t\n2\" (x)\n".to_owned(),
            }])),
            Outcome::Passed(Some(Vec::new())),
            Outcome::Passed(None),
            Outcome::Failed(vec!["one".to_owned(), "two\nlines".to_owned()]),
        ];
        for (index, outcome) in outcomes.iter().enumerate() {
            let key = format!("k{index}");
            assert_eq!(load(&folder, &key), None);
            store(&folder, &key, outcome);
            assert_eq!(load(&folder, &key).as_ref(), Some(outcome));
            // A cut-off or altered entry is a miss, not a wrong outcome.
            let text = std::fs::read_to_string(folder.join(&key)).expect("kept");
            std::fs::write(folder.join(&key), &text[..text.len() - 2]).expect("cut");
            assert_eq!(load(&folder, &key), None);
            std::fs::write(folder.join(&key), format!("{text}x")).expect("appended");
            assert_eq!(load(&folder, &key), None);
        }
        let leftovers: Vec<_> = std::fs::read_dir(&folder)
            .expect("folder")
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.file_name().to_string_lossy().ends_with(".partial"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn a_folder_that_cannot_be_written_keeps_nothing_and_fails_nothing() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let file = dir.path().join("a-file");
        std::fs::write(&file, "").expect("file");
        let folder = file.join("migrate-check");
        store(&folder, "k", &Outcome::Passed(None));
        assert_eq!(load(&folder, "k"), None);
    }

    #[test]
    fn the_folder_is_in_the_target_directory() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let krate = dir.path().join("workspace").join("app");
        std::fs::create_dir_all(&krate).expect("crate");
        assert_eq!(folder_for(&krate, None), None, "no target directory yet");
        let target = dir.path().join("workspace").join("target");
        std::fs::create_dir_all(&target).expect("target");
        std::fs::write(
            target.join("CACHEDIR.TAG"),
            "Signature: 8a477f597d28d172789f06886806bc55",
        )
        .expect("tag");
        assert_eq!(folder_for(&krate, None), Some(target.join("migrate-check")));
        let elsewhere = dir.path().join("elsewhere");
        assert_eq!(
            folder_for(&krate, Some(elsewhere.clone().into_os_string())),
            Some(elsewhere.join("migrate-check"))
        );
        assert_eq!(folder_for(&krate, Some("relative".into())), None);
    }
}

mod expansion {
    use super::*;

    /// A kept outcome is what a rebuild with the same inputs reports (here
    /// one planted to tell), and a changed file is checked again.
    #[test]
    fn an_unchanged_folder_reuses_the_kept_outcome_and_a_changed_one_is_checked_again() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let migrations_dir = dir.path().join("migrations");
        std::fs::create_dir(&migrations_dir).expect("folder");
        let write = |down: &str| {
            std::fs::write(
                migrations_dir.join("0001_t.up.sql"),
                "CREATE TABLE t (id INTEGER PRIMARY KEY);\nCREATE TABLE u (id INTEGER);",
            )
            .expect("up");
            std::fs::write(migrations_dir.join("0001_t.down.sql"), down).expect("down");
        };
        let kept = dir.path().join("migrate-check");
        let check = || {
            let migrations = Migrations::from_folder(&migrations_dir).expect("valid folder");
            verify_kept(
                &migrations,
                Path::new("migrations"),
                "\"migrations\"",
                &VerifyOptions::new(),
                Some(kept.clone()),
                Span::call_site(),
            )
            .map_err(|error| error.to_string())
        };
        write("DROP TABLE t;");
        let first = check().expect_err("the down leaves `u`");
        assert!(first.contains("table `u` still exists"), "{first}");
        assert_eq!(std::fs::read_dir(&kept).expect("kept").count(), 1);
        // Plant another outcome under the same key: a rebuild reports it.
        let entry = std::fs::read_dir(&kept)
            .expect("kept")
            .next()
            .expect("entry")
            .expect("entry");
        cache::store(
            &kept,
            &entry.file_name().to_string_lossy(),
            &Outcome::Failed(vec!["planted".to_owned()]),
        );
        assert_eq!(check(), Err("planted".to_owned()));
        // The fixed down is another key: checked, and it passes.
        write("DROP TABLE u;\nDROP TABLE t;");
        let objects = check()
            .expect("a down that restores the schema")
            .expect("a schema");
        assert_eq!(objects.len(), 2);
        assert_eq!(std::fs::read_dir(&kept).expect("kept").count(), 2);
    }
}

mod stand_ins {
    use crate::input::Input;

    #[test]
    fn functions_and_collations_are_read_as_the_sql_names() {
        let input: Input = syn::parse_str(
            r#""migrations", functions(app_hash, r#type, "regexp"), collations(de_phonebook)"#,
        )
        .expect("macro input");
        assert_eq!(input.functions, ["app_hash", "type", "regexp"]);
        assert_eq!(input.collations, ["de_phonebook"]);
        let none: Input = syn::parse_str(r#""migrations""#).expect("macro input");
        assert!(none.functions.is_empty() && none.collations.is_empty());
        assert!(none.foreign_keys);
        let off: Input =
            syn::parse_str(r#""migrations", foreign_keys = false"#).expect("macro input");
        assert!(!off.foreign_keys);
    }

    #[test]
    fn a_stand_in_the_check_would_not_use_is_refused() {
        for (arguments, why) in [
            (
                r#""m", functions(f), verify = false"#,
                "with `verify = false` there is no check",
            ),
            (
                r#""m", engine = "postgres", collations(c)"#,
                "a PostgreSQL set is not checked on SQLite",
            ),
            (r#""m", functions("")"#, "a name is not empty"),
            (
                r#""m", functions(f), functions(g)"#,
                "`functions` is given twice",
            ),
            (
                r#""m", foreign_keys = false, verify = false"#,
                "with `verify = false` there is no check",
            ),
        ] {
            let error = syn::parse_str::<Input>(arguments)
                .err()
                .unwrap_or_else(|| panic!("{arguments} is refused"));
            assert!(error.to_string().contains(why), "{arguments}: {error}");
        }
    }
}
