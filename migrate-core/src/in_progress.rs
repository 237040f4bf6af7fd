//! Telling a no-transaction migration that is still running from one that
//! was cut short.
//!
//! A migration that runs outside a transaction is marked dirty in the
//! tracking table while it runs; the same mark stays if the process dies.
//! Another process that finds the mark must wait for the first case and
//! refuse in the second. The running process holds an exclusive advisory
//! lock (`flock`) on `<database>-migrate-lock` beside the database file from
//! before it commits the mark until it has recorded the outcome; the
//! operating system releases the lock when the process dies, whatever kills
//! it. An in-memory database has no file and no other process, so no lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;

use crate::backend::Backend;
use crate::error::{Error, Result};

/// The lock file beside a database file, if it has a file.
fn lock_path<B: Backend>(conn: &B) -> Option<PathBuf> {
    conn.database_file()
        .map(|file| PathBuf::from(format!("{}-migrate-lock", file.display())))
}

/// Held while a no-transaction migration runs; dropping it releases the
/// lock (closing the file).
pub(crate) struct Running {
    _file: Option<File>,
}

impl Running {
    /// Takes the lock. Only the process holding the write lock on the
    /// database takes it, so it does not wait on another runner; the lock
    /// file is created if missing and left in place afterwards (removing it
    /// could race with another process opening it).
    pub(crate) fn start<B: Backend>(conn: &B) -> Result<Running> {
        let Some(path) = lock_path(conn) else {
            return Ok(Running { _file: None });
        };
        let locking = |source: std::io::Error| Error::Io {
            context: format!("locking `{}`", path.display()),
            source,
        };
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(locking)?;
        file.lock().map_err(locking)?;
        Ok(Running { _file: Some(file) })
    }
}

/// Whether another process (or connection) is running a no-transaction
/// migration on this database right now. `false` when there is no lock file
/// or it cannot be read: the dirty mark then stands as cut short.
pub(crate) fn another_is_running<B: Backend>(conn: &B) -> bool {
    let Some(path) = lock_path(conn) else {
        return false;
    };
    let Ok(file) = File::open(&path) else {
        return false;
    };
    matches!(file.try_lock_shared(), Err(TryLockError::WouldBlock))
}
