//! Verification before anything is applied: divergent and missing
//! migrations, versions a different migration took, and out-of-order
//! migrations are distinct errors and nothing is applied; the running
//! checksum keeps the check on an up-to-date database to one row.

use migrate::{Checksum, DEFAULT_TABLE, Error, Problem};

use super::support::{
    expected_running_checksums, renumbered_after_a_merge, running_checksums, snapshot, versions,
};
use super::{Folder, Harness};

fn two() -> Folder {
    Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
        ),
        (
            "0002_posts.sql",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY);\n",
        ),
    ])
}

pub fn an_edited_applied_migration_is_divergent_and_nothing_is_applied<H: Harness>()
-> migrate::Result<()> {
    let folder = two();
    let db = H::new_database();
    let before = folder.migrations().get(1).unwrap().checksum();
    folder.migrations().run(&mut db.connect())?;

    folder.write(
        "0001_users.sql",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);\n",
    );
    folder.write(
        "0003_tags.sql",
        "CREATE TABLE tags (id INTEGER PRIMARY KEY);\n",
    );
    let migrations = folder.migrations();
    let after = migrations.get(1).unwrap().checksum();
    let mut conn = db.connect();
    let error = migrations.run(&mut conn).unwrap_err();

    let expected = Problem::Divergent {
        version: 1,
        name: "users".into(),
        file: "0001_users.sql".into(),
        applied: before,
        embedded: after,
    };
    assert!(
        matches!(&error, Error::Verification(p) if *p == expected),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "migration 1 (users) was applied with checksum {before} but `0001_users.sql` now has {after}; \
             restore the file and put the change in a new migration; nothing was applied"
        )
    );
    assert_eq!(
        H::objects(&mut conn),
        ["table posts", "table users"],
        "0003 not applied"
    );
    assert_eq!(migrations.status(&mut conn)?.problems, [expected]);
    Ok(())
}

pub fn a_version_another_migration_took_is_reused_and_nothing_is_applied<H: Harness>()
-> migrate::Result<()> {
    let (folder, db) = renumbered_after_a_merge::<H>()?;
    let migrations = folder.migrations();
    let mut conn = db.connect();
    let before = snapshot::<H>(&migrations, &mut conn);

    let status = migrations.status(&mut conn)?;

    let expected = Problem::VersionReused {
        version: 2,
        applied_name: "add_phone".into(),
        name: "add_avatar".into(),
        file: "0002_add_avatar.sql".into(),
        renumbered: Some((3, "0003_add_phone.sql".into())),
    };
    assert_eq!(
        status.problems,
        std::slice::from_ref(&expected),
        "not divergent"
    );
    assert_eq!(
        expected.to_string(),
        "migration 2 (add_phone) was applied, but version 2 is now add_avatar in `0002_add_avatar.sql`, \
         and add_phone moved to version 3 (`0003_add_phone.sql`): a different migration took its version; \
         put add_phone back at version 2 and give add_avatar a version after the latest, \
         or roll add_phone back with the build or folder that applied it"
    );
    assert!(!status.is_up_to_date());

    let error = migrations.run(&mut conn).unwrap_err();

    assert!(
        matches!(&error, Error::Verification(p) if *p == expected),
        "{error:?}"
    );
    assert!(
        error.to_string().ends_with("; nothing was applied"),
        "{error}"
    );
    assert_eq!(
        H::columns(&mut conn, "users"),
        ["id", "phone"],
        "add_phone not applied again"
    );
    assert_eq!(snapshot::<H>(&migrations, &mut conn), before);
    Ok(())
}

pub fn a_reused_version_whose_applied_migration_is_gone_says_so<H: Harness>() -> migrate::Result<()>
{
    let folder = two();
    let db = H::new_database();
    folder.migrations().run(&mut db.connect())?;
    folder.remove("0002_posts.sql");
    folder.write("0002_articles.sql", "CREATE TABLE articles (id INTEGER);\n");
    let migrations = folder.migrations();

    let status = migrations.status(&mut db.connect())?;

    let [problem] = &status.problems[..] else {
        panic!("{:?}", status.problems);
    };
    assert_eq!(
        problem.to_string(),
        "migration 2 (posts) was applied, but version 2 is now articles in `0002_articles.sql`, \
         and this build has no posts: a different migration took its version; \
         put posts back at version 2 and give articles a version after the latest, \
         or roll posts back with the build or folder that applied it"
    );
    Ok(())
}

pub fn a_renamed_file_with_the_same_content_is_not_a_problem<H: Harness>() -> migrate::Result<()> {
    // What was applied is what the file says; the up-to-date check, which
    // compares running checksums only, cannot see names either, and status
    // must agree with it.
    let folder = two();
    let db = H::new_database();
    folder.migrations().run(&mut db.connect())?;
    folder.rename("0002_posts.sql", "0002_blog_posts.sql");
    let migrations = folder.migrations();
    let mut conn = db.connect();

    let status = migrations.status(&mut conn)?;

    assert!(status.problems.is_empty(), "{:?}", status.problems);
    assert!(status.is_up_to_date());
    assert!(migrations.run(&mut conn)?.applied.is_empty());
    Ok(())
}

pub fn line_endings_and_a_byte_order_mark_are_not_an_edit<H: Harness>() -> migrate::Result<()> {
    let folder = two();
    let db = H::new_database();
    folder.migrations().run(&mut db.connect())?;

    folder.write(
        "0001_users.sql",
        "\u{feff}CREATE TABLE users (id INTEGER PRIMARY KEY);\r\n",
    );
    let status = folder.migrations().status(&mut db.connect())?;

    assert!(status.is_up_to_date(), "{:?}", status.problems);
    Ok(())
}

pub fn a_database_newer_than_the_build_is_missing_migrations<H: Harness>() -> migrate::Result<()> {
    let folder = two();
    let db = H::new_database();
    folder.migrations().run(&mut db.connect())?;

    folder.remove("0002_posts.sql");
    let error = folder.migrations().run(&mut db.connect()).unwrap_err();

    assert!(
        matches!(&error, Error::Verification(Problem::Missing { version: 2, name }) if name == "posts"),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("the database is newer than this binary"),
        "{error}"
    );
    Ok(())
}

fn timestamps() -> Folder {
    Folder::new(&[
        (
            "20240101000000_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);",
        ),
        (
            "20240301000000_posts.sql",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY);",
        ),
    ])
}

pub fn a_pending_migration_below_the_latest_applied_is_out_of_order<H: Harness>()
-> migrate::Result<()> {
    let folder = timestamps();
    let db = H::new_database();
    folder.migrations().run(&mut db.connect())?;

    // A branch merged after March's migration was deployed.
    folder.write(
        "20240201000000_tags.sql",
        "CREATE TABLE tags (id INTEGER PRIMARY KEY);",
    );
    let mut conn = db.connect();
    let error = folder.migrations().run(&mut conn).unwrap_err();

    assert!(
        matches!(
            &error,
            Error::Verification(Problem::OutOfOrder {
                version: 20240201000000,
                latest_applied: 20240301000000,
                ..
            })
        ),
        "{error:?}"
    );
    assert!(!H::table_exists(&mut conn, "tags"));
    Ok(())
}

pub fn out_of_order_can_be_allowed_and_the_fast_check_still_holds_after<H: Harness>()
-> migrate::Result<()> {
    let folder = timestamps();
    let db = H::new_database();
    folder.migrations().run(&mut db.connect())?;
    folder.write(
        "20240201000000_tags.sql",
        "CREATE TABLE tags (id INTEGER PRIMARY KEY);",
    );
    let migrations = folder.migrations();
    let mut conn = db.connect();

    let report = migrations
        .runner()
        .allow_out_of_order(true)
        .run(&mut conn)?;

    assert_eq!(versions(&report.applied), [20240201000000]);
    assert!(migrations.status(&mut conn)?.is_up_to_date());
    // The running checksums were recomputed over all three in version
    // order, so the latest row's equals the one built into the set.
    assert_eq!(
        running_checksums::<H>(&mut conn),
        expected_running_checksums(&migrations)
    );
    assert!(migrations.run(&mut conn)?.applied.is_empty());
    Ok(())
}

/// About the tracking table itself: a row edited by hand.
pub fn a_forged_earlier_row_is_caught_through_the_running_checksum<H: Harness>()
-> migrate::Result<()> {
    let folder = two();
    let db = H::new_database();
    let migrations = folder.migrations();
    migrations.run(&mut db.connect())?;

    // Forge version 1's checksum as if another file had been applied: the
    // top row's running checksum no longer matches, so the row-by-row check
    // runs and names version 1.
    let forged = Checksum::of_text("CREATE TABLE users (id TEXT);");
    let first = Checksum::chain(None, 1, &forged);
    let second = migrations.get(2).unwrap().checksum();
    let top = Checksum::chain(Some(&first), 2, &second);
    H::execute(
        &mut db.connect(),
        &format!(
            "UPDATE {DEFAULT_TABLE} SET checksum = '{forged}', running_checksum = '{first}' WHERE version = 1;
             UPDATE {DEFAULT_TABLE} SET running_checksum = '{top}' WHERE version = 2;"
        ),
    );

    let error = migrations.run(&mut db.connect()).unwrap_err();
    assert!(
        matches!(&error, Error::Verification(Problem::Divergent { version: 1, applied, .. }) if *applied == forged),
        "{error:?}"
    );
    Ok(())
}

/// About the tracking table itself: a row edited by hand. (A value of a
/// type its column cannot hold is SQLite's: `tests/verification.rs`.)
pub fn a_malformed_running_checksum_is_a_named_error<H: Harness>() -> migrate::Result<()> {
    let folder = two();
    let db = H::new_database();
    folder.migrations().run(&mut db.connect())?;

    H::execute(
        &mut db.connect(),
        &format!("UPDATE {DEFAULT_TABLE} SET running_checksum = 'garbage' WHERE version = 2"),
    );
    let error = folder.migrations().run(&mut db.connect()).unwrap_err();

    assert!(
        matches!(&error, Error::MalformedRow { table, version: Some(2), .. } if table == DEFAULT_TABLE),
        "{error:?}"
    );
    assert!(
        error.to_string().starts_with(
            "the tracking table `migrate_schema_history` has a malformed row for version 2"
        ),
        "{error}"
    );
    Ok(())
}
