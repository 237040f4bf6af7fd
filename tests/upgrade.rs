//! Upgrading a database that holds data at an older version to the latest
//! quickstart schema: every row survives, converted where the schema changed.

mod common;

use std::path::Path;

use common::{Database, Folder, count};
use migrate::{Migrations, embed_migrations};

const QUICKSTART: Migrations = embed_migrations!("examples/migrations");

/// The quickstart's first `versions` migrations, read at run time from a
/// folder holding copies of those files: the same versions, checksums and
/// running checksums as in the embedded set, so a database migrated with it
/// is what an older build of the app left behind.
fn older_build(versions: u64) -> Migrations {
    let folder = Folder::new(&[]);
    for migration in QUICKSTART.iter().filter(|m| m.version() <= versions) {
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/migrations")
            .join(migration.file());
        folder.write(migration.file(), std::fs::read(source).unwrap());
    }
    folder.migrations()
}

#[test]
fn an_older_database_with_data_upgrades_to_the_latest_without_losing_a_row() -> migrate::Result<()>
{
    let db = Database::new();
    let mut conn = db.open();
    conn.pragma_update(None, "foreign_keys", true).unwrap();

    // Release 1 (version 5): users, projects, tasks with a done flag, comments.
    assert_eq!(older_build(5).run(&mut conn)?.applied.len(), 5);
    conn.execute_batch(
        "INSERT INTO users (id, email) VALUES (1, 'ada@example.com'), (2, 'grace@example.com'), (3, 'linus@example.com');
         INSERT INTO projects (id, owner_id, name) VALUES (1, 1, 'Compiler'), (2, 2, 'Docs'), (3, 1, 'docs!');
         INSERT INTO tasks (id, project_id, assignee_id, title, done) VALUES
             (1, 1, 1, 'Parse input', 1),
             (2, 1, 2, 'Check types', 0),
             (3, 2, NULL, 'Write README', 0),
             (4, 2, 3, 'Fix links', 1);
         INSERT INTO comments (task_id, author_id, body) VALUES (1, 2, 'Looks good'), (2, 1, 'On it'), (4, 3, 'Done');",
    )
    .unwrap();

    // Release 2 (version 10): time is logged as 'h:mm' text.
    assert_eq!(older_build(10).run(&mut conn)?.applied.len(), 5);
    conn.execute_batch(
        "INSERT INTO time_entries (id, task_id, user_id, spent, logged_on) VALUES
             (1, 1, 1, '1:30', '2024-01-02'),
             (2, 1, 2, '0:45', '2024-01-03'),
             (3, 2, 2, '12:05', '2024-01-03');",
    )
    .unwrap();

    // The latest build.
    let report = QUICKSTART.run(&mut conn)?;
    let applied: Vec<u64> = report.applied.iter().map(|a| a.version).collect();
    assert_eq!(applied, [11, 12, 13]);

    for (table, rows) in [
        ("users", 3),
        ("projects", 3),
        ("tasks", 4),
        ("comments", 3),
        ("time_entries", 3),
    ] {
        assert_eq!(
            count(&conn, &format!("SELECT count(*) FROM {table}")),
            rows,
            "{table}"
        );
    }
    // 0006 backfilled display names; 0007 the status from the done flag.
    let names: String = conn
        .query_row("SELECT group_concat(display_name, ',') FROM (SELECT display_name FROM users ORDER BY id)", [], |r| r.get(0))
        .unwrap();
    assert_eq!(names, "ada,grace,linus");
    let statuses: String = conn
        .query_row(
            "SELECT group_concat(status, ',') FROM (SELECT status FROM tasks ORDER BY id)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(statuses, "done,todo,todo,done");
    // 0011 rebuilt time_entries with minutes as INTEGER.
    let minutes: String = conn
        .query_row(
            "SELECT group_concat(minutes || ':' || typeof(minutes), ',') FROM (SELECT minutes FROM time_entries ORDER BY id)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(minutes, "90:integer,45:integer,725:integer");
    assert_eq!(
        count(&conn, "SELECT minutes FROM time_per_task WHERE task_id = 1"),
        135
    );
    assert_eq!(
        count(
            &conn,
            "SELECT open_tasks FROM open_tasks_per_project WHERE project_id = 1"
        ),
        1
    );
    // 0012 dropped the flag; the trigger from 0009 still works.
    assert_eq!(
        count(
            &conn,
            "SELECT count(*) FROM pragma_table_info('tasks') WHERE name = 'done'"
        ),
        0
    );
    conn.execute(
        "UPDATE tasks SET updated_at = NULL, status = 'doing' WHERE id = 3",
        [],
    )
    .unwrap();
    assert_eq!(
        count(
            &conn,
            "SELECT updated_at IS NOT NULL FROM tasks WHERE id = 3"
        ),
        1
    );

    // 0013 (Rust) gave every project a unique slug.
    let slugs: String = conn
        .query_row(
            "SELECT group_concat(slug, ',') FROM (SELECT slug FROM projects ORDER BY id)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(slugs, "compiler,docs,docs-2");

    assert_eq!(
        count(&conn, "SELECT count(*) FROM pragma_foreign_key_check"),
        0
    );
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    assert!(QUICKSTART.status(&mut conn)?.is_up_to_date());
    Ok(())
}
