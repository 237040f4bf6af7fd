//! goose's folders: the file names of `goose`'s `NumericComponent` and the
//! statement splitting of its `internal/sqlparser/parser.go`, rule for rule.
//!
//! - Files: the folder's `*.sql` files (goose's `*.go` migrations are
//!   refused: they are Go code; a `.go` file without a version, such as a
//!   `helpers.go` or the `//go:embed *.sql` file of an embedded folder, and
//!   `_test.go` files are skipped, as goose skips them); the version is the
//!   name up to the first `_`, an integer of at least 1.
//! - Lines are split at line feeds, a carriage return before one removed.
//! - An annotation is a line that, trimmed, starts with `--` and holds
//!   `+goose` (case-sensitive); it must not start with a space or tab; with
//!   every `--` and the first `+goose` removed and trimmed, it is, in any
//!   case, `Up`, `Down`, `StatementBegin`, `StatementEnd`, `NO TRANSACTION`,
//!   `ENVSUB ON` or `ENVSUB OFF`. Anything else is an error, as in goose.
//! - `-- +goose Up` comes first (blank and comment lines before it are
//!   fine) and once; `-- +goose Down` after it; `StatementBegin` and
//!   `StatementEnd` pair inside a section; `NO TRANSACTION` anywhere runs
//!   both directions outside a transaction.
//! - Outside a `StatementBegin` block, a statement ends at a line whose last
//!   whitespace-separated word before any word starting with `--` ends with
//!   `;`. Comment lines and empty lines before a statement are dropped.
//!   Text left after the last statement of a section is an error (goose:
//!   "unexpected unfinished SQL query: missing semicolon?").
//! - goose runs each statement alone. `migrate` runs a section's statements
//!   as one script, which is the same only when each statement is complete
//!   on its own: a statement goose would end inside a string literal or a
//!   block comment (a line ending in `;` inside a multi-line string) is
//!   refused, with the fix (`StatementBegin` / `StatementEnd`).
//! - `ENVSUB ON` substitutes environment variables when goose runs: refused,
//!   since an embedded migration's SQL is fixed at build time.
//! - A file without `-- +goose Down` has no down here (goose would treat
//!   its down as doing nothing; `migrate` refuses to roll it back instead);
//!   a `-- +goose Down` with no statements is a no-op down, which the
//!   build-time check judges.

use super::{Found, Listed, Reader, Sql};

/// Reads a goose folder.
pub(super) fn goose(reader: &mut Reader<'_>, entries: &[Listed]) {
    for entry in entries {
        if entry.is_dir {
            continue;
        }
        let Some(extension) = entry.name.rsplit_once('.').map(|(_, e)| e) else {
            continue;
        };
        if extension != "sql" && extension != "go" {
            continue;
        }
        let version = entry
            .name
            .split_once('_')
            .and_then(|(digits, _)| digits.parse::<i64>().ok())
            .filter(|&v| v >= 1);
        if extension == "go" {
            // goose skips a `.go` file without a version (`helpers.go`, the
            // `//go:embed *.sql` file of an embedded folder) and `_test.go`
            // files: Go code beside the migrations, never one of them.
            if version.is_some() && !entry.name.ends_with("_test.go") {
                reader.refuse(&entry.shown, "a goose Go migration, compiled against goose's API: rewrite it as a goose `.sql` migration, or as a `migrate` Rust migration in a folder of `migrate`'s own format");
            }
            continue;
        }
        let Some(version) = version else {
            reader.refuse(&entry.shown, "goose refuses this name: a goose migration is `<version>_<name>.sql`, the version an integer of at least 1 before the first `_`");
            continue;
        };
        let Some(text) = reader.read(&entry.path, &entry.shown) else {
            continue;
        };
        let name = entry.name.split_once('_').map_or("", |(_, rest)| rest);
        let name = name.strip_suffix(".sql").unwrap_or(name);
        match parse(&text) {
            Ok(parsed) => {
                let script = |statements: &[String]| Sql {
                    sql: join(statements),
                    no_transaction: !parsed.use_tx,
                };
                reader.found.push(Found {
                    version: version as u64,
                    name: name.to_owned(),
                    file: entry.rel.clone(),
                    shown: entry.shown.clone(),
                    up: script(&parsed.up),
                    down: parsed
                        .down
                        .as_deref()
                        .map(|down| (entry.rel.clone(), entry.shown.clone(), script(down))),
                    text,
                });
            }
            Err(why) => reader.refuse(&entry.shown, why),
        }
    }
}

/// A goose file's statements.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Parsed {
    /// The up section's statements.
    pub(crate) up: Vec<String>,
    /// The down section's, `None` without `-- +goose Down`.
    pub(crate) down: Option<Vec<String>>,
    /// `false` with `-- +goose NO TRANSACTION`.
    pub(crate) use_tx: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Start,
    Up,
    BeginUp,
    EndUp,
    Down,
    BeginDown,
    EndDown,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Annotation {
    Up,
    Down,
    StatementBegin,
    StatementEnd,
    NoTransaction,
    EnvsubOn,
    EnvsubOff,
}

/// The statements of both directions, as goose's `ParseSQLMigration` gives
/// them, or the goose error (with its line) and the fix.
pub(crate) fn parse(text: &str) -> Result<Parsed, String> {
    let text = crate::directive::without_bom(text);
    let mut state = State::Start;
    let mut use_tx = true;
    let mut saw_down = false;
    let mut up = Vec::new();
    let mut down = Vec::new();
    let mut buf = String::new();
    // The line where the statement in `buf` started, for messages.
    let mut buf_line = 0;
    let lines = text.split('\n').enumerate();
    let count = text.split('\n').count();
    for (index, raw) in lines {
        // bufio.ScanLines: no final empty token after a last line feed.
        if index + 1 == count && raw.is_empty() {
            break;
        }
        let number = index + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if state == State::Start && line.trim().is_empty() {
            continue;
        }
        let at = |what: &str| format!("line {number}: {what}");
        if line.trim().starts_with("--") && line.contains("+goose") {
            let annotation = annotation(line).map_err(|why| at(&why))?;
            match annotation {
                Annotation::Up => {
                    if state != State::Start {
                        return Err(at("a second `-- +goose Up`, which goose refuses: keep one"));
                    }
                    state = State::Up;
                    continue;
                }
                Annotation::Down => {
                    if !matches!(state, State::Up | State::EndUp) {
                        return Err(at(
                            "`-- +goose Down` before `-- +goose Up` or inside a StatementBegin block, which goose refuses",
                        ));
                    }
                    if !buf.trim().is_empty() {
                        return Err(unfinished(buf_line));
                    }
                    buf.clear();
                    state = State::Down;
                    saw_down = true;
                    continue;
                }
                Annotation::StatementBegin => {
                    state = match state {
                        State::Up | State::EndUp => State::BeginUp,
                        State::Down | State::EndDown => State::BeginDown,
                        _ => {
                            return Err(at(
                                "`-- +goose StatementBegin` outside an Up or Down section or inside another block, which goose refuses",
                            ));
                        }
                    };
                    continue;
                }
                Annotation::StatementEnd => {
                    state = match state {
                        State::BeginUp => State::EndUp,
                        State::BeginDown => State::EndDown,
                        _ => {
                            return Err(at(
                                "`-- +goose StatementEnd` without its `-- +goose StatementBegin`, which goose refuses",
                            ));
                        }
                    };
                }
                Annotation::NoTransaction => {
                    use_tx = false;
                    continue;
                }
                Annotation::EnvsubOn => {
                    return Err(at(
                        "`-- +goose ENVSUB ON` substitutes environment variables when goose runs, but an embedded migration's SQL is fixed when it is built: write the values into the SQL",
                    ));
                }
                Annotation::EnvsubOff => continue,
            }
        }
        if buf.is_empty() && (line.trim().starts_with("--") || line.is_empty()) {
            continue;
        }
        if !matches!(state, State::EndUp | State::EndDown) {
            if buf.is_empty() {
                buf_line = number;
            }
            buf.push_str(line);
            buf.push('\n');
        }
        let target = match state {
            State::Up | State::BeginUp | State::EndUp => &mut up,
            State::Down | State::BeginDown | State::EndDown => &mut down,
            State::Start => {
                return Err(at(
                    "SQL before `-- +goose Up`, which goose refuses: start the file with `-- +goose Up`",
                ));
            }
        };
        match state {
            State::Up | State::Down if ends_with_semicolon(line) => {
                store(target, &buf, buf_line)?;
                buf.clear();
            }
            State::EndUp | State::EndDown => {
                store(target, &buf, buf_line)?;
                buf.clear();
                state = if state == State::EndUp {
                    State::Up
                } else {
                    State::Down
                };
            }
            _ => {}
        }
    }
    match state {
        State::Start => return Err("no `-- +goose Up` line, which goose requires: start the file with `-- +goose Up`".to_owned()),
        State::BeginUp | State::BeginDown => return Err("a `-- +goose StatementBegin` without its `-- +goose StatementEnd`, which goose refuses: add it".to_owned()),
        _ => {}
    }
    if !buf.trim().is_empty() {
        return Err(unfinished(buf_line));
    }
    Ok(Parsed {
        up,
        down: saw_down.then_some(down),
        use_tx,
    })
}

/// goose's error for text after a section's last statement.
fn unfinished(line: usize) -> String {
    format!(
        "line {line}: SQL that no line ending in `;` ends, which goose refuses (\"unexpected unfinished SQL query: missing semicolon?\"): end the statement with `;` at the end of its line"
    )
}

/// Stores a statement (trimmed; an empty one is nothing to run), refusing
/// one goose would end inside a string literal or a block comment.
fn store(target: &mut Vec<String>, buf: &str, line: usize) -> Result<(), String> {
    let statement = buf.trim();
    if statement.is_empty() {
        return Ok(());
    }
    if ends_open(statement) {
        return Err(format!(
            "line {line}: goose ends this statement at a line ending in `;` that is inside a string or a block comment, and would run the part before it alone: wrap the statement in `-- +goose StatementBegin` and `-- +goose StatementEnd`"
        ));
    }
    target.push(statement.to_owned());
    Ok(())
}

/// goose's `extractAnnotation`.
fn annotation(line: &str) -> Result<Annotation, String> {
    if line.starts_with([' ', '\t']) {
        return Err("a goose annotation with leading whitespace, which goose refuses: start the line with `--`".to_owned());
    }
    let command = line.replace("--", "").replacen("+goose", "", 1);
    if command.contains("+goose") {
        return Err("several `+goose` on one line, which goose refuses".to_owned());
    }
    let command = command.trim();
    let known = [
        ("Up", Annotation::Up),
        ("Down", Annotation::Down),
        ("StatementBegin", Annotation::StatementBegin),
        ("StatementEnd", Annotation::StatementEnd),
        ("NO TRANSACTION", Annotation::NoTransaction),
        ("ENVSUB ON", Annotation::EnvsubOn),
        ("ENVSUB OFF", Annotation::EnvsubOff),
    ];
    known
        .iter()
        .find(|(word, _)| word.eq_ignore_ascii_case(command))
        .map(|(_, annotation)| *annotation)
        .ok_or_else(|| format!("`{}` is not a goose annotation (goose knows Up, Down, StatementBegin, StatementEnd, NO TRANSACTION, ENVSUB ON and ENVSUB OFF)", line.trim()))
}

/// goose's `endsWithSemicolon`: the last whitespace-separated word before
/// any word starting with `--` ends with `;`.
fn ends_with_semicolon(line: &str) -> bool {
    let mut previous = "";
    for word in line.split_whitespace() {
        if word.starts_with("--") {
            break;
        }
        previous = word;
    }
    previous.ends_with(';')
}

/// Whether SQL text ends inside a string literal, a quoted identifier or a
/// block comment (SQLite's tokens that can hold a `;`).
fn ends_open(sql: &str) -> bool {
    let bytes = sql.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let close: &[u8] = match (bytes[i], bytes.get(i + 1)) {
            (b'-', Some(b'-')) => b"\n",
            (b'/', Some(b'*')) => b"*/",
            (b'\'', _) => b"'",
            (b'"', _) => b"\"",
            (b'`', _) => b"`",
            (b'[', _) => b"]",
            _ => {
                i += 1;
                continue;
            }
        };
        let from = if close == b"*/" || close == b"\n" {
            i + 2
        } else {
            i + 1
        };
        match bytes[from.min(bytes.len())..]
            .windows(close.len())
            .position(|w| w == close)
        {
            Some(at) => i = from + at + close.len(),
            // A `--` comment may end the text; anything else is open.
            None => return close != b"\n",
        }
    }
    false
}

/// A section's statements as one script, each ended by `;`.
fn join(statements: &[String]) -> String {
    let mut out = String::new();
    for statement in statements {
        out.push_str(statement);
        if !statement.ends_with(';') {
            out.push_str("\n;");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_split_as_goose_splits_them() {
        let text = "-- leading comment\n\n-- +goose Up\n-- +goose NO TRANSACTION\nCREATE TABLE a (x); -- trailing\nINSERT INTO a\n  VALUES (1);\n-- +goose StatementBegin\nCREATE TRIGGER t AFTER INSERT ON a BEGIN\n  SELECT 1;\nEND;\n-- +goose StatementEnd\n-- +goose Down\nDROP TABLE a;\n";
        let parsed = parse(text).unwrap();
        assert_eq!(
            parsed.up,
            [
                "CREATE TABLE a (x); -- trailing",
                "INSERT INTO a\n  VALUES (1);",
                "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  SELECT 1;\nEND;"
            ]
        );
        assert_eq!(parsed.down, Some(vec!["DROP TABLE a;".to_owned()]));
        assert!(!parsed.use_tx);
    }

    #[test]
    fn goose_errors_are_errors() {
        for (text, expected) in [
            ("CREATE TABLE a (x);\n", "SQL before `-- +goose Up`"),
            ("", "no `-- +goose Up`"),
            ("-- +goose Up\nCREATE TABLE a (x)\n", "missing semicolon"),
            (
                "-- +goose Up\nSELECT 1;\n-- +goose Down\nDROP TABLE a\n",
                "missing semicolon",
            ),
            (
                "-- +goose Up\nSELECT 1\n-- +goose Down\n",
                "missing semicolon",
            ),
            (" -- +goose Up\n", "leading whitespace"),
            ("-- +goose Upp\n", "not a goose annotation"),
            (
                "-- +goose Up\n-- +goose StatementBegin\nSELECT 1;\n",
                "without its `-- +goose StatementEnd`",
            ),
            (
                "-- +goose Up\nINSERT INTO a VALUES ('x;\ny');\n",
                "inside a string",
            ),
            (
                "-- +goose ENVSUB ON\n-- +goose Up\nSELECT 1;\n",
                "environment variables",
            ),
            ("-- +goose Up\n-- +goose Up\n", "second `-- +goose Up`"),
        ] {
            let error = parse(text).unwrap_err();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }

    #[test]
    fn sections_without_statements() {
        let parsed = parse("-- +goose Up\n-- +goose Down\n").unwrap();
        assert_eq!((parsed.up.len(), parsed.down), (0, Some(vec![])));
        assert_eq!(parse("-- +goose up\r\nSELECT 1;\r\n").unwrap().down, None);
    }

    #[test]
    fn open_tokens() {
        assert!(ends_open("SELECT 'a;"));
        assert!(ends_open("SELECT 1 /* x;"));
        assert!(!ends_open("SELECT 'a''b'; -- c"));
        assert!(!ends_open("SELECT [a;b];"));
    }
}
