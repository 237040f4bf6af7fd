//! Other tools' tracking tables, read as each tool writes them, for
//! [`Runner::adopt`](crate::Runner::adopt): which table and columns, what a
//! row means (applied, rolled back, failed, dirty), how the tool's version
//! maps to `migrate`'s (as the [folder readers](crate::formats) map it) and
//! which checksum the tool kept. Pure: the rows come in as text
//! ([`OtherTable`]), the set as [`Candidate`]s.
//!
//! | tool | table | a row is applied when | checksum compared |
//! |------|-------|-----------------------|-------------------|
//! | diesel | `__diesel_schema_migrations (version, run_on)` | it exists; `00000000000000`, diesel's PostgreSQL setup, adopts the set's `00000000000000_diesel_initial_setup` (version 1) and is skipped when the set has none | none kept |
//! | sqlx | `_sqlx_migrations (version, description, installed_on, success, checksum, execution_time)` | `success` is true; false is sqlx's dirty migration, refused | SHA-384 of the up file's text as read, a byte order mark included (sqlx reads the file with `fs::read_to_string`, which keeps one, and hashes those bytes: `sqlx-core/src/migrate/source.rs` and `migration.rs`) |
//! | refinery | `refinery_schema_history (version, name, applied_on, checksum)` | it exists | SipHash-1-3 (keys 0) of the set's name, the version as refinery's `i32` (or `i64`, its `int8-versions` feature) and the up file's text as read (`include_str!` or `fs::read_to_string`, a byte order mark included), fed through `std::hash::Hash` as refinery does; the decimal `u64` |
//! | Flyway | `flyway_schema_history (installed_rank, version, description, type, script, checksum, success)` | read in `installed_rank` order: a `success` row of a versioned type applies its version, `UNDO_*` and `DELETE` rows take it back, `BASELINE` applies every migration of the set up to its version, `SCHEMA` and repeatable (no version) rows are skipped; `success` false is refused | CRC32 of the up file's text with every CR and LF removed (Flyway feeds each line without its line break, a byte order mark removed), as Flyway's signed `int`. Of the file as written, before `${placeholder}`s are replaced, as Flyway computes it (`ChecksumCalculator` reads the resource itself, line by line) |
//! | goose | `goose_db_version (id, version_id, is_applied, tstamp)` | the row with the highest `id` of its `version_id` has `is_applied` true (older goose wrote `false` rows on rollback; newer deletes); version 0 (goose's own first row) is skipped | none kept |
//! | dbmate | `schema_migrations (version)` | it exists | none kept |
//! | golang-migrate | `schema_migrations (version, dirty)`, one row | every migration of the set up to its version (golang-migrate keeps only the current version); `dirty` true is refused | none kept |
//!
//! Versions: diesel's text as the diesel reader maps it (zeros appended to
//! 14 digits, all zeros 1); the others' numbers as they are.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use sha2::Digest;

use crate::formats::Format;

/// Another tool's tracking table as
/// [`Transaction::other_table`](crate::backend::Transaction::other_table) reads it:
/// engine-neutral text, for the pure code of this module.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OtherTable {
    /// Every column the table has, in the engine's spelling and order.
    pub columns: Vec<String>,
    /// Its rows in no particular order, each with one cell per requested
    /// column, in the requested order: `None` for NULL or for a column the
    /// table does not have (see [`columns`](OtherTable::columns)); integers
    /// in decimal, booleans `1`/`0` (SQLite) or `true`/`false` (PostgreSQL),
    /// blobs and `bytea` in lowercase hex, everything else as the engine
    /// writes it as text.
    pub rows: Vec<Vec<Option<String>>>,
}

impl OtherTable {
    /// Whether the table has `column` (ASCII case ignored, as both engines
    /// fold unquoted names).
    pub fn has_column(&self, column: &str) -> bool {
        self.columns.iter().any(|c| c.eq_ignore_ascii_case(column))
    }
}

/// A migration tool whose tracking table `migrate` can adopt.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tool {
    /// diesel: `__diesel_schema_migrations`.
    Diesel,
    /// sqlx: `_sqlx_migrations`.
    Sqlx,
    /// refinery: `refinery_schema_history`.
    Refinery,
    /// Flyway: `flyway_schema_history`.
    Flyway,
    /// goose: `goose_db_version`.
    Goose,
    /// dbmate: `schema_migrations` with a `version` column.
    Dbmate,
    /// golang-migrate: `schema_migrations` with `version` and `dirty`.
    GolangMigrate,
}

impl Tool {
    /// Every tool with its spelling (as `migrate adopt --from` takes it).
    pub const NAMES: [(Tool, &'static str); 7] = [
        (Tool::Diesel, "diesel"),
        (Tool::Sqlx, "sqlx"),
        (Tool::Refinery, "refinery"),
        (Tool::Flyway, "flyway"),
        (Tool::Goose, "goose"),
        (Tool::Dbmate, "dbmate"),
        (Tool::GolangMigrate, "golang-migrate"),
    ];

    /// The spelling: `diesel`, `golang-migrate`, ….
    pub fn name(self) -> &'static str {
        Tool::NAMES
            .iter()
            .find(|(tool, _)| *tool == self)
            .map_or("diesel", |(_, name)| name)
    }

    /// The tracking table the tool writes (its default name).
    pub fn table(self) -> &'static str {
        match self {
            Tool::Diesel => "__diesel_schema_migrations",
            Tool::Sqlx => "_sqlx_migrations",
            Tool::Refinery => "refinery_schema_history",
            Tool::Flyway => "flyway_schema_history",
            Tool::Goose => "goose_db_version",
            Tool::Dbmate | Tool::GolangMigrate => "schema_migrations",
        }
    }

    /// The folder format whose reader maps this tool's versions.
    pub fn format(self) -> Format {
        match self {
            Tool::Diesel => Format::Diesel,
            Tool::Sqlx => Format::Sqlx,
            Tool::Refinery => Format::Refinery,
            Tool::Flyway => Format::Flyway,
            Tool::Goose => Format::Goose,
            Tool::Dbmate => Format::Dbmate,
            Tool::GolangMigrate => Format::GolangMigrate,
        }
    }

    /// The columns read, in the order [`adopt`] expects their cells.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Tool::Diesel | Tool::Dbmate => &["version"],
            Tool::Sqlx => &["version", "description", "success", "checksum"],
            Tool::Refinery => &["version", "name", "checksum"],
            Tool::Flyway => &[
                "installed_rank",
                "version",
                "type",
                "script",
                "checksum",
                "success",
            ],
            Tool::Goose => &["id", "version_id", "is_applied"],
            Tool::GolangMigrate => &["version", "dirty"],
        }
    }

    /// The columns the tool always writes, whose absence means the table is
    /// not this tool's.
    fn required(self) -> &'static [&'static str] {
        self.columns()
    }
}

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A tool name that is not one of [`Tool::NAMES`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown tool `{0}`: use one of diesel, sqlx, refinery, flyway, goose, dbmate, golang-migrate"
)]
pub struct UnknownTool(pub String);

impl FromStr for Tool {
    type Err = UnknownTool;

    /// Reads a spelling of [`Tool::NAMES`], in any ASCII case.
    fn from_str(text: &str) -> Result<Tool, UnknownTool> {
        Tool::NAMES
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(text))
            .map(|(tool, _)| *tool)
            .ok_or_else(|| UnknownTool(text.to_owned()))
    }
}

/// A migration of the set, as [`adopt`] needs it.
#[derive(Clone, Copy, Debug)]
pub struct Candidate<'a> {
    /// `migrate`'s version.
    pub version: u64,
    /// Its name.
    pub name: &'a str,
    /// Its up file, relative to the folder.
    pub file: &'a str,
    /// Its up file's text as the file holds it ([`Migration::up_file_text`](crate::Migration::up_file_text):
    /// a byte order mark kept, Flyway's `${placeholder}`s not replaced),
    /// which is what the tools hash; `None` for a Rust migration.
    pub up_text: Option<&'a str>,
}

/// A migration of the set the tool's table records as applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Adopted {
    /// `migrate`'s version.
    pub version: u64,
    /// What the tool recorded and what was compared, for the history:
    /// `sqlx's version 3, SHA-384 checksum verified`.
    pub detail: String,
}

/// Why a tool's table cannot be adopted.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdoptProblem {
    /// The database has no such table.
    NoTable {
        /// The table looked for.
        table: String,
    },
    /// `migrate`'s own tracking table already records applied migrations.
    AlreadyTracked {
        /// The lowest version applied.
        version: u64,
    },
    /// A row the table records as applied whose version no migration of
    /// the set has.
    UnknownVersion {
        /// The tool's version, as written in its table.
        version: String,
    },
    /// A row the tool marks as not finished: failed (sqlx's, Flyway's
    /// `success` false) or dirty (golang-migrate).
    Unfinished {
        /// The tool's version, as written.
        version: String,
        /// The file the tool names, or the set's, when known.
        file: Option<String>,
        /// What the tool recorded, and what to do.
        detail: String,
    },
    /// The checksum the tool recorded is not that of the set's file.
    ChecksumMismatch {
        /// `migrate`'s version.
        version: u64,
        /// The set's up file.
        file: String,
        /// What the tool recorded.
        recorded: String,
        /// What the set's file gives.
        computed: String,
        /// Which checksum was compared.
        compared: &'static str,
    },
    /// A row or the table is not as the tool writes it.
    Malformed {
        /// What is wrong.
        detail: String,
    },
}

impl fmt::Display for AdoptProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdoptProblem::NoTable { table } => write!(f, "the database has no table `{table}`"),
            AdoptProblem::AlreadyTracked { version } => write!(
                f,
                "`migrate`'s tracking table already records migration {version} as applied: adopting is only for a database `migrate` has not run on"
            ),
            AdoptProblem::UnknownVersion { version } => write!(
                f,
                "version `{version}` is recorded as applied, but no migration of the set has it (a file removed or renamed since, or a folder read in the wrong format)"
            ),
            AdoptProblem::Unfinished {
                version,
                file,
                detail,
            } => {
                write!(f, "version `{version}`")?;
                if let Some(file) = file {
                    write!(f, " ({file})")?;
                }
                write!(f, " {detail}")
            }
            AdoptProblem::ChecksumMismatch {
                version,
                file,
                recorded,
                computed,
                compared,
            } => write!(
                f,
                "migration {version} ({file}) was applied with {compared} {recorded}, but the file now gives {computed}: it was edited after it was applied"
            ),
            AdoptProblem::Malformed { detail } => f.write_str(detail),
        }
    }
}

/// What a tool's table records, before matching: one version per row, or
/// every version up to one.
struct Reading {
    rows: Vec<Row>,
    /// golang-migrate's current version, Flyway's baseline: every migration
    /// of the set up to it is applied. (version, the tool's text, whether
    /// the version must be one of the set's).
    up_to: Option<(u64, String, bool)>,
    problems: Vec<AdoptProblem>,
}

struct Row {
    /// The tool's version as written.
    text: String,
    version: u64,
    /// The file the tool names (Flyway's `script`).
    script: Option<String>,
    check: Check,
}

enum Check {
    None,
    Sha384(String),
    SipHash(u64),
    Crc32(i32),
}

/// Matches `table`, read with [`Tool::columns`], to `set` (in version
/// order): the migrations to record as applied, in version order, or every
/// problem found.
///
/// # Errors
///
/// Every [`AdoptProblem`] of the table: a row matching no migration, a
/// failed or dirty row, a checksum mismatch, a malformed row.
pub fn adopt(
    tool: Tool,
    table: &OtherTable,
    set: &[Candidate<'_>],
) -> Result<Vec<Adopted>, Vec<AdoptProblem>> {
    let reading = read(tool, table);
    let mut problems = reading.problems;
    let mut adopted = std::collections::BTreeMap::new();
    if let Some((up_to, text, must_exist)) = &reading.up_to {
        if *must_exist && !set.iter().any(|c| c.version == *up_to) {
            problems.push(AdoptProblem::UnknownVersion {
                version: text.clone(),
            });
        }
        let what = match tool {
            Tool::Flyway => format!("below Flyway's baseline `{text}`"),
            _ => format!("up to {tool}'s current version `{text}`"),
        };
        for candidate in set.iter().filter(|c| c.version <= *up_to) {
            adopted.insert(candidate.version, format!("adopted from {tool} ({what})"));
        }
    }
    for row in &reading.rows {
        let setup = tool == Tool::Diesel && crate::formats::is_diesel_setup(&row.text);
        let found = set.iter().find(|c| {
            // diesel's setup row matches only diesel's setup folder.
            c.version == row.version && (!setup || crate::formats::is_diesel_setup(c.file))
        });
        let Some(candidate) = found else {
            if setup {
                continue; // the setup migration is not in the set: nothing to adopt
            }
            problems.push(AdoptProblem::UnknownVersion {
                version: row.text.clone(),
            });
            continue;
        };
        let compared = match verify(tool, row, candidate) {
            Ok(compared) => compared,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        };
        let mut detail = format!("adopted from {tool}'s version `{}`", row.text);
        if let Some(compared) = compared {
            detail.push_str(&format!(", {compared} verified"));
        }
        adopted.insert(candidate.version, detail);
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(adopted
        .into_iter()
        .map(|(version, detail)| Adopted { version, detail })
        .collect())
}

/// Whether `table`, read with [`Tool::columns`], is this tool's and records
/// anything as applied (or something `adopt` would refuse): a database
/// where running the set from the start would apply again what the tool
/// applied.
pub fn records_applied(tool: Tool, table: &OtherTable) -> bool {
    if !wrong_table(tool, table).is_empty() {
        return false;
    }
    let reading = read(tool, table);
    // diesel's setup row alone is no migration of the application's.
    let rows = reading
        .rows
        .iter()
        .filter(|row| !(tool == Tool::Diesel && crate::formats::is_diesel_setup(&row.text)));
    rows.count() > 0 || reading.up_to.is_some() || !reading.problems.is_empty()
}

/// The problems that say `table` is not `tool`'s.
fn wrong_table(tool: Tool, table: &OtherTable) -> Vec<AdoptProblem> {
    let name = tool.table();
    let mut problems: Vec<AdoptProblem> = tool
        .required()
        .iter()
        .filter(|column| !table.has_column(column))
        .map(|column| AdoptProblem::Malformed {
            detail: format!("the table `{name}` has no column `{column}`, which {tool} writes: it is not {tool}'s table"),
        })
        .collect();
    if tool == Tool::Dbmate && table.has_column("dirty") {
        problems.push(AdoptProblem::Malformed {
            detail: "the table `schema_migrations` has a `dirty` column, as golang-migrate's has, not dbmate's: adopt it from golang-migrate".to_owned(),
        });
    }
    if tool == Tool::GolangMigrate && !table.has_column("dirty") && table.has_column("version") {
        problems.clear();
        problems.push(AdoptProblem::Malformed {
            detail: "the table `schema_migrations` has no `dirty` column, which golang-migrate writes: it looks like dbmate's, adopt it from dbmate".to_owned(),
        });
    }
    problems
}

fn read(tool: Tool, table: &OtherTable) -> Reading {
    let mut reading = Reading {
        rows: Vec::new(),
        up_to: None,
        problems: wrong_table(tool, table),
    };
    if !reading.problems.is_empty() {
        return reading;
    }
    let name = tool.table();
    let malformed = |detail: String| AdoptProblem::Malformed {
        detail: format!("a row of `{name}` {detail}"),
    };
    match tool {
        Tool::Diesel | Tool::Dbmate | Tool::Refinery | Tool::Sqlx => {
            for cells in &table.rows {
                let Some(text) = cell(cells, 0) else {
                    reading
                        .problems
                        .push(malformed("has no version".to_owned()));
                    continue;
                };
                let version = match tool_version(tool, text) {
                    Ok(version) => version,
                    Err(why) => {
                        reading
                            .problems
                            .push(malformed(format!("has version `{text}`, {why}")));
                        continue;
                    }
                };
                let check = match tool {
                    Tool::Sqlx => {
                        if !truthy(cell(cells, 2)) {
                            reading.problems.push(AdoptProblem::Unfinished {
                                version: text.to_owned(),
                                file: None,
                                detail: "is recorded by sqlx with `success` false: it failed part way and sqlx calls the database dirty; bring the database to what the migration does (or did not do), delete its row from `_sqlx_migrations`, then adopt again".to_owned(),
                            });
                            continue;
                        }
                        match cell(cells, 3) {
                            Some(hex) => {
                                Check::Sha384(hex.trim_start_matches("\\x").to_ascii_lowercase())
                            }
                            None => {
                                reading.problems.push(malformed(format!(
                                    "for version `{text}` has no checksum"
                                )));
                                continue;
                            }
                        }
                    }
                    Tool::Refinery => match cell(cells, 2).map(str::parse::<u64>) {
                        Some(Ok(sum)) => Check::SipHash(sum),
                        _ => {
                            reading.problems.push(malformed(format!(
                                "for version `{text}` has no checksum refinery writes (a decimal u64)"
                            )));
                            continue;
                        }
                    },
                    _ => Check::None,
                };
                reading.rows.push(Row {
                    text: text.to_owned(),
                    version,
                    script: None,
                    check,
                });
            }
        }
        Tool::Goose => {
            // The row with the highest id of each version decides.
            let mut latest: std::collections::BTreeMap<u64, (i64, bool, String)> =
                Default::default();
            for cells in &table.rows {
                let (Some(id), Some(text)) = (
                    cell(cells, 0).and_then(|id| id.parse::<i64>().ok()),
                    cell(cells, 1),
                ) else {
                    reading
                        .problems
                        .push(malformed("has no id or version_id goose writes".to_owned()));
                    continue;
                };
                let Ok(version) = text.parse::<u64>() else {
                    reading.problems.push(malformed(format!(
                        "has version_id `{text}`, not a whole number"
                    )));
                    continue;
                };
                if version == 0 {
                    continue; // goose's own first row
                }
                let applied = truthy(cell(cells, 2));
                let entry = latest
                    .entry(version)
                    .or_insert((id, applied, text.to_owned()));
                if id > entry.0 {
                    *entry = (id, applied, text.to_owned());
                }
            }
            for (version, (_, applied, text)) in latest {
                if applied {
                    reading.rows.push(Row {
                        text,
                        version,
                        script: None,
                        check: Check::None,
                    });
                }
            }
        }
        Tool::GolangMigrate => {
            if table.rows.len() > 1 {
                reading.problems.push(AdoptProblem::Malformed {
                    detail: format!(
                        "`{name}` has {} rows; golang-migrate keeps one",
                        table.rows.len()
                    ),
                });
                return reading;
            }
            let Some(cells) = table.rows.first() else {
                return reading;
            };
            let Some(text) = cell(cells, 0) else {
                reading
                    .problems
                    .push(malformed("has no version".to_owned()));
                return reading;
            };
            if truthy(cell(cells, 1)) {
                reading.problems.push(AdoptProblem::Unfinished {
                    version: text.to_owned(),
                    file: None,
                    detail: "is marked dirty by golang-migrate: it failed part way; bring the database to a known version by hand, `migrate force <version>` with golang-migrate, then adopt again".to_owned(),
                });
                return reading;
            }
            match text.parse::<u64>() {
                Ok(version) => reading.up_to = Some((version, text.to_owned(), true)),
                Err(_) => reading.problems.push(malformed(format!(
                    "has version `{text}`, not a whole number"
                ))),
            }
        }
        Tool::Flyway => read_flyway(table, &mut reading),
    }
    reading
}

/// Flyway's rows in `installed_rank` order (see the module docs).
fn read_flyway(table: &OtherTable, reading: &mut Reading) {
    let mut rows: Vec<(i64, &Vec<Option<String>>)> = Vec::new();
    for cells in &table.rows {
        match cell(cells, 0).and_then(|rank| rank.parse::<i64>().ok()) {
            Some(rank) => rows.push((rank, cells)),
            None => reading.problems.push(AdoptProblem::Malformed {
                detail: "a row of `flyway_schema_history` has no installed_rank".to_owned(),
            }),
        }
    }
    rows.sort_by_key(|(rank, _)| *rank);
    let mut applied: std::collections::BTreeMap<u64, Row> = Default::default();
    for (rank, cells) in rows {
        let kind = cell(cells, 2).unwrap_or("");
        let script = cell(cells, 3).map(str::to_owned);
        let Some(text) = cell(cells, 1) else {
            continue; // a repeatable migration, or Flyway's own row: no version
        };
        if kind == "SCHEMA" {
            continue;
        }
        if !truthy(cell(cells, 5)) {
            reading.problems.push(AdoptProblem::Unfinished {
                version: text.to_owned(),
                file: script,
                detail: "is recorded by Flyway as failed (`success` false): fix the database, run `flyway repair`, then adopt again".to_owned(),
            });
            continue;
        }
        let version = match tool_version(Tool::Flyway, text) {
            Ok(version) => version,
            Err(why) => {
                reading.problems.push(AdoptProblem::Malformed {
                    detail: format!("the row of installed_rank {rank} in `flyway_schema_history` has version `{text}`, {why}"),
                });
                continue;
            }
        };
        if kind == "BASELINE" {
            reading.up_to = Some((version, text.to_owned(), false));
        } else if kind.starts_with("UNDO_") || kind == "DELETE" {
            applied.remove(&version);
        } else {
            let check = match (kind, cell(cells, 4).map(str::parse::<i32>)) {
                ("SQL", Some(Ok(sum))) => Check::Crc32(sum),
                ("SQL", Some(Err(_))) => {
                    reading.problems.push(AdoptProblem::Malformed {
                        detail: format!("the row of version `{text}` in `flyway_schema_history` has a checksum that is not an int"),
                    });
                    continue;
                }
                _ => Check::None,
            };
            applied.insert(
                version,
                Row {
                    text: text.to_owned(),
                    version,
                    script,
                    check,
                },
            );
        }
    }
    reading.rows.extend(applied.into_values());
}

/// The tool's version text as `migrate`'s version, as its folder reader
/// maps it.
fn tool_version(tool: Tool, text: &str) -> Result<u64, String> {
    match tool {
        Tool::Diesel => crate::formats::diesel_to_number(&text.replace('-', "")),
        _ => {
            if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "not a whole number, which `migrate`'s {} reader requires",
                    tool.format()
                ));
            }
            crate::formats::number(text).map_err(str::to_owned)
        }
    }
}

/// Compares the checksum the tool recorded with the set's file; the name
/// of what was compared, `None` when the tool kept none.
fn verify(
    tool: Tool,
    row: &Row,
    candidate: &Candidate<'_>,
) -> Result<Option<&'static str>, AdoptProblem> {
    let compared = match row.check {
        Check::None => return Ok(None),
        Check::Sha384(_) => "sqlx's SHA-384 checksum",
        Check::SipHash(_) => "refinery's SipHash-1-3 checksum",
        Check::Crc32(_) => "Flyway's CRC32 checksum",
    };
    let file = row
        .script
        .clone()
        .unwrap_or_else(|| candidate.file.to_owned());
    let mismatch = |recorded: String, computed: String| AdoptProblem::ChecksumMismatch {
        version: candidate.version,
        file: file.clone(),
        recorded,
        computed,
        compared,
    };
    let Some(sql) = candidate.up_text else {
        return Err(mismatch(
            describe(&row.check),
            "a Rust migration, not SQL".to_owned(),
        ));
    };
    let matches = match &row.check {
        Check::None => true,
        Check::Sha384(recorded) => {
            let computed = sqlx_checksum(sql);
            if *recorded != computed {
                return Err(mismatch(recorded.clone(), computed));
            }
            true
        }
        Check::SipHash(recorded) => {
            let as_i32 = i32::try_from(row.version)
                .ok()
                .map(|v| refinery_checksum(candidate.name, v, sql));
            let as_i64 = i64::try_from(row.version)
                .ok()
                .map(|v| refinery_checksum(candidate.name, v, sql));
            if as_i32 != Some(*recorded) && as_i64 != Some(*recorded) {
                let computed = as_i32
                    .or(as_i64)
                    .map_or("nothing".to_owned(), |sum| sum.to_string());
                return Err(mismatch(recorded.to_string(), computed));
            }
            true
        }
        Check::Crc32(recorded) => {
            let computed = flyway_checksum(sql);
            if *recorded != computed {
                return Err(mismatch(recorded.to_string(), computed.to_string()));
            }
            true
        }
    };
    debug_assert!(matches);
    let _ = tool;
    Ok(Some(compared))
}

fn describe(check: &Check) -> String {
    match check {
        Check::None => String::new(),
        Check::Sha384(hex) => hex.clone(),
        Check::SipHash(sum) => sum.to_string(),
        Check::Crc32(sum) => sum.to_string(),
    }
}

/// sqlx's checksum: SHA-384 of the file's text, as lowercase hex (96
/// characters).
pub fn sqlx_checksum(sql: &str) -> String {
    hex::encode(sha2::Sha384::digest(sql.as_bytes()))
}

/// refinery's checksum: SipHash-1-3 with keys 0 over the name, the
/// version and the SQL, each through `std::hash::Hash` (a `str` is its
/// bytes then 0xff; a version its native-endian bytes), as
/// `refinery_core`'s `Migration::unapplied` computes it. `V` is `i32` for
/// refinery's default versions, `i64` with its `int8-versions` feature.
pub fn refinery_checksum<V: Hash>(name: &str, version: V, sql: &str) -> u64 {
    let mut hasher = siphasher::sip::SipHasher13::new();
    name.hash(&mut hasher);
    version.hash(&mut hasher);
    sql.hash(&mut hasher);
    hasher.finish()
}

/// Flyway's checksum of a versioned SQL migration: CRC32 of its lines'
/// UTF-8 bytes without their line breaks (Java's `readLine`: LF, CR or
/// CRLF), a leading byte order mark removed, as a signed 32-bit int.
pub fn flyway_checksum(sql: &str) -> i32 {
    let sql = sql.strip_prefix('\u{feff}').unwrap_or(sql);
    let mut hasher = crc32fast::Hasher::new();
    for piece in sql.split(['\r', '\n']) {
        hasher.update(piece.as_bytes());
    }
    hasher.finalize() as i32
}

fn cell(cells: &[Option<String>], index: usize) -> Option<&str> {
    cells.get(index).and_then(|cell| cell.as_deref())
}

/// A boolean cell as SQLite (`1`) or PostgreSQL (`true`, `t`) writes it.
fn truthy(cell: Option<&str>) -> bool {
    matches!(
        cell.map(|c| c.trim().to_ascii_lowercase()).as_deref(),
        Some("1" | "true" | "t")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(columns: &[&str], rows: &[&[Option<&str>]]) -> OtherTable {
        OtherTable {
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            rows: rows
                .iter()
                .map(|row| row.iter().map(|c| c.map(str::to_owned)).collect())
                .collect(),
        }
    }

    const SET: [Candidate<'static>; 3] = [
        Candidate {
            version: 1,
            name: "users",
            file: "V1__users.sql",
            up_text: Some("CREATE TABLE users (id INTEGER);\n"),
        },
        Candidate {
            version: 2,
            name: "posts",
            file: "V2__posts.sql",
            up_text: Some("CREATE TABLE posts (id INTEGER);\r\n"),
        },
        Candidate {
            version: 3,
            name: "tags",
            file: "V3__tags.sql",
            up_text: Some("CREATE TABLE tags (id INTEGER);\n"),
        },
    ];

    fn versions(adopted: &[Adopted]) -> Vec<u64> {
        adopted.iter().map(|a| a.version).collect()
    }

    #[test]
    fn flyway_checksum_ignores_line_breaks_and_bom() {
        assert_eq!(flyway_checksum("a\nb\n"), flyway_checksum("a\r\nb"));
        assert_eq!(flyway_checksum("\u{feff}ab"), flyway_checksum("ab"));
        // CRC32 of "ab" (0x9e83486d) as Java's signed int.
        assert_eq!(flyway_checksum("a\nb"), 0x9e83486d_u32 as i32);
    }

    #[test]
    fn sqlx_checksum_is_sha384_hex() {
        // SHA-384 of the empty string.
        assert!(sqlx_checksum("").starts_with("38b060a751ac9638"));
        assert_eq!(sqlx_checksum("x").len(), 96);
    }

    /// The values the tools' own algorithms give, from public references
    /// rather than from this code: sqlx hashes the file's bytes with
    /// SHA-384 (`sqlx-core/src/migrate/migration.rs`), whose value for
    /// "abc" is FIPS 180-2's first SHA-384 example (appendix D.1).
    #[test]
    fn sqlx_checksum_is_fips_180_2s_sha384() {
        assert_eq!(
            sqlx_checksum("abc"),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"
        );
    }

    /// Flyway's `ChecksumCalculator` feeds `java.util.zip.CRC32` (CRC-32
    /// of ISO-HDLC / IEEE 802.3) each line without its line break; that
    /// CRC's published check value, of "123456789", is 0xCBF43926 (the
    /// CRC catalogue's CRC-32/ISO-HDLC entry), which Java's `(int)` cast
    /// stores as -873187034. So a file of those digits over lines, with
    /// any line breaks and a byte order mark, has that checksum.
    #[test]
    fn flyway_checksum_is_javas_crc32_of_the_lines_as_a_signed_int() {
        assert_eq!(flyway_checksum("123456789"), -873187034);
        assert_eq!(flyway_checksum("\u{feff}1234\r\n56\n789\n"), -873187034);
        assert_eq!(flyway_checksum("123456789"), 0xCBF43926_u32 as i32);
        // The empty file: CRC32 of nothing is 0.
        assert_eq!(flyway_checksum(""), 0);
    }

    /// refinery's checksum was, before it named SipHash-1-3 explicitly,
    /// `std::collections::hash_map::DefaultHasher` (the comment in
    /// `refinery_core`'s `Migration::checksum`), which is SipHash-1-3 with
    /// zero keys; the std implementation is a second one to compare with
    /// (std does not promise to keep it: should a toolchain change it, this
    /// comparison fails and the byte-spelled one below still holds). And
    /// what `Hash` feeds it, spelled out: a `str`'s bytes then 0xff, an
    /// `i32`'s native-endian bytes.
    #[test]
    fn refinery_checksum_is_stds_siphash13_over_name_version_and_sql() {
        let mut std_hasher = std::hash::DefaultHasher::new();
        "users".hash(&mut std_hasher);
        1_i32.hash(&mut std_hasher);
        "CREATE TABLE users (id INTEGER);".hash(&mut std_hasher);
        let by_std = std_hasher.finish();
        assert_eq!(
            refinery_checksum("users", 1_i32, "CREATE TABLE users (id INTEGER);"),
            by_std
        );

        let mut bytes = siphasher::sip::SipHasher13::new();
        bytes.write(b"users\xff");
        bytes.write(&1_i32.to_ne_bytes());
        bytes.write(b"CREATE TABLE users (id INTEGER);\xff");
        assert_eq!(bytes.finish(), by_std);
    }

    #[test]
    fn refinery_checksum_depends_on_name_version_sql() {
        let base = refinery_checksum("users", 1_i32, "CREATE TABLE users (id INTEGER);");
        assert_ne!(
            base,
            refinery_checksum("user", 1_i32, "CREATE TABLE users (id INTEGER);")
        );
        assert_ne!(
            base,
            refinery_checksum("users", 2_i32, "CREATE TABLE users (id INTEGER);")
        );
        assert_ne!(
            base,
            refinery_checksum("users", 1_i64, "CREATE TABLE users (id INTEGER);")
        );
        // A str hashes as its bytes then 0xff: "a" + "bc" differs from "ab" + "c".
        assert_ne!(
            refinery_checksum("a", 1_i32, "bc"),
            refinery_checksum("ab", 1_i32, "c")
        );
    }

    #[test]
    fn goose_latest_row_decides_and_version_zero_is_skipped() {
        let t = table(
            &["id", "version_id", "is_applied", "tstamp"],
            &[
                &[Some("1"), Some("0"), Some("1")],
                &[Some("2"), Some("1"), Some("1")],
                &[Some("3"), Some("2"), Some("1")],
                &[Some("4"), Some("2"), Some("0")],
            ],
        );
        assert_eq!(versions(&adopt(Tool::Goose, &t, &SET).unwrap()), [1]);
    }

    #[test]
    fn golang_migrate_adopts_up_to_its_version_and_refuses_dirty() {
        let cols = ["version", "dirty"];
        let t = table(&cols, &[&[Some("2"), Some("false")]]);
        assert_eq!(
            versions(&adopt(Tool::GolangMigrate, &t, &SET).unwrap()),
            [1, 2]
        );
        let dirty = table(&cols, &[&[Some("2"), Some("true")]]);
        let problems = adopt(Tool::GolangMigrate, &dirty, &SET).unwrap_err();
        assert!(problems[0].to_string().contains("dirty"), "{}", problems[0]);
        let unknown = table(&cols, &[&[Some("7"), Some("0")]]);
        assert_eq!(
            adopt(Tool::GolangMigrate, &unknown, &SET).unwrap_err(),
            [AdoptProblem::UnknownVersion {
                version: "7".to_owned()
            }]
        );
    }

    #[test]
    fn dbmate_and_golang_migrate_tables_are_told_apart() {
        let golang = table(&["version", "dirty"], &[&[Some("1"), Some("0")]]);
        let dbmate = table(&["version"], &[&[Some("1")]]);
        assert!(
            adopt(Tool::Dbmate, &golang, &SET).unwrap_err()[0]
                .to_string()
                .contains("golang-migrate")
        );
        assert!(
            adopt(Tool::GolangMigrate, &dbmate, &SET).unwrap_err()[0]
                .to_string()
                .contains("dbmate")
        );
        assert!(records_applied(Tool::Dbmate, &dbmate));
        assert!(!records_applied(Tool::GolangMigrate, &dbmate));
    }

    #[test]
    fn flyway_rows_in_rank_order_with_baseline_undo_and_checksum() {
        let crc = |i: usize| flyway_checksum(SET[i].up_text.unwrap()).to_string();
        let (c2, c3) = (crc(1), crc(2));
        let cols = [
            "installed_rank",
            "version",
            "description",
            "type",
            "script",
            "checksum",
            "installed_by",
            "installed_on",
            "execution_time",
            "success",
        ];
        let t = table(
            &cols,
            &[
                &[
                    Some("1"),
                    Some("1"),
                    Some("BASELINE"),
                    Some("<< Flyway Baseline >>"),
                    None,
                    Some("true"),
                ],
                &[
                    Some("3"),
                    Some("3"),
                    Some("SQL"),
                    Some("V3__tags.sql"),
                    Some(&c3),
                    Some("true"),
                ],
                &[
                    Some("2"),
                    Some("2"),
                    Some("SQL"),
                    Some("V2__posts.sql"),
                    Some(&c2),
                    Some("true"),
                ],
                &[
                    Some("4"),
                    Some("3"),
                    Some("UNDO_SQL"),
                    Some("U3__tags.sql"),
                    None,
                    Some("true"),
                ],
                &[
                    Some("5"),
                    None,
                    Some("SQL"),
                    Some("R__views.sql"),
                    Some("5"),
                    Some("true"),
                ],
            ],
        );
        let adopted = adopt(Tool::Flyway, &t, &SET).unwrap();
        assert_eq!(versions(&adopted), [1, 2]);
        assert!(adopted[1].detail.contains("CRC32"), "{}", adopted[1].detail);
        let edited = table(
            &cols,
            &[&[
                Some("1"),
                Some("2"),
                Some("SQL"),
                Some("V2__posts.sql"),
                Some("12345"),
                Some("true"),
            ]],
        );
        let problems = adopt(Tool::Flyway, &edited, &SET).unwrap_err();
        assert!(
            matches!(&problems[..], [AdoptProblem::ChecksumMismatch { version: 2, recorded, .. }] if recorded == "12345")
        );
        let failed = table(
            &cols,
            &[&[
                Some("1"),
                Some("2"),
                Some("SQL"),
                Some("V2__posts.sql"),
                Some(&c2),
                Some("false"),
            ]],
        );
        assert!(matches!(
            &adopt(Tool::Flyway, &failed, &SET).unwrap_err()[..],
            [AdoptProblem::Unfinished { .. }]
        ));
    }

    #[test]
    fn sqlx_and_refinery_checksums_are_verified() {
        let sum = sqlx_checksum(SET[0].up_text.unwrap());
        let cols = [
            "version",
            "description",
            "installed_on",
            "success",
            "checksum",
            "execution_time",
        ];
        let ok = table(&cols, &[&[Some("1"), Some("users"), Some("1"), Some(&sum)]]);
        assert_eq!(versions(&adopt(Tool::Sqlx, &ok, &SET).unwrap()), [1]);
        let bad = table(&cols, &[&[Some("2"), Some("posts"), Some("1"), Some(&sum)]]);
        assert!(matches!(
            &adopt(Tool::Sqlx, &bad, &SET).unwrap_err()[..],
            [AdoptProblem::ChecksumMismatch { version: 2, .. }]
        ));
        let dirty = table(&cols, &[&[Some("1"), Some("users"), Some("0"), Some(&sum)]]);
        assert!(matches!(
            &adopt(Tool::Sqlx, &dirty, &SET).unwrap_err()[..],
            [AdoptProblem::Unfinished { .. }]
        ));

        let r = refinery_checksum("users", 1_i32, SET[0].up_text.unwrap()).to_string();
        let r64 = refinery_checksum("posts", 2_i64, SET[1].up_text.unwrap()).to_string();
        let cols = ["version", "name", "applied_on", "checksum"];
        let t = table(
            &cols,
            &[
                &[Some("1"), Some("users"), Some(&r)],
                &[Some("2"), Some("posts"), Some(&r64)],
            ],
        );
        assert_eq!(versions(&adopt(Tool::Refinery, &t, &SET).unwrap()), [1, 2]);
    }

    #[test]
    fn diesel_versions_map_as_its_reader_maps_them_and_setup_adopts_only_the_setup_folder() {
        let set = [Candidate {
            version: 20240313000000,
            name: "x",
            file: "2024-03-13_170000_x/up.sql",
            up_text: Some(""),
        }];
        let t = table(
            &["version", "run_on"],
            &[&[Some("00000000000000")], &[Some("20240313")]],
        );
        assert_eq!(
            versions(&adopt(Tool::Diesel, &t, &set).unwrap()),
            [20240313000000]
        );
        // With diesel's setup folder in the set, its row adopts it.
        let with_setup = [
            Candidate {
                version: 1,
                name: "diesel_initial_setup",
                file: "00000000000000_diesel_initial_setup/up.sql",
                up_text: Some(""),
            },
            set[0],
        ];
        assert_eq!(
            versions(&adopt(Tool::Diesel, &t, &with_setup).unwrap()),
            [1, 20240313000000]
        );
        // A version-1 migration that is not diesel's setup is not matched
        // by the setup row.
        let other_one = [Candidate {
            file: "00000000000001_x/up.sql",
            ..with_setup[0]
        }];
        let setup_only = table(&["version", "run_on"], &[&[Some("00000000000000")]]);
        assert_eq!(
            versions(&adopt(Tool::Diesel, &setup_only, &other_one).unwrap()),
            [] as [u64; 0]
        );
        assert!(!records_applied(Tool::Diesel, &setup_only));
        let unknown = table(&["version", "run_on"], &[&[Some("20240314")]]);
        assert!(
            adopt(Tool::Diesel, &unknown, &set).unwrap_err()[0]
                .to_string()
                .contains("`20240314`")
        );
    }
}
