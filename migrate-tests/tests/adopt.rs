//! Adopting another tool's tracking table (`Runner::adopt`): per tool, a
//! folder in its layout and its table as that tool writes it (written here
//! from the tool's rules: CREATE TABLE and INSERTs), on SQLite files and on
//! PostgreSQL (skipped with a notice without a server). Each scenario: a run
//! beside the table refuses and changes nothing; adopt records what the
//! tool applied; status shows it applied; the next run applies only what
//! is newer; the tool's table is unchanged. Each refusal changes nothing.

#[allow(dead_code)]
#[path = "../../tests/common/folder.rs"]
mod folder;
#[path = "../../tests/common/postgres.rs"]
mod postgres;

use folder::Folder;
use migrate::formats::ReadOptions;
use migrate::other_tables::{
    AdoptProblem, Tool, flyway_checksum, refinery_checksum, sqlx_checksum,
};
use migrate::rusqlite::Connection;
use migrate::{Error, EventKind, Migrations};

const USERS: &str = "CREATE TABLE users (id INTEGER PRIMARY KEY);\n";
const POSTS: &str = "CREATE TABLE posts (id INTEGER PRIMARY KEY);\r\n";
const TAGS: &str = "CREATE TABLE tags (id INTEGER PRIMARY KEY);\n";

/// A folder in `tool`'s layout with users, posts and tags; the versions of
/// users and posts as the tool writes them in its table.
fn folder(tool: Tool) -> (Folder, [&'static str; 2]) {
    match tool {
        Tool::Diesel => {
            let folder = Folder::new(&[]);
            for (file, text) in [
                ("2024-01-01-000000_users/up.sql", USERS),
                ("2024-01-01-000000_users/down.sql", "DROP TABLE users;"),
                ("2024-02-01-000000_posts/up.sql", POSTS),
                ("2024-02-01-000000_posts/down.sql", ""),
                ("2024-03-01-000000_tags/up.sql", TAGS),
            ] {
                let path = folder.path().join(file);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, text).unwrap();
            }
            (folder, ["20240101000000", "20240201000000"])
        }
        Tool::Sqlx => (
            Folder::new(&[
                ("1_users.sql", USERS),
                ("2_posts.sql", POSTS),
                ("3_tags.sql", TAGS),
            ]),
            ["1", "2"],
        ),
        Tool::Refinery | Tool::Flyway => (
            Folder::new(&[
                ("V1__users.sql", USERS),
                ("V2__posts.sql", POSTS),
                ("V10__tags.sql", TAGS),
            ]),
            ["1", "2"],
        ),
        Tool::Goose => (
            Folder::new(&[
                (
                    "00001_users.sql",
                    &format!("-- +goose Up\n{USERS}-- +goose Down\nDROP TABLE users;\n"),
                ),
                ("00002_posts.sql", &format!("-- +goose Up\n{POSTS}")),
                ("00003_tags.sql", &format!("-- +goose Up\n{TAGS}")),
            ]),
            ["1", "2"],
        ),
        Tool::Dbmate => (
            Folder::new(&[
                (
                    "20240101000000_users.sql",
                    &format!("-- migrate:up\n{USERS}\n-- migrate:down\nDROP TABLE users;\n"),
                ),
                (
                    "20240201000000_posts.sql",
                    &format!("-- migrate:up\n{POSTS}\n-- migrate:down\n"),
                ),
                (
                    "20240301000000_tags.sql",
                    &format!("-- migrate:up\n{TAGS}\n-- migrate:down\n"),
                ),
            ]),
            ["20240101000000", "20240201000000"],
        ),
        _ => (
            Folder::new(&[
                ("1_users.up.sql", USERS),
                ("1_users.down.sql", "DROP TABLE users;"),
                ("2_posts.up.sql", POSTS),
                ("3_tags.up.sql", TAGS),
            ]),
            ["1", "2"],
        ),
    }
}

fn read(tool: Tool, folder: &Folder) -> Migrations {
    Migrations::read_folder_as(
        folder.path(),
        folder.path(),
        &ReadOptions::new(tool.format()),
    )
    .expect("the fixture folder reads")
}

/// SQL literal of a text.
fn lit(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The tool's table with users and posts applied, as the tool writes it on
/// `engine` ("sqlite" or "postgres"); `edit` changes the rows' SQL first.
fn tool_table(tool: Tool, engine: &str, versions: [&str; 2], set: &Migrations) -> String {
    let pg = engine == "postgres";
    let sql_of = |i: usize| set.as_slice()[i].up_sql().unwrap_or_default().to_owned();
    let (t, f) = if pg { ("true", "false") } else { ("1", "0") };
    match tool {
        Tool::Diesel => {
            let mut sql = "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);\n".to_owned();
            if pg {
                sql.push_str(
                    "INSERT INTO __diesel_schema_migrations (version) VALUES ('00000000000000');\n",
                );
            }
            for v in versions {
                sql.push_str(&format!(
                    "INSERT INTO __diesel_schema_migrations (version) VALUES ({});\n",
                    lit(v)
                ));
            }
            sql
        }
        Tool::Sqlx => {
            let (blob, ts) = if pg {
                ("BYTEA", "TIMESTAMPTZ")
            } else {
                ("BLOB", "TIMESTAMP")
            };
            let mut sql = format!(
                "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on {ts} NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, checksum {blob} NOT NULL, execution_time BIGINT NOT NULL);\n"
            );
            for (i, v) in versions.iter().enumerate() {
                let sum = sqlx_checksum(&sql_of(i));
                let bytes = if pg {
                    format!("'\\x{sum}'::bytea")
                } else {
                    format!("x'{sum}'")
                };
                sql.push_str(&format!("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES ({v}, {}, {t}, {bytes}, 3);\n", lit(set.as_slice()[i].name())));
            }
            sql
        }
        Tool::Refinery => {
            let mut sql = "CREATE TABLE refinery_schema_history (version INT4 PRIMARY KEY, name VARCHAR(255), applied_on VARCHAR(255), checksum VARCHAR(255));\n".to_owned();
            for (i, v) in versions.iter().enumerate() {
                let m = &set.as_slice()[i];
                let sum = refinery_checksum(m.name(), m.version() as i32, &sql_of(i));
                sql.push_str(&format!("INSERT INTO refinery_schema_history VALUES ({v}, {}, '2024-01-01T00:00:00Z', '{sum}');\n", lit(m.name())));
            }
            sql
        }
        Tool::Flyway => {
            let mut sql = "CREATE TABLE flyway_schema_history (installed_rank INT NOT NULL PRIMARY KEY, version VARCHAR(50), description VARCHAR(200) NOT NULL, type VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT NULL, checksum INT, installed_by VARCHAR(100) NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, execution_time INT NOT NULL, success BOOLEAN NOT NULL);\n".to_owned();
            for (i, v) in versions.iter().enumerate() {
                let m = &set.as_slice()[i];
                let sum = flyway_checksum(&sql_of(i));
                sql.push_str(&format!("INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success) VALUES ({}, {v}, {}, 'SQL', {}, {sum}, 'app', 4, {t});\n", i + 1, lit(m.name()), lit(m.file())));
            }
            sql
        }
        Tool::Goose => {
            let mut sql = if pg {
                "CREATE TABLE goose_db_version (id serial NOT NULL, version_id bigint NOT NULL, is_applied boolean NOT NULL, tstamp timestamp NULL default now(), PRIMARY KEY(id));\n".to_owned()
            } else {
                "CREATE TABLE goose_db_version (id INTEGER PRIMARY KEY AUTOINCREMENT, version_id INTEGER NOT NULL, is_applied INTEGER NOT NULL, tstamp TIMESTAMP DEFAULT (datetime('now')));\n".to_owned()
            };
            sql.push_str(&format!(
                "INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, {t});\n"
            ));
            // The third applied, then rolled back the way older goose records it.
            for v in versions.iter().chain(&["3"]) {
                sql.push_str(&format!(
                    "INSERT INTO goose_db_version (version_id, is_applied) VALUES ({v}, {t});\n"
                ));
            }
            sql.push_str(&format!(
                "INSERT INTO goose_db_version (version_id, is_applied) VALUES (3, {f});\n"
            ));
            sql
        }
        Tool::Dbmate => {
            let mut sql =
                "CREATE TABLE schema_migrations (version VARCHAR(128) PRIMARY KEY);\n".to_owned();
            for v in versions {
                sql.push_str(&format!(
                    "INSERT INTO schema_migrations (version) VALUES ({});\n",
                    lit(v)
                ));
            }
            sql
        }
        _ => {
            let ty = if pg { "bigint" } else { "uint64" };
            format!(
                "CREATE TABLE schema_migrations (version {ty}, dirty bool);\nCREATE UNIQUE INDEX version_unique ON schema_migrations (version);\nINSERT INTO schema_migrations (version, dirty) VALUES ({}, {f});\n",
                versions[1]
            )
        }
    }
}

/// Every row of `table` on SQLite, as text, sorted.
fn dump(conn: &Connection, table: &str) -> Vec<String> {
    let mut statement = conn.prepare(&format!("SELECT * FROM {table}")).unwrap();
    let columns = statement.column_count();
    let mut rows: Vec<String> = statement
        .query_map([], |row| {
            Ok((0..columns)
                .map(|i| format!("{:?}", row.get_ref(i).unwrap()))
                .collect::<Vec<_>>()
                .join("|"))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    rows.sort();
    rows
}

fn has_table(conn: &Connection, table: &str) -> bool {
    conn.query_row(
        "SELECT count(*) FROM sqlite_schema WHERE name = ?1",
        [table],
        |row| row.get::<_, i64>(0),
    )
    .unwrap()
        == 1
}

fn sqlite_scenario(tool: Tool) {
    let (folder, versions) = folder(tool);
    let set = read(tool, &folder);
    let dir = tempfile::tempdir().unwrap();
    let mut conn = Connection::open(dir.path().join("app.db")).unwrap();
    conn.execute_batch(&tool_table(tool, "sqlite", versions, &set))
        .unwrap();
    conn.execute_batch(&format!("{USERS}{POSTS}")).unwrap();
    let before = dump(&conn, tool.table());

    let refused = set.run(&mut conn).unwrap_err();
    assert!(
        matches!(&refused, Error::OtherToolsTable { tool: t, .. } if *t == tool),
        "{tool}: {refused}"
    );
    assert!(
        refused
            .to_string()
            .contains(&format!("migrate adopt --from {tool}")),
        "{refused}"
    );
    assert!(
        !has_table(&conn, "migrate_schema_history"),
        "{tool}: the refused run changed nothing"
    );

    let adopted = set.runner().adopt(&mut conn, tool).unwrap();
    let expected: Vec<u64> = set.as_slice()[..2].iter().map(|m| m.version()).collect();
    assert_eq!(
        adopted.iter().map(|a| a.version).collect::<Vec<_>>(),
        expected,
        "{tool}"
    );
    let status = set.status(&mut conn).unwrap();
    assert_eq!(
        status.applied.iter().map(|a| a.version).collect::<Vec<_>>(),
        expected,
        "{tool}"
    );
    assert!(status.problems.is_empty(), "{tool}: {:?}", status.problems);
    let history = set.history(&mut conn).unwrap();
    assert!(
        history.iter().all(|e| e.kind == EventKind::Baselined),
        "{tool}"
    );
    assert!(
        history[0]
            .detail
            .as_deref()
            .unwrap_or("")
            .contains(&format!("adopted from {tool}")),
        "{tool}: {:?}",
        history[0].detail
    );

    let report = set.run(&mut conn).unwrap();
    assert_eq!(
        report.applied.iter().map(|a| a.version).collect::<Vec<_>>(),
        [set.as_slice()[2].version()],
        "{tool}"
    );
    assert_eq!(
        dump(&conn, tool.table()),
        before,
        "{tool}: its table is unchanged"
    );
}

#[test]
fn diesel_on_sqlite() {
    sqlite_scenario(Tool::Diesel);
}
#[test]
fn sqlx_on_sqlite() {
    sqlite_scenario(Tool::Sqlx);
}
#[test]
fn refinery_on_sqlite() {
    sqlite_scenario(Tool::Refinery);
}
#[test]
fn flyway_on_sqlite() {
    sqlite_scenario(Tool::Flyway);
}
#[test]
fn goose_on_sqlite() {
    sqlite_scenario(Tool::Goose);
}
#[test]
fn dbmate_on_sqlite() {
    sqlite_scenario(Tool::Dbmate);
}
#[test]
fn golang_migrate_on_sqlite() {
    sqlite_scenario(Tool::GolangMigrate);
}

/// A refusal: `AdoptRefused` with a problem `check` accepts, and nothing
/// changed (no `migrate` table, the tool's table as it was).
fn refuses(tool: Tool, change: &str, check: impl Fn(&AdoptProblem) -> bool) {
    let (folder, versions) = folder(tool);
    let set = read(tool, &folder);
    let dir = tempfile::tempdir().unwrap();
    let mut conn = Connection::open(dir.path().join("app.db")).unwrap();
    conn.execute_batch(&tool_table(tool, "sqlite", versions, &set))
        .unwrap();
    conn.execute_batch(change).unwrap();
    let before = dump(&conn, tool.table());
    let error = set.runner().adopt(&mut conn, tool).unwrap_err();
    match &error {
        Error::AdoptRefused { problems, .. } => {
            assert!(problems.iter().any(&check), "{tool}: {error}")
        }
        other => panic!("{tool}: {other}"),
    }
    assert!(error.to_string().contains("nothing was changed"), "{error}");
    assert!(!has_table(&conn, "migrate_schema_history"), "{tool}");
    assert_eq!(dump(&conn, tool.table()), before, "{tool}");
}

#[test]
fn a_row_matching_no_migration_refuses() {
    refuses(
        Tool::Diesel,
        "INSERT INTO __diesel_schema_migrations (version) VALUES ('20230101000000');",
        |p| matches!(p, AdoptProblem::UnknownVersion { version } if version == "20230101000000"),
    );
    refuses(
        Tool::Goose,
        "INSERT INTO goose_db_version (version_id, is_applied) VALUES (9, 1);",
        |p| matches!(p, AdoptProblem::UnknownVersion { version } if version == "9"),
    );
}

#[test]
fn a_diesel_row_with_zeros_past_14_digits_adopts() {
    // diesel records `2025-09-19-132648-0000` as `202509191326480000`.
    let folder = Folder::new(&[]);
    for (file, text) in [
        ("2025-09-19-132648-0000_users/up.sql", USERS),
        ("2025-09-20-000000-0000_posts/up.sql", POSTS),
    ] {
        let path = folder.path().join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let set = read(Tool::Diesel, &folder);
    let mut conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(&format!(
        "{USERS}CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);\n\
         INSERT INTO __diesel_schema_migrations (version) VALUES ('202509191326480000');"
    ))
    .unwrap();
    let adopted = set.runner().adopt(&mut conn, Tool::Diesel).unwrap();
    assert_eq!(
        adopted.iter().map(|a| a.version).collect::<Vec<_>>(),
        [20250919132648]
    );
    let report = set.run(&mut conn).unwrap();
    assert_eq!(
        report.applied.iter().map(|a| a.version).collect::<Vec<_>>(),
        [20250920000000]
    );
}

#[test]
fn failed_and_dirty_rows_refuse() {
    refuses(
        Tool::Sqlx,
        "UPDATE _sqlx_migrations SET success = 0 WHERE version = 2;",
        |p| matches!(p, AdoptProblem::Unfinished { version, .. } if version == "2"),
    );
    refuses(
        Tool::Flyway,
        "UPDATE flyway_schema_history SET success = 0 WHERE version = '2';",
        |p| matches!(p, AdoptProblem::Unfinished { file: Some(file), .. } if file == "V2__posts.sql"),
    );
    refuses(
        Tool::GolangMigrate,
        "UPDATE schema_migrations SET dirty = 1;",
        |p| p.to_string().contains("dirty"),
    );
}

#[test]
fn checksum_mismatches_refuse() {
    refuses(
        Tool::Sqlx,
        "UPDATE _sqlx_migrations SET checksum = x'00' WHERE version = 1;",
        |p| matches!(p, AdoptProblem::ChecksumMismatch { version: 1, .. }),
    );
    refuses(
        Tool::Refinery,
        "UPDATE refinery_schema_history SET checksum = '42' WHERE version = 2;",
        |p| matches!(p, AdoptProblem::ChecksumMismatch { version: 2, recorded, .. } if recorded == "42"),
    );
    refuses(
        Tool::Flyway,
        "UPDATE flyway_schema_history SET checksum = 7 WHERE version = '1';",
        |p| p.to_string().contains("V1__users.sql") && p.to_string().contains("CRC32"),
    );
}

#[test]
fn the_wrong_schema_migrations_and_a_missing_table_refuse() {
    refuses(
        Tool::Dbmate,
        "ALTER TABLE schema_migrations ADD COLUMN dirty bool;",
        |p| p.to_string().contains("golang-migrate"),
    );
    let (folder, _) = folder(Tool::Sqlx);
    let set = read(Tool::Sqlx, &folder);
    let mut conn = Connection::open_in_memory().unwrap();
    let error = set.runner().adopt(&mut conn, Tool::Sqlx).unwrap_err();
    assert!(
        error.to_string().contains("no table `_sqlx_migrations`"),
        "{error}"
    );
}

fn postgres_scenario(tool: Tool) {
    if !postgres::available() {
        return;
    }
    let (folder, versions) = folder(tool);
    let set = read(tool, &folder);
    let db = postgres::TestDatabase::new();
    let mut client = db.connect();
    client
        .batch_execute(&tool_table(tool, "postgres", versions, &set))
        .unwrap();
    client.batch_execute(&format!("{USERS}{POSTS}")).unwrap();
    let dump = |client: &mut migrate::postgres::postgres::Client| -> Vec<String> {
        client
            .query(
                &format!("SELECT t::text FROM {} t ORDER BY 1", tool.table()),
                &[],
            )
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect()
    };
    let before = dump(&mut client);
    let refused = set.run(&mut client).unwrap_err();
    assert!(
        matches!(&refused, Error::OtherToolsTable { .. }),
        "{tool}: {refused}"
    );
    let adopted = set.runner().adopt(&mut client, tool).unwrap();
    assert_eq!(adopted.len(), 2, "{tool}");
    let status = set.status(&mut client).unwrap();
    assert_eq!(status.applied.len(), 2, "{tool}");
    let report = set.run(&mut client).unwrap();
    assert_eq!(
        report.applied.iter().map(|a| a.version).collect::<Vec<_>>(),
        [set.as_slice()[2].version()],
        "{tool}"
    );
    assert_eq!(dump(&mut client), before, "{tool}: its table is unchanged");
}

#[test]
fn diesel_on_postgres() {
    postgres_scenario(Tool::Diesel);
}
#[test]
fn sqlx_on_postgres() {
    postgres_scenario(Tool::Sqlx);
}
#[test]
fn refinery_on_postgres() {
    postgres_scenario(Tool::Refinery);
}
#[test]
fn flyway_on_postgres() {
    postgres_scenario(Tool::Flyway);
}
#[test]
fn goose_on_postgres() {
    postgres_scenario(Tool::Goose);
}
#[test]
fn golang_migrate_on_postgres() {
    postgres_scenario(Tool::GolangMigrate);
}

/// `tool`'s table recording version 1 (`users`, in `file`) as applied, on
/// SQLite, with `checksum` as the tool writes it.
fn one_row(tool: Tool, file: &str, checksum: &str) -> String {
    match tool {
        Tool::Sqlx => format!(
            "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, checksum BLOB NOT NULL, execution_time BIGINT NOT NULL);\nINSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (1, 'users', 1, x'{checksum}', 3);\n"
        ),
        Tool::Refinery => format!(
            "CREATE TABLE refinery_schema_history (version INT4 PRIMARY KEY, name VARCHAR(255), applied_on VARCHAR(255), checksum VARCHAR(255));\nINSERT INTO refinery_schema_history VALUES (1, 'users', '2024-01-01T00:00:00Z', '{checksum}');\n"
        ),
        Tool::Flyway => format!(
            "CREATE TABLE flyway_schema_history (installed_rank INT NOT NULL PRIMARY KEY, version VARCHAR(50), description VARCHAR(200) NOT NULL, type VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT NULL, checksum INT, installed_by VARCHAR(100) NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, execution_time INT NOT NULL, success BOOLEAN NOT NULL);\nINSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success) VALUES (1, '1', 'users', 'SQL', {}, {checksum}, 'app', 4, 1);\n",
            lit(file)
        ),
        other => panic!("{other} keeps no checksum"),
    }
}

/// The checksum `tool` computes of `text`, the file's text as the tool
/// reads it from disk (a byte order mark kept, placeholders as written).
fn tool_checksum(tool: Tool, text: &str) -> String {
    match tool {
        Tool::Sqlx => sqlx_checksum(text),
        Tool::Refinery => refinery_checksum("users", 1_i32, text).to_string(),
        Tool::Flyway => flyway_checksum(text).to_string(),
        other => panic!("{other} keeps no checksum"),
    }
}

#[test]
fn checksums_are_of_the_file_the_tool_read_not_of_the_sql_the_reader_made() {
    let bom = format!("\u{feff}{USERS}");
    let placeholders = "CREATE TABLE ${table} (id INTEGER PRIMARY KEY);\n";
    let bom_and_placeholders = format!("\u{feff}{placeholders}");
    for (tool, file, text) in [
        (Tool::Sqlx, "1_users.sql", bom.as_str()),
        (Tool::Refinery, "V1__users.sql", bom.as_str()),
        (Tool::Flyway, "V1__users.sql", placeholders),
        (Tool::Flyway, "V1__users.sql", bom_and_placeholders.as_str()),
    ] {
        let folder = Folder::new(&[(file, text)]);
        let mut options = ReadOptions::new(tool.format());
        options
            .placeholders
            .insert("table".to_owned(), "users".to_owned());
        let read = |folder: &Folder| {
            Migrations::read_folder_as(folder.path(), folder.path(), &options).unwrap()
        };
        let set = read(&folder);
        // The reader did change the text: the SQL it runs is not the file.
        assert_ne!(set.as_slice()[0].up_sql(), Some(text), "{tool}");
        assert_eq!(set.as_slice()[0].up_file_text(), Some(text), "{tool}");
        let on_disk = std::fs::read_to_string(folder.path().join(file)).unwrap();
        let table = one_row(tool, file, &tool_checksum(tool, &on_disk));

        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("app.db")).unwrap();
        conn.execute_batch(&table).unwrap();
        let adopted = set.runner().adopt(&mut conn, tool).unwrap();
        assert_eq!(
            adopted.iter().map(|a| a.version).collect::<Vec<_>>(),
            [1],
            "{tool} with {text:?}"
        );
        let history = set.history(&mut conn).unwrap();
        let detail = history[0].detail.as_deref().unwrap_or("");
        assert!(detail.contains("checksum verified"), "{tool}: {detail}");

        // A file edited since the tool applied it is still a mismatch.
        folder.write(file, text.replace("PRIMARY KEY", "PRIMARY KEY, name TEXT"));
        let edited = read(&folder);
        let mut conn = Connection::open(dir.path().join("edited.db")).unwrap();
        conn.execute_batch(&table).unwrap();
        let error = edited.runner().adopt(&mut conn, tool).unwrap_err();
        match &error {
            Error::AdoptRefused { problems, .. } => assert!(
                problems
                    .iter()
                    .any(|p| matches!(p, AdoptProblem::ChecksumMismatch { version: 1, .. })),
                "{tool}: {error}"
            ),
            other => panic!("{tool}: {other}"),
        }
    }
}
