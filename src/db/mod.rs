//! The data layer: one set of SQL for SQLite and PostgreSQL.
//!
//! [`Db`] holds the pools of whichever database `DATABASE_URL` names. Each query is written once and
//! run on either through the [`on_read!`], [`on_write!`] and [`on_tx!`] macros, which expand the
//! same body once per backend. Only the migrations differ per dialect.
//!
//! SQLite allows one writer at a time; writes go through a pool of one connection so they queue in
//! the pool instead of failing with SQLITE_BUSY, while reads use a pool of their own (WAL mode lets
//! them run beside the writer).

pub mod charger_security;
pub mod charger_state;
pub mod chargers;
pub mod corrections;
pub mod customers;
pub mod errors;
pub mod filter;
pub mod id_tags;
pub mod meter_values;
pub mod meter_values_read;
pub mod ocpp_messages;
pub mod organizations;
pub mod points;
pub mod sessions;
pub mod station_images;
pub mod stations;
pub mod tariffs;
pub mod transactions;
pub mod types;
pub mod users;
pub mod wallet;

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// The database evcms runs on.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite { read: SqlitePool, write: SqlitePool },
    Postgres(PgPool),
}

/// Which database a [`Db`] is, for logs and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("DATABASE_URL must start with sqlite: or postgres:, got {0:?}")]
    UnknownScheme(String),
    #[error("cannot open the database: {0}")]
    Open(#[source] sqlx::Error),
    #[error("cannot apply the database migrations: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

/// Runs `$body` with `$pool` bound to the pool that serves reads.
#[macro_export]
macro_rules! on_read {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite { read: $pool, .. } => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` with `$pool` bound to the pool that serves writes outside a transaction.
#[macro_export]
macro_rules! on_write {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite { write: $pool, .. } => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` with `$conn` bound to the connection of the open transaction `$tx`.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::db::Tx::Sqlite(tx) => {
                let $conn = &mut **tx;
                $body
            }
            $crate::db::Tx::Postgres(tx) => {
                let $conn = &mut **tx;
                $body
            }
        }
    };
}

/// An open write transaction on either database. Dropped without [`Tx::commit`], it rolls back.
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        }
    }
}

impl Db {
    /// Opens the database named by `url`, creating an SQLite file if needed, and applies the
    /// migrations, so the server never serves a schema older than its code.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, ConnectError> {
        let db = if url.starts_with("sqlite:") {
            Self::open_sqlite(url, max_connections).await?
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options = PgConnectOptions::from_str(url).map_err(ConnectError::Open)?;
            let pool = PgPoolOptions::new()
                .max_connections(max_connections.max(1))
                .acquire_timeout(Duration::from_secs(10))
                // A small pool and a queue beat a large pool: waiting in it is by design, so warn
                // only when a wait is long enough to matter.
                .acquire_slow_threshold(Duration::from_secs(5))
                .connect_with(options)
                .await
                .map_err(ConnectError::Open)?;
            Db::Postgres(pool)
        } else {
            return Err(ConnectError::UnknownScheme(
                url.chars().take_while(|c| *c != ':').collect(),
            ));
        };
        db.migrate().await?;
        Ok(db)
    }

    async fn open_sqlite(url: &str, max_connections: u32) -> Result<Self, ConnectError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(ConnectError::Open)?
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            // Waiting for the one writer is how SQLite writes queue here, not a symptom: warn only
            // when a wait is long enough to matter.
            .acquire_slow_threshold(Duration::from_secs(5))
            .connect_with(options.clone())
            .await
            .map_err(ConnectError::Open)?;
        // An in-memory database exists once per connection: readers must share the writer's.
        let read = if url.contains(":memory:") || url.contains("mode=memory") {
            write.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(max_connections.max(1))
                .connect_with(options.read_only(true))
                .await
                .map_err(ConnectError::Open)?
        };
        Ok(Db::Sqlite { read, write })
    }

    pub async fn migrate(&self) -> Result<(), ConnectError> {
        match self {
            Db::Sqlite { write, .. } => sqlx::migrate!("migrations/sqlite").run(write).await,
            Db::Postgres(pool) => sqlx::migrate!("migrations/postgres").run(pool).await,
        }
        .map_err(ConnectError::Migrate)
    }

    /// Whether every migration this build carries is applied (a node started by an older build,
    /// or a database restored from before an upgrade, is not ready).
    pub async fn migrations_applied(&self) -> Result<bool, sqlx::Error> {
        let (expected, sql) = (
            match self {
                Db::Sqlite { .. } => sqlx::migrate!("migrations/sqlite").iter().count(),
                Db::Postgres(_) => sqlx::migrate!("migrations/postgres").iter().count(),
            },
            "SELECT COUNT(*) FROM _sqlx_migrations WHERE success = TRUE",
        );
        let applied: i64 = on_read!(self, pool => sqlx::query_scalar(sql).fetch_one(pool).await)?;
        Ok(usize::try_from(applied).is_ok_and(|n| n >= expected))
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Starts a write transaction.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite { write, .. } => Tx::Sqlite(write.begin().await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Closes every connection, waiting for those in use to be returned.
    pub async fn close(&self) {
        match self {
            Db::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

/// The current time as stored: whole microseconds, the finest both databases keep, so a value read
/// back compares equal to the one written.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// A time from outside (a charger's timestamp) as stored: whole microseconds, like [`now`].
pub fn stored_time(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

/// Checks that the database answers.
pub async fn ping(db: &Db) -> Result<(), sqlx::Error> {
    on_read!(db, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}
