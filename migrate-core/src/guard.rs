//! What migration code may do on the runner's connection, enforced by
//! SQLite's authorizer (<https://www.sqlite.org/c3ref/set_authorizer.html>).
//!
//! SQLite calls the authorizer for every action of a statement while it
//! compiles it, so the rules below cannot be fooled by a comment, a string or
//! an identifier, as a scan of the text can. While a migration's code runs
//! (its SQL, or a Rust migration's calls on its transaction), SQLite refuses
//! to compile a statement that would:
//!
//! - **end or nest the runner's transaction**: `BEGIN`, `COMMIT`, `END` and
//!   `ROLLBACK` in any spelling, and `RELEASE` / `ROLLBACK TO` of a savepoint
//!   the migration did not open itself (the runner's own, say). `SAVEPOINT`,
//!   and `RELEASE` / `ROLLBACK TO` of the migration's own savepoints, stay
//!   allowed;
//! - **touch the tracking tables**: write to, create, drop, alter, index or
//!   put a trigger on the tracking table, its history or its index, in any
//!   schema (`temp` too) and any letter case, or fire a trigger that writes to
//!   them. Reading them is allowed;
//! - in the build-time check only (see [`verify`](crate::verify())): **open a
//!   file**: `ATTACH` of anything but `:memory:` (or `''`, the private
//!   temporary database `VACUUM` uses), `VACUUM INTO` a file,
//!   `load_extension()`, and `PRAGMA temp_store_directory`. The check runs on
//!   an in-memory database while the crate builds, where nothing may change
//!   on the build machine.
//!
//! And it keeps what a migration changes of the connection's own settings
//! (`PRAGMA query_only`, `foreign_keys`, `busy_timeout`, … : see
//! `CONNECTION_SETTINGS`) for that migration alone: the value before the
//! first such `PRAGMA` is read (SQLite applies many of them while compiling
//! the statement, so the statement is refused once, the value read, and the
//! statement compiled again), and put back when the migration ends, however
//! it ends. A Rust migration's settings are all read before it runs.
//!
//! A refused statement fails the migration with the rule it broke, naming its
//! file, line and statement. The runner's own statements are never refused.
//!
//! The authorizer is checked only while a statement of the migration is
//! compiled, not while it runs: `VACUUM` and `ALTER TABLE` run statements of
//! their own (`VACUUM` begins a transaction), which are SQLite's business. The
//! one exception is the build-time check's file rule, which also holds while a
//! statement runs, since `VACUUM INTO` opens its file then.
//!
//! SQLite keeps one authorizer per connection: one the application set is
//! replaced while the runner works and is not there afterwards (rusqlite
//! cannot hand the old one back).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rusqlite::Connection;
use rusqlite::OptionalExtension;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization, TransactionOperation};
use rusqlite::types::Value;

/// The database names that `ATTACH` may open in the build-time check: an
/// in-memory database, and the private temporary one `VACUUM` attaches
/// (deleted when closed; <https://www.sqlite.org/inmemorydb.html#temp_db>).
const PRIVATE_DATABASES: [&str; 2] = [":memory:", ""];

/// The end of the message of a statement refused in the build-time check
/// because it would open a file.
pub(crate) const SANDBOX_REFUSAL: &str = "the build-time check runs on an in-memory database and may not touch any file on the build machine";

/// What is being compiled or run on the connection right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// The runner's own statements: everything is allowed.
    Runner,
    /// A statement of a migration's SQL is being compiled: every rule holds.
    Preparing,
    /// A statement of a migration's SQL is running: only the build-time
    /// check's file rule holds.
    Running,
    /// A Rust migration's code runs; it compiles and runs statements as it
    /// likes, so every rule holds throughout.
    Rust,
}

/// The shared state of a guard: its rules, the phase, the savepoints the
/// running migration opened and the first refusal.
#[derive(Debug)]
struct State {
    /// The tracking table, its history and its index.
    tracking: Vec<String>,
    /// The build-time check: no file may be opened.
    sandbox: bool,
    phase: Phase,
    /// The savepoints the running migration opened and has not released,
    /// innermost last (SQLite compares their names without regard to ASCII
    /// case).
    savepoints: Vec<String>,
    /// Why a statement of the running migration was refused, the first time.
    refused: Option<String>,
    /// Connection settings a statement just compiled is about to change,
    /// whose values are not saved yet.
    to_save: Vec<Setting>,
    /// The values the settings the migration changes had before it, to put
    /// back after it.
    saved: Vec<(Setting, Value)>,
}

/// Why the authorizer refused an action.
enum Refusal {
    /// A rule of the module docs, and why.
    Rule(String),
    /// A connection setting must be saved before the statement that changes
    /// it is compiled (again).
    SaveFirst,
}

impl From<String> for Refusal {
    fn from(reason: String) -> Refusal {
        Refusal::Rule(reason)
    }
}

/// A connection setting (a `PRAGMA`), in a schema when the statement named
/// one.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Setting {
    schema: Option<String>,
    name: &'static str,
}

impl Setting {
    /// The setting `name` in `schema`; `main` is the default schema, so it is
    /// the same setting as none.
    fn new(schema: Option<&str>, name: &'static str) -> Setting {
        Setting {
            schema: schema
                .filter(|schema| !schema.eq_ignore_ascii_case("main"))
                .map(str::to_owned),
            name,
        }
    }

    /// `PRAGMA "schema".name`, to read it or, with ` = value`, set it.
    fn pragma(&self) -> String {
        match &self.schema {
            Some(schema) => format!("PRAGMA \"{}\".{}", schema.replace('"', "\"\""), self.name),
            None => format!("PRAGMA {}", self.name),
        }
    }
}

/// The settings of a connection (not of its database file) that SQL can
/// change with a `PRAGMA` and read back, from
/// <https://www.sqlite.org/pragma.html>: a migration's change to one holds
/// for the migration alone, and the runner puts its value back after it.
/// (`journal_mode` is left out: `WAL` is a property of the database file,
/// which a migration may mean to change; `case_sensitive_like` cannot be
/// read back.)
const CONNECTION_SETTINGS: [&str; 27] = [
    "analysis_limit",
    "automatic_index",
    "busy_timeout",
    "cache_size",
    "cache_spill",
    "cell_size_check",
    "checkpoint_fullfsync",
    "defer_foreign_keys",
    "foreign_keys",
    "fullfsync",
    "hard_heap_limit",
    "ignore_check_constraints",
    "journal_size_limit",
    "legacy_alter_table",
    "locking_mode",
    "mmap_size",
    "query_only",
    "read_uncommitted",
    "recursive_triggers",
    "reverse_unordered_selects",
    "secure_delete",
    "soft_heap_limit",
    "synchronous",
    "temp_store",
    "threads",
    "trusted_schema",
    "wal_autocheckpoint",
];

/// The rules for migration code on one or more connections, and the switch
/// that says when migration code runs. Cloning shares the state. Public only
/// because the sealed backend trait names it; this module is private.
#[derive(Clone, Debug)]
pub struct Guard {
    state: Arc<Mutex<State>>,
}

impl Guard {
    /// Rules that protect the tracking tables `tracking` (names compared
    /// without regard to ASCII case) and, with `sandbox`, refuse to open
    /// files.
    pub(crate) fn new(tracking: &[String], sandbox: bool) -> Guard {
        Guard {
            state: Arc::new(Mutex::new(State {
                tracking: tracking.to_vec(),
                sandbox,
                phase: Phase::Runner,
                savepoints: Vec::new(),
                refused: None,
                to_save: Vec::new(),
                saved: Vec::new(),
            })),
        }
    }

    /// Installs the authorizer on `conn`, replacing any other.
    pub(crate) fn install(&self, conn: &mut Connection) -> rusqlite::Result<()> {
        let state = Arc::clone(&self.state);
        conn.authorizer(Some(move |context: AuthContext<'_>| {
            let mut state = lock(&state);
            match state.decide(&context) {
                Ok(()) => Authorization::Allow,
                Err(Refusal::Rule(reason)) => {
                    state.refused.get_or_insert(reason);
                    Authorization::Deny
                }
                Err(Refusal::SaveFirst) => Authorization::Deny,
            }
        }))
    }

    /// Removes the authorizer from `conn`.
    pub(crate) fn remove(conn: &mut Connection) -> rusqlite::Result<()> {
        conn.authorizer(None::<fn(AuthContext<'_>) -> Authorization>)
    }

    /// Starts a migration's up or down: no savepoint of its own yet, no
    /// refusal. The rules hold once a phase is entered, until the returned
    /// scope is dropped (also when the migration panics).
    pub(crate) fn migration(&self) -> MigrationScope<'_> {
        let mut state = lock(&self.state);
        state.savepoints.clear();
        state.refused = None;
        state.to_save.clear();
        state.saved.clear();
        drop(state);
        MigrationScope { guard: self }
    }

    fn set_phase(&self, phase: Phase) {
        lock(&self.state).phase = phase;
    }
}

/// Why a `RELEASE` or `ROLLBACK TO` of a savepoint the migration did not
/// open is refused.
fn not_opened(statement: &str, savepoint: &str) -> String {
    format!(
        "`{statement} {savepoint}` is not allowed: the migration did not open a savepoint `{savepoint}` (it may only release or roll back to its own)"
    )
}

/// The value of a setting, if it has one.
fn read(conn: &Connection, setting: &Setting) -> rusqlite::Result<Option<Value>> {
    conn.query_row(&setting.pragma(), [], |row| row.get(0))
        .optional()
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // The state stays consistent whatever panicked while it was held.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The running migration's side of a [`Guard`]; back to the runner's own
/// statements when dropped.
pub(crate) struct MigrationScope<'g> {
    guard: &'g Guard,
}

impl MigrationScope<'_> {
    /// A statement of the migration's SQL is about to be compiled.
    pub(crate) fn preparing(&self) {
        self.guard.set_phase(Phase::Preparing);
    }

    /// The statement just compiled is about to run.
    pub(crate) fn running(&self) {
        self.guard.set_phase(Phase::Running);
    }

    /// A Rust migration's code is about to run.
    pub(crate) fn rust(&self) {
        self.guard.set_phase(Phase::Rust);
    }

    /// The runner's own statements again, before the scope ends.
    pub(crate) fn runner(&self) {
        self.guard.set_phase(Phase::Runner);
    }

    /// Why a statement was refused since the migration started, taking it.
    pub(crate) fn take_refusal(&self) -> Option<String> {
        lock(&self.guard.state).refused.take()
    }

    /// Saves the value of each connection setting a statement was refused
    /// for until it is saved (see `State::must_save`); `false` when there was
    /// none, so the refusal was of another kind.
    pub(crate) fn save_settings(&self, conn: &Connection) -> rusqlite::Result<bool> {
        let to_save = std::mem::take(&mut lock(&self.guard.state).to_save);
        let any = !to_save.is_empty();
        for setting in to_save {
            self.save(conn, setting)?;
        }
        Ok(any)
    }

    /// Saves the value of every connection setting: for a Rust migration,
    /// whose statements run as soon as they are compiled.
    pub(crate) fn save_all_settings(&self, conn: &Connection) -> rusqlite::Result<()> {
        for name in CONNECTION_SETTINGS {
            self.save(conn, Setting::new(None, name))?;
        }
        Ok(())
    }

    fn save(&self, conn: &Connection, setting: Setting) -> rusqlite::Result<()> {
        if lock(&self.guard.state)
            .saved
            .iter()
            .any(|(saved, _)| *saved == setting)
        {
            return Ok(());
        }
        // A setting without a value here (`mmap_size` of an in-memory
        // database) has nothing to put back: saved as NULL.
        let value = read(conn, &setting)?.unwrap_or(Value::Null);
        lock(&self.guard.state).saved.push((setting, value));
        Ok(())
    }

    /// Puts back the value each saved setting had before the migration, where
    /// it changed; the runner's own statements run meanwhile.
    pub(crate) fn restore_settings(&self, conn: &Connection) -> rusqlite::Result<()> {
        self.runner();
        let saved = std::mem::take(&mut lock(&self.guard.state).saved);
        for (setting, before) in saved.into_iter().rev() {
            if read(conn, &setting)?.as_ref() == Some(&before) {
                continue;
            }
            let literal = match before {
                Value::Integer(value) => value.to_string(),
                Value::Real(value) => value.to_string(),
                Value::Text(text) => format!("'{}'", text.replace('\'', "''")),
                Value::Null | Value::Blob(_) => continue,
            };
            // A setting may answer with a row (`locking_mode`, `cache_size`).
            conn.query_row(&format!("{} = {literal}", setting.pragma()), [], |_| Ok(()))
                .or_else(|error| match error {
                    rusqlite::Error::QueryReturnedNoRows => Ok(()),
                    error => Err(error),
                })?;
        }
        Ok(())
    }

    /// The outermost savepoint the migration opened and has not released.
    pub(crate) fn open_savepoint(&self) -> Option<String> {
        lock(&self.guard.state).savepoints.first().cloned()
    }
}

impl Drop for MigrationScope<'_> {
    fn drop(&mut self) {
        self.guard.set_phase(Phase::Runner);
    }
}

impl State {
    /// Whether the action may go ahead, or why not.
    fn decide(&mut self, context: &AuthContext<'_>) -> Result<(), Refusal> {
        let action = context.action;
        match self.phase {
            Phase::Runner => Ok(()),
            Phase::Running => Ok(self.check_files(action)?),
            Phase::Preparing | Phase::Rust => {
                if self.phase == Phase::Preparing && self.must_save(action, context.database_name) {
                    return Err(Refusal::SaveFirst);
                }
                self.check_transaction(action)?;
                self.check_tracking(action, context.accessor)?;
                Ok(self.check_files(action)?)
            }
        }
    }

    /// Whether the action is a `PRAGMA` that changes a connection setting
    /// whose value is not saved yet; if so, notes it to be saved. SQLite
    /// applies many of them (`foreign_keys`, `query_only`) while it compiles
    /// the statement, so the value must be read before the statement is
    /// compiled again.
    fn must_save(&mut self, action: AuthAction<'_>, schema: Option<&str>) -> bool {
        let AuthAction::Pragma {
            pragma_name,
            pragma_value: Some(_),
        } = action
        else {
            return false;
        };
        let Some(&name) = CONNECTION_SETTINGS
            .iter()
            .find(|name| name.eq_ignore_ascii_case(pragma_name))
        else {
            return false;
        };
        let setting = Setting::new(schema, name);
        if self.saved.iter().any(|(saved, _)| *saved == setting) {
            return false;
        }
        if !self.to_save.contains(&setting) {
            self.to_save.push(setting);
        }
        true
    }

    /// `BEGIN`, `COMMIT`, `END`, `ROLLBACK`, and savepoints the migration did
    /// not open. SQLite reports `COMMIT` and `END` as one operation that
    /// rusqlite does not name.
    fn check_transaction(&mut self, action: AuthAction<'_>) -> Result<(), String> {
        match action {
            AuthAction::Transaction { operation } => {
                let keyword = match operation {
                    TransactionOperation::Begin => "BEGIN",
                    TransactionOperation::Rollback => "ROLLBACK",
                    // `END` is `COMMIT` to SQLite.
                    _ => "COMMIT",
                };
                Err(format!(
                    "`{keyword}` is not allowed in a migration: the runner begins and ends its transactions (a migration may use `SAVEPOINT`, and `RELEASE` or `ROLLBACK TO` its own savepoints)"
                ))
            }
            AuthAction::Savepoint {
                operation,
                savepoint_name,
            } => {
                let opened = self
                    .savepoints
                    .iter()
                    .rposition(|name| name.eq_ignore_ascii_case(savepoint_name));
                match (operation, opened) {
                    (TransactionOperation::Begin, _) => {
                        self.savepoints.push(savepoint_name.to_owned());
                        Ok(())
                    }
                    // Releasing a savepoint releases every one inside it;
                    // rolling back to one keeps it open
                    // (https://www.sqlite.org/lang_savepoint.html).
                    (TransactionOperation::Release, Some(index)) => {
                        self.savepoints.truncate(index);
                        Ok(())
                    }
                    (TransactionOperation::Rollback, Some(index)) => {
                        self.savepoints.truncate(index + 1);
                        Ok(())
                    }
                    (TransactionOperation::Release, None) => {
                        Err(not_opened("RELEASE", savepoint_name))
                    }
                    (TransactionOperation::Rollback, None) => {
                        Err(not_opened("ROLLBACK TO", savepoint_name))
                    }
                    // An operation SQLite does not document for savepoints.
                    (_, _) => Err(format!(
                        "`{savepoint_name}`: a savepoint operation the runner does not know"
                    )),
                }
            }
            _ => Ok(()),
        }
    }

    /// Writes, DDL and triggers on the tracking tables, in any schema.
    fn check_tracking(&self, action: AuthAction<'_>, accessor: Option<&str>) -> Result<(), String> {
        use AuthAction as A;
        let (verb, names): (&str, [Option<&str>; 2]) = match action {
            A::Insert { table_name } => ("insert into", [Some(table_name), None]),
            A::Update { table_name, .. } => ("update", [Some(table_name), None]),
            A::Delete { table_name } => ("delete from", [Some(table_name), None]),
            A::CreateTable { table_name }
            | A::CreateTempTable { table_name }
            | A::CreateVtable { table_name, .. } => {
                ("create a table named", [Some(table_name), None])
            }
            A::CreateView { view_name } | A::CreateTempView { view_name } => {
                ("create a view named", [Some(view_name), None])
            }
            A::DropTable { table_name }
            | A::DropTempTable { table_name }
            | A::DropVtable { table_name, .. } => ("drop", [Some(table_name), None]),
            A::DropView { view_name } | A::DropTempView { view_name } => {
                ("drop a view named", [Some(view_name), None])
            }
            A::AlterTable { table_name, .. } => ("alter", [Some(table_name), None]),
            A::CreateIndex {
                index_name,
                table_name,
            }
            | A::CreateTempIndex {
                index_name,
                table_name,
            } => ("create an index on", [Some(table_name), Some(index_name)]),
            A::DropIndex {
                index_name,
                table_name,
            }
            | A::DropTempIndex {
                index_name,
                table_name,
            } => ("drop an index of", [Some(table_name), Some(index_name)]),
            A::CreateTrigger { table_name, .. } | A::CreateTempTrigger { table_name, .. } => {
                ("create a trigger on", [Some(table_name), None])
            }
            A::DropTrigger { table_name, .. } | A::DropTempTrigger { table_name, .. } => {
                ("drop a trigger of", [Some(table_name), None])
            }
            _ => return Ok(()),
        };
        let Some(name) = names
            .into_iter()
            .flatten()
            .find(|name| self.is_tracking(name))
        else {
            return Ok(());
        };
        let through = accessor
            .map(|trigger| format!(" (through trigger or view `{trigger}`)"))
            .unwrap_or_default();
        Err(format!(
            "the tracking tables are off limits to migrations: this statement would {verb} `{name}`{through}, which only the runner writes"
        ))
    }

    fn is_tracking(&self, name: &str) -> bool {
        self.tracking
            .iter()
            .any(|tracking| tracking.eq_ignore_ascii_case(name))
    }

    /// In the build-time check: anything that opens a file.
    fn check_files(&self, action: AuthAction<'_>) -> Result<(), String> {
        if !self.sandbox {
            return Ok(());
        }
        let opens = match action {
            AuthAction::Attach { filename } if PRIVATE_DATABASES.contains(&filename) => {
                return Ok(());
            }
            AuthAction::Attach { filename } => format!("opens the file `{filename}`"),
            // A file name computed by an expression: SQLite passes none.
            AuthAction::Unknown {
                code: rusqlite::ffi::SQLITE_ATTACH,
                ..
            } => "attaches a database by a computed file name".to_owned(),
            AuthAction::Function { function_name }
                if function_name.eq_ignore_ascii_case("load_extension") =>
            {
                "loads an extension".to_owned()
            }
            // Where SQLite writes temporary files (deprecated, but there).
            AuthAction::Pragma {
                pragma_name,
                pragma_value: Some(_),
            } if ["temp_store_directory", "data_store_directory"]
                .iter()
                .any(|name| name.eq_ignore_ascii_case(pragma_name)) =>
            {
                format!("sets `{pragma_name}`, a folder for SQLite's files")
            }
            _ => return Ok(()),
        };
        Err(format!("the statement {opens}, but {SANDBOX_REFUSAL}"))
    }
}
