//! Section markers of other migration tools' single-file formats, found so
//! that such a file is refused instead of run whole as one up migration.
//!
//! goose, dbmate, sql-migrate, micrate and tern keep a migration's up and
//! down in one `.sql` file, split by comment lines, under file names our
//! grammar accepts (`00001_create_users.sql`). Read as a plain up migration,
//! such a file would run its down section right after its up. `migrate` does
//! not read these formats yet, so a folder with such a file is an error
//! ([`FolderProblem::OtherToolsFormat`](crate::folder::FolderProblem::OtherToolsFormat)).
//!
//! A line marks another tool's format when, after a byte order mark and
//! leading whitespace, with a CRLF's CR or trailing whitespace removed, it is
//! (letters in any ASCII case, whitespace after `--` optional):
//!
//! | tool | the line |
//! |------|----------|
//! | [goose](https://github.com/pressly/goose) | a `--` comment holding `+goose` (goose's own rule): `-- +goose Up`, `Down`, `StatementBegin`, `StatementEnd`, `NO TRANSACTION`, `ENVSUB ON`, … |
//! | [sql-migrate](https://github.com/rubenv/sql-migrate) | `-- +migrate` and anything after it: `Up`, `Down`, `StatementBegin`, `StatementEnd`, `Up notransaction`, … |
//! | [micrate](https://github.com/amberframework/micrate) | `-- +micrate` and anything after it: `Up`, `Down`, `StatementBegin`, `StatementEnd` |
//! | [dbmate](https://github.com/amacneil/dbmate) | `-- migrate:up` or `-- migrate:down`, alone or followed by whitespace and options (`transaction:false`) |
//! | [tern](https://github.com/jackc/tern) | `---- create above / drop below ----` (whitespace inside may differ) |
//! | any other | `-- +<word> Up` or `-- +<word> Down`, nothing after it, where `<word>` is an ASCII letter and then letters, digits, `_` or `-` |
//!
//! This is more lenient than the tools themselves (goose and dbmate refuse
//! leading whitespace, most compare case): a line a tool would reject is
//! still meant for it, and must not be run as SQL. As with
//! [directives](crate::directive), the scan is by line: a marker inside a
//! block comment or a string counts, and one after SQL on the same line does
//! not.

use std::fmt;

use crate::directive::{self, comment_text, strip_prefix_ignore_case, trimmed_lines};

/// A migration tool whose one-file format `migrate` does not read.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OtherTool {
    /// goose: `-- +goose Up`, `-- +goose Down`, ….
    Goose,
    /// dbmate: `-- migrate:up`, `-- migrate:down`.
    Dbmate,
    /// sql-migrate: `-- +migrate Up`, `-- +migrate Down`, ….
    SqlMigrate,
    /// micrate: `-- +micrate Up`, `-- +micrate Down`, ….
    Micrate,
    /// tern: `---- create above / drop below ----`.
    Tern,
    /// A tool known only by its marker: the `<word>` of `-- +<word> Up`, as
    /// written.
    Unknown(String),
}

impl OtherTool {
    /// What a marker line of this tool is, as shown in messages: "a goose
    /// annotation", ….
    pub fn marker(&self) -> String {
        match self {
            OtherTool::Goose => "a goose annotation".to_owned(),
            OtherTool::Dbmate => "a dbmate section marker".to_owned(),
            OtherTool::SqlMigrate => "a sql-migrate annotation".to_owned(),
            OtherTool::Micrate => "a micrate annotation".to_owned(),
            OtherTool::Tern => "tern's separator of the up and down sections".to_owned(),
            OtherTool::Unknown(word) => format!("the section marker of another tool (`+{word}`)"),
        }
    }
}

impl fmt::Display for OtherTool {
    /// The tool's name (`goose`, `sql-migrate`, …), or "that tool" for an
    /// unknown one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OtherTool::Goose => "goose",
            OtherTool::Dbmate => "dbmate",
            OtherTool::SqlMigrate => "sql-migrate",
            OtherTool::Micrate => "micrate",
            OtherTool::Tern => "tern",
            OtherTool::Unknown(_) => "that tool",
        })
    }
}

/// The first line of a SQL file that marks another tool's format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherToolMarker {
    /// The line number, counted from 1.
    pub line: usize,
    /// The line, trimmed.
    pub text: String,
    /// The tool it belongs to.
    pub tool: OtherTool,
}

/// The first line of `sql` that marks another tool's format, if any; see the
/// [module docs](self) for the rules.
///
/// # Examples
///
/// ```
/// use migrate_core::other_tools::{find_other_tool, OtherTool};
/// let goose = "-- +goose Up\r\nCREATE TABLE t (x);\r\n-- +goose Down\r\nDROP TABLE t;\r\n";
/// let marker = find_other_tool(goose).unwrap();
/// assert_eq!((marker.line, marker.tool), (1, OtherTool::Goose));
///
/// let dbmate = "-- a table\n-- migrate:up transaction:false\nCREATE TABLE t (x);\n";
/// assert_eq!(find_other_tool(dbmate).unwrap().line, 2);
///
/// assert!(find_other_tool("-- migrate:no-transaction\nVACUUM;\n").is_none());
/// ```
pub fn find_other_tool(sql: &str) -> Option<OtherToolMarker> {
    // Every marker is a `--` line: a file without one is not read line by
    // line (the standard library's search, optimized in a proc macro too).
    if !sql.contains("--") {
        return None;
    }
    trimmed_lines(sql).find_map(|(line, text)| {
        other_tool(text).map(|tool| OtherToolMarker {
            line,
            text: text.to_owned(),
            tool,
        })
    })
}

/// The tool a trimmed line is a marker of.
fn other_tool(text: &str) -> Option<OtherTool> {
    const TERN: &str = "---- create above / drop below ----";
    const GOOSE: &str = "+goose";
    if text.starts_with("----")
        && text
            .split_whitespace()
            .map(str::to_ascii_lowercase)
            .eq(TERN.split(' '))
    {
        return Some(OtherTool::Tern);
    }
    let comment = comment_text(text)?;
    // goose's own rule: every `--` line holding `+goose` is an annotation.
    if comment
        .as_bytes()
        .windows(GOOSE.len())
        .any(|w| w.eq_ignore_ascii_case(GOOSE.as_bytes()))
    {
        return Some(OtherTool::Goose);
    }
    // dbmate's markers share the prefix of our directives.
    if let Some(rest) = strip_prefix_ignore_case(comment, directive::PREFIX) {
        return is_section(first_word(rest).0).then_some(OtherTool::Dbmate);
    }
    let (word, rest) = first_word(comment.strip_prefix('+')?);
    let tool = if word.eq_ignore_ascii_case("migrate") {
        OtherTool::SqlMigrate
    } else if word.eq_ignore_ascii_case("micrate") {
        OtherTool::Micrate
    } else if word.starts_with(|c: char| c.is_ascii_alphabetic())
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && is_section(rest.trim_start())
    {
        OtherTool::Unknown(word.to_owned())
    } else {
        return None;
    };
    Some(tool)
}

/// `text` split at its first whitespace: the word before it (empty when
/// `text` starts with whitespace) and the rest after it.
fn first_word(text: &str) -> (&str, &str) {
    text.split_once(char::is_whitespace).unwrap_or((text, ""))
}

/// Whether a word names an up or a down section, in any case.
fn is_section(word: &str) -> bool {
    word.eq_ignore_ascii_case("up") || word.eq_ignore_ascii_case("down")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(sql: &str) -> Option<OtherTool> {
        find_other_tool(sql).map(|marker| marker.tool)
    }

    #[test]
    fn every_tools_markers_are_found_in_any_case_and_spacing() {
        use OtherTool::*;
        let unknown = |word: &str| Unknown(word.to_owned());
        let cases = [
            ("-- +goose Up", Goose),
            ("-- +goose Down", Goose),
            ("-- +goose StatementBegin", Goose),
            ("-- +goose StatementEnd", Goose),
            ("-- +goose NO TRANSACTION", Goose),
            ("-- +goose ENVSUB ON", Goose),
            ("--+goose up", Goose),
            ("-- +gooseUp", Goose),
            ("-- +GOOSE DOWN", Goose),
            ("  \t-- +goose Up  ", Goose),
            ("-- +migrate Up", SqlMigrate),
            ("-- +migrate Down", SqlMigrate),
            ("-- +migrate Up notransaction", SqlMigrate),
            ("-- +migrate StatementBegin", SqlMigrate),
            ("--   +Migrate   up", SqlMigrate),
            ("-- +micrate Up", Micrate),
            ("-- +micrate StatementEnd", Micrate),
            ("-- migrate:up", Dbmate),
            ("-- migrate:down", Dbmate),
            ("--migrate:up", Dbmate),
            ("-- migrate:up transaction:false", Dbmate),
            ("-- Migrate:DOWN\t", Dbmate),
            ("---- create above / drop below ----", Tern),
            ("  ----  Create Above / drop below ----", Tern),
            ("-- +flyway Up", unknown("flyway")),
            ("-- +my-tool down", unknown("my-tool")),
            ("--+tool_2 UP ", unknown("tool_2")),
        ];
        for (line, expected) in cases {
            assert_eq!(tool(line), Some(expected.clone()), "{line:?}");
            for sql in [
                format!("SELECT 1;\n{line}\nSELECT 2;\n"),
                format!("SELECT 1;\r\n{line}\r\nSELECT 2;\r\n"),
                format!("\u{feff}{line}\n"),
            ] {
                assert_eq!(tool(&sql), Some(expected.clone()), "{sql:?}");
            }
        }
    }

    #[test]
    fn our_directives_plain_comments_and_sql_are_not_markers() {
        for sql in [
            "-- migrate:no-transaction\nVACUUM;",
            "-- migrate:upgrade",
            "-- migrate: up",
            "-- migrate:up:now",
            "-- migrate:downgrade later",
            "-- +1 up",
            "-- +flyway Up now",
            "-- + flyway Up",
            "-- +flyway",
            "-- the up section creates the table",
            "-- +migrated",
            "SELECT 1; -- +goose Up",
            "SELECT 1; -- migrate:up",
            "SELECT '---- create above / drop below ----';",
            "---- create above ----",
            "/* a block */ SELECT 1;",
            "",
        ] {
            assert_eq!(find_other_tool(sql), None, "{sql:?}");
        }
    }

    #[test]
    fn the_first_marker_is_reported_with_its_line_and_text() {
        let sql = "-- users\r\n\r\n  -- +goose Up\r\nCREATE TABLE users (id);\r\n-- +goose Down\r\nDROP TABLE users;\r\n";
        assert_eq!(
            find_other_tool(sql),
            Some(OtherToolMarker {
                line: 3,
                text: "-- +goose Up".to_owned(),
                tool: OtherTool::Goose,
            })
        );
    }

    #[test]
    fn the_tool_and_its_marker_are_named_for_messages() {
        assert_eq!(OtherTool::SqlMigrate.to_string(), "sql-migrate");
        assert_eq!(OtherTool::Unknown("x".to_owned()).to_string(), "that tool");
        assert_eq!(
            OtherTool::Unknown("flyway".to_owned()).marker(),
            "the section marker of another tool (`+flyway`)"
        );
    }
}
