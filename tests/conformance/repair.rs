//! Repair: accept the checksum of an edited applied migration, clear failed
//! attempts (and dirty marks, see `no_transaction.rs`), refuse a version a
//! different migration took unless told to accept it, and record each
//! change in the history.

use migrate::{Checksum, DEFAULT_TABLE, Error, EventKind, Problem, RepairAction, RepairReport};

use super::support::{
    expected_running_checksums, recorded, renumbered_after_a_merge, running_checksums, snapshot,
    states, versions,
};
use super::{Folder, Harness};

fn two() -> Folder {
    Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n",
        ),
        (
            "0002_posts.sql",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY);\n",
        ),
    ])
}

/// `(version, name, action)` of every repair.
fn what_changed(report: &RepairReport) -> Vec<(u64, &str, &RepairAction)> {
    report
        .repairs
        .iter()
        .map(|r| (r.version, r.name.as_str(), &r.action))
        .collect()
}

/// A database with 1 and 2 applied, then `0001_users.sql` edited (a comment
/// added: same schema, different checksum) and a migration 3 added.
/// Returns the checksum 1 was applied with.
fn edited_after_applying<H: Harness>(folder: &Folder, db: &H) -> migrate::Result<Checksum> {
    let applied_with = folder.migrations().get(1).unwrap().checksum();
    folder.migrations().run(&mut db.connect())?;
    folder.write(
        "0001_users.sql",
        "-- users sign in with their email\nCREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n",
    );
    folder.write(
        "0003_tags.sql",
        "CREATE TABLE tags (id INTEGER PRIMARY KEY);\n",
    );
    Ok(applied_with)
}

pub fn repair_accepts_the_checksum_of_an_edited_migration<H: Harness>() -> migrate::Result<()> {
    let folder = two();
    let db = H::new_database();
    let applied_with = edited_after_applying(&folder, &db)?;
    let migrations = folder.migrations();
    let current = migrations.get(1).unwrap().checksum();
    assert_ne!(applied_with, current);
    let mut conn = db.connect();

    let refused = migrations.run(&mut conn);
    assert!(
        matches!(
            &refused,
            Err(Error::Verification(Problem::Divergent { version: 1, .. }))
        ),
        "{refused:?}"
    );

    let report = migrations.runner().repair(&mut conn)?;

    assert_eq!(report.repairs.len(), 1, "{report:?}");
    let repair = &report.repairs[0];
    assert_eq!((repair.version, repair.name.as_str()), (1, "users"));
    assert_eq!(
        repair.action,
        RepairAction::AcceptedChecksum {
            previous: applied_with,
            current
        }
    );
    assert_eq!(
        recorded::<H>(&migrations, &mut conn)[0].2,
        current,
        "the tracking row has the current checksum"
    );

    let report = migrations.run(&mut conn)?;

    assert_eq!(versions(&report.applied), [3], "the next pending migration");
    let status = migrations.status(&mut conn)?;
    assert!(status.problems.is_empty(), "{:?}", status.problems);
    assert!(status.is_up_to_date());
    Ok(())
}

pub fn after_a_repair_the_running_checksums_are_chained_again<H: Harness>() -> migrate::Result<()> {
    // The up-to-date check reads only the latest row's running checksum; a
    // repair that changed only the checksum would leave every later run on
    // the slow path, comparing every row.
    let folder = two();
    let db = H::new_database();
    edited_after_applying(&folder, &db)?;
    folder.remove("0003_tags.sql");
    let migrations = folder.migrations();
    let mut conn = db.connect();

    migrations.runner().repair(&mut conn)?;

    assert_eq!(
        running_checksums::<H>(&mut conn),
        expected_running_checksums(&migrations)
    );
    assert!(migrations.run(&mut conn)?.applied.is_empty());
    assert!(migrations.status(&mut conn)?.is_up_to_date());

    // And after the next migration is applied on top.
    folder.write(
        "0003_tags.sql",
        "CREATE TABLE tags (id INTEGER PRIMARY KEY);\n",
    );
    let migrations = folder.migrations();
    assert_eq!(migrations.run(&mut conn)?.applied.len(), 1);
    assert_eq!(
        running_checksums::<H>(&mut conn),
        expected_running_checksums(&migrations)
    );
    assert!(migrations.run(&mut conn)?.applied.is_empty());
    assert!(migrations.status(&mut conn)?.is_up_to_date());
    Ok(())
}

pub fn repair_clears_a_failed_attempt<H: Harness>() -> migrate::Result<()> {
    let folder = two();
    folder.write("0003_broken.sql", "INSERT INTO nowhere VALUES (1);\n");
    let migrations = folder.migrations();
    let db = H::new_database();
    let mut conn = db.connect();
    let _ = migrations.run(&mut conn);
    assert_eq!(migrations.status(&mut conn)?.failed.len(), 1);

    let report = migrations.runner().repair(&mut conn)?;

    let repairs = what_changed(&report);
    assert_eq!(repairs, [(3, "broken", &RepairAction::ClearedFailed)]);
    assert_eq!(
        states::<H>(&migrations, &mut conn),
        [(1, "applied"), (2, "applied")],
        "the failed row is gone"
    );
    let status = migrations.status(&mut conn)?;
    assert!(status.failed.is_empty(), "{:?}", status.failed);
    let pending: Vec<u64> = status.pending.iter().map(|p| p.version).collect();
    assert_eq!(pending, [3], "still pending");
    Ok(())
}

pub fn repair_of_a_clean_database_changes_nothing<H: Harness>() -> migrate::Result<()> {
    let migrations = two().migrations();
    let db = H::new_database();
    let mut conn = db.connect();

    // Never migrated: nothing to repair, and no tables created.
    let report = migrations.runner().repair(&mut conn)?;
    assert!(report.repairs.is_empty(), "{report:?}");
    assert!(H::is_empty(&mut conn));

    // Up to date: nothing to repair, no event recorded.
    migrations.run(&mut conn)?;
    let before = snapshot::<H>(&migrations, &mut conn);
    let report = migrations.runner().repair(&mut conn)?;
    assert!(report.repairs.is_empty(), "{report:?}");
    assert_eq!(snapshot::<H>(&migrations, &mut conn), before);
    Ok(())
}

pub fn repair_leaves_a_missing_migration_alone<H: Harness>() -> migrate::Result<()> {
    let folder = two();
    let db = H::new_database();
    folder.migrations().run(&mut db.connect())?;
    folder.remove("0002_posts.sql");
    let migrations = folder.migrations();
    let mut conn = db.connect();
    let before = snapshot::<H>(&migrations, &mut conn);

    let report = migrations.runner().repair(&mut conn)?;

    assert!(report.repairs.is_empty(), "{report:?}");
    assert_eq!(snapshot::<H>(&migrations, &mut conn), before);
    let status = migrations.status(&mut conn)?;
    assert!(
        matches!(status.problems[..], [Problem::Missing { version: 2, .. }]),
        "{:?}",
        status.problems
    );
    Ok(())
}

pub fn repairs_are_in_the_history_with_what_changed<H: Harness>() -> migrate::Result<()> {
    let folder = two();
    let db = H::new_database();
    let applied_with = edited_after_applying(&folder, &db)?;
    folder.remove("0003_tags.sql");
    folder.write("0003_broken.sql", "INSERT INTO nowhere VALUES (1);\n");
    let migrations = folder.migrations();
    let current = migrations.get(1).unwrap().checksum();
    let mut conn = db.connect();
    // Accept the edit first so that the broken migration gets to run.
    migrations.runner().repair(&mut conn)?;
    let _ = migrations.run(&mut conn);
    migrations.runner().repair(&mut conn)?;

    let history = migrations.history(&mut conn)?;

    let repaired: Vec<(u64, Option<Checksum>, Option<&str>)> = history
        .iter()
        .filter(|e| e.kind == EventKind::Repaired)
        .map(|e| (e.version, e.checksum, e.detail.as_deref()))
        .collect();
    let accepted =
        format!("accepted the current checksum {current} (was applied with {applied_with})");
    assert_eq!(
        repaired,
        [
            (1, Some(current), Some(accepted.as_str())),
            (3, None, Some("cleared the failed attempt")),
        ]
    );
    for event in history.iter().filter(|e| e.kind == EventKind::Repaired) {
        assert_eq!(event.duration, None);
        assert_eq!(event.name, migrations.get(event.version).unwrap().name());
    }
    Ok(())
}

/// Writes a row of the tracking table by hand: about the table itself.
pub fn repair_refuses_a_reused_version_and_changes_nothing<H: Harness>() -> migrate::Result<()> {
    let (folder, db) = renumbered_after_a_merge::<H>()?;
    // Also an edit to accept and a failed attempt to clear: a refused
    // repair makes neither.
    folder.write(
        "0001_users.sql",
        "-- who signs in\nCREATE TABLE users (id INTEGER PRIMARY KEY);\n",
    );
    folder.write("0004_broken.sql", "INSERT INTO nowhere VALUES (1);\n");
    let mut conn = db.connect();
    H::execute(
        &mut conn,
        &format!(
            "INSERT INTO {DEFAULT_TABLE} (version, name, checksum, applied_at, duration_ms, state, error)
             VALUES (4, 'broken', 'sha256:{}', '2024-01-31T12:00:00.000Z', 0, 'failed', 'no such table: nowhere')",
            "0".repeat(64)
        ),
    );
    let migrations = folder.migrations();
    let before = snapshot::<H>(&migrations, &mut conn);
    let failed: Vec<u64> = migrations
        .status(&mut conn)?
        .failed
        .iter()
        .map(|f| f.version)
        .collect();
    assert_eq!(failed, [4], "the hand-written failed attempt is read");

    let error = migrations.runner().repair(&mut conn).unwrap_err();

    let Error::RepairRefused { reused } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(
        reused,
        &[Problem::VersionReused {
            version: 2,
            applied_name: "add_phone".into(),
            name: "add_avatar".into(),
            file: "0002_add_avatar.sql".into(),
            renumbered: Some((3, "0003_add_phone.sql".into())),
        }]
    );
    assert_eq!(
        error.to_string(),
        "cannot repair: version 2 (applied as add_phone) is now add_avatar; recording the new \
         migration on a reused version is right only once the database has what it does and no longer \
         what the applied one did, so nothing was changed: put the applied migration back at its \
         version, or roll it back with the build or folder that applied it (see status), or accept \
         with `accept_reused_versions(true)` (`migrate repair --accept-reused-versions`)"
    );
    assert_eq!(
        snapshot::<H>(&migrations, &mut conn),
        before,
        "nothing repaired half way"
    );
    Ok(())
}

pub fn an_accepted_reused_version_records_the_new_migration_and_the_next_run_applies_the_renumbered_one<
    H: Harness,
>() -> migrate::Result<()> {
    let (folder, db) = renumbered_after_a_merge::<H>()?;
    let migrations = folder.migrations();
    let (avatar, phone) = (migrations.get(2).unwrap(), migrations.get(3).unwrap());
    let mut conn = db.connect();
    // What accepting asserts: the database has what add_avatar does and no
    // longer what add_phone did (here by hand; rolling add_phone back with
    // the build that applied it, then running, needs no repair at all).
    // Without it, the next run would fail adding phone a second time.
    H::execute(
        &mut conn,
        "ALTER TABLE users DROP COLUMN phone; ALTER TABLE users ADD COLUMN avatar TEXT;",
    );

    let report = migrations
        .runner()
        .accept_reused_versions(true)
        .repair(&mut conn)?;

    let action = RepairAction::AcceptedReusedVersion {
        previous_name: "add_phone".into(),
        previous: phone.checksum(),
        name: "add_avatar".into(),
        current: avatar.checksum(),
    };
    let repairs = what_changed(&report);
    assert_eq!(repairs, [(2, "add_avatar", &action)]);
    assert_eq!(
        recorded::<H>(&migrations, &mut conn)[1],
        (2, "add_avatar".into(), avatar.checksum())
    );
    assert_eq!(
        states::<H>(&migrations, &mut conn),
        [(1, "applied"), (2, "applied")]
    );
    let event = migrations.history(&mut conn)?.pop().unwrap();
    assert_eq!(
        (
            event.kind,
            event.version,
            event.name.as_str(),
            event.checksum
        ),
        (
            EventKind::Repaired,
            2,
            "add_avatar",
            Some(avatar.checksum())
        )
    );
    assert_eq!(
        event.detail.unwrap(),
        format!(
            "accepted add_avatar at this version with checksum {} (was applied as add_phone with {})",
            avatar.checksum(),
            phone.checksum()
        )
    );

    let report = migrations.run(&mut conn)?;

    let applied: Vec<(u64, &str)> = report
        .applied
        .iter()
        .map(|a| (a.version, a.name.as_str()))
        .collect();
    assert_eq!(applied, [(3, "add_phone")]);
    assert_eq!(H::columns(&mut conn, "users"), ["id", "avatar", "phone"]);
    assert_eq!(
        running_checksums::<H>(&mut conn),
        expected_running_checksums(&migrations),
        "as if applied in this order from scratch"
    );
    assert!(migrations.status(&mut conn)?.is_up_to_date());
    assert!(migrations.run(&mut conn)?.applied.is_empty());
    Ok(())
}

pub fn repair_records_the_new_name_of_a_renamed_file_with_the_same_content<H: Harness>()
-> migrate::Result<()> {
    // Not a problem (see verification.rs), but a stale name would make a
    // later edit of the file look like a different migration.
    let folder = two();
    let db = H::new_database();
    folder.migrations().run(&mut db.connect())?;
    folder.rename("0002_posts.sql", "0002_blog_posts.sql");
    let migrations = folder.migrations();
    let mut conn = db.connect();

    let report = migrations.runner().repair(&mut conn)?;

    let repairs = what_changed(&report);
    let renamed = RepairAction::RecordedName {
        previous_name: "posts".into(),
        name: "blog_posts".into(),
    };
    assert_eq!(repairs, [(2, "blog_posts", &renamed)]);
    let names: Vec<String> = migrations
        .status(&mut conn)?
        .applied
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, ["users", "blog_posts"]);
    assert_eq!(
        running_checksums::<H>(&mut conn),
        expected_running_checksums(&migrations)
    );
    Ok(())
}
