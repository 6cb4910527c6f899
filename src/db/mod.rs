//! The data layer: one set of SQL for SQLite and PostgreSQL.
//!
//! [`Db`] holds the pools of whichever database `DATABASE_URL` names. Each query is written once and
//! run on either through the [`on_read!`], [`on_write!`] and [`on_tx!`] macros, which expand the
//! same body once per backend. Only the migrations differ per dialect.
//!
//! SQLite allows one writer at a time; writes go through a pool of one connection so they queue in
//! the pool instead of failing with SQLITE_BUSY, while reads use a pool of their own (WAL mode lets
//! them run beside the writer).
//!
//! When the database cannot be reached, a pool gives up after [`PoolSettings::acquire_timeout`]
//! (a few seconds), and [`failure`] tells such an outage from a refused statement, so the REST API
//! answers 503 and chargers get a CALLERROR quickly instead of waiting on a dead connection.

pub mod charger_security;
pub mod charger_settings;
pub mod charger_state;
pub mod chargers;
mod checkpoints;
pub mod commands;
pub mod copy;
pub mod corrections;
pub mod customers;
pub mod dashboard;
pub mod errors;
pub mod filter;
pub mod firmware;
pub mod id_tags;
pub mod local_lists;
pub mod meter_values;
pub mod meter_values_read;
pub mod ocpp_messages;
pub mod organizations;
pub mod points;
pub mod reservations;
pub mod sessions;
pub mod station_images;
pub mod stations;
pub mod tariffs;
pub mod transactions;
pub mod types;
pub mod unnest;
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
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
        /// None for an in-memory database, which has no WAL.
        checkpoints: Option<std::sync::Arc<checkpoints::Checkpointer>>,
    },
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

/// How the pools are sized and how long a caller waits for a connection.
#[derive(Clone, Copy, Debug)]
pub struct PoolSettings {
    /// Most connections a pool opens (SQLite's writer pool always has one).
    pub max_connections: u32,
    /// How long a query waits for a connection before the database counts as unavailable.
    /// SQLite's writer pool waits longer (see [`SQLITE_WRITER_WAIT`]): there a wait is a queue
    /// for the one writer, not an outage.
    pub acquire_timeout: Duration,
}

impl PoolSettings {
    /// `max_connections` connections, waiting at most 3 s for one.
    pub fn new(max_connections: u32) -> Self {
        Self {
            max_connections,
            acquire_timeout: Duration::from_secs(3),
        }
    }
}

/// PostgreSQL plans queries from the table statistics that autovacuum keeps fresh. With it off,
/// a table's statistics stay those of when it was empty, and plans with them: measured here, a
/// wallet reading that reads every running session instead of the customer's (migrations 0011
/// and 0012 guard the hot lookups, but not every query can be). Said once, at start.
async fn warn_if_autovacuum_is_off(pool: &PgPool) {
    let setting: Result<String, _> = sqlx::query_scalar("SHOW autovacuum").fetch_one(pool).await;
    if matches!(setting.as_deref(), Ok("off")) {
        tracing::warn!(
            "PostgreSQL's autovacuum is off: table statistics go stale and query plans with them; turn it on (autovacuum = on) or run ANALYZE regularly"
        );
    }
}

/// How long a write waits for SQLite's one writer connection: writes queue there by design.
const SQLITE_WRITER_WAIT: Duration = Duration::from_secs(30);
/// The SQLite writer's page cache, in KiB: a limit it reaches only while the readers' caches leave
/// room in [`SQLITE_HEAP_LIMIT_BYTES`], which all of SQLite's caches share.
const WRITER_CACHE_KIB: u32 = 64 * 1024;
/// All that SQLite may hold on the heap in this process, every connection's page cache with
/// their statements and schemas, in bytes: past it SQLite reuses pages of a cache instead of
/// growing it (a soft limit, process-wide). Without one budget the caches filled to their own
/// limits (the writer's 64 MiB, 2 MiB for each reader) only when the load first reached them. In
/// the one-hour soak SQLite held 58 to 72 MB for 45 minutes, then 91 MB from one minute to the
/// next, when a burst of 19,000 balance-guard stops kept every reader busy at once, and the
/// server's memory stepped up with it (`sqlite_heap_bytes` in `metrics.log`). With the budget the caches reach their
/// ceiling within the first minutes of load and stay there.
const SQLITE_HEAP_LIMIT_BYTES: u64 = 64 * 1024 * 1024;

/// Bytes SQLite holds on the heap now, for every SQLite connection of this process together: page
/// caches, prepared statements, schemas. Zero when no SQLite database is open. Exported as a
/// gauge so a memory graph tells SQLite's share from the rest of the server's.
pub fn sqlite_heap_bytes() -> i64 {
    // SAFETY: sqlite3_memory_used takes no argument and reads SQLite's global memory statistics
    // under SQLite's own mutex; it may be called from any thread, before or after any open.
    unsafe { libsqlite3_sys::sqlite3_memory_used() }
}

/// Ids bound in one `IN (...)` list: far below SQLite's and PostgreSQL's parameter limits.
const IDS_PER_STATEMENT: usize = 500;

/// The rows of `head`, a SELECT ending in `IN (`, for every id of `ids` (a few statements of up
/// to [`IDS_PER_STATEMENT`] ids each), on the read pool.
pub async fn rows_for_ids<R>(
    db: &Db,
    head: &'static str,
    ids: &[std::sync::Arc<str>],
) -> Result<Vec<R>, sqlx::Error>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin,
{
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        let mut part: Vec<R> = crate::on_read!(db, pool => {
            let mut q = sqlx::QueryBuilder::new(head);
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(id.to_string());
            }
            q.push(")");
            q.build_query_as().persistent(keep_prepared(chunk.len())).fetch_all(pool).await
        })?;
        rows.append(&mut part);
    }
    Ok(rows)
}

/// Rows per multi-row statement ([`execute_values!`], multi-row INSERTs): with up to 20
/// parameters a row, far below SQLite's (32,766) and PostgreSQL's (65,535) parameter limits.
pub const ROWS_PER_STATEMENT: usize = 500;

/// Whether a statement of `rows` rows stays prepared in its connection's statement cache. Each
/// row count is a statement of its own, and a prepared statement of hundreds of rows is large
/// (SQLite's compiled program holds every value's slot): cached, a storm's batches filled each
/// connection's cache (100 statements) with them, adding about 3 KiB per connected charger
/// after a 19,000-charger storm. Small ones, the steady state's, are worth keeping.
pub fn keep_prepared(rows: usize) -> bool {
    rows <= 8
}

/// Runs `$head VALUES (...), (...) $tail` in transaction `$tx`, one statement per
/// [`ROWS_PER_STATEMENT`] of `$rows`, each row's values pushed by `|$b, $r| ...`; gives the rows
/// affected. With `$head` ending in `FROM (` and `$tail` starting with `) AS v`, it is an UPDATE
/// of many rows from a table of values: the values' columns are `v.column1`, `v.column2`... in
/// both dialects (SQLite names no other way). One statement instead of one per row is what lets
/// a whole network's messages share a batch cheaply: each statement is a round trip (on SQLite, to
/// its worker thread) and a parse, whatever its size.
#[macro_export]
macro_rules! execute_values {
    ($tx:expr, $head:expr, $tail:expr, $rows:expr, |$b:ident, $r:ident| $bind:block) => {
        async {
            let mut affected = 0u64;
            for chunk in $rows.chunks($crate::db::ROWS_PER_STATEMENT) {
                affected += $crate::on_tx!(&mut *$tx, conn => {
                    let mut q = sqlx::QueryBuilder::new($head);
                    q.push_values(chunk, |mut $b, $r| $bind);
                    q.push($tail);
                    q.build()
                        .persistent($crate::db::keep_prepared(chunk.len()))
                        .execute(conn)
                        .await
                        .map(|r| r.rows_affected())
                })?;
            }
            Ok::<u64, sqlx::Error>(affected)
        }
        .await
    };
}

/// [`execute_values!`] for a statement that returns rows (`RETURNING`, or a SELECT joining the
/// values): every row of every chunk, as `$row`. `$persistent` false sends it unprepared, planned
/// with the values at hand (see `transactions::tag_holder`).
#[macro_export]
macro_rules! fetch_values {
    ($tx:expr, $head:expr, $tail:expr, $rows:expr, $row:ty, $persistent:expr, |$b:ident, $r:ident| $bind:block) => {
        async {
            let mut found: Vec<$row> = Vec::new();
            for chunk in $rows.chunks($crate::db::ROWS_PER_STATEMENT) {
                let mut part: Vec<$row> = $crate::on_tx!(&mut *$tx, conn => {
                    let mut q = sqlx::QueryBuilder::new($head);
                    q.push_values(chunk, |mut $b, $r| $bind);
                    q.push($tail);
                    q.build_query_as()
                        .persistent($persistent && $crate::db::keep_prepared(chunk.len()))
                        .fetch_all(conn)
                        .await
                })?;
                found.append(&mut part);
            }
            Ok::<Vec<$row>, sqlx::Error>(found)
        }
        .await
    };
}

/// The rows of `$head (keys) $tail` for `$keys`, a slice of distinct keys the statement joins as
/// `v.column1`, of PostgreSQL type `$key_type`: a batch's row locks by point, transaction or
/// customer. On PostgreSQL above [`ROWS_PER_STATEMENT`] keys the keys go as one array (see
/// [`unnest`]: planned each time, never kept prepared), otherwise as `VALUES` lists.
#[macro_export]
macro_rules! fetch_by_keys {
    ($tx:expr, $head:expr, $tail:expr, $key_type:literal, $keys:expr, $row:ty) => {
        async {
            let keys = $keys;
            if let Some(conn) = $crate::db::unnest::worth_joining(&mut *$tx, keys.len()) {
                sqlx::query_as::<_, $row>($crate::db::unnest::statement($head, &[$key_type], $tail))
                    .persistent(false)
                    .bind(keys)
                    .fetch_all(conn)
                    .await
            } else {
                $crate::fetch_values!($tx, $head, $tail, keys, $row, true, |b, key| {
                    b.push_bind(*key);
                })
            }
        }
        .await
    };
}

/// What a database error means for whoever asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The database cannot be reached or cannot take writes now: the connection is lost or
    /// refused, no connection came within the acquire timeout, the disk is full, another process
    /// holds the lock. Nothing is wrong with the request; it may succeed later (REST: 503,
    /// OCPP: CALLERROR InternalError, which the charger retries).
    Unavailable,
    /// A conflict with a concurrent transaction (serialization failure, deadlock): the same
    /// statement may succeed at once when retried.
    Conflict,
    /// The database refused this statement (a constraint, a type, a bug): it fails again.
    Refused,
}

/// Classifies `err` (see [`Failure`]). The one place that knows each database's error codes.
pub fn failure(err: &sqlx::Error) -> Failure {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => Failure::Unavailable,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                sqlite_failure(&code)
            } else {
                postgres_failure(&code)
            }
        }
        _ => Failure::Refused,
    }
}

/// SQLite reports its (extended) result code as a number; the primary code is its low byte.
fn sqlite_failure(code: &str) -> Failure {
    const BUSY: i64 = 5;
    const LOCKED: i64 = 6;
    const READONLY: i64 = 8;
    const IOERR: i64 = 10;
    const FULL: i64 = 13;
    const CANTOPEN: i64 = 14;
    match code.parse::<i64>().map(|c| c & 0xff) {
        // BUSY and LOCKED come after the busy timeout has been waited out: another process holds
        // the database, and waiting longer here would only stall the caller.
        Ok(BUSY | LOCKED | READONLY | IOERR | FULL | CANTOPEN) => Failure::Unavailable,
        _ => Failure::Refused,
    }
}

/// PostgreSQL's SQLSTATE classes: 08 connection exception, 53 insufficient resources (disk full,
/// out of memory, too many connections), 57P0x shutting down or starting, 58 system error;
/// 40001 serialization failure and 40P01 deadlock are conflicts.
fn postgres_failure(code: &str) -> Failure {
    match code {
        "40001" | "40P01" => Failure::Conflict,
        c if c.starts_with("08") || c.starts_with("53") || c.starts_with("58") => {
            Failure::Unavailable
        }
        "57P01" | "57P02" | "57P03" => Failure::Unavailable,
        _ => Failure::Refused,
    }
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
    /// What a SELECT ends with to lock the rows of `table` it reads until the commit, as an
    /// UPDATE would: `FOR UPDATE OF table` on PostgreSQL. Nothing on SQLite, where the
    /// transaction already holds the one write lock of the whole database (begun IMMEDIATE on
    /// the one writer connection). A locking SELECT writes nothing, where the `UPDATE … SET
    /// column = column` that stands in for it in one SQL for both databases rewrites every row:
    /// on SQLite a page image in the WAL for each page touched, on PostgreSQL a row version.
    pub fn row_lock(&self, table: &str) -> String {
        match self {
            Tx::Sqlite(_) => String::new(),
            Tx::Postgres(_) => format!(" FOR UPDATE OF {table}"),
        }
    }

    /// Whether row locks mean anything here: false on SQLite (see [`Tx::row_lock`]), where a
    /// statement that only locks can be left out.
    pub fn locks_rows(&self) -> bool {
        matches!(self, Tx::Postgres(_))
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        }
    }
}

impl Db {
    /// Opens the database named by `url` with `max_connections` and the default acquire timeout
    /// (see [`Db::connect_with`]).
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, ConnectError> {
        Self::connect_with(url, PoolSettings::new(max_connections)).await
    }

    /// Opens the database named by `url`, creating an SQLite file if needed, and applies the
    /// migrations, so the server never serves a schema older than its code.
    pub async fn connect_with(url: &str, settings: PoolSettings) -> Result<Self, ConnectError> {
        let max_connections = settings.max_connections;
        let db = if url.starts_with("sqlite:") {
            Self::open_sqlite(url, settings).await?
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options = PgConnectOptions::from_str(url).map_err(ConnectError::Open)?;
            let pool = PgPoolOptions::new()
                .max_connections(max_connections.max(1))
                // During an outage a caller learns it in seconds (503, CALLERROR), and the pool
                // keeps trying to connect, so recovery needs no restart.
                .acquire_timeout(settings.acquire_timeout)
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
        if let Db::Postgres(pool) = &db {
            warn_if_autovacuum_is_off(pool).await;
        }
        Ok(db)
    }

    async fn open_sqlite(url: &str, settings: PoolSettings) -> Result<Self, ConnectError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(ConnectError::Open)?
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        // The writer's page cache: SQLite's default of 2 MiB held a fraction of what a storm's
        // batches touch, so the one writer thread spent its time re-reading pages from the OS.
        // It fills only as pages are used.
        let writer_options = options
            .clone()
            .pragma("soft_heap_limit", SQLITE_HEAP_LIMIT_BYTES.to_string())
            .pragma("cache_size", format!("-{WRITER_CACHE_KIB}"))
            .pragma(
                "wal_autocheckpoint",
                checkpoints::WRITER_BACKSTOP_PAGES.to_string(),
            )
            // After a storm has grown the WAL, it is cut back to this size once checkpointed.
            .pragma("journal_size_limit", (64 * 1024 * 1024).to_string());
        // sqlx by default replaces a connection after 30 minutes, and an idle one after 10:
        // that refreshes a network server's session, but an SQLite connection lives in this
        // process and has nothing to refresh. Replacing the writer threw its page cache away and
        // built it again, in glibc's arenas (see `limit_malloc_arenas` in main.rs), which keep
        // what a thread freed: in the one-hour soak the server's memory dipped at minute 30 and
        // then refilled. So SQLite's connections are kept for the pool's life.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .max_lifetime(None)
            .idle_timeout(None)
            .acquire_timeout(SQLITE_WRITER_WAIT.max(settings.acquire_timeout))
            // Waiting for the one writer is how SQLite writes queue here, not a symptom: warn only
            // when a wait is long enough to matter.
            .acquire_slow_threshold(Duration::from_secs(5))
            .connect_with(writer_options)
            .await
            .map_err(ConnectError::Open)?;
        // An in-memory database exists once per connection: readers must share the writer's.
        let (read, checkpoints) = if in_memory {
            (write.clone(), None)
        } else {
            // Readers: an idle one may still close (its cache goes with it), but none is replaced
            // only for its age.
            let read = SqlitePoolOptions::new()
                .max_connections(settings.max_connections.max(1))
                .max_lifetime(None)
                .acquire_timeout(settings.acquire_timeout)
                .connect_with(options.clone().read_only(true))
                .await
                .map_err(ConnectError::Open)?;
            let checkpoints = checkpoints::Checkpointer::start(&options)
                .await
                .map_err(ConnectError::Open)?;
            (read, Some(std::sync::Arc::new(checkpoints)))
        };
        Ok(Db::Sqlite {
            read,
            write,
            checkpoints,
        })
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
            // IMMEDIATE: the write lock from the first statement, so a transaction that reads
            // before it writes (see `Tx::row_lock`) never finds that another process wrote in
            // between. The one writer connection means nothing in this process waits on it.
            Db::Sqlite { write, .. } => Tx::Sqlite(write.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Closes every connection, waiting for those in use to be returned.
    pub async fn close(&self) {
        match self {
            Db::Sqlite {
                read,
                write,
                checkpoints,
            } => {
                if let Some(checkpoints) = checkpoints {
                    checkpoints.stop();
                }
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

#[cfg(test)]
mod tests {
    use sqlx::Connection;

    use super::*;

    /// A full disk is an outage, not a bad row: SQLite's SQLITE_FULL, provoked for real by a
    /// page limit.
    #[tokio::test]
    async fn a_full_sqlite_database_is_unavailable_and_a_constraint_is_refused() {
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .unwrap();
        sqlx::raw_sql("CREATE TABLE t (v BLOB NOT NULL); PRAGMA max_page_count = 20;")
            .execute(&mut conn)
            .await
            .unwrap();
        let mut full = None;
        for _ in 0..100 {
            if let Err(e) = sqlx::raw_sql("INSERT INTO t VALUES (randomblob(4000))")
                .execute(&mut conn)
                .await
            {
                full = Some(e);
                break;
            }
        }
        let full = full.expect("the page limit is reached");
        assert!(full.to_string().contains("full"), "{full}");
        assert_eq!(failure(&full), Failure::Unavailable);

        let refused = sqlx::raw_sql("INSERT INTO t VALUES (NULL)")
            .execute(&mut conn)
            .await
            .unwrap_err();
        assert_eq!(failure(&refused), Failure::Refused);
        assert_eq!(failure(&sqlx::Error::PoolTimedOut), Failure::Unavailable);
        assert_eq!(failure(&sqlx::Error::RowNotFound), Failure::Refused);
    }

    #[test]
    fn postgres_codes_are_classified_by_class() {
        assert_eq!(postgres_failure("08006"), Failure::Unavailable);
        assert_eq!(postgres_failure("53100"), Failure::Unavailable);
        assert_eq!(postgres_failure("57P01"), Failure::Unavailable);
        assert_eq!(postgres_failure("40001"), Failure::Conflict);
        assert_eq!(postgres_failure("23505"), Failure::Refused);
        assert_eq!(postgres_failure("P0001"), Failure::Refused);
    }
}
