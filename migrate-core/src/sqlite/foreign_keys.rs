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
//! `PRAGMA foreign_key_check` runs before each migration's commit instead.

use std::collections::HashMap;

use rusqlite::Connection;

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
        Ok(ForeignKeyCheck { enabled, known })
    }

    /// The check for a connection that keeps enforcement off and checks
    /// each migration itself as if it were on (the build-time check: see
    /// `verify`), with the violations `conn` has now.
    pub(crate) fn enforced(conn: &Connection) -> Result<Self> {
        Ok(ForeignKeyCheck {
            enabled: true,
            known: count(&violations(conn, None)?),
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
/// one of `table` only.
fn violations(conn: &Connection, table: Option<&str>) -> Result<Vec<ForeignKeyViolation>> {
    let checking = || context("running PRAGMA foreign_key_check");
    let sql = match table {
        // A table's name cannot be bound in a `PRAGMA`: the table-valued
        // function takes it as an argument.
        Some(_) => "SELECT * FROM pragma_foreign_key_check(?1)",
        None => "PRAGMA foreign_key_check",
    };
    let mut statement = conn.prepare(sql).map_err(checking())?;
    let params: &[&dyn rusqlite::ToSql] = match &table {
        Some(table) => &[table],
        None => &[],
    };
    let rows = statement
        .query_map(params, |row| {
            Ok(ForeignKeyViolation {
                table: row.get(0)?,
                rowid: row.get(1)?,
                parent: row.get(2)?,
                foreign_key: row.get(3)?,
            })
        })
        .map_err(checking())?;
    rows.collect::<rusqlite::Result<_>>().map_err(checking())
}
