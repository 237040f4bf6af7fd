//! A database's schema — its tables, indexes, views and triggers with their
//! `CREATE` statements — as data, and the ways two schemas can differ.
//!
//! The model of what a set of migrations produces: `embed_migrations!`
//! embeds it as const data, and a backend reads it from a live database and
//! compares (SQLite's reading and comparing rules are in
//! `sqlite::schema`).

use std::borrow::Cow;
use std::fmt;

/// What kind of object: SQLite's `sqlite_schema.type`.
///
/// Serialized (feature `serde`) as [`as_str`](ObjectKind::as_str)'s word,
/// `"table"`, `"index"`, `"view"` or `"trigger"`; deserializes too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum ObjectKind {
    /// `CREATE TABLE` or `CREATE VIRTUAL TABLE`.
    Table,
    /// `CREATE INDEX`.
    Index,
    /// `CREATE VIEW`.
    View,
    /// `CREATE TRIGGER`.
    Trigger,
}

impl ObjectKind {
    /// The word SQLite uses: `table`, `index`, `view` or `trigger`.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Table => "table",
            ObjectKind::Index => "index",
            ObjectKind::View => "view",
            ObjectKind::Trigger => "trigger",
        }
    }

    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(crate) fn parse(text: &str) -> Option<ObjectKind> {
        match text {
            "table" => Some(ObjectKind::Table),
            "index" => Some(ObjectKind::Index),
            "view" => Some(ObjectKind::View),
            "trigger" => Some(ObjectKind::Trigger),
            _ => None,
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of `sqlite_schema`: an object and the statement that creates it.
///
/// Serialized (feature `serde`) as `{"type": "index", "name":
/// "posts_by_user", "table": "posts", "sql": "CREATE INDEX posts_by_user ON
/// posts (user_id)"}`, the columns of `sqlite_schema`; deserializes too.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SchemaObject {
    #[cfg_attr(feature = "serde", serde(rename = "type"))]
    pub(crate) kind: ObjectKind,
    pub(crate) name: Cow<'static, str>,
    pub(crate) table: Cow<'static, str>,
    pub(crate) sql: Cow<'static, str>,
}

impl SchemaObject {
    /// Const constructor for `embed_migrations!`'s expansion; not public API.
    #[doc(hidden)]
    pub const fn __embedded(
        kind: ObjectKind,
        name: &'static str,
        table: &'static str,
        sql: &'static str,
    ) -> SchemaObject {
        SchemaObject {
            kind,
            name: Cow::Borrowed(name),
            table: Cow::Borrowed(table),
            sql: Cow::Borrowed(sql),
        }
    }

    /// Table, index, view or trigger.
    pub fn kind(&self) -> ObjectKind {
        self.kind
    }

    /// The object's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The table it belongs to (`tbl_name`): its own name for a table or a
    /// view, the indexed table for an index, the triggering table for a
    /// trigger.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The `CREATE` statement, as SQLite keeps it (without the final `;`).
    pub fn sql(&self) -> &str {
        &self.sql
    }
}

/// A schema: the objects of `sqlite_schema` in the order SQLite created
/// them (so [`to_sql`](Schema::to_sql) can be replayed), SQLite's own objects
/// and the tracking tables left out.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Schema {
    pub(crate) objects: Cow<'static, [SchemaObject]>,
}

impl Schema {
    /// Const constructor for `embed_migrations!`'s expansion; not public API.
    #[doc(hidden)]
    pub const fn __embedded(objects: &'static [SchemaObject]) -> Schema {
        Schema {
            objects: Cow::Borrowed(objects),
        }
    }

    /// The objects, in the order SQLite created them.
    pub fn objects(&self) -> &[SchemaObject] {
        &self.objects
    }

    /// Whether there are no objects.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// The schema as a script: every `CREATE` statement followed by `;` and a
    /// newline, in the order SQLite created them.
    pub fn to_sql(&self) -> String {
        self.objects
            .iter()
            .map(|object| format!("{};\n", object.sql))
            .collect()
    }
}

/// One way a schema differs from the expected one.
///
/// Serialized (feature `serde`) as an object whose `kind` names the variant
/// in `snake_case` beside the variant's fields, an object's kind under
/// `type` as in [`SchemaObject`]: `{"kind": "missing", "type": "index",
/// "name": "posts_by_user"}`, `{"kind": "column_unexpected", "table":
/// "users", "column": "nick"}`; deserializes too. The message is its
/// `Display`, not a field.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "kind", rename_all = "snake_case"))]
pub enum SchemaDifference {
    /// An expected object is not there.
    Missing {
        /// Its kind; `type` when serialized.
        #[cfg_attr(feature = "serde", serde(rename = "type"))]
        kind: ObjectKind,
        /// Its name.
        name: String,
    },
    /// An object is there that is not expected.
    Unexpected {
        /// Its kind; `type` when serialized.
        #[cfg_attr(feature = "serde", serde(rename = "type"))]
        kind: ObjectKind,
        /// Its name.
        name: String,
    },
    /// An expected column of a table is not there.
    ColumnMissing {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// A table has a column that is not expected.
    ColumnUnexpected {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// A column is defined differently: declared type, `NOT NULL`, default,
    /// primary key.
    ColumnChanged {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// The expected definition, e.g. `TEXT NOT NULL DEFAULT ''`.
        expected: String,
        /// The definition found.
        actual: String,
    },
    /// A table has the columns expected, defined as expected, in another
    /// order (which `SELECT *` and `INSERT` without a column list see).
    ColumnOrder {
        /// The table.
        table: String,
        /// The expected order.
        expected: Vec<String>,
        /// The order found.
        actual: Vec<String>,
    },
    /// An object is defined differently (for a table: the same columns, but
    /// other foreign keys, keys or constraints: only what differs is shown).
    Changed {
        /// Its kind; `type` when serialized.
        #[cfg_attr(feature = "serde", serde(rename = "type"))]
        kind: ObjectKind,
        /// Its name.
        name: String,
        /// The expected statement, from a little before the first
        /// difference (normalized: see the module docs).
        expected: String,
        /// The statement found, from the same place.
        actual: String,
    },
}

impl SchemaDifference {
    /// The text, with `unexpected` saying what an object or column that is
    /// not expected does ("still exists", "is not created by any migration").
    pub(crate) fn describe(&self, unexpected: &str) -> String {
        match self {
            SchemaDifference::Missing { kind, name } => format!("{kind} `{name}` is missing"),
            SchemaDifference::Unexpected { kind, name } => {
                format!("{kind} `{name}` {unexpected}")
            }
            SchemaDifference::ColumnMissing { table, column } => {
                format!("column `{table}.{column}` is missing")
            }
            SchemaDifference::ColumnUnexpected { table, column } => {
                format!("column `{table}.{column}` {unexpected}")
            }
            SchemaDifference::ColumnChanged {
                table,
                column,
                expected,
                actual,
            } => format!("column `{table}.{column}` is `{actual}`, expected `{expected}`"),
            SchemaDifference::ColumnOrder {
                table,
                expected,
                actual,
            } => format!(
                "the columns of table `{table}` are in another order: ({}), expected ({})",
                actual.join(", "),
                expected.join(", ")
            ),
            SchemaDifference::Changed {
                kind,
                name,
                expected,
                actual,
            } => {
                format!("{kind} `{name}` is defined differently: `{actual}`, expected `{expected}`")
            }
        }
    }
}

impl fmt::Display for SchemaDifference {
    /// As drift of a live database from the expected schema: "table `x` is
    /// missing", "table `y` is not created by any migration".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe("is not created by any migration"))
    }
}
