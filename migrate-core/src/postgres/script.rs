//! A migration's SQL split into statements by PostgreSQL's lexical rules, so
//! that each runs on its own (a failure names its statement and line; a
//! `CREATE INDEX CONCURRENTLY` is never part of a multi-statement string,
//! which PostgreSQL runs as one implicit transaction), and the statements
//! that would end the runner's transaction are refused before anything
//! runs.
//!
//! The rules are those of PostgreSQL's scanner (`scan.l`) and of psql's
//! splitting (`psqlscan.l`), from the PostgreSQL 15 documentation, "Lexical
//! Structure" (<https://www.postgresql.org/docs/15/sql-syntax-lexical.html>):
//! `--` and nested `/* */` comments; `'…'` strings with `''` (and, after `E`,
//! backslash escapes); `"…"` identifiers with `""`; `$tag$…$tag$` dollar
//! quotes (a tag is an identifier without `$`, and a `$` right after an
//! identifier character or a digit is part of a name or a parameter, not a
//! quote); `;` ends a statement outside parentheses (a rule's `DO (…; …)`),
//! and outside a SQL-standard body `BEGIN ATOMIC … END` of a `CREATE
//! FUNCTION` or `PROCEDURE`, where `CASE … END` nests.

/// One statement of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Statement<'a> {
    /// Its text, from its first token to its `;` (included, when it has
    /// one), comments inside it kept.
    pub(crate) text: &'a str,
    /// The 1-based line of the file where it starts.
    pub(crate) line: u32,
}

impl Statement<'_> {
    /// The 1-based line of the file at character `position` (1-based, in
    /// characters, as PostgreSQL's error position counts) of the statement.
    pub(crate) fn line_at(&self, position: usize) -> u32 {
        let newlines = self
            .text
            .chars()
            .take(position.saturating_sub(1))
            .filter(|&c| c == '\n')
            .count();
        self.line + u32::try_from(newlines).unwrap_or(u32::MAX - self.line)
    }

    /// The statement's first keywords, upper case, at most `n`.
    fn keywords(&self, n: usize) -> Vec<String> {
        words(self.text)
            .take(n)
            .map(|w| w.to_ascii_uppercase())
            .collect()
    }
}

/// Splits `sql` into its statements, leaving out empty ones (only
/// whitespace and comments).
pub(crate) fn split(sql: &str) -> Vec<Statement<'_>> {
    let bytes = sql.as_bytes();
    let mut statements = Vec::new();
    let mut start: Option<usize> = None;
    let mut parens = 0usize;
    // Inside `BEGIN ATOMIC … END` of a CREATE FUNCTION/PROCEDURE: depth.
    let mut atomic = 0usize;
    let mut i = 0;

    while i < bytes.len() {
        let b = bytes[i];
        // Comments and whitespace do not start a statement.
        if b == b'-' && bytes.get(i + 1) == Some(&b'-') {
            i = sql[i..].find('\n').map_or(bytes.len(), |n| i + n + 1);
            continue;
        }
        if b == b'/' && bytes.get(i + 1) == Some(&b'*') {
            i = skip_block_comment(bytes, i);
            continue;
        }
        if b.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if b == b';' {
            if parens == 0
                && atomic == 0
                && let Some(from) = start.take()
            {
                statements.push(statement(sql, from, i + 1));
            }
            i += 1;
            continue;
        }
        let from = *start.get_or_insert(i);
        match b {
            b'(' => parens += 1,
            b')' => parens = parens.saturating_sub(1),
            _ => {}
        }
        if b == b'\'' {
            let escapes =
                i > 0 && matches!(bytes[i - 1], b'e' | b'E') && (i < 2 || !is_ident(bytes[i - 2]));
            i = skip_quoted(bytes, i, b'\'', escapes);
            continue;
        }
        if b == b'"' {
            i = skip_quoted(bytes, i, b'"', false);
            continue;
        }
        if b == b'$'
            && (i == 0 || !is_ident(bytes[i - 1]))
            && let Some(end) = skip_dollar_quote(sql, i)
        {
            i = end;
            continue;
        }
        if is_ident_start(b) {
            let end = i + bytes[i..].iter().take_while(|&&c| is_ident(c)).count();
            let word = &sql[i..end];
            if word.eq_ignore_ascii_case("BEGIN") || word.eq_ignore_ascii_case("CASE") {
                if atomic > 0
                    || (word.eq_ignore_ascii_case("BEGIN") && starts_atomic(sql, from, end))
                {
                    atomic += 1;
                }
            } else if word.eq_ignore_ascii_case("END") && atomic > 0 {
                atomic -= 1;
            }
            i = end;
            continue;
        }
        i += 1;
    }
    if let Some(from) = start {
        statements.push(statement(sql, from, bytes.len()));
    }
    statements
}

/// The statement of `sql` from byte `from` to `to`.
fn statement(sql: &str, from: usize, to: usize) -> Statement<'_> {
    let line = 1 + sql[..from].bytes().filter(|&b| b == b'\n').count();
    Statement {
        text: sql[from..to].trim_end(),
        line: u32::try_from(line).unwrap_or(u32::MAX),
    }
}

/// Whether the `BEGIN` ending at `end` opens a SQL-standard body: it is
/// followed by `ATOMIC`, in a statement that creates a function or a
/// procedure (psql's rule).
fn starts_atomic(sql: &str, statement: usize, end: usize) -> bool {
    let next = words(&sql[end..]).next();
    if !next.is_some_and(|w| w.eq_ignore_ascii_case("ATOMIC")) {
        return false;
    }
    let head: Vec<String> = words(&sql[statement..end])
        .take(4)
        .map(|w| w.to_ascii_uppercase())
        .collect();
    head.first().is_some_and(|w| w == "CREATE")
        && head.iter().any(|w| w == "FUNCTION" || w == "PROCEDURE")
}

/// The words of `text` outside comments, strings and quoted identifiers.
fn words(text: &str) -> impl Iterator<Item = &str> {
    let bytes = text.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            let b = bytes[i];
            if b == b'-' && bytes.get(i + 1) == Some(&b'-') {
                i = text[i..].find('\n').map_or(bytes.len(), |n| i + n + 1);
            } else if b == b'/' && bytes.get(i + 1) == Some(&b'*') {
                i = skip_block_comment(bytes, i);
            } else if b == b'\'' {
                i = skip_quoted(bytes, i, b'\'', false);
            } else if b == b'"' {
                i = skip_quoted(bytes, i, b'"', false);
            } else if is_ident_start(b) {
                let end = i + bytes[i..].iter().take_while(|&&c| is_ident(c)).count();
                let word = &text[i..end];
                i = end;
                return Some(word);
            } else {
                i += 1;
            }
        }
        None
    })
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit() || b == b'$'
}

/// The end of the `/* */` comment at `i` (nested, as PostgreSQL's are).
fn skip_block_comment(bytes: &[u8], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < bytes.len() {
        if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// The end of the quoted text at `i` (`quote` doubled inside it is the
/// character itself; with `escapes`, a backslash escapes the next one).
fn skip_quoted(bytes: &[u8], mut i: usize, quote: u8, escapes: bool) -> usize {
    i += 1;
    while i < bytes.len() {
        if escapes && bytes[i] == b'\\' {
            i += 2;
        } else if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
            } else {
                return i + 1;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// The end of the dollar-quoted text at `i`, or `None` when the `$` does
/// not open one (a parameter `$1`, or no closing `$`).
fn skip_dollar_quote(sql: &str, i: usize) -> Option<usize> {
    let rest = &sql[i + 1..];
    let tag_len = rest
        .bytes()
        .take_while(|&b| b != b'$' && is_ident(b))
        .count();
    if rest.as_bytes().get(tag_len) != Some(&b'$') {
        return None;
    }
    if rest.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let delimiter = &sql[i..i + tag_len + 2];
    let body = i + delimiter.len();
    Some(
        sql[body..]
            .find(delimiter)
            .map_or(sql.len(), |n| body + n + delimiter.len()),
    )
}

/// Why a statement may not run in a migration: it would begin or end the
/// runner's transaction. `None` for every other statement.
pub(crate) fn refused(statement: &Statement<'_>) -> Option<&'static str> {
    let words = statement.keywords(2);
    let first = words.first().map(String::as_str);
    let second = words.get(1).map(String::as_str);
    match (first, second) {
        (Some("BEGIN" | "START"), _) => Some("it would begin a transaction inside the runner's"),
        (Some("COMMIT" | "END"), _) => Some("it would commit the runner's transaction"),
        // `ROLLBACK TO [SAVEPOINT] x` undoes to the migration's own savepoint.
        (Some("ROLLBACK" | "ABORT"), second) if second != Some("TO") => {
            Some("it would roll back the runner's transaction")
        }
        (Some("PREPARE"), Some("TRANSACTION")) => {
            Some("it would end the runner's transaction (a two-phase commit)")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<&str> {
        split(sql).into_iter().map(|s| s.text).collect()
    }

    #[test]
    fn statements_end_at_semicolons_outside_quotes_and_comments() {
        let sql = "CREATE TABLE a (x text DEFAULT 'a;b');\n-- c;\nINSERT INTO a VALUES (E'it\\'s;');\n/* x; /* nested; */ y; */ SELECT \"we;ird\" FROM a;";
        assert_eq!(
            texts(sql),
            [
                "CREATE TABLE a (x text DEFAULT 'a;b');",
                "INSERT INTO a VALUES (E'it\\'s;');",
                "SELECT \"we;ird\" FROM a;",
            ]
        );
        assert_eq!(split(sql)[1].line, 3);
    }

    #[test]
    fn dollar_quotes_keep_their_semicolons_and_parameters_are_not_quotes() {
        let sql = "CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END; $body$ LANGUAGE plpgsql;\nDO $$ BEGIN PERFORM 1; END $$;\nPREPARE p AS SELECT $1; SELECT a$b$ FROM t;";
        assert_eq!(
            texts(sql),
            [
                "CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END; $body$ LANGUAGE plpgsql;",
                "DO $$ BEGIN PERFORM 1; END $$;",
                "PREPARE p AS SELECT $1;",
                "SELECT a$b$ FROM t;",
            ]
        );
    }

    #[test]
    fn a_standard_sql_body_and_a_rule_keep_their_semicolons() {
        let sql = "CREATE FUNCTION g(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN a > 0 THEN 1 ELSE 0 END; SELECT 2; END;\nCREATE RULE r AS ON INSERT TO t DO ALSO (NOTIFY a; NOTIFY b);\nSELECT 1";
        assert_eq!(
            texts(sql),
            [
                "CREATE FUNCTION g(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN a > 0 THEN 1 ELSE 0 END; SELECT 2; END;",
                "CREATE RULE r AS ON INSERT TO t DO ALSO (NOTIFY a; NOTIFY b);",
                "SELECT 1",
            ]
        );
    }

    #[test]
    fn comment_only_text_has_no_statement_and_lines_count_from_the_file() {
        assert!(split("-- nothing\n/* here */\n;\n").is_empty());
        let statements = split("\n\n  SELECT\n  1;");
        assert_eq!(statements[0].line, 3);
        assert_eq!(statements[0].line_at(9), 4);
    }

    #[test]
    fn transaction_control_is_refused_but_a_savepoint_rollback_is_not() {
        let refusals: Vec<bool> = split(
            "BEGIN; start transaction; COMMIT; end; ROLLBACK; abort; PREPARE TRANSACTION 'x'; ROLLBACK TO SAVEPOINT s; SAVEPOINT s; PREPARE q AS SELECT 1; SELECT 1",
        )
        .iter()
        .map(|s| refused(s).is_some())
        .collect();
        assert_eq!(
            refusals,
            [
                true, true, true, true, true, true, true, false, false, false, false
            ]
        );
    }
}
