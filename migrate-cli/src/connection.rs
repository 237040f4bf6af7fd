//! What the database commands run over: any blocking database of
//! migrate-core, with the few things only some engines have.

use migrate_core::postgres::Postgres;
use migrate_core::postgres::postgres::Client;
use migrate_core::{Blocking, Error, Schema};

/// A database the commands of [`Db`](crate::Db) run over: SQLite's
/// [`rusqlite::Connection`](migrate_core::sqlite::Connection), PostgreSQL's
/// blocking [`postgres::Client`](migrate_core::postgres::postgres::Client),
/// or one wrapped with its settings
/// ([`Postgres`](migrate_core::postgres::Postgres)`<postgres::Client>`).
///
/// Any other [`Blocking`] database can take part with an empty
/// implementation: the provided methods say it has no file name and cannot
/// read its whole schema.
///
/// # Examples
///
/// ```no_run
/// # fn main() -> anyhow::Result<()> {
/// # let migrations = migrate_core::Migrations::from_folder("migrations")?;
/// # #[derive(clap::Parser)]
/// # struct App { #[command(subcommand)] command: Command }
/// # #[derive(clap::Subcommand)]
/// # enum Command { Db(migrate_cli::Db) }
/// # let Command::Db(db) = <App as clap::Parser>::parse_from(["app", "db", "status"]).command;
/// use migrate_core::postgres::postgres::{Client, NoTls};
/// use migrate_core::postgres::Postgres;
///
/// let mut client = Client::connect("postgres://app@localhost/app", NoTls)?;
/// db.run(&migrations, &mut Postgres::new(&mut client).schema("migrations"))?;
/// # Ok(())
/// # }
/// ```
pub trait Connection: Blocking {
    /// How messages name the database when the caller does not: SQLite's
    /// file; `None` (then "the database") for an in-memory database or a
    /// server connection, which does not know its URL.
    fn name(&self) -> Option<String> {
        None
    }

    /// The database's whole schema, the tracking tables included, for
    /// `schema --include-tracking`.
    ///
    /// # Errors
    ///
    /// [`Error::SchemaUnknown`] where the engine's schema is not read (the
    /// provided method, and PostgreSQL's for now), or the engine's error
    /// reading it.
    fn whole_schema(&mut self) -> anyhow::Result<Schema> {
        Err(Error::SchemaUnknown {
            reason: "this database's schema is not read by `migrate` yet".into(),
        }
        .into())
    }
}

impl Connection for migrate_core::sqlite::Connection {
    fn name(&self) -> Option<String> {
        self.path()
            .filter(|path| !path.is_empty())
            .map(str::to_owned)
    }

    fn whole_schema(&mut self) -> anyhow::Result<Schema> {
        Ok(Schema::read(self)?)
    }
}

/// The PostgreSQL backend's reason, as its own schema reading gives it.
const POSTGRES_SCHEMA: &str = "the PostgreSQL backend does not read schemas yet";

impl Connection for Client {
    fn whole_schema(&mut self) -> anyhow::Result<Schema> {
        Err(Error::SchemaUnknown {
            reason: POSTGRES_SCHEMA.into(),
        }
        .into())
    }
}

impl Connection for Postgres<'_, Client> {
    fn whole_schema(&mut self) -> anyhow::Result<Schema> {
        Err(Error::SchemaUnknown {
            reason: POSTGRES_SCHEMA.into(),
        }
        .into())
    }
}
