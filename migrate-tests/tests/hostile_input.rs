//! Hostile input never panics, always gives a named error and applies
//! nothing it should not: the file name grammar, the directive parser and
//! `Migrations::from_folder` fuzzed with proptest, then the hand-made hostile
//! folders of `tests/corpus/`, each with its exact outcome.
//!
//! Case counts are modest by default; `MIGRATE_HEAVY=1` runs 20 times more.

// The helpers of the facade's tests, shared by path rather than copied.
#[path = "../../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use common::Folder;
use migrate::directive::{DirectiveError, NO_TRANSACTION, parse_directives};
use migrate::folder::parse_file_name;
use migrate::folder::{FileName, FileNameError, FileRole, MAX_VERSION};
use migrate::{Checksum, Error, MigrationKind, Migrations};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use rusqlite::Connection;

const BOM: &str = "\u{feff}";

/// `cases`, or 20 times as many with `MIGRATE_HEAVY=1`; failures are kept in
/// `proptest-regressions/hostile_input.txt` (relative to the package, where
/// cargo runs integration tests).
fn config(cases: u32) -> ProptestConfig {
    let heavy = std::env::var("MIGRATE_HEAVY").is_ok_and(|v| v == "1");
    ProptestConfig {
        cases: if heavy { cases * 20 } else { cases },
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/hostile_input.txt",
        ))),
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------
// File names
// ---------------------------------------------------------------------------

/// A file name built from its parts, so the expected outcome is known.
#[derive(Debug, Clone)]
struct NameParts {
    prefix: &'static str,
    digits: String,
    separator: &'static str,
    /// Never starts with an ASCII digit or `_` and holds no `.`, `/` or NUL,
    /// so it cannot merge with the parts around it.
    name: String,
    suffix: &'static str,
}

impl NameParts {
    fn file_name(&self) -> String {
        format!(
            "{}{}{}{}{}",
            self.prefix, self.digits, self.separator, self.name, self.suffix
        )
    }

    /// What `parse_file_name` must return: the file name, or the set of
    /// reasons any of which may be given (the grammar picks one).
    fn expected(&self) -> Result<FileName, Vec<FileNameError>> {
        use FileNameError::*;
        let role = match self.suffix {
            ".sql" => Some(FileRole::Up),
            ".up.sql" => Some(FileRole::ReversibleUp),
            ".down.sql" => Some(FileRole::Down),
            ".rs" => Some(FileRole::Rust),
            _ => None,
        };
        // The name after the separator the pattern expects.
        let name = match (self.prefix, self.separator) {
            ("", "_") | ("V", "__") => Some(self.name.clone()),
            ("", "__") => Some(format!("_{}", self.name)),
            ("" | "V", "") if self.name.is_empty() => Some(String::new()),
            _ => None,
        };
        let structural = role.is_none()
            || name.is_none()
            || self.digits.is_empty()
            || (self.prefix == "V" && role != Some(FileRole::Up));
        let value = version_value(&self.digits);
        let mut reasons = Vec::new();
        if structural {
            reasons.push(NotAMigration);
        }
        if !self.digits.is_empty() && value == Some(0) {
            reasons.push(ZeroVersion);
        }
        if !self.digits.is_empty() && value.is_none_or(|v| v > MAX_VERSION) {
            reasons.push(VersionTooLarge);
        }
        if name.as_deref() == Some("") {
            reasons.push(EmptyName);
        }
        match (reasons.is_empty(), role, name, value) {
            (true, Some(role), Some(name), Some(version)) => Ok(FileName {
                version,
                digits: self.digits.len(),
                name,
                role,
            }),
            _ => Err(reasons),
        }
    }
}

/// The value of a string of ASCII digits, `None` above `u64::MAX`.
fn version_value(digits: &str) -> Option<u64> {
    let significant = digits.trim_start_matches('0');
    if significant.is_empty() {
        return Some(0);
    }
    significant.parse().ok()
}

fn digits() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (1u64..=12).prop_map(|v| v.to_string()),
        3 => (1u64..=12, 2usize..=6).prop_map(|(v, width)| format!("{v:0width$}")),
        1 => prop_oneof![Just("0".to_owned()), Just("0000".to_owned()), Just(String::new())],
        2 => prop_oneof![
            Just(MAX_VERSION.to_string()),
            Just((MAX_VERSION + 1).to_string()),
            Just(u64::MAX.to_string()),
            Just("18446744073709551616".to_owned()),
            Just(format!("{:0>25}", 7)),
        ],
        1 => "[0-9]{14}",
        1 => "[1-9][0-9]{19,30}",
    ]
}

/// Names that are hard to display or to store: combining marks, right-to-left
/// text and overrides, emoji, zero-width characters, long names.
fn hostile_name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-z][a-z_]{0,10}",
        1 => Just(String::new()),
        4 => prop_oneof![
            Just("e\u{301}\u{302}te\u{301}".to_owned()),
            Just("\u{202e}lqsexe".to_owned()),
            Just("שלום_עולם".to_owned()),
            Just("مرحبا".to_owned()),
            Just("🦀👩\u{200d}💻".to_owned()),
            Just("日本語".to_owned()),
            Just("\u{200b}zero width".to_owned()),
            Just(" spaced name ".to_owned()),
            Just(format!("{BOM}bom")),
        ],
        1 => "[a-zA-Z][a-zA-Z ]{200,250}",
        2 => "[^0-9_./\\x00][^./\\x00]{0,20}",
    ]
}

fn name_parts() -> impl Strategy<Value = NameParts> {
    (
        prop_oneof![8 => Just(""), 2 => Just("V"), 1 => Just("v")],
        digits(),
        prop_oneof![8 => Just("_"), 2 => Just("__"), 1 => Just(""), 1 => Just("-"), 1 => Just(" ")],
        hostile_name(),
        prop_oneof![
            4 => Just(".sql"),
            2 => Just(".up.sql"),
            2 => Just(".down.sql"),
            2 => Just(".rs"),
            1 => prop_oneof![
                Just(".up.rs"),
                Just(".down.rs"),
                Just(".SQL"),
                Just(".sql~"),
                Just(""),
                Just(".txt"),
            ],
        ],
    )
        .prop_map(|(prefix, digits, separator, name, suffix)| NameParts {
            prefix,
            digits,
            separator,
            name,
            suffix,
        })
}

/// Whether the grammar ignores a name: hidden, or starting `README` in any case.
fn ignored(file_name: &str) -> bool {
    let readme = file_name
        .get(..6)
        .is_some_and(|start| start.eq_ignore_ascii_case("readme"));
    file_name.starts_with('.') || readme
}

/// The properties every file name must have: no panic; an ignored name starts
/// with `.` or `README` (any case); an accepted one has a version in
/// 1..=2^63-1 and a name, and writing it back in its style gives the name
/// that was read, byte for byte; a rejected one says why.
fn check_file_name(file_name: &str) -> Result<(), TestCaseError> {
    let result = parse_file_name(file_name);
    prop_assert_eq!(
        result == Ok(None),
        ignored(file_name),
        "{:?}: {:?}",
        file_name,
        result
    );
    match result {
        Ok(None) => {}
        Ok(Some(parsed)) => {
            prop_assert!((1..=MAX_VERSION).contains(&parsed.version), "{parsed:?}");
            prop_assert!(!parsed.name.is_empty(), "{parsed:?}");
            let suffix = match parsed.role {
                FileRole::Up => ".sql",
                FileRole::ReversibleUp => ".up.sql",
                FileRole::Down => ".down.sql",
                FileRole::Rust => ".rs",
            };
            let width = parsed.digits;
            let written = if file_name.starts_with('V') {
                format!("V{:0width$}__{}{suffix}", parsed.version, parsed.name)
            } else {
                format!("{:0width$}_{}{suffix}", parsed.version, parsed.name)
            };
            prop_assert_eq!(&written, file_name);
            prop_assert_eq!(parse_file_name(&written), Ok(Some(parsed)));
        }
        Err(reason) => prop_assert!(!reason.to_string().is_empty()),
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn any_text_as_a_file_name_is_read_back_exactly_or_rejected(name in any::<String>()) {
        check_file_name(&name)?;
    }

    #[test]
    fn a_built_file_name_gives_its_parts_or_one_of_its_faults(parts in name_parts()) {
        let file_name = parts.file_name();
        check_file_name(&file_name)?;
        if ignored(&file_name) {
            return Ok(()); // e.g. a name that happens to start with `readme`
        }
        match (parse_file_name(&file_name), parts.expected()) {
            (Ok(Some(parsed)), Ok(expected)) => prop_assert_eq!(parsed, expected),
            (Err(reason), Err(reasons)) => prop_assert!(
                reasons.contains(&reason),
                "{file_name:?}: {reason:?} is not one of {reasons:?}"
            ),
            (actual, expected) => prop_assert!(
                false,
                "{file_name:?}: got {actual:?}, expected {expected:?}"
            ),
        }
    }
}

// ---------------------------------------------------------------------------
// Directives
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    /// Not a directive comment: SQL, a plain comment, `migrate:` mid-line.
    Plain,
    /// `-- migrate:no-transaction` (whitespace around it allowed).
    Directive,
    /// A `-- migrate:` comment line that is not the directive.
    Unknown,
}

/// Lines of a SQL file and what the directive scan must make of each.
const LINES: &[(&str, Kind)] = &[
    ("SELECT 1;", Kind::Plain),
    ("CREATE TABLE t (x);", Kind::Plain),
    ("", Kind::Plain),
    ("  \t", Kind::Plain),
    ("-- a comment", Kind::Plain),
    ("-- migrate no-transaction", Kind::Plain),
    ("SELECT 1; -- migrate:up", Kind::Plain),
    ("SELECT '-- migrate:x';", Kind::Plain),
    ("/* -- migrate:down */", Kind::Plain),
    // A BOM inside the file: see `a_bom_inside_a_file_is_whitespace_as_sqlite_reads_it`.
    ("-- migrate:no-transaction", Kind::Directive),
    ("\t-- migrate:no-transaction  ", Kind::Directive),
    ("-- migrate:up", Kind::Unknown),
    ("-- migrate:down", Kind::Unknown),
    ("--migrate:no-transaction", Kind::Unknown),
    ("-- MIGRATE:No-Transaction", Kind::Unknown),
    ("  --   Migrate:no-transaction", Kind::Unknown),
    ("-- migrate:no-transaction because", Kind::Unknown),
    ("-- migrate:", Kind::Unknown),
    ("-- migrate:🦀", Kind::Unknown),
    ("\u{3000}-- migrate:up", Kind::Unknown),
];

/// Indices into `LINES`, and whether the last line has a line ending.
fn sql_lines() -> impl Strategy<Value = (Vec<usize>, bool)> {
    (
        proptest::collection::vec(0..LINES.len(), 0..8),
        any::<bool>(),
    )
}

/// The lines joined by `ending` (`\n` or `\r\n`).
fn join(lines: &[usize], ending: &str, final_ending: bool) -> String {
    let mut text = lines
        .iter()
        .map(|&i| LINES[i].0)
        .collect::<Vec<_>>()
        .join(ending);
    if final_ending && !lines.is_empty() {
        text.push_str(ending);
    }
    text
}

/// What `parse_directives` must return for these lines.
fn expected_directives(
    lines: &[usize],
) -> Result<migrate::directive::Directives, Vec<DirectiveError>> {
    let mut directives = migrate::directive::Directives::default();
    let mut errors = Vec::new();
    for (index, &i) in lines.iter().enumerate() {
        let (text, kind) = LINES[i];
        let line = index + 1;
        match kind {
            Kind::Plain => {}
            Kind::Directive if line == 1 => directives.no_transaction = true,
            Kind::Directive => errors.push(DirectiveError::NotOnFirstLine {
                line,
                directive: NO_TRANSACTION,
            }),
            Kind::Unknown => errors.push(DirectiveError::Unknown {
                line,
                text: text.trim().to_owned(),
            }),
        }
    }
    if errors.is_empty() {
        Ok(directives)
    } else {
        Err(errors)
    }
}

/// Properties of any text: no panic; errors in line order, on lines the text
/// has, each naming a trimmed `--` comment.
fn check_directives(sql: &str) -> Result<(), TestCaseError> {
    if let Err(errors) = parse_directives(sql) {
        prop_assert!(!errors.is_empty());
        let lines = sql.split('\n').count();
        let mut previous = 0;
        for error in &errors {
            let line = match error {
                DirectiveError::Unknown { line, text } => {
                    prop_assert!(text.starts_with("--") && text.trim() == text, "{text:?}");
                    *line
                }
                DirectiveError::NotOnFirstLine { line, .. } => *line,
                other => return Err(TestCaseError::fail(format!("unexpected {other:?}"))),
            };
            prop_assert!(line > previous && line <= lines, "{errors:?} in {sql:?}");
            previous = line;
            let prefix = format!("line {line}: ");
            prop_assert!(error.to_string().starts_with(&prefix));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn any_text_gives_directives_or_errors_in_line_order(sql in any::<String>()) {
        check_directives(&sql)?;
    }

    #[test]
    fn directives_are_found_on_their_lines_whatever_the_line_endings_and_bom(
        (lines, final_ending) in sql_lines(),
    ) {
        let expected = expected_directives(&lines);
        let lf = join(&lines, "\n", final_ending);
        let crlf = join(&lines, "\r\n", final_ending);
        let mixed: String = lines
            .iter()
            .enumerate()
            .map(|(n, &i)| format!("{}{}", LINES[i].0, if n % 2 == 0 { "\r\n" } else { "\n" }))
            .collect();
        for sql in [&lf, &crlf, &mixed, &format!("{BOM}{lf}"), &format!("{BOM}{crlf}")] {
            prop_assert_eq!(&parse_directives(sql), &expected, "{:?}", sql);
        }
    }

    #[test]
    fn lone_carriage_returns_and_stray_boms_never_panic(
        (lines, final_ending) in sql_lines(),
        boms in proptest::collection::vec(any::<prop::sample::Index>(), 0..3),
    ) {
        // Old Mac line endings: one line for the scan.
        let cr = join(&lines, "\r", final_ending);
        check_directives(&cr)?;
        let mut with_boms = join(&lines, "\n", final_ending);
        for at in boms {
            let mut index = at.index(with_boms.len() + 1);
            while !with_boms.is_char_boundary(index) {
                index -= 1;
            }
            with_boms.insert_str(index, BOM);
        }
        check_directives(&with_boms)?;
    }
}

// ---------------------------------------------------------------------------
// Folders
// ---------------------------------------------------------------------------

/// SQL text made of `LINES` with random line endings and byte order marks.
fn sql_text() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(
            (
                0..LINES.len(),
                prop_oneof![6 => Just("\n"), 3 => Just("\r\n"), 1 => Just("\r")],
            ),
            1..6,
        ),
        prop_oneof![6 => Just(""), 3 => Just(BOM), 1 => Just("\u{feff}\u{feff}")],
    )
        .prop_map(|(lines, bom)| {
            let body: String = lines
                .iter()
                .map(|&(i, ending)| format!("{}{ending}", LINES[i].0))
                .collect();
            format!("{bom}{body}")
        })
}

/// File contents: mostly SQL, some empty, blank, BOM-only, arbitrary text,
/// arbitrary bytes (rarely UTF-8), or a Rust migration with or without `up`.
fn content() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => sql_text().prop_map(String::into_bytes),
        2 => prop_oneof![
            Just(Vec::new()),
            Just(b" \r\n\t".to_vec()),
            Just(BOM.as_bytes().to_vec()),
            Just(format!("{BOM}{BOM}").into_bytes()),
        ],
        1 => proptest::collection::vec(any::<u8>(), 1..40),
        1 => any::<String>().prop_map(String::into_bytes),
        1 => prop_oneof![
            Just(b"pub fn up(tx: &rusqlite::Transaction<'_>) -> R {}\r\n".to_vec()),
            Just(b"fn up(tx: &rusqlite::Transaction<'_>) -> R {}\n".to_vec()),
        ],
    ]
}

/// File names for a generated folder: mostly small versions in every style
/// (so that some folders are valid), some built hostile names, some
/// arbitrary text, some ignored names.
fn folder_file_name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => (1u64..=5, prop_oneof![Just(""), Just("0"), Just("000")], 0usize..4, "[a-c]")
            .prop_map(|(version, zeros, style, name)| match style {
                0 => format!("{zeros}{version}_{name}.sql"),
                1 => format!("{zeros}{version}_{name}.up.sql"),
                2 => format!("{zeros}{version}_{name}.down.sql"),
                _ => format!("V{zeros}{version}__{name}.sql"),
            }),
        1 => (1u64..=5, "[a-c]").prop_map(|(version, name)| format!("{version}_{name}.rs")),
        2 => name_parts().prop_map(|parts| parts.file_name()),
        1 => any::<String>(),
        1 => prop_oneof![Just(".hidden.sql".to_owned()), Just("README.md".to_owned())],
    ]
}

/// A generated folder: names and contents, later files replacing earlier
/// ones of the same name, names a file system cannot hold left out.
fn folder_files() -> impl Strategy<Value = BTreeMap<String, Vec<u8>>> {
    proptest::collection::vec((folder_file_name(), content()), 1..7).prop_map(|files| {
        files
            .into_iter()
            .filter(|(name, _)| {
                !name.is_empty()
                    && name.len() <= 255
                    && name != "."
                    && name != ".."
                    && !name.contains(['/', '\0'])
            })
            .collect()
    })
}

/// SQL that the grammar accepts: plain lines with random line endings, an
/// optional directive first and an optional BOM.
fn valid_sql_text() -> impl Strategy<Value = String> {
    let plain: Vec<&'static str> = LINES
        .iter()
        .filter(|(_, kind)| *kind == Kind::Plain)
        .map(|(line, _)| *line)
        .collect();
    (
        any::<bool>(),
        proptest::collection::vec(
            (
                prop::sample::select(plain),
                prop_oneof![Just("\n"), Just("\r\n"), Just("\r")],
            ),
            0..5,
        ),
        prop_oneof![Just(""), Just(BOM)],
    )
        .prop_map(|(directive, lines, bom)| {
            let mut text = bom.to_owned();
            if directive {
                text.push_str("-- migrate:no-transaction\r\n");
            }
            text.push_str("SELECT 1;\n");
            for (line, ending) in lines {
                text.push_str(line);
                text.push_str(ending);
            }
            text
        })
}

/// A folder that is valid, or one edit away from it: versions 1 to n in
/// random styles (SQL up, reversible up with or without its down, Flyway,
/// Rust), then perhaps one generated file more.
fn near_valid_folder() -> impl Strategy<Value = BTreeMap<String, Vec<u8>>> {
    (
        proptest::collection::vec((0usize..5, "[a-z]{1,6}", valid_sql_text()), 1..6),
        proptest::option::weighted(0.5, (folder_file_name(), content())),
    )
        .prop_map(|(migrations, extra)| {
            let mut files = BTreeMap::new();
            for (index, (style, name, sql)) in migrations.into_iter().enumerate() {
                let v = index + 1;
                let mut add = |file: String, text: String| files.insert(file, text.into_bytes());
                match style {
                    0 => add(format!("{v:04}_{name}.sql"), sql),
                    1 => add(format!("{v}_{name}.up.sql"), sql),
                    2 => {
                        add(format!("{v:03}_{name}.up.sql"), sql.clone());
                        add(format!("{v:03}_{name}.down.sql"), sql)
                    }
                    3 => add(format!("V{v}__{name}.sql"), sql),
                    _ => add(
                        format!("{v:04}_{name}.rs"),
                        "pub fn up(tx: &rusqlite::Transaction<'_>) -> R {}\n".to_owned(),
                    ),
                };
            }
            if let Some((name, bytes)) = extra
                && !name.is_empty()
                && name.len() <= 255
                && name != "."
                && name != ".."
                && !name.contains(['/', '\0'])
            {
                files.insert(name, bytes);
            }
            files
        })
}

/// The text a migration's checksum is defined on: the file as UTF-8.
fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("an accepted file is UTF-8")
}

/// Checks an accepted folder against the files it was read from.
fn check_accepted(
    set: &Migrations,
    files: &BTreeMap<String, Vec<u8>>,
) -> Result<(), TestCaseError> {
    prop_assert!(!set.is_empty());
    let versions: Vec<u64> = set.iter().map(|m| m.version()).collect();
    prop_assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
    let timestamps = set
        .iter()
        .all(|m| parse_file_name(m.file()).is_ok_and(|f| f.is_some_and(|f| f.digits == 14)));
    if !timestamps {
        prop_assert!(
            versions.windows(2).all(|w| w[1] == w[0] + 1),
            "a sequential folder with a gap was accepted: {versions:?}"
        );
    }
    // Nothing silently skipped: every name is a migration file or ignored,
    // and every migration file is in the set.
    for name in files.keys() {
        match parse_file_name(name) {
            Ok(None) => {}
            Ok(Some(parsed)) => prop_assert!(
                set.iter()
                    .any(|m| m.file() == name || m.down_file() == Some(name.as_str())),
                "{name:?} ({parsed:?}) is not in the set"
            ),
            Err(reason) => prop_assert!(false, "{name:?} ({reason}) was accepted"),
        }
    }
    let mut previous = None;
    for migration in set {
        let file = &files[migration.file()];
        let body = text(file).strip_prefix(BOM).unwrap_or(text(file));
        prop_assert!(!body.trim().is_empty(), "{:?} is blank", migration.file());
        // Checksum of the file with one leading BOM removed and CRLF as LF.
        // A second BOM: see `a_second_bom_is_part_of_the_checksum`.
        if !body.starts_with(BOM) {
            prop_assert_eq!(migration.checksum(), Checksum::of_text(text(file)));
            // The LF copy has the same checksum, unless CRLF-to-LF made a new
            // CRLF (`\r\r\n`, a file converted twice): the lone CR is content.
            let lf = text(file).replace("\r\n", "\n");
            if !lf.contains("\r\n") {
                prop_assert_eq!(migration.checksum(), Checksum::of_text(&lf));
            }
        }
        let running = Checksum::chain(
            previous.as_ref(),
            migration.version(),
            &migration.checksum(),
        );
        prop_assert_eq!(migration.running_checksum(), running);
        previous = Some(running);
        match migration.kind() {
            MigrationKind::Sql => {
                prop_assert_eq!(migration.up_sql(), Some(body));
                let directives = parse_directives(body).expect("accepted directives");
                prop_assert_eq!(migration.up_no_transaction(), directives.no_transaction);
            }
            MigrationKind::Rust => prop_assert!(!migration.is_runnable()),
        }
        if let (Some(down), Some(sql)) = (migration.down_file(), migration.down_sql()) {
            let down_text = text(&files[down]);
            prop_assert_eq!(down_text.strip_prefix(BOM).unwrap_or(down_text), sql);
        }
    }
    Ok(())
}

/// Checks a rejected folder: every problem names the folder or a file in it,
/// and every bad name, non-UTF-8 file and blank file is among them.
fn check_rejected(
    error: &migrate::folder::FolderError,
    dir: &Path,
    files: &BTreeMap<String, Vec<u8>>,
) -> Result<(), TestCaseError> {
    prop_assert!(!error.problems().is_empty());
    prop_assert!(!error.to_string().is_empty());
    let root = dir.display().to_string();
    let messages: Vec<String> = error.problems().iter().map(|p| p.to_string()).collect();
    for message in &messages {
        prop_assert!(message.contains(&root), "{message} names no file");
    }
    let named = |name: &str| {
        let shown = dir.join(name).display().to_string();
        messages.iter().any(|m| m.contains(&format!("`{shown}`")))
    };
    for (name, bytes) in files {
        let blank = std::str::from_utf8(bytes)
            .map(|t| t.strip_prefix(BOM).unwrap_or(t).trim().is_empty())
            .unwrap_or(false);
        match parse_file_name(name) {
            Err(_) => prop_assert!(named(name), "bad name {name:?} not reported: {messages:#?}"),
            Ok(Some(_)) if std::str::from_utf8(bytes).is_err() || blank => {
                prop_assert!(
                    named(name),
                    "bad content of {name:?} not reported: {messages:#?}"
                );
            }
            _ => {}
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(96))]

    #[test]
    fn a_generated_folder_is_a_valid_set_or_every_problem_names_a_file(
        files in prop_oneof![folder_files(), near_valid_folder()],
    ) {
        let folder = Folder::new(&[]);
        for (name, bytes) in &files {
            folder.write(name, bytes);
        }
        match Migrations::from_folder(folder.path()) {
            Ok(set) => {
                check_accepted(&set, &files)?;
                // An accepted set runs or fails with a named error; never panics.
                let mut conn = Connection::open_in_memory().unwrap();
                match set.run(&mut conn) {
                    Ok(report) => prop_assert_eq!(report.applied.len(), set.len()),
                    Err(Error::MigrationFailed { file, .. }) => prop_assert!(
                        files.contains_key(&file),
                        "{file}"
                    ),
                    Err(Error::NotCompiled { file, .. }) => prop_assert!(file.ends_with(".rs")),
                    Err(other) => prop_assert!(false, "unexpected {other:?}"),
                }
            }
            Err(error) => check_rejected(&error, folder.path(), &files)?,
        }
    }

    #[test]
    fn crlf_lf_and_bom_copies_of_a_folder_have_equal_checksums(
        bodies in proptest::collection::vec(
            proptest::collection::vec("[A-Za-z0-9 ();,'*-]{1,30}", 1..5),
            1..6,
        ),
    ) {
        let copies = ["\n", "\r\n"].map(|ending| {
            let folder = Folder::new(&[]);
            for (index, lines) in bodies.iter().enumerate() {
                let bom = if ending == "\r\n" && index % 2 == 0 { BOM } else { "" };
                let text = format!("{bom}SELECT {index};{ending}{}{ending}", lines.join(ending));
                folder.write(&format!("{:04}_m{index}.sql", index + 1), text);
            }
            folder.migrations()
        });
        let [lf, crlf] = copies;
        prop_assert_eq!(lf.len(), bodies.len());
        for (a, b) in lf.iter().zip(&crlf) {
            prop_assert_eq!(a.checksum(), b.checksum());
            prop_assert_eq!(a.running_checksum(), b.running_checksum());
            prop_assert_eq!(a.checksum(), Checksum::of_text(b.up_sql().unwrap()));
        }
    }
}

// ---------------------------------------------------------------------------
// The corpus: tests/corpus/<case>/, exact outcomes
// ---------------------------------------------------------------------------

fn corpus(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(case)
}

/// The problems of a corpus folder, with its path shown as `corpus/<case>`.
fn corpus_problems(case: &str) -> Vec<String> {
    problems_of(&corpus(case), &format!("corpus/{case}"))
}

/// The problems of a folder, with its path shown as `shown`.
fn problems_of(dir: &Path, shown: &str) -> Vec<String> {
    let error = Migrations::from_folder(dir).expect_err("the folder should be rejected");
    let root = dir.display().to_string();
    error
        .problems()
        .iter()
        .map(|p| p.to_string().replace(&root, shown))
        .collect()
}

/// `(version, name, file, down file)` of a migration.
type Shape = (u64, String, String, Option<String>);

/// A corpus folder's set and the shape of every migration in it.
fn corpus_set(case: &str) -> (Migrations, Vec<Shape>) {
    let set = Migrations::from_folder(corpus(case)).unwrap_or_else(|e| panic!("{case}: {e}"));
    let shape = set
        .iter()
        .map(|m| {
            (
                m.version(),
                m.name().to_owned(),
                m.file().to_owned(),
                m.down_file().map(str::to_owned),
            )
        })
        .collect();
    (set, shape)
}

#[test]
fn corpus_non_utf8_content_names_the_file_and_the_offset() {
    assert_eq!(
        corpus_problems("non_utf8_content"),
        [
            "`corpus/non_utf8_content/0002_latin1.sql` is not valid UTF-8 (first invalid byte at offset 6): save it as UTF-8",
            // UTF-16 with its byte order mark, as some Windows editors save.
            "`corpus/non_utf8_content/0003_utf16.sql` is not valid UTF-8 (first invalid byte at offset 0): save it as UTF-8",
        ]
    );
}

#[test]
fn corpus_mixed_line_endings_are_one_checksum_and_run() -> migrate::Result<()> {
    let (set, shape) = corpus_set("mixed_line_endings");
    assert_eq!(
        shape,
        [(
            1,
            "tables".into(),
            "0001_tables.up.sql".into(),
            Some("0001_tables.down.sql".into())
        )]
    );
    let up = fs::read_to_string(corpus("mixed_line_endings/0001_tables.up.sql")).unwrap();
    assert!(up.contains("\r\n") && up.contains(");\rCREATE") && up.contains(");\nCREATE"));
    // CRLF counts as LF; a lone CR is content.
    let lf = up.replace("\r\n", "\n");
    assert_eq!(set.as_slice()[0].checksum(), Checksum::of_text(&lf));
    assert_ne!(
        set.as_slice()[0].checksum(),
        Checksum::of_text(&lf.replace('\r', "\n"))
    );
    assert!(set.as_slice()[0].down_no_transaction());

    let mut conn = Connection::open_in_memory().unwrap();
    set.run(&mut conn)?;
    assert_eq!(
        common::schema_objects(&conn),
        ["table a", "table b", "table c", "table d"]
    );
    set.rollback(&mut conn, 1)?;
    assert!(common::schema_objects(&conn).is_empty());
    Ok(())
}

/// Classic Mac line endings (a lone CR): SQLite ends a `--` comment only at
/// LF, so the comment swallows every statement after it, and the migration
/// would be recorded as applied with only its first table. Either the
/// grammar refuses the file, naming it, or what runs is what the file says.
#[test]
fn corpus_a_comment_ended_by_a_lone_cr_does_not_swallow_the_rest() {
    let dir = corpus("lone_cr_line_endings");
    let set = match Migrations::from_folder(&dir) {
        Err(error) => {
            let message = error.to_string();
            assert!(message.contains("0001_two_tables.sql"), "{message}");
            return;
        }
        Ok(set) => set,
    };
    let mut conn = Connection::open_in_memory().unwrap();
    set.run(&mut conn).unwrap();
    assert_eq!(
        common::schema_objects(&conn),
        ["table a", "table b"],
        "accepted, applied and recorded, but `CREATE TABLE b` never ran"
    );
}

#[test]
fn corpus_bom_only_files_are_empty() {
    assert_eq!(
        corpus_problems("bom_only"),
        [
            "`corpus/bom_only/0001_bom.sql` is empty or only whitespace: write the migration's SQL, or a comment if it is meant to do nothing",
            "`corpus/bom_only/0002_bom_and_blanks.sql` is empty or only whitespace: write the migration's SQL, or a comment if it is meant to do nothing",
        ]
    );
}

/// A file that starts with two byte order marks (an editor added one to a
/// file that had one). The grammar strips one; SQLite's tokenizer reads the
/// other as whitespace, so the file runs.
#[test]
fn corpus_double_bom_is_accepted_and_runs() -> migrate::Result<()> {
    let (set, shape) = corpus_set("double_bom");
    assert_eq!(
        shape,
        [(1, "two_boms".into(), "0001_two_boms.sql".into(), None)]
    );
    assert_eq!(
        set.as_slice()[0].up_sql(),
        Some("\u{feff}CREATE TABLE t (x);\n")
    );
    let mut conn = Connection::open_in_memory().unwrap();
    set.run(&mut conn)?;
    assert_eq!(common::schema_objects(&conn), ["table t"]);
    Ok(())
}

/// The checksum is documented as SHA-256 of the file with *a* leading byte
/// order mark removed ([`Checksum::of_text`]), but the folder removes one and
/// `of_text` another: a file with two BOMs gets the checksum of the file
/// with none, and `Checksum::of_text(file)` disagrees with the set.
#[test]
fn a_second_bom_is_part_of_the_checksum() {
    let file = "\u{feff}\u{feff}CREATE TABLE t (x);\n";
    let folder = Folder::new(&[("0001_a.sql", file)]);
    let Ok(set) = Migrations::from_folder(folder.path()) else {
        return; // a grammar that rejects the second BOM has no checksum for it
    };
    assert_eq!(
        set.as_slice()[0].checksum(),
        Checksum::of_text(file),
        "the documented checksum: SHA-256 of the file with a leading BOM removed"
    );
}

/// SQLite's tokenizer reads U+FEFF anywhere in a script as whitespace, so a
/// `-- migrate:` comment after one is still a comment line to SQLite, and a
/// file of byte order marks is empty. The grammar must read them the same
/// way, or a misspelt directive is silently ignored: here the down pasted
/// (from a file saved with a BOM) below the up runs as part of the up.
#[test]
fn a_bom_inside_a_file_is_whitespace_as_sqlite_reads_it() {
    let pasted = "CREATE TABLE t (x);\n\u{feff}-- migrate:down\nDROP TABLE t;\n";
    let folder = Folder::new(&[("0001_a.sql", pasted)]);
    assert_eq!(
        Migrations::from_folder(folder.path())
            .map(|set| set.len())
            .map_err(|e| e.to_string().replace(&folder.path().display().to_string(), "migrations")),
        Err("`migrations/0001_a.sql`, line 2: `-- migrate:down` is a dbmate section marker; looks like dbmate: use format = \"dbmate\" in `embed_migrations!` (`--folder-format dbmate` on the command line) to read the folder as dbmate does; read as plain SQL, the whole file, its down section too, would run as one up migration (or move the up section into `0001_a.up.sql` and the down section, if any, into `0001_a.down.sql`, without the markers)".to_owned()),
        "the up and its pasted down were accepted as one migration"
    );

    let folder = Folder::new(&[("0001_a.sql", "\u{feff}\u{feff}\r\n")]);
    assert_eq!(
        Migrations::from_folder(folder.path())
            .map(|set| set.len())
            .map_err(|e| e.to_string().replace(&folder.path().display().to_string(), "migrations")),
        Err("`migrations/0001_a.sql` is empty or only whitespace: write the migration's SQL, or a comment if it is meant to do nothing".to_owned()),
    );
}

#[test]
fn corpus_comment_only_files_are_intentional_no_ops() -> migrate::Result<()> {
    let (set, shape) = corpus_set("all_comments");
    assert_eq!(
        shape,
        [
            (1, "placeholder".into(), "0001_placeholder.sql".into(), None),
            (2, "block".into(), "0002_block.sql".into(), None),
            (
                3,
                "both".into(),
                "0003_both.up.sql".into(),
                Some("0003_both.down.sql".into())
            ),
        ]
    );
    let mut conn = Connection::open_in_memory().unwrap();
    assert_eq!(set.run(&mut conn)?.applied.len(), 3);
    assert!(common::schema_objects(&conn).is_empty());
    assert_eq!(set.rollback(&mut conn, 1)?.rolled_back.len(), 1);
    Ok(())
}

#[test]
fn corpus_names_of_255_bytes_are_accepted() -> migrate::Result<()> {
    let (set, shape) = corpus_set("long_names");
    let ascii = "a".repeat(246);
    let accented = "é".repeat(123);
    assert_eq!(
        shape,
        [
            (1, ascii.clone(), format!("0001_{ascii}.sql"), None),
            (2, accented.clone(), format!("0002_{accented}.sql"), None),
        ]
    );
    assert!(set.iter().all(|m| m.file().len() == 255));
    let mut conn = Connection::open_in_memory().unwrap();
    set.run(&mut conn)?;
    assert_eq!(
        set.status(&mut conn)?
            .applied
            .iter()
            .map(|a| a.name.len())
            .collect::<Vec<_>>(),
        [246, 246]
    );
    // One byte more is a name no common file system holds; the grammar
    // itself has no length limit.
    let folder = Folder::new(&[]);
    let too_long = format!("0001_{}.sql", "a".repeat(247));
    assert!(fs::write(folder.path().join(&too_long), "SELECT 1;").is_err());
    let huge = format!("0001_{}.sql", "a".repeat(100_000));
    assert_eq!(parse_file_name(&huge).unwrap().unwrap().name.len(), 100_000);
    Ok(())
}

#[test]
fn corpus_unicode_names_are_kept_byte_for_byte() -> migrate::Result<()> {
    let (set, shape) = corpus_set("unicode_names");
    let names: Vec<(u64, &str)> = shape.iter().map(|(v, n, ..)| (*v, n.as_str())).collect();
    assert_eq!(
        names,
        [
            (1, "e\u{301}te\u{301}"),
            (2, "\u{202e}gnp.exe"),
            (3, "🦀_crab"),
            (4, "שלום"),
            (5, "日本語"),
        ]
    );
    assert_eq!(shape[3].3.as_deref(), Some("0004_שלום.down.sql"));
    assert_eq!(shape[4].2, "V5__日本語.sql");
    let mut conn = Connection::open_in_memory().unwrap();
    set.run(&mut conn)?;
    let applied: Vec<String> = set
        .status(&mut conn)?
        .applied
        .into_iter()
        .map(|a| a.name)
        .collect();
    let expected: Vec<String> = names.iter().map(|(_, n)| n.to_string()).collect();
    assert_eq!(applied, expected);
    Ok(())
}

/// `café` written precomposed (NFC) in the up and decomposed (NFD) in the
/// down: different names to the grammar, shown identically in the message.
/// (On macOS's HFS+, which stores names as NFD, the two would pair.)
#[test]
fn corpus_nfc_and_nfd_names_do_not_pair() {
    if cfg!(target_os = "macos") {
        return;
    }
    assert_eq!(
        corpus_problems("nfc_nfd"),
        [
            "`corpus/nfc_nfd/0001_cafe\u{301}.down.sql` is a down migration without its up: the up of version 1 is `corpus/nfc_nfd/0001_caf\u{e9}.up.sql`; rename the down to `0001_caf\u{e9}.down.sql`"
        ]
    );
}

#[test]
fn corpus_one_version_in_four_styles_is_one_duplicate() {
    assert_eq!(
        corpus_problems("duplicate_styles"),
        [
            "duplicate version 3: `corpus/duplicate_styles/0003_c.sql`, `corpus/duplicate_styles/0003_f.rs`, `corpus/duplicate_styles/3_d.up.sql`, `corpus/duplicate_styles/V03__e.sql` each claim it; give every migration its own version"
        ]
    );
}

#[test]
fn corpus_versions_beyond_sqlite_integer_are_rejected() {
    let too_large = |file: &str| {
        format!(
            "`corpus/huge_versions/{file}`: the version is larger than 9223372036854775807, the largest SQLite INTEGER; renumber the file"
        )
    };
    assert_eq!(
        corpus_problems("huge_versions"),
        [
            too_large("18446744073709551615_u64_max.sql"),
            too_large("18446744073709551616_over_u64.sql"),
            too_large("9223372036854775808_over_i64.sql"),
            "versions 2 to 9223372036854775806 are missing between `corpus/huge_versions/0000000000000000000000000000001_padded.sql` and `corpus/huge_versions/9223372036854775807_max.sql`: sequential versions must not have gaps; add the missing migration or renumber the later files".to_owned(),
        ]
    );
}

#[test]
fn corpus_the_largest_version_applies_and_rolls_back() -> migrate::Result<()> {
    let (set, shape) = corpus_set("max_version");
    let versions: Vec<u64> = shape.iter().map(|s| s.0).collect();
    assert_eq!(versions, [MAX_VERSION - 1, MAX_VERSION]);
    let mut conn = Connection::open_in_memory().unwrap();
    assert_eq!(set.run(&mut conn)?.applied.len(), 2);
    let status = set.status(&mut conn)?;
    assert_eq!(status.current_version, Some(MAX_VERSION));
    assert!(status.is_up_to_date());
    assert!(set.run(&mut conn)?.applied.is_empty());
    set.rollback(&mut conn, 1)?;
    assert_eq!(
        set.status(&mut conn)?.current_version,
        Some(MAX_VERSION - 1)
    );
    assert_eq!(common::schema_objects(&conn), ["table almost"]);
    Ok(())
}

#[test]
fn corpus_directive_comments_anywhere_are_named_by_line() {
    assert_eq!(
        corpus_problems("directives_anywhere"),
        [
            // dbmate's markers: its format, one problem for the file.
            "`corpus/directives_anywhere/0001_dbmate_style.sql`, line 1: `-- migrate:up` is a dbmate section marker; looks like dbmate: use format = \"dbmate\" in `embed_migrations!` (`--folder-format dbmate` on the command line) to read the folder as dbmate does; read as plain SQL, the whole file, its down section too, would run as one up migration (or move the up section into `0001_dbmate_style.up.sql` and the down section, if any, into `0001_dbmate_style.down.sql`, without the markers)",
            "`corpus/directives_anywhere/0002_late.sql`, line 3: `-- migrate:no-transaction` must be the first line of the file; move it to line 1",
            // The scan is by line: inside a block comment still counts.
            "`corpus/directives_anywhere/0003_in_strings_and_blocks.sql`, line 3: `-- MIGRATE:in a block comment` is not a directive; the only one is `-- migrate:no-transaction`, alone on the first line (for a plain comment, leave out `migrate:`)",
        ]
    );
}

// Cases made at test time: what git cannot hold, or should not.

/// A symlink loop, a dangling symlink and a symlink to a folder: each named,
/// none read, none panics.
#[cfg(unix)]
#[test]
fn symlink_loops_dangling_links_and_links_to_folders_are_named() {
    use std::os::unix::fs::symlink;

    let folder = Folder::new(&[("0001_a.sql", "SELECT 1;"), ("0005_e.sql", "SELECT 5;")]);
    let dir = folder.path();
    symlink(dir.join("0002_loop.sql"), dir.join("0002_loop.sql")).unwrap();
    symlink(dir.join("nowhere.sql"), dir.join("0003_dangling.sql")).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    symlink(elsewhere.path(), dir.join("0004_folder.sql")).unwrap();

    let problems = problems_of(dir, "migrations");
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(
        problems[0].starts_with("cannot read `migrations/0002_loop.sql`: ")
            && problems[0].contains("symbolic links"),
        "{}",
        problems[0]
    );
    assert!(
        problems[1].starts_with("cannot read `migrations/0003_dangling.sql`: No such file"),
        "{}",
        problems[1]
    );
    assert_eq!(
        problems[2],
        "`migrations/0004_folder.sql` is a subfolder: a migrations folder is flat; move its files up or out of the folder"
    );
    // The unreadable versions leave a gap behind them.
    assert!(
        problems[3].starts_with("versions 2 to 4 are missing between `migrations/0001_a.sql` and `migrations/0005_e.sql`"),
        "{}",
        problems[3]
    );
}

/// A named pipe where a migration file should be: reading it would wait for
/// a writer forever, so it must be refused as not a regular file.
#[cfg(unix)]
#[test]
fn a_named_pipe_is_an_error_not_a_hang() {
    use std::sync::mpsc;
    use std::time::Duration;

    let folder = Folder::new(&[("0001_a.sql", "SELECT 1;")]);
    let fifo = folder.path().join("0002_pipe.sql");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|status| status.success()) {
        return; // no mkfifo here
    }
    let dir = folder.path().to_owned();
    let (done, outcome) = mpsc::channel();
    std::thread::spawn(move || {
        let result = Migrations::from_folder(&dir).map(|set| set.len());
        let _ = done.send(result.map_err(|e| e.to_string()));
    });
    // A reader blocked on the pipe is left behind: the test binary exits all
    // the same (opening the pipe to unblock it could block this thread too).
    let result = outcome
        .recv_timeout(Duration::from_secs(3))
        .expect("from_folder still waiting on a named pipe after 3 s");
    let message = result.expect_err("a named pipe is not a migration file");
    assert!(message.contains("0002_pipe.sql"), "{message}");
}

/// A non-UTF-8 name between two migrations: named lossily (see also
/// `tests/folder.rs`), and its version leaves a gap. Made at test time: git
/// stores the bytes, but macOS and Windows checkouts cannot hold them.
#[cfg(unix)]
#[test]
fn a_non_utf8_name_between_migrations_is_named() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    let folder = Folder::new(&[("0001_a.sql", "SELECT 1;"), ("0003_c.sql", "SELECT 3;")]);
    let name = OsStr::from_bytes(b"0002_\xff\xfe.sql");
    if fs::write(folder.path().join(name), "SELECT 2;").is_err() {
        return; // a file system that only takes UTF-8 names
    }
    assert_eq!(
        problems_of(folder.path(), "migrations"),
        [
            "`migrations/0002_\u{fffd}\u{fffd}.sql`: the file name is not valid UTF-8; rename it",
            "version 2 is missing between `migrations/0001_a.sql` and `migrations/0003_c.sql`: sequential versions must not have gaps; add the missing migration or renumber the later files",
        ]
    );
}

/// 20 MB of SQL, made at test time: read, checksummed and scanned for
/// directives without a limit. The grammar has none; SQLite limits one
/// statement to 1 000 000 000 bytes (`SQLITE_MAX_SQL_LENGTH`).
#[test]
fn a_20_mb_file_is_read_and_checksummed() {
    let line = "INSERT INTO t VALUES (1234567890, 'abcdefghijklmnopqrstuvwxyz');\r\n";
    let repeat = 20 * 1024 * 1024 / line.len() + 1;
    let mut sql = String::with_capacity(line.len() * repeat + 64);
    sql.push_str(BOM);
    sql.push_str("CREATE TABLE t (n INTEGER, s TEXT);\r\n");
    for _ in 0..repeat {
        sql.push_str(line);
    }
    assert!(sql.len() > 20 * 1024 * 1024);
    let folder = Folder::new(&[("0001_big.sql", &sql)]);
    let set = folder.migrations();
    let migration = &set.as_slice()[0];
    assert_eq!(
        migration.up_sql().map(str::len),
        Some(sql.len() - BOM.len())
    );
    assert_eq!(migration.checksum(), Checksum::of_text(&sql));
}
