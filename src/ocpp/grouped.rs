//! Reads that many connections ask for at once, answered together: one task takes every request
//! waiting and answers them all with one read, then takes what arrived meanwhile (the batch
//! writer's group commit, for reads). An idle server reads each request as it comes; when a whole
//! network arrives at once, thousands of requests share a few queries instead of queueing for
//! database connections one query each.
//!
//! On PostgreSQL the reads go through a small pool of their own ([`reader`]), so they never wait
//! for a connection that a writer holds.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use tokio::sync::{mpsc, oneshot};

use crate::db::{self, Db, Failure};

/// Requests waiting before callers wait to queue theirs.
const QUEUE: usize = 16_384;
/// Connections of the grouped reads' own PostgreSQL pool (one per kind of read).
const POSTGRES_CONNECTIONS: u32 = 2;

/// Where grouped reads read: `db` itself on SQLite (whose reads have their own pool already),
/// a pool of their own with `db`'s settings on PostgreSQL.
pub fn reader(db: &Db) -> Db {
    match db {
        Db::Sqlite { .. } => db.clone(),
        Db::Postgres(pool) => {
            let own = sqlx::postgres::PgPoolOptions::new()
                .max_connections(POSTGRES_CONNECTIONS)
                .acquire_timeout(pool.options().get_acquire_timeout())
                .connect_lazy_with(pool.connect_options().as_ref().clone());
            Db::Postgres(own)
        }
    }
}

/// The read failed; as the database's error was shared by a whole group, only its kind is kept,
/// as an error of that kind (see [`db::failure`]).
#[derive(Debug)]
pub struct LookupFailed(pub sqlx::Error);

/// Reads the values of many keys at once, in the keys' order.
pub type Read<K, V> = Arc<
    dyn for<'a> Fn(&'a Db, &'a [K]) -> BoxFuture<'a, Result<Vec<V>, sqlx::Error>> + Send + Sync,
>;

type Waiter<V> = oneshot::Sender<Result<V, Failure>>;

/// Where callers ask for the value of a key; cheap to clone.
pub struct GroupedReads<K, V> {
    queue: mpsc::Sender<(K, Waiter<V>)>,
}

impl<K, V> Clone for GroupedReads<K, V> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
        }
    }
}

impl<K, V> std::fmt::Debug for GroupedReads<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupedReads").finish_non_exhaustive()
    }
}

impl<K: Send + 'static, V: Send + 'static> GroupedReads<K, V> {
    /// Starts the task that answers requests `max_group` at most at a time with `read` on `db`;
    /// `what` names the read in the log and in the metrics' `read` label.
    pub fn start(db: Db, max_group: usize, what: &'static str, read: Read<K, V>) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(run(db, max_group, what, read, receiver));
        Self { queue }
    }

    /// The value of `key`.
    pub async fn get(&self, key: K) -> Result<V, LookupFailed> {
        let (waiter, answer) = oneshot::channel();
        let stopped = || LookupFailed(sqlx::Error::PoolClosed);
        self.queue
            .send((key, waiter))
            .await
            .map_err(|_| stopped())?;
        match answer.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(failure)) => Err(LookupFailed(error_of_kind(failure))),
            Err(_) => Err(stopped()),
        }
    }
}

/// An error that [`db::failure`] classifies as `failure`.
fn error_of_kind(failure: Failure) -> sqlx::Error {
    match failure {
        Failure::Unavailable => sqlx::Error::PoolTimedOut,
        Failure::Conflict | Failure::Refused => {
            sqlx::Error::Protocol("a grouped read failed".into())
        }
    }
}

async fn run<K, V>(
    db: Db,
    max_group: usize,
    what: &'static str,
    read: Read<K, V>,
    mut receiver: mpsc::Receiver<(K, Waiter<V>)>,
) {
    let mut waiting = Vec::with_capacity(max_group);
    while receiver.recv_many(&mut waiting, max_group).await > 0 {
        let (keys, waiters): (Vec<K>, Vec<Waiter<V>>) = waiting.drain(..).unzip();
        metrics::counter!("ocpp_grouped_reads_total", "read" => what).increment(1);
        metrics::counter!("ocpp_grouped_read_keys_total", "read" => what)
            .increment(keys.len() as u64);
        match read(&db, &keys).await {
            Ok(values) if values.len() == keys.len() => {
                for (value, waiter) in values.into_iter().zip(waiters) {
                    let _ = waiter.send(Ok(value));
                }
            }
            Ok(values) => {
                tracing::error!(
                    what,
                    asked = keys.len(),
                    answered = values.len(),
                    "a grouped read gave a value per key it was not asked"
                );
                for waiter in waiters {
                    let _ = waiter.send(Err(Failure::Refused));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, what, asked = keys.len(), "a grouped read failed");
                let failure = db::failure(&e);
                for waiter in waiters {
                    let _ = waiter.send(Err(failure));
                }
            }
        }
    }
}
