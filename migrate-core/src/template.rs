//! The template `migrate new` writes into a new migration file.
//!
//! It lives in the grammar, beside the folder rules, so that `new` and the
//! folder check use one text and cannot drift apart: a file still exactly as
//! `new` wrote it is refused
//! ([`FolderProblem::UntouchedTemplate`](crate::folder::FolderProblem::UntouchedTemplate)).
//! Applied, the untouched template would be a no-op, and filling it in
//! afterwards would make the migration divergent. Any other comment-only
//! file is still a valid, intentional no-op.

use crate::checksum::Checksum;
use crate::directive::without_bom;
use crate::folder::{FileName, FileRole};

/// The shape of the creation time in a template: UTC, RFC 3339 with
/// milliseconds, a `0` standing for any ASCII digit.
const CREATED_SHAPE: &[u8] = b"0000-00-00T00:00:00.000Z";

/// The text `migrate new` writes into a file named `file`, created at
/// `created` (UTC, RFC 3339 with milliseconds: `2024-01-31T12:00:00.000Z`):
/// a comment header with the version as the file name writes it, the name,
/// whether it is an up or a down, and the creation time.
///
/// `None` for a `.rs` file name: `new` writes SQL files only.
///
/// # Examples
///
/// ```
/// use migrate_core::folder::parse_file_name;
/// use migrate_core::template::{is_untouched_template, template};
/// let file = parse_file_name("0004_add_email.sql").unwrap().unwrap();
/// let text = template(&file, "2024-01-31T12:00:00.000Z").unwrap();
/// assert!(text.starts_with("-- Migration 0004: add_email (up, without a down)\n"));
/// assert!(is_untouched_template(&file, &text));
/// assert!(!is_untouched_template(&file, &format!("{text}ALTER TABLE users ADD email TEXT;\n")));
/// ```
pub fn template(file: &FileName, created: &str) -> Option<String> {
    let what = match file.role {
        FileRole::Up => "up, without a down",
        FileRole::ReversibleUp => "up",
        FileRole::Down => "down: undo what the up does",
        FileRole::Rust => return None,
    };
    let version = file.padded_version();
    Some(format!(
        "-- Migration {version}: {name} ({what})\n\
         -- Created {created} by `migrate new`.\n\
         --\n\
         -- Write the SQL below. It runs in one transaction together with its\n\
         -- tracking row; to run it outside a transaction (VACUUM, some PRAGMAs),\n\
         -- make `-- migrate:no-transaction` the whole first line.\n\n",
        name = file.name
    ))
}

/// Whether `text` is what `migrate new` writes into a file named `file`
/// ([`template`]), at any creation time of its shape, compared as checksums
/// compare files: with a leading byte order mark removed and CRLF read as LF
/// ([`Checksum::of_text`]). Any other change, a trailing newline removed
/// included, makes it the user's file.
pub fn is_untouched_template(file: &FileName, text: &str) -> bool {
    let unmarked = without_bom(text);
    let Some(created) = unmarked
        .lines()
        .nth(1)
        .and_then(|line| line.strip_prefix("-- Created "))
        .and_then(|line| line.strip_suffix(" by `migrate new`."))
    else {
        return false;
    };
    let shaped = created.len() == CREATED_SHAPE.len()
        && created
            .bytes()
            .zip(CREATED_SHAPE)
            .all(|(c, &shape)| match shape {
                b'0' => c.is_ascii_digit(),
                _ => c == shape,
            });
    shaped
        && template(file, created)
            .is_some_and(|template| Checksum::of_text(&template) == Checksum::of_text(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::folder::parse_file_name;

    const CREATED: &str = "2024-01-31T12:00:00.123Z";

    fn file(name: &str) -> FileName {
        parse_file_name(name).unwrap().unwrap()
    }

    #[test]
    fn every_template_new_writes_is_recognised_with_any_line_endings() {
        for name in [
            "0004_add_email.sql",
            "0005_tags.up.sql",
            "0005_tags.down.sql",
            "7_x.sql",
            "20240131120000_add users.up.sql",
        ] {
            let file = file(name);
            let text = template(&file, CREATED).unwrap();
            let crlf = text.replace('\n', "\r\n");
            for text in [
                text.clone(),
                crlf.clone(),
                format!("\u{feff}{text}"),
                format!("\u{feff}{crlf}"),
            ] {
                assert!(is_untouched_template(&file, &text), "{name}: {text:?}");
            }
            let other_time = template(&file, "1970-01-01T00:00:00.000Z").unwrap();
            assert!(is_untouched_template(&file, &other_time), "{name}");
        }
    }

    #[test]
    fn the_header_names_the_version_as_written_the_name_and_the_direction() {
        let first_line = |name| {
            let text = template(&file(name), CREATED).unwrap();
            text.lines().next().unwrap().to_owned()
        };
        assert_eq!(
            first_line("0004_add_email.sql"),
            "-- Migration 0004: add_email (up, without a down)"
        );
        assert_eq!(first_line("5_tags.up.sql"), "-- Migration 5: tags (up)");
        assert_eq!(
            first_line("005_tags.down.sql"),
            "-- Migration 005: tags (down: undo what the up does)"
        );
        assert_eq!(template(&file("0006_fill.rs"), CREATED), None);
    }

    #[test]
    fn any_change_or_another_files_template_is_the_users_file() {
        let up = file("0004_add_email.sql");
        let text = template(&up, CREATED).unwrap();
        for changed in [
            format!("{text}ALTER TABLE users ADD email TEXT;\n"),
            text.trim_end().to_owned(),
            format!("{text}\n"),
            format!(" {text}"),
            text.replace("add_email", "add_emails"),
            text.replace(CREATED, "2024-01-31T12:00:00Z"),
            text.replace(CREATED, "2024-01-31 12:00:00.123Z"),
            text.replace(CREATED, "yesterday"),
            text.replace('\n', "\r"),
            "-- Migration 0004: add_email\n".to_owned(),
            String::new(),
        ] {
            assert!(!is_untouched_template(&up, &changed), "{changed:?}");
        }
        for other in [
            "0004_add_email.up.sql",
            "0004_add_email.down.sql",
            "4_add_email.sql",
            "0004_other.sql",
        ] {
            assert!(!is_untouched_template(&file(other), &text), "{other}");
        }
    }
}
