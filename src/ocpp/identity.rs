//! Who a connecting charger is: its credentials (for the handshake) and the charging point that
//! adopted it (for its BootNotification), read for many chargers at once.
//!
//! When a whole network reconnects, thousands of handshakes arrive within a second. Reading each
//! charger's row with a query of its own made them queue for database connections, behind the
//! writes (on PostgreSQL 15,046 of 19,000 handshakes outwaited the pool and were refused 503).
//! Here one task gathers every lookup waiting and answers them with two queries, so a storm
//! costs a few dozen queries, and on PostgreSQL it reads on a small pool of its own: a handshake
//! never waits for a connection that a writer holds.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::db::charger_security::{self, ChargerCredentials};
use crate::db::charger_state::{self, PointLink};
use crate::db::{self, Db, Failure};

/// Most lookups answered by one pair of queries.
const MAX_BATCH: usize = 2048;
/// Lookups waiting before handshakes wait to queue theirs.
const QUEUE: usize = 16_384;
/// Connections of the lookups' own PostgreSQL pool.
const POSTGRES_CONNECTIONS: u32 = 2;

/// What the handshake and the first boot need to know about a charger.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    pub credentials: ChargerCredentials,
    /// The live point whose `device_id` is the charger's id.
    pub point: Option<PointLink>,
}

/// The lookup failed; as the database's error was shared by a whole batch, only its kind is
/// kept, as an error of that kind.
#[derive(Debug)]
pub struct LookupFailed(pub sqlx::Error);

type Waiter = oneshot::Sender<Result<Identity, Failure>>;

/// Where handshakes ask; cheap to clone.
#[derive(Debug, Clone)]
pub struct Identities {
    queue: mpsc::Sender<(Arc<str>, Waiter)>,
}

impl Identities {
    /// Starts the lookup task, reading through `db` (on PostgreSQL, through a pool of its own
    /// with `db`'s settings).
    pub fn start(db: &Db) -> Self {
        let reader = match db {
            Db::Sqlite { .. } => db.clone(),
            Db::Postgres(pool) => {
                let own = sqlx::postgres::PgPoolOptions::new()
                    .max_connections(POSTGRES_CONNECTIONS)
                    .acquire_timeout(pool.options().get_acquire_timeout())
                    .connect_lazy_with(pool.connect_options().as_ref().clone());
                Db::Postgres(own)
            }
        };
        let (queue, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(run(reader, receiver));
        Self { queue }
    }

    /// The charger's credentials and point.
    pub async fn of(&self, charge_point_id: &Arc<str>) -> Result<Identity, LookupFailed> {
        let (waiter, answer) = oneshot::channel();
        let stopped = || LookupFailed(sqlx::Error::PoolClosed);
        self.queue
            .send((charge_point_id.clone(), waiter))
            .await
            .map_err(|_| stopped())?;
        match answer.await {
            Ok(Ok(identity)) => Ok(identity),
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
            sqlx::Error::Protocol("reading chargers' credentials failed".into())
        }
    }
}

async fn run(db: Db, mut receiver: mpsc::Receiver<(Arc<str>, Waiter)>) {
    let mut waiting = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut waiting, MAX_BATCH).await > 0 {
        let batch = std::mem::take(&mut waiting);
        let ids: Vec<Arc<str>> = batch.iter().map(|(id, _)| id.clone()).collect();
        match read(&db, &ids).await {
            Ok((mut credentials, points)) => {
                for (id, waiter) in batch {
                    let identity = Identity {
                        credentials: credentials.remove(&id).unwrap_or_default(),
                        point: points.get(&id).cloned(),
                    };
                    let _ = waiter.send(Ok(identity));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, chargers = batch.len(), "could not read connecting chargers' credentials");
                let failure = db::failure(&e);
                for (_, waiter) in batch {
                    let _ = waiter.send(Err(failure));
                }
            }
        }
    }
}

async fn read(
    db: &Db,
    ids: &[Arc<str>],
) -> Result<
    (
        HashMap<Arc<str>, ChargerCredentials>,
        HashMap<Arc<str>, PointLink>,
    ),
    sqlx::Error,
> {
    let credentials = charger_security::credentials_many(db, ids).await?;
    let points = charger_state::points_of(db, ids).await?;
    Ok((credentials, points))
}
