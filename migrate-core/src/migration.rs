//! A migration and an ordered, validated set of them.

use std::borrow::Cow;
use std::path::Path;

use crate::checksum::Checksum;
use crate::folder::{self, FolderError, FolderMigration, Step};
use crate::report::Direction;
use crate::schema::{Schema, SchemaObject};

/// The error a Rust-code migration returns, boxed: anything that converts
/// into `Box<dyn Error + Send + Sync>` (`rusqlite::Error`, `anyhow::Error`,
/// `String`, …) can be returned from its `up` or `down`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The compiled code of a Rust migration's `up` or `down`, for the backend it
/// was written for: a function pointer of that backend's step type (for
/// SQLite [`sqlite::RustStep`](crate::sqlite::RustStep), called with the
/// migration's `&rusqlite::Transaction`), kept without naming the engine so
/// that one [`Migrations`] type serves every backend. A backend runs it with
/// [`step`](RustCode::step), which is `None` when the code was written for
/// another backend.
///
/// Built by `embed_migrations!` as const data.
#[derive(Clone, Copy)]
pub struct RustCode(&'static (dyn std::any::Any + Send + Sync));

impl RustCode {
    /// Const constructor for `embed_migrations!`'s expansion: `step` is a
    /// `&'static` backend step function pointer.
    pub const fn new(step: &'static (dyn std::any::Any + Send + Sync)) -> RustCode {
        RustCode(step)
    }

    /// The step, when it is of type `S` (the backend's step type).
    pub fn step<S: 'static>(&self) -> Option<&S> {
        self.0.downcast_ref::<S>()
    }
}

impl std::fmt::Debug for RustCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RustCode(..)")
    }
}

/// Whether a migration is written in SQL or in Rust.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MigrationKind {
    /// `.sql` files: an up file and optionally a `.down.sql` file.
    Sql,
    /// A `<version>_<name>.rs` file with `pub fn up` and optionally
    /// `pub fn down`, compiled into the crate by `embed_migrations!`.
    Rust,
}

/// The up or the down of a migration: SQL text, or compiled Rust code.
#[derive(Clone, Debug)]
pub enum Script {
    /// SQL, with its `-- migrate:no-transaction` directive.
    Sql {
        /// The file's text, a leading byte order mark removed.
        sql: Cow<'static, str>,
        /// Whether it runs outside a transaction.
        no_transaction: bool,
    },
    /// Rust code; `None` when the set was read at run time, where the code
    /// is not compiled in.
    Rust(Option<RustCode>),
}

impl PartialEq for Script {
    /// Compiled code is not compared: a set read at run time has none, and
    /// the checksum already covers the Rust file's text.
    fn eq(&self, other: &Script) -> bool {
        match (self, other) {
            (
                Script::Sql {
                    sql: a,
                    no_transaction: x,
                },
                Script::Sql {
                    sql: b,
                    no_transaction: y,
                },
            ) => a == b && x == y,
            (Script::Rust(_), Script::Rust(_)) => true,
            _ => false,
        }
    }
}

impl Eq for Script {}

/// One migration: a version, a name, its up and optionally its down, in SQL
/// or in Rust.
///
/// Built by `embed_migrations!` as const data, or read at run time by
/// [`Migrations::from_folder`]; both go through the same folder grammar, so
/// they are equal field by field for the same folder (compiled Rust code
/// aside: a set read at run time has none, see [`Migration::is_runnable`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Migration {
    version: u64,
    name: Cow<'static, str>,
    file: Cow<'static, str>,
    up: Script,
    /// The down's file (the `.down.sql`, or the `.rs` file itself) and code.
    down: Option<(Cow<'static, str>, Script)>,
    checksum: Checksum,
    running_checksum: Checksum,
    /// The up file's text as the file holds it, when the up's SQL is not
    /// all of it (see [`FolderMigration::up_file_text`]).
    up_file_text: Option<Cow<'static, str>>,
}

impl Migration {
    /// Const constructor of a SQL migration for `embed_migrations!`'s
    /// expansion; not public API. `down` is `(file, sql, no_transaction)`;
    /// `up_file` the up file's text when `up` is not all of it.
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments)]
    pub const fn __embedded(
        version: u64,
        name: &'static str,
        file: &'static str,
        up: &'static str,
        up_no_transaction: bool,
        down: Option<(&'static str, &'static str, bool)>,
        checksum: [u8; 32],
        running_checksum: [u8; 32],
        up_file: Option<&'static str>,
    ) -> Migration {
        Migration {
            version,
            name: Cow::Borrowed(name),
            file: Cow::Borrowed(file),
            up: Script::Sql {
                sql: Cow::Borrowed(strip_bom(up)),
                no_transaction: up_no_transaction,
            },
            down: match down {
                Some((file, sql, no_transaction)) => Some((
                    Cow::Borrowed(file),
                    Script::Sql {
                        sql: Cow::Borrowed(strip_bom(sql)),
                        no_transaction,
                    },
                )),
                None => None,
            },
            checksum: Checksum::from_sha256(checksum),
            running_checksum: Checksum::from_sha256(running_checksum),
            up_file_text: match up_file {
                Some(text) => Some(Cow::Borrowed(text)),
                None => None,
            },
        }
    }

    /// Const constructor of a Rust migration for `embed_migrations!`'s
    /// expansion; not public API.
    #[doc(hidden)]
    pub const fn __embedded_rust(
        version: u64,
        name: &'static str,
        file: &'static str,
        up: RustCode,
        down: Option<RustCode>,
        checksum: [u8; 32],
        running_checksum: [u8; 32],
    ) -> Migration {
        Migration {
            version,
            name: Cow::Borrowed(name),
            file: Cow::Borrowed(file),
            up: Script::Rust(Some(up)),
            down: match down {
                Some(down) => Some((Cow::Borrowed(file), Script::Rust(Some(down)))),
                None => None,
            },
            checksum: Checksum::from_sha256(checksum),
            running_checksum: Checksum::from_sha256(running_checksum),
            up_file_text: None,
        }
    }

    /// The migrations of a folder the grammar validated, in version order,
    /// with their running checksums chained.
    pub(crate) fn from_folder(files: Vec<FolderMigration>) -> Vec<Migration> {
        let script = |step: Step| match step {
            Step::Sql {
                sql,
                no_transaction,
            } => Script::Sql {
                sql: Cow::Owned(sql),
                no_transaction,
            },
            Step::Rust => Script::Rust(None),
        };
        let mut previous = None;
        files
            .into_iter()
            .map(|file| {
                let running = Checksum::chain(previous.as_ref(), file.version, &file.checksum);
                previous = Some(running);
                Migration {
                    version: file.version,
                    name: Cow::Owned(file.name),
                    file: Cow::Owned(file.file),
                    up: script(file.up),
                    down: file
                        .down
                        .map(|(name, step)| (Cow::Owned(name), script(step))),
                    checksum: file.checksum,
                    running_checksum: running,
                    up_file_text: file.up_file_text.map(Cow::Owned),
                }
            })
            .collect()
    }

    /// The version, 1 to 2^63 - 1.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The name after the version in the file name, without extension
    /// (`add_email` for `0004_add_email.sql`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The up file's name inside the migrations folder (`0004_add_email.sql`,
    /// or `0005_backfill.rs` for a Rust migration).
    pub fn file(&self) -> &str {
        &self.file
    }

    /// SQL or Rust.
    pub fn kind(&self) -> MigrationKind {
        match self.up {
            Script::Sql { .. } => MigrationKind::Sql,
            Script::Rust(_) => MigrationKind::Rust,
        }
    }

    /// The up SQL, as written in the file (a leading byte order mark
    /// removed); `None` for a Rust migration.
    pub fn up_sql(&self) -> Option<&str> {
        match &self.up {
            Script::Sql { sql, .. } => Some(sql),
            Script::Rust(_) => None,
        }
    }

    /// The up file's text as the file holds it: its byte order mark, the
    /// whole of a goose or dbmate file (not only its up section), Flyway's
    /// `${placeholder}`s as written; the same as [`up_sql`](Self::up_sql)
    /// for a plain file. `None` for a Rust migration. Other tools'
    /// checksums are of this text: sqlx's and refinery's of the file as
    /// read, Flyway's before its placeholders are replaced (see
    /// [`other_tables`](crate::other_tables)).
    pub fn up_file_text(&self) -> Option<&str> {
        // Only a SQL migration's text is ever kept apart from its SQL.
        self.up_file_text.as_deref().or_else(|| self.up_sql())
    }

    /// Whether the up file starts with `-- migrate:no-transaction`, so it runs
    /// outside a transaction (see [`folder`](crate::folder)).
    pub fn up_no_transaction(&self) -> bool {
        matches!(
            self.up,
            Script::Sql {
                no_transaction: true,
                ..
            }
        )
    }

    /// Whether the migration has a down: a `.down.sql` file, or `pub fn down`
    /// in its Rust file.
    pub fn is_reversible(&self) -> bool {
        self.down.is_some()
    }

    /// The file that holds the down, if the migration has one: the
    /// `.down.sql` file, or the `.rs` file itself.
    pub fn down_file(&self) -> Option<&str> {
        self.down.as_ref().map(|(file, _)| &**file)
    }

    /// The down SQL, if the migration has a `.down.sql` file.
    pub fn down_sql(&self) -> Option<&str> {
        match &self.down {
            Some((_, Script::Sql { sql, .. })) => Some(sql),
            _ => None,
        }
    }

    /// Whether the down file starts with `-- migrate:no-transaction`.
    pub fn down_no_transaction(&self) -> bool {
        matches!(
            self.down,
            Some((
                _,
                Script::Sql {
                    no_transaction: true,
                    ..
                }
            ))
        )
    }

    /// Whether this migration can run here: always for SQL, and for Rust only
    /// when its code was compiled in by `embed_migrations!` (a set read at run
    /// time by [`Migrations::from_folder`] cannot run Rust migrations).
    pub fn is_runnable(&self) -> bool {
        match self.up {
            Script::Sql { .. } => true,
            Script::Rust(code) => code.is_some(),
        }
    }

    /// The checksum of the up file (or of the whole `.rs` file); see
    /// [`Checksum::of_text`].
    pub fn checksum(&self) -> Checksum {
        self.checksum
    }

    /// The running checksum over this migration and every earlier one in its
    /// set; see [`Checksum::chain`].
    pub fn running_checksum(&self) -> Checksum {
        self.running_checksum
    }

    /// The up, or the down (`None` without one).
    pub fn script(&self, direction: Direction) -> Option<&Script> {
        match direction {
            Direction::Up => Some(&self.up),
            Direction::Down => self.down.as_ref().map(|(_, script)| script),
        }
    }

    /// The file of the up, or of the down (the up's file for a migration
    /// without one).
    pub fn file_of(&self, direction: Direction) -> &str {
        match direction {
            Direction::Up => self.file(),
            Direction::Down => self.down_file().unwrap_or(self.file()),
        }
    }

    /// Whether its up, or its down, runs outside a transaction.
    pub fn runs_outside(&self, direction: Direction) -> bool {
        match direction {
            Direction::Up => self.up_no_transaction(),
            Direction::Down => self.down_no_transaction(),
        }
    }

    /// This migration with `code` standing in for its Rust steps whose code
    /// is not compiled in: verification runs a set read from a folder, or at
    /// build time, in an in-memory database.
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn with_stand_ins(&self, code: RustCode) -> Migration {
        let mut migration = self.clone();
        if let Script::Rust(step @ None) = &mut migration.up {
            *step = Some(code);
        }
        if let Some((_, Script::Rust(step @ None))) = &mut migration.down {
            *step = Some(code);
        }
        migration
    }
}

/// Removes a leading UTF-8 byte order mark, in a const context.
const fn strip_bom(text: &str) -> &str {
    match text.as_bytes() {
        [0xEF, 0xBB, 0xBF, ..] => text.split_at(3).1,
        _ => text,
    }
}

/// A validated set of migrations in version order: no duplicate versions, and
/// no gaps unless the versions are timestamps.
///
/// Usually a `const` built by `embed_migrations!`:
///
/// ```ignore
/// const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("migrations");
/// ```
///
/// Two sets are equal when their migrations are equal (see [`Migration`]);
/// whether a set carries the schema its migrations produce
/// ([`embedded_schema`](Migrations::embedded_schema)) does not count.
#[derive(Clone, Debug)]
pub struct Migrations {
    migrations: Cow<'static, [Migration]>,
    /// The schema the migrations produce, when `embed_migrations!` verified
    /// them at build time.
    schema: Option<Schema>,
}

impl PartialEq for Migrations {
    fn eq(&self, other: &Migrations) -> bool {
        self.migrations == other.migrations
    }
}

impl Eq for Migrations {}

impl Migrations {
    /// Const constructor for `embed_migrations!`'s expansion; not public API.
    /// The macro guarantees the slice is validated and in version order.
    #[doc(hidden)]
    pub const fn __embedded(migrations: &'static [Migration]) -> Migrations {
        Migrations {
            migrations: Cow::Borrowed(migrations),
            schema: None,
        }
    }

    /// Const constructor for `embed_migrations!`'s expansion of a set it
    /// verified, with the schema the migrations produce; not public API.
    #[doc(hidden)]
    pub const fn __embedded_verified(
        migrations: &'static [Migration],
        schema: &'static [SchemaObject],
    ) -> Migrations {
        Migrations {
            migrations: Cow::Borrowed(migrations),
            schema: Some(Schema::__embedded(schema)),
        }
    }

    /// A set of migrations already validated and in version order (by
    /// `folder::read_folder`), for `embed_migrations!`'s build-time
    /// verification; not public API.
    #[doc(hidden)]
    pub fn __validated(migrations: Vec<Migration>) -> Migrations {
        Migrations {
            migrations: Cow::Owned(migrations),
            schema: None,
        }
    }

    /// The schema these migrations produce on an empty database, when
    /// `embed_migrations!` verified them at build time; `None` for a set read
    /// at run time, embedded with `verify = false`, or with Rust migrations
    /// (whose code cannot run at build time).
    pub fn embedded_schema(&self) -> Option<&Schema> {
        self.schema.as_ref()
    }

    /// Reads and validates a migrations folder at run time, with the same
    /// grammar and checks as `embed_migrations!`.
    ///
    /// # Errors
    ///
    /// [`FolderError`] listing every problem; see [`folder`](crate::folder).
    pub fn from_folder(dir: impl AsRef<Path>) -> Result<Migrations, FolderError> {
        let dir = dir.as_ref();
        Migrations::read_folder(dir, dir)
    }

    /// [`from_folder`](Migrations::from_folder), with messages naming the
    /// folder `shown_as` (the macro reads the folder the user wrote,
    /// resolved against the crate's `CARGO_MANIFEST_DIR`).
    ///
    /// # Errors
    ///
    /// As [`from_folder`](Migrations::from_folder).
    pub fn read_folder(dir: &Path, shown_as: &Path) -> Result<Migrations, FolderError> {
        let files = folder::read_folder(dir, shown_as)?;
        Ok(Migrations::__validated(Migration::from_folder(files)))
    }

    /// [`read_folder`](Migrations::read_folder) of a folder in another
    /// tool's layout: `options` names the [`Format`](crate::formats::Format)
    /// (the default is `migrate`'s own grammar) and Flyway's placeholder
    /// values; see [`formats`](crate::formats) for each tool's rules and how
    /// its versions map.
    ///
    /// # Errors
    ///
    /// [`FolderError`] listing every problem, each naming its file, and the
    /// tool where it is that tool's rule.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use migrate_core::Migrations;
    /// use migrate_core::formats::{Format, ReadOptions};
    /// let dir = tempfile::tempdir()?;
    /// let folder = dir.path().join("2024-01-31-120000_create_users");
    /// std::fs::create_dir(&folder)?;
    /// std::fs::write(folder.join("up.sql"), "CREATE TABLE users (id INTEGER PRIMARY KEY);")?;
    /// std::fs::write(folder.join("down.sql"), "DROP TABLE users;")?;
    /// let set = Migrations::read_folder_as(dir.path(), dir.path(), &ReadOptions::new(Format::Diesel))?;
    /// assert_eq!(set.latest_version(), Some(20240131120000));
    /// assert_eq!(set.as_slice()[0].down_file(), Some("2024-01-31-120000_create_users/down.sql"));
    /// # Ok(()) }
    /// ```
    pub fn read_folder_as(
        dir: &Path,
        shown_as: &Path,
        options: &crate::formats::ReadOptions,
    ) -> Result<Migrations, FolderError> {
        let files = crate::formats::read_folder_as(dir, shown_as, options)?;
        Ok(Migrations::__validated(Migration::from_folder(files)))
    }

    /// The migrations in version order.
    pub fn as_slice(&self) -> &[Migration] {
        &self.migrations
    }

    /// Iterates the migrations in version order.
    pub fn iter(&self) -> std::slice::Iter<'_, Migration> {
        self.migrations.iter()
    }

    /// Number of migrations.
    pub fn len(&self) -> usize {
        self.migrations.len()
    }

    /// Whether there are none (never, for a set from the macro or a folder).
    pub fn is_empty(&self) -> bool {
        self.migrations.is_empty()
    }

    /// The migration with this version; a binary search, O(log n).
    pub fn get(&self, version: u64) -> Option<&Migration> {
        self.position(version).map(|index| &self.migrations[index])
    }

    /// The highest version in the set.
    pub fn latest_version(&self) -> Option<u64> {
        self.migrations.last().map(Migration::version)
    }

    pub(crate) fn position(&self, version: u64) -> Option<usize> {
        self.migrations
            .binary_search_by_key(&version, Migration::version)
            .ok()
    }
}

impl<'a> IntoIterator for &'a Migrations {
    type Item = &'a Migration;
    type IntoIter = std::slice::Iter<'a, Migration>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}
