//! PostgreSQL: the backend, blocking on the `postgres` crate (feature
//! `postgres`) and async on `tokio-postgres` (feature `tokio-postgres`), one
//! implementation over both ([`PgClient`]); and [`parse`] (feature
//! `pg-parse`), every statement of a set parsed with PostgreSQL's own parser,
//! the build-time check of `embed_migrations!("migrations", engine =
//! "postgres")`; and [`verify`](mod@verify) (feature `postgres`), the full
//! check in a throwaway database on a server, which that check runs instead
//! when `MIGRATE_VERIFY_DATABASE_URL` is set.
//!
//! The backend:
//!
//! - The tracking table and its history live in a schema of their own choice
//!   (default `public`; [`Postgres::schema`]), created on the first run;
//!   versions are `BIGINT`, times `timestamptz`.
//! - Locking: a run takes a session advisory lock keyed on (database,
//!   schema, table) before it applies anything and holds it to the end, so
//!   that runners on many machines queue up and each migration is applied
//!   exactly once; every other write to the tracking table takes the same
//!   key as a transaction lock (`pg_advisory_xact_lock`). With
//!   [`LockScope::Transaction`] (for PgBouncer's transaction pooling, where a
//!   session lock may stay on a server connection another client then gets)
//!   only transaction locks are taken: each migration's transaction takes it
//!   and re-reads the tracking table under it, which keeps exactly once.
//!   Waiting ends after the lock timeout with [`Error::Locked`]
//!   (PostgreSQL's `lock_timeout`, set only around the lock).
//! - Each migration runs in its own transaction with its tracking row
//!   (PostgreSQL's DDL is transactional), statement by statement (a failure
//!   names its statement and line, with the server's SQLSTATE, detail and
//!   hint); a statement that would begin or end the runner's transaction is
//!   refused before anything runs.
//! - `-- migrate:no-transaction` (`CREATE INDEX CONCURRENTLY`, `VACUUM`):
//!   marked dirty first, run statement by statement outside a transaction
//!   under a second session advisory lock that tells other processes it is
//!   still running.
//! - The up-to-date check is one statement, outside a transaction, taking no
//!   lock.
//!
//! The client is handed back as it was given: no transaction open, no lock
//! held, its `lock_timeout` as before. A migration's own session settings
//! (`SET search_path`, say) stay, as they would after any SQL the
//! application runs.

#[cfg(any(feature = "postgres", feature = "tokio-postgres"))]
mod backend;
#[cfg(any(feature = "postgres", feature = "tokio-postgres"))]
mod client;
#[cfg(feature = "pg-parse")]
pub mod parse;
#[cfg(any(feature = "postgres", feature = "tokio-postgres"))]
pub mod schema;
#[cfg(any(feature = "postgres", feature = "tokio-postgres"))]
mod script;
#[cfg(any(feature = "postgres", feature = "tokio-postgres"))]
mod tracking;
#[cfg(feature = "postgres")]
pub mod verify;

#[cfg(any(feature = "postgres", feature = "tokio-postgres"))]
pub use backend::{DEFAULT_SCHEMA, LockScope, OutsideLock, PgBackend, PgTx, Postgres, ServerError};
#[cfg(feature = "postgres")]
pub use client::PostgresStep;
#[cfg(feature = "tokio-postgres")]
pub use client::TokioPostgresStep;
#[cfg(any(feature = "postgres", feature = "tokio-postgres"))]
pub use client::{PgClient, PgTransaction};
/// The blocking client crate this backend runs on (0.19).
#[cfg(feature = "postgres")]
pub use postgres;
/// The async client crate this backend runs on (0.7).
#[cfg(any(feature = "postgres", feature = "tokio-postgres"))]
pub use tokio_postgres;
