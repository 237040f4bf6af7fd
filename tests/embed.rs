//! The set embedded at build time equals the set read at run time from the
//! same folder, field by field: one grammar, two entry points.

mod common;

use std::path::Path;

use common::{Database, schema_objects};
use migrate::{Checksum, Migrations, embed_migrations};

const MIXED: Migrations = embed_migrations!("tests/fixtures/mixed_styles");
const QUICKSTART: Migrations = embed_migrations!("examples/migrations");

fn read_at_run_time(folder: &str) -> Migrations {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
    Migrations::from_folder(&dir).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn embedded_and_run_time_sets_are_equal_field_by_field() {
    for (embedded, folder) in [
        (&MIXED, "tests/fixtures/mixed_styles"),
        (&QUICKSTART, "examples/migrations"),
    ] {
        let read = read_at_run_time(folder);
        assert_eq!(embedded.len(), read.len(), "{folder}");
        for (a, b) in embedded.iter().zip(read.iter()) {
            assert_eq!(a.version(), b.version(), "{folder}");
            assert_eq!(a.name(), b.name(), "{folder} {}", a.version());
            assert_eq!(a.file(), b.file());
            assert_eq!(a.up_sql(), b.up_sql());
            assert_eq!(a.down_file(), b.down_file());
            assert_eq!(a.down_sql(), b.down_sql());
            assert_eq!(a.checksum(), b.checksum());
            assert_eq!(a.running_checksum(), b.running_checksum());
        }
        assert_eq!(*embedded, read, "{folder}");
    }
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
