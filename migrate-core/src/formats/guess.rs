//! Which tool's layout a folder looks like, for `migrate validate`'s
//! suggestion when the folder is not in the format it was read with.

use std::fs;
use std::path::Path;

use super::Format;
use crate::other_tools::{OtherTool, find_other_tool};

/// The format a folder looks like, when it is not `migrate`'s own, judged
/// by its names and, for the one-file formats, by their marker lines; `None`
/// when it looks like none (or like `migrate`'s own grammar).
///
/// In order: a subfolder holding `up.sql` is diesel's; a `.sql` file with a
/// goose annotation goose's, with `-- migrate:up` dbmate's; `R__`, `U<n>__`
/// or dotted `V<n>.<m>__` names, or a `${`, Flyway's; `V<n>__` names
/// refinery's; a file starting `-- no-transaction` sqlx's; only
/// `<n>.sql`-style names without a name part (or `_up` / `_down` only),
/// plain.
///
/// # Examples
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// use migrate_core::formats::{Format, guess_format};
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("00001_users.sql"), "-- +goose Up\nCREATE TABLE users (id);\n")?;
/// assert_eq!(guess_format(dir.path()), Some(Format::Goose));
/// # Ok(()) }
/// ```
pub fn guess_format(dir: &Path) -> Option<Format> {
    let mut names: Vec<(String, bool)> = fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_owned();
            let is_dir = e.path().is_dir();
            (!name.starts_with('.')).then_some((name, is_dir))
        })
        .collect();
    names.sort();
    if names
        .iter()
        .any(|(name, is_dir)| *is_dir && dir.join(name).join("up.sql").is_file())
    {
        return Some(Format::Diesel);
    }
    let sql: Vec<&str> = names
        .iter()
        .filter(|(name, is_dir)| !is_dir && name.ends_with(".sql"))
        .map(|(name, _)| name.as_str())
        .collect();
    let mut texts = Vec::new();
    for name in &sql {
        if let Ok(text) = fs::read_to_string(dir.join(name)) {
            texts.push(text);
        }
    }
    for text in &texts {
        match find_other_tool(text).map(|marker| marker.tool) {
            Some(OtherTool::Goose) => return Some(Format::Goose),
            Some(OtherTool::Dbmate) => return Some(Format::Dbmate),
            _ => {}
        }
    }
    let versioned = |name: &str, prefix: char| {
        name.strip_prefix(prefix)
            .and_then(|rest| rest.split_once("__"))
            .is_some_and(|(v, _)| {
                !v.is_empty()
                    && v.bytes()
                        .all(|b| b.is_ascii_digit() || b == b'.' || b == b'_')
            })
    };
    if sql.iter().any(|name| {
        name.starts_with("R__")
            || versioned(name, 'U')
            || (versioned(name, 'V')
                && name[1..]
                    .split_once("__")
                    .is_some_and(|(v, _)| !v.bytes().all(|b| b.is_ascii_digit())))
    }) || (sql.iter().any(|name| versioned(name, 'V')) && texts.iter().any(|t| t.contains("${")))
    {
        return Some(Format::Flyway);
    }
    if sql.iter().any(|name| versioned(name, 'V')) {
        return Some(Format::Refinery);
    }
    if texts.iter().any(|t| t.starts_with("-- no-transaction")) {
        return Some(Format::Sqlx);
    }
    let plain = |name: &&str| {
        let stem = name.strip_suffix(".sql").unwrap_or(name);
        let (digits, rest) = super::leading_digits(stem);
        !digits.is_empty()
            && (rest.is_empty()
                || rest.eq_ignore_ascii_case("_up")
                || rest.eq_ignore_ascii_case("_down")
                || rest.eq_ignore_ascii_case(".up")
                || rest.eq_ignore_ascii_case(".down"))
    };
    if !sql.is_empty() && sql.iter().any(plain) {
        return Some(Format::Plain);
    }
    if sql
        .iter()
        .any(|name| name.ends_with("_up.sql") || name.ends_with("_down.sql"))
    {
        return Some(Format::Plain);
    }
    None
}
