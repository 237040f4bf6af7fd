//! One handler per subcommand. Each prints text (or JSON with `--json`),
//! logs what it changed to `--log-file`, and returns an error that names the
//! database, folder or file.
//!
//! The JSON is the reports' own serialization (migrate-core's feature
//! `serde`), inside the small structs at the end of this file where a
//! command's report adds the database, the current version or an error.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anstyle::Style;
use anyhow::{Context, Result, anyhow};
use migrate_core::sqlite::{VerifyOptions, verify_with};
use migrate_core::{
    AppliedMigration, Checksum, Direction, DirtyMigration, DryRunOutcome, DryRunStep, Error, Event,
    FailedMigration, Migrations, PendingMigration, Problem, Repair, RolledBackMigration, Runner,
    SchemaObject, Status,
};
use serde::Serialize;
use serde_json::Value;

use unicode_width::UnicodeWidthStr;

use crate::args::{
    AdoptArgs, BaselineArgs, DownArgs, NewArgs, RepairArgs, SchemaArgs, StatusArgs, UpArgs,
    ValidateArgs,
};
use crate::connection::Connection;
use crate::exit::NotUpToDate;
use crate::output::{self, DIM, ERROR, GOOD, HEADER, Table, WAITING, cell, plain};
use crate::run::Session;
use crate::settings::{Settings, SqliteSettings};

/// `new`: the next migration's file(s) from a template.
pub(crate) fn new(
    dir: &Path,
    args: &NewArgs,
    options: &Settings,
    out: &mut dyn Write,
) -> Result<()> {
    let files = crate::new::create(dir, &args.name, args.reversible)?;
    if options.json {
        let created = files.iter().map(|f| f.display().to_string()).collect();
        return print_json(out, &Created { created });
    }
    for file in files {
        writeln!(out, "{GOOD}created{GOOD:#} {}", file.display())?;
    }
    Ok(())
}

/// `validate`: every folder check, then (unless `--no-verify`) the SQL check
/// of `embed_migrations!`, with the stand-ins `--function` and
/// `--collation` name, and `sqlite`'s extensions and foreign keys on each of
/// its databases; the error lists every problem, in the macro's words, or
/// names the extension that did not load.
pub(crate) fn validate(
    dir: &Path,
    read: &migrate_core::formats::ReadOptions,
    args: &ValidateArgs,
    sqlite: &SqliteSettings,
    options: &Settings,
    out: &mut dyn Write,
) -> Result<()> {
    let folder = dir.display().to_string();
    let invalid = |out: &mut dyn Write, problems: Vec<String>| -> Result<()> {
        if options.json {
            print_json(
                out,
                &Invalid {
                    folder: &folder,
                    valid: false,
                    problems,
                },
            )?;
        }
        Ok(())
    };
    let set = match Migrations::read_folder_as(dir, dir, read) {
        Ok(set) => set,
        Err(error) => {
            invalid(
                out,
                error.problems().iter().map(|p| p.to_string()).collect(),
            )?;
            return Err(crate::run::with_suggestion(error, dir, read));
        }
    };
    if let Some(url) = &args.postgres {
        return validate_on_postgres(dir, url, &set, options, out);
    }
    let mut check = VerifyOptions::new().foreign_keys(sqlite.foreign_keys_on());
    for name in &args.function {
        check = check.stand_in_function(name.as_str());
    }
    for name in &args.collation {
        check = check.stand_in_collation(name.as_str());
    }
    // Loaded into each in-memory database the check opens. An extension
    // that does not load fails the command naming its path, not as one
    // of the check's problems.
    let failed_to_load = std::cell::RefCell::new(None);
    let setup = |conn: &migrate_core::sqlite::Connection| {
        crate::database::load_extensions(conn, &sqlite.extensions).map_err(|error| {
            let message = format!("{error:#}");
            failed_to_load.replace(Some(error));
            migrate_core::sqlite::rusqlite::Error::UserFunctionError(message.into())
        })
    };
    check = check.setup(&setup);
    if !args.no_verify
        && let Err(error) = verify_with(&set, &check)
    {
        if let Some(error) = failed_to_load.take() {
            return Err(error.context(format!("checking `{folder}`")));
        }
        let problems: Vec<String> = error.problems().iter().map(|p| p.in_folder(dir)).collect();
        invalid(out, problems.clone())?;
        return Err(CheckFailed {
            folder: dir.to_owned(),
            problems,
        }
        .into());
    }
    print_valid(dir, &set, options, out)
}

/// `validate --postgres URL`: the full PostgreSQL check of `set` in a
/// throwaway database on that server; the error lists every problem, in
/// the macro's words, naming the server (without its password). The
/// SQLite settings (extensions, foreign keys) do not apply.
fn validate_on_postgres(
    dir: &Path,
    url: &str,
    set: &Migrations,
    options: &Settings,
    out: &mut dyn Write,
) -> Result<()> {
    let server = migrate_core::postgres::verify::shown_url(url);
    if let Err(error) = migrate_core::postgres::verify::verify(url, set) {
        let problems: Vec<String> = error
            .problems()
            .iter()
            .map(|p| {
                format!(
                    "checking `{}` in a throwaway database on the PostgreSQL server {server} (`--postgres`): {p}",
                    dir.display()
                )
            })
            .collect();
        if options.json {
            print_json(
                out,
                &Invalid {
                    folder: &dir.display().to_string(),
                    valid: false,
                    problems: problems.clone(),
                },
            )?;
        }
        return Err(CheckFailed {
            folder: dir.to_owned(),
            problems,
        }
        .into());
    }
    print_valid(dir, set, options, out)
}

/// `validate`'s report of a valid folder.
fn print_valid(
    dir: &Path,
    set: &Migrations,
    options: &Settings,
    out: &mut dyn Write,
) -> Result<()> {
    let folder = dir.display().to_string();
    if options.json {
        let migrations = set
            .iter()
            .map(|m| ValidMigration {
                version: m.version(),
                name: m.name(),
                file: m.file(),
                kind: match m.kind() {
                    migrate_core::MigrationKind::Sql => "sql",
                    migrate_core::MigrationKind::Rust => "rust",
                },
                down_file: m.down_file(),
                no_transaction: m.up_no_transaction(),
                checksum: m.checksum(),
            })
            .collect();
        return print_json(
            out,
            &Valid {
                folder: &folder,
                valid: true,
                migrations,
            },
        );
    }
    let first = set.iter().next().map_or(0, |m| m.version());
    let reversible = set.iter().filter(|m| m.is_reversible()).count();
    let rust = set
        .iter()
        .filter(|m| m.kind() == migrate_core::MigrationKind::Rust)
        .count();
    writeln!(
        out,
        "{GOOD}valid{GOOD:#}: `{}` has {} ({first} to {}), {reversible} reversible, {rust} in Rust",
        dir.display(),
        count(set.len(), "migration"),
        set.latest_version().unwrap_or(0),
    )?;
    Ok(())
}

/// `up`: with `--dry-run` a rehearsal; with `--grouped` one transaction;
/// each migration printed as soon as it is committed (all at once when
/// grouped), with "n of N" and the running total.
pub(crate) fn up<D: Connection>(s: &mut Session<D>, args: &UpArgs) -> Result<()> {
    let mut runner = s.runner().allow_out_of_order(args.allow_out_of_order);
    if let Some(to) = args.to {
        runner = runner.target(to);
    }
    if args.dry_run {
        return dry_run(s, &runner);
    }
    let lines = Lines::new(s.migrations);
    let mut applied = Vec::new();
    let result = apply_each(
        s,
        &runner.clone().grouped(args.grouped),
        &lines,
        &mut applied,
    );
    let result =
        logged(s, "up", result).with_context(|| format!("applying migrations to `{}`", s.database));
    let error = result.as_ref().err().map(|error| s.message(error));
    let current = match &result {
        Ok(()) => current_version(s, &runner)?,
        // What the migrations applied before the failure left: the failure
        // is the error to report, not a second one reading the status.
        Err(_) => current_version(s, &runner).unwrap_or(None),
    };
    if s.options.json {
        print_json(
            s.out,
            &Applied {
                database: &s.database,
                applied: &applied,
                current_version: current,
                error,
            },
        )?;
    } else if result.is_ok() {
        let at = at_version(current);
        if applied.is_empty() {
            writeln!(
                s.out,
                "`{}` is up to date{at}: nothing to apply",
                s.database
            )?;
        } else {
            let total = applied.iter().map(|m| m.duration).sum();
            writeln!(
                s.out,
                "{GOOD}applied{GOOD:#} {} to `{}` in {}{at}",
                count(applied.len(), "migration"),
                s.database,
                output::duration(total)
            )?;
        }
    }
    result
}

/// One run, each migration printed and logged as soon as it is committed
/// (the runner's progress callback).
fn apply_each<D: Connection>(
    s: &mut Session<D>,
    runner: &Runner,
    lines: &Lines,
    applied: &mut Vec<AppliedMigration>,
) -> Result<()> {
    // Printing or logging fails only on an I/O error: keep the first, and
    // report it once the run has ended.
    let mut shown = Ok(());
    let Session {
        conn,
        options,
        log,
        out,
        ..
    } = s;
    let report = runner.run_with_progress(*conn, |step| {
        if shown.is_ok() {
            let step_of = Step {
                number: step.number,
                total: step.total,
                elapsed: step.elapsed,
            };
            shown = show_applied(
                *out,
                log,
                options.json,
                lines,
                step.applied.clone(),
                Some(step_of),
                applied,
            );
        }
    });
    report?;
    shown
}

/// Where a migration `up` just applied stands in the run: "n of N" and the
/// time since the run began applying (the runner's [`Progress`](migrate_core::Progress)).
struct Step {
    number: usize,
    total: usize,
    elapsed: Duration,
}

/// Prints (unless `--json`) and logs a migration just applied, and keeps it
/// for the report; on the parts of a session it uses, so that it can run
/// while the connection is lent to the runner.
fn show_applied(
    out: &mut dyn Write,
    log: &mut crate::log::Log,
    json: bool,
    lines: &Lines,
    migration: AppliedMigration,
    step: Option<Step>,
    applied: &mut Vec<AppliedMigration>,
) -> Result<()> {
    if !json {
        lines.applied(out, &migration, step.as_ref())?;
    }
    log.event("applied", to_value(&migration)?)?;
    applied.push(migration);
    Ok(())
}

/// `up --dry-run`: what a run would do, then everything rolled back.
fn dry_run<D: Connection>(s: &mut Session<D>, runner: &Runner) -> Result<()> {
    let report = runner
        .dry_run(s.conn)
        .with_context(|| format!("dry run on `{}`", s.database))?;
    if s.options.json {
        print_json(
            s.out,
            &DryRun {
                database: &s.database,
                dry_run: true,
                steps: &report.steps,
            },
        )?;
    } else {
        let lines = Lines::new(s.migrations);
        for step in &report.steps {
            let (verb, style, detail) = match &step.outcome {
                DryRunOutcome::Ok(duration) => ("would apply", GOOD, output::duration(*duration)),
                DryRunOutcome::Failed(_) => ("would fail", ERROR, String::new()),
                _ => (
                    "not tried",
                    WAITING,
                    "runs outside a transaction".to_owned(),
                ),
            };
            lines.line(s.out, verb, style, step.version, &step.name, &detail)?;
        }
        if report.steps.is_empty() {
            writeln!(
                s.out,
                "dry run: `{}` is up to date: nothing to apply",
                s.database
            )?;
        } else {
            writeln!(
                s.out,
                "dry run: {} tried, then rolled back; `{}` is unchanged",
                count(report.steps.len(), "migration"),
                s.database
            )?;
        }
    }
    let failure = report
        .steps
        .into_iter()
        .find_map(|step| match step.outcome {
            DryRunOutcome::Failed(error) => Some(error),
            _ => None,
        });
    match failure {
        Some(error) => Err(anyhow!(error).context(format!(
            "dry run on `{}`: a real run would fail",
            s.database
        ))),
        None => Ok(()),
    }
}

/// `down`: the last N applied migrations, or everything above `--to`.
pub(crate) fn down<D: Connection>(s: &mut Session<D>, args: &DownArgs) -> Result<()> {
    let runner = s.runner();
    let result = match args.to {
        Some(to) if to != 0 && s.migrations.get(to).is_none() => Err(Error::UnknownVersion(to)),
        Some(to) => runner.rollback_to(s.conn, to),
        None => runner.rollback(s.conn, args.count),
    };
    let result = logged(s, "down", result);
    let report = result.with_context(|| format!("rolling back migrations of `{}`", s.database))?;
    for migration in &report.rolled_back {
        s.log.event("rolled_back", to_value(migration)?)?;
    }
    let current = current_version(s, &runner)?;
    if s.options.json {
        return print_json(
            s.out,
            &RolledBack {
                database: &s.database,
                rolled_back: &report.rolled_back,
                current_version: current,
            },
        );
    }
    let lines = Lines::new(s.migrations);
    for migration in &report.rolled_back {
        lines.rolled_back(s.out, migration)?;
    }
    let at = at_version(current);
    if report.rolled_back.is_empty() {
        writeln!(s.out, "nothing to roll back in `{}`{at}", s.database)?;
    } else {
        writeln!(
            s.out,
            "{GOOD}rolled back{GOOD:#} {} of `{}`{at}",
            count(report.rolled_back.len(), "migration"),
            s.database
        )?;
    }
    Ok(())
}

/// `redo`: the latest applied migration's down, then its up.
pub(crate) fn redo<D: Connection>(s: &mut Session<D>) -> Result<()> {
    let runner = s.runner();
    let result = runner.redo(s.conn);
    let result = logged(s, "redo", result);
    let report =
        result.with_context(|| format!("redoing the latest migration of `{}`", s.database))?;
    if let Some(report) = &report {
        s.log.event("rolled_back", to_value(&report.rolled_back)?)?;
        for migration in &report.applied {
            s.log.event("applied", to_value(migration)?)?;
        }
    }
    if s.options.json {
        return print_json(
            s.out,
            &Redone {
                database: &s.database,
                rolled_back: report.iter().map(|r| &r.rolled_back).collect(),
                applied: report.as_ref().map_or(&[], |r| &r.applied),
            },
        );
    }
    let Some(report) = report else {
        writeln!(
            s.out,
            "nothing is applied to `{}`: nothing to redo",
            s.database
        )?;
        return Ok(());
    };
    let lines = Lines::new(s.migrations);
    lines.rolled_back(s.out, &report.rolled_back)?;
    for migration in &report.applied {
        lines.applied(s.out, migration, None)?;
    }
    Ok(())
}

/// `status`: one row per version, then every problem in full; with
/// `--exit-code`, an error when the database is not up to date (see
/// [`up_to_date`]).
pub(crate) fn status<D: Connection>(s: &mut Session<D>, args: &StatusArgs) -> Result<()> {
    let status = read_status(s)?;
    if s.options.json {
        print_status_json(s, &status)?;
    } else {
        print_status(s, &status)?;
    }
    if args.exit_code {
        up_to_date(s, &status)?;
    }
    Ok(())
}

/// `check`: what is pending or wrong, one line each; an error when the
/// database is not up to date (see [`up_to_date`]).
pub(crate) fn check<D: Connection>(s: &mut Session<D>) -> Result<()> {
    let status = read_status(s)?;
    if s.options.json {
        print_status_json(s, &status)?;
        return up_to_date(s, &status);
    }
    let lines = Lines::new(s.migrations);
    for m in &status.pending {
        lines.line(s.out, "pending", WAITING, m.version, &m.name, "")?;
    }
    for detail in status_details(s, &status) {
        writeln!(s.out, "{ERROR}-{ERROR:#} {detail}")?;
    }
    if status.is_up_to_date() && status.failed.is_empty() {
        writeln!(
            s.out,
            "{GOOD}up to date{GOOD:#}: `{}`{}",
            s.database,
            at_version(status.current_version)
        )?;
    }
    up_to_date(s, &status)
}

/// The status, naming the database if it cannot be read.
fn read_status<D: Connection>(s: &mut Session<D>) -> Result<Status> {
    s.runner()
        .status(s.conn)
        .with_context(|| format!("reading the status of `{}`", s.database))
}

/// `status --json`, in the session's words.
fn print_status_json<D: Connection>(s: &mut Session<D>, status: &Status) -> Result<()> {
    let mut value = to_value(&StatusReport::new(&s.database, status)?)?;
    s.wording.apply_json(&mut value);
    Ok(output::json(s.out, &value)?)
}

/// Ok when nothing is pending, dirty, failed or disagrees; otherwise
/// [`NotUpToDate`], whose exit code says which.
fn up_to_date<D: Connection>(s: &Session<D>, status: &Status) -> Result<()> {
    let outdated = NotUpToDate {
        database: s.database.clone(),
        pending: status.pending.len(),
        dirty: status.dirty.len(),
        failed: status.failed.len(),
        problems: status.problems.len(),
    };
    if outdated.pending + outdated.dirty + outdated.failed + outdated.problems == 0 {
        Ok(())
    } else {
        Err(outdated.into())
    }
}

/// Every problem, failed attempt and dirty mark in full, in the session's
/// words.
fn status_details<D: Connection>(s: &Session<D>, status: &Status) -> Vec<String> {
    status
        .problems
        .iter()
        .map(|p| p.to_string())
        .chain(status.failed.iter().map(|m| m.error.clone()))
        .chain(status.dirty.iter().map(|m| {
            Error::Dirty {
                version: m.version,
                name: m.name.clone(),
                direction: m.direction,
                error: m.error.clone(),
            }
            .to_string()
        }))
        .map(|detail| s.wording.apply(&detail).into_owned())
        .collect()
}

/// `status` as text: the database, the current version and a summary; one
/// row per version; then every problem in full.
fn print_status<D: Connection>(s: &mut Session<D>, status: &Status) -> Result<()> {
    let problems = status.problems.len();
    writeln!(s.out, "{HEADER}database{HEADER:#}  {}", s.database)?;
    writeln!(
        s.out,
        "{HEADER}current{HEADER:#}   {}",
        status
            .current_version
            .map_or("none applied".to_owned(), |v| format!("version {v}"))
    )?;
    writeln!(
        s.out,
        "{HEADER}summary{HEADER:#}   {} applied, {} pending, {} failed, {} dirty, {}",
        status.applied.len(),
        status.pending.len(),
        status.failed.len(),
        status.dirty.len(),
        count(problems, "problem"),
    )?;
    writeln!(s.out)?;

    let mut table =
        Table::new(&["version", "name", "state", "at", "duration"]).right(&["version", "duration"]);
    for (version, row) in status_rows(status) {
        table.row(vec![
            plain(version),
            plain(row.name),
            cell(row.state, row.style),
            cell(row.at, DIM),
            plain(row.duration),
        ]);
    }
    table.write(s.out)?;

    let details = status_details(s, status);
    if !details.is_empty() {
        writeln!(s.out)?;
        for detail in details {
            writeln!(s.out, "{ERROR}-{ERROR:#} {detail}")?;
        }
    }
    Ok(())
}

/// A version's row in `status`.
struct StatusRow {
    name: String,
    state: String,
    style: Style,
    /// When it was applied, failed, or started (dirty).
    at: String,
    duration: String,
}

/// One row per version. A version can be in several lists of [`Status`]: the
/// most pressing word on it wins (dirty over failed over pending; divergent,
/// version reused, missing and out of order over applied and pending).
fn status_rows(status: &Status) -> BTreeMap<u64, StatusRow> {
    let mut rows = BTreeMap::new();
    let mut set = |version: u64, name: &str, state: String, style: Style, at: Option<&str>| {
        let row = rows.entry(version).or_insert_with(|| StatusRow {
            name: name.to_owned(),
            state: String::new(),
            style,
            at: String::new(),
            duration: String::new(),
        });
        row.state = state;
        row.style = style;
        if let Some(at) = at {
            row.at = at.to_owned();
        }
    };
    for m in &status.applied {
        set(
            m.version,
            &m.name,
            "applied".into(),
            GOOD,
            Some(&m.applied_at),
        );
    }
    for m in &status.pending {
        set(m.version, &m.name, "pending".into(), WAITING, None);
    }
    for m in &status.failed {
        set(
            m.version,
            &m.name,
            "failed".into(),
            ERROR,
            Some(&m.failed_at),
        );
    }
    for problem in &status.problems {
        let (version, name, state) = match problem {
            Problem::Divergent { version, name, .. } => (*version, name, "divergent"),
            Problem::VersionReused {
                version,
                applied_name,
                ..
            } => (*version, applied_name, "version reused"),
            Problem::Missing { version, name } => (*version, name, "missing"),
            Problem::OutOfOrder { version, name, .. } => (*version, name, "out of order"),
            _ => continue,
        };
        set(version, name, state.into(), ERROR, None);
    }
    for m in &status.dirty {
        let state = format!("dirty ({})", m.direction.as_str());
        set(m.version, &m.name, state, ERROR, Some(&m.started_at));
    }
    for m in &status.applied {
        if let Some(row) = rows.get_mut(&m.version) {
            row.duration = output::duration(m.duration);
        }
    }
    rows
}

/// `history`: every event, oldest first.
pub(crate) fn history<D: Connection>(s: &mut Session<D>) -> Result<()> {
    let events = s
        .runner()
        .history(s.conn)
        .with_context(|| format!("reading the history of `{}`", s.database))?;
    if s.options.json {
        return print_json(
            s.out,
            &History {
                database: &s.database,
                events: &events,
            },
        );
    }
    if events.is_empty() {
        writeln!(
            s.out,
            "no history in `{}`: nothing was applied yet",
            s.database
        )?;
        return Ok(());
    }
    let mut table = Table::new(&[
        "at",
        "event",
        "version",
        "name",
        "direction",
        "duration",
        "detail",
    ])
    .right(&["version", "duration"]);
    for event in &events {
        let style = match event.kind {
            migrate_core::EventKind::Failed => ERROR,
            migrate_core::EventKind::Applied | migrate_core::EventKind::Baselined => GOOD,
            _ => WAITING,
        };
        table.row(vec![
            cell(&event.at, DIM),
            cell(event.kind, style),
            plain(event.version),
            plain(&event.name),
            plain(event.direction.as_str()),
            plain(event.duration.map(output::duration).unwrap_or_default()),
            plain(event.detail.as_deref().unwrap_or("")),
        ]);
    }
    Ok(table.write(s.out)?)
}

/// `baseline V`.
pub(crate) fn baseline<D: Connection>(s: &mut Session<D>, args: &BaselineArgs) -> Result<()> {
    let result = s.runner().baseline(s.conn, args.version);
    let result = logged(s, "baseline", result);
    let baselined = result
        .with_context(|| format!("baselining `{}` at version {}", s.database, args.version))?;
    for migration in &baselined {
        s.log.event("baselined", to_value(migration)?)?;
    }
    if s.options.json {
        return print_json(
            s.out,
            &Baselined {
                database: &s.database,
                baselined: &baselined,
            },
        );
    }
    let lines = Lines::new(s.migrations);
    for migration in &baselined {
        lines.line(
            s.out,
            "baselined",
            GOOD,
            migration.version,
            &migration.name,
            "",
        )?;
    }
    writeln!(
        s.out,
        "{GOOD}baselined{GOOD:#} `{}` at version {}: {} marked as applied without running",
        s.database,
        args.version,
        count(baselined.len(), "migration")
    )?;
    Ok(())
}

/// `adopt --from TOOL`.
pub(crate) fn adopt<D: Connection>(s: &mut Session<D>, args: &AdoptArgs) -> Result<()> {
    let tool = args.from;
    let result = s.runner().adopt(s.conn, tool);
    let result = logged(s, "adopt", result);
    let adopted = result.with_context(|| {
        format!(
            "adopting {}'s tracking table in `{}`",
            tool.name(),
            s.database
        )
    })?;
    for migration in &adopted {
        s.log.event("adopted", to_value(migration)?)?;
    }
    if s.options.json {
        return print_json(
            s.out,
            &Adopted {
                database: &s.database,
                from: tool.name(),
                adopted: &adopted,
            },
        );
    }
    let lines = Lines::new(s.migrations);
    for migration in &adopted {
        lines.line(
            s.out,
            "adopted",
            GOOD,
            migration.version,
            &migration.name,
            "",
        )?;
    }
    writeln!(
        s.out,
        "{GOOD}adopted{GOOD:#} {}'s tracking table in `{}`: {} recorded as applied, its table left as it was",
        tool.name(),
        s.database,
        count(adopted.len(), "migration")
    )?;
    Ok(())
}

/// `repair`.
pub(crate) fn repair<D: Connection>(s: &mut Session<D>, args: &RepairArgs) -> Result<()> {
    let result = s
        .runner()
        .accept_reused_versions(args.accept_reused_versions)
        .repair(s.conn);
    let result = logged(s, "repair", result);
    let report = result.with_context(|| format!("repairing `{}`", s.database))?;
    let repairs: Vec<Repaired> = report.repairs.iter().map(Repaired::new).collect();
    for repair in &repairs {
        s.log.event("repaired", to_value(repair)?)?;
    }
    if s.options.json {
        return print_json(
            s.out,
            &Repairs {
                database: &s.database,
                repairs,
            },
        );
    }
    if report.repairs.is_empty() {
        writeln!(s.out, "nothing to repair in `{}`", s.database)?;
        return Ok(());
    }
    let lines = Lines::new(s.migrations);
    for repair in &report.repairs {
        lines.line(
            s.out,
            "repaired",
            GOOD,
            repair.version,
            &repair.name,
            &repair.action.to_string(),
        )?;
    }
    Ok(())
}

/// `schema`: the SQL that creates the database's objects.
pub(crate) fn schema<D: Connection>(s: &mut Session<D>, args: &SchemaArgs) -> Result<()> {
    if args.check {
        return schema_check(s);
    }
    let schema = if args.include_tracking {
        s.conn.whole_schema()
    } else {
        s.runner().schema(s.conn).map_err(anyhow::Error::from)
    };
    let context = || format!("reading the schema of `{}`", s.database);
    let schema = match schema {
        Ok(schema) => schema,
        Err(error) => {
            return Err(match error.downcast::<Error>() {
                // Not a failure of the database: its backend reads no
                // schemas yet.
                Ok(Error::SchemaUnknown { reason }) => SchemaNotRead {
                    database: s.database.clone(),
                    reason,
                }
                .into(),
                Ok(error) => anyhow::Error::from(error).context(context()),
                Err(error) => error.context(context()),
            });
        }
    };
    // Replayable: tables, then indexes, views and triggers, each kind in
    // creation order.
    let mut objects: Vec<&SchemaObject> = schema.objects().iter().collect();
    objects.sort_by_key(|object| object.kind());
    if s.options.json {
        return print_json(
            s.out,
            &Objects {
                database: &s.database,
                objects,
            },
        );
    }
    if objects.is_empty() {
        // A comment, so that `migrate schema > schema.sql` still replays.
        let besides = if args.include_tracking {
            ""
        } else {
            " (besides the tracking tables)"
        };
        writeln!(
            s.out,
            "-- the database `{}` has no schema objects{besides}",
            s.database
        )?;
    }
    for object in objects {
        writeln!(s.out, "{};", object.sql())?;
    }
    Ok(())
}

/// `schema --check`: the database's drift from the schema the migrations
/// produce; an error when there is any.
fn schema_check<D: Connection>(s: &mut Session<D>) -> Result<()> {
    let drift = s
        .runner()
        .check_schema(s.conn)
        .with_context(|| format!("checking the schema of `{}`", s.database))?;
    let differences: Vec<String> = drift.iter().map(ToString::to_string).collect();
    if s.options.json {
        print_json(
            s.out,
            &Drift {
                database: &s.database,
                in_sync: drift.is_empty(),
                drift: &differences,
            },
        )?;
    } else if drift.is_empty() {
        writeln!(
            s.out,
            "{GOOD}in sync{GOOD:#}: the schema of `{}` is what the migrations produce",
            s.database
        )?;
    } else {
        for difference in &differences {
            writeln!(s.out, "{ERROR}drift{ERROR:#}: {difference}")?;
        }
    }
    if drift.is_empty() {
        Ok(())
    } else {
        Err(anyhow!(
            "the schema of `{}` has drifted from what the migrations produce: {}",
            s.database,
            count(drift.len(), "difference")
        ))
    }
}

/// `schema` on a database whose backend does not read schemas (PostgreSQL,
/// for now): the library's [`Error::SchemaUnknown`] in words about the
/// database rather than about the set, with that error's exit code
/// ([`FAILURE`](crate::FAILURE)).
#[derive(Debug)]
pub(crate) struct SchemaNotRead {
    database: String,
    reason: Box<str>,
}

impl fmt::Display for SchemaNotRead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`migrate schema` does not work on `{}` yet: {}",
            self.database, self.reason
        )
    }
}

impl std::error::Error for SchemaNotRead {}

/// What the SQL check found in a folder, printed as the macro's compile
/// errors: one problem as it is, several under a heading.
#[derive(Debug)]
struct CheckFailed {
    folder: PathBuf,
    problems: Vec<String>,
}

impl fmt::Display for CheckFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems.as_slice() {
            [one] => f.write_str(one),
            many => {
                write!(
                    f,
                    "{} problems checking migrations folder `{}`:",
                    many.len(),
                    self.folder.display()
                )?;
                many.iter()
                    .try_for_each(|problem| write!(f, "\n  - {problem}"))
            }
        }
    }
}

impl std::error::Error for CheckFailed {}

/// Logs a failed command's error to `--log-file`: a failed migration as a
/// `failed` event naming it, a refusal (exit code 3) as `refused`, anything
/// else as `error`.
fn logged<T, E: Into<anyhow::Error>, D: Connection>(
    s: &mut Session<D>,
    command: &str,
    result: Result<T, E>,
) -> Result<T> {
    let error = match result {
        Ok(value) => return Ok(value),
        Err(error) => error.into(),
    };
    let message = s.message(&error);
    let (event, fields) = match error.downcast_ref::<Error>() {
        Some(Error::MigrationFailed {
            version,
            name,
            file,
            direction,
            ..
        }) => (
            "failed",
            to_value(&LoggedFailure {
                command,
                version: *version,
                name,
                file,
                direction: *direction,
                error: &message,
            })?,
        ),
        Some(core) if crate::exit::is_refusal(core) => (
            "refused",
            to_value(&LoggedError {
                command,
                error: &message,
            })?,
        ),
        _ => (
            "error",
            to_value(&LoggedError {
                command,
                error: &message,
            })?,
        ),
    };
    s.log.event(event, fields)?;
    Err(error)
}

/// The highest applied version after a command.
fn current_version<D: Connection>(s: &mut Session<D>, runner: &Runner) -> Result<Option<u64>> {
    Ok(runner
        .status(s.conn)
        .with_context(|| format!("reading the status of `{}`", s.database))?
        .current_version)
}

/// `, at version V` (or `, with none applied`).
fn at_version(version: Option<u64>) -> String {
    match version {
        Some(version) => format!(", at version {version}"),
        None => ", with none applied".to_owned(),
    }
}

/// `1 migration`, `2 migrations`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// One line per migration acted on (`applied  3  add_email  12 ms`), aligned
/// for the whole set so that lines printed one at a time line up.
struct Lines {
    version: usize,
    name: usize,
}

impl Lines {
    fn new(set: &Migrations) -> Lines {
        Lines {
            version: set.latest_version().unwrap_or(0).to_string().len(),
            name: set
                .iter()
                .map(|m| m.name().width())
                .max()
                .unwrap_or(0)
                .min(40),
        }
    }

    fn line(
        &self,
        out: &mut dyn Write,
        verb: &str,
        style: Style,
        version: u64,
        name: &str,
        detail: &str,
    ) -> std::io::Result<()> {
        // Padded by the width a terminal shows (CJK and emoji take two
        // columns), not by the count of characters as `{:<}` would.
        let pad = " ".repeat(self.name.saturating_sub(name.width()));
        let line = format!(
            "{style}{verb:<11}{style:#}  {version:>width$}  {name}{pad}  {detail}",
            width = self.version,
        );
        writeln!(out, "{}", line.trim_end())?;
        out.flush()
    }

    /// `applied  <version>  <name>  <duration>`; in a run, `n of N  <duration>
    /// (<running total> in all)`, "n of N" first so that it lines up.
    fn applied(
        &self,
        out: &mut dyn Write,
        m: &AppliedMigration,
        step: Option<&Step>,
    ) -> std::io::Result<()> {
        let mut detail = output::duration(m.duration);
        if let Some(step) = step {
            let width = step.total.to_string().len();
            detail = format!(
                "{:>width$} of {}  {detail}  ({} in all)",
                step.number,
                step.total,
                output::duration(step.elapsed)
            );
        }
        self.line(out, "applied", GOOD, m.version, &m.name, &detail)
    }

    fn rolled_back(&self, out: &mut dyn Write, m: &RolledBackMigration) -> std::io::Result<()> {
        self.line(
            out,
            "rolled back",
            GOOD,
            m.version,
            &m.name,
            &output::duration(m.duration),
        )
    }
}

/// Prints `report` as pretty JSON. It goes through a [`Value`], whose map
/// keeps its keys sorted, so every object's keys are in alphabetical order,
/// as they have always been.
fn print_json(out: &mut dyn Write, report: &impl Serialize) -> Result<()> {
    Ok(output::json(out, &to_value(report)?)?)
}

/// `report` as a JSON value, for `--json` and the `--log-file` lines.
fn to_value(report: &impl Serialize) -> Result<Value> {
    Ok(serde_json::to_value(report)?)
}

// What each command prints with `--json`: the reports of the runtime as
// they serialize, with the database they are about and what the command
// adds. Objects' keys are printed sorted (see `print_json`), whatever the
// order of the fields here.

/// `new --json`.
#[derive(Serialize)]
struct Created {
    /// The files written, as paths under the folder.
    created: Vec<String>,
}

/// `validate --json` of a folder with problems.
#[derive(Serialize)]
struct Invalid<'a> {
    folder: &'a str,
    /// Always `false`.
    valid: bool,
    /// Each problem's message.
    problems: Vec<String>,
}

/// `validate --json` of a valid folder.
#[derive(Serialize)]
struct Valid<'a> {
    folder: &'a str,
    /// Always `true`.
    valid: bool,
    migrations: Vec<ValidMigration<'a>>,
}

/// A migration of a valid folder.
#[derive(Serialize)]
struct ValidMigration<'a> {
    version: u64,
    name: &'a str,
    file: &'a str,
    /// `sql` or `rust`.
    kind: &'static str,
    down_file: Option<&'a str>,
    no_transaction: bool,
    checksum: Checksum,
}

/// `up --json`: what was applied, also when a later migration failed.
#[derive(Serialize)]
struct Applied<'a> {
    database: &'a str,
    applied: &'a [AppliedMigration],
    /// `null` after an error.
    current_version: Option<u64>,
    /// The error's message, as `error:` prints it.
    error: Option<String>,
}

/// `up --dry-run --json`.
#[derive(Serialize)]
struct DryRun<'a> {
    database: &'a str,
    /// Always `true`.
    dry_run: bool,
    steps: &'a [DryRunStep],
}

/// `down --json`.
#[derive(Serialize)]
struct RolledBack<'a> {
    database: &'a str,
    rolled_back: &'a [RolledBackMigration],
    current_version: Option<u64>,
}

/// `redo --json`: the down that ran as a list (empty when nothing was
/// applied), like `down`'s.
#[derive(Serialize)]
struct Redone<'a> {
    database: &'a str,
    rolled_back: Vec<&'a RolledBackMigration>,
    applied: &'a [AppliedMigration],
}

/// `status --json`: the status's lists, the problems both grouped by kind
/// (each one's fields) and as messages, and whether it is up to date.
#[derive(Serialize)]
struct StatusReport<'a> {
    database: &'a str,
    current_version: Option<u64>,
    up_to_date: bool,
    applied: &'a [AppliedMigration],
    pending: &'a [PendingMigration],
    failed: &'a [FailedMigration],
    dirty: &'a [DirtyMigration],
    /// `divergent`, `version_reused`, `missing` and `out_of_order` (each
    /// present, empty or not): the problems of that kind, each serialized
    /// without its `kind`.
    #[serde(flatten)]
    by_kind: BTreeMap<String, Vec<Value>>,
    /// Every problem's message.
    problems: Vec<String>,
}

impl<'a> StatusReport<'a> {
    fn new(database: &'a str, status: &'a Status) -> Result<StatusReport<'a>> {
        let mut by_kind: BTreeMap<String, Vec<Value>> =
            ["divergent", "version_reused", "missing", "out_of_order"]
                .into_iter()
                .map(|kind| (kind.to_owned(), Vec::new()))
                .collect();
        for problem in &status.problems {
            let Value::Object(mut fields) = to_value(problem)? else {
                return Err(anyhow!(
                    "a problem serialized as something else than an object: {problem}"
                ));
            };
            let Some(Value::String(kind)) = fields.remove("kind") else {
                return Err(anyhow!("a problem serialized without its kind: {problem}"));
            };
            by_kind.entry(kind).or_default().push(Value::Object(fields));
        }
        Ok(StatusReport {
            database,
            current_version: status.current_version,
            up_to_date: status.is_up_to_date(),
            applied: &status.applied,
            pending: &status.pending,
            failed: &status.failed,
            dirty: &status.dirty,
            by_kind,
            problems: status.problems.iter().map(Problem::to_string).collect(),
        })
    }
}

/// `history --json`.
#[derive(Serialize)]
struct History<'a> {
    database: &'a str,
    events: &'a [Event],
}

/// `baseline --json`.
#[derive(Serialize)]
struct Baselined<'a> {
    database: &'a str,
    baselined: &'a [AppliedMigration],
}

/// `adopt --json`.
#[derive(Serialize)]
struct Adopted<'a> {
    database: &'a str,
    from: &'a str,
    adopted: &'a [AppliedMigration],
}

/// `repair --json`.
#[derive(Serialize)]
struct Repairs<'a> {
    database: &'a str,
    repairs: Vec<Repaired<'a>>,
}

/// A repair as `repair --json` and the log print it: its action as the
/// sentence the text output shows, rather than [`Repair`]'s own
/// `{"kind": …}` object.
#[derive(Serialize)]
struct Repaired<'a> {
    version: u64,
    name: &'a str,
    direction: Direction,
    action: String,
}

impl<'a> Repaired<'a> {
    fn new(repair: &'a Repair) -> Repaired<'a> {
        Repaired {
            version: repair.version,
            name: &repair.name,
            direction: repair.direction,
            action: repair.action.to_string(),
        }
    }
}

/// `schema --json`.
#[derive(Serialize)]
struct Objects<'a> {
    database: &'a str,
    objects: Vec<&'a SchemaObject>,
}

/// `schema --check --json`: the differences as the sentences the text
/// output shows.
#[derive(Serialize)]
struct Drift<'a> {
    database: &'a str,
    in_sync: bool,
    drift: &'a [String],
}

/// The `--log-file` line of a failed migration.
#[derive(Serialize)]
struct LoggedFailure<'a> {
    command: &'a str,
    version: u64,
    name: &'a str,
    file: &'a str,
    direction: Direction,
    error: &'a str,
}

/// The `--log-file` line of a refused or failed command.
#[derive(Serialize)]
struct LoggedError<'a> {
    command: &'a str,
    error: &'a str,
}
