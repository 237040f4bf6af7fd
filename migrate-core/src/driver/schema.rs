//! Drift: the live database's schema against the schema a set produces.

use crate::backend::{Backend, Blocking, Database, LockMode, Purpose, Transaction, block_on};
use crate::error::Result;
use crate::migration::Migrations;
use crate::schema::{Schema, SchemaDifference};

use super::Runner;

impl Migrations {
    /// How the schema of the database differs from the schema these
    /// migrations produce (drift: a table added or altered by hand, an index
    /// dropped); empty when they agree. The tracking tables and the engine's
    /// own objects are left out. See [`Runner::check_schema`] to name another
    /// tracking table.
    ///
    /// The expected schema is the one `embed_migrations!` embedded when it
    /// verified the set ([`embedded_schema`](Migrations::embedded_schema)),
    /// or else the backend works it out now (SQLite:
    /// [`sqlite::verify::expected_schema`](crate::sqlite::verify::expected_schema),
    /// applying the set to an in-memory database: a cost that grows with the
    /// set).
    ///
    /// Compare it with an up-to-date database: pending migrations show as
    /// missing objects.
    ///
    /// # Examples
    ///
    /// ```
    /// # use migrate_core::Migrations;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # std::fs::write(dir.path().join("0001_users.sql"), "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);")?;
    /// # let migrations = Migrations::from_folder(dir.path())?;
    /// let mut conn = migrate_core::sqlite::Connection::open_in_memory()?;
    /// migrations.run(&mut conn)?;
    /// assert!(migrations.check_schema(&mut conn)?.is_empty());
    ///
    /// conn.execute_batch("CREATE INDEX users_email ON users (email)")?;
    /// let drift = migrations.check_schema(&mut conn)?;
    /// assert_eq!(drift[0].to_string(), "index `users_email` is not created by any migration");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::SchemaUnknown`](crate::Error::SchemaUnknown) when the expected
    /// schema cannot be worked out (verification finds a problem, or a Rust
    /// migration's code is not compiled in), [`Error::Database`](crate::Error::Database)
    /// reading the database's schema, [`Error::TransactionOpen`](crate::Error::TransactionOpen),
    /// [`Error::InvalidTableName`](crate::Error::InvalidTableName).
    pub fn check_schema<D: Blocking>(&self, conn: &mut D) -> Result<Vec<SchemaDifference>> {
        self.runner().check_schema(conn)
    }
}

impl Runner<'_> {
    /// [`Migrations::check_schema`], leaving out this runner's tracking
    /// tables.
    ///
    /// # Errors
    ///
    /// As [`Migrations::check_schema`].
    pub fn check_schema<D: Blocking>(&self, conn: &mut D) -> Result<Vec<SchemaDifference>> {
        block_on(self.check_schema_async(conn))
    }

    /// The async form of [`check_schema`](Runner::check_schema).
    ///
    /// # Errors
    ///
    /// As [`Migrations::check_schema`].
    pub async fn check_schema_async<D: Database>(
        &self,
        conn: &mut D,
    ) -> Result<Vec<SchemaDifference>> {
        {
            let mut backend = self.open_backend(conn, Purpose::Records).await?;
            let result = async {
                let backend = &mut backend;
                let expected = match self.migrations().embedded_schema() {
                    Some(expected) => expected.clone(),
                    None => backend.expected_schema(self.migrations()).await?,
                };
                let actual = backend.begin(LockMode::Read).await?.schema().await?;
                Ok(backend.differences(&expected, &actual))
            }
            .await;
            self.close_backend(backend, result).await
        }
    }

    /// The database's schema (see [`Schema`]), without this runner's
    /// tracking table, its history and their index; read in one read
    /// transaction.
    ///
    /// # Errors
    ///
    /// [`Error::Database`](crate::Error::Database) reading the schema,
    /// [`Error::Locked`](crate::Error::Locked),
    /// [`Error::TransactionOpen`](crate::Error::TransactionOpen),
    /// [`Error::InvalidTableName`](crate::Error::InvalidTableName).
    pub fn schema<D: Blocking>(&self, conn: &mut D) -> Result<Schema> {
        block_on(self.schema_async(conn))
    }

    /// The async form of [`schema`](Runner::schema).
    ///
    /// # Errors
    ///
    /// As [`schema`](Runner::schema).
    pub async fn schema_async<D: Database>(&self, conn: &mut D) -> Result<Schema> {
        {
            let mut backend = self.open_backend(conn, Purpose::Records).await?;
            let result = async {
                let backend = &mut backend;
                backend.begin(LockMode::Read).await?.schema().await
            }
            .await;
            self.close_backend(backend, result).await
        }
    }
}
