//! A PostgreSQL database's schema read from its catalog, with one canonical
//! statement per object, and the differences between two.
//!
//! # What is read
//!
//! Every schema but PostgreSQL's own (`pg_catalog`, `information_schema`,
//! `pg_toast*`, `pg_temp_*`), or one schema only when working out what a set
//! produces: types (enums with their labels in order, domains with their
//! constraints, composite and range types), sequences (not an identity
//! column's, which is part of its column; a `serial` column's with its
//! owner), tables (columns in order with `format_type`, `NOT NULL`,
//! collation, default or generation expression via `pg_get_expr`, identity;
//! `UNLOGGED`, partitioning and inheritance), constraints
//! (`pg_get_constraintdef`), indexes that do not back a constraint
//! (`pg_get_indexdef`), functions and procedures (`pg_get_functiondef`),
//! views and materialized views (`pg_get_viewdef`), and triggers that are not
//! internal (`pg_get_triggerdef`). Objects that belong to an extension are
//! left out, as are the tracking table, its history and what belongs to them.
//!
//! # Canonical text
//!
//! The statements come from the server's own `pg_get_*def` functions, read
//! with `search_path` set to the application's schema alone (the
//! connection's `current_schema()`, usually `public`), so that its objects
//! are named without a schema and others' with theirs; where a function
//! names the schema anyway (an index's or trigger's table, a function's own
//! name) it is taken out. So two databases built by the same migrations
//! read the same: nothing holds an OID, a sequence's current value, an
//! owner, a privilege or a comment. Objects of the application's schema are
//! named bare (`users`), others with their schema (`billing.invoices`);
//! constraints and triggers, whose names are per table, as
//! `table.constraint`; functions with their argument types, `touch()`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use tokio_postgres::types::Type;

use super::client::PgTransaction;
use super::tracking::Names;
use crate::schema::{ObjectKind, Schema, SchemaDifference, SchemaObject};

/// Which objects [`read`] reads.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Scope<'a> {
    /// Every schema but PostgreSQL's own, the application's (its
    /// `current_schema()`) named bare.
    Database,
    /// Only this schema, named bare.
    Only(&'a str),
}

/// The catalog query: one row per object, `(rank, kind, name, tbl, sql,
/// qualifier)` in the order of [`Schema`]'s docs, where `qualifier` is the
/// quoted schema and `.` to take out of `sql` once (`public.`) when the
/// server's function names it for an object of the application's schema.
/// Parameters (all `text`): `$1` the application's schema, `$2` the only
/// schema to read or `NULL`, `$3` the tracking schema, `$4` the tracking
/// table, `$5` its history.
const CATALOG: &str = r#"WITH ns AS (
    SELECT oid, nspname FROM pg_namespace
    WHERE nspname NOT IN ('pg_catalog', 'information_schema')
      AND nspname NOT LIKE 'pg\_toast%' AND nspname NOT LIKE 'pg\_temp\_%'
      AND ($2::text IS NULL OR nspname = $2::text)
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass
                      AND d.objid = pg_namespace.oid AND d.deptype = 'e')
),
rel AS (
    SELECT c.oid, c.relname, c.relkind, c.relpersistence, c.relispartition, n.nspname,
           CASE WHEN n.nspname = $1::text THEN c.relname ELSE n.nspname || '.' || c.relname END AS name,
           c.oid::regclass::text AS qname,
           CASE WHEN n.nspname = $1::text THEN quote_ident(n.nspname) || '.' END AS qualifier
    FROM pg_class c JOIN ns n ON n.oid = c.relnamespace
    WHERE NOT (n.nspname = $3::text AND c.relname IN ($4::text, $5::text))
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                      AND d.objid = c.oid AND d.deptype = 'e')
)
SELECT 1 AS rank, 'type' AS kind, tname AS name, tname AS tbl, CASE t.typtype
    WHEN 'e' THEN 'CREATE TYPE ' || format_type(t.oid, NULL) || ' AS ENUM ('
        || coalesce((SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
                     FROM pg_enum e WHERE e.enumtypid = t.oid), '') || ')'
    WHEN 'd' THEN 'CREATE DOMAIN ' || format_type(t.oid, NULL) || ' AS '
        || format_type(t.typbasetype, t.typtypmod)
        || coalesce(' COLLATE ' || (SELECT quote_ident(collname) FROM pg_collation
                                    WHERE oid = t.typcollation AND t.typcollation <> 100
                                      AND t.typcollation <> (SELECT typcollation FROM pg_type WHERE oid = t.typbasetype)), '')
        || coalesce(' DEFAULT ' || t.typdefault, '')
        || CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END
        || coalesce((SELECT string_agg(' CONSTRAINT ' || quote_ident(c.conname) || ' ' || pg_get_constraintdef(c.oid), '' ORDER BY c.conname)
                     FROM pg_constraint c WHERE c.contypid = t.oid AND c.contype <> 'n'), '')
    WHEN 'c' THEN 'CREATE TYPE ' || format_type(t.oid, NULL) || ' AS ('
        || coalesce((SELECT string_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
                     FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), '') || ')'
    ELSE 'CREATE TYPE ' || format_type(t.oid, NULL) || ' AS RANGE (SUBTYPE = '
        || (SELECT format_type(r.rngsubtype, NULL) FROM pg_range r WHERE r.rngtypid = t.oid) || ')'
    END AS sql, NULL AS qualifier
FROM (SELECT t.*, CASE WHEN n.nspname = $1::text THEN t.typname ELSE n.nspname || '.' || t.typname END AS tname
      FROM pg_type t JOIN ns n ON n.oid = t.typnamespace) t
WHERE (t.typtype IN ('e', 'd', 'r')
       OR (t.typtype = 'c' AND EXISTS (SELECT FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind = 'c')))
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_type'::regclass
                  AND d.objid = t.oid AND d.deptype = 'e')
UNION ALL
SELECT 2, 'sequence', r.name, coalesce(o.name, r.name),
    'CREATE SEQUENCE ' || r.qname || ' AS ' || format_type(s.seqtypid, NULL)
    || ' INCREMENT BY ' || s.seqincrement || ' MINVALUE ' || s.seqmin || ' MAXVALUE ' || s.seqmax
    || ' START WITH ' || s.seqstart || ' CACHE ' || s.seqcache
    || CASE WHEN s.seqcycle THEN ' CYCLE' ELSE '' END
    || coalesce(' OWNED BY ' || o.qname || '.' || quote_ident(o.attname), ''), NULL
FROM pg_sequence s JOIN rel r ON r.oid = s.seqrelid
LEFT JOIN LATERAL (
    SELECT t.name, t.qname, a.attname FROM pg_depend d
    JOIN rel t ON t.oid = d.refobjid
    JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
    WHERE d.classid = 'pg_class'::regclass AND d.objid = s.seqrelid
      AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'a'
    LIMIT 1
) o ON true
WHERE NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = s.seqrelid AND d.deptype = 'i')
UNION ALL
SELECT 3, 'table', r.name, r.name,
    'CREATE ' || CASE WHEN r.relpersistence = 'u' THEN 'UNLOGGED ' ELSE '' END || 'TABLE ' || r.qname || ' ('
    || coalesce((SELECT string_agg(E'\n    ' || quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod)
           || coalesce(' COLLATE ' || (SELECT quote_ident(collname) FROM pg_collation
                                       WHERE oid = a.attcollation AND a.attcollation <> ty.typcollation), '')
           || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
           || CASE WHEN a.attgenerated = 's' THEN ' GENERATED ALWAYS AS (' || pg_get_expr(ad.adbin, ad.adrelid) || ') STORED'
                   WHEN ad.adbin IS NOT NULL THEN ' DEFAULT ' || pg_get_expr(ad.adbin, ad.adrelid)
                   ELSE '' END
           || CASE a.attidentity WHEN 'a' THEN ' GENERATED ALWAYS AS IDENTITY'
                                 WHEN 'd' THEN ' GENERATED BY DEFAULT AS IDENTITY' ELSE '' END,
           ',' ORDER BY a.attnum)
         FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid
         LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
         WHERE a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped), '') || E'\n)'
    || coalesce((SELECT ' PARTITION OF ' || i.inhparent::regclass::text || ' '
                        || pg_get_expr(c.relpartbound, c.oid)
                 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                 WHERE i.inhrelid = r.oid AND r.relispartition), '')
    || coalesce((SELECT ' INHERITS (' || string_agg(i.inhparent::regclass::text, ', ' ORDER BY i.inhseqno) || ')'
                 FROM pg_inherits i WHERE i.inhrelid = r.oid AND NOT r.relispartition
                 HAVING count(*) > 0), '')
    || coalesce(' PARTITION BY ' || pg_get_partkeydef(r.oid), ''), NULL
FROM rel r WHERE r.relkind IN ('r', 'p')
UNION ALL
SELECT CASE WHEN co.contype = 'f' THEN 5 ELSE 4 END, 'constraint', r.name || '.' || co.conname, r.name,
    'ALTER TABLE ' || r.qname || ' ADD CONSTRAINT ' || quote_ident(co.conname) || ' ' || pg_get_constraintdef(co.oid), NULL
FROM pg_constraint co JOIN rel r ON r.oid = co.conrelid
WHERE co.contype IN ('p', 'u', 'c', 'f', 'x')
UNION ALL
SELECT 6, 'index', ri.name, r.name, pg_get_indexdef(i.indexrelid), r.qualifier
FROM pg_index i JOIN rel ri ON ri.oid = i.indexrelid JOIN rel r ON r.oid = i.indrelid
WHERE NOT EXISTS (SELECT FROM pg_constraint co WHERE co.conindid = i.indexrelid
                  AND co.conrelid = i.indrelid AND co.contype IN ('p', 'u', 'x'))
UNION ALL
SELECT 7, 'function', fname, fname, pg_get_functiondef(p.oid),
       CASE WHEN n.nspname = $1::text THEN quote_ident(n.nspname) || '.' END
FROM (SELECT p.*, CASE WHEN n.nspname = $1::text THEN '' ELSE n.nspname || '.' END
                  || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS fname
      FROM pg_proc p JOIN ns n ON n.oid = p.pronamespace) p
JOIN ns n ON n.oid = p.pronamespace
WHERE p.prokind IN ('f', 'p', 'w')
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                  AND d.objid = p.oid AND d.deptype = 'e')
UNION ALL
SELECT 8, 'view', r.name, r.name,
    'CREATE ' || CASE WHEN r.relkind = 'm' THEN 'MATERIALIZED ' ELSE '' END || 'VIEW ' || r.qname || E' AS\n'
    || rtrim(pg_get_viewdef(r.oid), ';'), NULL
FROM rel r WHERE r.relkind IN ('v', 'm')
UNION ALL
SELECT 9, 'trigger', r.name || '.' || t.tgname, r.name, pg_get_triggerdef(t.oid), r.qualifier
FROM pg_trigger t JOIN rel r ON r.oid = t.tgrelid
WHERE NOT t.tgisinternal
ORDER BY rank, name
"#;

/// Reads the schema `scope` names through `tx`, leaving out the tracking
/// tables `tracking` names. Sets `search_path` for the rest of the
/// transaction (`SET LOCAL`): to the application's schema, so that the
/// server's functions name its objects bare.
///
/// # Errors
///
/// The server's error.
pub(crate) async fn read<T: PgTransaction>(
    tx: &mut T,
    scope: Scope<'_>,
    tracking: &Names,
) -> Result<Schema, tokio_postgres::Error> {
    let (default, only) = match scope {
        Scope::Only(schema) => (schema.to_owned(), Some(schema)),
        Scope::Database => {
            let rows = tx.query("SELECT current_schema()::text", &[]).await?;
            let current: Option<String> = rows.first().and_then(|row| row.get(0));
            // No schema of the search path exists: nothing is bare.
            (current.unwrap_or_default(), None)
        }
    };
    // `set_config(.., true)` is `SET LOCAL` with a bound value.
    let path = quote_ident(&default);
    tx.query(
        "SELECT set_config('search_path', $1, true)",
        &[(&path, Type::TEXT)],
    )
    .await?;
    let (tracking_schema, table) = (tracking.schema_name(), tracking.table_name());
    let events = format!("{table}_events");
    let rows = tx
        .query(
            CATALOG,
            &[
                (&default, Type::TEXT),
                (&only, Type::TEXT),
                (&tracking_schema, Type::TEXT),
                (&table, Type::TEXT),
                (&events, Type::TEXT),
            ],
        )
        .await?;
    let mut objects = Vec::with_capacity(rows.len());
    for row in &rows {
        let kind: String = row.try_get(1)?;
        let Some(kind) = ObjectKind::parse(&kind) else {
            continue;
        };
        let name: String = row.try_get(2)?;
        let table: String = row.try_get(3)?;
        let sql: Option<String> = row.try_get(4)?;
        let qualifier: Option<String> = row.try_get(5)?;
        let mut sql = sql.unwrap_or_default().trim_end().to_owned();
        if let Some(qualifier) = qualifier {
            sql = unqualified(&sql, &qualifier);
        }
        objects.push(SchemaObject {
            kind,
            name: Cow::Owned(name),
            table: Cow::Owned(table),
            sql: Cow::Owned(sql),
        });
    }
    Ok(Schema {
        objects: Cow::Owned(objects),
    })
}

/// `sql` with the schema `qualifier` (`public.`) taken out where the
/// server's functions always write it: an index's or a trigger's table
/// (` ON public.t`, ` ON ONLY public.t`), a function's own name
/// (`FUNCTION public.f(`, `PROCEDURE public.p(`). Only the first place,
/// so that a function's body is left as written.
fn unqualified(sql: &str, qualifier: &str) -> String {
    for marker in [" ON ONLY ", " ON ", "FUNCTION ", "PROCEDURE "] {
        let qualified = format!("{marker}{qualifier}");
        if let Some(at) = sql.find(&qualified) {
            let mut out = String::with_capacity(sql.len());
            out.push_str(&sql[..at]);
            out.push_str(marker);
            out.push_str(&sql[at + qualified.len()..]);
            return out;
        }
    }
    sql.to_owned()
}

/// `name` quoted as PostgreSQL's `quote_ident` would, always: `"public"`.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// How `actual` differs from `expected`, both read by [`read`]: objects
/// missing, then not expected, by kind and name; then those defined
/// differently, a table column by column (missing, not expected, changed)
/// and their order when both have the same columns, and otherwise by the first place its statements
/// differ. Statements are compared exactly, but for runs of white space.
pub(crate) fn differences(expected: &Schema, actual: &Schema) -> Vec<SchemaDifference> {
    if expected.objects == actual.objects {
        return Vec::new();
    }
    let by_key = |schema: &'_ Schema| -> BTreeMap<(ObjectKind, String), SchemaObject> {
        schema
            .objects
            .iter()
            .map(|object| ((object.kind, object.name.to_string()), object.clone()))
            .collect()
    };
    let (expected, actual) = (by_key(expected), by_key(actual));
    let mut differences = Vec::new();
    for (kind, name) in expected.keys() {
        if !actual.contains_key(&(*kind, name.clone())) {
            differences.push(SchemaDifference::Missing {
                kind: *kind,
                name: name.clone(),
            });
        }
    }
    for (kind, name) in actual.keys() {
        if !expected.contains_key(&(*kind, name.clone())) {
            differences.push(SchemaDifference::Unexpected {
                kind: *kind,
                name: name.clone(),
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

/// Adds how `actual` differs from `expected`, the same object.
fn compare(
    expected: &SchemaObject,
    actual: &SchemaObject,
    differences: &mut Vec<SchemaDifference>,
) {
    let (expected_sql, actual_sql) = (spaced(&expected.sql), spaced(&actual.sql));
    if expected_sql == actual_sql {
        return;
    }
    if expected.kind == ObjectKind::Table {
        let found = column_differences(&expected.name, &expected.sql, &actual.sql);
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

/// `schema` with each clock constant folded at or after `since` written
/// back as `'now'`, for comparing two schemas built during one check.
///
/// PostgreSQL folds `'now'::timestamp` (and `'today'::date`, `'now'::
/// timestamptz`) to a constant when it parses a view, a default or a
/// check, so the same `CREATE VIEW` run twice reads back with two different
/// literals (`'2026-12-02 14:45:35.911661'::timestamp without time zone`).
/// A constant of type `timestamp`, `timestamptz` or `date` whose value (its
/// first 19 characters, `YYYY-MM-DD HH:MM:SS`, or the date's 10) is not
/// before `since` (`localtimestamp` as `YYYY-MM-DD HH:MM:SS` when the check
/// began, in the session's time zone, in which the server also shows the
/// constants) is such a fold: nobody writes the current second into a
/// migration by hand. Older constants are left as written.
pub(crate) fn without_clock_constants(schema: &Schema, since: &str) -> Schema {
    let objects: Vec<SchemaObject> = schema
        .objects
        .iter()
        .map(|object| match clock_constants_as_now(&object.sql, since) {
            Some(sql) => SchemaObject {
                sql: Cow::Owned(sql),
                ..object.clone()
            },
            None => object.clone(),
        })
        .collect();
    Schema {
        objects: Cow::Owned(objects),
    }
}

/// `sql` with its clock constants from `since` on as `'now'` (see
/// [`without_clock_constants`]), or `None` when it has none.
fn clock_constants_as_now(sql: &str, since: &str) -> Option<String> {
    const TYPES: [&str; 3] = [
        "::timestamp without time zone",
        "::timestamp with time zone",
        "::date",
    ];
    let mut out = String::new();
    let mut rest = sql;
    let mut changed = false;
    while let Some(open) = rest.find('\'') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('\'') else {
            break;
        };
        let literal = &after[..close];
        let tail = &after[close + 1..];
        let typed = TYPES.iter().find(|t| tail.starts_with(**t));
        let is_date = typed == Some(&"::date");
        let folded = typed.is_some() && looks_like_a_time(literal, is_date) && {
            let width = if is_date { 10 } else { 19 };
            since
                .get(..width)
                .is_some_and(|since| &literal[..width] >= since)
        };
        if folded {
            out.push_str(&rest[..open]);
            out.push_str("'now'");
            changed = true;
        } else {
            out.push_str(&rest[..open + close + 2]);
        }
        rest = tail;
    }
    out.push_str(rest);
    changed.then_some(out)
}

/// Whether `text` is a date (`YYYY-MM-DD`) or, unless `date_only`, a
/// timestamp as the server shows one (`YYYY-MM-DD HH:MM:SS`, then an
/// optional fraction and offset).
fn looks_like_a_time(text: &str, date_only: bool) -> bool {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        b.get(range)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    let date = digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10);
    if date_only {
        return date && b.len() == 10;
    }
    date && b.get(10) == Some(&b' ')
        && digits(11..13)
        && b.get(13) == Some(&b':')
        && digits(14..16)
        && b.get(16) == Some(&b':')
        && digits(17..19)
        && b[19..]
            .iter()
            .all(|c| c.is_ascii_digit() || b".+-:".contains(c))
}

/// `text` with every run of white space one space, none at the ends.
fn spaced(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The columns of a table's canonical statement (one per line between
/// `(` and the closing `)`, see [`CATALOG`]), as (name, definition), the
/// name unquoted.
fn columns(sql: &str) -> Vec<(String, String)> {
    let Some(open) = sql.find(" (\n    ") else {
        return Vec::new();
    };
    let body = &sql[open + 2..];
    let body = match body.rfind("\n)") {
        Some(close) => &body[..close],
        None => body,
    };
    body.split(",\n    ")
        .map(|line| {
            let line = line.trim_start();
            let (name, definition) = split_identifier(line);
            (name, definition.trim().to_owned())
        })
        .collect()
}

/// The identifier at the start of `text` (as `quote_ident` writes it:
/// bare, or in double quotes with `""` for a quote), unquoted, and the
/// rest.
fn split_identifier(text: &str) -> (String, &str) {
    if let Some(quoted) = text.strip_prefix('"') {
        let mut name = String::new();
        let mut chars = quoted.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            if c == '"' {
                if chars.peek().is_some_and(|&(_, next)| next == '"') {
                    name.push('"');
                    chars.next();
                } else {
                    return (name, &quoted[at + 1..]);
                }
            } else {
                name.push(c);
            }
        }
        (name, "")
    } else {
        match text.split_once(' ') {
            Some((name, rest)) => (name.to_owned(), rest),
            None => (text.to_owned(), ""),
        }
    }
}

/// The column-level differences of two statements of table `table`:
/// columns missing, not expected or changed, or else their order; empty
/// when the columns are the same (the table differs elsewhere).
fn column_differences(table: &str, expected: &str, actual: &str) -> Vec<SchemaDifference> {
    let (before, after) = (columns(expected), columns(actual));
    let mut differences = Vec::new();
    for (name, definition) in &before {
        match after.iter().find(|(other, _)| other == name) {
            None => differences.push(SchemaDifference::ColumnMissing {
                table: table.to_owned(),
                column: name.clone(),
            }),
            Some((_, found)) if spaced(found) != spaced(definition) => {
                differences.push(SchemaDifference::ColumnChanged {
                    table: table.to_owned(),
                    column: name.clone(),
                    expected: definition.clone(),
                    actual: found.clone(),
                });
            }
            Some(_) => {}
        }
    }
    for (name, _) in &after {
        if !before.iter().any(|(other, _)| other == name) {
            differences.push(SchemaDifference::ColumnUnexpected {
                table: table.to_owned(),
                column: name.clone(),
            });
        }
    }
    let names = |columns: &[(String, String)]| -> Vec<String> {
        columns.iter().map(|(name, _)| name.clone()).collect()
    };
    // With the same columns (some defined differently, perhaps), their
    // order is a difference of its own, reported too.
    let same_columns = differences
        .iter()
        .all(|d| matches!(d, SchemaDifference::ColumnChanged { .. }));
    if same_columns && names(&before) != names(&after) {
        differences.push(SchemaDifference::ColumnOrder {
            table: table.to_owned(),
            expected: names(&before),
            actual: names(&after),
        });
    }
    differences
}

/// Where two statements first differ: the rest of each from a few words
/// before that point, at most 60 characters, `…` where cut.
fn first_difference(expected: &str, actual: &str) -> (String, String) {
    const BEFORE: usize = 20;
    const LENGTH: usize = 60;
    let common = expected
        .char_indices()
        .zip(actual.chars())
        .find(|((_, a), b)| a != b)
        .map_or(expected.len().min(actual.len()), |((at, _), _)| at);
    let excerpt = |text: &str| {
        let end = common.min(text.len());
        let mut start = text[..end]
            .char_indices()
            .rev()
            .nth(BEFORE - 1)
            .map_or(0, |(at, _)| at);
        if start > 0
            && let Some(space) = text[start..end].find(' ')
        {
            start += space + 1;
        }
        let rest = &text[start..];
        let mut shown = String::new();
        if start > 0 {
            shown.push('…');
        }
        shown.extend(rest.chars().take(LENGTH));
        if rest.chars().count() > LENGTH {
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

    fn table(name: &str, sql: &str) -> SchemaObject {
        SchemaObject {
            kind: ObjectKind::Table,
            name: Cow::Owned(name.to_owned()),
            table: Cow::Owned(name.to_owned()),
            sql: Cow::Owned(sql.to_owned()),
        }
    }

    fn schema(objects: Vec<SchemaObject>) -> Schema {
        Schema {
            objects: Cow::Owned(objects),
        }
    }

    #[test]
    fn clock_constants_folded_during_the_check_read_as_now() {
        let view = |sql: &str| SchemaObject {
            kind: ObjectKind::View,
            ..table("hot", sql)
        };
        let since = "2026-12-02 14:45:30";
        let first = schema(vec![view(
            "SELECT p.id FROM post p WHERE p.published > ('2026-12-02 14:45:35.911661'::timestamp without time zone - '1 mon'::interval)",
        )]);
        let again = schema(vec![view(
            "SELECT p.id FROM post p WHERE p.published > ('2026-12-02 14:45:41.8'::timestamp without time zone - '1 mon'::interval)",
        )]);
        assert!(!differences(&first, &again).is_empty());
        assert!(
            differences(
                &without_clock_constants(&first, since),
                &without_clock_constants(&again, since)
            )
            .is_empty()
        );
        // A constant from before the check is the migration's own: kept.
        let written = schema(vec![view(
            "SELECT p.id FROM post p WHERE p.published > '2020-01-01 00:00:00'::timestamp without time zone AND p.day = '2026-12-02'::date AND p.note = 'it''s'::text",
        )]);
        let kept = without_clock_constants(&written, since);
        assert_eq!(
            kept.objects[0].sql,
            "SELECT p.id FROM post p WHERE p.published > '2020-01-01 00:00:00'::timestamp without time zone AND p.day = 'now'::date AND p.note = 'it''s'::text"
        );
    }

    #[test]
    fn columns_are_compared_one_by_one() {
        let expected = schema(vec![table(
            "users",
            "CREATE TABLE users (\n    id bigint NOT NULL,\n    \"e,mail\" text DEFAULT ''::text,\n    gone text\n)",
        )]);
        let actual = schema(vec![table(
            "users",
            "CREATE TABLE users (\n    id bigint NOT NULL,\n    \"e,mail\" text,\n    nick text\n)",
        )]);
        let found: Vec<String> = differences(&expected, &actual)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            found,
            [
                "column `users.e,mail` is `text`, expected `text DEFAULT ''::text`",
                "column `users.gone` is missing",
                "column `users.nick` is not created by any migration",
            ]
        );
    }

    #[test]
    fn a_column_order_is_a_difference_of_its_own() {
        let expected = schema(vec![table(
            "t",
            "CREATE TABLE t (\n    a integer,\n    b integer\n)",
        )]);
        let actual = schema(vec![table(
            "t",
            "CREATE TABLE t (\n    b integer,\n    a integer\n)",
        )]);
        let found: Vec<String> = differences(&expected, &actual)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            found,
            ["the columns of table `t` are in another order: (b, a), expected (a, b)"]
        );
    }

    #[test]
    fn a_column_defined_differently_does_not_hide_their_order() {
        let expected = schema(vec![table(
            "t",
            "CREATE TABLE t (\n    a integer,\n    b boolean NOT NULL,\n    c text\n)",
        )]);
        let actual = schema(vec![table(
            "t",
            "CREATE TABLE t (\n    a integer,\n    c text,\n    b boolean NOT NULL DEFAULT false\n)",
        )]);
        let found: Vec<String> = differences(&expected, &actual)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            found,
            [
                "column `t.b` is `boolean NOT NULL DEFAULT false`, expected `boolean NOT NULL`",
                "the columns of table `t` are in another order: (a, c, b), expected (a, b, c)"
            ]
        );
    }

    #[test]
    fn only_the_first_qualifier_is_taken_out() {
        assert_eq!(
            unqualified(
                "CREATE OR REPLACE FUNCTION public.f()\n AS $$ SELECT public.g() $$",
                "\"public\"."
            ),
            "CREATE OR REPLACE FUNCTION public.f()\n AS $$ SELECT public.g() $$",
            "quote_ident leaves `public` bare, so a quoted qualifier is not in the text"
        );
        assert_eq!(
            unqualified(
                "CREATE OR REPLACE FUNCTION public.f()\n AS $$ SELECT public.g() $$",
                "public."
            ),
            "CREATE OR REPLACE FUNCTION f()\n AS $$ SELECT public.g() $$"
        );
        assert_eq!(
            unqualified("CREATE INDEX i ON ONLY public.t USING btree (a)", "public."),
            "CREATE INDEX i ON ONLY t USING btree (a)"
        );
    }
}
