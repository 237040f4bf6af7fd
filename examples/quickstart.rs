//! Applies the task tracker's migrations in `examples/migrations/` to a SQLite
//! file, then prints the status. Twelve are SQL; `0013_project_slugs.rs` is a
//! Rust data migration, compiled in by `embed_migrations!`.
//!
//! ```text
//! cargo run --example quickstart -- app.db
//! ```
//!
//! Run it twice: the second run verifies every applied checksum and applies
//! nothing. In your own crate the folder is `migrations/` next to Cargo.toml,
//! with `println!("cargo:rerun-if-changed=migrations");` in `build.rs` (this
//! crate's `build.rs` does the same for `examples/migrations`).

use anyhow::Context;
use migrate::Migrations;

const MIGRATIONS: Migrations = migrate::embed_migrations!("examples/migrations");

fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "app.db".to_owned());
    let mut conn =
        rusqlite::Connection::open(&path).with_context(|| format!("opening `{path}`"))?;
    conn.pragma_update(None, "foreign_keys", true)
        .with_context(|| format!("enabling foreign keys on `{path}`"))?;

    let report = MIGRATIONS
        .run(&mut conn)
        .with_context(|| format!("migrating `{path}`"))?;
    if report.applied.is_empty() {
        println!("`{path}` is up to date: nothing to apply");
    } else {
        println!("applied {} migration(s) to `{path}`:", report.applied.len());
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
        .status(&mut conn)
        .with_context(|| format!("reading the status of `{path}`"))?;
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
