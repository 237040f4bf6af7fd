//! The settings a command runs with. For each one, the first source that
//! gives it wins:
//!
//! 1. the command line: after the subcommand, then before it;
//! 2. the environment: `DATABASE_URL`, then `DATABASE_URL` in a `.env`
//!    file in the current folder or the nearest parent that has one (read
//!    as sqlx-cli and diesel read it, with `dotenvy`; the process's own
//!    environment is not changed);
//! 3. the settings file: `--config <FILE>`, or else `migrate.toml` in the
//!    current folder if there is one, with the keys `dir`, `table`,
//!    `format`, `database`, for SQLite `foreign_keys` (`"on"` or `"off"`),
//!    and for PostgreSQL `schema` and `lock_scope` (a
//!    relative path in `dir` or `database` is relative to the file's
//!    folder);
//! 4. the defaults: the folder `migrations`, the table
//!    `migrate_schema_history`, text; no database.
//!
//! The mounted commands take the command line and the defaults only: the
//! application has its own configuration.

use std::fmt;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;

use crate::args::{
    Folder, Format, Layout, LockScope, OnOff, Options, PostgresOptions, SqliteOptions,
};

/// The variable naming the database, as for sqlx-cli and diesel.
const DATABASE_URL: &str = "DATABASE_URL";

/// The settings file looked for in the current folder.
const CONFIG_FILE: &str = "migrate.toml";

/// The folder when none is given.
const DEFAULT_DIR: &str = "migrations";

/// What the handlers need of the options: how to print, which tracking
/// table, where to log.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// Print JSON instead of text.
    pub(crate) json: bool,
    /// The tracking table.
    pub(crate) table: String,
    /// The log file, for the commands that change the database.
    pub(crate) log_file: Option<PathBuf>,
}

impl Settings {
    /// Merges the options given after the subcommand, before it, and in the
    /// settings file (if any), in that order of precedence, over the
    /// defaults. `logs`: whether the command changes the database, so that
    /// `--log-file` means something to it.
    pub(crate) fn merge(
        after: &Options,
        before: &Options,
        config: Option<&Config>,
        logs: bool,
    ) -> Settings {
        let file = config.map(|config| &config.file);
        let format = after
            .output
            .format()
            .or(before.output.format())
            .or(file.and_then(|file| file.format))
            .unwrap_or(Format::Text);
        let table = after
            .tracking
            .table
            .clone()
            .or_else(|| before.tracking.table.clone())
            .or_else(|| file.and_then(|file| file.table.clone()))
            .unwrap_or_else(|| migrate_core::DEFAULT_TABLE.to_owned());
        let log_file = logs
            .then(|| {
                after
                    .logging
                    .log_file
                    .clone()
                    .or_else(|| before.logging.log_file.clone())
            })
            .flatten();
        Settings {
            json: format == Format::Json,
            table,
            log_file,
        }
    }
}

/// `migrate.toml` (or the file `--config` names), read.
#[derive(Debug)]
pub(crate) struct Config {
    /// The file, as given or found.
    path: PathBuf,
    /// Its keys.
    file: ConfigFile,
}

/// The keys of `migrate.toml`; any other is an error.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    /// The migrations folder.
    dir: Option<PathBuf>,
    /// The tracking table.
    table: Option<String>,
    /// `text` or `json`.
    format: Option<Format>,
    /// The database, as `--database` takes it.
    database: Option<String>,
    /// PostgreSQL: the tracking tables' schema.
    schema: Option<String>,
    /// PostgreSQL: `session` or `transaction`.
    lock_scope: Option<LockScope>,
    /// SQLite: `on` or `off`.
    foreign_keys: Option<OnOff>,
}

impl Config {
    /// Reads the settings file: `given` (`--config`), which must exist, or
    /// else `migrate.toml` in the current folder if there is one.
    ///
    /// # Errors
    ///
    /// The file cannot be read, is not TOML, or has a key or value that is
    /// not one of its settings; naming the file (and the line).
    pub(crate) fn load(given: Option<&Path>) -> Result<Option<Config>> {
        let path = given.unwrap_or(Path::new(CONFIG_FILE));
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if given.is_none() && error.kind() == ErrorKind::NotFound => {
                return Ok(None);
            }
            Err(error) => {
                return Err(error)
                    .with_context(|| format!("reading the settings file `{}`", path.display()));
            }
        };
        let file: ConfigFile = toml::from_str(&text).map_err(|error| {
            let line = error
                .span()
                .map(|span| format!(" line {}", 1 + text[..span.start].matches('\n').count()))
                .unwrap_or_default();
            // serde's word for a key of a struct is "field"; TOML's is "key".
            let message = error.message().replacen("unknown field", "unknown key", 1);
            anyhow!("`{}`{line}: {message}", path.display())
        })?;
        let config = Config {
            path: path.to_owned(),
            file,
        };
        if config
            .file
            .dir
            .as_ref()
            .is_some_and(|dir| dir.as_os_str().is_empty())
        {
            bail!(
                "`dir` in `{}` is empty: name the migrations folder",
                config.path.display()
            );
        }
        Ok(Some(config))
    }

    /// The folder relative paths in the file are relative to.
    pub(crate) fn base(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new(""))
    }
}

/// The migrations folder: `--dir` after the subcommand, before it, `dir` in
/// the settings file (relative to its folder), or `migrations`; and, when
/// it came from the settings file, that file.
pub(crate) fn dir<'a>(
    after: &Folder,
    before: &Folder,
    config: Option<&'a Config>,
) -> (PathBuf, Option<&'a Path>) {
    if let Some(dir) = after.dir.as_ref().or(before.dir.as_ref()) {
        return (dir.clone(), None);
    }
    match config.and_then(|config| Some((config, config.file.dir.as_ref()?))) {
        Some((config, dir)) => (config.base().join(dir), Some(&config.path)),
        None => (PathBuf::from(DEFAULT_DIR), None),
    }
}

/// How to read the folder: `--folder-format` and `--placeholder`s after the
/// subcommand, else before it.
pub(crate) fn read_options(after: &Layout, before: &Layout) -> migrate_core::formats::ReadOptions {
    let mut options = migrate_core::formats::ReadOptions::new(
        after
            .folder_format
            .or(before.folder_format)
            .unwrap_or_default(),
    );
    for (name, value) in before.placeholder.iter().chain(&after.placeholder) {
        options.placeholders.insert(name.clone(), value.clone());
    }
    options
}

/// The settings file given after or before the subcommand.
pub(crate) fn config_path<'a>(after: &'a Folder, before: &'a Folder) -> Option<&'a Path> {
    after.config.as_deref().or(before.config.as_deref())
}

/// A setting and where it came from (`--schema`, `` `schema` in
/// `migrate.toml` ``), for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FromWhere<T> {
    /// The value.
    pub(crate) value: T,
    /// The option or the file's key that gave it.
    pub(crate) origin: String,
}

/// The setting given by `--{option}` after the subcommand (`after`), before
/// it (`before`), or else by `key` in the settings file (`config` and that
/// key's value there), with where it came from; `None` when none gives it.
fn pick<T: Clone>(
    option: &str,
    after: &Option<T>,
    before: &Option<T>,
    key: &str,
    config: Option<(&Config, &Option<T>)>,
) -> Option<FromWhere<T>> {
    let given = |value: &T, origin: String| FromWhere {
        value: value.clone(),
        origin,
    };
    if let Some(value) = after.as_ref().or(before.as_ref()) {
        return Some(given(value, format!("--{option}")));
    }
    let (config, value) = config?;
    value
        .as_ref()
        .map(|value| given(value, format!("`{key}` in `{}`", config.path.display())))
}

/// The SQLite settings of a database command: the extensions to load, and
/// the foreign keys, where they came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SqliteSettings {
    /// `--load-extension`s given before the subcommand, then after it.
    pub(crate) extensions: Vec<PathBuf>,
    /// `--foreign-keys`, or the settings file's `foreign_keys`.
    pub(crate) foreign_keys: Option<FromWhere<OnOff>>,
}

impl SqliteSettings {
    /// The options after the subcommand, before it, and the settings file's
    /// `foreign_keys`; the extensions of both places, in the order given.
    pub(crate) fn merge(
        after: &SqliteOptions,
        before: &SqliteOptions,
        config: Option<&Config>,
    ) -> SqliteSettings {
        let foreign_keys = pick(
            "foreign-keys",
            &after.foreign_keys,
            &before.foreign_keys,
            "foreign_keys",
            config.map(|c| (c, &c.file.foreign_keys)),
        );
        SqliteSettings {
            extensions: before
                .load_extension
                .iter()
                .chain(&after.load_extension)
                .cloned()
                .collect(),
            foreign_keys,
        }
    }

    /// Whether foreign keys are to be on: unless `off` was given.
    pub(crate) fn foreign_keys_on(&self) -> bool {
        self.foreign_keys
            .as_ref()
            .is_none_or(|given| given.value == OnOff::On)
    }

    /// Where the first of the settings given came from, if any: what a
    /// PostgreSQL database refuses.
    pub(crate) fn first_given(&self) -> Option<String> {
        if !self.extensions.is_empty() {
            return Some("--load-extension".to_owned());
        }
        self.foreign_keys.as_ref().map(|given| given.origin.clone())
    }
}

/// The PostgreSQL settings of a database command, each where it came from;
/// `None` when nothing gives it (the backend's default then).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PostgresSettings {
    /// The tracking tables' schema.
    pub(crate) schema: Option<FromWhere<String>>,
    /// The lock scope.
    pub(crate) lock_scope: Option<FromWhere<LockScope>>,
}

impl PostgresSettings {
    /// `--schema` and `--lock-scope` after the subcommand, before it, or the
    /// settings file's `schema` and `lock_scope`.
    pub(crate) fn merge(
        after: &PostgresOptions,
        before: &PostgresOptions,
        config: Option<&Config>,
    ) -> PostgresSettings {
        PostgresSettings {
            schema: pick(
                "schema",
                &after.schema,
                &before.schema,
                "schema",
                config.map(|c| (c, &c.file.schema)),
            ),
            lock_scope: pick(
                "lock-scope",
                &after.lock_scope,
                &before.lock_scope,
                "lock_scope",
                config.map(|c| (c, &c.file.lock_scope)),
            ),
        }
    }

    /// Where the first of the settings given came from, if any: what a
    /// SQLite database refuses.
    pub(crate) fn first_given(&self) -> Option<&str> {
        self.schema
            .as_ref()
            .map(|s| s.origin.as_str())
            .or(self.lock_scope.as_ref().map(|s| s.origin.as_str()))
    }
}

/// A connection string and where it came from.
#[derive(Debug)]
pub(crate) struct Given {
    /// The connection string.
    pub(crate) database: String,
    /// Where it came from.
    pub(crate) origin: Origin,
}

/// Where a connection string came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    /// `--database`.
    CommandLine,
    /// `DATABASE_URL` in the environment.
    Environment,
    /// `DATABASE_URL` in this `.env` file.
    DotEnv(PathBuf),
    /// `database` in this settings file, whose folder relative paths are
    /// relative to.
    Config(PathBuf),
}

impl Origin {
    /// The folder a relative path in the connection string is relative to.
    pub(crate) fn base(&self) -> &Path {
        match self {
            Origin::Config(path) => path.parent().unwrap_or(Path::new("")),
            _ => Path::new(""),
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::CommandLine => f.write_str("--database"),
            Origin::Environment => f.write_str(DATABASE_URL),
            Origin::DotEnv(path) => write!(f, "{DATABASE_URL} in `{}`", path.display()),
            Origin::Config(path) => write!(f, "`database` in `{}`", path.display()),
        }
    }
}

/// The database: `--database`, `DATABASE_URL` in the environment, in a
/// `.env` file, or `database` in the settings file.
///
/// # Errors
///
/// None of them gives one, or the `.env` file found cannot be read.
pub(crate) fn database(given: Option<&str>, config: Option<&Config>) -> Result<Given> {
    let found = |database: &str, origin| Given {
        database: database.to_owned(),
        origin,
    };
    if let Some(database) = given {
        return Ok(found(database, Origin::CommandLine));
    }
    if let Some(database) = std::env::var_os(DATABASE_URL).filter(|value| !value.is_empty()) {
        let database = database
            .into_string()
            .map_err(|_| anyhow!("{DATABASE_URL} is not UTF-8"))?;
        return Ok(found(&database, Origin::Environment));
    }
    if let Some((database, path)) = dot_env()? {
        return Ok(found(&database, Origin::DotEnv(path)));
    }
    if let Some(config) = config
        && let Some(database) = &config.file.database
    {
        return Ok(found(database, Origin::Config(config.path.clone())));
    }
    bail!(
        "no database: pass `--database <URL>`, set {DATABASE_URL} (in the environment or a .env file), or set `database` in {CONFIG_FILE}"
    )
}

/// `DATABASE_URL` in the `.env` file of the current folder or of its
/// nearest parent that has one, as `dotenvy::dotenv` finds it (the first
/// definition in the file wins, as when it loads the file), and that file;
/// `None` when there is no such file or it does not set a non-empty value.
///
/// # Errors
///
/// The file cannot be read or parsed, naming it.
fn dot_env() -> Result<Option<(String, PathBuf)>> {
    let here = std::env::current_dir().context("finding the current folder")?;
    let Some(path) = here
        .ancestors()
        .map(|folder| folder.join(".env"))
        .find(|path| path.is_file())
    else {
        return Ok(None);
    };
    let read = || format!("reading `{}`", path.display());
    for item in dotenvy::from_path_iter(&path).with_context(read)? {
        let (key, value) = item.with_context(read)?;
        if key == DATABASE_URL {
            return Ok((!value.is_empty()).then_some((value, path)));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Logging, Output, Tracking};

    fn options(json: bool, format: Option<Format>, table: Option<&str>) -> Options {
        Options {
            output: Output { json, format },
            tracking: Tracking {
                table: table.map(str::to_owned),
            },
            logging: Logging::default(),
        }
    }

    fn config(text: &str) -> Config {
        Config {
            path: PathBuf::from("conf/migrate.toml"),
            file: toml::from_str(text).unwrap(),
        }
    }

    #[test]
    fn the_command_line_wins_over_the_settings_file_over_the_defaults() {
        let none = Options::default();
        let defaults = Settings::merge(&none, &none, None, true);
        assert!(!defaults.json);
        assert_eq!(defaults.table, "migrate_schema_history");

        let file = config("table = 'from_file'\nformat = 'json'\ndir = 'db'");
        let from_file = Settings::merge(&none, &none, Some(&file), true);
        assert!(from_file.json);
        assert_eq!(from_file.table, "from_file");

        let before = options(true, None, Some("before"));
        let after = options(false, Some(Format::Text), Some("after"));
        let merged = Settings::merge(&after, &before, Some(&file), true);
        assert!(!merged.json, "`--format text` after the subcommand wins");
        assert_eq!(merged.table, "after");
        let merged = Settings::merge(&none, &before, Some(&file), true);
        assert!(merged.json);
        assert_eq!(merged.table, "before");

        let folder = |dir: Option<&str>| Folder {
            dir: dir.map(PathBuf::from),
            config: None,
        };
        assert_eq!(
            dir(&folder(None), &folder(None), Some(&file)),
            (
                PathBuf::from("conf/db"),
                Some(Path::new("conf/migrate.toml"))
            ),
            "relative to the settings file's folder"
        );
        assert_eq!(
            dir(&folder(None), &folder(Some("x")), Some(&file)).0,
            PathBuf::from("x")
        );
        assert_eq!(
            dir(&folder(None), &folder(None), None).0,
            PathBuf::from("migrations")
        );
    }

    #[test]
    fn the_postgres_settings_come_from_the_command_line_then_the_settings_file() {
        let file = config("schema = 'from_file'\nlock_scope = 'transaction'");
        let none = PostgresOptions::default();
        let merged = PostgresSettings::merge(&none, &none, Some(&file));
        assert_eq!(
            merged.schema,
            Some(FromWhere {
                value: "from_file".to_owned(),
                origin: "`schema` in `conf/migrate.toml`".to_owned()
            })
        );
        assert_eq!(
            merged.lock_scope.as_ref().map(|s| s.value),
            Some(LockScope::Transaction)
        );
        assert_eq!(
            merged.first_given(),
            Some("`schema` in `conf/migrate.toml`")
        );

        let before = PostgresOptions {
            schema: Some("before".into()),
            lock_scope: None,
        };
        let after = PostgresOptions {
            schema: Some("after".into()),
            lock_scope: Some(LockScope::Session),
        };
        let merged = PostgresSettings::merge(&after, &before, Some(&file));
        assert_eq!(merged.schema.unwrap().value, "after");
        let scope = merged.lock_scope.unwrap();
        assert_eq!(
            (scope.value, scope.origin.as_str()),
            (LockScope::Session, "--lock-scope")
        );
        let merged = PostgresSettings::merge(&none, &before, None);
        assert_eq!(merged.first_given(), Some("--schema"));
        assert_eq!(
            PostgresSettings::merge(&none, &none, None).first_given(),
            None
        );
    }

    #[test]
    fn the_log_file_goes_only_to_commands_that_change_the_database() {
        let mut before = Options::default();
        before.logging.log_file = Some(PathBuf::from("x.log"));
        let none = Options::default();
        assert!(
            Settings::merge(&none, &before, None, true)
                .log_file
                .is_some()
        );
        assert!(
            Settings::merge(&none, &before, None, false)
                .log_file
                .is_none()
        );
    }
}
