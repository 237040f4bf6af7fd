//! An application with a command line of its own that mounts the `migrate`
//! commands under `db`, over its embedded migrations (the Rust one in
//! `examples/migrations/` included, which the standalone `migrate` binary
//! cannot run) and its own connection:
//!
//! ```text
//! cargo run --example app_cli --features cli -- --database app.db db up
//! cargo run --example app_cli --features cli -- --database app.db db status
//! cargo run --example app_cli --features cli -- --database app.db tasks
//! ```
//!
//! In your own crate: `migrate = { version = "…", features = ["cli"] }`, and
//! `clap` with its `derive` feature.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use migrate::Migrations;

const MIGRATIONS: Migrations = migrate::embed_migrations!("examples/migrations");

/// A task tracker.
#[derive(Parser)]
pub struct App {
    /// The SQLite database file
    #[arg(long, default_value = "app.db")]
    database: String,

    #[command(subcommand)]
    command: AppCommand,
}

#[derive(Subcommand)]
pub enum AppCommand {
    /// Database migrations: up, down, redo, status, check, history, baseline, repair, schema
    Db(migrate::cli::Db),
    /// Count the tasks
    Tasks,
}

fn main() -> ExitCode {
    // Prints an error with its causes and maps it to the exit codes of the
    // `migrate` binary (3: refused, e.g. an edited migration).
    migrate::cli::report(run(&App::parse(), &mut anstream::stdout().lock()))
}

/// Runs the application's command, printing to `out`.
pub fn run(app: &App, out: &mut dyn Write) -> anyhow::Result<()> {
    let mut conn = rusqlite::Connection::open(&app.database)
        .with_context(|| format!("opening `{}`", app.database))?;
    conn.pragma_update(None, "foreign_keys", true)?;
    match &app.command {
        AppCommand::Db(db) => db.run_to(&MIGRATIONS, &mut conn, out),
        AppCommand::Tasks => {
            // The application's own commands expect an up-to-date database.
            MIGRATIONS.run(&mut conn)?;
            let tasks: i64 = conn.query_row("SELECT count(*) FROM tasks", [], |row| row.get(0))?;
            writeln!(out, "{tasks} tasks")?;
            Ok(())
        }
    }
}
