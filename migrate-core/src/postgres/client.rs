//! The two PostgreSQL clients the backend runs on, behind one trait: the
//! blocking `postgres::Client` and the async `tokio_postgres::Client`. The
//! backend's SQL and rules are written once over [`PgClient`]; the blocking
//! client's futures are ready at once (it blocks inside them).
//!
//! Every query goes through `query_typed` (one round trip: the parameters'
//! types are given, so nothing is prepared first) or `batch_execute` (the
//! simple-query protocol, for SQL without parameters).

#[cfg(feature = "tokio-postgres")]
use std::future::Future;
#[cfg(feature = "tokio-postgres")]
use std::pin::Pin;

use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Error as PgError, Row, SimpleQueryMessage, SimpleQueryRow};

use crate::migration::{BoxError, RustCode};

/// A query's parameters with their types, as `query_typed` takes them.
pub type Params<'a> = &'a [(&'a (dyn ToSql + Sync), Type)];

mod sealed {
    pub trait Sealed {}
}

/// A PostgreSQL client the backend runs on: implemented for
/// `postgres::Client` (feature `postgres`) and `tokio_postgres::Client`
/// (feature `tokio-postgres`), and for nothing else (sealed).
#[allow(async_fn_in_trait)] // see "Async" in `crate::backend`
pub trait PgClient: sealed::Sealed {
    /// The client's transaction type.
    type Tx<'t>: PgTransaction
    where
        Self: 't;

    /// Begins a transaction (`BEGIN`), read-only and `REPEATABLE READ` when
    /// `read_only` (one snapshot for every read of an action).
    #[doc(hidden)]
    async fn begin_on(client: &mut Self, read_only: bool) -> Result<Self::Tx<'_>, PgError>;
    /// Runs `sql` (one or more statements, no parameters) outside a
    /// transaction of the runner's.
    #[doc(hidden)]
    async fn batch(&mut self, sql: &str) -> Result<(), PgError>;
    /// Runs one statement with its parameters; its rows.
    #[doc(hidden)]
    async fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, PgError>;
    /// Runs `sql` with the simple-query protocol (one command message);
    /// its rows, as text.
    #[doc(hidden)]
    async fn simple(&mut self, sql: &str) -> Result<Vec<SimpleQueryRow>, PgError>;
    /// Whether `code` is this client's Rust step type.
    #[doc(hidden)]
    fn can_run(code: &RustCode) -> bool;
}

/// A transaction of a [`PgClient`].
#[allow(async_fn_in_trait)] // see "Async" in `crate::backend`
pub trait PgTransaction: sealed::Sealed {
    /// Runs `sql` (no parameters) in the transaction.
    #[doc(hidden)]
    async fn batch(&mut self, sql: &str) -> Result<(), PgError>;
    /// Runs one statement with its parameters; its rows.
    #[doc(hidden)]
    async fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, PgError>;
    /// Commits.
    #[doc(hidden)]
    async fn commit(self) -> Result<(), PgError>;
    /// Rolls back.
    #[doc(hidden)]
    async fn rollback(self) -> Result<(), PgError>;
    /// Runs a Rust step in a savepoint of the transaction: `None` when
    /// `code` is not this client's step type; `Some(Err(None))` when the
    /// savepoint could not be released afterwards (the step ended the
    /// transaction).
    #[doc(hidden)]
    async fn run_step(&mut self, code: &RustCode) -> Option<Result<(), StepError>>;
}

/// The rows among a simple query's messages.
#[cfg_attr(
    not(any(feature = "postgres", feature = "tokio-postgres")),
    allow(dead_code)
)]
fn rows(messages: Vec<SimpleQueryMessage>) -> Vec<SimpleQueryRow> {
    messages
        .into_iter()
        .filter_map(|message| match message {
            SimpleQueryMessage::Row(row) => Some(row),
            _ => None,
        })
        .collect()
}

/// How a Rust step failed.
#[doc(hidden)]
pub enum StepError {
    /// The step returned an error.
    Failed(BoxError),
    /// A database error around the step (its savepoint).
    Database(PgError),
    /// The savepoint is gone: the step ended the runner's transaction.
    TransactionEnded,
}

/// The savepoint around a Rust step; a step that ends the transaction makes
/// its release fail.
const STEP_SAVEPOINT: &str = "migrate_rust_step";

/// The code of a Rust migration for the blocking PostgreSQL client: its `up`
/// or `down`, called with the migration's transaction (a savepoint of the
/// runner's). `embed_migrations!(.., engine = "postgres")` wraps the user's
/// `pub fn up(tx: &mut postgres::Transaction<'_>) -> Result<(), E>` into one.
#[cfg(feature = "postgres")]
pub type PostgresStep = fn(&mut postgres::Transaction<'_>) -> Result<(), BoxError>;

/// The code of a Rust migration for the async PostgreSQL client: its `up`
/// or `down`, called with the migration's transaction (a savepoint of the
/// runner's). `embed_migrations!(.., engine = "tokio-postgres")` wraps the
/// user's `pub async fn up(tx: &mut tokio_postgres::Transaction<'_>) ->
/// Result<(), E>` into one.
#[cfg(feature = "tokio-postgres")]
pub type TokioPostgresStep =
    for<'a, 'b> fn(
        &'a mut tokio_postgres::Transaction<'b>,
    ) -> Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send + 'a>>;

#[cfg(feature = "postgres")]
mod blocking {
    use super::*;

    impl sealed::Sealed for postgres::Client {}
    impl sealed::Sealed for postgres::Transaction<'_> {}

    impl PgClient for postgres::Client {
        type Tx<'t> = postgres::Transaction<'t>;

        async fn begin_on(
            client: &mut Self,
            read_only: bool,
        ) -> Result<postgres::Transaction<'_>, PgError> {
            if read_only {
                client
                    .build_transaction()
                    .isolation_level(postgres::IsolationLevel::RepeatableRead)
                    .read_only(true)
                    .start()
            } else {
                client.transaction()
            }
        }

        async fn batch(&mut self, sql: &str) -> Result<(), PgError> {
            self.batch_execute(sql)
        }

        async fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, PgError> {
            self.query_typed(sql, params)
        }

        async fn simple(&mut self, sql: &str) -> Result<Vec<SimpleQueryRow>, PgError> {
            self.simple_query(sql).map(rows)
        }

        fn can_run(code: &RustCode) -> bool {
            code.step::<PostgresStep>().is_some()
        }
    }

    impl PgTransaction for postgres::Transaction<'_> {
        async fn batch(&mut self, sql: &str) -> Result<(), PgError> {
            self.batch_execute(sql)
        }

        async fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, PgError> {
            self.query_typed(sql, params)
        }

        async fn commit(self) -> Result<(), PgError> {
            postgres::Transaction::commit(self)
        }

        async fn rollback(self) -> Result<(), PgError> {
            postgres::Transaction::rollback(self)
        }

        async fn run_step(&mut self, code: &RustCode) -> Option<Result<(), StepError>> {
            let step = *code.step::<PostgresStep>()?;
            let mut savepoint = match self.savepoint(STEP_SAVEPOINT) {
                Ok(savepoint) => savepoint,
                Err(error) => return Some(Err(StepError::Database(error))),
            };
            Some(match step(&mut savepoint) {
                Ok(()) => savepoint.commit().map_err(|_| StepError::TransactionEnded),
                Err(error) => Err(StepError::Failed(error)),
            })
        }
    }
}

#[cfg(feature = "tokio-postgres")]
mod non_blocking {
    use super::*;

    impl sealed::Sealed for tokio_postgres::Client {}
    impl sealed::Sealed for tokio_postgres::Transaction<'_> {}

    impl PgClient for tokio_postgres::Client {
        type Tx<'t> = tokio_postgres::Transaction<'t>;

        async fn begin_on(
            client: &mut Self,
            read_only: bool,
        ) -> Result<tokio_postgres::Transaction<'_>, PgError> {
            if read_only {
                client
                    .build_transaction()
                    .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                    .read_only(true)
                    .start()
                    .await
            } else {
                client.transaction().await
            }
        }

        async fn batch(&mut self, sql: &str) -> Result<(), PgError> {
            self.batch_execute(sql).await
        }

        async fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, PgError> {
            self.query_typed(sql, params).await
        }

        async fn simple(&mut self, sql: &str) -> Result<Vec<SimpleQueryRow>, PgError> {
            self.simple_query(sql).await.map(rows)
        }

        fn can_run(code: &RustCode) -> bool {
            code.step::<TokioPostgresStep>().is_some()
        }
    }

    impl PgTransaction for tokio_postgres::Transaction<'_> {
        async fn batch(&mut self, sql: &str) -> Result<(), PgError> {
            self.batch_execute(sql).await
        }

        async fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, PgError> {
            self.query_typed(sql, params).await
        }

        async fn commit(self) -> Result<(), PgError> {
            tokio_postgres::Transaction::commit(self).await
        }

        async fn rollback(self) -> Result<(), PgError> {
            tokio_postgres::Transaction::rollback(self).await
        }

        async fn run_step(&mut self, code: &RustCode) -> Option<Result<(), StepError>> {
            let step = *code.step::<TokioPostgresStep>()?;
            let mut savepoint = match self.savepoint(STEP_SAVEPOINT).await {
                Ok(savepoint) => savepoint,
                Err(error) => return Some(Err(StepError::Database(error))),
            };
            Some(match step(&mut savepoint).await {
                Ok(()) => savepoint
                    .commit()
                    .await
                    .map_err(|_| StepError::TransactionEnded),
                Err(error) => Err(StepError::Failed(error)),
            })
        }
    }
}
