//! What migration code may do on the runner's connection, enforced by
//! SQLite's authorizer (<https://www.sqlite.org/c3ref/set_authorizer.html>),
//! and what the runner puts back after each migration.
//!
//! SQLite calls the authorizer for every action of a statement while it
//! compiles it, so the rules below cannot be fooled by a comment, a string or
//! an identifier, as a scan of the text can. While a migration's code runs
//! (its SQL, or a Rust migration's calls on its transaction), SQLite refuses
//! to compile a statement that would:
//!
//! - **end or nest the runner's transaction**: `BEGIN`, `COMMIT`, `END` and
//!   `ROLLBACK` in any spelling, `RELEASE` / `ROLLBACK TO` of a savepoint the
//!   migration did not open itself, and any use of the runner's own savepoint
//!   name ([`RUNNER_SAVEPOINT`]). `SAVEPOINT`, and `RELEASE` / `ROLLBACK TO`
//!   of the migration's own savepoints, stay allowed;
//! - **touch the tracking tables**: write to, create, drop, alter, index or
//!   put a trigger on the tracking table, its history or its index, in any
//!   schema (`temp` too) and any letter case, fire a trigger that writes to
//!   them, or create one that would when it fires later (see
//!   [`MigrationScope::check_new_triggers`]). Reading them is allowed;
//! - **set a `PRAGMA` it may not** (see [`pragma`]): `writable_schema` (which
//!   would get round the rule above), `schema_version`, `journal_mode = OFF`
//!   or `MEMORY`, `temp_store`, `case_sensitive_like`, the process-wide ones,
//!   and anything not known to be a setting the runner can put back or one of
//!   the database file;
//! - **change what the application had on the connection**: `DETACH` a
//!   database the migration did not attach, or drop, alter or write to a
//!   temporary table, view, index or trigger that was there before it;
//! - in the build-time check only (see [`verify`](crate::sqlite::verify())): **open a
//!   file**: `ATTACH` of anything but `:memory:` (or `''`, the private
//!   temporary database `VACUUM` uses), `VACUUM INTO` a file, and
//!   `load_extension()`. The check runs on an in-memory database while the
//!   crate builds, where nothing may change on the build machine.
//!
//! A refused statement fails the migration with the rule it broke, naming its
//! file, line and statement. The runner's own statements are never refused.
//!
//! When the migration ends, however it ends (a panic too), the runner puts
//! the connection back as it was before it: every connection setting a
//! `PRAGMA` of the migration changed (its value is read before the first
//! such `PRAGMA`: SQLite applies many of them while compiling the statement,
//! so the statement is refused once, the value read, and the statement
//! compiled again; a Rust migration's are all read before it runs), and the
//! databases it attached and the temporary tables, views, indexes and
//! triggers it created, which would otherwise stay on the caller's
//! connection (a temporary trigger fires on the application's own writes).
//! What was attached and in `temp` before is read when the migration first
//! touches either (the same refuse-read-compile-again as for settings).
//! SQLite cannot detach a database inside a transaction: one attached there
//! is detached before the runner's next transaction begins, or when the
//! action ends.
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

mod pragma;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rusqlite::Connection;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization, TransactionOperation};

use pragma::{Assignment, Setting, Settings};

/// The savepoint the runner opens around a Rust migration's code, to tell
/// afterwards that its transaction is still the one it began; migration code
/// may not use the name.
pub(crate) const RUNNER_SAVEPOINT: &str = "migrate_rust_step";

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

/// The shared state of a guard: its rules, the phase, what it knows of the
/// running migration, and what is left to detach.
#[derive(Debug)]
struct State {
    /// The tracking table, its history and its index.
    tracking: Vec<String>,
    /// The build-time check: no file may be opened.
    sandbox: bool,
    phase: Phase,
    /// What the guard knows of the running migration, new for each.
    current: Current,
    /// Databases migrations attached inside a transaction, where SQLite
    /// cannot detach them: detached when the action ends.
    detach_later: Vec<String>,
    /// What migration code compiled that may remove or rewrite rows of
    /// `sqlite_schema`, since [`Guard::take_schema_changes`] last took it.
    schema_changes: SchemaChanges,
    /// The rows the running migration may have changed, new for each.
    footprint: Footprint,
}

/// The statements compiled for migration code that may remove or rewrite
/// rows of `sqlite_schema` (every other statement only adds rows): what the
/// build-time check needs to follow the schema without reading all of it
/// after each step.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SchemaChanges {
    /// The names of the tables, indexes, views and triggers a `DROP` names,
    /// in any schema. Dropping a table also drops its indexes and triggers.
    pub(crate) dropped: Vec<String>,
    /// Whether an `ALTER TABLE` was compiled: it rewrites the statements of
    /// the table and of every object that names it.
    pub(crate) altered: bool,
}

/// The tables of `main` whose rows the running migration's code may have
/// changed, as the statements it compiled say: what the runner's foreign key
/// check needs to look at (see [`ForeignKeyCheck::check_migration`]).
///
/// A statement's triggers are compiled with it, so their writes count. What
/// the names cannot tell makes the footprint `wide` (anything may have
/// changed): a `DROP` of a table or an index (a parent key may need the
/// index), an `ALTER TABLE`, a write to another schema's table (`temp`, an
/// attached database), a statement compiled while one of the migration's
/// runs (by an application function, or SQLite's own for `ALTER TABLE` and
/// `VACUUM`), any action this list does not know, and a Rust migration (see
/// [`MigrationScope::rust`]).
///
/// [`ForeignKeyCheck::check_migration`]: crate::sqlite::foreign_keys::ForeignKeyCheck::check_migration
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Footprint {
    /// Tables of `main` that a statement inserts into, updates or deletes
    /// from (`INSERT OR REPLACE` and an upsert delete or update rows too),
    /// each once, as the statement names them.
    pub(crate) written: Vec<String>,
    /// Tables of `main` it created.
    pub(crate) created: Vec<String>,
    /// Anything may have changed.
    pub(crate) wide: bool,
    /// Views it dropped: SQLite authorizes a `DROP VIEW` as a delete from
    /// the view too, and a view holds no rows.
    dropped_views: Vec<String>,
}

impl Footprint {
    /// Notes `action` on `schema`, compiled for migration code.
    fn note(&mut self, action: AuthAction<'_>, schema: Option<&str>) {
        use AuthAction as A;
        let in_main = schema.is_some_and(|schema| schema.eq_ignore_ascii_case("main"));
        match action {
            // SQLite's own tables (every `CREATE` and `DROP` writes to
            // `sqlite_schema`) hold no foreign key, and no application
            // object may be named like them.
            A::Insert { table_name } | A::Update { table_name, .. } | A::Delete { table_name }
                if in_main && is_internal(table_name) => {}
            A::Delete { table_name }
                if in_main
                    && self
                        .dropped_views
                        .iter()
                        .any(|view| view.eq_ignore_ascii_case(table_name)) => {}
            A::Insert { table_name } | A::Update { table_name, .. } | A::Delete { table_name }
                if in_main =>
            {
                push_once(&mut self.written, table_name);
            }
            A::CreateTable { table_name } if in_main => push_once(&mut self.created, table_name),
            A::DropView { view_name } => push_once(&mut self.dropped_views, view_name),
            // Nothing that changes a row: reading, creating what holds no
            // rows yet (or only copies, `CREATE TABLE … AS`, which cannot
            // declare a foreign key), settings, transactions.
            A::Read { .. }
            | A::Select
            | A::Function { .. }
            | A::Recursive
            | A::Transaction { .. }
            | A::Savepoint { .. }
            | A::Pragma { .. }
            | A::CreateIndex { .. }
            | A::CreateTempIndex { .. }
            | A::CreateTempTable { .. }
            | A::CreateView { .. }
            | A::CreateTempView { .. }
            | A::CreateTrigger { .. }
            | A::CreateTempTrigger { .. }
            | A::DropTempView { .. }
            | A::DropTrigger { .. }
            | A::DropTempTrigger { .. }
            | A::CreateVtable { .. }
            | A::Attach { .. }
            | A::Detach { .. }
            | A::Reindex { .. }
            | A::Analyze { .. } => {}
            _ => self.wide = true,
        }
    }
}

/// Whether `table` is one of SQLite's own (`sqlite_schema`,
/// `sqlite_sequence`, `sqlite_stat1`…): names beginning `sqlite_` are
/// reserved for them (<https://www.sqlite.org/lang_createtable.html>).
fn is_internal(table: &str) -> bool {
    table
        .get(..7)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("sqlite_"))
}

/// Adds `name` to `names` unless it is there (in any ASCII case).
fn push_once(names: &mut Vec<String>, name: &str) {
    if !names.iter().any(|known| known.eq_ignore_ascii_case(name)) {
        names.push(name.to_owned());
    }
}

/// What the guard knows of the running migration.
#[derive(Debug, Default)]
struct Current {
    /// The savepoints it opened and has not released, innermost last
    /// (SQLite compares their names without regard to ASCII case).
    savepoints: Vec<String>,
    /// Why a statement of it was refused, the first time.
    refused: Option<String>,
    /// The connection settings it changes.
    settings: Settings,
    /// What was attached and in `temp` before it, read when it first
    /// touches either; `need_before` asks for it to be read.
    before: Option<Leftovers>,
    need_before: bool,
    /// The tables (and views) it created a trigger on, whose triggers are
    /// compiled under the rules when the statement has run.
    new_triggers: Vec<String>,
}

/// Why the authorizer refused an action.
enum Refusal {
    /// A rule of the module docs, and why.
    Rule(String),
    /// What the statement changes (a connection setting, what is attached
    /// and in `temp`) must be read before it is compiled again; see
    /// [`MigrationScope::read_what_is_needed`].
    ReadFirst,
}

impl From<String> for Refusal {
    fn from(reason: String) -> Refusal {
        Refusal::Rule(reason)
    }
}

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
                current: Current::default(),
                detach_later: Vec::new(),
                schema_changes: SchemaChanges::default(),
                footprint: Footprint::default(),
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
                    state.current.refused.get_or_insert(reason);
                    Authorization::Deny
                }
                Err(Refusal::ReadFirst) => Authorization::Deny,
            }
        }))
    }

    /// Detaches the databases migrations attached inside a transaction (see
    /// [`MigrationScope::finish`]) and that are still attached to `conn`;
    /// nothing while a transaction is open.
    pub(crate) fn detach_leftovers(&self, conn: &Connection) -> rusqlite::Result<()> {
        if !conn.is_autocommit() {
            return Ok(());
        }
        let names = std::mem::take(&mut lock(&self.state).detach_later);
        if names.is_empty() {
            return Ok(());
        }
        let attached = Leftovers::read(conn)?.databases;
        let mut first_error = None;
        for name in names.iter().filter(|name| attached.contains(name)) {
            if let Err(error) = conn.execute_batch(&format!("DETACH {}", quote(name))) {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// What migration code compiled since the last call that may remove or
    /// rewrite rows of `sqlite_schema` (see [`SchemaChanges`]), taking it.
    pub(crate) fn take_schema_changes(&self) -> SchemaChanges {
        std::mem::take(&mut lock(&self.state).schema_changes)
    }

    /// The rows the migration begun last by [`migration`](Self::migration)
    /// may have changed so far (see [`Footprint`]).
    pub(crate) fn footprint(&self) -> Footprint {
        lock(&self.state).footprint.clone()
    }

    /// Removes the authorizer from `conn`.
    pub(crate) fn remove(conn: &mut Connection) -> rusqlite::Result<()> {
        conn.authorizer(None::<fn(AuthContext<'_>) -> Authorization>)
    }

    /// Starts a migration's up or down on `conn`: no savepoint of its own
    /// yet, no refusal, nothing saved. The rules hold once a phase is
    /// entered; [`MigrationScope::finish`] (or dropping the scope, when the
    /// migration panics) puts the connection back.
    pub(crate) fn migration<'g, 'c>(&'g self, conn: &'c Connection) -> MigrationScope<'g, 'c> {
        let mut state = lock(&self.state);
        state.current = Current::default();
        state.footprint = Footprint::default();
        drop(state);
        MigrationScope {
            guard: self,
            conn,
            finished: false,
        }
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

/// Whether an action attaches, detaches or touches `temp`: what is there
/// must be known first, to leave the application's alone and remove the
/// migration's afterwards.
fn touches_the_connection(action: AuthAction<'_>, schema: Option<&str>) -> bool {
    use AuthAction as A;
    match action {
        A::Attach { .. }
        | A::Detach { .. }
        | A::CreateTempTable { .. }
        | A::CreateTempView { .. }
        | A::CreateTempIndex { .. }
        | A::CreateTempTrigger { .. }
        | A::DropTempTable { .. }
        | A::DropTempView { .. }
        | A::DropTempIndex { .. }
        | A::DropTempTrigger { .. } => true,
        A::Unknown { code, .. } => {
            code == rusqlite::ffi::SQLITE_ATTACH || code == rusqlite::ffi::SQLITE_DETACH
        }
        A::AlterTable { database_name, .. } => database_name.eq_ignore_ascii_case("temp"),
        _ => schema.is_some_and(|schema| schema.eq_ignore_ascii_case("temp")),
    }
}

/// A name as a quoted SQL identifier (DDL takes no bound parameters).
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // The state stays consistent whatever panicked while it was held.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The running migration's side of a [`Guard`], on its connection.
pub(crate) struct MigrationScope<'g, 'c> {
    guard: &'g Guard,
    conn: &'c Connection,
    finished: bool,
}

/// What of a connection a migration may leave behind: attached databases
/// and the objects of `temp`, as `(type, name)`.
#[derive(Debug, PartialEq, Eq)]
struct Leftovers {
    databases: Vec<String>,
    temp: Vec<(String, String)>,
}

impl Leftovers {
    fn read(conn: &Connection) -> rusqlite::Result<Leftovers> {
        // `temp` is listed once something has opened it.
        let mut databases = conn
            .prepare("SELECT name FROM pragma_database_list WHERE name NOT IN ('main', 'temp')")?;
        let mut temp = conn.prepare("SELECT type, name FROM temp.sqlite_schema")?;
        Ok(Leftovers {
            databases: databases
                .query_map([], |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()?,
            temp: temp
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?,
        })
    }

    /// Drops what `self` (now) has that `before` had not: the `temp`
    /// objects — tables first, which takes their indexes and triggers with
    /// them, then the rest; never SQLite's own (`sqlite_autoindex_…`) — then
    /// detaches the databases, or, inside a transaction (where SQLite
    /// cannot), leaves them to `later`. Every step is tried; the first error
    /// is returned.
    fn remove_beyond(
        &self,
        before: &Leftovers,
        conn: &Connection,
        later: &mut Vec<String>,
    ) -> rusqlite::Result<()> {
        let mut first_error = None;
        // Dropping a table deletes its rows: a parent dropped before its
        // child would break a foreign key. Outside a transaction they are
        // turned off meanwhile; inside the runner's they already are.
        let foreign_keys = conn.is_autocommit()
            && conn.query_row("PRAGMA foreign_keys", [], |row| row.get::<_, bool>(0))?;
        if foreign_keys {
            conn.execute_batch("PRAGMA foreign_keys = OFF")?;
        }
        for kind in ["table", "view", "trigger", "index"] {
            let created = self.temp.iter().filter(|(t, name)| {
                t == kind
                    && !name.starts_with("sqlite_")
                    && !before.temp.iter().any(|(_, n)| n == name)
            });
            for (_, name) in created {
                let sql = format!("DROP {kind} IF EXISTS temp.{}", quote(name));
                if let Err(error) = conn.execute_batch(&sql) {
                    first_error.get_or_insert(error);
                }
            }
        }
        if foreign_keys && let Err(error) = conn.execute_batch("PRAGMA foreign_keys = ON") {
            first_error.get_or_insert(error);
        }
        let attached = self
            .databases
            .iter()
            .filter(|name| !before.databases.contains(name));
        for name in attached {
            if !conn.is_autocommit() {
                later.push(name.clone());
            } else if let Err(error) = conn.execute_batch(&format!("DETACH {}", quote(name))) {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl MigrationScope<'_, '_> {
    /// A statement of the migration's SQL is about to be compiled.
    pub(crate) fn preparing(&self) {
        self.guard.set_phase(Phase::Preparing);
    }

    /// The statement just compiled is about to run.
    pub(crate) fn running(&self) {
        self.guard.set_phase(Phase::Running);
    }

    /// A Rust migration's code is about to run. Its statements run as soon
    /// as they are compiled, so what is attached and in `temp`, and every
    /// connection setting (of every schema), are read first. Its footprint
    /// is wide: it may run a statement compiled before it (rusqlite's cache
    /// of prepared statements), which the authorizer does not see again.
    pub(crate) fn rust(&self) -> rusqlite::Result<()> {
        lock(&self.guard.state).footprint.wide = true;
        self.guard.set_phase(Phase::Runner);
        let before = Leftovers::read(self.conn)?;
        let mut schemas = before.databases.clone();
        schemas.push("temp".to_owned());
        for setting in Settings::all(&schemas) {
            self.save(setting)?;
        }
        lock(&self.guard.state).current.before = Some(before);
        self.guard.set_phase(Phase::Rust);
        Ok(())
    }

    /// The runner's own statements again, before the scope ends.
    pub(crate) fn runner(&self) {
        self.guard.set_phase(Phase::Runner);
    }

    /// Why a statement was refused since the migration started, taking it.
    pub(crate) fn take_refusal(&self) -> Option<String> {
        lock(&self.guard.state).current.refused.take()
    }

    /// Reads what a statement was refused for until it is read (see
    /// `State::decide`): the connection settings it changes, and what is
    /// attached and in `temp`. `false` when there was nothing, so the
    /// refusal was of another kind; `true` means: compile it again.
    pub(crate) fn read_what_is_needed(&self) -> rusqlite::Result<bool> {
        self.runner();
        let (to_save, need_before) = {
            let mut state = lock(&self.guard.state);
            (
                state.current.settings.take_to_save(),
                std::mem::take(&mut state.current.need_before),
            )
        };
        if need_before {
            let before = Leftovers::read(self.conn)?;
            lock(&self.guard.state).current.before = Some(before);
        }
        let any = need_before || !to_save.is_empty();
        for setting in to_save {
            self.save(setting)?;
        }
        Ok(any)
    }

    fn save(&self, setting: Setting) -> rusqlite::Result<()> {
        if lock(&self.guard.state).current.settings.is_saved(&setting) {
            return Ok(());
        }
        let value = pragma::read(self.conn, &setting)?;
        lock(&self.guard.state)
            .current
            .settings
            .push(setting, value);
        Ok(())
    }

    /// Compiles — never runs — a statement of each kind (`INSERT`, `UPDATE`
    /// of every column, `DELETE`) on each table or view the migration just
    /// created a trigger on, under the rules: SQLite compiles a trigger's
    /// body only into a statement that fires it, so a trigger whose body
    /// writes to the tracking tables is refused here, when it is created,
    /// rather than left to fire on the application's own writes later.
    /// Returns the first refusal. A statement that does not compile for
    /// another reason (an `UPDATE` of a view with only an `INSTEAD OF INSERT`
    /// trigger) fires nothing and is passed over.
    pub(crate) fn check_new_triggers(&self) -> rusqlite::Result<Option<String>> {
        let tables = std::mem::take(&mut lock(&self.guard.state).current.new_triggers);
        for table in tables {
            self.runner();
            let columns: Vec<String> = {
                let mut statement = self
                    .conn
                    .prepare("SELECT name FROM pragma_table_xinfo(?1) WHERE hidden = 0")?;
                let rows = statement.query_map([&table], |row| row.get(0))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            let table = quote(&table);
            let set: Vec<String> = columns
                .iter()
                .map(|column| format!("{0} = {0}", quote(column)))
                .collect();
            let mut firing = vec![
                format!("INSERT INTO {table} DEFAULT VALUES"),
                format!("DELETE FROM {table} WHERE 0"),
            ];
            if !set.is_empty() {
                firing.push(format!("UPDATE {table} SET {} WHERE 0", set.join(", ")));
            }
            for sql in firing {
                self.preparing();
                let compiled = self.conn.prepare(&sql).map(drop);
                self.runner();
                if compiled.is_err()
                    && let Some(reason) = self.take_refusal()
                {
                    return Ok(Some(reason));
                }
            }
        }
        Ok(None)
    }

    /// The outermost savepoint the migration opened and has not released.
    pub(crate) fn open_savepoint(&self) -> Option<String> {
        lock(&self.guard.state).current.savepoints.first().cloned()
    }

    /// Puts the connection back as it was before the migration: the
    /// settings it changed, then the databases it attached and the `temp`
    /// objects it created. Every step is tried; the first error is returned.
    pub(crate) fn finish(mut self) -> rusqlite::Result<()> {
        self.finished = true;
        self.put_back()
    }

    fn put_back(&mut self) -> rusqlite::Result<()> {
        self.runner();
        let saved = lock(&self.guard.state).current.settings.take_saved();
        let restored = pragma::restore(self.conn, saved);
        let before = lock(&self.guard.state).current.before.take();
        let removed = match before {
            Some(before) => Leftovers::read(self.conn).and_then(|now| {
                let mut later = Vec::new();
                let removed = now.remove_beyond(&before, self.conn, &mut later);
                lock(&self.guard.state).detach_later.extend(later);
                removed
            }),
            None => Ok(()),
        };
        restored.and(removed)
    }
}

impl Drop for MigrationScope<'_, '_> {
    fn drop(&mut self) {
        if !self.finished
            && let Err(error) = self.put_back()
        {
            tracing::error!(%error, "could not put the connection back after a migration panicked");
        }
    }
}

impl State {
    /// Whether the action may go ahead, or why not.
    fn decide(&mut self, context: &AuthContext<'_>) -> Result<(), Refusal> {
        let action = context.action;
        match self.phase {
            Phase::Runner => Ok(()),
            Phase::Running => {
                // Compiled while a statement of the migration runs: not under
                // its rules, and its writes not followed.
                if !matches!(action, AuthAction::Read { .. } | AuthAction::Select) {
                    self.footprint.wide = true;
                }
                Ok(self.check_files(action)?)
            }
            Phase::Preparing | Phase::Rust => {
                self.note_schema_change(action);
                self.footprint.note(action, context.database_name);
                if let AuthAction::Pragma {
                    pragma_name,
                    pragma_value: Some(value),
                } = action
                {
                    match pragma::classify(pragma_name, value) {
                        Assignment::Refused(reason) => return Err(reason.into()),
                        // SQLite applies many settings while compiling the
                        // statement: its value is read first, and the
                        // statement compiled again (a Rust migration's were
                        // all read before it ran).
                        Assignment::Setting(name)
                            if self.phase == Phase::Preparing
                                && self.current.settings.must_save(context.database_name, name) =>
                        {
                            return Err(Refusal::ReadFirst);
                        }
                        Assignment::Setting(_) | Assignment::Allowed => {}
                    }
                }
                if self.current.before.is_none()
                    && touches_the_connection(action, context.database_name)
                {
                    // What was attached and in `temp` is read first, and the
                    // statement compiled again (a Rust migration's was read
                    // before it ran).
                    if self.phase == Phase::Preparing {
                        self.current.need_before = true;
                        return Err(Refusal::ReadFirst);
                    }
                }
                self.check_callers(action, context.database_name)?;
                // A trigger in the database (not `temp`, which goes when the
                // migration ends) is compiled under the rules once created.
                if let AuthAction::CreateTrigger { table_name, .. } = action
                    && context.accessor.is_none()
                    && !self.current.new_triggers.iter().any(|t| t == table_name)
                {
                    self.current.new_triggers.push(table_name.to_owned());
                }
                self.check_transaction(action)?;
                self.check_tracking(action, context.accessor)?;
                Ok(self.check_files(action)?)
            }
        }
    }

    /// Notes an action that may remove or rewrite rows of `sqlite_schema`.
    fn note_schema_change(&mut self, action: AuthAction<'_>) {
        use AuthAction as A;
        let dropped = match action {
            A::DropTable { table_name } | A::DropVtable { table_name, .. } => table_name,
            A::DropIndex { index_name, .. } => index_name,
            A::DropView { view_name } => view_name,
            A::DropTrigger { trigger_name, .. } => trigger_name,
            A::AlterTable { .. } => {
                self.schema_changes.altered = true;
                return;
            }
            _ => return,
        };
        if !self
            .schema_changes
            .dropped
            .iter()
            .any(|name| name == dropped)
        {
            self.schema_changes.dropped.push(dropped.to_owned());
        }
    }

    /// `DETACH` of a database the migration did not attach, and changes to
    /// the `temp` objects that were there before it: they are the
    /// application's.
    fn check_callers(&self, action: AuthAction<'_>, schema: Option<&str>) -> Result<(), String> {
        use AuthAction as A;
        let Some(before) = &self.current.before else {
            return Ok(());
        };
        if let A::Detach { database_name } = action {
            if before
                .databases
                .iter()
                .any(|name| name.eq_ignore_ascii_case(database_name))
            {
                return Err(format!(
                    "`DETACH {database_name}` is not allowed: the application attached `{database_name}`, not the migration"
                ));
            }
            return Ok(());
        }
        let in_temp = schema.is_some_and(|schema| schema.eq_ignore_ascii_case("temp"));
        let name = match action {
            A::DropTempTable { table_name }
            | A::DropTempTrigger {
                trigger_name: table_name,
                ..
            }
            | A::DropTempIndex {
                index_name: table_name,
                ..
            } => table_name,
            A::DropTempView { view_name } => view_name,
            // SQLite names the schema of an `ALTER TABLE` in the action.
            A::AlterTable {
                database_name,
                table_name,
            } if database_name.eq_ignore_ascii_case("temp") => table_name,
            A::DropTable { table_name }
            | A::Insert { table_name }
            | A::Update { table_name, .. }
            | A::Delete { table_name }
                if in_temp =>
            {
                table_name
            }
            A::DropView { view_name } if in_temp => view_name,
            _ => return Ok(()),
        };
        if name.starts_with("sqlite_")
            || !before
                .temp
                .iter()
                .any(|(_, old)| old.eq_ignore_ascii_case(name))
        {
            return Ok(());
        }
        Err(format!(
            "the temporary `{name}` belongs to the application's connection, not to the migration: it may not be dropped, altered or written to"
        ))
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
                operation: _,
                savepoint_name,
            } if savepoint_name.eq_ignore_ascii_case(RUNNER_SAVEPOINT) => Err(format!(
                "`{savepoint_name}` is the name of the runner's own savepoint: give the migration's savepoint another name"
            )),
            AuthAction::Savepoint {
                operation,
                savepoint_name,
            } => {
                let opened = self
                    .current
                    .savepoints
                    .iter()
                    .rposition(|name| name.eq_ignore_ascii_case(savepoint_name));
                match (operation, opened) {
                    (TransactionOperation::Begin, _) => {
                        self.current.savepoints.push(savepoint_name.to_owned());
                        Ok(())
                    }
                    // Releasing a savepoint releases every one inside it;
                    // rolling back to one keeps it open
                    // (https://www.sqlite.org/lang_savepoint.html).
                    (TransactionOperation::Release, Some(index)) => {
                        self.current.savepoints.truncate(index);
                        Ok(())
                    }
                    (TransactionOperation::Rollback, Some(index)) => {
                        self.current.savepoints.truncate(index + 1);
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
            _ => return Ok(()),
        };
        Err(format!("the statement {opens}, but {SANDBOX_REFUSAL}"))
    }
}
