//! Which `PRAGMA` assignments migration code may make, and keeping the
//! connection's own settings for one migration alone.
//!
//! Every assignment (`PRAGMA name = value`, or `PRAGMA name(value)`) falls in
//! one of four kinds, from <https://www.sqlite.org/pragma.html>:
//!
//! - a **setting of the connection** ([`CONNECTION_SETTINGS`]): allowed; its
//!   value before the migration is read and put back after it;
//! - a **setting of the database file** ([`FILE_SETTINGS`], and
//!   `journal_mode = WAL`), such as `user_version`: allowed and kept, since it
//!   is the migration's change to the database;
//! - a pragma whose value is an **argument** ([`ARGUMENT_PRAGMAS`]), such as
//!   `table_info(t)` or `wal_checkpoint(FULL)`: allowed;
//! - anything else: refused, with the reason for the known ones
//!   ([`refusal`]); a pragma this list does not know is refused too, rather
//!   than left changed on the caller's connection.

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension};

/// The settings of a connection (not of its database file) that SQL can
/// set and read back: a migration's change to one holds for the migration
/// alone. `count_changes`, `empty_result_callbacks`, `full_column_names`
/// and `short_column_names` are deprecated but still change what every
/// statement of the connection returns. `journal_mode` is one, except for
/// `WAL`, which is stored in the database file (see [`restore`]).
const CONNECTION_SETTINGS: [&str; 30] = [
    "analysis_limit",
    "automatic_index",
    "busy_timeout",
    "cache_size",
    "cache_spill",
    "cell_size_check",
    "checkpoint_fullfsync",
    "count_changes",
    "defer_foreign_keys",
    "empty_result_callbacks",
    "foreign_keys",
    "full_column_names",
    "fullfsync",
    "ignore_check_constraints",
    "journal_mode",
    "journal_size_limit",
    "legacy_alter_table",
    "locking_mode",
    "max_page_count",
    "mmap_size",
    "query_only",
    "read_uncommitted",
    "recursive_triggers",
    "reverse_unordered_selects",
    "secure_delete",
    "short_column_names",
    "synchronous",
    "threads",
    "trusted_schema",
    "wal_autocheckpoint",
];

/// The settings a schema has of its own (`PRAGMA aux.cache_size`), beside
/// `main`'s: a Rust migration's are read for every schema.
const SCHEMA_SETTINGS: [&str; 9] = [
    "cache_size",
    "cache_spill",
    "journal_mode",
    "journal_size_limit",
    "locking_mode",
    "max_page_count",
    "mmap_size",
    "secure_delete",
    "synchronous",
];

/// Settings stored in the database file, which a migration may mean to
/// change. (`journal_mode = WAL` is stored in the file too: see
/// [`classify`].)
const FILE_SETTINGS: [&str; 6] = [
    "application_id",
    "auto_vacuum",
    "encoding",
    "legacy_file_format",
    "page_size",
    "user_version",
];

/// Pragmas whose value is an argument of a query or an action, not a
/// setting.
const ARGUMENT_PRAGMAS: [&str; 13] = [
    "foreign_key_check",
    "foreign_key_list",
    "incremental_vacuum",
    "index_info",
    "index_list",
    "index_xinfo",
    "integrity_check",
    "optimize",
    "quick_check",
    "table_info",
    "table_list",
    "table_xinfo",
    "wal_checkpoint",
];

/// What a `PRAGMA name = value` of migration code is.
pub(super) enum Assignment {
    /// A connection setting, by its name in [`CONNECTION_SETTINGS`].
    Setting(&'static str),
    /// A file setting or an argument: allowed as it is.
    Allowed,
    /// Refused, and why.
    Refused(String),
}

/// Classifies a `PRAGMA name = value` (names compared without regard to
/// ASCII case, as SQLite does).
pub(super) fn classify(name: &str, value: &str) -> Assignment {
    let known = |list: &[&'static str]| {
        list.iter()
            .copied()
            .find(|known| known.eq_ignore_ascii_case(name))
    };
    if let Some(reason) = refusal(name, value) {
        return Assignment::Refused(reason);
    }
    if name.eq_ignore_ascii_case("journal_mode") && value.eq_ignore_ascii_case("wal") {
        return Assignment::Allowed;
    }
    if let Some(setting) = known(&CONNECTION_SETTINGS) {
        return Assignment::Setting(setting);
    }
    if known(&FILE_SETTINGS).or(known(&ARGUMENT_PRAGMAS)).is_some() {
        return Assignment::Allowed;
    }
    Assignment::Refused(format!(
        "`PRAGMA {name} = {value}` is not allowed in a migration: it is not a setting the runner knows it can put back afterwards, nor one of the database file"
    ))
}

/// Why a known pragma may not be set by migration code.
fn refusal(name: &str, value: &str) -> Option<String> {
    let name = name.to_ascii_lowercase();
    let why = match name.as_str() {
        "writable_schema" => {
            "it lets SQL rewrite `sqlite_schema`, and so the definitions of the tracking tables, past every other rule"
        }
        "schema_version" => "writing it can corrupt the database",
        "case_sensitive_like" => {
            "it cannot be read back, so the runner could not put it back on the caller's connection"
        }
        "temp_store" => {
            "changing it deletes every temporary table of the caller's connection, and it cannot be put back inside a transaction"
        }
        "temp_store_directory" | "data_store_directory" => {
            "it sets a folder for every connection of the process"
        }
        "hard_heap_limit" | "soft_heap_limit" => {
            "it sets a limit for every connection of the process (and `hard_heap_limit` can only be lowered, so it could not be put back)"
        }
        "journal_mode"
            if ["off", "memory"]
                .iter()
                .any(|mode| mode.eq_ignore_ascii_case(value)) =>
        {
            "the runner relies on the rollback journal to leave the database as it was when a migration fails or the process dies"
        }
        _ => return None,
    };
    Some(format!(
        "`PRAGMA {name} = {value}` is not allowed in a migration: {why}"
    ))
}

/// A connection setting, in a schema when the statement named one other
/// than `main`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Setting {
    schema: Option<String>,
    name: &'static str,
}

impl Setting {
    /// The setting `name` in `schema`; `main` is the default schema, so it is
    /// the same setting as none.
    pub(super) fn new(schema: Option<&str>, name: &'static str) -> Setting {
        Setting {
            schema: schema
                .filter(|schema| !schema.eq_ignore_ascii_case("main"))
                .map(str::to_owned),
            name,
        }
    }

    /// `PRAGMA "schema".name`. (A pragma takes no bound parameters, so the
    /// schema is quoted as an identifier here, and values below are
    /// literals read back from SQLite itself.)
    fn pragma(&self) -> String {
        match &self.schema {
            Some(schema) => format!("PRAGMA \"{}\".{}", schema.replace('"', "\"\""), self.name),
            None => format!("PRAGMA {}", self.name),
        }
    }

    /// Its value now, if it has one (`mmap_size` of an in-memory database
    /// has none).
    fn read(&self, conn: &Connection) -> rusqlite::Result<Option<Value>> {
        conn.query_row(&self.pragma(), [], |row| row.get(0))
            .optional()
    }
}

/// The settings a migration changes: the ones noted to be saved, and the
/// values saved before it changed them.
#[derive(Debug, Default)]
pub(super) struct Settings {
    to_save: Vec<Setting>,
    saved: Vec<(Setting, Value)>,
}

impl Settings {
    /// Whether `name` in `schema` must be saved before the statement that
    /// sets it is compiled (again); if so, it is noted.
    pub(super) fn must_save(&mut self, schema: Option<&str>, name: &'static str) -> bool {
        let setting = Setting::new(schema, name);
        if self.saved.iter().any(|(saved, _)| *saved == setting) {
            return false;
        }
        if !self.to_save.contains(&setting) {
            self.to_save.push(setting);
        }
        true
    }

    /// The settings noted to be saved, taken.
    pub(super) fn take_to_save(&mut self) -> Vec<Setting> {
        std::mem::take(&mut self.to_save)
    }

    /// Every connection setting, and the settings of each other schema of
    /// `schemas`, to be saved before a Rust migration.
    pub(super) fn all(schemas: &[String]) -> Vec<Setting> {
        let main = CONNECTION_SETTINGS
            .into_iter()
            .map(|name| Setting::new(None, name));
        let others = schemas.iter().flat_map(|schema| {
            SCHEMA_SETTINGS
                .into_iter()
                .map(move |name| Setting::new(Some(schema), name))
        });
        main.chain(others).collect()
    }

    pub(super) fn is_saved(&self, setting: &Setting) -> bool {
        self.saved.iter().any(|(saved, _)| saved == setting)
    }

    pub(super) fn push(&mut self, setting: Setting, value: Value) {
        self.saved.push((setting, value));
    }

    pub(super) fn take_saved(&mut self) -> Vec<(Setting, Value)> {
        std::mem::take(&mut self.saved)
    }
}

/// Reads a setting's value to keep it: NULL for one without a value here,
/// which has nothing to put back.
pub(super) fn read(conn: &Connection, setting: &Setting) -> rusqlite::Result<Value> {
    Ok(setting.read(conn)?.unwrap_or(Value::Null))
}

/// Puts back each saved setting that changed, trying every one whatever
/// fails; a setting of a schema that is gone (detached) is skipped. Returns
/// the first error.
pub(super) fn restore(conn: &Connection, saved: Vec<(Setting, Value)>) -> rusqlite::Result<()> {
    let mut first_error = None;
    for (setting, before) in saved.into_iter().rev() {
        let literal = match &before {
            Value::Integer(value) => value.to_string(),
            Value::Real(value) => value.to_string(),
            Value::Text(text) => format!("'{}'", text.replace('\'', "''")),
            Value::Null | Value::Blob(_) => continue,
        };
        let now = match setting.read(conn) {
            Ok(now) => now,
            Err(_) if setting.schema.is_some() => continue,
            Err(error) => {
                first_error.get_or_insert(error);
                continue;
            }
        };
        if now.as_ref() == Some(&before) {
            continue;
        }
        // Into or out of `WAL` is a change of the database file, which the
        // migration meant (https://www.sqlite.org/wal.html#persistence).
        let wal = |value: Option<&Value>| matches!(value, Some(Value::Text(mode)) if mode.eq_ignore_ascii_case("wal"));
        if setting.name == "journal_mode" && (wal(Some(&before)) || wal(now.as_ref())) {
            continue;
        }
        // A setting may answer with a row (`locking_mode`, `cache_size`).
        let restored = conn
            .query_row(&format!("{} = {literal}", setting.pragma()), [], |_| Ok(()))
            .optional();
        if let Err(error) = restored {
            first_error.get_or_insert(error);
        }
    }
    first_error.map_or(Ok(()), Err)
}
