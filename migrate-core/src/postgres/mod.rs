//! PostgreSQL.
//!
//! - [`parse`] (feature `pg-parse`): every statement of a set parsed with
//!   PostgreSQL's own parser, the build-time check of
//!   `embed_migrations!("migrations", engine = "postgres")`.

#[cfg(feature = "pg-parse")]
pub mod parse;
