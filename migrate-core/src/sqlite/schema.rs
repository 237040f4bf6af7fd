//! A database's schema as SQLite stores it — its tables, indexes, views and
//! triggers with their `CREATE` statements — and the differences between two.
//!
//! Two schemas are compared object by object, by kind and name. Two
//! statements that differ only in spacing, comments, letter case outside
//! string literals or identifier quoting are the same. Two tables are the
//! same when SQLite parsed them the same, however they are written: their
//! columns in order (`PRAGMA table_xinfo`: name, declared type, `NOT NULL`,
//! default (`TRUE` and `FALSE` being 1 and 0), primary key, generated), foreign keys (`foreign_key_list`, a
//! parent key left out being the parent's primary key, SQLite's defaults
//! `MATCH SIMPLE` and `NO ACTION` being what they are), the keys of their
//! `UNIQUE` and `PRIMARY KEY` constraints (`index_list` / `index_xinfo`,
//! written on the column or as a table constraint), `WITHOUT ROWID` and
//! `STRICT` (`table_list`), and what no `PRAGMA` tells, taken from the
//! normalized statement: each `CHECK` by its normalized text (a column's and
//! a table's alike), each column's `COLLATE` and generated expression,
//! `AUTOINCREMENT`, `ON CONFLICT` and `DEFERRABLE`. A table defined
//! differently is explained by what differs: columns missing, not expected
//! or defined differently, their order (a difference of its own), then only
//! the foreign keys, keys or clauses that differ. Other objects are
//! explained by the first place their statements differ.
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
        let actual_schema = actual;
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
        for (key, expected_object) in &expected {
            if let Some(actual_object) = actual.get(key) {
                compare(
                    expected_object,
                    actual_object,
                    [self, actual_schema],
                    &mut differences,
                );
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

/// Adds how `actual` differs from `expected`, the same object; `schemas`
/// are the two schemas they belong to (expected first), where a foreign
/// key's parent table is looked up.
fn compare(
    expected: &SchemaObject,
    actual: &SchemaObject,
    schemas: [&Schema; 2],
    differences: &mut Vec<SchemaDifference>,
) {
    let (expected_sql, actual_sql) = (normalized(&expected.sql), normalized(&actual.sql));
    if expected_sql == actual_sql {
        return;
    }
    if expected.kind == ObjectKind::Table
        && let (Some(before), Some(after)) = (
            Shape::of(&expected.sql, schemas[0]),
            Shape::of(&actual.sql, schemas[1]),
        )
    {
        differences.extend(before.differences(&expected.name, &after));
        return;
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

/// A table as SQLite parsed it: what its `PRAGMA`s say (`table_xinfo`,
/// `foreign_key_list`, `index_list` and `index_xinfo` of the indexes of its
/// `UNIQUE` and `PRIMARY KEY` constraints, `table_list`), and what no
/// `PRAGMA` tells, taken from its normalized statement (see
/// [`Clauses`]). Two tables are the same when all of it is.
#[derive(Debug, PartialEq, Eq)]
struct Shape {
    columns: Vec<Column>,
    /// `(a) references p (id) on update no action on delete cascade`, one
    /// per foreign key, sorted; a parent key left out (`REFERENCES p`) is
    /// the parent's primary key, looked up in the same schema.
    foreign_keys: Vec<String>,
    /// `unique (a, b collate nocase desc)`, `primary key (a)`, sorted.
    keys: Vec<String>,
    /// `without rowid`, `strict`.
    options: Vec<String>,
    clauses: Clauses,
}

impl Shape {
    /// The shape of the table `sql` creates, read by creating it in an
    /// empty in-memory database; `None` if that fails (a virtual table whose
    /// module is not compiled in, say). `schema` holds the tables its
    /// foreign keys refer to.
    fn of(sql: &str, schema: &Schema) -> Option<Shape> {
        let conn = scratch(sql)?;
        let table: String = conn
            .query_row(
                "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid LIMIT 1",
                [],
                |row| row.get(0),
            )
            .ok()?;
        let columns = table_columns(&conn, &table)?;
        let mut foreign_keys = Vec::new();
        {
            let mut statement = conn
                .prepare("SELECT id, \"table\", \"from\", \"to\", on_update, on_delete, \"match\" FROM pragma_foreign_key_list(?1) ORDER BY id, seq")
                .ok()?;
            let rows = statement
                .query_map([&table], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, Option<String>>(3)?,
                        row.get::<_, String>(4)?,
                        row.get::<_, String>(5)?,
                        row.get::<_, String>(6)?,
                    ))
                })
                .ok()?
                .collect::<rusqlite::Result<Vec<_>>>()
                .ok()?;
            let mut by_id: BTreeMap<i64, Vec<_>> = BTreeMap::new();
            for row in rows {
                by_id.entry(row.0).or_default().push(row);
            }
            for parts in by_id.values() {
                let (_, parent, _, _, on_update, on_delete, matching) = &parts[0];
                let from: Vec<String> = parts.iter().map(|p| p.2.to_ascii_lowercase()).collect();
                let to: Vec<String> = if parts.iter().all(|p| p.3.is_some()) {
                    parts
                        .iter()
                        .filter_map(|p| p.3.as_deref())
                        .map(str::to_ascii_lowercase)
                        .collect()
                } else {
                    primary_key_of(parent, schema).unwrap_or_default()
                };
                let mut text = format!(
                    "({}) references {} ({}) on update {} on delete {}",
                    from.join(", "),
                    parent.to_ascii_lowercase(),
                    to.join(", "),
                    on_update.to_ascii_lowercase(),
                    on_delete.to_ascii_lowercase()
                );
                // SQLite parses `MATCH` and ignores it; `SIMPLE` is the
                // default it would be.
                if !matches!(matching.to_ascii_uppercase().as_str(), "NONE" | "SIMPLE") {
                    text.push_str(&format!(" match {}", matching.to_ascii_lowercase()));
                }
                foreign_keys.push(text);
            }
        }
        foreign_keys.sort();
        let mut keys = Vec::new();
        {
            let mut statement = conn
                .prepare("SELECT name, \"unique\", origin, partial FROM pragma_index_list(?1) WHERE origin != 'c'")
                .ok()?;
            let indexes = statement
                .query_map([&table], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, bool>(1)?,
                        row.get::<_, String>(2)?,
                    ))
                })
                .ok()?
                .collect::<rusqlite::Result<Vec<_>>>()
                .ok()?;
            for (index, unique, origin) in indexes {
                let mut statement = conn
                    .prepare("SELECT name, \"desc\", coll FROM pragma_index_xinfo(?1) WHERE key = 1 ORDER BY seqno")
                    .ok()?;
                let parts: Vec<String> = statement
                    .query_map([&index], |row| {
                        let name: Option<String> = row.get(0)?;
                        let descending: bool = row.get(1)?;
                        let collation: String = row.get(2)?;
                        let mut part = name
                            .unwrap_or_else(|| "(expression)".to_owned())
                            .to_ascii_lowercase();
                        if !collation.eq_ignore_ascii_case("BINARY") {
                            part.push_str(&format!(" collate {}", collation.to_ascii_lowercase()));
                        }
                        if descending {
                            part.push_str(" desc");
                        }
                        Ok(part)
                    })
                    .ok()?
                    .collect::<rusqlite::Result<_>>()
                    .ok()?;
                let what = match (origin.as_str(), unique) {
                    ("pk", _) => "primary key",
                    (_, true) => "unique",
                    _ => "index",
                };
                keys.push(format!("{what} ({})", parts.join(", ")));
            }
        }
        keys.sort();
        let mut options = Vec::new();
        if let Ok((without_rowid, strict)) = conn.query_row(
            "SELECT wr, strict FROM pragma_table_list(?1) WHERE schema = 'main'",
            [&table],
            |row| Ok((row.get::<_, bool>(0)?, row.get::<_, bool>(1)?)),
        ) {
            if without_rowid {
                options.push("without rowid".to_owned());
            }
            if strict {
                options.push("strict".to_owned());
            }
        }
        Some(Shape {
            columns,
            foreign_keys,
            keys,
            options,
            clauses: Clauses::of(&normalized(sql)),
        })
    }

    /// How `actual` differs from this table (`table`), each difference
    /// once: columns missing, not expected or defined differently; then the
    /// order of the columns; then foreign keys, keys, options and the
    /// clauses no `PRAGMA` tells.
    fn differences(&self, table: &str, actual: &Shape) -> Vec<SchemaDifference> {
        let mut differences = column_differences(table, &self.columns, &actual.columns);
        // With the same columns (some defined differently, perhaps), their
        // order is a difference of its own, reported too.
        let same_columns = differences
            .iter()
            .all(|d| matches!(d, SchemaDifference::ColumnChanged { .. }));
        if same_columns {
            let names = |columns: &[Column]| -> Vec<String> {
                columns.iter().map(|c| c.name.clone()).collect()
            };
            let (expected, found) = (names(&self.columns), names(&actual.columns));
            let same = expected.len() == found.len()
                && expected
                    .iter()
                    .zip(&found)
                    .all(|(a, b)| a.eq_ignore_ascii_case(b));
            if !same {
                differences.push(SchemaDifference::ColumnOrder {
                    table: table.to_owned(),
                    expected,
                    actual: found,
                });
            }
        }
        let mut changed = |expected: &[String], found: &[String]| {
            if expected == found {
                return;
            }
            let only = |these: &[String], those: &[String]| {
                let shown: Vec<&str> = these
                    .iter()
                    .filter(|item| !those.contains(item))
                    .map(String::as_str)
                    .collect();
                if shown.is_empty() {
                    "(nothing)".to_owned()
                } else {
                    shown.join("; ")
                }
            };
            differences.push(SchemaDifference::Changed {
                kind: ObjectKind::Table,
                name: table.to_owned(),
                expected: only(expected, found),
                actual: only(found, expected),
            });
        };
        changed(&self.foreign_keys, &actual.foreign_keys);
        changed(&self.keys, &actual.keys);
        changed(&self.options, &actual.options);
        changed(&self.clauses.items(), &actual.clauses.items());
        differences
    }
}

/// An empty in-memory database with the one statement `sql` run in it, or
/// `None` if it fails.
fn scratch(sql: &str) -> Option<Connection> {
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
    Some(conn)
}

/// The primary key columns (lower case, in key order) of the table
/// `parent` of `schema`, or its rowid alias; `None` when it is not there.
fn primary_key_of(parent: &str, schema: &Schema) -> Option<Vec<String>> {
    let object = schema
        .objects
        .iter()
        .find(|o| o.kind == ObjectKind::Table && o.name.eq_ignore_ascii_case(parent))?;
    let conn = scratch(&object.sql)?;
    let mut statement = conn
        .prepare("SELECT name FROM pragma_table_xinfo(?1) WHERE pk > 0 ORDER BY pk")
        .ok()?;
    let names = statement
        .query_map([parent], |row| row.get::<_, String>(0))
        .ok()?
        .map(|name| name.map(|n| n.to_ascii_lowercase()))
        .collect::<rusqlite::Result<Vec<_>>>()
        .ok()?;
    Some(names)
}

/// The columns of `table` in `conn`, as `PRAGMA table_xinfo` gives them.
fn table_columns(conn: &Connection, table: &str) -> Option<Vec<Column>> {
    let mut statement = conn
        .prepare(
            "SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1)",
        )
        .ok()?;
    let rows = statement
        .query_map([table], |row| {
            let declared: String = row.get(1)?;
            let not_null: bool = row.get(2)?;
            let default: Option<String> = row.get(3)?;
            let primary_key: i64 = row.get(4)?;
            let hidden: i64 = row.get(5)?;
            // SQLite keeps the declared type as written; its letter case
            // means nothing.
            let mut definition = if declared.is_empty() {
                "no declared type".to_owned()
            } else {
                declared.to_ascii_uppercase()
            };
            if not_null {
                definition.push_str(" NOT NULL");
            }
            if let Some(default) = default {
                // SQLite's `TRUE` and `FALSE` are the integers 1 and 0: the
                // same default however it is spelt.
                let default = match default.as_str() {
                    d if d.eq_ignore_ascii_case("true") => "1",
                    d if d.eq_ignore_ascii_case("false") => "0",
                    d => d,
                };
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

/// What no `PRAGMA` tells of a table, from its normalized statement: its
/// `CHECK` constraints (column and table ones alike, as a set: SQLite
/// checks them all on every row either way), each column's `COLLATE` and
/// generated expression, `AUTOINCREMENT`, `ON CONFLICT` and
/// `DEFERRABLE` clauses. A `CHECK` is compared by its normalized text
/// (comments, spacing, identifier quotes and letter case outside strings
/// dropped): `CHECK (x > 0)` and `check(X>0)` are the same, `CHECK (0 < x)`
/// is not.
#[derive(Debug, Default, PartialEq, Eq)]
struct Clauses {
    checks: Vec<String>,
    /// `column collate name`, `column as (expression)`.
    columns: Vec<String>,
    /// `autoincrement`, `on conflict replace`, `deferrable initially deferred`.
    other: Vec<String>,
}

impl Clauses {
    /// The clauses of the normalized `CREATE TABLE` statement `sql`.
    fn of(sql: &str) -> Clauses {
        let mut clauses = Clauses::default();
        let Some(open) = sql.find('(') else {
            return clauses;
        };
        let body = &sql[open + 1..];
        for part in split_top_level(body) {
            let words = top_level_words(part);
            let first = words.first().map(|(word, _)| word.as_str()).unwrap_or("");
            let constraint = matches!(
                first,
                "constraint" | "primary" | "unique" | "check" | "foreign"
            );
            for (index, (word, at)) in words.iter().enumerate() {
                let next = words.get(index + 1).map(|(w, _)| w.as_str());
                match word.as_str() {
                    "check" => {
                        if let Some(expression) = parenthesized(&part[*at + word.len()..]) {
                            clauses.checks.push(expression.to_owned());
                        }
                    }
                    "collate" if !constraint => {
                        if let Some(name) = next {
                            clauses.columns.push(format!("{first} collate {name}"));
                        }
                    }
                    "as" if !constraint => {
                        if let Some(expression) = parenthesized(&part[*at + word.len()..]) {
                            clauses.columns.push(format!("{first} as ({expression})"));
                        }
                    }
                    "autoincrement" => clauses.other.push("autoincrement".to_owned()),
                    "conflict" => {
                        if let Some(how) = next {
                            clauses.other.push(format!("on conflict {how}"));
                        }
                    }
                    "deferrable" => {
                        let not = index > 0 && words[index - 1].0 == "not";
                        let initially = match (next, words.get(index + 2).map(|(w, _)| w.as_str()))
                        {
                            (Some("initially"), Some(when)) => format!(" initially {when}"),
                            _ => String::new(),
                        };
                        let not = if not { "not " } else { "" };
                        clauses.other.push(format!("{not}deferrable{initially}"));
                    }
                    _ => {}
                }
            }
        }
        clauses.checks.sort();
        clauses.columns.sort();
        clauses.other.sort();
        clauses
    }

    /// Every clause as one sorted list, for the message.
    fn items(&self) -> Vec<String> {
        let mut items: Vec<String> = self
            .checks
            .iter()
            .map(|check| format!("check ({check})"))
            .chain(self.columns.iter().cloned())
            .chain(self.other.iter().cloned())
            .collect();
        items.sort();
        items
    }
}

/// The parts of a normalized column list (the text after its opening
/// parenthesis) between its top-level commas, up to its closing
/// parenthesis.
fn split_top_level(body: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    let mut in_string = false;
    for (index, c) in body.char_indices() {
        match c {
            '\'' => in_string = !in_string,
            _ if in_string => {}
            '(' => depth += 1,
            ')' if depth == 0 => {
                parts.push(&body[start..index]);
                return parts;
            }
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&body[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    parts.push(&body[start..]);
    parts
}

/// The words of a normalized text outside parentheses and strings, with
/// their byte offsets.
fn top_level_words(text: &str) -> Vec<(String, usize)> {
    let mut words = Vec::new();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut current: Option<(String, usize)> = None;
    for (index, c) in text.char_indices() {
        let word_char = c.is_alphanumeric() || c == '_' || c == '$';
        if !in_string && depth == 0 && word_char {
            current
                .get_or_insert_with(|| (String::new(), index))
                .0
                .push(c);
            continue;
        }
        if let Some(word) = current.take() {
            words.push(word);
        }
        match c {
            '\'' => in_string = !in_string,
            _ if in_string => {}
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if let Some(word) = current.take() {
        words.push(word);
    }
    words
}

/// The text inside the parentheses that open `text` (after spaces), or
/// `None` when it does not start with one.
fn parenthesized(text: &str) -> Option<&str> {
    let text = text.trim_start();
    let rest = text.strip_prefix('(')?;
    let mut depth = 0usize;
    let mut in_string = false;
    for (index, c) in rest.char_indices() {
        match c {
            '\'' => in_string = !in_string,
            _ if in_string => {}
            '(' => depth += 1,
            ')' if depth == 0 => return Some(&rest[..index]),
            ')' => depth -= 1,
            _ => {}
        }
    }
    None
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
    fn a_lost_constraint_is_shown() -> rusqlite::Result<()> {
        assert_eq!(
            described(
                "CREATE TABLE users (id INTEGER, CHECK (id > 0))",
                "CREATE TABLE users (id INTEGER)",
            )?,
            ["table `users` is defined differently: `(nothing)`, expected `check (id>0)`"]
        );
        Ok(())
    }

    /// What SQLite parses the same is the same schema, however it is
    /// written.
    #[test]
    fn spellings_sqlite_parses_the_same_are_not_differences() -> rusqlite::Result<()> {
        let same = [
            (
                "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (p INTEGER REFERENCES p)",
                "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (p INTEGER REFERENCES p (id))",
            ),
            (
                "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (p INTEGER REFERENCES p (id))",
                "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (p INTEGER, FOREIGN KEY (p) REFERENCES p (id) MATCH SIMPLE ON DELETE NO ACTION ON UPDATE NO ACTION)",
            ),
            (
                "CREATE TABLE t (n INTEGER NOT NULL DEFAULT 0)",
                "CREATE TABLE t (n INTEGER DEFAULT 0 NOT NULL)",
            ),
            (
                "CREATE TABLE t (email TEXT UNIQUE, n INT)",
                "CREATE TABLE t (email TEXT, n INT, UNIQUE (email))",
            ),
            (
                "CREATE TABLE t (id INTEGER PRIMARY KEY, n INT CHECK (n > 0))",
                "CREATE TABLE t (id integer primary key, n int, CHECK(n>0))",
            ),
        ];
        for (expected, actual) in same {
            assert_eq!(
                described(expected, actual)?,
                Vec::<String>::new(),
                "{actual}"
            );
        }
        Ok(())
    }

    /// The message names the real difference, wherever it is written.
    #[test]
    fn the_real_difference_is_shown() -> rusqlite::Result<()> {
        assert_eq!(
            described(
                "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (a TEXT NOT NULL DEFAULT '', p INTEGER REFERENCES p ON DELETE CASCADE)",
                "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (a TEXT DEFAULT '' NOT NULL, p INTEGER REFERENCES p (id))",
            )?,
            [
                "table `c` is defined differently: `(p) references p (id) on update no action on delete no action`, expected `(p) references p (id) on update no action on delete cascade`"
            ]
        );
        assert_eq!(
            described(
                "CREATE TABLE t (a TEXT, b TEXT UNIQUE)",
                "CREATE TABLE t (a TEXT UNIQUE, b TEXT)",
            )?,
            ["table `t` is defined differently: `unique (a)`, expected `unique (b)`"]
        );
        assert_eq!(
            described(
                "CREATE TABLE t (a TEXT COLLATE NOCASE, b INT CHECK (b > 0))",
                "CREATE TABLE t (a TEXT, b INT CHECK (b >= 0))",
            )?,
            [
                "table `t` is defined differently: `check (b>=0)`, expected `a collate nocase; check (b>0)`"
            ]
        );
        Ok(())
    }

    #[test]
    fn column_order_is_a_difference_of_its_own() -> rusqlite::Result<()> {
        assert_eq!(
            described(
                "CREATE TABLE t (a INT, b TEXT)",
                "CREATE TABLE t (b TEXT, a INT)"
            )?,
            ["the columns of table `t` are in another order: (b, a), expected (a, b)"]
        );
        Ok(())
    }

    #[test]
    fn a_column_defined_differently_does_not_hide_their_order() -> rusqlite::Result<()> {
        // A down that re-adds a dropped column puts it last, with the
        // default `ADD COLUMN … NOT NULL` needs: both are differences.
        assert_eq!(
            described(
                "CREATE TABLE t (a INT, b BOOLEAN NOT NULL, c TEXT)",
                "CREATE TABLE t (a INT, c TEXT, b BOOLEAN NOT NULL DEFAULT 0)"
            )?,
            [
                "column `t.b` is `BOOLEAN NOT NULL DEFAULT 0`, expected `BOOLEAN NOT NULL`",
                "the columns of table `t` are in another order: (a, c, b), expected (a, b, c)"
            ]
        );
        Ok(())
    }

    #[test]
    fn a_default_of_true_or_false_is_the_integer_it_stands_for() -> rusqlite::Result<()> {
        let same: [String; 0] = [];
        assert_eq!(
            described(
                "CREATE TABLE t (a NUMERIC NOT NULL DEFAULT FALSE, b NUMERIC DEFAULT true)",
                "CREATE TABLE t (a NUMERIC NOT NULL DEFAULT 0, b NUMERIC DEFAULT 1)"
            )?,
            same
        );
        // The text '0' is another value.
        assert_eq!(
            described(
                "CREATE TABLE t (a NUMERIC DEFAULT FALSE)",
                "CREATE TABLE t (a NUMERIC DEFAULT '0')"
            )?,
            ["column `t.a` is `NUMERIC DEFAULT '0'`, expected `NUMERIC DEFAULT 0`"]
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
        let empty = Schema::default();
        assert!(
            Shape::of("CREATE TABLE t (x, y)", &empty)
                .is_some_and(|shape| shape.columns.len() == 2)
        );
        assert!(
            Shape::of(
                &format!("CREATE TABLE t (x); ATTACH '{planted}' AS p"),
                &empty
            )
            .is_none()
        );
        assert!(Shape::of(&format!("ATTACH '{planted}' AS p"), &empty).is_none());
        assert!(
            std::fs::read_dir(outside.path()).unwrap().next().is_none(),
            "no file was created"
        );
    }
}
