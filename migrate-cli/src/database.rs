//! `--database`: which database a connection string names, and opening it.
//!
//! SQLite: a plain path; `sqlite:` or `sqlite://` and a path (so
//! `sqlite:///abs/app.db` is `/abs/app.db`), optionally with SQLite's URI
//! parameters after a `?` as sqlx writes them (`sqlite://app.db?mode=rwc`);
//! and a `file:` URI, which SQLite reads itself (`SQLITE_OPEN_URI`).
//! PostgreSQL: a `postgres://` or `postgresql://` URL, read by
//! tokio-postgres's own parser (libpq's URL form) and connected to with the
//! blocking `postgres` client, without TLS. Any other `scheme://` is
//! refused, naming what is supported.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use migrate_core::postgres::postgres::config::SslMode;
use migrate_core::postgres::postgres::{Client, Config, NoTls};
use migrate_core::sqlite::{Connection, OpenFlags};

/// What the URI parameters of a `sqlite:` connection string may be: those
/// SQLite's URIs take (<https://www.sqlite.org/uri.html>).
const URI_PARAMETERS: &[&str] = &["mode", "cache", "immutable", "vfs", "psow", "nolock"];

/// PostgreSQL's URL schemes, as libpq takes them.
const POSTGRES: &[&str] = &["postgres", "postgresql"];

/// What this build accepts, for messages.
const SUPPORTED: &str = "this build supports SQLite (a path, sqlite:, sqlite:// or a file: URI) and PostgreSQL (postgres:// or postgresql://)";

/// How long a connection to a PostgreSQL server may take when the URL does
/// not say (`connect_timeout`, in seconds): an unreachable host fails in
/// this time rather than the operating system's (minutes).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The database a connection string names.
#[derive(Debug)]
pub(crate) enum Target {
    /// A SQLite database.
    Sqlite(SqliteTarget),
    /// A PostgreSQL database (boxed: its settings are large, and a target
    /// is made once per command).
    Postgres(Box<PostgresTarget>),
}

impl Target {
    /// Reads a connection string; a relative SQLite path in it is relative
    /// to `base` (empty for the current folder; the folder of
    /// `migrate.toml` for its `database`).
    ///
    /// # Errors
    ///
    /// An empty path, a `sqlite:` parameter SQLite's URIs do not take, a
    /// PostgreSQL URL its parser refuses or that asks for TLS, or another
    /// scheme; never repeating a password.
    pub(crate) fn parse(database: &str, base: &Path) -> Result<Target> {
        if database.starts_with("file:") {
            return Ok(Target::Sqlite(file_uri(database, base)));
        }
        if let Some(rest) = database
            .strip_prefix("sqlite://")
            .or_else(|| database.strip_prefix("sqlite:"))
        {
            return sqlite_url(database, rest, base).map(Target::Sqlite);
        }
        if let Some((scheme, rest)) = database.split_once("://")
            && is_scheme(scheme)
        {
            let scheme = scheme.to_ascii_lowercase();
            if POSTGRES.contains(&scheme.as_str()) {
                let url = format!("{scheme}://{rest}");
                return PostgresTarget::parse(&url)
                    .map(|target| Target::Postgres(Box::new(target)));
            }
            bail!("{scheme}:// is not supported: {SUPPORTED}");
        }
        if database.is_empty() {
            bail!("no database named: use e.g. `app.db`, `sqlite://app.db` or `postgres://…`");
        }
        Ok(Target::Sqlite(SqliteTarget::file(base.join(database))))
    }

    /// How messages name the database: its file, or else the URI; a
    /// PostgreSQL URL without its password.
    pub(crate) fn shown_as(&self) -> String {
        match self {
            Target::Sqlite(sqlite) => sqlite.shown_as(),
            Target::Postgres(postgres) => postgres.shown_as().to_owned(),
        }
    }
}

/// A PostgreSQL database named by a URL.
#[derive(Debug)]
pub(crate) struct PostgresTarget {
    /// The URL as tokio-postgres read it.
    config: Config,
    /// The URL without its password, for messages.
    shown: String,
}

impl PostgresTarget {
    /// Reads a `postgres://` or `postgresql://` URL (lowercase scheme).
    ///
    /// # Errors
    ///
    /// The URL's parser refuses it, or it asks for TLS (`sslmode=require`),
    /// which this build does not offer; naming the URL without its password.
    fn parse(url: &str) -> Result<PostgresTarget> {
        let shown = without_password(url);
        let mut config =
            Config::from_str(url).with_context(|| format!("`{shown}` is not a PostgreSQL URL"))?;
        if config.get_ssl_mode() == SslMode::Require {
            bail!(
                "`{shown}` asks for TLS (`sslmode=require`), which `migrate` does not offer yet: connect without TLS (`sslmode=disable` or `prefer`), through a TLS proxy, or mount the commands in your application over its own client"
            );
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("migrate");
        }
        Ok(PostgresTarget { config, shown })
    }

    /// How messages name the database: the URL without its password.
    pub(crate) fn shown_as(&self) -> &str {
        &self.shown
    }

    /// Connects with the blocking client, without TLS.
    ///
    /// # Errors
    ///
    /// The server cannot be reached, refuses the login, or has no such
    /// database; naming the URL without its password.
    pub(crate) fn connect(&self) -> Result<Client> {
        self.config
            .connect(NoTls)
            .with_context(|| format!("connecting to `{}`", self.shown))
    }
}

/// `url` without the password of its user information (`user:secret@`
/// becomes `user@`) and without a `password=` parameter.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, hosts)) => match user_info.split_once(':') {
            Some(("", _)) => hosts.to_owned(),
            Some((user, _)) => format!("{user}@{hosts}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let (query, fragment) = match query.split_once('#') {
                Some((query, fragment)) => (query, Some(fragment)),
                None => (query, None),
            };
            let kept: Vec<&str> = query
                .split('&')
                .filter(|pair| decode(pair.split('=').next().unwrap_or("")) != "password")
                .collect();
            let mut tail = path.to_owned();
            if !kept.is_empty() {
                tail.push('?');
                tail.push_str(&kept.join("&"));
            }
            if let Some(fragment) = fragment {
                tail.push('#');
                tail.push_str(fragment);
            }
            tail
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// A SQLite database named by a connection string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SqliteTarget {
    /// What SQLite opens: a file name, or a `file:` URI when `uri` is set.
    open: PathBuf,
    /// Whether `open` is a URI (opened with `SQLITE_OPEN_URI`).
    uri: bool,
    /// The database file, when it has one (not for `mode=memory`), for the
    /// "not found" check and for messages.
    file: Option<PathBuf>,
    /// The URI's `mode` (`ro`, `rw`, `rwc`, `memory`), if any.
    mode: Option<String>,
}

impl SqliteTarget {
    /// A plain file name.
    fn file(path: PathBuf) -> SqliteTarget {
        SqliteTarget {
            open: path.clone(),
            uri: false,
            file: Some(path),
            mode: None,
        }
    }

    /// How messages name the database: its file, or else the URI.
    pub(crate) fn shown_as(&self) -> String {
        match &self.file {
            Some(file) => file.display().to_string(),
            None => self.open.display().to_string(),
        }
    }

    /// Opens the database, with foreign keys on when `foreign_keys` (so
    /// that each migration's foreign key check runs) and off otherwise
    /// (`--foreign-keys off`), then loads each of `extensions` in order
    /// (see [`load_extensions`]). A missing file is created only when `create`
    /// is set (for `up` and `baseline`) and the URI's `mode` allows it, or
    /// when the URI says `mode=rwc`; otherwise a file that does not exist is
    /// refused rather than left behind empty.
    ///
    /// # Errors
    ///
    /// The file does not exist (and is not to be created), SQLite cannot
    /// open it, or an extension does not load; naming the database or the
    /// extension's path.
    pub(crate) fn open(
        &self,
        create: bool,
        foreign_keys: bool,
        extensions: &[PathBuf],
    ) -> Result<Connection> {
        let create = match self.mode.as_deref() {
            Some("rwc") => true,
            Some("ro" | "rw") => false,
            _ => create,
        };
        if !create
            && let Some(file) = &self.file
            && !file.exists()
        {
            match self.mode.as_deref() {
                Some(mode @ ("ro" | "rw")) => bail!(
                    "database `{}` not found, and `mode={mode}` does not create it: check the path, or use `mode=rwc`",
                    file.display()
                ),
                _ => bail!(
                    "database `{}` not found: check the path, or create it with `migrate up`",
                    file.display()
                ),
            }
        }
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        if self.uri {
            flags |= OpenFlags::SQLITE_OPEN_URI;
        }
        let shown = self.shown_as();
        let new_file = self.file.as_ref().filter(|file| !file.exists());
        let conn = Connection::open_with_flags(&self.open, flags)
            .with_context(|| format!("opening the database `{shown}`"))?;
        let state = if foreign_keys { "on" } else { "off" };
        conn.pragma_update(None, "foreign_keys", foreign_keys)
            .with_context(|| format!("turning foreign keys {state} in `{shown}`"))?;
        if let Err(error) = load_extensions(&conn, extensions) {
            // Not left behind empty by a command that did not run.
            if let Some(file) = new_file {
                drop(conn);
                let _ = std::fs::remove_file(file);
            }
            return Err(error.context(format!("opening `{shown}`")));
        }
        Ok(conn)
    }
}

/// Loads each SQLite extension of `paths` (shared libraries, with their
/// default entry points) into `conn`, in order. SQLite's extension loading
/// is enabled only while each loads (rusqlite's `LoadExtensionGuard`), so
/// SQL cannot call `load_extension()` afterwards.
///
/// # Errors
///
/// SQLite cannot load one (no such file, not an extension, its entry point
/// fails); naming its path and SQLite's message.
pub(crate) fn load_extensions(conn: &Connection, paths: &[PathBuf]) -> Result<()> {
    for path in paths {
        let loading = || -> migrate_core::sqlite::rusqlite::Result<()> {
            // SAFETY: loading runs the library's native code, which the
            // user named on the command line to be run; loading is turned
            // off again when the guard drops.
            let _guard = unsafe { rusqlite::LoadExtensionGuard::new(conn) }?;
            // SAFETY: as above.
            unsafe { conn.load_extension(path, None::<&str>) }
        };
        loading().with_context(|| format!("loading the SQLite extension `{}`", path.display()))?;
    }
    Ok(())
}

/// Whether `text` is a URL scheme: a letter, then letters, digits, `+`,
/// `-`, `.` or `:` (for `jdbc:postgresql`).
fn is_scheme(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.:".contains(c))
}

/// `sqlite:<path>` or `sqlite://<path>`, with URI parameters after `?`:
/// the path as written (no percent-decoding), the parameters as SQLite
/// takes them.
fn sqlite_url(database: &str, rest: &str, base: &Path) -> Result<SqliteTarget> {
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    };
    if path.is_empty() {
        bail!("`{database}` names no database file: use e.g. `sqlite://app.db` or `app.db`");
    }
    let path = base.join(path);
    let Some(query) = query else {
        return Ok(SqliteTarget::file(path));
    };
    for (key, _) in parameters(query) {
        if !URI_PARAMETERS.contains(&key.as_str()) {
            bail!(
                "`{key}` in `{database}` is not a parameter of SQLite's URIs: use {}",
                URI_PARAMETERS
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    let uri = format!("file:{}?{query}", encode(&path.to_string_lossy()));
    Ok(file_uri(&uri, Path::new("")))
}

/// A `file:` URI as SQLite reads it: an optional `//` authority, the path up
/// to `?` or `#` (percent-decoded), and `key=value` parameters joined by
/// `&`. A relative path is made relative to `base`.
fn file_uri(uri: &str, base: &Path) -> SqliteTarget {
    let after = &uri["file:".len()..];
    let (authority, rest) = match after.strip_prefix("//") {
        Some(rest) => {
            let end = rest.find('/').unwrap_or(rest.len());
            (Some(&rest[..end]), &rest[end..])
        }
        None => (None, after),
    };
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    let (path, tail) = rest.split_at(end);
    let query = tail
        .strip_prefix('?')
        .map(|query| query.split('#').next().unwrap_or(""))
        .unwrap_or("");
    let parameters = parameters(query);
    let parameter = |name: &str| {
        parameters
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    let mode = parameter("mode");
    let decoded = decode(path);
    let in_memory = decoded.is_empty()
        || decoded == ":memory:"
        || mode.as_deref() == Some("memory")
        || parameter("vfs").as_deref() == Some("memdb");
    let relative = authority.is_none() && !path.starts_with('/');
    let (open, file) = if in_memory {
        (PathBuf::from(uri), None)
    } else if relative && !base.as_os_str().is_empty() {
        let file = base.join(&decoded);
        let open = format!("file:{}{tail}", encode(&file.to_string_lossy()));
        (PathBuf::from(open), Some(file))
    } else {
        (PathBuf::from(uri), Some(PathBuf::from(decoded)))
    };
    SqliteTarget {
        open,
        uri: true,
        file,
        mode,
    }
}

/// The `key=value` pairs of a URI query, percent-decoded.
fn parameters(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key), decode(value))
        })
        .collect()
}

/// `text` with `%XX` escapes decoded, as SQLite decodes a URI (an invalid
/// escape is kept as written).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(high), Some(low)) = (
                bytes.get(i + 1).and_then(|&b| hex(b)),
                bytes.get(i + 2).and_then(|&b| hex(b)),
            )
        {
            out.push((high * 16 + low) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A path made safe for the path part of a URI: `%`, `?` and `#` escaped.
fn encode(path: &str) -> String {
    path.replace('%', "%25")
        .replace('?', "%3F")
        .replace('#', "%23")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str) -> SqliteTarget {
        SqliteTarget::file(PathBuf::from(path))
    }

    fn uri(open: &str, file: Option<&str>, mode: Option<&str>) -> SqliteTarget {
        SqliteTarget {
            open: PathBuf::from(open),
            uri: true,
            file: file.map(PathBuf::from),
            mode: mode.map(str::to_owned),
        }
    }

    /// The SQLite database `database` names, from the current folder.
    fn parse(database: &str) -> SqliteTarget {
        parse_in(database, "")
    }

    /// The SQLite database `database` names, from `base`.
    fn parse_in(database: &str, base: &str) -> SqliteTarget {
        match Target::parse(database, Path::new(base)) {
            Ok(Target::Sqlite(sqlite)) => sqlite,
            Ok(other) => panic!("{database}: {other:?}"),
            Err(e) => panic!("{database}: {e}"),
        }
    }

    /// The PostgreSQL database `url` names.
    fn postgres(url: &str) -> PostgresTarget {
        match Target::parse(url, Path::new("")) {
            Ok(Target::Postgres(postgres)) => *postgres,
            Ok(other) => panic!("{url}: {other:?}"),
            Err(e) => panic!("{url}: {e:#}"),
        }
    }

    #[test]
    fn a_plain_path_and_the_sqlite_prefixes_name_a_file() {
        for (given, expected) in [
            ("app.db", "app.db"),
            ("sqlite:app.db", "app.db"),
            ("sqlite://app.db", "app.db"),
            ("sqlite:///tmp/app.db", "/tmp/app.db"),
            ("/tmp/app.db", "/tmp/app.db"),
            ("C:\\data\\app.db", "C:\\data\\app.db"),
            ("my%20app.db", "my%20app.db"),
        ] {
            assert_eq!(parse(given), file(expected), "{given}");
        }
        assert_eq!(
            parse_in("sqlite:app.db", "conf"),
            file("conf/app.db"),
            "relative to the settings file's folder"
        );
    }

    #[test]
    fn sqlite_parameters_make_a_uri_on_the_same_file() {
        assert_eq!(
            parse("sqlite://x.db?mode=rwc"),
            uri("file:x.db?mode=rwc", Some("x.db"), Some("rwc"))
        );
        assert_eq!(
            parse("sqlite:///tmp/a#b%.db?mode=ro&cache=shared"),
            uri(
                "file:/tmp/a%23b%25.db?mode=ro&cache=shared",
                Some("/tmp/a#b%.db"),
                Some("ro")
            )
        );
        let error = Target::parse("sqlite://x.db?mdoe=rwc", Path::new("")).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("`mdoe` in `sqlite://x.db?mdoe=rwc` is not a parameter"),
            "{error}"
        );
    }

    #[test]
    fn a_file_uri_goes_to_sqlite_as_written() {
        assert_eq!(
            parse("file:x.db?mode=ro"),
            uri("file:x.db?mode=ro", Some("x.db"), Some("ro"))
        );
        assert_eq!(
            parse("file:///tmp/my%20app.db?immutable=1"),
            uri(
                "file:///tmp/my%20app.db?immutable=1",
                Some("/tmp/my app.db"),
                None
            )
        );
        assert_eq!(
            parse("file:memdb1?mode=memory&cache=shared"),
            uri("file:memdb1?mode=memory&cache=shared", None, Some("memory"))
        );
        assert_eq!(
            parse_in("file:x.db?mode=ro", "conf"),
            uri("file:conf/x.db?mode=ro", Some("conf/x.db"), Some("ro"))
        );
    }

    #[test]
    fn another_scheme_is_refused_naming_what_is_supported() {
        for (given, expected) in [
            (
                "mysql://user:secret@host/db",
                "mysql:// is not supported: this build supports SQLite (a path, sqlite:, sqlite:// or a file: URI) and PostgreSQL (postgres:// or postgresql://)",
            ),
            ("foo://", "foo:// is not supported: "),
            (
                "jdbc:postgresql://host/db",
                "jdbc:postgresql:// is not supported: ",
            ),
        ] {
            let error = Target::parse(given, Path::new("")).unwrap_err().to_string();
            assert!(error.starts_with(expected), "{given}: {error}");
            assert!(!error.contains("secret"), "the password is not repeated");
        }
        assert!(Target::parse("", Path::new("")).is_err());
        assert!(Target::parse("sqlite://", Path::new("")).is_err());
        assert!(Target::parse("sqlite://?mode=rwc", Path::new("")).is_err());
    }

    #[test]
    fn a_postgres_url_is_read_by_its_parser_and_named_without_its_password() {
        let target = postgres("postgres://app:s3cret@db.internal:6432/app?sslmode=disable");
        assert_eq!(
            target.shown_as(),
            "postgres://app@db.internal:6432/app?sslmode=disable"
        );
        assert_eq!(target.config.get_user(), Some("app"));
        assert_eq!(target.config.get_password(), Some(&b"s3cret"[..]));
        assert_eq!(target.config.get_dbname(), Some("app"));
        assert_eq!(target.config.get_connect_timeout(), Some(&CONNECT_TIMEOUT));
        assert_eq!(target.config.get_application_name(), Some("migrate"));

        // Either scheme, in any case; the URL's own settings are kept.
        let target = postgres("PostgreSQL://h/d?connect_timeout=3&application_name=deploy");
        assert_eq!(
            target.shown_as(),
            "postgresql://h/d?connect_timeout=3&application_name=deploy"
        );
        assert_eq!(
            target.config.get_connect_timeout(),
            Some(&Duration::from_secs(3))
        );
        assert_eq!(target.config.get_application_name(), Some("deploy"));

        for (url, shown) in [
            ("postgres://:only@h/d", "postgres://h/d"),
            ("postgres://u@h/d", "postgres://u@h/d"),
            ("postgres://u:p%40ss@h1,h2/d#x", "postgres://u@h1,h2/d#x"),
            (
                "postgres://h/d?user=u&password=secret&dbname=d",
                "postgres://h/d?user=u&dbname=d",
            ),
            ("postgres://h/d?password=secret", "postgres://h/d"),
            (
                "postgres:///d?host=/run/postgresql",
                "postgres:///d?host=/run/postgresql",
            ),
        ] {
            assert_eq!(postgres(url).shown_as(), shown, "{url}");
        }
    }

    #[test]
    fn a_bad_postgres_url_or_one_asking_for_tls_is_refused_without_its_password() {
        for (url, expected) in [
            (
                "postgres://u:secret@h/d?sslmode=require",
                "`postgres://u@h/d?sslmode=require` asks for TLS (`sslmode=require`), which `migrate` does not offer yet",
            ),
            (
                "postgres://u:secret@h/d?frobnicate=1",
                "`postgres://u@h/d?frobnicate=1` is not a PostgreSQL URL: invalid connection string: unknown option `frobnicate`",
            ),
        ] {
            let error = format!("{:#}", Target::parse(url, Path::new("")).unwrap_err());
            assert!(error.starts_with(expected), "{url}: {error}");
            assert!(!error.contains("secret"), "{error}");
        }
    }
}
