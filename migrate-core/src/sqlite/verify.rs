//! Verifying a set by running it: every migration applied in order to an
//! empty in-memory SQLite database, and every down checked to restore the
//! schema from before its up. `embed_migrations!` does this while the crate
//! builds, and turns each problem into a compile error.
//!
//! # What runs
//!
//! Each up and down runs as the runner runs it — in its own transaction
//! with foreign keys off and `PRAGMA foreign_key_check` before the commit,
//! or outside one for `-- migrate:no-transaction` — on a connection with
//! SQLite's defaults as this crate builds it (foreign keys on), so
//! directives, `PRAGMA` statements and the foreign key check behave as they
//! will in production. Only the tracking table is left out. The functions
//! and collations the application registers on its connection are not
//! there, unless named for stand-ins ([`VerifyOptions`], the macro's
//! `functions(...)` and `collations(...)`). For each migration:
//!
//! 1. its up is applied; a failing statement is a problem naming its file,
//!    line, statement and SQLite's message, and nothing after it is tried;
//! 2. when it is reversible, its down runs and the schema (see
//!    [`Schema`]) must equal the schema before its up; then
//!    the up is applied again, and must succeed.
//!
//! # Rust migrations
//!
//! A Rust migration whose code is compiled in (an embedded set, at run time)
//! runs like any other. One whose code is not — at build time it is not
//! compiled yet, and a set read from a folder has none — is taken as
//! changing no schema (most are data migrations), and verification goes on.
//! Because a later migration may depend on a table such code creates, from
//! the first of them on a failing statement ends verification quietly
//! instead of being a problem: no false error, but nothing after that point
//! is verified. A down that runs but leaves a different schema is still a
//! problem. Either way the schema the set produces is not known, since the
//! Rust code may change it.
//!
//! # Cost
//!
//! The check costs what applying the set (and each down and up again)
//! costs, plus little per step beyond that, however long the set:
//!
//! - the schema is not read again after each step: verification follows
//!   `sqlite_schema` by what a step can have changed (the rows above the
//!   highest rowid it knew, the rows a `DROP` names, everything after an
//!   `ALTER TABLE`), and compares a down's result with the schema before its
//!   up by the rows the up and down touched;
//! - `PRAGMA foreign_key_check` runs before each commit on the tables the
//!   migration can have given a new violation: those whose rows changed (as
//!   SQLite's update hook reports them), those created, dropped or that lost
//!   an index, and the tables with a foreign key to any of those; on every
//!   table when a change went unreported (a `WITHOUT ROWID` table) or an
//!   `ALTER TABLE` ran;
//! - after a down's problem, verification goes on from a copy of the
//!   database (`sqlite3_serialize`) taken at most 64 migrations, or a
//!   sixteenth of the set, earlier, not from the first migration.
//!
//! SQLite itself reads its whole schema table for each `CREATE` and `DROP`
//! (to parse the new object, and to forget cached foreign key triggers), so
//! applying a set grows faster than the set all the same.
//!
//! So `embed_migrations!` embeds the schema only for a set without Rust
//! migrations; for one with them, [`Migrations::check_schema`] works the
//! schema out when called, with the Rust code, and refuses
//! ([`Error::SchemaUnknown`]) for a set read from a folder, which has none.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::hooks::Action;
use rusqlite::{Connection, MAIN_DB};

use super::foreign_keys::{self, ForeignKeyCheck, Graph};
use super::guard::{Guard, SANDBOX_REFUSAL, SchemaChanges};
use super::{RustStep, Sqlite, tracking::context, tracking_tables};
use crate::backend::{Backend, Failure, LockMode, Purpose, Session, block_on};
use crate::driver::{DEFAULT_LOCK_TIMEOUT, DEFAULT_TABLE, commit_migration, execute, failed};
use crate::error::{Error, Result as RunResult};
use crate::migration::{BoxError, Migration, Migrations, RustCode};
use crate::report::Direction;
use crate::schema::{ObjectKind, Schema, SchemaObject};
use crate::verification::CheckedOn;
pub use crate::verification::{VerifyError, VerifyProblem};

/// The outcome of a verification that found no problem.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verified {
    /// The schema the whole set produces on an empty database; `None` when
    /// a Rust migration's code could not run (see the module docs).
    pub schema: Option<Schema>,
    /// When verification ended early: the migration whose failure ended it,
    /// and the Rust migration before it that may explain the failure.
    pub stopped: Option<Stopped>,
}

/// Where verification ended quietly after a Rust migration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stopped {
    /// The version that failed.
    pub version: u64,
    /// The first Rust migration before it whose code could not run.
    pub after_rust: u64,
    /// The failure, as [`VerifyProblem::Failed`] would give it.
    pub message: String,
}

impl VerifyProblem {
    /// The problem as `embed_migrations!` reports it in a compile error and
    /// `migrate validate` prints it: naming the folder (as the user wrote
    /// it), and when it [needs the application's setup](Self::needs_application_setup),
    /// how to turn the check off.
    pub fn in_folder(&self, folder: &Path) -> String {
        let folder = folder.display();
        let mut message =
            format!("checking `{folder}` on an empty in-memory SQLite database: {self}");
        let turn_off = format!(
            "turn it off with `embed_migrations!(\"{folder}\", verify = false)` (`migrate validate --no-verify`)"
        );
        if let Some((option, flag, name)) = self.missing_stand_in() {
            message.push_str(&format!(
                "; if the application registers it on its connection (or loads an extension), name it and the check uses a stand-in: `embed_migrations!(\"{folder}\", {option}({name}))` (`migrate validate {flag} {name}`, or `--load-extension PATH`); or {turn_off}"
            ));
        } else if self.needs_application_setup() {
            message.push_str(&format!(
                "; if the application registers it on its connection (or loads an extension), the check cannot: {turn_off}"
            ));
        } else if self.nests_too_deep() {
            message.push_str(NESTED_TOO_DEEP_FIX);
        } else if self.opens_a_file() {
            message.push_str(&format!(
                "; a migration that must open a file cannot be checked while the crate builds: {turn_off}"
            ));
        }
        message
    }

    /// Whether the failure is SQLite's limit on nested views, subqueries
    /// and common table expressions (`SQLITE_LIMIT_EXPR_DEPTH`), which
    /// SQLite 3.54 reaches sooner than 3.53 did (see [`NESTED_TOO_DEEP_FIX`]).
    pub fn nests_too_deep(&self) -> bool {
        matches!(self, VerifyProblem::Failed { message, .. } if message.contains(NESTED_TOO_DEEP))
    }

    /// Whether the failure is a statement the check refused because it
    /// would open a file on the build machine (`ATTACH`, `VACUUM INTO`,
    /// `load_extension()`; see the module docs).
    pub fn opens_a_file(&self) -> bool {
        matches!(self, VerifyProblem::Failed { message, .. } if message.ends_with(SANDBOX_REFUSAL))
    }

    /// The function or collation SQLite found missing, when a stand-in can
    /// take its place ([`VerifyOptions`]): the macro's option
    /// (`functions`, `collations`), the command line's flag and the name.
    fn missing_stand_in(&self) -> Option<(&'static str, &'static str, &str)> {
        let VerifyProblem::Failed { message, .. } = self else {
            return None;
        };
        [
            ("no such function: ", "functions", "--function"),
            ("no such collation sequence: ", "collations", "--collation"),
        ]
        .into_iter()
        .find_map(|(needle, option, flag)| {
            let (_, after) = message.split_once(needle)?;
            let name = after
                .split(|c: char| c.is_whitespace() || c == ';' || c == ')')
                .next()
                .filter(|name| !name.is_empty())?;
            Some((option, flag, name))
        })
    }

    /// Whether the failure names something only the application's connection
    /// can have: a function, collation or virtual table module it registers,
    /// or one an extension it loads provides (SQLite's "no such function",
    /// "no such collation sequence", "no such module").
    pub fn needs_application_setup(&self) -> bool {
        match self {
            VerifyProblem::Failed { message, .. } => {
                ["no such function", "no such module", "no such collation"]
                    .iter()
                    .any(|needle| message.contains(needle))
            }
            _ => false,
        }
    }
}

/// SQLite's message when views, subqueries and common table expressions
/// nest deeper than `SQLITE_LIMIT_EXPR_DEPTH`.
const NESTED_TOO_DEEP: &str = "VIEWs and/or subqueries nested too deep";

/// What [`VerifyProblem::in_folder`] adds to [`NESTED_TOO_DEEP`].
///
/// From 3.54, SQLite counts each common table expression (`WITH`) it
/// expands as one more level of nesting (`withExpand` in `select.c`), and
/// stops a statement whose expansion takes `SQLITE_LIMIT_EXPR_DEPTH`
/// cursors or more, so a chain of views that each have a `WITH` fails at
/// half the depth it reached on 3.53: 500 views of one `WITH` each, 250 of
/// three. `CREATE VIEW` does not expand the view; a query of it, or an
/// `ALTER TABLE ... RENAME`, which checks every view, does. The limit cannot
/// be raised at run time beyond the `SQLITE_MAX_EXPR_DEPTH` SQLite was
/// compiled with (1000, which is also its default), so the fix is a build
/// flag, which libsqlite3-sys reads from the environment and applies to
/// the application's SQLite and the check's alike.
const NESTED_TOO_DEEP_FIX: &str = "; SQLite 3.54 counts each `WITH` a view expands as one more level toward SQLITE_LIMIT_EXPR_DEPTH (3.53 did not), which cannot be raised beyond the SQLITE_MAX_EXPR_DEPTH SQLite was built with (1000 by default): build it with a higher one, `SQLITE_MAX_EXPR_DEPTH = \"4000\"` under `[env]` in `.cargo/config.toml` (libsqlite3-sys reads it; then `cargo clean -p libsqlite3-sys`), so that the application's SQLite and the check's both allow the deeper views";

/// The schema `migrations` produce on an empty SQLite database: the one
/// `embed_migrations!` embedded when it verified the set, or else worked
/// out now by [`verify`] (applying the set, with the code of its Rust
/// migrations, to an in-memory database: a cost that grows with the
/// set).
///
/// # Errors
///
/// [`Error::SchemaUnknown`] when verification finds a problem, or the set
/// has a Rust migration without its code (read from a folder; see the
/// [module docs](mod@crate::sqlite::verify)).
pub fn expected_schema(migrations: &Migrations) -> RunResult<Cow<'_, Schema>> {
    if let Some(schema) = migrations.embedded_schema() {
        return Ok(Cow::Borrowed(schema));
    }
    match verify(migrations) {
        Ok(Verified {
            schema: Some(schema),
            ..
        }) => Ok(Cow::Owned(schema)),
        Ok(Verified { stopped, .. }) => {
            let rust = migrations.iter().find(|m| !m.is_runnable());
            let mut reason = match rust {
                Some(rust) => format!(
                    "Rust migration {} (`{}`) may change the schema, and its code is not compiled into this program: check the schema from the application that embeds the set",
                    rust.version(),
                    rust.file()
                ),
                None => String::new(),
            };
            if let Some(stopped) = stopped {
                reason.push_str(&format!(
                    "; applying the set without it stopped at migration {}: {}",
                    stopped.version, stopped.message
                ));
            }
            Err(Error::SchemaUnknown {
                reason: reason.into(),
            })
        }
        Err(error) => Err(Error::SchemaUnknown {
            reason: error.to_string().into(),
        }),
    }
}

/// What the application's connection has that the check's in-memory
/// database would not: the functions and collations the application
/// registers, or an extension it loads provides, which a migration calls
/// (a `CHECK` or an index calling such a function fails `CREATE TABLE`
/// without it).
///
/// A *stand-in function* takes any number of arguments, returns NULL and is
/// deterministic, so that it can be used where SQLite requires that (a
/// `CHECK`, an index on an expression, a generated column); a `CHECK` of
/// NULL passes. A *stand-in collation* orders text by its bytes, as SQLite's
/// `BINARY` does. Neither computes what the real one would, so the check
/// sees the schema, not the data those produce: a `NOT NULL` column filled
/// from a stand-in (`UPDATE users SET password = app_hash(password)`)
/// fails, and such a set needs the real function (a `setup`, the command
/// line's `--load-extension`) or no check. `setup` runs on each
/// database the check opens, before the first migration: the command
/// line's `--load-extension` loads the extension there.
///
/// `embed_migrations!("migrations", functions(app_hash), collations(nocase_de))`
/// gives the macro's check its stand-ins.
///
/// # Examples
///
/// ```
/// # use migrate_core::Migrations;
/// # use migrate_core::sqlite::verify::{verify, verify_with, VerifyOptions};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # std::fs::write(dir.path().join("0001_users.sql"), "CREATE TABLE users (email TEXT CHECK (is_email(email)));\nINSERT INTO users VALUES ('a@example.com');")?;
/// let migrations = Migrations::from_folder(dir.path())?;
/// assert!(verify(&migrations).unwrap_err().to_string().contains("no such function: is_email"));
/// let options = VerifyOptions::new().stand_in_function("is_email");
/// verify_with(&migrations, &options)?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct VerifyOptions<'a> {
    functions: Vec<String>,
    collations: Vec<String>,
    foreign_keys: bool,
    setup: Option<&'a Setup<'a>>,
}

impl Default for VerifyOptions<'_> {
    fn default() -> Self {
        VerifyOptions {
            functions: Vec::new(),
            collations: Vec::new(),
            foreign_keys: true,
            setup: None,
        }
    }
}

/// What [`VerifyOptions::setup`] runs on each database the check opens,
/// borrowing for `'a`.
pub type Setup<'a> = dyn Fn(&Connection) -> rusqlite::Result<()> + 'a;

impl<'a> VerifyOptions<'a> {
    /// No stand-ins and no setup: [`verify`]'s check.
    pub fn new() -> VerifyOptions<'a> {
        VerifyOptions::default()
    }

    /// Registers a stand-in for the SQL function `name` (any number of
    /// arguments, NULL, deterministic) on each database the check opens.
    pub fn stand_in_function(mut self, name: impl Into<String>) -> VerifyOptions<'a> {
        self.functions.push(name.into());
        self
    }

    /// Registers a stand-in for the collation `name` (text ordered by its
    /// bytes) on each database the check opens.
    pub fn stand_in_collation(mut self, name: impl Into<String>) -> VerifyOptions<'a> {
        self.collations.push(name.into());
        self
    }

    /// Whether the check's databases enforce foreign keys, as a connection
    /// with `PRAGMA foreign_keys = ON` does (each migration's foreign key
    /// check before its commit); on by default. Off for a set written for
    /// a tool whose connections had them off (`foreign_keys = false` in the
    /// macro, `--foreign-keys off` on the command line).
    pub fn foreign_keys(mut self, enforced: bool) -> VerifyOptions<'a> {
        self.foreign_keys = enforced;
        self
    }

    /// Whether foreign keys are enforced (see [`foreign_keys`](Self::foreign_keys)).
    pub fn enforces_foreign_keys(&self) -> bool {
        self.foreign_keys
    }

    /// Runs `setup` on each database the check opens, after the stand-ins
    /// are registered and before the first migration (to load an
    /// extension, or register a real function); its error is a
    /// [`VerifyProblem::Internal`].
    pub fn setup(mut self, setup: &'a Setup<'a>) -> VerifyOptions<'a> {
        self.setup = Some(setup);
        self
    }

    /// The stand-in functions' names, in the order given.
    pub fn functions(&self) -> &[String] {
        &self.functions
    }

    /// The stand-in collations' names, in the order given.
    pub fn collations(&self) -> &[String] {
        &self.collations
    }

    /// Registers the stand-ins on `conn` and runs the setup.
    ///
    /// # Errors
    ///
    /// SQLite refuses a name (longer than 255 bytes), or the setup fails;
    /// naming the function, collation or setup.
    fn prepare(&self, conn: &Connection) -> RunResult<()> {
        use rusqlite::functions::FunctionFlags;
        let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
        for name in &self.functions {
            conn.create_scalar_function(name.as_str(), -1, flags, |_| Ok(rusqlite::types::Null))
                .map_err(context(format!(
                    "registering the stand-in for the function `{name}`"
                )))?;
        }
        for name in &self.collations {
            conn.create_collation(name.as_str(), |a: &str, b: &str| a.cmp(b))
                .map_err(context(format!(
                    "registering the stand-in for the collation `{name}`"
                )))?;
        }
        if !self.foreign_keys {
            conn.pragma_update(None, "foreign_keys", false)
                .map_err(context("turning foreign keys off"))?;
        }
        if let Some(setup) = self.setup {
            setup(conn).map_err(context("preparing the in-memory database"))?;
        }
        Ok(())
    }
}

impl fmt::Debug for VerifyOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyOptions")
            .field("functions", &self.functions)
            .field("collations", &self.collations)
            .field("foreign_keys", &self.foreign_keys)
            .field("setup", &self.setup.map(|_| ".."))
            .finish()
    }
}

/// Applies `migrations` in order to an empty in-memory SQLite database,
/// checking that every down restores the schema; see the module docs.
/// [`verify_with`] gives the database the application's functions first.
///
/// Rust migrations run when their code is compiled in, and are taken as
/// changing nothing otherwise.
///
/// # Examples
///
/// ```
/// # use migrate_core::Migrations;
/// # use migrate_core::sqlite::verify;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # std::fs::write(dir.path().join("0001_users.up.sql"), "CREATE TABLE users (id INTEGER PRIMARY KEY);\nCREATE TABLE sessions (user_id INTEGER);")?;
/// # std::fs::write(dir.path().join("0001_users.down.sql"), "DROP TABLE users;")?;
/// let migrations = Migrations::from_folder(dir.path())?;
/// let error = verify(&migrations).unwrap_err();
/// assert_eq!(
///     error.problems()[0].to_string(),
///     "the down of migration 1 (users) in `0001_users.down.sql` does not restore the schema \
///      from before its up: table `sessions` still exists"
/// );
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// [`VerifyError`] with every problem found: up to the first failing up,
/// every down that fails or does not restore the schema.
pub fn verify(migrations: &Migrations) -> Result<Verified, VerifyError> {
    verify_with(migrations, &VerifyOptions::default())
}

/// [`verify`], on databases given `options`' stand-ins and setup first.
///
/// # Errors
///
/// As [`verify`]; a stand-in SQLite refuses or a failing setup is a
/// [`VerifyProblem::Internal`] naming it.
pub fn verify_with(
    migrations: &Migrations,
    options: &VerifyOptions<'_>,
) -> Result<Verified, VerifyError> {
    /// Stands in for Rust code that is not compiled in.
    fn nothing(_: &rusqlite::Transaction<'_>) -> Result<(), BoxError> {
        Ok(())
    }
    const NOTHING: RustStep = nothing;
    let set = Migrations::__validated(
        migrations
            .iter()
            .map(|m| m.with_stand_ins(RustCode::new(&NOTHING)))
            .collect(),
    );
    let mut verification = Verification {
        set: &set,
        originals: migrations,
        options,
        problems: Vec::new(),
        stopped: None,
    };
    match verification.run() {
        Ok(schema) if verification.problems.is_empty() => Ok(Verified {
            schema,
            stopped: verification.stopped,
        }),
        Ok(_) => Err(VerifyError::new(CheckedOn::Sqlite, verification.problems)),
        Err(error) => Err(VerifyError::new(CheckedOn::Sqlite, vec![internal(error)])),
    }
}

/// The state of one verification.
struct Verification<'a> {
    /// The set with stand-ins for Rust code that is not compiled in.
    set: &'a Migrations,
    /// The set as given, to tell which Rust migrations really run.
    originals: &'a Migrations,
    /// The stand-ins and setup of each database.
    options: &'a VerifyOptions<'a>,
    problems: Vec<VerifyProblem>,
    stopped: Option<Stopped>,
}

/// Where one pass over a database ended.
enum Pass {
    /// At the end of the set, or where verification ends: the schema, when
    /// it is known.
    Done(Option<Schema>),
    /// A down's problem at this index: go on from a database with the ups
    /// up to it applied.
    Fresh(usize),
}

/// The session verification runs in: the runner's rules for migration code,
/// and none may touch a file.
const SESSION: Session<'static> = Session {
    table: DEFAULT_TABLE,
    lock_timeout: DEFAULT_LOCK_TIMEOUT,
    purpose: Purpose::Sandbox,
};

/// A copy of the database with the ups of the first `next` migrations
/// applied (`bytes` is `None` for the empty database): where verification
/// goes on from after a down's problem, instead of applying every up again
/// from the first.
struct Checkpoint {
    next: usize,
    bytes: Option<Vec<u8>>,
}

impl Checkpoint {
    /// Whether a copy is due before the migration at `index`: every 64
    /// migrations, and every sixteenth of the set so far beyond 1024, so
    /// that copying (a cost that grows with the database) stays a small part
    /// of the whole while going on after a problem applies at most that
    /// many ups again.
    fn due(&self, index: usize) -> bool {
        index - self.next >= (index / 16).max(64)
    }
}

impl Verification<'_> {
    /// Applies every migration in turn, checking the downs, going on from
    /// the last [`Checkpoint`] after each down's problem; returns the final
    /// schema unless verification ended early. An `Err` is a database error
    /// outside any migration.
    fn run(&mut self) -> RunResult<Option<Schema>> {
        let mut checkpoint = Checkpoint {
            next: 0,
            bytes: None,
        };
        let mut start = 0;
        loop {
            let first = start == 0;
            let opened = sandbox(checkpoint.bytes.as_deref())
                .map_err(context("opening an in-memory database"))
                .and_then(|(conn, log)| {
                    self.options.prepare(&conn)?;
                    Ok((conn, log))
                });
            let (mut conn, log) = match opened {
                Ok(opened) => opened,
                // A later database: keep what the earlier ones found.
                Err(error) if !first => {
                    self.problems.push(internal(error));
                    return Ok(None);
                }
                Err(error) => return Err(error),
            };
            let mut db = match Db::open(&mut conn, log) {
                Ok(db) => db,
                Err(error) if !first => {
                    self.problems.push(internal(error));
                    return Ok(None);
                }
                Err(error) => return Err(error),
            };
            // The ups from the checkpoint to `start` again; they were
            // applied once already, so a failure is unexpected.
            for migration in &self.set.as_slice()[checkpoint.next..start] {
                if let Some(problem) = self.step(&mut db, migration, Direction::Up, false) {
                    self.problems.push(problem);
                    return Ok(None);
                }
            }
            match self.pass(&mut db, start, &mut checkpoint)? {
                Pass::Done(schema) => return Ok(schema),
                Pass::Fresh(index) => start = index + 1,
            }
        }
    }

    /// Applies the migrations from `start` on, checking the downs.
    fn pass(
        &mut self,
        db: &mut Db<'_>,
        start: usize,
        checkpoint: &mut Checkpoint,
    ) -> RunResult<Pass> {
        let set = self.set.as_slice();
        // A Rust migration whose code did not run, once one has been passed.
        let mut after_rust: Option<u64> = self.set.as_slice()[..start]
            .iter()
            .map(Migration::version)
            .find(|&version| !self.runs(version));
        for (index, migration) in set.iter().enumerate().skip(start) {
            if checkpoint.due(index) {
                // Without a copy, going on after a problem starts from an
                // older one: slower, not wrong.
                if let Ok(bytes) = db.copy() {
                    *checkpoint = Checkpoint {
                        next: index,
                        bytes: Some(bytes),
                    };
                }
            }
            let version = migration.version();
            let runs = self.runs(version);
            // What the up and its down change of the schema is followed from
            // here, when a down will be compared with the schema before.
            let reversible = runs && migration.is_reversible();
            if reversible {
                db.origin = Some(Origin::new(&db.mirror));
            }
            let mut found = self.step(db, migration, Direction::Up, false);
            let ended = found.is_some();
            if found.is_none() && reversible {
                found = self.check_down(db, migration)?;
            }
            db.origin = None;
            match (found, after_rust) {
                (None, _) => {}
                // What the Rust code would have done may be what the
                // statement needed.
                (Some(problem @ VerifyProblem::Failed { .. }), Some(rust)) => {
                    self.stopped = Some(Stopped {
                        version,
                        after_rust: rust,
                        message: problem.to_string(),
                    });
                    return Ok(Pass::Done(None));
                }
                (Some(problem), _) => {
                    self.problems.push(problem);
                    if ended {
                        return Ok(Pass::Done(None));
                    }
                    // Go on from what the ups alone leave.
                    return Ok(Pass::Fresh(index));
                }
            }
            if !runs {
                after_rust.get_or_insert(version);
            }
        }
        if after_rust.is_some() {
            return Ok(Pass::Done(None));
        }
        Ok(Pass::Done(Some(schema_of(&db.backend)?)))
    }

    /// Whether the migration of `version` really runs: SQL, or Rust whose
    /// code is compiled in.
    fn runs(&self, version: u64) -> bool {
        self.originals
            .get(version)
            .is_some_and(Migration::is_runnable)
    }

    /// Runs the up or down of `migration` as the runner does, without the
    /// tracking table: in a transaction with foreign keys checked before the
    /// commit, or outside one for `-- migrate:no-transaction`, with foreign
    /// keys enforced by SQLite as the connection has them.
    fn step(
        &mut self,
        db: &mut Db<'_>,
        migration: &Migration,
        direction: Direction,
        again: bool,
    ) -> Option<VerifyProblem> {
        db.log.start(db.backend.conn.total_changes());
        let _ = db.guard.take_schema_changes();
        let result = if migration.runs_outside(direction) {
            let enforced = db.foreign_keys.is_some();
            let outside = foreign_keys_while(&mut db.backend, enforced, |backend| {
                // The SQLite backend's futures are ready at once.
                block_on(backend.execute_outside(migration, direction))
                    .map_err(|failure| failed(migration, direction, failure, true))
            });
            outside.and_then(|()| {
                let Db {
                    backend,
                    guard,
                    mirror,
                    origin,
                    foreign_keys,
                    ..
                } = db;
                let delta = mirror
                    .follow(backend.conn, &guard.take_schema_changes(), origin.as_mut())
                    .map_err(context("reading the schema"))?;
                match foreign_keys {
                    Some(check) => follow_graph(&mut check.graph, backend.conn, &delta),
                    None => Ok(()),
                }
            })
        } else {
            let Db {
                backend,
                guard,
                mirror,
                origin,
                foreign_keys,
                log,
            } = db;
            block_on(backend.begin(LockMode::Write)).and_then(|mut tx| {
                block_on(execute(&mut tx, migration, direction))?;
                let conn = tx.conn;
                let delta = mirror
                    .follow(conn, &guard.take_schema_changes(), origin.as_mut())
                    .map_err(context("reading the schema"))?;
                if let Some(check) = foreign_keys {
                    check
                        .after(conn, &delta, log)
                        .map_err(|failure| failed(migration, direction, failure, false))?;
                }
                block_on(commit_migration(tx, migration))
            })
        };
        result
            .err()
            .map(|error| VerifyProblem::of_error(error, migration, direction, again))
    }

    /// Runs the down of `migration`, just applied, compares the schema with
    /// the one before its up, and applies the up again. On a problem, the
    /// database is left wherever it got to.
    fn check_down(
        &mut self,
        db: &mut Db<'_>,
        migration: &Migration,
    ) -> RunResult<Option<VerifyProblem>> {
        if let Some(problem) = self.step(db, migration, Direction::Down, false) {
            return Ok(Some(problem));
        }
        let Some(origin) = db.origin.take() else {
            return Ok(self.step(db, migration, Direction::Up, true));
        };
        if !origin.restored_exactly(&db.mirror) {
            let before = db.mirror.schema_before(&origin);
            let differences = before.differences(&db.mirror.schema());
            if !differences.is_empty() {
                return Ok(Some(VerifyProblem::NotRestored {
                    version: migration.version(),
                    name: migration.name().to_owned(),
                    file: migration.down_file().unwrap_or_default().to_owned(),
                    differences,
                }));
            }
        }
        Ok(self.step(db, migration, Direction::Up, true))
    }
}

/// The schema of the database verification runs on, without the tracking
/// tables.
fn schema_of(backend: &Sqlite<'_>) -> RunResult<Schema> {
    Schema::read_excluding(backend.conn, &tracking_tables(DEFAULT_TABLE))
        .map_err(context("reading the schema"))
}

/// An in-memory database to verify on — empty, or the copy `bytes` of one —
/// whose temporary tables and indexes (and `VACUUM`'s copy) stay in memory
/// too (<https://www.sqlite.org/pragma.html#pragma_temp_store>): no file is
/// written during a build, not even a temporary one. With it, the log of
/// the rows its statements change (see [`ChangeLog`]).
fn sandbox(bytes: Option<&[u8]>) -> rusqlite::Result<(Connection, Arc<Mutex<ChangeLog>>)> {
    let mut conn = Connection::open_in_memory()?;
    if let Some(bytes) = bytes {
        conn.deserialize_read_exact(MAIN_DB, bytes, bytes.len(), false)?;
    }
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    let log = Arc::new(Mutex::new(ChangeLog::default()));
    let hook_log = Arc::clone(&log);
    conn.update_hook(Some(move |_: Action, schema: &str, table: &str, _: i64| {
        let mut log = hook_log.lock().unwrap_or_else(PoisonError::into_inner);
        log.seen += 1;
        if schema != "main" {
            log.elsewhere = true;
        } else if !log.tables.iter().any(|t| t == table) {
            log.tables.push(table.to_owned());
        }
    }))?;
    Ok((conn, log))
}

/// Runs `f` with foreign keys enforced when `enforced` (for a migration
/// outside a transaction, as the runner runs it), and off again after.
fn foreign_keys_while<T>(
    backend: &mut Sqlite<'_>,
    enforced: bool,
    f: impl FnOnce(&mut Sqlite<'_>) -> RunResult<T>,
) -> RunResult<T> {
    if !enforced {
        return f(backend);
    }
    foreign_keys::set(backend.conn, true)?;
    let result = f(backend);
    let off = foreign_keys::set(backend.conn, false);
    let value = result?;
    off?;
    Ok(value)
}

/// The rows a step's statements changed, as SQLite's update hook reports
/// them: every change to a rowid table, by statements and triggers alike.
/// A change the hook does not report (to a `WITHOUT ROWID` table) shows as
/// fewer changes seen than `sqlite3_total_changes` counts.
#[derive(Debug, Default)]
struct ChangeLog {
    /// `sqlite3_total_changes` when the step started.
    total_before: u64,
    /// Changes the hook reported since then.
    seen: u64,
    /// The tables of `main` they changed, each once.
    tables: Vec<String>,
    /// Whether they changed a table of another schema (`temp`, an attached
    /// database), whose foreign keys the runner's check covers too.
    elsewhere: bool,
}

impl ChangeLog {
    fn start(log: &Mutex<ChangeLog>, total: u64) {
        let mut log = log.lock().unwrap_or_else(PoisonError::into_inner);
        *log = ChangeLog {
            total_before: total,
            ..ChangeLog::default()
        };
    }
}

/// Shared access to a step's [`ChangeLog`].
#[derive(Clone, Debug)]
struct Log(Arc<Mutex<ChangeLog>>);

impl Log {
    fn start(&self, total: u64) {
        ChangeLog::start(&self.0, total);
    }

    /// The tables of `main` whose rows changed since the step started, or
    /// `None` when some change was not reported (so any table may have) or
    /// was to another schema's table.
    fn changed_tables(&self, total: u64) -> Option<Vec<String>> {
        let log = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let all_seen = log.seen >= total.saturating_sub(log.total_before);
        (all_seen && !log.elsewhere).then(|| log.tables.clone())
    }
}

/// One database verification runs on, and what it follows of it.
struct Db<'c> {
    backend: Sqlite<'c>,
    /// The backend's rules for migration code, which also note what may
    /// remove or rewrite rows of `sqlite_schema`.
    guard: Guard,
    mirror: Mirror,
    /// What the up (and down) of the migration being checked changed of
    /// the schema before it.
    origin: Option<Origin>,
    /// The foreign key check, when the connection enforces them.
    foreign_keys: Option<Check>,
    log: Log,
}

impl<'c> Db<'c> {
    /// Prepares `conn` as the runner would, except that foreign keys stay
    /// off between and during migrations and verification checks them
    /// itself before each commit (see [`Check`]); reads its schema.
    fn open(conn: &'c mut Connection, log: Arc<Mutex<ChangeLog>>) -> RunResult<Db<'c>> {
        let enforced: bool = conn
            .query_row("PRAGMA foreign_keys", [], |row| row.get(0))
            .map_err(context("reading PRAGMA foreign_keys"))?;
        foreign_keys::set(conn, false)?;
        let mirror = Mirror::read(conn).map_err(context("reading the schema"))?;
        let foreign_keys = if enforced {
            Some(Check {
                check: ForeignKeyCheck::enforced(conn)?,
                graph: graph_of(conn, &mirror).map_err(context("reading the foreign keys"))?,
            })
        } else {
            None
        };
        let backend = Sqlite::open(conn, &SESSION)?;
        let guard = backend.guard.clone().ok_or_else(unguarded_sandbox)?;
        Ok(Db {
            backend,
            guard,
            mirror,
            origin: None,
            foreign_keys,
            log: Log(log),
        })
    }

    /// A copy of the whole database (between migrations).
    fn copy(&mut self) -> rusqlite::Result<Vec<u8>> {
        Ok(self.backend.conn.serialize(MAIN_DB)?.to_vec())
    }
}

/// The sandbox's backend installed no rules for migration code: a bug of
/// this crate's, reported rather than run unguarded.
fn unguarded_sandbox() -> Error {
    Error::database(
        "opening the in-memory database",
        "the build-time check's rules for migration code are not installed",
    )
}

/// A row of `sqlite_schema`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Row {
    kind: String,
    name: String,
    table: String,
    sql: Option<String>,
}

impl Row {
    /// Whether the row is part of the application's schema (see
    /// [`Schema`]): not SQLite's own (`sqlite_%`, without regard to ASCII
    /// case, as `LIKE` has it), not the tracking tables.
    fn is_application(&self) -> bool {
        let own = self
            .name
            .get(..7)
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case("sqlite_"));
        !own && !tracking_tables(DEFAULT_TABLE).contains(&self.name)
    }

    fn is_table(&self) -> bool {
        self.kind == "table"
    }
}

/// `sqlite_schema` of the database as verification follows it: every row
/// by rowid, SQLite's own included.
///
/// After each step only what may have changed is read again: statements
/// other than `DROP` and `ALTER TABLE` only add rows, and SQLite gives a
/// new row a rowid above every row there is, so the rows above the highest
/// rowid still known are the new ones; a row a `DROP` names (or whose table
/// it names: a table takes its indexes and triggers with it) is read again
/// by its rowid; after an `ALTER TABLE`, which rewrites the statements of
/// other objects too, the whole table is read. The number of rows and the
/// highest rowid are compared after each step, and any surprise reads the
/// whole table again.
struct Mirror {
    rows: BTreeMap<i64, Row>,
    /// The rowids of the rows by lower-case name and by lower-case table.
    named: HashMap<String, Vec<i64>>,
}

/// How a step changed `sqlite_schema`: the rows it removed or rewrote (as
/// they were), and the rows it added or rewrote (as they are now).
#[derive(Debug, Default)]
struct Delta {
    removed: Vec<(i64, Row)>,
    added: Vec<(i64, Row)>,
    /// Whether the whole table was read again (an `ALTER TABLE`, or a
    /// surprise).
    reread: bool,
}

const ROWS: &str = "SELECT rowid, type, name, tbl_name, sql FROM main.sqlite_schema";

fn row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, Row)> {
    Ok((
        row.get(0)?,
        Row {
            kind: row.get(1)?,
            name: row.get(2)?,
            table: row.get(3)?,
            sql: row.get(4)?,
        },
    ))
}

impl Mirror {
    fn read(conn: &Connection) -> rusqlite::Result<Mirror> {
        let mut mirror = Mirror {
            rows: BTreeMap::new(),
            named: HashMap::new(),
        };
        for (rowid, row) in rows_after(conn, i64::MIN)? {
            mirror.insert(rowid, row);
        }
        Ok(mirror)
    }

    fn insert(&mut self, rowid: i64, row: Row) {
        for key in [&row.name, &row.table] {
            let rowids = self.named.entry(key.to_ascii_lowercase()).or_default();
            if !rowids.contains(&rowid) {
                rowids.push(rowid);
            }
        }
        if let Some(old) = self.rows.insert(rowid, row) {
            self.unname(rowid, &old);
        }
    }

    fn remove(&mut self, rowid: i64) -> Option<Row> {
        let old = self.rows.remove(&rowid)?;
        self.unname(rowid, &old);
        Some(old)
    }

    /// Forgets the names `old` had at `rowid`, unless the row there now
    /// has them too.
    fn unname(&mut self, rowid: i64, old: &Row) {
        let now = self.rows.get(&rowid);
        for key in [&old.name, &old.table] {
            let kept = now.is_some_and(|now| {
                now.name.eq_ignore_ascii_case(key) || now.table.eq_ignore_ascii_case(key)
            });
            if kept {
                continue;
            }
            let key = key.to_ascii_lowercase();
            if let Some(rowids) = self.named.get_mut(&key) {
                rowids.retain(|&r| r != rowid);
                if rowids.is_empty() {
                    self.named.remove(&key);
                }
            }
        }
    }

    /// The highest rowid, 0 for none.
    fn last(&self) -> i64 {
        self.rows.keys().next_back().copied().unwrap_or(0)
    }

    /// Follows one step that compiled `changes`, adding what it removed of
    /// the rows there were before the migration to `origin`.
    fn follow(
        &mut self,
        conn: &Connection,
        changes: &SchemaChanges,
        origin: Option<&mut Origin>,
    ) -> rusqlite::Result<Delta> {
        let mut delta = Delta::default();
        if !changes.altered {
            let mut suspects: Vec<i64> = changes
                .dropped
                .iter()
                .filter_map(|dropped| self.named.get(&dropped.to_ascii_lowercase()))
                .flatten()
                .copied()
                .collect();
            suspects.sort_unstable();
            suspects.dedup();
            for rowid in suspects {
                let now = conn
                    .prepare(&format!("{ROWS} WHERE rowid = ?1"))?
                    .query_map([rowid], row)?
                    .next()
                    .transpose()?
                    .map(|(_, now)| now);
                if now.as_ref() != self.rows.get(&rowid) {
                    if let Some(old) = self.remove(rowid) {
                        delta.removed.push((rowid, old));
                    }
                    if let Some(now) = now {
                        self.insert(rowid, now.clone());
                        delta.added.push((rowid, now));
                    }
                }
            }
            for (rowid, now) in rows_after(conn, self.last())? {
                self.insert(rowid, now.clone());
                delta.added.push((rowid, now));
            }
            // Two statements: `count(*)` alone counts the b-tree's cells
            // without reading a row, and `max(rowid)` alone reads one.
            let count: i64 = conn
                .prepare("SELECT count(*) FROM main.sqlite_schema")?
                .query_row([], |row| row.get(0))?;
            let last: i64 = conn
                .prepare("SELECT ifnull(max(rowid), 0) FROM main.sqlite_schema")?
                .query_row([], |row| row.get(0))?;
            if usize::try_from(count).is_ok_and(|count| count == self.rows.len())
                && last == self.last()
            {
                if let Some(origin) = origin {
                    origin.note(&delta);
                }
                return Ok(delta);
            }
            // A surprise: undo what was followed, and read it all.
            for (rowid, _) in delta.added.drain(..).rev() {
                self.remove(rowid);
            }
            for (rowid, old) in delta.removed.drain(..) {
                self.insert(rowid, old);
            }
        }
        let now = Mirror::read(conn)?;
        let mut delta = Delta {
            reread: true,
            ..Delta::default()
        };
        for (&rowid, old) in &self.rows {
            if now.rows.get(&rowid) != Some(old) {
                delta.removed.push((rowid, old.clone()));
            }
        }
        for (&rowid, new) in &now.rows {
            if self.rows.get(&rowid) != Some(new) {
                delta.added.push((rowid, new.clone()));
            }
        }
        *self = now;
        if let Some(origin) = origin {
            origin.note(&delta);
        }
        Ok(delta)
    }

    /// The application's schema as these rows give it, in rowid order.
    fn schema(&self) -> Schema {
        schema_from(self.rows.values())
    }

    /// The schema before the migration `origin` started following.
    fn schema_before(&self, origin: &Origin) -> Schema {
        let mut before: BTreeMap<i64, &Row> = self
            .rows
            .range(..=origin.last)
            .map(|(&rowid, row)| (rowid, row))
            .collect();
        for (&rowid, old) in &origin.removed {
            before.insert(rowid, old);
        }
        // A row now at an old rowid that was not there before.
        let old_rowids: Vec<i64> = before.keys().copied().collect();
        for rowid in old_rowids {
            if origin.vacated.contains(&rowid) && !origin.removed.contains_key(&rowid) {
                before.remove(&rowid);
            }
        }
        schema_from(before.into_values())
    }
}

/// The rows above `rowid`, in rowid order.
fn rows_after(conn: &Connection, rowid: i64) -> rusqlite::Result<Vec<(i64, Row)>> {
    conn.prepare(&format!("{ROWS} WHERE rowid > ?1 ORDER BY rowid"))?
        .query_map([rowid], row)?
        .collect()
}

fn schema_from<'r>(rows: impl IntoIterator<Item = &'r Row>) -> Schema {
    let objects = rows
        .into_iter()
        .filter(|row| row.is_application())
        .filter_map(|row| {
            Some(SchemaObject {
                kind: ObjectKind::parse(&row.kind)?,
                name: Cow::Owned(row.name.clone()),
                table: Cow::Owned(row.table.clone()),
                sql: Cow::Owned(row.sql.clone().unwrap_or_default()),
            })
        })
        .collect::<Vec<_>>();
    Schema {
        objects: Cow::Owned(objects),
    }
}

/// What a migration's up and down changed of the rows of `sqlite_schema`
/// there were before its up (those up to rowid `last`): each removed or
/// rewritten row as it was.
#[derive(Debug)]
struct Origin {
    last: i64,
    removed: BTreeMap<i64, Row>,
    /// Rowids up to `last` that a row took that was not there before (SQLite
    /// gives a new row the rowid after the highest there is, which can be
    /// one a removed row had).
    vacated: Vec<i64>,
}

impl Origin {
    fn new(mirror: &Mirror) -> Origin {
        Origin {
            last: mirror.last(),
            removed: BTreeMap::new(),
            vacated: Vec::new(),
        }
    }

    fn note(&mut self, delta: &Delta) {
        for (rowid, old) in &delta.removed {
            if *rowid <= self.last && !self.vacated.contains(rowid) {
                self.removed.entry(*rowid).or_insert_with(|| old.clone());
            }
        }
        for (rowid, _) in &delta.added {
            if *rowid <= self.last
                && !self.removed.contains_key(rowid)
                && !self.vacated.contains(rowid)
            {
                self.vacated.push(*rowid);
            }
        }
    }

    /// Whether the rows are now exactly those before the up, statement for
    /// statement (in any order): the usual case, decided without reading
    /// the schema again.
    fn restored_exactly(&self, mirror: &Mirror) -> bool {
        let mut before: Vec<&Row> = self
            .removed
            .values()
            .filter(|row| row.is_application())
            .collect();
        let mut after: Vec<&Row> = self
            .removed
            .keys()
            .chain(&self.vacated)
            .filter_map(|rowid| mirror.rows.get(rowid))
            .chain(mirror.rows.range(self.last + 1..).map(|(_, row)| row))
            .filter(|row| row.is_application())
            .collect();
        before.sort();
        after.sort();
        before == after
    }
}

/// The foreign key check of each migration, as the runner runs it
/// (`PRAGMA foreign_key_check` before the commit, only new violations
/// failing), limited to the tables a migration can have given new
/// violations when that is known: the tables whose rows it changed, the
/// tables it created, and the tables with a foreign key to any of those or
/// to a table that lost an index or was dropped. When a change was not
/// reported or the statements of existing objects were rewritten, every
/// table is checked.
struct Check {
    check: ForeignKeyCheck,
    graph: Graph,
}

impl Check {
    fn after(&mut self, conn: &Connection, delta: &Delta, log: &Log) -> Result<(), Failure> {
        follow_graph(&mut self.graph, conn, delta)?;
        let changed = match log.changed_tables(conn.total_changes()) {
            Some(changed) if !delta.reread => changed,
            _ => return self.check.check(conn),
        };
        let mut parents: Vec<String> = changed.iter().map(|t| t.to_ascii_lowercase()).collect();
        for (_, row) in delta.removed.iter().chain(&delta.added) {
            parents.push(row.table.to_ascii_lowercase());
        }
        parents.sort();
        parents.dedup();
        let mut tables: Vec<String> = Vec::new();
        for parent in &parents {
            if self.graph.has_foreign_keys(parent) {
                tables.push(parent.clone());
            }
            tables.extend(self.graph.children_of(parent).iter().cloned());
        }
        tables.sort();
        tables.dedup();
        let gone: Vec<String> = delta
            .removed
            .iter()
            .filter(|(_, row)| {
                row.is_table() && !self.graph.has_foreign_keys(&row.name.to_ascii_lowercase())
            })
            .map(|(_, row)| row.name.clone())
            .collect();
        self.check.check_tables(conn, &tables, &gone)
    }
}

/// The foreign key graph of the tables `mirror` lists.
fn graph_of(conn: &Connection, mirror: &Mirror) -> rusqlite::Result<Graph> {
    let mut graph = Graph::default();
    for row in mirror.rows.values().filter(|row| row.is_table()) {
        graph.add(conn, &row.name)?;
    }
    Ok(graph)
}

/// Follows in `graph` the tables a step removed, rewrote and added.
fn follow_graph(graph: &mut Graph, conn: &Connection, delta: &Delta) -> RunResult<()> {
    for (_, row) in delta.removed.iter().filter(|(_, row)| row.is_table()) {
        graph.remove(&row.name);
    }
    for (_, row) in delta.added.iter().filter(|(_, row)| row.is_table()) {
        graph
            .add(conn, &row.name)
            .map_err(context("reading the foreign keys"))?;
    }
    Ok(())
}

/// A database error outside any migration as a problem.
fn internal(error: impl fmt::Display) -> VerifyProblem {
    VerifyProblem::Internal {
        message: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The problems verification finds in a folder of `files`.
    fn problems(files: &[(&str, &str)]) -> Vec<String> {
        let dir = tempfile::tempdir().expect("temporary folder");
        for (name, sql) in files {
            std::fs::write(dir.path().join(name), sql).expect("migration file");
        }
        let migrations = Migrations::from_folder(dir.path()).expect("valid folder");
        match verify(&migrations) {
            Ok(_) => Vec::new(),
            Err(error) => error.problems().iter().map(ToString::to_string).collect(),
        }
    }

    /// A folder of `files`, read.
    fn folder(files: &[(&str, &str)]) -> (tempfile::TempDir, Migrations) {
        let dir = tempfile::tempdir().expect("temporary folder");
        for (name, sql) in files {
            std::fs::write(dir.path().join(name), sql).expect("migration file");
        }
        let migrations = Migrations::from_folder(dir.path()).expect("valid folder");
        (dir, migrations)
    }

    #[test]
    fn stand_ins_take_the_place_of_the_applications_functions_and_collations()
    -> Result<(), Box<dyn std::error::Error>> {
        // Where SQLite needs the function when the table is created or
        // changed, and needs it deterministic: a CHECK, an index on an
        // expression, a generated column; and a collation.
        let (_dir, set) = folder(&[
            (
                "0001_users.up.sql",
                "CREATE TABLE users (email TEXT CHECK (is_email(email)), name TEXT COLLATE de_phonebook,
                 slug TEXT GENERATED ALWAYS AS (slugify(name, '-')) STORED);
                 CREATE INDEX users_domain ON users (domain_of(email));
                 INSERT INTO users (email, name) VALUES ('a@example.com', 'A');",
            ),
            ("0001_users.down.sql", "DROP TABLE users;"),
        ]);
        // SQLite names the first it misses, and the hint names it.
        let error = verify(&set).unwrap_err();
        let hint = error.problems()[0].in_folder(Path::new("migrations"));
        assert!(
            hint.contains("no such collation sequence: de_phonebook")
                && hint.contains("`embed_migrations!(\"migrations\", collations(de_phonebook))`")
                && hint.contains("`migrate validate --collation de_phonebook`"),
            "{hint}"
        );
        let collation = VerifyOptions::new().stand_in_collation("de_phonebook");
        let error = verify_with(&set, &collation).unwrap_err();
        let hint = error.problems()[0].in_folder(Path::new("migrations"));
        assert!(
            hint.contains("no such function: slugify")
                && hint.contains("functions(slugify)")
                && hint.contains("--function slugify"),
            "{hint}"
        );

        let options = collation
            .stand_in_function("is_email")
            .stand_in_function("slugify")
            .stand_in_function("domain_of");
        let verified = verify_with(&set, &options)?;
        let schema = verified.schema.expect("an SQL set's schema is known");
        let names: Vec<&str> = schema.objects().iter().map(|o| o.name()).collect();
        assert_eq!(names, ["users", "users_domain"]);
        Ok(())
    }

    #[test]
    fn foreign_keys_off_checks_a_set_written_for_a_connection_without_them()
    -> Result<(), Box<dyn std::error::Error>> {
        let (_dir, set) = folder(&[(
            "0001_posts.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);\n\
             CREATE TABLE posts (user_id INTEGER REFERENCES users (id));\n\
             INSERT INTO posts VALUES (7);",
        )]);
        let error = verify(&set).unwrap_err();
        assert!(error.to_string().contains("foreign key"), "{error}");
        let verified = verify_with(&set, &VerifyOptions::new().foreign_keys(false))?;
        assert!(verified.schema.is_some());
        Ok(())
    }

    #[test]
    fn the_setup_runs_on_every_database_the_check_opens_and_its_failure_is_named() {
        // A bad down makes the check go on from a fresh database: the
        // setup's function must be there too.
        let (_dir, set) = folder(&[
            ("0001_a.up.sql", "CREATE TABLE a (x CHECK (app_ok(x)));"),
            ("0001_a.down.sql", "SELECT 1;"),
            ("0002_b.sql", "CREATE TABLE b (x CHECK (app_ok(x)));"),
        ]);
        let opened = std::sync::atomic::AtomicUsize::new(0);
        let setup = |conn: &Connection| {
            opened.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            conn.create_scalar_function(
                "app_ok",
                1,
                rusqlite::functions::FunctionFlags::SQLITE_DETERMINISTIC,
                |_| Ok(true),
            )
        };
        let error = verify_with(&set, &VerifyOptions::new().setup(&setup)).unwrap_err();
        assert_eq!(error.problems().len(), 1, "{error}");
        assert!(
            matches!(
                &error.problems()[0],
                VerifyProblem::NotRestored { version: 1, .. }
            ),
            "{error}"
        );
        assert_eq!(opened.load(std::sync::atomic::Ordering::Relaxed), 2);

        let failing = |_: &Connection| Err(rusqlite::Error::InvalidQuery);
        let error = verify_with(&set, &VerifyOptions::new().setup(&failing)).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("preparing the in-memory database"),
            "{error}"
        );
    }

    #[test]
    fn an_object_dropped_and_created_again_differently_is_not_restored() {
        // The index is the newest object: SQLite gives the new one its rowid.
        let found = problems(&[
            (
                "0001_t.sql",
                "CREATE TABLE t (a, b);\nCREATE INDEX t_a ON t (a);",
            ),
            (
                "0002_i.up.sql",
                "DROP INDEX t_a;\nCREATE INDEX t_a ON t (b);",
            ),
            ("0002_i.down.sql", "SELECT 1;"),
        ]);
        assert_eq!(
            found,
            [
                "the down of migration 2 (i) in `0002_i.down.sql` does not restore the schema from before its up: index `t_a` is defined differently: `…index t_a on t(b)`, expected `…index t_a on t(a)`"
            ]
        );
        let found = problems(&[
            (
                "0001_t.sql",
                "CREATE TABLE t (a, b);\nCREATE INDEX t_a ON t (a);",
            ),
            (
                "0002_i.up.sql",
                "DROP INDEX t_a;\nCREATE INDEX t_a ON t (b);",
            ),
            (
                "0002_i.down.sql",
                "DROP INDEX t_a;\nCREATE INDEX t_a ON t (a);",
            ),
        ]);
        assert_eq!(found, Vec::<String>::new());
    }

    #[test]
    fn altered_tables_are_followed() {
        let found = problems(&[
            (
                "0001_t.sql",
                "CREATE TABLE t (a);\nCREATE VIEW v AS SELECT a FROM t;",
            ),
            ("0002_c.up.sql", "ALTER TABLE t ADD COLUMN c;"),
            ("0002_c.down.sql", "SELECT 1;"),
            ("0003_r.up.sql", "ALTER TABLE t RENAME TO u;"),
            ("0003_r.down.sql", "ALTER TABLE u RENAME TO t;"),
            ("0004_d.up.sql", "ALTER TABLE u ADD COLUMN d;"),
            ("0004_d.down.sql", "ALTER TABLE u DROP COLUMN d;"),
        ]);
        assert_eq!(
            found,
            [
                "the down of migration 2 (c) in `0002_c.down.sql` does not restore the schema from before its up: column `t.c` still exists"
            ]
        );
    }

    #[test]
    fn new_foreign_key_violations_fail_the_migration_however_they_come() {
        let base = (
            "0001_base.sql",
            "CREATE TABLE p (id INTEGER PRIMARY KEY);\n\
             CREATE TABLE c (p INTEGER REFERENCES p (id));\n\
             CREATE TABLE w (p INTEGER REFERENCES p (id), k INTEGER PRIMARY KEY) WITHOUT ROWID;\n\
             INSERT INTO p VALUES (1);\nINSERT INTO c VALUES (1);",
        );
        let cases = [
            // A parent dropped (no row changes).
            "DROP TABLE p;",
            // A parent's rows deleted.
            "DELETE FROM p;",
            // A child row without a parent, in a WITHOUT ROWID table, which
            // the update hook does not report.
            "INSERT INTO w VALUES (7, 1);",
            // A new child table with a row without a parent.
            "CREATE TABLE n (p INTEGER REFERENCES p (id));\nINSERT INTO n VALUES (9);",
            // A rebuild of the parent that loses its row.
            "CREATE TABLE p2 (id INTEGER PRIMARY KEY);\nDROP TABLE p;\nALTER TABLE p2 RENAME TO p;",
        ];
        for case in cases {
            let found = problems(&[base, ("0002_break.sql", case)]);
            assert_eq!(found.len(), 1, "{case}: {found:?}");
            assert!(
                found[0].starts_with("migration 2 (break) fails")
                    && found[0].contains("foreign key"),
                "{case}: {found:?}"
            );
        }
        // A rebuild that keeps every row passes.
        let found = problems(&[
            base,
            (
                "0002_rebuild.sql",
                "CREATE TABLE p2 (id INTEGER PRIMARY KEY, name TEXT);\nINSERT INTO p2 (id) SELECT id FROM p;\nDROP TABLE p;\nALTER TABLE p2 RENAME TO p;",
            ),
        ]);
        assert_eq!(found, Vec::<String>::new());
    }

    /// A chain of 100 views of nine `WITH`s each, then an `ALTER TABLE ...
    /// RENAME COLUMN`, which checks every view: SQLite 3.53 applies it (and
    /// 3.40), 3.54 with its default limits stops at the 1000th level. The problem
    /// names the limit and the build flag that raises it.
    #[test]
    fn views_nested_beyond_sqlites_limit_name_the_limit_and_the_fix()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        std::fs::write(
            dir.path().join("0001_base.sql"),
            "CREATE TABLE base (id INTEGER PRIMARY KEY, x INT);\nCREATE VIEW v0 AS SELECT id, x FROM base;",
        )?;
        for level in 1..=100 {
            let parent = level - 1;
            let chain: Vec<String> = (1..9)
                .map(|n| format!("     c{n} AS (SELECT id, x FROM c{})", n - 1))
                .collect();
            std::fs::write(
                dir.path().join(format!("{:04}_v{level}.sql", level + 1)),
                format!(
                    "CREATE VIEW v{level} AS\nWITH c0 AS (SELECT id, x FROM v{parent}),\n{}\nSELECT id, x FROM c8;",
                    chain.join(",\n")
                ),
            )?;
        }
        std::fs::write(
            dir.path().join("0102_rename.sql"),
            "ALTER TABLE base ADD COLUMN z;\nALTER TABLE base RENAME COLUMN z TO w;",
        )?;
        let migrations = Migrations::from_folder(dir.path())?;
        let error = verify(&migrations).expect_err("nested too deep for SQLite 3.54's default");
        let [problem] = error.problems() else {
            panic!("{error}");
        };
        assert!(problem.nests_too_deep(), "{problem}");
        let shown = problem.in_folder(Path::new("migrations"));
        assert!(
            shown.starts_with("checking `migrations` on an empty in-memory SQLite database: migration 102 (rename) fails in `0102_rename.sql` at line 2"),
            "{shown}"
        );
        assert!(
            shown.contains("VIEWs and/or subqueries nested too deep"),
            "{shown}"
        );
        assert!(shown.ends_with(NESTED_TOO_DEEP_FIX), "{shown}");
        assert!(
            shown.contains(
                "SQLITE_MAX_EXPR_DEPTH = \"4000\"` under `[env]` in `.cargo/config.toml`"
            )
        );
        Ok(())
    }

    /// 200 migrations, every fifth down forgetting its index: each problem
    /// is found, and verification goes on from a copy of the database, not
    /// from the first migration (which the result cannot show, but the
    /// benchmark `check` does).
    #[test]
    fn every_bad_down_in_a_long_set_is_reported() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        for version in 1..=200 {
            std::fs::write(
                dir.path().join(format!("{version:04}_t{version}.up.sql")),
                format!(
                    "CREATE TABLE t{version} (id INTEGER PRIMARY KEY, p INTEGER REFERENCES t1 (id));\nCREATE INDEX t{version}_p ON t{version} (p);"
                ),
            )?;
            let down = if version % 5 == 0 {
                format!("DROP TABLE t{version};\nCREATE TABLE t{version}_left (x);")
            } else {
                format!("DROP INDEX t{version}_p;\nDROP TABLE t{version};")
            };
            std::fs::write(
                dir.path().join(format!("{version:04}_t{version}.down.sql")),
                down,
            )?;
        }
        let migrations = Migrations::from_folder(dir.path())?;
        let error = verify(&migrations).expect_err("40 bad downs");
        let versions: Vec<u64> = error
            .problems()
            .iter()
            .map(|problem| match problem {
                VerifyProblem::NotRestored {
                    version,
                    differences,
                    ..
                } => {
                    assert_eq!(differences.len(), 1, "{problem}");
                    *version
                }
                other => panic!("{other}"),
            })
            .collect();
        assert_eq!(versions, (1..=40).map(|n| n * 5).collect::<Vec<u64>>());
        Ok(())
    }
}
