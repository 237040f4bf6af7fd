//! Directives: `-- migrate:<directive>` comments in a `.sql` file that change
//! how it runs, read once here for both `embed_migrations!` and
//! [`Migrations::from_folder`](crate::Migrations::from_folder).
//!
//! There is one directive, `-- migrate:no-transaction`, and it must be the
//! whole first line of an up or down `.sql` file (after an optional byte order
//! mark; trailing whitespace and CRLF are fine). The file then runs outside a
//! transaction, for statements SQLite refuses inside one (`VACUUM`, some
//! `PRAGMA`s).
//!
//! Any other comment line starting `-- migrate:` (in any case, with or without
//! a space after `--`), and the directive on any line but the first, is a
//! [`DirectiveError`]: a misspelt directive is never silently ignored. The
//! scan is by line: a line counts when, after leading whitespace, it starts
//! with `--` and then `migrate:`; `migrate:` later in a line is not looked at.
//! `.rs` migrations have no directives.
//!
//! A folder's files are read for [other tools' section markers](crate::other_tools)
//! first, so dbmate's `-- migrate:up` and `-- migrate:down`, which share the
//! `migrate:` prefix, are reported there as dbmate's format rather than here
//! as unknown directives.

/// The one directive: run this file outside a transaction.
pub const NO_TRANSACTION: &str = "-- migrate:no-transaction";

/// What the directives of one SQL file say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Directives {
    /// The first line is `-- migrate:no-transaction`.
    pub no_transaction: bool,
}

/// A `-- migrate:` comment that is not a directive, or a directive out of
/// place. Lines are counted from 1.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectiveError {
    /// A `-- migrate:` comment that is not a known directive.
    #[error(
        "line {line}: `{text}` is not a directive; the only one is `{NO_TRANSACTION}`, alone on the first line (for a plain comment, leave out `migrate:`)"
    )]
    Unknown {
        /// The line number.
        line: usize,
        /// The line, trimmed.
        text: String,
    },
    /// A known directive below the first line.
    #[error("line {line}: `{directive}` must be the first line of the file; move it to line 1")]
    NotOnFirstLine {
        /// The line number.
        line: usize,
        /// The directive.
        directive: &'static str,
    },
}

/// Reads the directives of a SQL file.
///
/// # Errors
///
/// Every [`DirectiveError`] in the file, in line order, when there is at
/// least one.
///
/// # Examples
///
/// ```
/// use migrate_core::directive::{parse_directives, DirectiveError};
/// let sql = "-- migrate:no-transaction\r\nVACUUM;\r\n";
/// assert!(parse_directives(sql).unwrap().no_transaction);
/// assert!(!parse_directives("VACUUM;").unwrap().no_transaction);
///
/// let errors = parse_directives("-- migrate:no-transactions\nVACUUM;").unwrap_err();
/// assert!(matches!(errors[..], [DirectiveError::Unknown { line: 1, .. }]));
/// ```
pub fn parse_directives(sql: &str) -> Result<Directives, Vec<DirectiveError>> {
    let mut directives = Directives::default();
    // Every directive is a `--` line: a file without one is not read line
    // by line.
    if !sql.contains("--") {
        return Ok(directives);
    }
    let mut errors = Vec::new();
    for (line_number, text) in trimmed_lines(sql) {
        if !is_directive_comment(text) {
            continue;
        }
        if text != NO_TRANSACTION {
            errors.push(DirectiveError::Unknown {
                line: line_number,
                text: text.to_owned(),
            });
        } else if line_number == 1 {
            directives.no_transaction = true;
        } else {
            errors.push(DirectiveError::NotOnFirstLine {
                line: line_number,
                directive: NO_TRANSACTION,
            });
        }
    }
    if errors.is_empty() {
        Ok(directives)
    } else {
        Err(errors)
    }
}

/// Whether a trimmed line is a `--` comment that starts with `migrate:`.
fn is_directive_comment(text: &str) -> bool {
    comment_text(text).is_some_and(|comment| strip_prefix_ignore_case(comment, PREFIX).is_some())
}

/// What every directive comment starts with, after `--` and any whitespace.
pub(crate) const PREFIX: &str = "migrate:";

/// The lines of a SQL file as the line scans read them: numbered from 1,
/// after a leading byte order mark, each trimmed of whitespace and U+FEFF.
pub(crate) fn trimmed_lines(sql: &str) -> impl Iterator<Item = (usize, &str)> {
    let sql = without_bom(sql);
    // `lines` splits on LF and drops the CR of a CRLF; `trim` drops any other.
    // SQLite reads U+FEFF as whitespace anywhere in a script.
    sql.lines().enumerate().map(|(index, line)| {
        let text = line.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        (index + 1, text)
    })
}

/// A file's text without its leading byte order mark, if it has one.
pub(crate) fn without_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// The text of a trimmed `--` comment line after the `--` and any whitespace.
pub(crate) fn comment_text(line: &str) -> Option<&str> {
    Some(line.strip_prefix("--")?.trim_start())
}

/// `text` after `prefix`, the prefix compared in any ASCII case.
pub(crate) fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_transaction(sql: &str) -> bool {
        parse_directives(sql)
            .unwrap_or_else(|e| panic!("{sql:?}: {e:?}"))
            .no_transaction
    }

    #[test]
    fn the_directive_on_the_first_line_sets_no_transaction() {
        for sql in [
            "-- migrate:no-transaction\nVACUUM;\n",
            "-- migrate:no-transaction\r\nVACUUM;\r\n",
            "-- migrate:no-transaction  \t\nVACUUM;",
            "\u{feff}-- migrate:no-transaction\nVACUUM;",
            "-- migrate:no-transaction",
        ] {
            assert!(no_transaction(sql), "{sql:?}");
        }
    }

    #[test]
    fn plain_sql_and_comments_have_no_directive() {
        for sql in [
            "VACUUM;",
            "",
            "-- no-transaction\nVACUUM;",
            "-- migrate no-transaction\nVACUUM;",
            "--migrate is what this file does\n",
            "SELECT 1; -- migrate:no-transaction\n",
            "/* -- migrate:later */ SELECT 1;",
            "SELECT '-- migrate:x' || 'y';",
        ] {
            assert!(!no_transaction(sql), "{sql:?}");
        }
    }

    #[test]
    fn an_unknown_directive_is_an_error_with_its_line() {
        let cases = [
            (
                "-- migrate:no_transaction\nVACUUM;",
                1,
                "-- migrate:no_transaction",
            ),
            ("--migrate:no-transaction\n", 1, "--migrate:no-transaction"),
            (
                "-- Migrate:No-Transaction\n",
                1,
                "-- Migrate:No-Transaction",
            ),
            (
                "-- migrate: no-transaction\n",
                1,
                "-- migrate: no-transaction",
            ),
            ("SELECT 1;\n  -- migrate:up\r\n", 2, "-- migrate:up"),
            (
                "-- migrate:no-transaction because VACUUM\n",
                1,
                "-- migrate:no-transaction because VACUUM",
            ),
        ];
        for (sql, line, text) in cases {
            assert_eq!(
                parse_directives(sql),
                Err(vec![DirectiveError::Unknown {
                    line,
                    text: text.to_owned()
                }]),
                "{sql:?}"
            );
        }
    }

    #[test]
    fn the_directive_below_the_first_line_is_an_error() {
        for (sql, line) in [
            ("\n-- migrate:no-transaction\nVACUUM;", 2),
            ("-- why: VACUUM\n-- migrate:no-transaction\n", 2),
            ("-- migrate:no-transaction\n-- migrate:no-transaction\n", 2),
            ("\u{feff}\n\n-- migrate:no-transaction", 3),
        ] {
            assert_eq!(
                parse_directives(sql),
                Err(vec![DirectiveError::NotOnFirstLine {
                    line,
                    directive: NO_TRANSACTION
                }]),
                "{sql:?}"
            );
        }
    }

    #[test]
    fn every_error_is_reported_in_line_order() {
        let sql =
            "-- migrate:no-transaction\n-- migrate:down\nSELECT 1;\n-- migrate:no-transaction\n";
        let errors = parse_directives(sql).unwrap_err();
        assert_eq!(
            errors,
            [
                DirectiveError::Unknown {
                    line: 2,
                    text: "-- migrate:down".to_owned()
                },
                DirectiveError::NotOnFirstLine {
                    line: 4,
                    directive: NO_TRANSACTION
                },
            ]
        );
        assert_eq!(
            errors[0].to_string(),
            "line 2: `-- migrate:down` is not a directive; the only one is `-- migrate:no-transaction`, alone on the first line (for a plain comment, leave out `migrate:`)"
        );
        assert_eq!(
            errors[1].to_string(),
            "line 4: `-- migrate:no-transaction` must be the first line of the file; move it to line 1"
        );
    }
}
