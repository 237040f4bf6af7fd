//! `--log-file`: one JSON object per line for every change to the database.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::{Map, Value, json};

use crate::time::Utc;

/// The log file, if one was asked for; appended to, never truncated.
pub(crate) struct Log {
    file: Option<(PathBuf, File)>,
    database: String,
}

impl Log {
    /// Opens (creating it if needed) the log file for appending; entries name
    /// `database`.
    ///
    /// # Errors
    ///
    /// The file cannot be opened, naming it.
    pub(crate) fn open(path: Option<&Path>, database: &str) -> Result<Log> {
        let file = match path {
            Some(path) => {
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("opening the log file `{}`", path.display()))?;
                Some((path.to_owned(), file))
            }
            None => None,
        };
        Ok(Log {
            file,
            database: database.to_owned(),
        })
    }

    /// Appends `{"at": <now>, "event": <event>, "database": …, <fields>}` as
    /// one line.
    ///
    /// # Errors
    ///
    /// The line cannot be written, naming the file.
    pub(crate) fn event(&mut self, event: &str, fields: Value) -> Result<()> {
        let Some((path, file)) = &mut self.file else {
            return Ok(());
        };
        let mut entry = Map::new();
        entry.insert("at".into(), json!(Utc::now().rfc3339()));
        entry.insert("event".into(), json!(event));
        entry.insert("database".into(), json!(self.database));
        if let Value::Object(fields) = fields {
            entry.extend(fields);
        }
        let mut line = Value::Object(entry).to_string();
        line.push('\n');
        // One write per entry, so concurrent writers' lines do not mix.
        file.write_all(line.as_bytes())
            .with_context(|| format!("writing to the log file `{}`", path.display()))
    }
}
