//! The build-time check's outcome, kept between builds: a rebuild of the
//! crate (or rust-analyzer's expansion) with an unchanged folder reuses it
//! instead of applying the whole set again.
//!
//! An outcome is found by its key, the SHA-256 of everything the check
//! depends on: this macro's version and the version of the check's format,
//! the SQLite it runs on (`sqlite3_sourceid()` and `PRAGMA compile_options`,
//! so a build flag such as `SQLITE_MAX_EXPR_DEPTH` counts), the macro's
//! arguments as written, the stand-in functions and collations the check
//! registers (`functions(...)`, `collations(...)`) and its foreign keys
//! setting, and per migration its version, name, files,
//! `-- migrate:no-transaction` flags, the checksum of its up file and the
//! text of its down. So a changed file, option or SQLite can never reuse a
//! stale outcome: it has another key.
//!
//! Outcomes live in `<target dir>/migrate-check/<key>`, beside the build
//! they belong to (`cargo clean` removes them): the target directory is
//! `CARGO_TARGET_DIR` when set, or else the nearest `target` folder holding
//! cargo's `CACHEDIR.TAG` above the crate (`OUT_DIR` is not set for proc
//! macros). Without one no outcome is kept. Reading or writing an outcome
//! never fails the build: an entry that cannot be read or parsed is a miss,
//! and one that cannot be written is not kept.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use migrate_core::sqlite::VerifyOptions;
use migrate_core::{Direction, Migrations, ObjectKind, Schema, Script};
use sha2::{Digest, Sha256};

/// Bumped whenever what the check finds, or how an outcome is written,
/// changes within one version of the macro.
/// 2: the stand-ins, and the hint naming `functions(...)` in problems.
const FORMAT: &str = "migrate-check 2";

/// What the check found: the objects of the schema the set produces
/// (`None` when a Rust migration's code could not run), or the problems as
/// the compile errors show them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The set passed.
    Passed(Option<Vec<Object>>),
    /// The problems, each a compile error's message.
    Failed(Vec<String>),
}

/// One object of the schema, as the expansion embeds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Object {
    pub kind: ObjectKind,
    pub name: String,
    pub table: String,
    pub sql: String,
}

impl Object {
    /// The objects of `schema`, in its order.
    pub fn all(schema: &Schema) -> Vec<Object> {
        schema
            .objects()
            .iter()
            .map(|object| Object {
                kind: object.kind(),
                name: object.name().to_owned(),
                table: object.table().to_owned(),
                sql: object.sql().to_owned(),
            })
            .collect()
    }
}

/// The folder outcomes are kept in, if there is one (see the module docs).
pub fn folder(manifest_dir: &Path) -> Option<PathBuf> {
    folder_for(manifest_dir, std::env::var_os("CARGO_TARGET_DIR"))
}

/// [`folder`], with `target_dir` the value of `CARGO_TARGET_DIR`.
pub(crate) fn folder_for(
    manifest_dir: &Path,
    target_dir: Option<std::ffi::OsString>,
) -> Option<PathBuf> {
    let target = match target_dir {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                // Relative to the directory cargo was started in, which a
                // proc macro does not know; the workspace root is a guess.
                return None;
            }
        }
        _ => manifest_dir
            .ancestors()
            .map(|dir| dir.join("target"))
            .find(|target| target.join("CACHEDIR.TAG").is_file())?,
    };
    Some(target.join("migrate-check"))
}

/// The key of the check of `migrations` with the macro's arguments
/// `arguments` (as written) and the check's `options` on the SQLite
/// `sqlite` describes.
pub fn key(
    migrations: &Migrations,
    arguments: &str,
    options: &VerifyOptions<'_>,
    sqlite: &str,
) -> String {
    let mut hasher = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    field(FORMAT.as_bytes());
    field(env!("CARGO_PKG_VERSION").as_bytes());
    field(sqlite.as_bytes());
    field(arguments.as_bytes());
    // In the arguments as written too; kept apart so that the key does not
    // depend on how they are spelled there.
    field(&(options.functions().len() as u64).to_le_bytes());
    for name in options.functions() {
        field(name.as_bytes());
    }
    field(&(options.collations().len() as u64).to_le_bytes());
    for name in options.collations() {
        field(name.as_bytes());
    }
    field(&[u8::from(options.enforces_foreign_keys())]);
    for migration in migrations.iter() {
        field(&migration.version().to_le_bytes());
        field(migration.name().as_bytes());
        field(migration.file().as_bytes());
        field(format!("{:?}", migration.kind()).as_bytes());
        field(&[u8::from(migration.up_no_transaction())]);
        field(migration.checksum().as_bytes());
        match (migration.down_file(), migration.script(Direction::Down)) {
            (Some(file), Some(Script::Sql { sql, .. })) => {
                field(file.as_bytes());
                field(&[u8::from(migration.down_no_transaction())]);
                field(sql.as_bytes());
            }
            // A Rust migration's down is in its file, whose checksum is in.
            (Some(file), _) => field(file.as_bytes()),
            (None, _) => field(b"no down"),
        }
    }
    hex::encode(hasher.finalize())
}

/// The SQLite the check runs on: its source id and compile options.
pub fn sqlite_identity() -> String {
    use migrate_core::sqlite::rusqlite::Connection;
    let mut identity = migrate_core::sqlite::rusqlite::version().to_owned();
    // SAFETY: `sqlite3_sourceid` returns a pointer to a static C string.
    let source = unsafe {
        std::ffi::CStr::from_ptr(migrate_core::sqlite::rusqlite::ffi::sqlite3_sourceid())
    };
    identity.push(' ');
    identity.push_str(&source.to_string_lossy());
    let options = Connection::open_in_memory().and_then(|conn| {
        let mut statement = conn.prepare("PRAGMA compile_options")?;
        let options = statement
            .query_map([], |row| row.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(options)
    });
    match options {
        Ok(options) => {
            for option in options {
                identity.push(' ');
                identity.push_str(&option);
            }
        }
        // A key that matches nothing kept: the check runs.
        Err(error) => {
            let _ = write!(identity, " unknown options: {error}");
        }
    }
    identity
}

/// The outcome kept under `key` in `folder`, if one can be read.
pub fn load(folder: &Path, key: &str) -> Option<Outcome> {
    let text = std::fs::read_to_string(folder.join(key)).ok()?;
    decode(&text)
}

/// Keeps `outcome` under `key` in `folder`; any failure only means it is
/// not kept. Written to a file of its own first and renamed, so a build
/// running beside this one reads a whole outcome or none.
pub fn store(folder: &Path, key: &str, outcome: &Outcome) {
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(folder)?;
        let partial = folder.join(format!("{key}.{}.partial", std::process::id()));
        std::fs::write(&partial, encode(outcome))?;
        std::fs::rename(&partial, folder.join(key)).inspect_err(|_| {
            let _ = std::fs::remove_file(&partial);
        })
    };
    let _ = write();
}

/// An outcome as text: a first line `passed <n>`, `unknown` or `failed <n>`,
/// then each field as its length in bytes on a line and the field, for the
/// `n` objects (kind, name, table, statement) or problems.
fn encode(outcome: &Outcome) -> String {
    let mut text = String::new();
    let field = |text: &mut String, value: &str| {
        let _ = writeln!(text, "{}", value.len());
        text.push_str(value);
        text.push('\n');
    };
    match outcome {
        Outcome::Passed(Some(objects)) => {
            let _ = writeln!(text, "passed {}", objects.len());
            for object in objects {
                field(&mut text, object.kind.as_str());
                field(&mut text, &object.name);
                field(&mut text, &object.table);
                field(&mut text, &object.sql);
            }
        }
        Outcome::Passed(None) => text.push_str("unknown\n"),
        Outcome::Failed(problems) => {
            let _ = writeln!(text, "failed {}", problems.len());
            for problem in problems {
                field(&mut text, problem);
            }
        }
    }
    text
}

fn decode(text: &str) -> Option<Outcome> {
    let (header, mut rest) = text.split_once('\n')?;
    let mut field = || -> Option<String> {
        let (length, after) = rest.split_once('\n')?;
        let length: usize = length.parse().ok()?;
        let value = after.get(..length)?;
        rest = after.get(length..)?.strip_prefix('\n')?;
        Some(value.to_owned())
    };
    let outcome = match header.split_once(' ') {
        Some(("passed", count)) => {
            let count: usize = count.parse().ok()?;
            let mut objects = Vec::with_capacity(count.min(1 << 16));
            for _ in 0..count {
                let kind = match field()?.as_str() {
                    "table" => ObjectKind::Table,
                    "index" => ObjectKind::Index,
                    "view" => ObjectKind::View,
                    "trigger" => ObjectKind::Trigger,
                    _ => return None,
                };
                let (name, table, sql) = (field()?, field()?, field()?);
                objects.push(Object {
                    kind,
                    name,
                    table,
                    sql,
                });
            }
            Outcome::Passed(Some(objects))
        }
        Some(("failed", count)) => {
            let count: usize = count.parse().ok()?;
            let problems = (0..count).map(|_| field()).collect::<Option<Vec<_>>>()?;
            Outcome::Failed(problems)
        }
        None if header == "unknown" => Outcome::Passed(None),
        _ => return None,
    };
    rest.is_empty().then_some(outcome)
}
