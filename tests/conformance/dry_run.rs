//! Dry runs: each pending migration is tried in one transaction that is
//! rolled back, so nothing is kept or recorded; the report says what a real
//! run would do.

use migrate::{DryRunOutcome, DryRunReport, Error, Migrations};

use super::support::{pending_versions, snapshot};
use super::{Folder, Harness, Message};

fn all_succeed() -> Folder {
    Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);",
        ),
        (
            "0002_seed.sql",
            "INSERT INTO users (id, email) VALUES (1, 'a@example.com');",
        ),
        (
            "0003_email.sql",
            "CREATE UNIQUE INDEX users_email ON users (email);",
        ),
        (
            "0004_posts.sql",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY);",
        ),
    ])
}

fn third_fails() -> Folder {
    Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);",
        ),
        (
            "0002_seed.sql",
            "INSERT INTO users (id, email) VALUES (1, 'a@example.com');",
        ),
        (
            "0003_tags.sql",
            "CREATE TABLE tags (name TEXT);\nINSERT INTO nowhere VALUES (1);\n",
        ),
        (
            "0004_posts.sql",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY);",
        ),
    ])
}

/// Dry-runs `migrations` on a connection of its own, closed afterwards, so
/// that what the case checks next on another connection is what was kept.
fn dry_run<H: Harness>(db: &H, migrations: &Migrations) -> DryRunReport {
    migrations.runner().dry_run(&mut db.connect()).unwrap()
}

fn outcomes(report: &DryRunReport) -> Vec<(u64, &'static str)> {
    report
        .steps
        .iter()
        .map(|step| {
            let outcome = match step.outcome {
                DryRunOutcome::Ok(_) => "ok",
                DryRunOutcome::Failed(_) => "failed",
                DryRunOutcome::SkippedNoTransaction => "skipped",
                _ => "unknown",
            };
            (step.version, outcome)
        })
        .collect()
}

pub fn on_a_new_database_every_migration_is_tried_and_nothing_is_kept<H: Harness>()
-> migrate::Result<()> {
    let migrations = all_succeed().migrations();
    let db = H::new_database();

    let report = dry_run(&db, &migrations);

    assert_eq!(
        outcomes(&report),
        [(1, "ok"), (2, "ok"), (3, "ok"), (4, "ok")]
    );
    assert_eq!(report.steps[2].file, "0003_email.sql");
    assert!(report.failure().is_none());
    let mut conn = db.connect();
    assert!(H::is_empty(&mut conn));
    assert!(migrations.history(&mut conn)?.is_empty());
    assert_eq!(migrations.run(&mut conn)?.applied.len(), 4);
    Ok(())
}

pub fn on_a_database_with_migrations_applied_only_the_pending_ones_are_tried<H: Harness>()
-> migrate::Result<()> {
    let migrations = all_succeed().migrations();
    let db = H::new_database();
    let mut conn = db.connect();
    migrations.run_to(&mut conn, 2)?;
    let before = snapshot::<H>(&migrations, &mut conn);
    drop(conn);

    let report = dry_run(&db, &migrations);

    assert_eq!(outcomes(&report), [(3, "ok"), (4, "ok")]);
    let mut conn = db.connect();
    assert_eq!(snapshot::<H>(&migrations, &mut conn), before);
    assert_eq!(pending_versions::<H>(&migrations, &mut conn), [3, 4]);
    Ok(())
}

/// The failure of migration 3, as a dry run reports it.
fn assert_third_failed<H: Harness>(report: &DryRunReport) {
    let (step, error) = report.failure().expect("a failure");
    assert_eq!((step.version, step.file.as_str()), (3, "0003_tags.sql"));
    assert!(
        matches!(
            error,
            Error::MigrationFailed { version: 3, file, line: Some(2), .. } if file == "0003_tags.sql"
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.starts_with("migration 3 (tags) failed in `0003_tags.sql` at line 2")
            && message.contains(&H::message(Message::NoSuchTable("nowhere"))),
        "{message}"
    );
}

pub fn on_a_new_database_a_failure_stops_the_dry_run_and_nothing_is_recorded<H: Harness>()
-> migrate::Result<()> {
    let migrations = third_fails().migrations();
    let db = H::new_database();

    let report = dry_run(&db, &migrations);

    assert_eq!(outcomes(&report), [(1, "ok"), (2, "ok"), (3, "failed")]);
    assert_third_failed::<H>(&report);
    let mut conn = db.connect();
    assert!(H::is_empty(&mut conn));
    assert!(migrations.history(&mut conn)?.is_empty());
    Ok(())
}

pub fn on_a_database_with_migrations_applied_a_failure_is_not_recorded<H: Harness>()
-> migrate::Result<()> {
    let migrations = third_fails().migrations();
    let db = H::new_database();
    let mut conn = db.connect();
    migrations.run_to(&mut conn, 1)?;
    let before = snapshot::<H>(&migrations, &mut conn);
    drop(conn);

    let report = dry_run(&db, &migrations);

    assert_eq!(outcomes(&report), [(2, "ok"), (3, "failed")]);
    assert_third_failed::<H>(&report);
    let mut conn = db.connect();
    assert_eq!(snapshot::<H>(&migrations, &mut conn), before);
    assert!(migrations.status(&mut conn)?.failed.is_empty());
    Ok(())
}

pub fn a_migration_outside_a_transaction_is_skipped_and_later_ones_tried<H: Harness>()
-> migrate::Result<()> {
    let folder = Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);",
        ),
        ("0002_vacuum.sql", "-- migrate:no-transaction\nVACUUM;\n"),
        (
            "0003_posts.sql",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY);",
        ),
    ]);
    let migrations = folder.migrations();
    assert!(migrations.get(2).unwrap().up_no_transaction());
    let db = H::new_database();

    let report = dry_run(&db, &migrations);

    assert_eq!(outcomes(&report), [(1, "ok"), (2, "skipped"), (3, "ok")]);
    assert!(report.failure().is_none());
    let mut conn = db.connect();
    assert!(H::is_empty(&mut conn));
    assert!(migrations.history(&mut conn)?.is_empty());
    Ok(())
}
