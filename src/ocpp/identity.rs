//! Who a connecting charger is: its credentials (for the handshake) and the charging point that
//! adopted it (for its BootNotification), read for many chargers at once.
//!
//! When a whole network reconnects, thousands of handshakes arrive within a second. Reading each
//! charger's row with a query of its own made them queue for database connections, behind the
//! writes (on PostgreSQL 15,046 of 19,000 handshakes outwaited the pool and were refused 503).
//! Here one task gathers every lookup waiting and answers them with two queries, so a storm
//! costs a few dozen queries, and on PostgreSQL it reads on a small pool of its own: a handshake
//! never waits for a connection that a writer holds (see [`super::grouped`]).

use std::sync::Arc;

use super::grouped::{GroupedReads, LookupFailed, Read};
use crate::db::Db;
use crate::db::charger_security::{self, ChargerCredentials};
use crate::db::charger_state::{self, PointLink};

/// Most lookups answered by one pair of queries.
const MAX_BATCH: usize = 2048;

/// What the handshake and the first boot need to know about a charger.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    pub credentials: ChargerCredentials,
    /// The live point whose `device_id` is the charger's id.
    pub point: Option<PointLink>,
}

/// Where handshakes ask; cheap to clone.
#[derive(Debug, Clone)]
pub struct Identities {
    reads: GroupedReads<Arc<str>, Identity>,
}

impl Identities {
    /// Starts the lookup task, reading through `reader` (see [`super::grouped::reader`]).
    pub fn start(reader: Db) -> Self {
        let read: Read<Arc<str>, Identity> = Arc::new(|db, ids| Box::pin(read(db, ids)));
        Self {
            reads: GroupedReads::start(reader, MAX_BATCH, "charger_identities", read),
        }
    }

    /// The charger's credentials and point.
    pub async fn of(&self, charge_point_id: &Arc<str>) -> Result<Identity, LookupFailed> {
        self.reads.get(charge_point_id.clone()).await
    }
}

async fn read(db: &Db, ids: &[Arc<str>]) -> Result<Vec<Identity>, sqlx::Error> {
    let mut credentials = charger_security::credentials_many(db, ids).await?;
    let points = charger_state::points_of(db, ids).await?;
    Ok(ids
        .iter()
        .map(|id| Identity {
            credentials: credentials.remove(id).unwrap_or_default(),
            point: points.get(id).cloned(),
        })
        .collect())
}
