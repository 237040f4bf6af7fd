//! `--database`: which SQLite file, and opening it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use migrate_core::sqlite::{Connection, OpenFlags};

/// The file named by `--database` or `DATABASE_URL`: a plain path, or one
/// after `sqlite://` or `sqlite:`.
///
/// # Errors
///
/// Neither was given, or the path is empty.
pub(crate) fn path(database: Option<&str>) -> Result<PathBuf> {
    let Some(database) = database else {
        bail!("no database: pass `--database <PATH>` or set DATABASE_URL");
    };
    let path = database
        .strip_prefix("sqlite://")
        .or_else(|| database.strip_prefix("sqlite:"))
        .unwrap_or(database);
    if path.is_empty() {
        bail!("`{database}` names no database file: use e.g. `sqlite://app.db` or `app.db`");
    }
    Ok(PathBuf::from(path))
}

/// Opens the database file, with foreign keys on so that each migration's
/// foreign key check runs. Creates the file only when `create` is set (for
/// `up` and `baseline`); the other commands refuse a file that does not
/// exist rather than leave an empty one behind.
///
/// # Errors
///
/// The file does not exist (and `create` is not set), or SQLite cannot open
/// it; naming the file.
pub(crate) fn open(path: &Path, create: bool) -> Result<Connection> {
    if !create && !path.exists() {
        bail!(
            "database `{}` not found: check the path, or create it with `migrate up`",
            path.display()
        );
    }
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags)
        .with_context(|| format!("opening the database `{}`", path.display()))?;
    conn.pragma_update(None, "foreign_keys", true)
        .with_context(|| format!("turning foreign keys on in `{}`", path.display()))?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_plain_path_and_sqlite_prefixes() {
        for (given, expected) in [
            ("app.db", "app.db"),
            ("sqlite:app.db", "app.db"),
            ("sqlite://app.db", "app.db"),
            ("sqlite:///tmp/app.db", "/tmp/app.db"),
            ("/tmp/app.db", "/tmp/app.db"),
        ] {
            assert_eq!(path(Some(given)).unwrap(), Path::new(expected), "{given}");
        }
        assert!(path(None).is_err());
        assert!(path(Some("sqlite://")).is_err());
    }
}
