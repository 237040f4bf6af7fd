//! A target version: apply up to and including it, then the rest; an
//! unknown target applies nothing; a target at or below the current version
//! applies nothing.

use migrate::Error;

use super::support::{applied_versions, snapshot, versions};
use super::{Folder, Harness};

fn four() -> Folder {
    Folder::new(&[
        ("0001_users.sql", "CREATE TABLE users (id INTEGER);"),
        ("0002_posts.sql", "CREATE TABLE posts (id INTEGER);"),
        ("0003_tags.sql", "CREATE TABLE tags (id INTEGER);"),
        ("0004_notes.sql", "CREATE TABLE notes (id INTEGER);"),
    ])
}

pub fn run_to_applies_up_to_and_including_the_target_then_run_applies_the_rest<H: Harness>()
-> migrate::Result<()> {
    let migrations = four().migrations();
    let db = H::new_database();
    let mut conn = db.connect();

    let report = migrations.run_to(&mut conn, 2)?;

    assert_eq!(versions(&report.applied), [1, 2]);
    assert_eq!(H::objects(&mut conn), ["table posts", "table users"]);
    assert_eq!(applied_versions::<H>(&migrations, &mut conn), [1, 2]);
    let status = migrations.status(&mut conn)?;
    assert_eq!(status.current_version, Some(2));
    let pending: Vec<u64> = status.pending.iter().map(|p| p.version).collect();
    assert_eq!(pending, [3, 4]);

    let report = migrations.run(&mut conn)?;
    assert_eq!(versions(&report.applied), [3, 4]);
    assert_eq!(applied_versions::<H>(&migrations, &mut conn), [1, 2, 3, 4]);
    Ok(())
}

pub fn a_runner_with_a_target_stops_there<H: Harness>() -> migrate::Result<()> {
    let migrations = four().migrations();
    let db = H::new_database();
    let mut conn = db.connect();
    migrations.run_to(&mut conn, 1)?;

    let report = migrations.runner().target(3).run(&mut conn)?;

    assert_eq!(versions(&report.applied), [2, 3]);
    assert_eq!(applied_versions::<H>(&migrations, &mut conn), [1, 2, 3]);
    assert_eq!(
        H::objects(&mut conn),
        ["table posts", "table tags", "table users"]
    );
    Ok(())
}

pub fn a_target_not_in_the_set_applies_nothing<H: Harness>() -> migrate::Result<()> {
    // Timestamp versions: 20240102000000 lies between two of them.
    let folder = Folder::new(&[
        (
            "20240101000000_users.sql",
            "CREATE TABLE users (id INTEGER);",
        ),
        (
            "20240103000000_posts.sql",
            "CREATE TABLE posts (id INTEGER);",
        ),
    ]);
    let migrations = folder.migrations();
    let db = H::new_database();
    let mut conn = db.connect();

    for target in [20240102000000, 20240104000000, 0] {
        let error = migrations.run_to(&mut conn, target).unwrap_err();
        assert!(
            matches!(error, Error::UnknownVersion(v) if v == target),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            format!("version {target} is not a migration of this set")
        );
        let error = migrations
            .runner()
            .target(target)
            .run(&mut conn)
            .unwrap_err();
        assert!(matches!(error, Error::UnknownVersion(_)), "{error:?}");
    }
    assert!(H::is_empty(&mut conn), "not even the tracking table");
    Ok(())
}

pub fn a_target_at_or_below_the_current_version_applies_nothing<H: Harness>() -> migrate::Result<()>
{
    let migrations = four().migrations();
    let db = H::new_database();
    let mut conn = db.connect();
    migrations.run_to(&mut conn, 3)?;
    let before = snapshot::<H>(&migrations, &mut conn);

    for target in [1, 3] {
        let report = migrations.run_to(&mut conn, target)?;
        assert!(report.applied.is_empty(), "target {target}: {report:?}");
    }

    assert_eq!(
        snapshot::<H>(&migrations, &mut conn),
        before,
        "nothing applied, recorded or reverted"
    );
    assert_eq!(
        H::objects(&mut conn),
        ["table posts", "table tags", "table users"],
        "nothing reverted either"
    );
    Ok(())
}
