//! Reverting migrations on SQLite with foreign keys on: a down that rebuilds
//! a table other tables refer to keeps their rows. Rollbacks on any engine
//! (ranges, refusals, a failing down) are in the conformance suite
//! (`tests/conformance/rollback.rs`).

mod common;

use common::{Database, Folder, count, rows};

/// Four reversible migrations whose downs drop a table with its index and
/// view, rebuild a table to drop a column, and drop a trigger.
fn reversible() -> Folder {
    Folder::new(&[
        (
            "0001_users.up.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n\
             CREATE UNIQUE INDEX users_email ON users (email);",
        ),
        ("0001_users.down.sql", "DROP TABLE users;"),
        (
            "0002_posts.up.sql",
            "CREATE TABLE posts (\n    id INTEGER PRIMARY KEY,\n    user_id INTEGER NOT NULL REFERENCES users (id),\n    title TEXT NOT NULL\n);\n\
             CREATE INDEX posts_user ON posts (user_id);\n\
             CREATE VIEW post_titles AS SELECT title FROM posts;",
        ),
        (
            "0002_posts.down.sql",
            "DROP VIEW post_titles;\nDROP TABLE posts;",
        ),
        (
            "0003_nickname.up.sql",
            "ALTER TABLE users ADD COLUMN nickname TEXT;\nUPDATE users SET nickname = 'nick';",
        ),
        (
            // The rebuild that drops a column, with the table's original text.
            "0003_nickname.down.sql",
            "CREATE TABLE users_old AS SELECT id, email FROM users;\n\
             DROP TABLE users;\n\
             CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n\
             INSERT INTO users (id, email) SELECT id, email FROM users_old;\n\
             DROP TABLE users_old;\n\
             CREATE UNIQUE INDEX users_email ON users (email);",
        ),
        (
            "0004_tags.up.sql",
            "CREATE TABLE tags (name TEXT PRIMARY KEY);\n\
             CREATE TRIGGER users_tag AFTER INSERT ON users BEGIN INSERT OR IGNORE INTO tags VALUES ('new'); END;",
        ),
        (
            "0004_tags.down.sql",
            "DROP TRIGGER users_tag;\nDROP TABLE tags;",
        ),
    ])
}

#[test]
fn downs_keep_the_rows_they_do_not_remove_with_foreign_keys_on() -> migrate::Result<()> {
    let migrations = reversible().migrations();
    let db = Database::new();
    let mut conn = db.open();
    conn.execute_batch("PRAGMA foreign_keys = ON;").unwrap();
    migrations.run_to(&mut conn, 2)?;
    conn.execute_batch(
        "INSERT INTO users (id, email) VALUES (1, 'a@example.com'), (2, 'b@example.com');
         INSERT INTO posts (id, user_id, title) VALUES (10, 1, 'hello'), (11, 2, 'world');",
    )
    .unwrap();
    let users = rows(&conn, "SELECT * FROM users ORDER BY id");
    let posts = rows(&conn, "SELECT * FROM posts ORDER BY id");
    migrations.run(&mut conn)?;
    assert_eq!(
        count(&conn, "SELECT count(*) FROM users WHERE nickname = 'nick'"),
        2
    );

    // The down of 3 drops `users`, which `posts` refers to: with foreign
    // keys enforced this would fail or lose rows.
    let report = migrations.rollback(&mut conn, 2)?;

    let reverted: Vec<u64> = report.rolled_back.iter().map(|r| r.version).collect();
    assert_eq!(reverted, [4, 3]);
    assert_eq!(rows(&conn, "SELECT * FROM users ORDER BY id"), users);
    assert_eq!(rows(&conn, "SELECT * FROM posts ORDER BY id"), posts);
    assert_eq!(
        count(&conn, "SELECT count(*) FROM pragma_foreign_key_check"),
        0
    );
    assert_eq!(count(&conn, "PRAGMA foreign_keys"), 1, "turned back on");
    Ok(())
}
