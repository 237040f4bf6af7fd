//! Parsing a set with PostgreSQL's own parser: every statement of every SQL
//! up and down, so that a syntax error is found while the crate builds
//! rather than on the server during a deploy. `embed_migrations!("migrations",
//! engine = "postgres")` does this and turns each problem into a compile
//! error.
//!
//! # What is checked
//!
//! The parser is PostgreSQL 17's: pg_query 6 compiles the server's own
//! grammar (`gram.y`) and scanner from its C source. A file is parsed whole,
//! as the server will receive it, so a statement is whatever PostgreSQL
//! takes for one: `;` inside a string, a comment, a `$$` body or a
//! `BEGIN ATOMIC … END` body does not end it. migrate's `-- migrate:`
//! directive lines are SQL comments to it.
//!
//! It is a syntax check, not a run: names are not looked up (a missing
//! table, an unknown type such as a misspelt `timestamptz` parse fine), the
//! bodies of functions and `DO` blocks are string constants to the parser and
//! are not looked into, and syntax newer than the server's version parses
//! here and fails there. Rust migrations are skipped.
//!
//! # Where an error is
//!
//! A file's first syntax error is its problem (the parser stops there), and
//! every file is checked, so one build reports the error of each file. The
//! line is where the parser stopped — the token it could not accept, or for
//! an incomplete last statement that statement's last token — from the
//! parser's own error cursor; the statement is the one that holds it,
//! bounded by the parser too (the statements before it parse), shortened to
//! one line of at most 80 characters as the SQLite check shows them.

use std::ffi::CString;
use std::fmt;
use std::path::Path;

use pg_query::protobuf::{ScanToken, Token};

use crate::error::location;
use crate::migration::Migrations;
use crate::report::Direction;

/// A script PostgreSQL's parser rejects; see [`parse_script`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based line of the error in the script (see the [module
    /// docs](self#where-an-error-is)).
    pub line: u32,
    /// Byte offset of the error in the script: the start of the token the
    /// parser could not accept, or the script's length when it ended too
    /// early.
    pub offset: usize,
    /// The statement that holds the error, on one line, whitespace
    /// collapsed, at most 80 characters (`…` marks a cut).
    pub statement: String,
    /// PostgreSQL's message: `syntax error at or near "TABEL"`,
    /// `syntax error at end of input`, `unterminated quoted string at or near
    /// "'abc"`, …
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {} (`{}`): {}",
            self.line, self.statement, self.message
        )
    }
}

impl std::error::Error for SyntaxError {}

/// Parses `sql`, one migration file's text, with PostgreSQL's parser and
/// returns how many statements it holds (0 for a file of comments only).
///
/// # Examples
///
/// ```
/// use migrate_core::postgres::parse::parse_script;
///
/// let sql = "CREATE TYPE mood AS ENUM ('ok', 'sad');\n\
///            DO $$ BEGIN RAISE NOTICE 'a ; inside'; END $$;";
/// assert_eq!(parse_script(sql), Ok(2));
///
/// let error = parse_script("CREATE TABLE a (x int);\nCREATE TABEL b (y int);").unwrap_err();
/// assert_eq!(error.line, 2);
/// assert_eq!(error.statement, "CREATE TABEL b (y int);");
/// assert_eq!(error.message, r#"syntax error at or near "TABEL""#);
/// ```
///
/// # Errors
///
/// The first syntax error, located as the [module docs](self#where-an-error-is)
/// say; a NUL byte in `sql` is one too (PostgreSQL takes a query as a C
/// string).
pub fn parse_script(sql: &str) -> Result<usize, SyntaxError> {
    let text = match CString::new(sql) {
        Ok(text) => text,
        Err(error) => {
            let offset = error.nul_position();
            return Err(syntax_error(
                sql,
                offset,
                "a NUL byte, which PostgreSQL does not accept in a query".to_owned(),
            ));
        }
    };
    match ffi::split_with_parser(&text) {
        Ok(statements) => Ok(statements),
        Err((message, cursor)) => {
            // The cursor is 1-based and counts characters (code points: the
            // parser runs in UTF-8); 0 means the error has none, which a
            // syntax error always has.
            let offset = usize::try_from(cursor)
                .ok()
                .and_then(|cursor| cursor.checked_sub(1))
                .map_or(0, |index| {
                    sql.char_indices()
                        .nth(index)
                        .map_or(sql.len(), |(byte, _)| byte)
                });
            Err(syntax_error(sql, offset, message))
        }
    }
}

/// Every problem [`check`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    problems: Vec<ParseProblem>,
}

impl ParseError {
    /// The problems, in version order, an up before its down (at least one).
    pub fn problems(&self) -> &[ParseProblem] {
        &self.problems
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.problems.len();
        write!(
            f,
            "{count} problem{} parsing the migrations with PostgreSQL's parser",
            if count == 1 { "" } else { "s" }
        )?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}

/// A file of the set that does not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseProblem {
    /// The migration's version.
    pub version: u64,
    /// The migration's name.
    pub name: String,
    /// The file that does not parse: the up's, or the `.down.sql`.
    pub file: String,
    /// Up or down.
    pub direction: Direction,
    /// Where and why.
    pub error: SyntaxError,
}

impl fmt::Display for ParseProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.direction {
            Direction::Up => "migration",
            Direction::Down => "the down of migration",
        };
        write!(
            f,
            "{what} {} ({}) does not parse{}: {}",
            self.version,
            self.name,
            location(
                &self.file,
                Some(self.error.line),
                Some(&self.error.statement)
            ),
            self.error.message
        )
    }
}

impl ParseProblem {
    /// The problem as `embed_migrations!` reports it in a compile error:
    /// naming the folder as the user wrote it.
    pub fn in_folder(&self, folder: &Path) -> String {
        format!(
            "parsing `{}` with PostgreSQL's parser: {self}",
            folder.display()
        )
    }
}

/// Parses every SQL up and down of `migrations` with PostgreSQL's parser;
/// see the module docs. Rust migrations are skipped.
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # std::fs::write(dir.path().join("0001_users.up.sql"), "CREATE TABLE users (id bigint);")?;
/// # std::fs::write(dir.path().join("0001_users.down.sql"), "DROP TABEL users;")?;
/// let migrations = migrate_core::Migrations::from_folder(dir.path())?;
/// let error = migrate_core::postgres::parse::check(&migrations).unwrap_err();
/// assert_eq!(
///     error.problems()[0].to_string(),
///     "the down of migration 1 (users) does not parse in `0001_users.down.sql` at line 1 \
///      (`DROP TABEL users;`): syntax error at or near \"TABEL\""
/// );
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// One [`ParseProblem`] for each file that does not parse, all of them.
pub fn check(migrations: &Migrations) -> Result<(), ParseError> {
    let mut problems = Vec::new();
    for migration in migrations.iter() {
        let scripts = [
            (Direction::Up, migration.up_sql()),
            (Direction::Down, migration.down_sql()),
        ];
        for (direction, sql) in scripts {
            let Some(sql) = sql else { continue };
            if let Err(error) = parse_script(sql) {
                problems.push(ParseProblem {
                    version: migration.version(),
                    name: migration.name().to_owned(),
                    file: migration.file_of(direction).to_owned(),
                    direction,
                    error,
                });
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ParseError { problems })
    }
}

/// The error at byte `offset` of `sql`, with its line and statement.
fn syntax_error(sql: &str, offset: usize, message: String) -> SyntaxError {
    let offset = offset.min(sql.len());
    // The tokens before the error scan: the error is at the start of a token
    // (or at the end), and a scanner error is at the start of its token.
    let before: Vec<ScanToken> = pg_query::scan(&sql[..offset])
        .map(|scanned| scanned.tokens)
        .unwrap_or_default()
        .into_iter()
        .filter(|token| !is_comment(token))
        .collect();
    let start = statement_start(sql, &before).unwrap_or(offset);
    // "at end of input": the line of the incomplete statement's last token,
    // not the blank line or comment after it.
    let at = if offset == sql.len() {
        before.last().map_or(offset, |token| byte(token.start))
    } else {
        offset
    };
    let end = statement_end(sql, start, offset);
    SyntaxError {
        line: line_of(sql, at),
        offset,
        statement: one_line(&sql[start..end]),
        message,
    }
}

/// Where the statement holding the error starts: the first token after the
/// last `;` before the error that ends a statement (the text up to it
/// parses), or `None` when no token before the error is in that statement.
///
/// A `;` inside a `BEGIN ATOMIC` body does not end a statement; at most 8 are
/// tried, from the error back, before the nearest `;` is taken, so that a
/// long body costs a few parses, not one per `;`.
fn statement_start(sql: &str, before: &[ScanToken]) -> Option<usize> {
    const TRIES: usize = 8;
    let semicolons: Vec<usize> = before
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, token)| token.token == Token::Ascii59 as i32)
        .map(|(index, _)| index)
        .collect();
    let boundary = semicolons
        .iter()
        .take(TRIES)
        .find(|&&index| pg_query::split_with_parser(&sql[..byte(before[index].end)]).is_ok())
        .or(semicolons.first())
        .map_or(0, |&index| index + 1);
    before.get(boundary).map(|token| byte(token.start))
}

/// Where the statement that starts at `start` ends: after its `;` (from the
/// scanner, so a `;` in a string or a `$$` body does not count), or at the end
/// of the script. Past a scanner error (an unterminated string) the first
/// `;` after the error is taken as it reads: this only bounds what the
/// message shows.
fn statement_end(sql: &str, start: usize, offset: usize) -> usize {
    let rest = &sql[start..];
    match pg_query::scan(rest) {
        Ok(scanned) => scanned
            .tokens
            .iter()
            .find(|token| token.token == Token::Ascii59 as i32)
            .map_or(sql.len(), |token| start + byte(token.end)),
        Err(_) => {
            let from = offset.max(start);
            sql[from..].find(';').map_or(sql.len(), |i| from + i + 1)
        }
    }
}

fn is_comment(token: &ScanToken) -> bool {
    token.token == Token::SqlComment as i32 || token.token == Token::CComment as i32
}

/// A token's byte offset as the scanner gives it (an `i32`, never negative).
fn byte(offset: i32) -> usize {
    usize::try_from(offset).unwrap_or(0)
}

/// 1-based line of a byte offset.
fn line_of(sql: &str, offset: usize) -> u32 {
    let newlines = sql.as_bytes()[..offset.min(sql.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    u32::try_from(newlines + 1).unwrap_or(u32::MAX)
}

/// A statement on one line, whitespace collapsed, at most 80 characters, as
/// the SQLite check shows a statement (`sqlite::script::shorten`, which also
/// cuts at the first `;`: here the parser has bounded the statement).
fn one_line(statement: &str) -> String {
    const MAX: usize = 80;
    let line = statement.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= MAX {
        line
    } else {
        let cut: String = line.chars().take(MAX - 1).collect();
        format!("{cut}…")
    }
}

/// The one call into pg_query's C library (libpg_query, which the `pg_query`
/// crate compiles and links) that its Rust API does not offer with what this
/// module needs: `pg_query::split_with_parser` drops the error's cursor.
mod ffi {
    use std::ffi::{CStr, c_char, c_int};

    // `PgQueryError` and `PgQuerySplitResult` of libpg_query's `pg_query.h`
    // as pg_query 6.2 ships it (the layout has not changed since pg_query 1);
    // the unit tests below check the cursor, so a change of layout fails them.
    #[repr(C)]
    struct PgQueryError {
        message: *mut c_char,
        funcname: *mut c_char,
        filename: *mut c_char,
        lineno: c_int,
        cursorpos: c_int,
        context: *mut c_char,
    }

    #[repr(C)]
    struct PgQuerySplitStmt {
        stmt_location: c_int,
        stmt_len: c_int,
    }

    #[repr(C)]
    struct PgQuerySplitResult {
        stmts: *mut *mut PgQuerySplitStmt,
        n_stmts: c_int,
        stderr_buffer: *mut c_char,
        error: *mut PgQueryError,
    }

    unsafe extern "C" {
        fn pg_query_split_with_parser(input: *const c_char) -> PgQuerySplitResult;
        fn pg_query_free_split_result(result: PgQuerySplitResult);
    }

    /// Parses `sql` with PostgreSQL's parser: the number of statements, or
    /// the error's message and cursor (1-based, in characters; 0 for none).
    pub(super) fn split_with_parser(sql: &CStr) -> Result<usize, (String, i32)> {
        // SAFETY: `sql` is a NUL-terminated string that outlives the call;
        // the result is read before it is freed, once, by its own function.
        unsafe {
            let result = pg_query_split_with_parser(sql.as_ptr());
            let outcome = match result.error.as_ref() {
                None => Ok(usize::try_from(result.n_stmts).unwrap_or(0)),
                Some(error) => {
                    let message = if error.message.is_null() {
                        "PostgreSQL's parser failed without a message".to_owned()
                    } else {
                        CStr::from_ptr(error.message).to_string_lossy().into_owned()
                    };
                    Err((message, error.cursorpos))
                }
            };
            pg_query_free_split_result(result);
            outcome
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(sql: &str) -> SyntaxError {
        parse_script(sql).expect_err("the script should not parse")
    }

    #[test]
    fn accepts_postgresql_only_sql() {
        let sql = r#"
-- migrate:no-transaction
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE people (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    mood mood NOT NULL DEFAULT 'happy',
    seen_at timestamptz NOT NULL DEFAULT now(),
    tags text[] NOT NULL DEFAULT '{}',
    data jsonb
);
CREATE INDEX CONCURRENTLY people_seen ON people USING btree (seen_at DESC);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    NEW.seen_at := now(); -- a ; in a body
    RETURN NEW;
END
$body$;
CREATE FUNCTION add(a int, b int) RETURNS int LANGUAGE sql
BEGIN ATOMIC
    SELECT a + b;
END;
DO $$ BEGIN RAISE NOTICE 'done;'; END $$;
ALTER TYPE mood ADD VALUE IF NOT EXISTS 'ok';
"#;
        assert_eq!(parse_script(sql), Ok(7));
    }

    #[test]
    fn a_file_of_comments_holds_no_statement() {
        assert_eq!(parse_script("-- nothing yet\n/* later */\n"), Ok(0));
    }

    #[test]
    fn names_the_line_of_the_token_the_parser_stopped_at() {
        let sql = "CREATE TABLE a (x int);\n\n-- the next one\nCREATE TABLE b (\n    id bigint,\n    name text NOT NUL\n);\n";
        let error = error(sql);
        assert_eq!(error.line, 6);
        assert_eq!(error.message, r#"syntax error at or near "NUL""#);
        assert_eq!(
            error.statement,
            "CREATE TABLE b ( id bigint, name text NOT NUL );"
        );
        assert_eq!(&sql[error.offset..error.offset + 3], "NUL");
    }

    #[test]
    fn an_error_at_a_statement_s_first_token_shows_that_statement() {
        let error = error("SELECT 1;\nSELEC 2;\nSELECT 3;");
        assert_eq!(error.line, 2);
        assert_eq!(error.statement, "SELEC 2;");
    }

    #[test]
    fn an_incomplete_last_statement_is_named_at_its_last_token() {
        let error = error("CREATE TABLE a (x int);\nCREATE TABLE b (\n    y int\n\n-- end\n");
        assert_eq!(error.message, "syntax error at end of input");
        assert_eq!(error.line, 3);
        assert_eq!(error.statement, "CREATE TABLE b ( y int -- end");
    }

    #[test]
    fn counts_the_cursor_in_characters_not_bytes() {
        let sql = "INSERT INTO t VALUES ('žluťoučký kůň');\nINSERT INTO t VALUES ('é') RETURNIN x;";
        let error = error(sql);
        assert_eq!(error.line, 2);
        assert_eq!(&sql[error.offset..error.offset + 8], "RETURNIN");
        assert_eq!(error.statement, "INSERT INTO t VALUES ('é') RETURNIN x;");
    }

    #[test]
    fn a_semicolon_in_a_string_or_body_does_not_bound_the_statement() {
        let sql = "SELECT 1;\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$ LANGUAG sql;\n";
        let error = error(sql);
        assert_eq!(error.line, 2);
        assert_eq!(
            error.statement,
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$ LANGUAG sql;"
        );
    }

    #[test]
    fn a_semicolon_in_a_begin_atomic_body_does_not_start_the_statement() {
        let sql = "SELECT 1;\nCREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\n  SELECT 2;\n  SELEC 3;\nEND;";
        let error = error(sql);
        assert_eq!(error.line, 6);
        assert!(
            error
                .statement
                .starts_with("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1;"),
            "{}",
            error.statement
        );
    }

    #[test]
    fn an_unterminated_string_is_named_where_it_starts() {
        let sql = "SELECT 1;\nINSERT INTO t VALUES ('abc);\nSELECT 2;\n";
        let error = error(sql);
        assert!(
            error.message.starts_with("unterminated quoted string"),
            "{}",
            error.message
        );
        assert_eq!(error.line, 2);
        // The string runs to the end of the file; the message shows the
        // statement as it reads, up to the first `;` after the error.
        assert_eq!(error.statement, "INSERT INTO t VALUES ('abc);");
    }

    #[test]
    fn a_nul_byte_is_an_error_at_its_line() {
        let error = error("SELECT 1;\nSELECT '\0';");
        assert_eq!(error.line, 2);
        assert!(error.message.contains("NUL"));
    }

    #[test]
    fn shortens_long_statements_to_one_line() {
        let sql = format!("INSERT INTO t\n   VALUES ({}) x;", "1, ".repeat(50) + "1");
        let error = error(&sql);
        assert!(error.statement.starts_with("INSERT INTO t VALUES (1, 1,"));
        assert_eq!(error.statement.chars().count(), 80);
        assert!(error.statement.ends_with('…'));
    }

    #[test]
    fn reports_every_file_up_and_down() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let write = |file: &str, sql: &str| std::fs::write(dir.path().join(file), sql);
        write("0001_users.up.sql", "CREATE TABLE users (id bigint);")?;
        write("0001_users.down.sql", "DROP TABLE users;")?;
        write("0002_posts.up.sql", "CREATE TABLE posts (id bigint,);")?;
        write("0002_posts.down.sql", "DROP TABL posts;")?;
        write("0003_seed.rs", "pub fn up(_: &()) {}\n")?;
        write("0004_ok.sql", "SELECT 1;")?;
        let migrations = Migrations::from_folder(dir.path())?;
        let error = check(&migrations).expect_err("two files do not parse");
        let shown: Vec<String> = error.problems().iter().map(|p| p.to_string()).collect();
        assert_eq!(
            shown,
            [
                r#"migration 2 (posts) does not parse in `0002_posts.up.sql` at line 1 (`CREATE TABLE posts (id bigint,);`): syntax error at or near ")""#,
                r#"the down of migration 2 (posts) does not parse in `0002_posts.down.sql` at line 1 (`DROP TABL posts;`): syntax error at or near "TABL""#,
            ]
        );
        assert_eq!(
            error.problems()[0].in_folder(Path::new("migrations")),
            format!(
                "parsing `migrations` with PostgreSQL's parser: {}",
                shown[0]
            )
        );
        Ok(())
    }
}
