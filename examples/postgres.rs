//! Applies the task tracker's history written for PostgreSQL
//! (`examples/postgres_migrations/`: identity columns, `timestamptz`, an enum
//! type, a PL/pgSQL trigger function, a column type changed in place, and a
//! `CREATE INDEX CONCURRENTLY` outside a transaction) to a PostgreSQL
//! database, then prints the status.
//!
//! ```text
//! cargo run --example postgres --features postgres -- postgres://postgres@127.0.0.1:5432/app
//! ```
//!
//! The URL can also come from `DATABASE_URL`. Run it twice: the second run
//! verifies every applied checksum in one statement and applies nothing.
//! Several copies started at once apply each migration exactly once: a run
//! holds a session advisory lock while it applies.

use anyhow::Context;
use migrate::Migrations;
use migrate::postgres::postgres::{Client, NoTls};

const MIGRATIONS: Migrations =
    migrate::embed_migrations!("examples/postgres_migrations", verify = false);

fn main() -> anyhow::Result<()> {
    let url = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("DATABASE_URL").ok())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let mut client =
        Client::connect(&url, NoTls).with_context(|| format!("connecting to `{url}`"))?;

    let report = MIGRATIONS
        .run(&mut client)
        .with_context(|| format!("migrating `{url}`"))?;
    if report.applied.is_empty() {
        println!("`{url}` is up to date: nothing to apply");
    } else {
        println!("applied {} migration(s) to `{url}`:", report.applied.len());
        for applied in &report.applied {
            println!(
                "  {:>4}  {:<32} {:>5} ms",
                applied.version,
                applied.name,
                applied.duration.as_millis()
            );
        }
    }

    let status = MIGRATIONS
        .status(&mut client)
        .with_context(|| format!("reading the status of `{url}`"))?;
    let current = status
        .current_version
        .map_or("none".to_owned(), |v| v.to_string());
    println!(
        "status: version {current}, {} applied, {} pending, {} failed, {} dirty, {} problem(s)",
        status.applied.len(),
        status.pending.len(),
        status.failed.len(),
        status.dirty.len(),
        status.problems.len()
    );
    for problem in &status.problems {
        println!("  problem: {problem}");
    }
    Ok(())
}
