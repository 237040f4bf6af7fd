//! Foreign keys around each migration on SQLite.
//!
//! SQLite ignores `PRAGMA foreign_keys` inside a transaction
//! (<https://www.sqlite.org/foreignkeys.html#fk_enable>), so with foreign keys
//! on, the table rebuild SQLite recommends for changing a column (create new,
//! copy, drop, rename: <https://www.sqlite.org/lang_altertable.html#otheralter>)
//! would cascade or fail on the drop. So when the connection enforces them,
//! an action that runs migrations turns them off before its first
//! transaction and back on when it ends (and around a migration run outside
//! a transaction, which they guard as the connection has them), and
//! `PRAGMA foreign_key_check` runs before each migration's commit instead,
//! on the tables the migration can have broken a reference of (see
//! [`ForeignKeyCheck::check_migration`]), not on the whole database.

use std::collections::HashMap;

use rusqlite::Connection;

use super::guard::Footprint;
use super::tracking::context;
use crate::backend::Failure;
use crate::error::Result;
use crate::report::{ForeignKeyViolation, ForeignKeyViolations};

/// The check around the migrations of one action: whether the connection
/// enforces foreign keys, and the violations the database already had.
///
/// Only violations that were not there before fail a migration: a database
/// that already breaks a foreign key (rows written while enforcement was off)
/// can still be migrated, and the old violations are logged once. Violations
/// are counted per foreign key (table, parent, index), not matched by row: a
/// table rebuild renumbers rowids, and a `WITHOUT ROWID` table has none. So a
/// migration fails when it leaves more violations of some foreign key than
/// there were; one that fixes a violation and adds another of the same key
/// passes.
pub(crate) struct ForeignKeyCheck {
    enabled: bool,
    known: HashMap<ForeignKey, usize>,
    /// The foreign keys of `main`, read when a migration first writes rows,
    /// followed while migrations only create tables, and read again after
    /// one that may have changed any.
    graph: Option<Graph>,
}

/// A foreign key: the table holding it, the table it refers to, and its
/// index in the table's `PRAGMA foreign_key_list`.
type ForeignKey = (String, String, i64);

/// Violations counted per foreign key.
fn count(violations: &[ForeignKeyViolation]) -> HashMap<ForeignKey, usize> {
    let mut counts = HashMap::new();
    for violation in violations {
        let key = (
            violation.table.clone(),
            violation.parent.clone(),
            violation.foreign_key,
        );
        *counts.entry(key).or_insert(0) += 1;
    }
    counts
}

impl ForeignKeyCheck {
    /// Reads whether `conn` enforces foreign keys and, if so, the violations
    /// it has now (a scan of every table with a foreign key).
    pub(crate) fn new(conn: &Connection) -> Result<Self> {
        let enabled = conn
            .query_row("PRAGMA foreign_keys", [], |row| row.get(0))
            .map_err(context("reading PRAGMA foreign_keys"))?;
        let known = if enabled {
            count(&violations(conn, None)?)
        } else {
            HashMap::new()
        };
        if !known.is_empty() {
            tracing::warn!(
                violations = known.values().sum::<usize>(),
                "the database already breaks foreign keys; only new violations fail a migration"
            );
        }
        Ok(ForeignKeyCheck {
            enabled,
            known,
            graph: None,
        })
    }

    /// The check for a connection that keeps enforcement off and checks
    /// each migration itself as if it were on (the build-time check: see
    /// `verify`), with the violations `conn` has now.
    pub(crate) fn enforced(conn: &Connection) -> Result<Self> {
        Ok(ForeignKeyCheck {
            enabled: true,
            known: count(&violations(conn, None)?),
            graph: None,
        })
    }

    /// Whether the connection enforces foreign keys (when it was read).
    pub(crate) fn enabled(&self) -> bool {
        self.enabled
    }

    /// No check: for an action that runs no migration.
    pub(crate) fn disabled() -> Self {
        ForeignKeyCheck {
            enabled: false,
            known: HashMap::new(),
            graph: None,
        }
    }

    /// After `migration` ran inside the transaction on `conn`: fails it with
    /// the violations of every foreign key it left more violations of, naming
    /// table and row. A migration that passes sets what is known for the next
    /// one.
    pub(crate) fn check(&mut self, conn: &Connection) -> Result<(), Failure> {
        if !self.enabled {
            return Ok(());
        }
        let violations = violations(conn, None)?;
        let counts = count(&violations);
        let grown = |key: &ForeignKey| counts[key] > self.known.get(key).copied().unwrap_or(0);
        let added: Vec<ForeignKeyViolation> = violations
            .into_iter()
            .filter(|v| grown(&(v.table.clone(), v.parent.clone(), v.foreign_key)))
            .collect();
        if !added.is_empty() {
            return Err(Failure::of_migration(ForeignKeyViolations(added)));
        }
        self.known = counts;
        Ok(())
    }
}

impl ForeignKeyCheck {
    /// After a migration whose statements compiled `footprint` ran inside
    /// the transaction on `conn`: [`check`](Self::check) limited to the
    /// tables it can have given a new violation, so that a migration costs
    /// what it touches and not a scan of every row with a foreign key.
    /// Those are the tables it wrote rows of (as a child), the tables with a
    /// foreign key to any of them it did not create (as a parent: a delete,
    /// an update, an `INSERT OR REPLACE`; a table it created had no rows for
    /// a child to refer to, so its rows can only mend references), and the
    /// tables it created (whose foreign keys must name a usable parent key,
    /// or SQLite reports a mismatch). When the footprint is wide, every
    /// table is checked.
    pub(crate) fn check_migration(
        &mut self,
        conn: &Connection,
        footprint: &Footprint,
    ) -> Result<(), Failure> {
        if !self.enabled {
            return Ok(());
        }
        if footprint.wide {
            self.graph = None;
            return self.check(conn);
        }
        if let Some(graph) = &mut self.graph {
            graph.unread.extend(footprint.created.iter().cloned());
        }
        let created = |table: &String| {
            footprint
                .created
                .iter()
                .any(|name| name.eq_ignore_ascii_case(table))
        };
        let mut tables: Vec<String> = footprint
            .written
            .iter()
            .chain(&footprint.created)
            .map(|table| table.to_ascii_lowercase())
            .collect();
        let mut parents = footprint
            .written
            .iter()
            .filter(|table| !created(table))
            .peekable();
        if parents.peek().is_some() {
            let reading = || context("reading the foreign keys");
            let graph = match &mut self.graph {
                Some(graph) => graph,
                None => self.graph.insert(Graph::read_all(conn).map_err(reading())?),
            };
            for table in std::mem::take(&mut graph.unread) {
                graph.add(conn, &table).map_err(reading())?;
            }
            for parent in parents {
                tables.extend(
                    graph
                        .children_of(&parent.to_ascii_lowercase())
                        .iter()
                        .cloned(),
                );
            }
        }
        tables.sort();
        tables.dedup();
        self.check_tables(conn, &tables, &[])
    }

    /// [`check`](Self::check) limited to the child tables `tables`
    /// (`PRAGMA foreign_key_check(table)` for each; names as SQLite lists
    /// them, each an existing table), for a migration known to have changed
    /// nothing else a foreign key depends on; what is known of every other
    /// table stays. `gone`: tables the migration dropped, whose violations
    /// are no longer known.
    pub(crate) fn check_tables(
        &mut self,
        conn: &Connection,
        tables: &[String],
        gone: &[String],
    ) -> Result<(), Failure> {
        if !self.enabled {
            return Ok(());
        }
        let mut found = Vec::new();
        for table in tables {
            found.extend(violations(conn, Some(table))?);
        }
        let counts = count(&found);
        let added: Vec<ForeignKeyViolation> = found
            .into_iter()
            .filter(|v| {
                let key = (v.table.clone(), v.parent.clone(), v.foreign_key);
                counts[&key] > self.known.get(&key).copied().unwrap_or(0)
            })
            .collect();
        if !added.is_empty() {
            return Err(Failure::of_migration(ForeignKeyViolations(added)));
        }
        let checked = |table: &str| {
            tables
                .iter()
                .chain(gone)
                .any(|name| name.eq_ignore_ascii_case(table))
        };
        self.known.retain(|(table, _, _), _| !checked(table));
        self.known.extend(counts);
        Ok(())
    }
}

/// Turns foreign key enforcement on or off (outside a transaction: SQLite
/// ignores it inside one).
pub(crate) fn set(conn: &Connection, on: bool) -> Result<()> {
    conn.pragma_update(None, "foreign_keys", on)
        .map_err(context("setting PRAGMA foreign_keys"))
}

/// Every row that breaks a foreign key (`PRAGMA foreign_key_check`), or
/// one of `table` of `main` only.
fn violations(conn: &Connection, table: Option<&str>) -> Result<Vec<ForeignKeyViolation>> {
    let checking = || context("running PRAGMA foreign_key_check");
    let read = |statement: &mut rusqlite::Statement<'_>| {
        statement
            .query_map([], |row| {
                Ok(ForeignKeyViolation {
                    table: row.get(0)?,
                    rowid: row.get(1)?,
                    parent: row.get(2)?,
                    foreign_key: row.get(3)?,
                })
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(checking())
    };
    match table {
        // A name cannot be bound in a `PRAGMA`, so it is quoted into the
        // text, as an identifier (the table-valued `pragma_foreign_key_check`
        // takes it bound, but compiling one costs several times as much:
        // SQLite declares its virtual table each time).
        Some(table) => {
            let sql = format!(
                "PRAGMA main.foreign_key_check(\"{}\")",
                table.replace('"', "\"\"")
            );
            read(&mut conn.prepare(&sql).map_err(checking())?)
        }
        None => read(
            &mut conn
                .prepare("PRAGMA foreign_key_check")
                .map_err(checking())?,
        ),
    }
}

/// Which tables of `main` have foreign keys to which: each table with a
/// foreign key by the tables it refers to, names in lower case (SQLite
/// matches them without regard to ASCII case).
#[derive(Debug, Default)]
pub(crate) struct Graph {
    /// Parent → children.
    children: HashMap<String, Vec<String>>,
    /// Child → parents.
    parents: HashMap<String, Vec<String>>,
    /// Tables created since the graph was read, whose foreign keys are read
    /// when it is next needed.
    pub(crate) unread: Vec<String>,
}

impl Graph {
    /// The foreign keys of every table of `main`, in one statement.
    pub(crate) fn read_all(conn: &Connection) -> rusqlite::Result<Graph> {
        let mut graph = Graph::default();
        let mut statement = conn.prepare(
            "SELECT m.name, f.\"table\" FROM main.sqlite_schema AS m,
                 pragma_foreign_key_list(m.name, 'main') AS f
             WHERE m.type = 'table'",
        )?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let child: String = row.get(0)?;
            let parent: String = row.get(1)?;
            graph.link(child.to_ascii_lowercase(), parent.to_ascii_lowercase());
        }
        Ok(graph)
    }

    /// Whether `table` (lower case) has a foreign key.
    pub(crate) fn has_foreign_keys(&self, table: &str) -> bool {
        self.parents.contains_key(table)
    }

    /// The tables with a foreign key to `parent` (lower case).
    pub(crate) fn children_of(&self, parent: &str) -> &[String] {
        self.children.get(parent).map_or(&[], Vec::as_slice)
    }

    /// Reads the foreign keys of `table` of `main` (created, or rewritten),
    /// replacing what was known of it.
    pub(crate) fn add(&mut self, conn: &Connection, table: &str) -> rusqlite::Result<()> {
        self.remove(table);
        let child = table.to_ascii_lowercase();
        let parents: Vec<String> = conn
            .prepare_cached("SELECT \"table\" FROM pragma_foreign_key_list(?1, 'main')")?
            .query_map([table], |row| row.get::<_, String>(0))?
            .collect::<rusqlite::Result<_>>()?;
        for parent in parents {
            self.link(child.clone(), parent.to_ascii_lowercase());
        }
        Ok(())
    }

    /// Forgets the foreign keys of `table`.
    pub(crate) fn remove(&mut self, table: &str) {
        let child = table.to_ascii_lowercase();
        for parent in self.parents.remove(&child).unwrap_or_default() {
            if let Some(children) = self.children.get_mut(&parent) {
                children.retain(|c| *c != child);
            }
        }
    }

    fn link(&mut self, child: String, parent: String) {
        let parents = self.parents.entry(child.clone()).or_default();
        if !parents.contains(&parent) {
            parents.push(parent.clone());
        }
        let children = self.children.entry(parent).or_default();
        if !children.contains(&child) {
            children.push(child);
        }
    }
}
