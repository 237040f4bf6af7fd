//! `--database`: which SQLite database a connection string names, and
//! opening it.
//!
//! Accepted: a plain path; `sqlite:` or `sqlite://` and a path (so
//! `sqlite:///abs/app.db` is `/abs/app.db`), optionally with SQLite's URI
//! parameters after a `?` as sqlx writes them (`sqlite://app.db?mode=rwc`);
//! and a `file:` URI, which SQLite reads itself (`SQLITE_OPEN_URI`). Any
//! other `scheme://` is refused, naming what is supported.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use migrate_core::sqlite::{Connection, OpenFlags};

/// What the URI parameters of a `sqlite:` connection string may be: those
/// SQLite's URIs take (<https://www.sqlite.org/uri.html>).
const URI_PARAMETERS: &[&str] = &["mode", "cache", "immutable", "vfs", "psow", "nolock"];

/// The schemes of other databases, which a later build may support.
const PLANNED: &[&str] = &["postgres", "postgresql"];

/// What this build accepts, for messages.
const SUPPORTED: &str = "this build supports SQLite: a path, sqlite:, sqlite:// or a file: URI";

/// A SQLite database named by a connection string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
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

impl Target {
    /// Reads a connection string; a relative path in it is relative to
    /// `base` (empty for the current folder; the folder of `migrate.toml`
    /// for its `database`).
    ///
    /// # Errors
    ///
    /// An empty path, a `sqlite:` parameter SQLite's URIs do not take, or a
    /// scheme other than SQLite's.
    pub(crate) fn parse(database: &str, base: &Path) -> Result<Target> {
        if database.starts_with("file:") {
            return Ok(file_uri(database, base));
        }
        if let Some(rest) = database
            .strip_prefix("sqlite://")
            .or_else(|| database.strip_prefix("sqlite:"))
        {
            return sqlite_url(database, rest, base);
        }
        if let Some((scheme, _)) = database.split_once("://")
            && is_scheme(scheme)
        {
            let scheme = scheme.to_ascii_lowercase();
            let yet = if PLANNED.contains(&scheme.as_str()) {
                " yet"
            } else {
                ""
            };
            bail!("{scheme}:// is not supported{yet}: {SUPPORTED}");
        }
        if database.is_empty() {
            bail!("no database named: use e.g. `app.db` or `sqlite://app.db`");
        }
        Ok(Target::file(base.join(database)))
    }

    /// A plain file name.
    fn file(path: PathBuf) -> Target {
        Target {
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

    /// Opens the database, with foreign keys on so that each migration's
    /// foreign key check runs. A missing file is created only when `create`
    /// is set (for `up` and `baseline`) and the URI's `mode` allows it, or
    /// when the URI says `mode=rwc`; otherwise a file that does not exist is
    /// refused rather than left behind empty.
    ///
    /// # Errors
    ///
    /// The file does not exist (and is not to be created), or SQLite cannot
    /// open it; naming the database.
    pub(crate) fn open(&self, create: bool) -> Result<Connection> {
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
        let conn = Connection::open_with_flags(&self.open, flags)
            .with_context(|| format!("opening the database `{shown}`"))?;
        conn.pragma_update(None, "foreign_keys", true)
            .with_context(|| format!("turning foreign keys on in `{shown}`"))?;
        Ok(conn)
    }
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
fn sqlite_url(database: &str, rest: &str, base: &Path) -> Result<Target> {
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    };
    if path.is_empty() {
        bail!("`{database}` names no database file: use e.g. `sqlite://app.db` or `app.db`");
    }
    let path = base.join(path);
    let Some(query) = query else {
        return Ok(Target::file(path));
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
fn file_uri(uri: &str, base: &Path) -> Target {
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
    Target {
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

    fn file(path: &str) -> Target {
        Target::file(PathBuf::from(path))
    }

    fn uri(open: &str, file: Option<&str>, mode: Option<&str>) -> Target {
        Target {
            open: PathBuf::from(open),
            uri: true,
            file: file.map(PathBuf::from),
            mode: mode.map(str::to_owned),
        }
    }

    fn parse(database: &str) -> Target {
        Target::parse(database, Path::new("")).unwrap_or_else(|e| panic!("{database}: {e}"))
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
            Target::parse("sqlite:app.db", Path::new("conf")).unwrap(),
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
            Target::parse("file:x.db?mode=ro", Path::new("conf")).unwrap(),
            uri("file:conf/x.db?mode=ro", Some("conf/x.db"), Some("ro"))
        );
    }

    #[test]
    fn another_scheme_is_refused_naming_what_is_supported() {
        for (given, expected) in [
            (
                "postgres://user:secret@host/db",
                "postgres:// is not supported yet: this build supports SQLite: a path, sqlite:, sqlite:// or a file: URI",
            ),
            (
                "PostgreSQL://host/db",
                "postgresql:// is not supported yet: ",
            ),
            ("mysql://host/db", "mysql:// is not supported: "),
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
}
