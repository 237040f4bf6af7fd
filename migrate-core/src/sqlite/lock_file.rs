//! Telling a no-transaction migration that is still running from one that
//! was cut short.
//!
//! A migration that runs outside a transaction is marked dirty in the
//! tracking table while it runs; the same mark stays if the process dies.
//! Another process that finds the mark must wait in the first case and
//! refuse in the second. The running process holds an exclusive advisory
//! lock (`flock`) on `<database>-<table>-lock` beside the database file (one
//! per tracking table, as the marks are) from before it commits the mark
//! until it has committed the outcome; the operating system releases the
//! lock when the process dies, whatever kills it. An in-memory database has
//! no file and no other process, so no lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::error::{Error, Result};

/// The lock file beside a database file, if it has a file (`Some("")` is an
/// in-memory or temporary database).
pub(super) fn path(conn: &Connection, table: &str) -> Option<PathBuf> {
    conn.path()
        .filter(|path| !path.is_empty())
        .map(|file| PathBuf::from(format!("{file}-{table}-lock")))
}

/// Held while a no-transaction migration runs; dropping it releases the
/// lock (closing the file).
pub struct Running {
    _file: Option<File>,
}

impl Running {
    /// Takes the lock, waiting up to `timeout` for a process that is just
    /// releasing it (the runner holds the database's write lock, so no other
    /// can be starting a no-transaction migration). The file is created if
    /// missing and left in place afterwards (removing it could race with
    /// another process opening it); an existing one is opened read-only, which
    /// is enough to lock it, so a file created by another user works.
    pub(crate) fn start(conn: &Connection, table: &str, timeout: Duration) -> Result<Running> {
        let Some(path) = path(conn, table) else {
            return Ok(Running { _file: None });
        };
        let io_error = |error: io::Error| Error::Io {
            context: format!("locking `{}`", path.display()),
            error,
        };
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(io_error)?,
            Err(error) => return Err(io_error(error)),
        };
        let started = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Running { _file: Some(file) }),
                Err(TryLockError::WouldBlock) if started.elapsed() < timeout => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(io_error(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "another process held it for more than {} ms",
                            timeout.as_millis()
                        ),
                    )));
                }
                Err(TryLockError::Error(error)) => return Err(io_error(error)),
            }
        }
    }
}

/// Whether another process (or connection) is running a no-transaction
/// migration of this tracking table right now. `false` when there is no
/// lock file or it cannot be read: a dirty mark then stands as cut short.
pub(crate) fn another_is_running(conn: &Connection, table: &str) -> bool {
    let Some(path) = path(conn, table) else {
        return false;
    };
    let Ok(file) = File::open(&path) else {
        return false;
    };
    matches!(file.try_lock_shared(), Err(TryLockError::WouldBlock))
}
