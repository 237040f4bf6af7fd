//! The set embedded at build time equals the set read at run time from the
//! same folder, field by field: one grammar, two entry points.

mod common;

use std::path::Path;

use common::{Database, schema_objects};
use migrate::{Checksum, MigrationKind, Migrations, embed_migrations};

const MIXED: Migrations = embed_migrations!("tests/fixtures/mixed_styles");
const QUICKSTART: Migrations = embed_migrations!("examples/migrations");
const RUST_AND_DIRECTIVES: Migrations = embed_migrations!("tests/fixtures/rust_and_directives");

fn read_at_run_time(folder: &str) -> Migrations {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
    Migrations::from_folder(&dir).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn embedded_and_run_time_sets_are_equal_field_by_field() {
    for (embedded, folder) in [
        (&MIXED, "tests/fixtures/mixed_styles"),
        (&QUICKSTART, "examples/migrations"),
        (&RUST_AND_DIRECTIVES, "tests/fixtures/rust_and_directives"),
    ] {
        let read = read_at_run_time(folder);
        assert_eq!(embedded.len(), read.len(), "{folder}");
        for (a, b) in embedded.iter().zip(read.iter()) {
            let at = format!("{folder} {}", a.version());
            assert_eq!(a.version(), b.version(), "{at}");
            assert_eq!(a.name(), b.name(), "{at}");
            assert_eq!(a.file(), b.file(), "{at}");
            assert_eq!(a.kind(), b.kind(), "{at}");
            assert_eq!(a.up_sql(), b.up_sql(), "{at}");
            assert_eq!(a.up_no_transaction(), b.up_no_transaction(), "{at}");
            assert_eq!(a.is_reversible(), b.is_reversible(), "{at}");
            assert_eq!(a.down_file(), b.down_file(), "{at}");
            assert_eq!(a.down_sql(), b.down_sql(), "{at}");
            assert_eq!(a.down_no_transaction(), b.down_no_transaction(), "{at}");
            assert_eq!(a.checksum(), b.checksum(), "{at}");
            assert_eq!(a.running_checksum(), b.running_checksum(), "{at}");
            // Only the embedded set has the Rust code compiled in.
            assert!(a.is_runnable(), "{at}");
            assert_eq!(b.is_runnable(), a.kind() == MigrationKind::Sql, "{at}");
        }
        assert_eq!(*embedded, read, "{folder}");
    }
}

#[test]
fn the_embedded_set_reads_directives_and_rust_migrations() {
    let set = RUST_AND_DIRECTIVES;
    let summary: Vec<_> = set
        .iter()
        .map(|m| {
            (
                m.version(),
                m.file(),
                m.kind(),
                m.up_no_transaction(),
                m.down_file(),
                m.down_no_transaction(),
            )
        })
        .collect();
    use MigrationKind::{Rust, Sql};
    assert_eq!(
        summary,
        [
            (
                1,
                "0001_accounts.up.sql",
                Sql,
                false,
                Some("0001_accounts.down.sql"),
                false
            ),
            (
                2,
                "0002_accounts_by_name.up.sql",
                Sql,
                true,
                Some("0002_accounts_by_name.down.sql"),
                true
            ),
            (
                3,
                "0003_seed_accounts.rs",
                Rust,
                false,
                Some("0003_seed_accounts.rs"),
                false
            ),
            (4, "0004_audit.sql", Sql, false, None, false),
        ]
    );
    let seed = set.get(3).unwrap();
    assert!(seed.is_runnable(), "the Rust code is compiled in");
    assert_eq!((seed.up_sql(), seed.down_sql()), (None, None));
    assert!(
        set.get(2)
            .unwrap()
            .up_sql()
            .unwrap()
            .starts_with("-- migrate:no-transaction\n"),
        "the directive stays in the SQL"
    );

    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/rust_and_directives/0003_seed_accounts.rs"),
    )
    .unwrap();
    assert_eq!(
        seed.checksum(),
        Checksum::of_text(&text),
        "the whole .rs file"
    );
    assert_eq!(
        seed.running_checksum(),
        Checksum::chain(
            Some(&set.get(2).unwrap().running_checksum()),
            3,
            &seed.checksum()
        ),
        "a Rust migration joins the running checksum chain"
    );
}

#[test]
fn the_embedded_set_reads_every_naming_style() {
    let mixed = MIXED;
    let summary: Vec<(u64, &str, &str, Option<&str>)> = mixed
        .iter()
        .map(|m| (m.version(), m.name(), m.file(), m.down_file()))
        .collect();
    assert_eq!(
        summary,
        [
            (1, "users", "0001_users.up.sql", Some("0001_users.down.sql")),
            (2, "posts", "V2__posts.sql", None),
            (3, "noop", "0003_noop.sql", None),
        ]
    );
    let first = mixed.get(1).unwrap();
    assert!(
        first.up_sql().unwrap().starts_with("-- saved by"),
        "the BOM is removed from the SQL"
    );
    assert_eq!(first.down_sql(), Some("DROP TABLE users;\n"));
}

#[test]
fn build_time_checksums_are_sha256_of_the_normalised_file() {
    let raw = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mixed_styles/0001_users.up.sql"),
    )
    .unwrap();
    assert!(
        raw.starts_with('\u{feff}') && raw.contains("\r\n"),
        "the fixture keeps its BOM and CRLF"
    );
    let lf = "-- saved by an editor that writes a BOM and CRLF\nCREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);\n";
    assert_eq!(MIXED.get(1).unwrap().checksum(), Checksum::of_text(lf));

    let mut previous = None;
    for migration in &MIXED {
        let running = Checksum::chain(
            previous.as_ref(),
            migration.version(),
            &migration.checksum(),
        );
        assert_eq!(
            migration.running_checksum(),
            running,
            "{}",
            migration.version()
        );
        previous = Some(running);
    }
}

#[test]
fn the_embedded_set_applies_including_a_comment_only_migration() -> migrate::Result<()> {
    let db = Database::new();
    let mut conn = db.open();
    let report = MIXED.run(&mut conn)?;
    assert_eq!(report.applied.len(), 3);
    assert_eq!(schema_objects(&conn), ["table posts", "table users"]);
    Ok(())
}

#[test]
fn the_embedded_rust_migration_runs_in_both_directions() -> migrate::Result<()> {
    let db = Database::new();
    let mut conn = db.open();
    let balances = |conn: &rusqlite::Connection| -> Vec<(String, i64)> {
        let mut statement = conn
            .prepare("SELECT name, balance_cents FROM accounts ORDER BY balance_cents")
            .unwrap();
        statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let seeded = [
        ("opening-bronze".to_owned(), 1_000),
        ("opening-silver".to_owned(), 5_000),
        ("opening-gold".to_owned(), 25_000),
    ];

    assert_eq!(RUST_AND_DIRECTIVES.run_to(&mut conn, 3)?.applied.len(), 3);
    assert_eq!(
        balances(&conn),
        seeded,
        "pub fn up inserted the computed rows"
    );
    assert_eq!(
        schema_objects(&conn),
        ["index accounts_by_name", "table accounts"]
    );

    let rolled_back = RUST_AND_DIRECTIVES.rollback(&mut conn, 1)?.rolled_back;
    assert_eq!(rolled_back.len(), 1);
    assert_eq!(rolled_back[0].version, 3);
    assert!(balances(&conn).is_empty(), "pub fn down deleted them");

    assert_eq!(RUST_AND_DIRECTIVES.run(&mut conn)?.applied.len(), 2);
    assert_eq!(balances(&conn), seeded);
    assert_eq!(
        schema_objects(&conn),
        ["index accounts_by_name", "table accounts", "table audit"]
    );
    Ok(())
}
