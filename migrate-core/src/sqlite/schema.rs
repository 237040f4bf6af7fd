//! A database's schema as SQLite stores it — its tables, indexes, views and
//! triggers with their `CREATE` statements — and the differences between two.
//!
//! Two schemas are compared object by object, by kind and name. Two
//! statements that differ only in spacing, comments, letter case outside
//! string literals or identifier quoting are the same. A table defined
//! differently is explained column by column (name, declared type,
//! `NOT NULL`, default, primary key), read from SQLite itself
//! (`PRAGMA table_xinfo`), and otherwise by the first place its statements
//! differ.
//!
//! SQLite's own objects (`sqlite_%`: `sqlite_sequence`, `sqlite_stat1`, the
//! automatic indexes of `UNIQUE` constraints) are left out, as are the
//! tracking table and its history: they are not the application's schema.

use std::borrow::Cow;
use std::collections::BTreeMap;

use rusqlite::Connection;

use super::guard::Guard;
use crate::schema::{ObjectKind, Schema, SchemaDifference, SchemaObject};
impl Schema {
    /// Reads the schema of `conn`'s main database: every table, index, view
    /// and trigger but SQLite's own (`sqlite_%`), the tracking tables
    /// included. [`Runner::schema`](crate::Runner::schema) leaves those out.
    ///
    /// # Errors
    ///
    /// SQLite's error reading `sqlite_schema`.
    pub fn read(conn: &Connection) -> rusqlite::Result<Schema> {
        Schema::read_excluding(conn, &[])
    }

    /// [`read`](Schema::read), without the objects named in `exclude`.
    pub(crate) fn read_excluding(
        conn: &Connection,
        exclude: &[String],
    ) -> rusqlite::Result<Schema> {
        let mut objects = Vec::new();
        each_object(conn, exclude, |kind, name, table, sql| {
            objects.push(SchemaObject {
                kind,
                name: Cow::Owned(name.to_owned()),
                table: Cow::Owned(table.to_owned()),
                sql: Cow::Owned(sql.to_owned()),
            });
            true
        })?;
        Ok(Schema {
            objects: Cow::Owned(objects),
        })
    }

    /// How `actual` differs from this schema, the expected one: objects
    /// missing or not expected, then objects defined differently, in kind
    /// and name order. Empty when they are the same (see the module docs for
    /// what counts as the same).
    pub fn differences(&self, actual: &Schema) -> Vec<SchemaDifference> {
        // The usual case, without normalizing every statement.
        if self.objects == actual.objects {
            return Vec::new();
        }
        let expected = by_key(self);
        let actual = by_key(actual);
        let mut differences = Vec::new();
        for (&(kind, ref key), object) in &expected {
            if !actual.contains_key(&(kind, key.clone())) {
                differences.push(SchemaDifference::Missing {
                    kind,
                    name: object.name.to_string(),
                });
            }
        }
        for (&(kind, ref key), object) in &actual {
            if !expected.contains_key(&(kind, key.clone())) {
                differences.push(SchemaDifference::Unexpected {
                    kind,
                    name: object.name.to_string(),
                });
            }
        }
        for (key, expected) in &expected {
            if let Some(actual) = actual.get(key) {
                compare(expected, actual, &mut differences);
            }
        }
        differences
    }
}

/// Calls `visit` with the kind, name, table and `CREATE` statement of every
/// object of the main database but SQLite's own and those named in
/// `exclude`, in creation order, until it returns `false`.
fn each_object(
    conn: &Connection,
    exclude: &[String],
    mut visit: impl FnMut(ObjectKind, &str, &str, &str) -> bool,
) -> rusqlite::Result<()> {
    let mut statement = conn.prepare(
        r"SELECT type, name, tbl_name, sql FROM main.sqlite_schema
          WHERE name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY rowid",
    )?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let name = row.get_ref(1)?.as_str()?;
        let Some(kind) = ObjectKind::parse(row.get_ref(0)?.as_str()?) else {
            continue;
        };
        if exclude.iter().any(|excluded| excluded == name) {
            continue;
        }
        let table = row.get_ref(2)?.as_str()?;
        let sql = row.get_ref(3)?.as_str_or_null()?.unwrap_or_default();
        if !visit(kind, name, table, sql) {
            break;
        }
    }
    Ok(())
}

/// Objects by kind and lower-case name (SQLite's names are case-insensitive
/// for ASCII letters).
fn by_key(schema: &Schema) -> BTreeMap<(ObjectKind, String), &SchemaObject> {
    schema
        .objects
        .iter()
        .map(|object| ((object.kind, object.name.to_ascii_lowercase()), object))
        .collect()
}

/// Adds how `actual` differs from `expected`, the same object.
fn compare(
    expected: &SchemaObject,
    actual: &SchemaObject,
    differences: &mut Vec<SchemaDifference>,
) {
    let (expected_sql, actual_sql) = (normalized(&expected.sql), normalized(&actual.sql));
    if expected_sql == actual_sql {
        return;
    }
    if expected.kind == ObjectKind::Table
        && let (Some(before), Some(after)) = (columns(&expected.sql), columns(&actual.sql))
    {
        let found = column_differences(&expected.name, &before, &after);
        if !found.is_empty() {
            differences.extend(found);
            return;
        }
    }
    let (expected_text, actual_text) = first_difference(&expected_sql, &actual_sql);
    differences.push(SchemaDifference::Changed {
        kind: expected.kind,
        name: expected.name.to_string(),
        expected: expected_text,
        actual: actual_text,
    });
}

/// A column as `PRAGMA table_xinfo` describes it.
#[derive(Debug, PartialEq, Eq)]
struct Column {
    name: String,
    definition: String,
}

/// The columns of the table `sql` creates, read by creating it in an empty
/// in-memory database; `None` if that fails (a virtual table whose module
/// is not compiled in, say).
fn columns(sql: &str) -> Option<Vec<Column>> {
    let mut conn = Connection::open_in_memory().ok()?;
    // The text comes from a database's `sqlite_schema`, which could have been
    // written by hand: run exactly one statement (`prepare` refuses more),
    // under the build-time check's rules, so it opens no file.
    let guard = Guard::new(&[], true);
    guard.install(&mut conn).ok()?;
    {
        let scope = guard.migration(&conn);
        scope.preparing();
        let mut statement = conn.prepare(sql).ok()?;
        scope.running();
        statement.raw_execute().ok()?;
        scope.finish().ok()?;
    }
    Guard::remove(&mut conn).ok()?;
    let mut statement = conn
        .prepare("SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo((SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid LIMIT 1))")
        .ok()?;
    let rows = statement
        .query_map([], |row| {
            let declared: String = row.get(1)?;
            let not_null: bool = row.get(2)?;
            let default: Option<String> = row.get(3)?;
            let primary_key: i64 = row.get(4)?;
            let hidden: i64 = row.get(5)?;
            let mut definition = if declared.is_empty() {
                "no declared type".to_owned()
            } else {
                declared
            };
            if not_null {
                definition.push_str(" NOT NULL");
            }
            if let Some(default) = default {
                definition.push_str(&format!(" DEFAULT {default}"));
            }
            if primary_key > 0 {
                definition.push_str(" PRIMARY KEY");
            }
            if hidden > 1 {
                definition.push_str(" GENERATED");
            }
            Ok(Column {
                name: row.get(0)?,
                definition,
            })
        })
        .ok()?;
    rows.collect::<rusqlite::Result<_>>().ok()
}

/// Column by column: missing, not expected, and defined differently.
fn column_differences(
    table: &str,
    expected: &[Column],
    actual: &[Column],
) -> Vec<SchemaDifference> {
    let find = |columns: &'_ [Column], name: &str| {
        columns
            .iter()
            .position(|column| column.name.eq_ignore_ascii_case(name))
    };
    let mut differences = Vec::new();
    for column in expected {
        match find(actual, &column.name) {
            None => differences.push(SchemaDifference::ColumnMissing {
                table: table.to_owned(),
                column: column.name.clone(),
            }),
            Some(index) if actual[index].definition != column.definition => {
                differences.push(SchemaDifference::ColumnChanged {
                    table: table.to_owned(),
                    column: column.name.clone(),
                    expected: column.definition.clone(),
                    actual: actual[index].definition.clone(),
                });
            }
            Some(_) => {}
        }
    }
    for column in actual {
        if find(expected, &column.name).is_none() {
            differences.push(SchemaDifference::ColumnUnexpected {
                table: table.to_owned(),
                column: column.name.clone(),
            });
        }
    }
    differences
}

/// `sql` with comments dropped, identifier quotes removed, letters outside
/// string literals in lower case, and one space between two words (none
/// around punctuation): equal for two statements SQLite reads the same way
/// up to those differences.
fn normalized(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    // Whether the last thing written ends a word, so a following word needs
    // a space before it.
    let mut after_word = false;
    let push_word = |out: &mut String, word: &str, after_word: &mut bool| {
        if *after_word {
            out.push(' ');
        }
        out.push_str(word);
        *after_word = true;
    };
    while let Some(c) = chars.next() {
        match c {
            '-' if chars.peek() == Some(&'-') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = ' ';
                for c in chars.by_ref() {
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
            }
            '\'' => {
                // A string literal, kept as written ('' is an escaped quote).
                let mut literal = String::from('\'');
                while let Some(c) = chars.next() {
                    literal.push(c);
                    if c == '\'' {
                        if chars.peek() == Some(&'\'') {
                            literal.push('\'');
                            chars.next();
                        } else {
                            break;
                        }
                    }
                }
                push_word(&mut out, &literal, &mut after_word);
            }
            '"' | '`' | '[' => {
                // A quoted identifier: the same as the bare word.
                let close = if c == '[' { ']' } else { c };
                let mut word = String::new();
                while let Some(c) = chars.next() {
                    if c == close {
                        if close != ']' && chars.peek() == Some(&close) {
                            word.push(close);
                            chars.next();
                        } else {
                            break;
                        }
                    } else {
                        word.push(c.to_ascii_lowercase());
                    }
                }
                push_word(&mut out, &word, &mut after_word);
            }
            c if c.is_whitespace() || c == '\u{feff}' => {}
            c if c.is_alphanumeric() || c == '_' || c == '$' => {
                let mut word = String::from(c.to_ascii_lowercase());
                while let Some(&next) = chars.peek() {
                    if next.is_alphanumeric() || next == '_' || next == '$' {
                        word.push(next.to_ascii_lowercase());
                        chars.next();
                    } else {
                        break;
                    }
                }
                push_word(&mut out, &word, &mut after_word);
            }
            c => {
                out.push(c);
                after_word = false;
            }
        }
    }
    out
}

/// Where two normalized statements first differ: the rest of each from a
/// little before that point, at most 60 characters.
fn first_difference(expected: &str, actual: &str) -> (String, String) {
    const BEFORE: usize = 20;
    const LENGTH: usize = 60;
    let common = expected
        .char_indices()
        .zip(actual.chars())
        .find(|((_, a), b)| a != b)
        .map_or(expected.len().min(actual.len()), |((index, _), _)| index);
    let excerpt = |text: &str| {
        let mut start = common.min(text.len());
        for _ in 0..BEFORE {
            match text[..start].char_indices().next_back() {
                Some((index, _)) => start = index,
                None => break,
            }
        }
        // Start at a word, not inside one.
        if start > 0
            && let Some(space) = text[start..common.min(text.len())].find(' ')
        {
            start += space + 1;
        }
        let rest: String = text[start..].chars().take(LENGTH).collect();
        let mut shown = String::new();
        if start > 0 {
            shown.push('…');
        }
        shown.push_str(&rest);
        if text[start..].chars().count() > LENGTH {
            shown.push('…');
        }
        if shown.is_empty() {
            shown.push_str("(nothing)");
        }
        shown
    };
    (excerpt(expected), excerpt(actual))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(sql: &str) -> rusqlite::Result<Schema> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch(sql)?;
        Schema::read_excluding(&conn, &["migrate_schema_history".to_owned()])
    }

    fn described(expected: &str, actual: &str) -> rusqlite::Result<Vec<String>> {
        Ok(schema(expected)?
            .differences(&schema(actual)?)
            .iter()
            .map(|difference| difference.describe("still exists"))
            .collect())
    }

    #[test]
    fn reads_objects_in_creation_order_without_sqlites_own_or_excluded_ones() -> rusqlite::Result<()>
    {
        let schema = schema(
            "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT UNIQUE);
             CREATE INDEX users_email ON users (email);
             CREATE VIEW emails AS SELECT email FROM users;
             CREATE TRIGGER users_touch AFTER UPDATE ON users BEGIN SELECT 1; END;
             CREATE TABLE migrate_schema_history (version INTEGER);
             ANALYZE;",
        )?;
        let names: Vec<(ObjectKind, &str, &str)> = schema
            .objects()
            .iter()
            .map(|o| (o.kind(), o.name(), o.table()))
            .collect();
        assert_eq!(
            names,
            [
                (ObjectKind::Table, "users", "users"),
                (ObjectKind::Index, "users_email", "users"),
                (ObjectKind::View, "emails", "emails"),
                (ObjectKind::Trigger, "users_touch", "users"),
            ]
        );
        assert!(schema.to_sql().starts_with(
            "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT UNIQUE);\nCREATE INDEX"
        ));
        Ok(())
    }

    #[test]
    fn spacing_case_comments_and_quotes_are_not_differences() -> rusqlite::Result<()> {
        assert_eq!(
            described(
                "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT 'A b')",
                "create table \"Users\"(\n  -- the key\n  [id] integer primary key,\n  `name` text not null default 'A b'\n)",
            )?,
            Vec::<String>::new()
        );
        Ok(())
    }

    #[test]
    fn names_missing_and_remaining_objects() -> rusqlite::Result<()> {
        assert_eq!(
            described(
                "CREATE TABLE users (id INTEGER); CREATE INDEX users_id ON users (id);",
                "CREATE TABLE users (id INTEGER); CREATE TABLE folders_ciphers (id INTEGER);",
            )?,
            [
                "index `users_id` is missing",
                "table `folders_ciphers` still exists"
            ]
        );
        Ok(())
    }

    #[test]
    fn explains_a_table_column_by_column() -> rusqlite::Result<()> {
        assert_eq!(
            described(
                "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, age INTEGER)",
                "CREATE TABLE users (id INTEGER PRIMARY KEY, age TEXT NOT NULL DEFAULT 0, nick TEXT)",
            )?,
            [
                "column `users.email` is missing",
                "column `users.age` is `TEXT NOT NULL DEFAULT 0`, expected `INTEGER`",
                "column `users.nick` still exists",
            ]
        );
        Ok(())
    }

    #[test]
    fn a_lost_constraint_is_shown_where_the_statements_part() -> rusqlite::Result<()> {
        assert_eq!(
            described(
                "CREATE TABLE users (id INTEGER, CHECK (id > 0))",
                "CREATE TABLE users (id INTEGER)",
            )?,
            [
                "table `users` is defined differently: `…users(id integer)`, expected `…users(id integer,check(id>0))`"
            ]
        );
        Ok(())
    }

    #[test]
    fn string_literals_keep_their_case() {
        assert_ne!(normalized("DEFAULT 'A'"), normalized("DEFAULT 'a'"));
        assert_eq!(normalized("DEFAULT 'it''s'"), "default 'it''s'");
        assert_eq!(normalized("\"a\"\"b\" /* c */ x"), "a\"b x");
    }

    /// A definition comes from a database's `sqlite_schema`, which may have
    /// been written by hand: only its one statement runs, and it may open no
    /// file.
    #[test]
    fn a_definition_runs_alone_and_opens_no_file() {
        let outside = tempfile::tempdir().unwrap();
        let planted = outside.path().join("planted.db");
        let planted = planted.display();
        assert!(columns("CREATE TABLE t (x, y)").is_some_and(|columns| columns.len() == 2));
        assert!(columns(&format!("CREATE TABLE t (x); ATTACH '{planted}' AS p")).is_none());
        assert!(columns(&format!("ATTACH '{planted}' AS p")).is_none());
        assert!(
            std::fs::read_dir(outside.path()).unwrap().next().is_none(),
            "no file was created"
        );
    }
}
