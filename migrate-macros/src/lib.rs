//! The `embed_migrations!` macro of the [`migrate`](https://docs.rs/migrate)
//! crate; use it through `migrate::embed_migrations!`.
//!
//! The work is in steps: `input` reads what the user wrote, then
//! `migrate_core::Migrations::read_folder` scans and validates the folder with
//! the same grammar the runtime uses, `migrate_core::sqlite::verify` runs it on an
//! in-memory SQLite database (or, for `engine = "postgres"`,
//! `migrate_core::postgres::parse` parses it with PostgreSQL's parser), and
//! `expand` turns the result into const data or into one compile error per
//! problem.

#![warn(missing_docs)]

use proc_macro::TokenStream;

mod cache;
mod expand;
mod input;
#[cfg(test)]
mod tests;

/// Embeds a migrations folder as a `migrate::Migrations` constant, validated
/// at build time.
///
/// The path is relative to the crate's `Cargo.toml` (`CARGO_MANIFEST_DIR`).
/// Every problem in the folder is a compile error naming its file; see the
/// `migrate` crate's documentation for the grammar and the `build.rs` line
/// that makes `cargo` rebuild when a file is added.
///
/// The migrations are then applied to an empty in-memory SQLite database,
/// every down checked to restore the schema (`migrate::sqlite::verify`), and each
/// problem is a compile error too; `verify = false` turns that off.
///
/// SQL that calls a function or uses a collation only the application's
/// connection has (one it registers, or an extension it loads provides)
/// names them: `functions(app_hash, "regexp")` and `collations(de_phonebook)`
/// make the check register a stand-in for each (`migrate::sqlite::VerifyOptions`:
/// a function of any arguments returning NULL, deterministic so that a
/// `CHECK`, an index or a generated column may use it; a collation ordering
/// by bytes; a `NOT NULL` column filled from a stand-in's NULL still fails,
/// and needs `verify = false`). They change what the check can do, not what
/// runs: the application's connection must have the real ones before `run`.
///
/// The check's database enforces foreign keys, as the runner does on a
/// connection that has them on; `foreign_keys = false` checks a set written
/// for a connection without them (see the guide's "Coming from another
/// tool": which tools' connections had them).
///
/// `format = "diesel"` (or `sqlx`, `refinery`, `flyway`, `goose`, `dbmate`,
/// `golang-migrate`, `plain`) reads a folder in that tool's layout, as the
/// tool does (`migrate::formats`); `placeholders(name = "value", ...)` gives
/// Flyway's `${name}`s their values.
///
/// With `engine = "postgres"` (feature `postgres-parse`) the SQL is not run on
/// SQLite, which cannot run PostgreSQL's SQL: every up and down is parsed
/// with PostgreSQL's own parser instead (`migrate_core::postgres::parse`), and a
/// syntax error is a compile error naming the file, line and statement;
/// `verify = false` turns that off too.
///
/// ```ignore
/// const DIESEL: migrate::Migrations =
///     migrate::embed_migrations!("migrations", format = "diesel");
/// const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("migrations");
/// const NEEDS_APP: migrate::Migrations =
///     migrate::embed_migrations!("migrations", functions(app_hash));
/// const UNCHECKED: migrate::Migrations =
///     migrate::embed_migrations!("migrations", verify = false);
/// const POSTGRES: migrate::Migrations =
///     migrate::embed_migrations!("migrations", engine = "postgres");
/// ```
#[proc_macro]
pub fn embed_migrations(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as input::Input);
    expand::expand(&input)
        .unwrap_or_else(|error| {
            // Several `compile_error!`s in expression position must sit in a
            // block, or rustc reports only the first.
            let errors = error.into_compile_error();
            quote::quote!({ #errors })
        })
        .into()
}
