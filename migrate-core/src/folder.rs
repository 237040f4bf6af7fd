//! The one grammar of a migrations folder, shared by `embed_migrations!` (at
//! build time) and the CLI (at run time), so the two can never disagree about
//! what a folder means.
//!
//! # File names
//!
//! | pattern                       | meaning                                   |
//! |-------------------------------|-------------------------------------------|
//! | `<version>_<name>.sql`        | an up migration that has no down          |
//! | `<version>_<name>.up.sql`     | an up migration that may have a down      |
//! | `<version>_<name>.down.sql`   | the down of the `.up.sql` with that version and name |
//! | `V<version>__<name>.sql`      | an up migration, Flyway and refinery style |
//! | `<version>_<name>.rs`         | a Rust migration: `pub fn up`, and optionally `pub fn down` |
//!
//! `<version>` is ASCII digits for an integer from 1 to 9223372036854775807
//! (the largest SQLite `INTEGER`); leading zeros are allowed, so `0007` is 7.
//! `<name>` is any non-empty text. Names starting with `.` (hidden files,
//! editor state) and `README`, `readme`, … are ignored. Anything else —
//! another extension, a subfolder, a name that does not match, a
//! `V<version>__<name>.rs`, `.up.rs` or `.down.rs` — is an error, never
//! silently skipped, so a typo cannot hide a migration.
//!
//! # Folder rules
//!
//! Every file is UTF-8 and holds more than whitespace (a comment-only SQL file
//! is a valid, intentional no-op, unless it is still exactly the
//! [`template`](crate::template) `migrate new` wrote). No two up files share a version
//! (`0001_a.sql` and `1_b.sql` both claim 1, and so do `0003_x.sql` and
//! `0003_y.rs`). Every down file has its `.up.sql`; a Rust migration has no
//! `.down.sql`, its down is `pub fn down` in the `.rs` file. Versions are
//! either all 14-digit UTC timestamps (`20240131120000`), which may have gaps,
//! or sequential from the lowest one without gaps; SQL and Rust migrations
//! share one sequence.
//!
//! # Directives
//!
//! An up or down `.sql` file whose first line is `-- migrate:no-transaction`
//! runs outside a transaction. Any other `-- migrate:` comment line, or the
//! directive below the first line, is an error; see [`directive`](crate::directive).
//!
//! # Other tools' formats
//!
//! A `.sql` file with a line that marks an up or down section of goose,
//! dbmate, sql-migrate, micrate, tern or another tool (`-- +goose Down`,
//! `-- migrate:down`, `-- +<word> Down`, …) is an error, one per file naming
//! its first such line: run as one up migration, it would run its down too.
//! See [`other_tools`](crate::other_tools).
//!
//! # Rust migrations
//!
//! A `<version>_<name>.rs` file is compiled into the crate by
//! `embed_migrations!` as a module, and must declare, at the start of a line:
//!
//! ```ignore
//! pub fn up(tx: &rusqlite::Transaction<'_>) -> Result<(), E>
//! ```
//!
//! and may declare `pub fn down` with the same signature, where `E` is any
//! error that converts into [`BoxError`](crate::BoxError) (`rusqlite::Error`,
//! `anyhow::Error`, `String`, …). Both run inside the migration's
//! transaction. They are found by a scan of the text, not by parsing Rust: a
//! line that, after leading whitespace, starts with `pub fn up(` (or
//! `pub fn up<'a>(`, spaces allowed before the `(`; or `pub async fn up(`
//! for the async PostgreSQL client); the same for `down`. On PostgreSQL
//! (`embed_migrations!(.., engine = "postgres")`) the functions take `&mut
//! postgres::Transaction<'_>`; with `engine = "tokio-postgres"` they are
//! `async fn`s taking `&mut tokio_postgres::Transaction<'_>`. The
//! checksum of a Rust migration is that of the whole `.rs` file. Read at run
//! time by [`Migrations::from_folder`](crate::Migrations::from_folder), a Rust
//! migration has no code ([`Migration::is_runnable`](crate::Migration::is_runnable) is false).

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::checksum::Checksum;
use crate::directive::{DirectiveError, parse_directives, without_bom};
use crate::other_tools::{OtherToolMarker, find_other_tool};
use crate::template::is_untouched_template;

/// The accepted file name patterns, as shown in error messages.
pub const ACCEPTED_PATTERNS: &str = "`<version>_<name>.sql`, `<version>_<name>.up.sql` with an optional `<version>_<name>.down.sql`, `V<version>__<name>.sql`, or `<version>_<name>.rs` for a Rust migration";

/// The signature of a Rust migration's `up` (and `down`), as shown in error
/// messages.
const RUST_SIGNATURE: &str = "pub fn up(tx: &rusqlite::Transaction<'_>) -> Result<(), E>";

/// The largest version: SQLite's largest `INTEGER`, 2^63 - 1.
pub const MAX_VERSION: u64 = i64::MAX as u64;

/// Number of digits of a timestamp version such as `20240131120000`.
const TIMESTAMP_DIGITS: usize = 14;

/// What a migration file is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRole {
    /// `<version>_<name>.sql` or `V<version>__<name>.sql`: an up without a down.
    Up,
    /// `<version>_<name>.up.sql`: an up that may have a down file.
    ReversibleUp,
    /// `<version>_<name>.down.sql`: reverts the `.up.sql` of the same version.
    Down,
    /// `<version>_<name>.rs`: a Rust migration, with `pub fn up` and
    /// optionally `pub fn down`.
    Rust,
}

/// A migration file name, read by [`parse_file_name`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileName {
    /// The version, 1 to [`MAX_VERSION`].
    pub version: u64,
    /// How many digits the version was written with, leading zeros included
    /// (`0007` has 4): the folder's zero-padding, and 14 in a timestamp folder.
    pub digits: usize,
    /// The name after the version, without the extension.
    pub name: String,
    /// Up, reversible up, down or Rust.
    pub role: FileRole,
}

impl FileName {
    /// The version as the file name writes it, with its zero-padding:
    /// `0007` for version 7 written with 4 digits.
    pub fn padded_version(&self) -> String {
        format!("{:0w$}", self.version, w = self.digits)
    }
}

/// Why a file name is not a migration file name.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FileNameError {
    /// It matches none of the [`ACCEPTED_PATTERNS`].
    #[error(
        "not a migration file name; use {ACCEPTED_PATTERNS} (hidden files and README* are ignored)"
    )]
    NotAMigration,
    /// The version is 0.
    #[error("version 0 is not allowed; versions start at 1")]
    ZeroVersion,
    /// The version does not fit SQLite's `INTEGER`.
    #[error(
        "the version is larger than {MAX_VERSION}, the largest SQLite INTEGER; renumber the file"
    )]
    VersionTooLarge,
    /// Nothing follows the version.
    #[error("the name after the version is empty; use e.g. `0001_create_users.sql`")]
    EmptyName,
}

/// Whether a folder entry is ignored: hidden (starts with `.`) or a README
/// (starts with `README`, in any case).
pub fn is_ignored(file_name: &str) -> bool {
    let start: String = file_name.chars().take("readme".len()).collect();
    file_name.starts_with('.') || start.eq_ignore_ascii_case("readme")
}

/// Reads a file name with the folder grammar.
///
/// Returns `Ok(None)` for a name that [`is_ignored`], `Ok(Some(_))` for a
/// migration file.
///
/// # Errors
///
/// [`FileNameError`] when the name matches no pattern, has version 0 or a
/// version above [`MAX_VERSION`], or has an empty name.
///
/// # Examples
///
/// ```
/// use migrate_core::folder::{parse_file_name, FileRole};
/// let file = parse_file_name("0007_add_email.up.sql").unwrap().unwrap();
/// assert_eq!((file.version, file.digits, file.name.as_str()), (7, 4, "add_email"));
/// assert_eq!(file.role, FileRole::ReversibleUp);
/// assert_eq!(parse_file_name("V2__seed.sql").unwrap().unwrap().version, 2);
/// assert_eq!(parse_file_name("0003_backfill.rs").unwrap().unwrap().role, FileRole::Rust);
/// assert!(parse_file_name("README.md").unwrap().is_none());
/// assert!(parse_file_name("notes.txt").is_err());
/// ```
pub fn parse_file_name(file_name: &str) -> Result<Option<FileName>, FileNameError> {
    if is_ignored(file_name) {
        return Ok(None);
    }
    let (stem, role) = if let Some(stem) = file_name.strip_suffix(".down.sql") {
        (stem, FileRole::Down)
    } else if let Some(stem) = file_name.strip_suffix(".up.sql") {
        (stem, FileRole::ReversibleUp)
    } else if let Some(stem) = file_name.strip_suffix(".sql") {
        (stem, FileRole::Up)
    } else if let Some(stem) = file_name.strip_suffix(".rs") {
        // Up and down live in the one `.rs` file.
        if stem.ends_with(".up") || stem.ends_with(".down") {
            return Err(FileNameError::NotAMigration);
        }
        (stem, FileRole::Rust)
    } else {
        return Err(FileNameError::NotAMigration);
    };
    // Flyway style: `V<digits>__<name>.sql`, up only.
    let (digits, name) = match stem.strip_prefix('V') {
        Some(rest) if role == FileRole::Up => split_version(rest, "__")?,
        Some(_) => return Err(FileNameError::NotAMigration),
        None => split_version(stem, "_")?,
    };
    let version = match digits.parse::<u64>() {
        Ok(0) => return Err(FileNameError::ZeroVersion),
        Ok(version) if version <= MAX_VERSION => version,
        // Only digits reach here, so a parse error is an overflow.
        _ => return Err(FileNameError::VersionTooLarge),
    };
    if name.is_empty() {
        return Err(FileNameError::EmptyName);
    }
    Ok(Some(FileName {
        version,
        digits: digits.len(),
        name: name.to_owned(),
        role,
    }))
}

/// Splits `<digits><separator><name>`; the digits are ASCII and non-empty.
fn split_version<'a>(stem: &'a str, separator: &str) -> Result<(&'a str, &'a str), FileNameError> {
    let end = stem
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(stem.len());
    let (digits, rest) = stem.split_at(end);
    match rest.strip_prefix(separator) {
        Some(name) if !digits.is_empty() => Ok((digits, name)),
        _ if !digits.is_empty() && rest.is_empty() => Err(FileNameError::EmptyName),
        _ => Err(FileNameError::NotAMigration),
    }
}

/// One problem found in a migrations folder. Paths are shown as the folder was
/// named by the caller joined with the file name (`migrations/0002_a.sql`).
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum FolderProblem {
    /// The folder does not exist.
    #[error(
        "migrations folder `{}` not found (resolved to `{}`): create it or correct the path",
        folder.display(), resolved.display()
    )]
    MissingFolder {
        /// The folder as named by the caller.
        folder: PathBuf,
        /// The path that was looked up, made absolute with `..` and symbolic
        /// links resolved as far as it exists.
        resolved: PathBuf,
    },
    /// The path exists but is not a folder.
    #[error(
        "`{}` is not a folder (resolved to `{}`): name the folder that holds the `.sql` files",
        folder.display(), resolved.display()
    )]
    NotAFolder {
        /// The path as named by the caller.
        folder: PathBuf,
        /// The path that was looked up, made absolute with `..` and symbolic
        /// links resolved as far as it exists.
        resolved: PathBuf,
    },
    /// The folder or a file could not be read.
    #[error("cannot read `{}`: {error}", path.display())]
    Unreadable {
        /// The folder or file.
        path: PathBuf,
        /// The I/O error, its message part of this problem's (so it is not
        /// its `source`).
        error: io::Error,
    },
    /// The folder holds no migration.
    #[error(
        "no migrations in `{}`: add a file such as `{}` (accepted names: {ACCEPTED_PATTERNS})",
        folder.display(), folder.join("0001_create_users.sql").display()
    )]
    NoMigrations {
        /// The folder as named by the caller.
        folder: PathBuf,
    },
    /// A name the grammar does not accept.
    #[error("`{}`: {reason}", file.display())]
    BadFileName {
        /// The file.
        file: PathBuf,
        /// What is wrong with its name.
        reason: FileNameError,
    },
    /// A file name that is not UTF-8.
    #[error("`{}`: the file name is not valid UTF-8; rename it", file.display())]
    NonUtf8FileName {
        /// The file, its name shown lossily.
        file: PathBuf,
    },
    /// A folder inside the migrations folder.
    #[error(
        "`{}` is a subfolder: a migrations folder is flat; move its files up or out of the folder",
        path.display()
    )]
    Subfolder {
        /// The subfolder.
        path: PathBuf,
    },
    /// Several up files (or several down files) claim one version.
    #[error(
        "duplicate version {version}: {} each claim it; give every migration its own version",
        list(files)
    )]
    DuplicateVersion {
        /// The version.
        version: u64,
        /// Every file that claims it.
        files: Vec<PathBuf>,
    },
    /// Versions missing in a sequential folder.
    #[error(
        "{} missing between `{}` and `{}`: sequential versions must not have gaps; add the missing migration or renumber the later files",
        versions(*first, *last), before.display(), after.display()
    )]
    Gap {
        /// The first missing version.
        first: u64,
        /// The last missing version (equal to `first` for one).
        last: u64,
        /// The file just before the gap.
        before: PathBuf,
        /// The file just after the gap.
        after: PathBuf,
    },
    /// Timestamp versions and sequential versions in one folder.
    #[error(
        "`{}` has a 14-digit timestamp version but `{}` has a sequential one: use one scheme per folder",
        timestamp.display(), sequential.display()
    )]
    MixedVersionSchemes {
        /// A file with a timestamp version.
        timestamp: PathBuf,
        /// A file with a sequential version.
        sequential: PathBuf,
    },
    /// A down file without its up file.
    #[error("`{}` is a down migration without its up: {fix}", file.display())]
    OrphanDown {
        /// The down file.
        file: PathBuf,
        /// The up file with its version, when there is one (of another name,
        /// or without `.up`).
        found: Option<PathBuf>,
        /// What to rename, add or delete.
        fix: String,
    },
    /// An empty or whitespace-only file.
    #[error("`{}` is empty or only whitespace: {}", file.display(), empty_fix(file, *down))]
    EmptyFile {
        /// The file.
        file: PathBuf,
        /// Whether it is a down file.
        down: bool,
    },
    /// A file whose content is not UTF-8.
    #[error(
        "`{}` is not valid UTF-8 (first invalid byte at offset {offset}): save it as UTF-8",
        file.display()
    )]
    NonUtf8 {
        /// The file.
        file: PathBuf,
        /// Byte offset of the first invalid byte.
        offset: usize,
    },
    /// A `-- migrate:` comment in a `.sql` file that is not a directive, or
    /// a directive below the first line; see [`directive`](crate::directive).
    #[error("`{}`, {problem}", file.display())]
    BadDirective {
        /// The `.sql` file.
        file: PathBuf,
        /// What is wrong, and on which line.
        problem: DirectiveError,
    },
    /// A `.sql` file in another tool's one-file format, which would run its
    /// down section too; see [`other_tools`](crate::other_tools). Only its
    /// first marker line is reported.
    #[error(
        "`{}`, line {}: `{}` is {}; {}",
        file.display(), marker.line, marker.text, marker.tool.marker(), other_tool_fix(&marker.tool, up, down)
    )]
    OtherToolsFormat {
        /// The `.sql` file.
        file: PathBuf,
        /// Its first marker line.
        marker: OtherToolMarker,
        /// The `.up.sql` file name to move its up section into.
        up: String,
        /// The `.down.sql` file name to move its down section into.
        down: String,
    },
    /// A `.sql` file still exactly as `migrate new` wrote it; see
    /// [`template`](crate::template).
    #[error(
        "`{}` is still the template `migrate new` wrote: {}",
        file.display(),
        if *down {
            "write the down's SQL below its comments, or delete the file to leave the migration without a down"
        } else {
            "write the migration's SQL below its comments, or delete the file"
        }
    )]
    UntouchedTemplate {
        /// The `.sql` file.
        file: PathBuf,
        /// Whether it is a down file.
        down: bool,
    },
    /// Something in the folder that is not a regular file or a folder (a
    /// named pipe, a socket, a device, or a symlink to one).
    #[error(
        "`{}` is not a regular file (a named pipe, socket or device?): move it out of the migrations folder",
        path.display()
    )]
    NotAFile {
        /// The entry.
        path: PathBuf,
    },
    /// A `.sql` file with a `--` comment followed by a carriage return that
    /// is not followed by a line feed (old Mac line endings). SQLite ends a
    /// `--` comment only at a line feed
    /// (<https://www.sqlite.org/lang_comment.html>), so the statements after
    /// it on the following "lines" would silently not run.
    #[error(
        "`{}`, line {line}: a `--` comment ends with a carriage return but no line feed; SQLite ends such a comment only at a line feed, so the statements after it would silently not run: save the file with LF or CRLF line endings",
        file.display()
    )]
    LoneCarriageReturn {
        /// The `.sql` file.
        file: PathBuf,
        /// The 1-based line (counting line feeds) of the first one.
        line: usize,
    },
    /// A `.sql` file holding a NUL byte. SQLite reads SQL text only up to
    /// its first NUL (<https://www.sqlite.org/c3ref/prepare.html>: the text
    /// ends at the first zero terminator), so everything after it, inside a
    /// string literal or not, would silently not run.
    #[error(
        "`{}`, line {line}: a NUL byte (at byte {offset}); SQLite reads SQL only up to a NUL byte, so everything after it would silently not run: remove it (write `char(0)` for a NUL in a value)",
        file.display()
    )]
    NulByte {
        /// The `.sql` file.
        file: PathBuf,
        /// The 1-based line of the first NUL byte.
        line: usize,
        /// Its byte offset in the file.
        offset: usize,
    },
    /// A file another tool's reader ([`Format`](crate::formats::Format))
    /// refuses: what that tool would do differently or refuse itself, and
    /// the fix.
    #[error("`{}`: {message}", file.display())]
    Format {
        /// The file or migration folder.
        file: PathBuf,
        /// The format it was read with.
        format: crate::formats::Format,
        /// What is wrong, naming the tool, and the fix.
        message: String,
    },
    /// A `.rs` file without a `pub fn up` line.
    #[error(
        "`{}` has no `pub fn up`: a Rust migration declares `{RUST_SIGNATURE}` at the start of a line, where E converts into `migrate::BoxError`, and optionally `pub fn down` with the same signature (on PostgreSQL the transaction is `&mut postgres::Transaction<'_>`, or with tokio-postgres `pub async fn up(tx: &mut tokio_postgres::Transaction<'_>)`)",
        file.display()
    )]
    MissingRustUp {
        /// The `.rs` file.
        file: PathBuf,
    },
    /// A `.down.sql` file with the version of a Rust migration.
    #[error(
        "`{}` is a SQL down for the Rust migration `{}`: write the down in the `.rs` file as `pub fn down` with the signature of `pub fn up`, and delete the `.down.sql`",
        file.display(), rust.display()
    )]
    DownBesideRust {
        /// The `.down.sql` file.
        file: PathBuf,
        /// The `.rs` file with its version.
        rust: PathBuf,
    },
}

/// How to read or rewrite a file in another tool's one-file format: the
/// `format` that reads it as that tool does, when there is one.
fn other_tool_fix(tool: &crate::other_tools::OtherTool, up: &str, down: &str) -> String {
    use crate::other_tools::OtherTool;
    let split = format!(
        "move the up section into `{up}` and the down section, if any, into `{down}`, without the markers"
    );
    match tool {
        OtherTool::Goose | OtherTool::Dbmate => format!(
            "looks like {tool}: use format = \"{tool}\" in `embed_migrations!` (`--folder-format {tool}` on the command line) to read the folder as {tool} does; read as plain SQL, the whole file, its down section too, would run as one up migration (or {split})"
        ),
        _ => format!(
            "`migrate` does not read {tool}'s format yet, and would run the whole file, its down section too, as one up migration: {split}"
        ),
    }
}

/// How to fix an empty file: SQL or Rust to write, or a down to delete.
fn empty_fix(file: &Path, down: bool) -> String {
    if file.extension().is_some_and(|ext| ext == "rs") {
        format!("declare `{RUST_SIGNATURE}` in it")
    } else if down {
        "write the migration's SQL, or a comment if it is meant to do nothing (or delete it to make the migration irreversible)".to_owned()
    } else {
        "write the migration's SQL, or a comment if it is meant to do nothing".to_owned()
    }
}

fn list(files: &[PathBuf]) -> String {
    let names: Vec<String> = files.iter().map(|f| format!("`{}`", f.display())).collect();
    names.join(", ")
}

fn versions(first: u64, last: u64) -> String {
    match last - first {
        0 => format!("version {first} is"),
        1 => format!("versions {first} and {last} are"),
        _ => format!("versions {first} to {last} are"),
    }
}

/// Every problem found in a migrations folder; see [`FolderProblem`].
#[derive(Debug)]
pub struct FolderError {
    folder: PathBuf,
    problems: Vec<FolderProblem>,
}

impl FolderError {
    /// The folder, as named by the caller.
    pub fn folder(&self) -> &Path {
        &self.folder
    }

    /// The problems, at least one: those of single files in file name order,
    /// then those across files (duplicates, orphan downs, gaps).
    pub fn problems(&self) -> &[FolderProblem] {
        &self.problems
    }
}

impl fmt::Display for FolderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems.as_slice() {
            [one] => write!(f, "{one}"),
            many => {
                write!(
                    f,
                    "{} problems in migrations folder `{}`:",
                    many.len(),
                    self.folder.display()
                )?;
                many.iter()
                    .try_for_each(|problem| write!(f, "\n  - {problem}"))
            }
        }
    }
}

impl std::error::Error for FolderError {}

/// The problems found so far in a migrations folder, pushed by each step of
/// [`read_folder`] and turned into its result by [`Problems::check`], which
/// must be called: dropped unchecked, the problems would be lost, so `Drop`
/// panics in debug builds (and tests). Modelled on serde_derive's
/// `internals/ctxt.rs`.
pub(crate) struct Problems {
    found: Vec<FolderProblem>,
    checked: bool,
}

impl Problems {
    pub(crate) fn new() -> Self {
        Problems {
            found: Vec::new(),
            checked: false,
        }
    }

    /// Records one more problem, after those already found.
    pub(crate) fn push(&mut self, problem: FolderProblem) {
        self.found.push(problem);
    }

    /// Whether nothing has been found so far.
    pub(crate) fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// `Err` with every problem, in the order they were pushed, when there
    /// is one; `folder` names the folder as the caller did.
    pub(crate) fn check(mut self, folder: &Path) -> Result<(), FolderError> {
        self.checked = true;
        let problems = std::mem::take(&mut self.found);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(FolderError {
                folder: folder.to_owned(),
                problems,
            })
        }
    }
}

impl Drop for Problems {
    fn drop(&mut self) {
        // A forgotten check is a bug in this file, not in the user's folder:
        // debug builds and tests panic to show it, release builds do not.
        if cfg!(debug_assertions) && !self.checked && !std::thread::panicking() {
            panic!(
                "a migrations folder's `Problems` was dropped without `Problems::check`, losing {} problem(s)",
                self.found.len()
            );
        }
    }
}

/// A migration file read from the folder.
struct Entry {
    shown: PathBuf,
    file_name: String,
    parsed: FileName,
    /// `None` when the content has a problem (already reported).
    body: Option<Body>,
}

/// The content of a migration file, as in the file: a leading byte order mark
/// is kept (the checksum and the SQL remove it).
enum Body {
    /// A `.sql` file and its `-- migrate:no-transaction` directive.
    Sql { text: String, no_transaction: bool },
    /// A `.rs` file, and whether it declares `pub fn down`.
    Rust { text: String, down: bool },
}

/// One migration as a valid folder has it: the grammar's output, which the
/// model turns into a [`Migration`](crate::Migration) (see
/// [`Migrations::from_folder`](crate::Migrations::from_folder)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FolderMigration {
    /// The version.
    pub version: u64,
    /// The name after the version.
    pub name: String,
    /// The up file's name (`0004_add_email.sql`, `0005_backfill.rs`).
    pub file: String,
    /// The up.
    pub up: Step,
    /// The down's file and the down: a `.down.sql`, or for a Rust migration
    /// with `pub fn down` its own `.rs` file.
    pub down: Option<(String, Step)>,
    /// The checksum of the up file (or of the `.rs` file); see
    /// [`Checksum::of_text`].
    pub checksum: Checksum,
    /// The up file's text as the file holds it, when the up's SQL is not
    /// all of it: a leading byte order mark, the up section of a goose or
    /// dbmate file, Flyway's `${placeholder}`s before replacement. `None`
    /// when the SQL is the whole file, and for a Rust migration. Another
    /// tool's checksum is of this text (see
    /// [`other_tables`](crate::other_tables)).
    pub up_file_text: Option<String>,
}

/// The up or the down of a [`FolderMigration`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// A `.sql` file.
    Sql {
        /// Its text, a leading byte order mark removed.
        sql: String,
        /// Whether its first line is `-- migrate:no-transaction`.
        no_transaction: bool,
    },
    /// A function of a `.rs` file, whose code only the macro compiles in.
    Rust,
}

/// Reads and validates a migrations folder.
///
/// `dir` is the folder to read; `shown_as` is how messages name it (the macro
/// passes the path the user wrote, `dir` being that path resolved against the
/// crate's `CARGO_MANIFEST_DIR`). Returns the migrations in version order, SQL
/// with a leading byte order mark removed, checksums computed.
///
/// # Errors
///
/// [`FolderError`] with every problem found, not just the first; see
/// [`FolderProblem`] for each rule.
pub fn read_folder(dir: &Path, shown_as: &Path) -> Result<Vec<FolderMigration>, FolderError> {
    let mut problems = Problems::new();
    let mut bad_names = BTreeMap::new();
    let entries = read_entries(dir, shown_as, &mut problems, &mut bad_names);
    let Versions { ups, downs } = group_by_version(entries);
    check_has_migrations(&ups, &downs, shown_as, &mut problems);
    check_unique_versions(&ups, &downs, &mut problems);
    let downs = pair_downs(downs, &ups, &mut problems);
    if check_one_version_scheme(&ups, &mut problems) == VersionScheme::Sequential {
        check_no_gaps(&ups, &bad_names, &mut problems);
    }
    problems.check(shown_as)?;
    Ok(build_migrations(ups, downs))
}

/// Where a path really is, for a message: its longest part that exists made
/// absolute, with `..` and symbolic links resolved, and the rest appended
/// (its `..` taken away lexically: what does not exist is not a link).
pub(crate) fn resolved(path: &Path) -> PathBuf {
    let mut existing = path;
    // The components that do not exist, innermost first.
    let mut rest = Vec::new();
    loop {
        let probe = if existing.as_os_str().is_empty() {
            Path::new(".")
        } else {
            existing
        };
        if let Ok(mut real) = probe.canonicalize() {
            for part in rest.iter().rev() {
                match part {
                    Component::ParentDir => {
                        real.pop();
                    }
                    Component::CurDir => {}
                    part => real.push(part),
                }
            }
            return real;
        }
        match (existing.components().next_back(), existing.parent()) {
            (Some(last), Some(parent)) => {
                rest.push(last);
                existing = parent;
            }
            _ => return path.to_owned(),
        }
    }
}

/// Lists the folder and reads every migration file, recording problems with
/// names, kinds and contents. A bad name that still starts with a version
/// (`0002_b.txt`) goes into `bad_names`, so that version is not also reported
/// as a gap.
fn read_entries(
    dir: &Path,
    shown_as: &Path,
    problems: &mut Problems,
    bad_names: &mut BTreeMap<u64, PathBuf>,
) -> Vec<Entry> {
    match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            problems.push(FolderProblem::NotAFolder {
                folder: shown_as.to_owned(),
                resolved: resolved(dir),
            });
            return Vec::new();
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            problems.push(FolderProblem::MissingFolder {
                folder: shown_as.to_owned(),
                resolved: resolved(dir),
            });
            return Vec::new();
        }
        Err(error) => {
            problems.push(FolderProblem::Unreadable {
                path: shown_as.to_owned(),
                error,
            });
            return Vec::new();
        }
    }
    let listing = match fs::read_dir(dir) {
        Ok(listing) => listing,
        Err(error) => {
            problems.push(FolderProblem::Unreadable {
                path: shown_as.to_owned(),
                error,
            });
            return Vec::new();
        }
    };
    // With the entry's type as the listing gives it (no call per file on
    // most file systems); `None` when it must be asked (a symlink).
    let mut names = Vec::new();
    for item in listing {
        match item {
            Ok(item) => {
                let kind = item.file_type().ok().filter(|kind| !kind.is_symlink());
                names.push((item.file_name(), kind));
            }
            Err(error) => problems.push(FolderProblem::Unreadable {
                path: shown_as.to_owned(),
                error,
            }),
        }
    }
    names.sort_by(|a, b| a.0.cmp(&b.0));

    let mut entries = Vec::new();
    for (os_name, kind) in names {
        let shown = shown_as.join(&os_name);
        let Some(file_name) = os_name.to_str() else {
            problems.push(FolderProblem::NonUtf8FileName { file: shown });
            continue;
        };
        if is_ignored(file_name) {
            continue;
        }
        let path = dir.join(file_name);
        // `metadata` follows symlinks: a link to a file is read like the file.
        let kind = match kind {
            Some(kind) => Ok(kind),
            None => fs::metadata(&path).map(|meta| meta.file_type()),
        };
        match kind {
            Ok(kind) if kind.is_dir() => {
                problems.push(FolderProblem::Subfolder { path: shown });
                continue;
            }
            // A named pipe would block the read, a device never end it.
            Ok(kind) if !kind.is_file() => {
                problems.push(FolderProblem::NotAFile { path: shown });
                continue;
            }
            Ok(_) => {}
            Err(error) => {
                problems.push(FolderProblem::Unreadable { path: shown, error });
                continue;
            }
        }
        let parsed = match parse_file_name(file_name) {
            Ok(Some(parsed)) => parsed,
            Ok(None) => continue,
            Err(reason) => {
                if let Some(version) = leading_version(file_name) {
                    bad_names.entry(version).or_insert_with(|| shown.clone());
                }
                problems.push(FolderProblem::BadFileName {
                    file: shown,
                    reason,
                });
                continue;
            }
        };
        // A file whose content is unusable still claims its version, so it
        // does not also cause a gap, an orphan down or a missed duplicate.
        let body = read_text(&path, &shown, problems)
            .filter(|text| check_file_not_empty(text, &parsed, &shown, problems))
            .map(|text| read_body(text, &parsed, &shown, problems));
        entries.push(Entry {
            shown,
            file_name: file_name.to_owned(),
            parsed,
            body,
        });
    }
    entries
}

/// Rule: every file is readable and UTF-8. Returns the text as in the file,
/// a leading byte order mark included (the checksum removes it,
/// `Checksum::of_text`, and so does the SQL), or `None` when it is unusable.
pub(crate) fn read_text(path: &Path, shown: &Path, problems: &mut Problems) -> Option<String> {
    match fs::read(path).map(String::from_utf8) {
        Ok(Ok(text)) => Some(text),
        Ok(Err(error)) => {
            problems.push(FolderProblem::NonUtf8 {
                file: shown.to_owned(),
                offset: error.utf8_error().valid_up_to(),
            });
            None
        }
        Err(error) => {
            problems.push(FolderProblem::Unreadable {
                path: shown.to_owned(),
                error,
            });
            None
        }
    }
}

/// Rule: every file holds more than whitespace (a comment is enough). Returns
/// whether it does.
fn check_file_not_empty(
    text: &str,
    parsed: &FileName,
    shown: &Path,
    problems: &mut Problems,
) -> bool {
    // SQLite reads U+FEFF as whitespace anywhere in a script.
    let empty = text
        .trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
        .is_empty();
    if empty {
        problems.push(FolderProblem::EmptyFile {
            file: shown.to_owned(),
            down: parsed.role == FileRole::Down,
        });
    }
    !empty
}

/// Reads the directives of a `.sql` file or the steps of a `.rs` file,
/// recording their problems: a `.rs` file declares `pub fn up`; a `.sql` file
/// is neither the untouched template nor in another tool's format (either is
/// its one problem), and then has no NUL byte, no comment ended by a lone
/// carriage return, and valid directives.
fn read_body(text: String, parsed: &FileName, shown: &Path, problems: &mut Problems) -> Body {
    if parsed.role == FileRole::Rust {
        let steps = rust_steps(&text);
        if !steps.up {
            problems.push(FolderProblem::MissingRustUp {
                file: shown.to_owned(),
            });
        }
        return Body::Rust {
            text,
            down: steps.down,
        };
    }
    // One problem for such a file: what else it holds is not its migration.
    let whole_file = untouched_template(&text, parsed, shown)
        .or_else(|| other_tools_format(&text, parsed, shown));
    if let Some(problem) = whole_file {
        problems.push(problem);
        return Body::Sql {
            text,
            no_transaction: false,
        };
    }
    check_no_nul_byte(&text, shown, problems);
    check_no_lone_carriage_return(&text, shown, problems);
    let no_transaction = read_directives(&text, shown, problems);
    Body::Sql {
        text,
        no_transaction,
    }
}

/// Rule: a `.sql` file is not still exactly the template `migrate new` wrote.
fn untouched_template(text: &str, parsed: &FileName, shown: &Path) -> Option<FolderProblem> {
    is_untouched_template(parsed, text).then(|| FolderProblem::UntouchedTemplate {
        file: shown.to_owned(),
        down: parsed.role == FileRole::Down,
    })
}

/// Rule: a `.sql` file has no line marking another tool's up or down section
/// (`-- +goose Down`, `-- migrate:down`, …); the first one is reported.
fn other_tools_format(text: &str, parsed: &FileName, shown: &Path) -> Option<FolderProblem> {
    find_other_tool(text).map(|marker| FolderProblem::OtherToolsFormat {
        file: shown.to_owned(),
        marker,
        up: with_suffix(parsed, ".up.sql"),
        down: with_suffix(parsed, ".down.sql"),
    })
}

/// Rule: a `.sql` file holds no NUL byte, where SQLite would stop reading;
/// the first one is reported.
pub(crate) fn check_no_nul_byte(text: &str, shown: &Path, problems: &mut Problems) {
    if let Some(offset) = text.find('\0') {
        problems.push(FolderProblem::NulByte {
            file: shown.to_owned(),
            line: text[..offset].matches('\n').count() + 1,
            offset,
        });
    }
}

/// Rule: no `--` comment in a `.sql` file ends at a carriage return without
/// a line feed, where SQLite would read on into the next line; the first one
/// is reported.
pub(crate) fn check_no_lone_carriage_return(text: &str, shown: &Path, problems: &mut Problems) {
    if let Some(line) = comment_swallowing_a_line(text) {
        problems.push(FolderProblem::LoneCarriageReturn {
            file: shown.to_owned(),
            line,
        });
    }
}

/// Rule: the one `-- migrate:` line a `.sql` file may hold is
/// `-- migrate:no-transaction`, as its first line; every other one is
/// reported. Returns whether the file runs outside a transaction (`false`
/// when its directives have problems).
fn read_directives(text: &str, shown: &Path, problems: &mut Problems) -> bool {
    match parse_directives(text) {
        Ok(directives) => directives.no_transaction,
        Err(errors) => {
            for problem in errors {
                problems.push(FolderProblem::BadDirective {
                    file: shown.to_owned(),
                    problem,
                });
            }
            false
        }
    }
}

/// The 1-based line (counting line feeds) of the first `--` comment that a
/// carriage return without a line feed would extend: SQLite's comment runs to
/// the next line feed (<https://www.sqlite.org/lang_comment.html>), past what
/// an editor showing old Mac line endings displays as the end of the line.
///
/// A small lexer of SQLite's tokens that can hold `--`: string literals and
/// quoted identifiers (`'…'`, `"…"`, `` `…` ``, `[…]`) and block comments. A
/// lone carriage return anywhere else is whitespace to SQLite, and fine.
fn comment_swallowing_a_line(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    // Most files have no carriage return at all. The search is the standard
    // library's `memchr`, compiled optimized even where this crate is not: a
    // proc macro's build dependencies are at opt-level 0.
    if !bytes.contains(&b'\r') {
        return None;
    }
    let mut line = 1;
    let mut i = 0;
    // Skips to just after the first `end` at or after `from`.
    let skip_to = |from: usize, end: &[u8]| {
        bytes[from..]
            .windows(end.len())
            .position(|w| w == end)
            .map_or(bytes.len(), |at| from + at + end.len())
    };
    while i < bytes.len() {
        let next = match (bytes[i], bytes.get(i + 1)) {
            (b'-', Some(b'-')) => {
                let mut j = i + 2;
                while j < bytes.len() && bytes[j] != b'\n' {
                    if bytes[j] == b'\r' && bytes.get(j + 1) != Some(&b'\n') {
                        return Some(line);
                    }
                    j += 1;
                }
                j
            }
            (b'/', Some(b'*')) => skip_to(i + 2, b"*/"),
            (quote @ (b'\'' | b'"' | b'`'), _) => skip_to(i + 1, &[quote]),
            (b'[', _) => skip_to(i + 1, b"]"),
            _ => i + 1,
        };
        line += bytes[i..next].iter().filter(|&&b| b == b'\n').count();
        i = next;
    }
    None
}

/// Which steps a Rust migration declares.
#[derive(Debug, Default, PartialEq, Eq)]
struct RustSteps {
    up: bool,
    down: bool,
}

/// Finds `pub fn up` and `pub fn down` in a `.rs` file by its lines, not by
/// parsing Rust: a line that, after leading whitespace, is `pub fn up` or
/// `pub fn down` (or `pub async fn`, for an async client) followed by `(` or
/// `<` (spaces allowed between the words and before the bracket). A commented-out declaration (`// pub fn down(`) does
/// not count; one inside a block comment or a string does, and then rustc
/// reports what is missing when the macro compiles the file.
fn rust_steps(text: &str) -> RustSteps {
    /// `rest` without its leading whitespace, if it has some.
    fn after_space(rest: &str) -> Option<&str> {
        let trimmed = rest.trim_start();
        (trimmed.len() < rest.len()).then_some(trimmed)
    }
    /// The function a line declares, when it is `pub fn <name>(` or `<`.
    fn declared(line: &str) -> Option<&str> {
        let rest = after_space(line.trim_start().strip_prefix("pub")?)?;
        // `pub async fn`: a step for an async client (tokio-postgres).
        let rest = rest
            .strip_prefix("async")
            .and_then(after_space)
            .unwrap_or(rest);
        let rest = after_space(rest.strip_prefix("fn")?)?;
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let (name, rest) = rest.split_at(end);
        rest.trim_start().starts_with(['(', '<']).then_some(name)
    }
    let mut steps = RustSteps::default();
    for line in text.lines() {
        match declared(line) {
            Some("up") => steps.up = true,
            Some("down") => steps.down = true,
            _ => {}
        }
    }
    steps
}

/// The version a file name starts with (after an optional `V`), if any.
fn leading_version(file_name: &str) -> Option<u64> {
    let rest = file_name.strip_prefix('V').unwrap_or(file_name);
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end]
        .parse()
        .ok()
        .filter(|&v| v > 0 && v <= MAX_VERSION)
}

/// The migration files by version: up files (SQL and Rust) apart from down
/// files, each version with every file that claims it, in file name order.
struct Versions {
    ups: BTreeMap<u64, Vec<Entry>>,
    downs: BTreeMap<u64, Vec<Entry>>,
}

/// Groups the files by version, up files apart from down files.
fn group_by_version(entries: Vec<Entry>) -> Versions {
    let mut versions = Versions {
        ups: BTreeMap::new(),
        downs: BTreeMap::new(),
    };
    for entry in entries {
        let map = match entry.parsed.role {
            FileRole::Down => &mut versions.downs,
            FileRole::Up | FileRole::ReversibleUp | FileRole::Rust => &mut versions.ups,
        };
        map.entry(entry.parsed.version).or_default().push(entry);
    }
    versions
}

/// Rule: a folder holds at least one migration file. Reported only when
/// nothing else is wrong: a folder that cannot be read, or whose files all
/// have bad names, has said why already.
fn check_has_migrations(
    ups: &BTreeMap<u64, Vec<Entry>>,
    downs: &BTreeMap<u64, Vec<Entry>>,
    shown_as: &Path,
    problems: &mut Problems,
) {
    if ups.is_empty() && downs.is_empty() && problems.is_empty() {
        problems.push(FolderProblem::NoMigrations {
            folder: shown_as.to_owned(),
        });
    }
}

/// Rule: no two up files claim one version, and no two down files; the ups'
/// duplicates are reported first, each in version order.
fn check_unique_versions(
    ups: &BTreeMap<u64, Vec<Entry>>,
    downs: &BTreeMap<u64, Vec<Entry>>,
    problems: &mut Problems,
) {
    for (&version, claims) in ups.iter().chain(downs.iter()) {
        if claims.len() > 1 {
            problems.push(FolderProblem::DuplicateVersion {
                version,
                files: claims.iter().map(|e| e.shown.clone()).collect(),
            });
        }
    }
}

/// Rule: every down file has its `.up.sql`, of the same version and name; a
/// Rust migration's down is its `pub fn down`, never a `.down.sql`. A
/// duplicated version is left to [`check_unique_versions`]. Returns the down
/// files paired with their ups, by version.
fn pair_downs(
    downs: BTreeMap<u64, Vec<Entry>>,
    ups: &BTreeMap<u64, Vec<Entry>>,
    problems: &mut Problems,
) -> BTreeMap<u64, Entry> {
    let mut paired: BTreeMap<u64, Entry> = BTreeMap::new();
    for (version, mut claims) in downs {
        if claims.len() > 1 {
            continue; // reported as a duplicate
        }
        let Some(down) = claims.pop() else { continue };
        let up = ups.get(&version).filter(|claims| claims.len() == 1);
        match up.map(|claims| &claims[0]) {
            Some(up)
                if up.parsed.role == FileRole::ReversibleUp
                    && up.parsed.name == down.parsed.name =>
            {
                paired.insert(version, down);
            }
            Some(up) if up.parsed.role == FileRole::Rust => {
                problems.push(FolderProblem::DownBesideRust {
                    file: down.shown,
                    rust: up.shown.clone(),
                });
            }
            Some(up) => {
                let fix = rename_to_pair(version, up, &down);
                problems.push(FolderProblem::OrphanDown {
                    file: down.shown,
                    found: Some(up.shown.clone()),
                    fix,
                });
            }
            // With duplicate ups, the duplicate is the problem to fix first.
            None if ups.contains_key(&version) => {}
            None => {
                let fix = format!(
                    "add `{}` or delete the down file",
                    with_suffix(&down.parsed, ".up.sql")
                );
                problems.push(FolderProblem::OrphanDown {
                    file: down.shown,
                    found: None,
                    fix,
                });
            }
        }
    }
    paired
}

/// What to rename so that `down` pairs with `up`, the SQL up of its version
/// that is up-only (`.sql`) or has another name.
fn rename_to_pair(version: u64, up: &Entry, down: &Entry) -> String {
    match up.parsed.role {
        FileRole::ReversibleUp => format!(
            "the up of version {version} is `{}`; rename the down to `{}`",
            up.shown.display(),
            with_suffix(&up.parsed, ".down.sql")
        ),
        _ if up.parsed.name == down.parsed.name => format!(
            "`{}` is up-only; rename it to `{}` to pair them",
            up.shown.display(),
            with_suffix(&up.parsed, ".up.sql")
        ),
        _ => format!(
            "`{}` is up-only; rename it to `{}` and the down to `{}`",
            up.shown.display(),
            with_suffix(&up.parsed, ".up.sql"),
            with_suffix(&up.parsed, ".down.sql")
        ),
    }
}

/// `<version>_<name><suffix>`, the version with the file's zero-padding.
fn with_suffix(file: &FileName, suffix: &str) -> String {
    format!("{}_{}{suffix}", file.padded_version(), file.name)
}

/// How a folder numbers its migrations.
#[derive(Debug, PartialEq, Eq)]
enum VersionScheme {
    /// Every version a 14-digit UTC timestamp; gaps are allowed.
    Timestamps,
    /// No version of 14 digits (or no up file at all); gaps are not allowed.
    Sequential,
    /// Both, an error.
    Mixed,
}

/// Rule: one version scheme per folder, all 14-digit timestamps or all
/// sequential; a mix is reported naming the first up file of each.
fn check_one_version_scheme(
    ups: &BTreeMap<u64, Vec<Entry>>,
    problems: &mut Problems,
) -> VersionScheme {
    let first_of = |timestamp: bool| {
        ups.values()
            .map(|claims| &claims[0])
            .find(|e| (e.parsed.digits == TIMESTAMP_DIGITS) == timestamp)
    };
    match (first_of(true), first_of(false)) {
        (Some(timestamp), Some(sequential)) => {
            problems.push(FolderProblem::MixedVersionSchemes {
                timestamp: timestamp.shown.clone(),
                sequential: sequential.shown.clone(),
            });
            VersionScheme::Mixed
        }
        (Some(_), None) => VersionScheme::Timestamps,
        (None, _) => VersionScheme::Sequential,
    }
}

/// Rule: sequential versions have no gaps, from the lowest to the highest;
/// each gap is reported with the files either side. A version claimed by a
/// file with a bad name counts as present, its name being the problem.
fn check_no_gaps(
    ups: &BTreeMap<u64, Vec<Entry>>,
    bad_names: &BTreeMap<u64, PathBuf>,
    problems: &mut Problems,
) {
    let mut claimed = bad_names.clone();
    for (&version, claims) in ups {
        claimed.insert(version, claims[0].shown.clone());
    }
    let mut previous: Option<(u64, &PathBuf)> = None;
    for (&version, shown) in &claimed {
        if let Some((before, before_shown)) = previous
            && version > before + 1
        {
            problems.push(FolderProblem::Gap {
                first: before + 1,
                last: version - 1,
                before: before_shown.clone(),
                after: shown.clone(),
            });
        }
        previous = Some((version, shown));
    }
}

/// Builds the migrations of a folder without problems, in version order: the
/// SQL without its byte order mark, and the checksum of each up file.
fn build_migrations(
    ups: BTreeMap<u64, Vec<Entry>>,
    mut downs: BTreeMap<u64, Entry>,
) -> Vec<FolderMigration> {
    let mut migrations = Vec::with_capacity(ups.len());
    for (version, mut claims) in ups {
        let mut up_file_text = None;
        // Without problems, every version has one up, and every entry its body.
        let Some(Entry {
            file_name,
            parsed,
            body: Some(body),
            ..
        }) = claims.pop()
        else {
            continue;
        };
        let (text, up, down) = match body {
            Body::Sql {
                text,
                no_transaction,
            } => {
                let up = sql_step(&text, no_transaction);
                up_file_text = (without_bom(&text).len() != text.len()).then(|| text.clone());
                let down = match downs.remove(&version) {
                    Some(Entry {
                        file_name,
                        body:
                            Some(Body::Sql {
                                text,
                                no_transaction,
                            }),
                        ..
                    }) => Some((file_name, sql_step(&text, no_transaction))),
                    Some(_) => continue,
                    None => None,
                };
                (text, up, down)
            }
            Body::Rust { text, down } => {
                let down = down.then(|| (file_name.clone(), Step::Rust));
                (text, Step::Rust, down)
            }
        };
        migrations.push(FolderMigration {
            version,
            name: parsed.name,
            file: file_name,
            up,
            down,
            checksum: Checksum::of_text(&text),
            up_file_text,
        });
    }
    migrations
}

/// The step of a `.sql` file, without its byte order mark.
fn sql_step(text: &str, no_transaction: bool) -> Step {
    Step::Sql {
        sql: without_bom(text).to_owned(),
        no_transaction,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_carriage_return_matters_only_inside_a_line_comment() {
        for (sql, expected) in [
            ("CREATE TABLE a (x);\rCREATE TABLE b (x);", None),
            ("-- first\r\nCREATE TABLE a (x);", None),
            ("-- tables\rCREATE TABLE a (x);", Some(1)),
            ("SELECT 1;\n\n-- two\rSELECT 2;", Some(3)),
            ("SELECT '--\r';\nSELECT 1;", None),
            ("SELECT \"a--\r\";", None),
            ("/* -- \r */ SELECT 1;", None),
            ("SELECT [--\r];", None),
            ("SELECT 'it''s';\n-- x\r", Some(2)),
        ] {
            assert_eq!(comment_swallowing_a_line(sql), expected, "{sql:?}");
        }
    }

    fn name(file: &str) -> Result<Option<FileName>, FileNameError> {
        parse_file_name(file)
    }

    #[test]
    fn accepted_patterns() {
        let cases = [
            ("1_init.sql", 1, 1, "init", FileRole::Up),
            ("0007_add_email.sql", 7, 4, "add_email", FileRole::Up),
            ("12_a.up.sql", 12, 2, "a", FileRole::ReversibleUp),
            ("12_a.down.sql", 12, 2, "a", FileRole::Down),
            ("V3__seed_data.sql", 3, 1, "seed_data", FileRole::Up),
            (
                "20240131120000_t.sql",
                20240131120000,
                14,
                "t",
                FileRole::Up,
            ),
            ("5_naïve café.sql", 5, 1, "naïve café", FileRole::Up),
            ("0005_backfill.rs", 5, 4, "backfill", FileRole::Rust),
            ("6_a.b.rs", 6, 1, "a.b", FileRole::Rust),
            (
                "9223372036854775807_max.sql",
                MAX_VERSION,
                19,
                "max",
                FileRole::Up,
            ),
        ];
        for (file, version, digits, n, role) in cases {
            let parsed = name(file).unwrap().unwrap();
            assert_eq!(
                (
                    parsed.version,
                    parsed.digits,
                    parsed.name.as_str(),
                    parsed.role
                ),
                (version, digits, n, role),
                "{file}"
            );
        }
    }

    #[test]
    fn ignored_names() {
        for file in [
            ".DS_Store",
            ".0001_x.sql",
            "README",
            "README.md",
            "readme.txt",
        ] {
            assert_eq!(name(file), Ok(None), "{file}");
        }
    }

    #[test]
    fn rejected_names_say_why() {
        use FileNameError::*;
        let cases = [
            ("init.sql", NotAMigration),
            ("0001_init.txt", NotAMigration),
            ("0001_init.SQL", NotAMigration),
            ("0001-init.sql", NotAMigration),
            ("V1_init.sql", NotAMigration),
            ("V1__init.up.sql", NotAMigration),
            ("v1__init.sql", NotAMigration),
            ("_init.sql", NotAMigration),
            ("0001_init.sql~", NotAMigration),
            ("0001_init.up.rs", NotAMigration),
            ("0001_init.down.rs", NotAMigration),
            ("V1__init.rs", NotAMigration),
            ("0001_init.RS", NotAMigration),
            ("0_init.rs", ZeroVersion),
            ("0001_.rs", EmptyName),
            ("0_init.sql", ZeroVersion),
            ("0000_init.sql", ZeroVersion),
            ("9223372036854775808_x.sql", VersionTooLarge),
            ("99999999999999999999999_x.sql", VersionTooLarge),
            ("0001_.sql", EmptyName),
            ("0001.sql", EmptyName),
            ("V1__.sql", EmptyName),
        ];
        for (file, expected) in cases {
            assert_eq!(name(file), Err(expected), "{file}");
        }
    }

    #[test]
    fn rust_steps_are_found_by_their_lines() {
        let steps = |text| rust_steps(text);
        let up = RustSteps {
            up: true,
            down: false,
        };
        let both = RustSteps {
            up: true,
            down: true,
        };
        for text in [
            "pub fn up(tx: &Transaction<'_>) -> Result<(), Error> { Ok(()) }",
            "use x;\n\n    pub fn up(tx: &Transaction) -> R {",
            "pub fn up<'a>(tx: &Transaction<'a>) -> R {",
            "pub  fn\tup (tx: &Transaction) -> R {",
            "pub fn up(\n    tx: &Transaction,\n) -> R {",
            "pub fn up(tx: &Transaction) -> R {}\r\n// pub fn down(tx: &Transaction) -> R {}\r\n",
            // An async client's step (tokio-postgres).
            "pub async fn up(tx: &mut Transaction<'_>) -> R {",
            "pub  async\tfn up(tx: &mut Transaction<'_>) -> R {",
        ] {
            assert_eq!(steps(text), up, "{text:?}");
        }
        assert_eq!(
            steps("pub fn down(tx: &T) -> R {}\npub fn up(tx: &T) -> R {}\n"),
            both
        );
        for text in [
            "fn up(tx: &Transaction) -> R {",
            "pub(crate) fn up(tx: &Transaction) -> R {",
            "pub asyncfn up(tx: &Transaction) -> R {",
            "pub fn upgrade(tx: &Transaction) -> R {",
            "pub fn up_all(tx: &Transaction) -> R {",
            "pubfn up(tx: &Transaction) -> R {",
            "pub fnup(tx: &Transaction) -> R {",
            "// pub fn up(tx: &Transaction) -> R {",
            "pub fn\nup(tx: &Transaction) -> R {",
            "pub fn up",
        ] {
            assert_eq!(steps(text), RustSteps::default(), "{text:?}");
        }
    }

    /// `read_folder` on a temporary folder holding `files`, as the model
    /// builds the migrations from it.
    fn read(files: &[(&str, &str)]) -> Result<Vec<crate::Migration>, FolderError> {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            fs::write(dir.path().join(name), text).unwrap();
        }
        crate::Migrations::read_folder(dir.path(), Path::new("migrations"))
            .map(|set| set.as_slice().to_vec())
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "dropped without `Problems::check`")]
    fn problems_dropped_unchecked_panic() {
        let mut problems = Problems::new();
        problems.push(FolderProblem::NoMigrations {
            folder: PathBuf::from("migrations"),
        });
        drop(problems);
    }

    #[test]
    fn directives_and_rust_steps_reach_the_migrations() {
        let migrations = read(&[
            ("1_a.up.sql", "-- migrate:no-transaction\r\nVACUUM;\r\n"),
            ("1_a.down.sql", "SELECT 1;"),
            (
                "2_b.rs",
                "pub fn up(tx: &T) -> R {}\npub fn down(tx: &T) -> R {}\n",
            ),
            ("3_c.rs", "pub fn up(tx: &T) -> R {}\n"),
            ("4_d.up.sql", "SELECT 4;"),
            ("4_d.down.sql", "-- migrate:no-transaction\nVACUUM;"),
        ])
        .unwrap();
        let shape: Vec<_> = migrations
            .iter()
            .map(|m| {
                (
                    m.kind(),
                    m.up_no_transaction(),
                    m.down_file(),
                    m.down_no_transaction(),
                    m.is_runnable(),
                )
            })
            .collect();
        use crate::MigrationKind::{Rust, Sql};
        assert_eq!(
            shape,
            [
                (Sql, true, Some("1_a.down.sql"), false, true),
                (Rust, false, Some("2_b.rs"), false, false),
                (Rust, false, None, false, false),
                (Sql, false, Some("4_d.down.sql"), true, true),
            ]
        );
        let rust = "pub fn up(tx: &T) -> R {}\n";
        assert_eq!(migrations[2].checksum(), Checksum::of_text(rust));
        assert_eq!(migrations[2].up_sql(), None);
    }

    #[test]
    fn rust_files_count_in_the_sequence_and_their_problems_are_named() {
        let error = read(&[
            ("0001_a.sql", "SELECT 1;"),
            ("0002_b.rs", "fn up(tx: &T) -> R {}"),
            ("0003_c.sql", "SELECT 3;"),
            ("0003_c.rs", "pub fn up(tx: &T) -> R {}"),
            ("0004_d.rs", "pub fn up(tx: &T) -> R {}"),
            ("0004_d.down.sql", "SELECT 4;"),
            ("0005_e.rs", "  \n"),
            (
                "0007_g.sql",
                "-- migrate:no-transaction\n-- migrate:transaction\n",
            ),
        ])
        .unwrap_err();
        let kinds: Vec<&str> = error
            .problems()
            .iter()
            .map(|problem| match problem {
                FolderProblem::MissingRustUp { .. } => "missing up",
                FolderProblem::EmptyFile { .. } => "empty",
                FolderProblem::BadDirective { .. } => "directive",
                FolderProblem::DuplicateVersion { .. } => "duplicate",
                FolderProblem::DownBesideRust { .. } => "down beside rust",
                FolderProblem::Gap { .. } => "gap",
                other => panic!("unexpected {other}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "missing up",
                "empty",
                "directive",
                "duplicate",
                "down beside rust",
                "gap"
            ]
        );
    }
}
