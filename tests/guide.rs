//! The guide (`docs/`) quotes what `migrate` says: the runtime's errors in
//! `docs/running.md`, the compile errors in `docs/build-time-checks.md`.
//! These tests produce each quoted error and find it, word for word, on its
//! page; the pages' Rust examples are doctests (`src/lib.rs`, `guide`).

mod common;

use std::fs;
use std::path::Path;

use common::Folder;
use migrate::{Error, Migrations};
use rusqlite::Connection;

/// A page of the guide.
fn page(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `message` with every checksum's hex digits shown as `…`, as the guide
/// writes them (`sha256:…`).
fn elide_checksums(message: &str) -> String {
    let mut out = String::new();
    let mut rest = message;
    while let Some(at) = rest.find("sha256:") {
        let (before, after) = rest.split_at(at + "sha256:".len());
        out.push_str(before);
        let hex = after
            .find(|c: char| !c.is_ascii_hexdigit())
            .unwrap_or(after.len());
        assert_eq!(hex, 64, "a SHA-256 checksum in {message:?}");
        out.push('…');
        rest = &after[hex..];
    }
    out.push_str(rest);
    out
}

fn assert_quoted(page_name: &str, message: &str) {
    let text = page(page_name);
    assert!(
        text.contains(message),
        "docs/{page_name} does not quote the message as `migrate` writes it:\n{message}"
    );
}

/// The problem a run refuses with.
fn refusal(migrations: &Migrations, conn: &mut Connection) -> String {
    match migrations.run(conn) {
        Err(Error::Verification(problem)) => problem.to_string(),
        other => panic!("expected a verification problem, got {other:?}"),
    }
}

#[test]
fn running_quotes_a_failed_migration_as_a_run_reports_it() {
    let folder = Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
        ),
        (
            "0002_accounts.sql",
            "CREATE TABLE accounts (id INTEGER PRIMARY KEY);\n\
             -- the opening balances, from a table\n\
             -- that was never created:\n\
             INSERT INTO nowhere VALUES (1);\n",
        ),
    ]);
    let mut conn = Connection::open_in_memory().unwrap();
    let error = folder.migrations().run(&mut conn).unwrap_err();
    assert!(matches!(error, Error::MigrationFailed { .. }), "{error:?}");
    assert_quoted("running.md", &error.to_string());
}

#[test]
fn running_quotes_a_divergent_migration_as_a_run_reports_it() {
    let folder = Folder::new(&[(
        "0001_users.sql",
        "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
    )]);
    let mut conn = Connection::open_in_memory().unwrap();
    folder.migrations().run(&mut conn).unwrap();
    folder.write(
        "0001_users.sql",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);\n",
    );
    let problem = refusal(&folder.migrations(), &mut conn);
    assert_quoted("running.md", &elide_checksums(&problem));
}

#[test]
fn running_quotes_a_reused_version_as_a_run_reports_it() {
    // After a merge: add_phone was applied as version 2, then renumbered to
    // 3 because the other side's add_avatar took 2.
    let folder = Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
        ),
        (
            "0002_add_phone.sql",
            "ALTER TABLE users ADD COLUMN phone TEXT;\n",
        ),
    ]);
    let mut conn = Connection::open_in_memory().unwrap();
    folder.migrations().run(&mut conn).unwrap();
    folder.rename("0002_add_phone.sql", "0003_add_phone.sql");
    folder.write(
        "0002_add_avatar.sql",
        "ALTER TABLE users ADD COLUMN avatar TEXT;\n",
    );
    let problem = refusal(&folder.migrations(), &mut conn);
    assert_quoted("running.md", &problem);
}

/// The page's ```text blocks, each as its lines.
fn text_blocks(text: &str) -> Vec<Vec<&str>> {
    let mut blocks = Vec::new();
    let mut block: Option<Vec<&str>> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            match block.take() {
                Some(lines) => blocks.push(lines),
                None if trimmed == "```text" => block = Some(Vec::new()),
                None => {}
            }
        } else if let Some(lines) = &mut block {
            lines.push(line);
        }
    }
    blocks
}

/// `line` of a `tests/ui/*.stderr` snapshot with its fixture folder
/// (`fixtures/verify_sql_error`) named `migrations`, as in the guide.
fn as_in_the_guide(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find("fixtures/") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "fixtures/".len()..];
        let end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        out.push_str("migrations");
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[test]
fn build_time_checks_quote_the_folder_error_as_the_grammar_writes_it() {
    // The first block: the duplicate version of a folder `migrations`, as
    // `embed_migrations!("migrations")` in `src/main.rs` reports it.
    let text = page("build-time-checks.md");
    let blocks = text_blocks(&text);
    let [error, span, _, source, carets] = blocks[0][..] else {
        panic!("the first text block: {:#?}", blocks[0]);
    };

    let folder = Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
        ),
        (
            "0002_add_email.sql",
            "ALTER TABLE users ADD COLUMN email TEXT;\n",
        ),
        (
            "0002_add_phone.sql",
            "ALTER TABLE users ADD COLUMN phone TEXT;\n",
        ),
    ]);
    let Err(problems) = Migrations::read_folder(folder.path(), Path::new("migrations")) else {
        panic!("a duplicate version is an error");
    };
    assert_eq!(error, format!("error: {problems}"));

    // The span points at the path literal, as rustc shows it; both gutters,
    // `1 | ` and `  | `, are four characters wide.
    let literal = "\"migrations\"";
    let column = source.find(literal).unwrap() - 4 + 1;
    assert_eq!(span, format!(" --> src/main.rs:1:{column}"));
    assert_eq!(
        carets.find('^').unwrap() - 4 + 1,
        column,
        "the carets' column"
    );
    assert_eq!(
        carets.matches('^').count(),
        literal.len(),
        "the carets' width"
    );
}

#[test]
fn build_time_checks_quote_the_check_errors_of_the_compile_error_snapshots() {
    // The SQLite check's cases, the PostgreSQL parse's, and the full
    // check's on a server.
    let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrate-tests/tests/ui");
    let snapshots: Vec<String> = [ui.clone(), ui.join("postgres"), ui.join("postgres_verify")]
        .iter()
        .flat_map(|dir| fs::read_dir(dir).unwrap())
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "stderr"))
        .flat_map(|path| {
            let text = fs::read_to_string(path).unwrap();
            text.lines().map(as_in_the_guide).collect::<Vec<_>>()
        })
        .collect();
    let text = page("build-time-checks.md");
    let blocks = text_blocks(&text);
    let errors: Vec<&str> = blocks[1..]
        .iter()
        .flatten()
        .map(|line| line.trim_start())
        .filter(|line| line.starts_with("error:"))
        .collect();
    assert_eq!(
        errors.len(),
        6,
        "the page's quoted check errors: {errors:#?}"
    );
    for error in errors {
        assert!(
            snapshots.iter().any(|line| line == error),
            "docs/build-time-checks.md quotes an error no tests/ui/*.stderr snapshot has:\n{error}"
        );
    }
}

#[test]
fn coming_from_another_tool_is_right_that_drift_names_the_other_tools_table() {
    // The page says the other tool's tracking table is left alone, and that
    // `check_schema` then names it.
    const GUIDE: Migrations = migrate::embed_migrations!("docs/migrations");
    let mut conn = Connection::open_in_memory().unwrap();
    conn.execute_batch("CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY);")
        .unwrap();
    GUIDE.run(&mut conn).unwrap();
    let drift: Vec<String> = GUIDE
        .check_schema(&mut conn)
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        drift,
        ["table `_sqlx_migrations` is not created by any migration"]
    );
    assert_quoted(
        "coming-from-another-tool.md",
        "table `_sqlx_migrations` is not created by any migration",
    );
}

/// The anchors of a Markdown file: its headings as GitHub makes them
/// (`## Schema drift` -> `schema-drift`) and its `<a id="…">` tags.
fn anchors(text: &str) -> Vec<String> {
    let mut anchors = Vec::new();
    for line in prose_lines(text) {
        if line.starts_with('#') {
            let title = line.trim_start_matches('#').trim().to_lowercase();
            let slug = title.chars().filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                _ => None,
            });
            anchors.push(slug.collect());
        }
        let mut rest = line;
        while let Some(at) = rest.find("<a id=\"") {
            let after = &rest[at + "<a id=\"".len()..];
            let end = after.find('"').expect("a closing quote");
            anchors.push(after[..end].to_owned());
            rest = &after[end..];
        }
    }
    anchors
}

/// The lines of a Markdown file outside fenced code blocks.
fn prose_lines(text: &str) -> Vec<&str> {
    let mut fenced = false;
    let mut lines = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced {
            lines.push(line);
        }
    }
    lines
}

/// `line` without its code spans (`` `…` `` or ``` ``…`` ```).
fn without_code_spans(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find('`') {
        out.push_str(&rest[..at]);
        let ticks = rest[at..].len() - rest[at..].trim_start_matches('`').len();
        let fence = &rest[at..at + ticks];
        let after = &rest[at + ticks..];
        rest = match after.find(fence) {
            Some(end) => &after[end + ticks..],
            None => after,
        };
    }
    out.push_str(rest);
    out
}

/// The targets of a Markdown file's inline links, outside code.
fn link_targets(text: &str) -> Vec<String> {
    let mut targets = Vec::new();
    for line in prose_lines(text) {
        let prose = without_code_spans(line);
        let mut rest = prose.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let end = after.find(')').expect("a link's closing parenthesis");
            targets.push(after[..end].to_owned());
            rest = &after[end..];
        }
    }
    targets
}

#[test]
fn every_relative_link_of_the_readme_and_the_guide_resolves() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    let mut folders = vec![root.join("docs")];
    while let Some(folder) = folders.pop() {
        for entry in fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|ext| ext == "md") {
                files.push(path);
            }
        }
    }
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in &files {
        let text = fs::read_to_string(file).unwrap();
        for target in link_targets(&text) {
            if target.starts_with("https://") || target.starts_with("http://") {
                continue;
            }
            checked += 1;
            let (path, anchor) = target.split_once('#').unwrap_or((&target, ""));
            let linked = if path.is_empty() {
                file.clone()
            } else {
                file.parent().unwrap().join(path)
            };
            let resolves = linked.exists()
                && (anchor.is_empty()
                    || fs::read_to_string(&linked)
                        .is_ok_and(|text| anchors(&text).iter().any(|a| a == anchor)));
            if !resolves {
                broken.push(format!(
                    "{}: {target}",
                    file.strip_prefix(root).unwrap().display()
                ));
            }
        }
    }
    assert!(checked > 40, "only {checked} relative links found");
    assert!(
        broken.is_empty(),
        "links that do not resolve:\n{}",
        broken.join("\n")
    );
}
