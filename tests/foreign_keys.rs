//! Foreign keys: with `PRAGMA foreign_keys = ON`, a migration runs with them
//! off so that a table rebuild does not cascade, `PRAGMA foreign_key_check`
//! fails a migration (or a down) that breaks a reference, and they are on
//! again afterwards, whatever happened. A connection with them off is left
//! alone.

mod common;

use common::{Database, Folder, count};
use migrate::{Direction, Error, ForeignKeyViolations, Migrations, embed_migrations};
use rusqlite::Connection;

const AUTHORS: &str = "CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL);";
const BOOKS: &str = "CREATE TABLE books (
    id INTEGER PRIMARY KEY,
    author_id INTEGER NOT NULL REFERENCES authors (id) ON DELETE CASCADE,
    title TEXT NOT NULL
);";
const SEED: &str = "INSERT INTO authors (id, name) VALUES (1, 'Le Guin'), (2, 'Lem');
INSERT INTO books (id, author_id, title) VALUES
    (1, 1, 'The Dispossessed'), (2, 1, 'The Lathe of Heaven'), (3, 2, 'Solaris');";

/// The rebuild of <https://www.sqlite.org/lang_altertable.html#otheralter>
/// that adds a column to the parent table `authors`, copying the rows chosen
/// by `filter`.
fn rebuild_authors(filter: &str) -> String {
    format!(
        "CREATE TABLE authors_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL, born INTEGER);
INSERT INTO authors_new (id, name) SELECT id, name FROM authors WHERE {filter};
DROP TABLE authors;
ALTER TABLE authors_new RENAME TO authors;"
    )
}

/// Authors, books, and a seed.
fn seeded_folder() -> Folder {
    Folder::new(&[
        ("0001_authors.sql", AUTHORS),
        ("0002_books.sql", BOOKS),
        ("0003_seed.sql", SEED),
    ])
}

/// The seeded folder with `rebuild` as migration 4.
fn folder_with_a_rebuild(rebuild: &str) -> Folder {
    let folder = seeded_folder();
    folder.write("0004_rebuild_authors.sql", rebuild);
    folder
}

fn open_with_foreign_keys(db: &Database, on: bool) -> Connection {
    let conn = db.open();
    conn.pragma_update(None, "foreign_keys", on).unwrap();
    conn
}

fn foreign_keys(conn: &Connection) -> i64 {
    count(conn, "PRAGMA foreign_keys")
}

fn books(conn: &Connection) -> Vec<(i64, i64, String)> {
    let mut statement = conn
        .prepare("SELECT id, author_id, title FROM books ORDER BY id")
        .unwrap();
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn authors(conn: &Connection) -> Vec<(i64, String)> {
    let mut statement = conn
        .prepare("SELECT id, name FROM authors ORDER BY id")
        .unwrap();
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The `CREATE` statement of a table, as SQLite keeps it.
fn table_sql(conn: &Connection, table: &str) -> String {
    conn.query_row(
        "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1",
        [table],
        |row| row.get(0),
    )
    .unwrap()
}

fn seeded_books() -> Vec<(i64, i64, String)> {
    vec![
        (1, 1, "The Dispossessed".to_owned()),
        (2, 1, "The Lathe of Heaven".to_owned()),
        (3, 2, "Solaris".to_owned()),
    ]
}

#[test]
fn the_rebuild_run_by_hand_with_foreign_keys_on_deletes_the_children() {
    // What the runner protects against: the same SQL in a plain transaction
    // cascades the drop of the parent to every book.
    let db = Database::new();
    let conn = open_with_foreign_keys(&db, true);
    conn.execute_batch(&format!("{AUTHORS}\n{BOOKS}\n{SEED}"))
        .unwrap();

    conn.execute_batch(&format!("BEGIN;\n{}\nCOMMIT;", rebuild_authors("true")))
        .unwrap();

    assert!(books(&conn).is_empty());
}

#[test]
fn a_rebuild_of_a_parent_table_keeps_the_child_rows() -> migrate::Result<()> {
    let folder = folder_with_a_rebuild(&rebuild_authors("true"));
    let db = Database::new();
    let mut conn = open_with_foreign_keys(&db, true);

    let report = folder.migrations().run(&mut conn)?;

    assert_eq!(report.applied.len(), 4);
    assert_eq!(books(&conn), seeded_books());
    assert!(table_sql(&conn, "authors").contains("born INTEGER"));
    assert_eq!(foreign_keys(&conn), 1, "foreign keys are on again");
    assert_eq!(
        count(&conn, "SELECT count(*) FROM pragma_foreign_key_check"),
        0
    );
    // Enforced again: a book of an unknown author is refused.
    let orphan = conn.execute(
        "INSERT INTO books (author_id, title) VALUES (99, 'Orphan')",
        [],
    );
    assert!(orphan.is_err(), "{orphan:?}");
    Ok(())
}

#[test]
fn a_rebuild_that_breaks_a_reference_is_rolled_back_and_names_the_row() -> migrate::Result<()> {
    // Author 2 is not copied, so book 3 refers to nothing.
    let folder = folder_with_a_rebuild(&rebuild_authors("id <> 2"));
    let migrations = folder.migrations();
    let db = Database::new();
    let mut conn = open_with_foreign_keys(&db, true);
    migrations.run_to(&mut conn, 3)?;
    let authors_sql = table_sql(&conn, "authors");

    let error = migrations.run(&mut conn).unwrap_err();

    let Error::MigrationFailed {
        version,
        direction,
        dirty,
        error: cause,
        ..
    } = &error
    else {
        panic!("expected MigrationFailed, got {error:?}");
    };
    assert_eq!((*version, *direction, *dirty), (4, Direction::Up, false));
    let violations = cause
        .downcast_ref::<ForeignKeyViolations>()
        .unwrap_or_else(|| panic!("expected ForeignKeyViolations, got {cause:?}"));
    let found: Vec<(&str, Option<i64>, &str)> = violations
        .0
        .iter()
        .map(|v| (v.table.as_str(), v.rowid, v.parent.as_str()))
        .collect();
    assert_eq!(found, [("books", Some(3), "authors")]);
    // Only there: the message has the violations, so they are not also
    // `std::error::Error::source` (which would print them twice).
    assert!(std::error::Error::source(&error).is_none());
    let message = error.to_string();
    assert!(
        message.contains("row 3 of `books` refers to a missing row of `authors`"),
        "{message}"
    );

    // Rolled back: the old table, every author and book, and 4 not applied.
    assert_eq!(table_sql(&conn, "authors"), authors_sql);
    assert_eq!(
        authors(&conn),
        [(1, "Le Guin".to_owned()), (2, "Lem".to_owned())]
    );
    assert_eq!(books(&conn), seeded_books());
    assert_eq!(
        count(
            &conn,
            "SELECT count(*) FROM sqlite_schema WHERE name = 'authors_new'"
        ),
        0
    );
    let states = common::tracking_states(&conn);
    assert_eq!(states.last(), Some(&(4, "failed".to_owned())));
    assert_eq!(
        foreign_keys(&conn),
        1,
        "foreign keys are on again after the error"
    );
    Ok(())
}

#[test]
fn with_foreign_keys_off_nothing_is_checked_and_they_stay_off() -> migrate::Result<()> {
    let folder = folder_with_a_rebuild(&rebuild_authors("id <> 2"));
    let db = Database::new();
    let mut conn = open_with_foreign_keys(&db, false);

    let report = folder.migrations().run(&mut conn)?;

    assert_eq!(report.applied.len(), 4, "the violating migration applies");
    assert_eq!(foreign_keys(&conn), 0);
    assert_eq!(books(&conn), seeded_books());
    assert_eq!(authors(&conn), [(1, "Le Guin".to_owned())]);
    assert_eq!(
        count(&conn, "SELECT count(*) FROM pragma_foreign_key_check"),
        1
    );
    Ok(())
}

/// Migration 4 adds `born` by a rebuild; its down removes it by a rebuild
/// copying the authors chosen by `down_filter`.
fn folder_with_a_reversible_rebuild(down_filter: &str) -> Folder {
    let folder = seeded_folder();
    folder.write("0004_rebuild_authors.up.sql", rebuild_authors("true"));
    folder.write(
        "0004_rebuild_authors.down.sql",
        format!(
            "CREATE TABLE authors_old (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO authors_old (id, name) SELECT id, name FROM authors WHERE {down_filter};
DROP TABLE authors;
ALTER TABLE authors_old RENAME TO authors;"
        ),
    );
    folder
}

#[test]
fn a_down_that_rebuilds_a_parent_table_keeps_the_child_rows() -> migrate::Result<()> {
    let folder = folder_with_a_reversible_rebuild("true");
    let migrations = folder.migrations();
    let db = Database::new();
    let mut conn = open_with_foreign_keys(&db, true);
    migrations.run(&mut conn)?;

    let report = migrations.rollback(&mut conn, 1)?;

    assert_eq!(report.rolled_back.len(), 1);
    assert!(!table_sql(&conn, "authors").contains("born"));
    assert_eq!(books(&conn), seeded_books());
    assert_eq!(foreign_keys(&conn), 1);
    Ok(())
}

#[test]
fn a_down_that_breaks_a_reference_is_rolled_back() -> migrate::Result<()> {
    let folder = folder_with_a_reversible_rebuild("id <> 2");
    let migrations = folder.migrations();
    let db = Database::new();
    let mut conn = open_with_foreign_keys(&db, true);
    migrations.run(&mut conn)?;
    let authors_sql = table_sql(&conn, "authors");

    let error = migrations.rollback(&mut conn, 1).unwrap_err();

    let Error::MigrationFailed {
        version,
        direction,
        file,
        error: cause,
        ..
    } = &error
    else {
        panic!("expected MigrationFailed, got {error:?}");
    };
    assert_eq!(
        (*version, *direction, file.as_str()),
        (4, Direction::Down, "0004_rebuild_authors.down.sql")
    );
    let violations = cause
        .downcast_ref::<ForeignKeyViolations>()
        .unwrap_or_else(|| panic!("expected ForeignKeyViolations, got {cause:?}"));
    assert_eq!(violations.0.len(), 1);
    assert_eq!(
        (violations.0[0].table.as_str(), violations.0[0].rowid),
        ("books", Some(3))
    );

    // The down was rolled back: `born` is still there, 4 is still applied.
    assert_eq!(table_sql(&conn, "authors"), authors_sql);
    assert_eq!(authors(&conn).len(), 2);
    assert_eq!(books(&conn), seeded_books());
    let status = migrations.status(&mut conn)?;
    assert_eq!(status.current_version, Some(4));
    assert_eq!(
        foreign_keys(&conn),
        1,
        "foreign keys are on again after the error"
    );
    Ok(())
}

/// A database that already breaks a foreign key (a row written while they
/// were off) can still be migrated: only a violation a migration adds fails
/// it, and the message names only that one.
#[test]
fn only_violations_a_migration_adds_fail_it() -> migrate::Result<()> {
    let db = Database::new();
    let mut conn = open_with_foreign_keys(&db, true);
    seeded_folder().migrations().run(&mut conn)?;
    conn.pragma_update(None, "foreign_keys", false).unwrap();
    conn.execute(
        "INSERT INTO books (id, author_id, title) VALUES (4, 99, 'Orphan')",
        [],
    )
    .unwrap();
    conn.pragma_update(None, "foreign_keys", true).unwrap();

    let unrelated = seeded_folder();
    unrelated.write(
        "0004_tags.sql",
        "CREATE TABLE tags (book_id INTEGER NOT NULL REFERENCES books (id), tag TEXT NOT NULL);",
    );
    let report = unrelated.migrations().run(&mut conn)?;
    assert_eq!(report.applied.len(), 1, "the old orphan does not block 4");

    // 5 adds a new violation: it fails, naming that row and not the old one.
    unrelated.write(
        "0005_tag_a_missing_book.sql",
        "INSERT INTO tags (book_id, tag) VALUES (42, 'lost');",
    );
    let error = unrelated.migrations().run(&mut conn).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("row 1 of `tags` refers to a missing row of `books`")
            && !message.contains("`books` refers"),
        "{message}"
    );
    assert_eq!(count(&conn, "SELECT count(*) FROM tags"), 0);
    assert_eq!(foreign_keys(&conn), 1);
    Ok(())
}

/// Old violations are counted per foreign key, not matched by rowid: a
/// rebuild of the child table renumbers the old orphan's row and passes, and
/// in a `WITHOUT ROWID` table (no rowids to match) a second orphan of the
/// same key still fails.
#[test]
fn old_violations_are_counted_per_foreign_key_not_matched_by_row() -> migrate::Result<()> {
    let db = Database::new();
    let mut conn = open_with_foreign_keys(&db, true);
    let folder = Folder::new(&[
        ("0001_authors.sql", AUTHORS),
        (
            "0002_books.sql",
            "CREATE TABLE books (title TEXT NOT NULL, author_id INTEGER NOT NULL REFERENCES authors (id));
             CREATE TABLE quotes (
                 text TEXT PRIMARY KEY,
                 author_id INTEGER NOT NULL REFERENCES authors (id)
             ) WITHOUT ROWID;",
        ),
    ]);
    folder.migrations().run(&mut conn)?;
    conn.pragma_update(None, "foreign_keys", false).unwrap();
    conn.execute_batch(
        "INSERT INTO authors (id, name) VALUES (1, 'Le Guin');
         INSERT INTO books (rowid, title, author_id) VALUES (5, 'Lost', 99), (7, 'Kept', 1);
         INSERT INTO quotes (text, author_id) VALUES ('old orphan', 99);",
    )
    .unwrap();
    conn.pragma_update(None, "foreign_keys", true).unwrap();

    // The rebuild copies without rowids: the orphan moves from rowid 5 to 1.
    folder.write(
        "0003_rebuild_books.sql",
        "CREATE TABLE books_new (title TEXT NOT NULL, author_id INTEGER NOT NULL REFERENCES authors (id), year INTEGER);
         INSERT INTO books_new (title, author_id) SELECT title, author_id FROM books ORDER BY rowid;
         DROP TABLE books;
         ALTER TABLE books_new RENAME TO books;",
    );
    assert_eq!(folder.migrations().run(&mut conn)?.applied.len(), 1);
    assert_eq!(
        count(&conn, "SELECT rowid FROM books WHERE title = 'Lost'"),
        1
    );

    folder.write(
        "0004_another_quote.sql",
        "INSERT INTO quotes (text, author_id) VALUES ('new orphan', 42);",
    );
    let error = folder.migrations().run(&mut conn).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("a row of `quotes` refers to a missing row of `authors`"),
        "{error}"
    );
    assert_eq!(count(&conn, "SELECT count(*) FROM quotes"), 1);
    Ok(())
}

/// Runs the seeded folder, then `later` (file name, SQL) in one action:
/// the last of them must fail with the violation `message` names, and be
/// rolled back.
fn the_last_breaks(later: &[(&str, &str)], message: &str) -> migrate::Result<()> {
    let db = Database::new();
    let mut conn = open_with_foreign_keys(&db, true);
    let folder = seeded_folder();
    folder.migrations().run(&mut conn)?;
    for (name, sql) in later {
        folder.write(name, sql);
    }

    let error = folder.migrations().run(&mut conn).unwrap_err();

    let Error::MigrationFailed { version, .. } = &error else {
        panic!("expected MigrationFailed, got {error:?}");
    };
    assert_eq!(*version as usize, 3 + later.len(), "{error}");
    assert!(error.to_string().contains(message), "{error}");
    // The failed migration is rolled back.
    assert_eq!(books(&conn), seeded_books());
    let authors = authors(&conn);
    assert!(authors.iter().any(|(id, _)| *id == 2), "{authors:?}");
    assert_eq!(foreign_keys(&conn), 1);
    Ok(())
}

// The check after each migration looks only at the tables it can have
// broken a reference of: these break one from the parent's side, where the
// table checked is not the one the migration names.

#[test]
fn a_delete_from_a_parent_table_is_checked_on_its_children() -> migrate::Result<()> {
    the_last_breaks(
        &[("0004_forget_lem.sql", "DELETE FROM authors WHERE id = 2;")],
        "row 3 of `books` refers to a missing row of `authors`",
    )
}

#[test]
fn an_update_of_a_parent_key_is_checked_on_its_children() -> migrate::Result<()> {
    the_last_breaks(
        &[(
            "0004_renumber.sql",
            "UPDATE Authors SET id = 20 WHERE id = 2;",
        )],
        "row 3 of `books` refers to a missing row of `authors`",
    )
}

#[test]
fn a_delete_by_a_trigger_is_checked() -> migrate::Result<()> {
    the_last_breaks(
        &[
            (
                "0004_retire.sql",
                "CREATE TABLE retired (author_id INTEGER NOT NULL);
                 CREATE TRIGGER retire AFTER INSERT ON retired
                 BEGIN DELETE FROM authors WHERE id = NEW.author_id; END;",
            ),
            ("0005_retire_lem.sql", "INSERT INTO retired VALUES (2);"),
        ],
        "row 3 of `books` refers to a missing row of `authors`",
    )
}

#[test]
fn a_delete_through_a_view_is_checked() -> migrate::Result<()> {
    the_last_breaks(
        &[
            (
                "0004_names.sql",
                "CREATE VIEW names AS SELECT id, name FROM authors;
                 CREATE TRIGGER forget INSTEAD OF DELETE ON names
                 BEGIN DELETE FROM authors WHERE id = OLD.id; END;",
            ),
            ("0005_forget_lem.sql", "DELETE FROM names WHERE id = 2;"),
        ],
        "row 3 of `books` refers to a missing row of `authors`",
    )
}

#[test]
fn a_child_table_created_in_the_same_action_is_followed() -> migrate::Result<()> {
    // 4 writes rows, so the foreign keys are read then; 5 adds a child of
    // `authors` after that, which 6 breaks from the parent's side.
    the_last_breaks(
        &[
            (
                "0004_herbert.sql",
                "INSERT INTO authors (id, name) VALUES (3, 'Herbert');",
            ),
            (
                "0005_prizes.sql",
                "CREATE TABLE prizes (author_id INTEGER NOT NULL REFERENCES authors (id), prize TEXT);
                 INSERT INTO prizes VALUES (3, 'Hugo');",
            ),
            ("0006_forget_herbert.sql", "DELETE FROM authors WHERE id = 3;"),
        ],
        "row 1 of `prizes` refers to a missing row of `authors`",
    )
}

#[test]
fn a_table_with_an_odd_name_is_checked() -> migrate::Result<()> {
    the_last_breaks(
        &[(
            "0004_odd.sql",
            r#"CREATE TABLE "odd ""name"" [x]" (author_id INTEGER REFERENCES authors (id));
               INSERT INTO "odd ""name"" [x]" VALUES (99);"#,
        )],
        r#"row 1 of `odd "name" [x]` refers to a missing row of `authors`"#,
    )
}

/// An old violation fails neither a migration that writes no row nor one
/// that writes the table holding it without adding another.
#[test]
fn a_migration_that_writes_no_row_passes_beside_old_violations() -> migrate::Result<()> {
    let db = Database::new();
    let mut conn = open_with_foreign_keys(&db, true);
    let folder = seeded_folder();
    folder.migrations().run(&mut conn)?;
    conn.pragma_update(None, "foreign_keys", false).unwrap();
    conn.execute("DELETE FROM authors WHERE id = 2", [])
        .unwrap();
    conn.pragma_update(None, "foreign_keys", true).unwrap();
    folder.write(
        "0004_indexes.sql",
        "CREATE INDEX books_by_author ON books (author_id);
         CREATE VIEW titles AS SELECT title FROM books;",
    );
    folder.write(
        "0005_more_books.sql",
        "INSERT INTO books (id, author_id, title) VALUES (4, 1, 'The Word for World Is Forest');",
    );
    assert_eq!(folder.migrations().run(&mut conn)?.applied.len(), 2);
    Ok(())
}

/// SQLite authorizes a `DROP VIEW` as a delete from the view: the check
/// does not look for the view once it is gone.
#[test]
fn a_migration_that_drops_a_view_passes() -> migrate::Result<()> {
    let db = Database::new();
    let mut conn = open_with_foreign_keys(&db, true);
    let folder = seeded_folder();
    folder.write(
        "0004_titles.sql",
        "CREATE VIEW titles AS SELECT title FROM books;",
    );
    folder.write("0005_no_titles.sql", "DROP VIEW titles;");
    assert_eq!(folder.migrations().run(&mut conn)?.applied.len(), 5);
    Ok(())
}

/// Deletes a parent row with a statement an earlier Rust migration left in
/// the connection's cache of prepared statements.
const CACHED_DELETE: Migrations = embed_migrations!("tests/fixtures/rust_cached_delete");

/// A Rust migration may run a statement compiled before it, which SQLite's
/// authorizer does not see again: after one, every table is checked.
#[test]
fn a_rust_migration_is_checked_on_every_table() {
    let db = Database::new();
    let mut conn = open_with_foreign_keys(&db, true);

    let error = CACHED_DELETE.run(&mut conn).unwrap_err();

    let Error::MigrationFailed { version, .. } = &error else {
        panic!("expected MigrationFailed, got {error:?}");
    };
    assert_eq!(*version, 3, "{error}");
    assert!(
        error
            .to_string()
            .contains("row 2 of `books` refers to a missing row of `authors`"),
        "{error}"
    );
    assert_eq!(count(&conn, "SELECT count(*) FROM authors"), 2);
}

/// A table created with a foreign key to a column that is not a parent key
/// (no unique index) fails its migration, rows or none: SQLite reports the
/// mismatch when the table is checked (as an error of the check, not yet as
/// the migration's failure), and the migration is rolled back.
#[test]
fn a_new_table_whose_foreign_key_has_no_parent_key_fails() -> migrate::Result<()> {
    let db = Database::new();
    let mut conn = open_with_foreign_keys(&db, true);
    let folder = seeded_folder();
    folder.migrations().run(&mut conn)?;
    folder.write(
        "0004_by_name.sql",
        "CREATE TABLE quotes (author_name TEXT REFERENCES authors (name), text TEXT);",
    );

    let error = folder.migrations().run(&mut conn).unwrap_err();

    assert!(
        error.to_string().contains("foreign key mismatch"),
        "{error}"
    );
    assert_eq!(
        count(
            &conn,
            "SELECT count(*) FROM sqlite_schema WHERE name = 'quotes'"
        ),
        0
    );
    Ok(())
}
