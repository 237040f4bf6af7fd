//! Foreign keys around each migration on SQLite.
//!
//! SQLite ignores `PRAGMA foreign_keys` inside a transaction
//! (<https://www.sqlite.org/foreignkeys.html#fk_enable>), so with foreign keys
//! on, the table rebuild SQLite recommends for changing a column (create new,
//! copy, drop, rename: <https://www.sqlite.org/lang_altertable.html#otheralter>)
//! would cascade or fail on the drop. So when the connection enforces them,
//! they are turned off before each migration's transaction and back on after
//! it, and `PRAGMA foreign_key_check` runs before its commit instead.

use std::collections::HashMap;

use crate::backend::{Backend, foreign_key_failure};
use crate::error::Result;
use crate::migration::Migration;
use crate::report::{Direction, ForeignKeyViolation};

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
    pub(crate) fn new<B: Backend>(conn: &B) -> Result<Self> {
        let enabled = conn.foreign_keys()?;
        let known = if enabled {
            count(&conn.foreign_key_violations()?)
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

    /// Whether the connection enforces foreign keys (when it was read).
    pub(crate) fn enabled(&self) -> bool {
        self.enabled
    }

    /// Turns foreign keys off until the guard is dropped, if they are on.
    pub(crate) fn off<'c, B: Backend>(&self, conn: &'c B) -> Result<ForeignKeysOff<'c, B>> {
        if self.enabled {
            conn.set_foreign_keys(false)?;
        }
        Ok(ForeignKeysOff {
            conn,
            was_on: self.enabled,
        })
    }

    /// After `migration` ran inside the transaction on `conn`: fails it with
    /// the violations of every foreign key it left more violations of, naming
    /// table and row. A migration that passes sets what is known for the next
    /// one.
    pub(crate) fn check<B: Backend>(
        &mut self,
        conn: &B,
        migration: &Migration,
        direction: Direction,
    ) -> Result<()> {
        if !self.enabled {
            return Ok(());
        }
        let violations = conn.foreign_key_violations()?;
        let counts = count(&violations);
        let grown = |key: &ForeignKey| counts[key] > self.known.get(key).copied().unwrap_or(0);
        let added: Vec<ForeignKeyViolation> = violations
            .into_iter()
            .filter(|v| grown(&(v.table.clone(), v.parent.clone(), v.foreign_key)))
            .collect();
        if !added.is_empty() {
            return Err(foreign_key_failure(migration, direction, added));
        }
        self.known = counts;
        Ok(())
    }
}

/// Foreign keys turned off for one migration's transaction, turned back on
/// when dropped, whatever happened in between (an error or a panic).
pub(crate) struct ForeignKeysOff<'c, B: Backend> {
    conn: &'c B,
    was_on: bool,
}

impl<B: Backend> Drop for ForeignKeysOff<'_, B> {
    fn drop(&mut self) {
        if self.was_on && self.conn.set_foreign_keys(true).is_err() {
            tracing::error!(
                "could not turn foreign keys back on after a migration: the connection now runs without them"
            );
        }
    }
}
