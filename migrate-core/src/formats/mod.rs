//! Other tools' migrations folders, read as those tools read them: the
//! grammar layer's readers, each producing the same [`FolderMigration`]s as
//! the [folder grammar](crate::folder), so the model, the build-time check
//! and the runner do not know which layout a set came from.
//!
//! [`Format::Migrate`], the default, is `migrate`'s own grammar. Every other
//! format follows one tool's rules, read from its source: the files it
//! finds, the order it applies them in, its sections, its no-transaction
//! flags and its downs. Where a folder holds something that tool would
//! refuse, or would do differently from what `migrate` can do (a `.sql` file
//! it would skip silently, text goose would refuse after the last `;`, a
//! Flyway repeatable migration), the reader refuses it with a
//! [`FolderProblem::Format`] naming the tool and the fix, never running it
//! differently.
//!
//! # Foreign keys
//!
//! A folder says nothing of the connection its migrations ran on, and on
//! SQLite that decides whether foreign keys were enforced: sqlx's
//! connections turn them on (`SqliteConnectOptions`' default); diesel's and
//! refinery's (the application's rusqlite connection) set no pragma, so
//! they are on with libsqlite3-sys's bundled SQLite (compiled with
//! `SQLITE_DEFAULT_FOREIGN_KEYS=1`) and off with a system one;
//! golang-migrate's and dbmate's (mattn/go-sqlite3, no pragma) are off
//! unless the URL turns them on; goose's and Flyway's depend on the driver
//! and its URL. A set written for one that left them
//! off may leave rows dangling, which `migrate` on a connection with them
//! on refuses: open it with them off (the command line's
//! `--foreign-keys off`). The guide's `docs/coming-from-another-tool.md`
//! says where each was read.
//!
//! # Versions
//!
//! `migrate`'s versions are whole numbers from 1 to 2^63 - 1, and a set is
//! applied in their order. Each reader maps its tool's version to one such
//! that the order is the tool's:
//!
//! | format | the tool's version | `migrate`'s version |
//! |--------|--------------------|---------------------|
//! | diesel | the folder name's first `_`-separated part without `-`, ordered **as text** | those digits with zeros appended to 14 digits: `2024-01-31-120000` is 20240131120000, `2024-03-13` (of `2024-03-13_170000_x`) is 20240313000000. Appending zeros keeps diesel's text order exactly; two versions that differ only in trailing zeros would be one, and are refused, naming both folders (crates.io has such a pair). All zeros, diesel's PostgreSQL setup `00000000000000_diesel_initial_setup` (first in diesel's order), is 1. Digits past the 14th are cut when they are zeros (`2025-09-19-132648-0000` is 20250919132648), which keeps the order too; more than 14 digits otherwise, or anything but digits, is refused |
//! | sqlx, goose, golang-migrate, refinery, Flyway, plain | a number, ordered as numbers | that number |
//! | dbmate | the leading digits, applied in file-name order | that number; a folder where number order and file-name order differ (unpadded numbers: `9_a.sql`, `10_b.sql`) is refused |
//!
//! The tool's own version text is the start of the migration's
//! [`file`](FolderMigration::file), so it stays visible in every message.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::checksum::Checksum;
use crate::folder::{
    FolderError, FolderMigration, FolderProblem, Problems, Step, check_no_lone_carriage_return,
    check_no_nul_byte, read_text, resolved,
};

mod goose;
mod guess;
mod tools;

pub use guess::guess_format;
pub(crate) use tools::{diesel_to_number, is_diesel_setup};

/// Which tool's layout a migrations folder is in.
///
/// Spelled as in `embed_migrations!("migrations", format = "diesel")` and
/// `--folder-format diesel` on the command line: see [`Format::NAMES`].
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Format {
    /// `migrate`'s own grammar ([`folder`](crate::folder)); the default.
    #[default]
    Migrate,
    /// diesel: a folder per migration, `<version>_<name>/up.sql`, an
    /// optional `down.sql`, `metadata.toml` with `run_in_transaction`.
    Diesel,
    /// sqlx: `<version>_<description>.sql`, or `.up.sql` and `.down.sql`;
    /// `-- no-transaction` at the very start of a file.
    Sqlx,
    /// refinery: `V<version>__<name>.sql` and `U<version>__<name>.sql`
    /// (unversioned, in the same sequence), in the folder and its
    /// subfolders.
    Refinery,
    /// Flyway: `V<version>__<description>.sql`, undo files
    /// `U<version>__<description>.sql`, `${placeholder}`s, in the folder and
    /// its subfolders.
    Flyway,
    /// goose: `<version>_<name>.sql` with `-- +goose Up` / `-- +goose Down`
    /// sections, split into statements as goose splits them.
    Goose,
    /// dbmate: `<version>_<name>.sql` with `-- migrate:up` / `-- migrate:down`
    /// sections and `transaction:false`.
    Dbmate,
    /// golang-migrate: `<version>_<name>.up.sql` and `.down.sql`.
    GolangMigrate,
    /// Plain numbered files: `0001.sql` (a name after the number is
    /// allowed), `0001_up.sql` / `0001_down.sql` or `0001.up.sql` /
    /// `0001.down.sql` pairs; gaps in the numbers are allowed.
    Plain,
}

impl Format {
    /// Every format with its spelling, the default first.
    pub const NAMES: [(Format, &'static str); 9] = [
        (Format::Migrate, "migrate"),
        (Format::Diesel, "diesel"),
        (Format::Sqlx, "sqlx"),
        (Format::Refinery, "refinery"),
        (Format::Flyway, "flyway"),
        (Format::Goose, "goose"),
        (Format::Dbmate, "dbmate"),
        (Format::GolangMigrate, "golang-migrate"),
        (Format::Plain, "plain"),
    ];

    /// The spelling: `diesel`, `golang-migrate`, ….
    pub fn name(self) -> &'static str {
        Format::NAMES
            .iter()
            .find(|(format, _)| *format == self)
            .map_or("migrate", |(_, name)| name)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A format name that is not one of [`Format::NAMES`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown format `{0}`: use one of {names}", names = names())]
pub struct UnknownFormat(pub String);

fn names() -> String {
    let names: Vec<&str> = Format::NAMES.iter().map(|(_, name)| *name).collect();
    names.join(", ")
}

impl FromStr for Format {
    type Err = UnknownFormat;

    /// Reads a spelling of [`Format::NAMES`], in any ASCII case.
    fn from_str(text: &str) -> Result<Format, UnknownFormat> {
        Format::NAMES
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(text))
            .map(|(format, _)| *format)
            .ok_or_else(|| UnknownFormat(text.to_owned()))
    }
}

/// How to read a folder: its [`Format`] and the values of Flyway's
/// `${placeholder}`s.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// The layout.
    pub format: Format,
    /// Flyway's placeholders, by name without `${` and `}`
    /// (`flyway:defaultSchema` included): each `${name}` in a Flyway file is
    /// replaced by its value; a placeholder without a value is an error, as
    /// in Flyway. Ignored by the other formats.
    pub placeholders: BTreeMap<String, String>,
}

impl ReadOptions {
    /// The options of `format`, without placeholders.
    pub fn new(format: Format) -> ReadOptions {
        ReadOptions {
            format,
            placeholders: BTreeMap::new(),
        }
    }
}

/// diesel's version of a migration read from a diesel folder: the folder
/// name's first `_`-separated part without `-`.
fn diesel_version(found: &Found) -> String {
    let folder = found.file.split('/').next().unwrap_or_default();
    folder
        .split('_')
        .next()
        .unwrap_or_default()
        .replace('-', "")
}

/// Reads and validates a migrations folder in the layout of
/// `options.format`; [`Format::Migrate`] is [`folder::read_folder`](crate::folder::read_folder).
///
/// `dir` and `shown_as` are as in `read_folder`. Returns the migrations in
/// the tool's order (see the [module docs](self) for how versions map).
///
/// # Errors
///
/// [`FolderError`] with every problem found: the folder's (missing,
/// unreadable, empty), a duplicate version, an orphan down, a NUL byte or a
/// lone carriage return SQLite would misread, and the tool's own rules as
/// [`FolderProblem::Format`].
pub fn read_folder_as(
    dir: &Path,
    shown_as: &Path,
    options: &ReadOptions,
) -> Result<Vec<FolderMigration>, FolderError> {
    if options.format == Format::Migrate {
        return crate::folder::read_folder(dir, shown_as);
    }
    let mut reader = Reader {
        format: options.format,
        placeholders: &options.placeholders,
        problems: Problems::new(),
        found: Vec::new(),
    };
    if let Some(entries) = reader.list(dir, shown_as, options.format.walks_subfolders()) {
        match options.format {
            Format::Migrate => {}
            Format::Diesel => tools::diesel(&mut reader, dir, &entries),
            Format::Sqlx => tools::sqlx(&mut reader, &entries),
            Format::Refinery => tools::refinery(&mut reader, &entries),
            Format::Flyway => tools::flyway(&mut reader, &entries),
            Format::Goose => goose::goose(&mut reader, &entries),
            Format::Dbmate => tools::dbmate(&mut reader, &entries),
            Format::GolangMigrate => tools::golang_migrate(&mut reader, &entries),
            Format::Plain => tools::plain(&mut reader, &entries),
        }
    }
    reader.finish(shown_as)
}

impl Format {
    /// Whether the tool reads the folder's subfolders too (refinery and
    /// Flyway walk them; diesel's are its migrations).
    fn walks_subfolders(self) -> bool {
        matches!(self, Format::Refinery | Format::Flyway)
    }
}

/// One entry of the folder.
pub(crate) struct Listed {
    /// The path inside the folder, `/`-separated (`V1__a.sql`,
    /// `sub/V2__b.sql`, or a diesel migration folder's name).
    pub(crate) rel: String,
    /// The file name alone.
    pub(crate) name: String,
    /// The path to read.
    pub(crate) path: PathBuf,
    /// The path for messages.
    pub(crate) shown: PathBuf,
    /// Whether it is a folder.
    pub(crate) is_dir: bool,
}

/// A migration a reader found, before the common checks.
pub(crate) struct Found {
    /// `migrate`'s version (see the module docs).
    pub(crate) version: u64,
    /// The name.
    pub(crate) name: String,
    /// The up file, relative to the folder.
    pub(crate) file: String,
    /// The up file for messages.
    pub(crate) shown: PathBuf,
    /// The text the checksum is of: the up file as written.
    pub(crate) text: String,
    /// The up.
    pub(crate) up: Sql,
    /// The down's file (relative) and SQL.
    pub(crate) down: Option<(String, PathBuf, Sql)>,
}

/// SQL to run and whether outside a transaction.
pub(crate) struct Sql {
    pub(crate) sql: String,
    pub(crate) no_transaction: bool,
}

/// The state of one read: the format, the problems, what was found.
pub(crate) struct Reader<'a> {
    pub(crate) format: Format,
    pub(crate) placeholders: &'a BTreeMap<String, String>,
    pub(crate) problems: Problems,
    pub(crate) found: Vec<Found>,
}

impl Reader<'_> {
    /// Records a [`FolderProblem::Format`] about `file`.
    pub(crate) fn refuse(&mut self, file: &Path, message: impl Into<String>) {
        self.problems.push(FolderProblem::Format {
            file: file.to_owned(),
            format: self.format,
            message: message.into(),
        });
    }

    /// Records any other problem.
    pub(crate) fn push(&mut self, problem: FolderProblem) {
        self.problems.push(problem);
    }

    /// The text of a file, or `None` (recorded) when unreadable or not UTF-8.
    pub(crate) fn read(&mut self, path: &Path, shown: &Path) -> Option<String> {
        read_text(path, shown, &mut self.problems)
    }

    /// The folder's entries, sorted by path; hidden names (`.`) are
    /// skipped, as every tool here skips or refuses them. With `walk`, the
    /// files of subfolders too (and no folders). `None` when the folder
    /// itself is missing or unreadable (recorded).
    fn list(&mut self, dir: &Path, shown_as: &Path, walk: bool) -> Option<Vec<Listed>> {
        match fs::metadata(dir) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                self.push(FolderProblem::NotAFolder {
                    folder: shown_as.to_owned(),
                    resolved: resolved(dir),
                });
                return None;
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                self.push(FolderProblem::MissingFolder {
                    folder: shown_as.to_owned(),
                    resolved: resolved(dir),
                });
                return None;
            }
            Err(error) => {
                self.push(FolderProblem::Unreadable {
                    path: shown_as.to_owned(),
                    error,
                });
                return None;
            }
        }
        let mut out = Vec::new();
        self.list_into(dir, shown_as, "", walk, &mut out);
        out.sort_by(|a, b| a.rel.cmp(&b.rel));
        Some(out)
    }

    fn list_into(
        &mut self,
        dir: &Path,
        shown: &Path,
        prefix: &str,
        walk: bool,
        out: &mut Vec<Listed>,
    ) {
        let listing = match fs::read_dir(dir) {
            Ok(listing) => listing,
            Err(error) => {
                self.push(FolderProblem::Unreadable {
                    path: shown.to_owned(),
                    error,
                });
                return;
            }
        };
        for item in listing {
            let item = match item {
                Ok(item) => item,
                Err(error) => {
                    self.push(FolderProblem::Unreadable {
                        path: shown.to_owned(),
                        error,
                    });
                    continue;
                }
            };
            let os_name = item.file_name();
            let item_shown = shown.join(&os_name);
            let Some(name) = os_name.to_str() else {
                self.push(FolderProblem::NonUtf8FileName { file: item_shown });
                continue;
            };
            if name.starts_with('.') {
                continue;
            }
            let path = dir.join(name);
            let is_dir = match fs::metadata(&path) {
                Ok(meta) if meta.is_dir() => true,
                Ok(meta) if meta.is_file() => false,
                Ok(_) => {
                    self.push(FolderProblem::NotAFile { path: item_shown });
                    continue;
                }
                Err(error) => {
                    self.push(FolderProblem::Unreadable {
                        path: item_shown,
                        error,
                    });
                    continue;
                }
            };
            let rel = format!("{prefix}{name}");
            if is_dir && walk {
                self.list_into(&path, &item_shown, &format!("{rel}/"), walk, out);
                continue;
            }
            out.push(Listed {
                rel,
                name: name.to_owned(),
                path,
                shown: item_shown,
                is_dir,
            });
        }
    }

    /// The common checks, then the migrations in version order.
    fn finish(mut self, shown_as: &Path) -> Result<Vec<FolderMigration>, FolderError> {
        let mut by_version: BTreeMap<u64, Vec<Found>> = BTreeMap::new();
        for found in std::mem::take(&mut self.found) {
            by_version.entry(found.version).or_default().push(found);
        }
        if by_version.is_empty() && self.problems_empty() {
            self.push(FolderProblem::NoMigrations {
                folder: shown_as.to_owned(),
            });
        }
        let mut migrations = Vec::new();
        for (version, mut claims) in by_version {
            if claims.len() > 1 && self.format == Format::Diesel {
                // diesel's own versions may differ in zeros past those that
                // make `migrate`'s (`2024-05-27-120000` and
                // `2024-05-27-120000-0000`): two versions to diesel, which
                // `migrate` cannot keep apart.
                let diesel: Vec<String> = claims.iter().map(diesel_version).collect();
                let distinct: std::collections::BTreeSet<&String> = diesel.iter().collect();
                let trimmed = |v: &String| v.trim_end_matches('0').to_owned();
                if distinct.len() == claims.len()
                    && diesel.iter().all(|v| trimmed(v) == trimmed(&diesel[0]))
                {
                    let folder =
                        |found: &Found| found.shown.parent().unwrap_or(&found.shown).to_owned();
                    for (other, its) in claims.iter().zip(&diesel).skip(1) {
                        let message = format!(
                            "diesel's version `{its}` differs from `{}` of `{}` only in zeros, which `migrate`'s version of both ({version}: diesel's digits made 14 long) cannot tell apart: rename one of the two folders so that their first 14 digits differ",
                            diesel[0],
                            folder(&claims[0]).display(),
                        );
                        self.refuse(&folder(other), message);
                    }
                    continue;
                }
            }
            if claims.len() > 1 {
                self.push(FolderProblem::DuplicateVersion {
                    version,
                    files: claims.iter().map(|found| found.shown.clone()).collect(),
                });
                continue;
            }
            let Some(found) = claims.pop() else { continue };
            self.check_sql(&found.up.sql, &found.shown);
            if let Some((_, shown, down)) = &found.down {
                self.check_sql(&down.sql, shown);
            }
            let up = step(found.up);
            let whole = matches!(&up, Step::Sql { sql, .. } if *sql == found.text);
            migrations.push(FolderMigration {
                version,
                name: found.name,
                file: found.file,
                up,
                down: found.down.map(|(file, _, sql)| (file, step(sql))),
                checksum: Checksum::of_text(&found.text),
                up_file_text: (!whole).then_some(found.text),
            });
        }
        self.problems.check(shown_as)?;
        Ok(migrations)
    }

    /// What SQLite would misread in any format: a NUL byte, a `--` comment
    /// ended by a lone carriage return.
    fn check_sql(&mut self, sql: &str, shown: &Path) {
        check_no_nul_byte(sql, shown, &mut self.problems);
        check_no_lone_carriage_return(sql, shown, &mut self.problems);
    }

    fn problems_empty(&self) -> bool {
        self.problems.is_empty()
    }
}

fn step(sql: Sql) -> Step {
    Step::Sql {
        sql: crate::directive::without_bom(&sql.sql).to_owned(),
        no_transaction: sql.no_transaction,
    }
}

/// The leading ASCII digits of `text` and the rest.
pub(crate) fn leading_digits(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    text.split_at(end)
}

/// `digits` as a version from 1 to [`MAX_VERSION`](crate::folder::MAX_VERSION), or why not.
pub(crate) fn number(digits: &str) -> Result<u64, &'static str> {
    match digits.parse::<u64>() {
        Ok(0) => Err("version 0: `migrate`'s versions start at 1"),
        Ok(version) if version <= crate::folder::MAX_VERSION => Ok(version),
        _ if digits.is_empty() => Err("no version digits"),
        _ => Err("the version is larger than 9223372036854775807, the largest SQLite INTEGER"),
    }
}
