//! `new`: the next version in a folder's scheme, and the template files.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use migrate_core::folder::{FileName, FileRole, MAX_VERSION, parse_file_name};
use migrate_core::template::template;

use crate::time::Utc;

/// The digits of a timestamp version, `YYYYMMDDHHMMSS`.
const TIMESTAMP_DIGITS: usize = 14;

/// The digits of the first version in an empty folder: `0001`.
const FIRST_DIGITS: usize = 4;

/// The versions already in a folder, as `(version, digits)`, from the names
/// the grammar accepts (the others are `validate`'s business).
fn versions(dir: &Path) -> Result<Vec<(u64, usize)>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => {
            return Err(error).with_context(|| format!("reading the folder `{}`", dir.display()));
        }
    };
    let mut versions = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("reading the folder `{}`", dir.display()))?;
        if let Some(name) = entry.file_name().to_str()
            && let Ok(Some(file)) = parse_file_name(name)
        {
            versions.push((file.version, file.digits));
        }
    }
    Ok(versions)
}

/// The next version as it is written in a file name: the latest version plus
/// one with the latest file's zero-padding; in a folder where every version
/// has 14 digits, `now` as `YYYYMMDDHHMMSS` (or the latest plus one, if that
/// is later); `0001` in an empty folder.
///
/// # Errors
///
/// The next version would be above the largest one.
fn next_version(versions: &[(u64, usize)], now: &Utc) -> Result<String> {
    let Some(&(latest, digits)) = versions.iter().max() else {
        return Ok(format!("{:0FIRST_DIGITS$}", 1));
    };
    if latest >= MAX_VERSION {
        bail!(
            "the latest version, {latest}, is the largest a version can be: no version follows it"
        );
    }
    if versions.iter().all(|&(_, d)| d == TIMESTAMP_DIGITS) {
        let now = now.version();
        let stamp: u64 = now.parse().unwrap_or(0);
        return Ok(if stamp > latest {
            now
        } else {
            (latest + 1).to_string()
        });
    }
    Ok(format!("{:0digits$}", latest + 1))
}

/// Checks that `name` makes a file name that reads back as the same version
/// and name; returns the up file's name as the grammar reads it.
fn check_name(version: &str, name: &str) -> Result<FileName> {
    if name.contains(['/', '\\']) || name.chars().any(char::is_control) {
        bail!("`{name}` cannot be part of a file name: leave out `/`, `\\` and control characters");
    }
    let file = format!("{version}_{name}.sql");
    match parse_file_name(&file) {
        Ok(Some(parsed)) if parsed.name == name && parsed.role == FileRole::Up => Ok(parsed),
        Ok(_) => bail!(
            "`{name}` does not make a migration name: `{file}` would not read back as version {version}, name `{name}`; use letters, digits and `_`, e.g. `add_email`"
        ),
        Err(error) => bail!("`{name}` does not make a migration name: `{file}`: {error}"),
    }
}

/// Creates the next migration's file(s) in `dir` (and `dir` itself if
/// missing): `<version>_<name>.sql`, or `.up.sql` and `.down.sql` when
/// `reversible`, each holding the grammar's [`template`]. Returns the files
/// created.
///
/// # Errors
///
/// An invalid name, a file that already exists, or an I/O error, naming the
/// file.
pub(crate) fn create(dir: &Path, name: &str, reversible: bool) -> Result<Vec<PathBuf>> {
    let now = Utc::now();
    let version = next_version(&versions(dir)?, &now)?;
    let up = check_name(&version, name)?;
    let roles: &[(FileRole, &str)] = if reversible {
        &[
            (FileRole::ReversibleUp, ".up.sql"),
            (FileRole::Down, ".down.sql"),
        ]
    } else {
        &[(FileRole::Up, ".sql")]
    };
    let created_at = now.rfc3339();
    let mut files = Vec::new();
    for &(role, suffix) in roles {
        let file = format!("{version}_{name}{suffix}");
        // The grammar's template, which the folder check knows while untouched
        // (every SQL file has one).
        let text = template(&FileName { role, ..up.clone() }, &created_at)
            .with_context(|| format!("`{file}` has no template"))?;
        files.push((file, text));
    }
    fs::create_dir_all(dir).with_context(|| format!("creating the folder `{}`", dir.display()))?;
    let mut created = Vec::new();
    for (file, text) in files {
        let path = dir.join(file);
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .and_then(|mut file| file.write_all(text.as_bytes()))
            .with_context(|| format!("creating `{}`", path.display()))?;
        created.push(path);
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_version_keeps_the_folders_scheme() {
        let now = Utc::from_unix_millis(1_706_702_400_000); // 2024-01-31T12:00:00Z
        let next = |versions: &[(u64, usize)]| next_version(versions, &now).unwrap();
        assert_eq!(next(&[]), "0001", "an empty folder");
        assert_eq!(next(&[(1, 4), (2, 4)]), "0003");
        assert_eq!(next(&[(1, 1), (2, 1)]), "3", "no padding");
        assert_eq!(next(&[(9, 3), (10, 3)]), "011");
        assert_eq!(next(&[(9999, 4)]), "10000", "the padding only widens");
        assert_eq!(
            next(&[(20230101000000, 14), (20230102000000, 14)]),
            "20240131120000",
            "a timestamp folder: now"
        );
        assert_eq!(
            next(&[(20250101000000, 14)]),
            "20250101000001",
            "a timestamp folder ahead of the clock: one more than the latest"
        );
        assert_eq!(next(&[(20230101000000, 14), (5, 4)]), "20230101000001");
        assert!(next_version(&[(MAX_VERSION, 19)], &now).is_err());
    }

    #[test]
    fn the_files_created_are_the_grammars_untouched_templates() {
        let dir = tempfile::tempdir().unwrap();
        let created = create(dir.path(), "tags", true).unwrap();
        assert_eq!(created.len(), 2);
        for path in created {
            let name = path.file_name().unwrap().to_str().unwrap();
            let file = parse_file_name(name).unwrap().unwrap();
            let text = fs::read_to_string(&path).unwrap();
            assert!(
                migrate_core::template::is_untouched_template(&file, &text),
                "{name}: {text}"
            );
        }
    }

    #[test]
    fn a_name_must_read_back_as_itself() {
        for good in ["add_email", "AddEmail", "add email", "é"] {
            assert!(check_name("0001", good).is_ok(), "{good}");
        }
        for bad in ["", "a/b", "a\\b", "a\nb", "x.up", "x.down"] {
            assert!(check_name("0001", bad).is_err(), "{bad:?}");
        }
    }
}
