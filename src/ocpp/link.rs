//! One charger's connection: what evcms knows about it while it is connected (its point, its
//! transactions, its quirks), shared by the message handlers. [`super::dispatch`] reads the frames.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Hub;
use super::frame::{CallError, ErrorCode};
use super::lenient::Quirk;
use super::outbox::Outbox;
use crate::charging::running::{self, RunningSession};
use crate::db::charger_state::PointLink;
use crate::db::{self, Db};
use crate::events::Fact;

/// How often at most a connection's traffic moves its charger's `last_seen_at`.
const SEEN_EVERY: Duration = Duration::from_secs(30);

/// How long the point read at the handshake may serve the first BootNotification.
const HANDSHAKE_POINT_FRESH: Duration = Duration::from_secs(5);

/// How often at most a session's live energy and cost go out on the event stream.
pub const UPDATE_EVERY: Duration = Duration::from_secs(5);

/// Transactions remembered per connection (most chargers have one to three connectors).
const REMEMBERED_TRANSACTIONS: usize = 64;

/// A connected charger.
pub struct Link {
    pub db: Db,
    pub hub: Arc<Hub>,
    pub charge_point_id: Arc<str>,
    /// The charging point that adopted this charger, if any (read at connection and boot).
    pub point: Option<PointLink>,
    /// When `point` was read at the handshake, until a boot uses it.
    point_from_handshake: Option<Instant>,
    /// Transactions of this charger seen on this connection, by OCPP transaction id; `None`
    /// remembers an id that is not this charger's.
    transactions: HashMap<i32, Option<RunningSession>>,
    pub(super) quirks_logged: Vec<Quirk>,
    seen_sent: Option<Instant>,
    /// The CALLs evcms sends this charger: one in flight at a time.
    pub outbox: Outbox,
    /// The balance guard's memory of this charger's sessions.
    pub guard: crate::charging::guard::Watch,
    /// When each session's last `session.updated` event was told, by session record id.
    updates_told: HashMap<i64, Instant>,
}

impl Link {
    pub fn new(db: Db, hub: Arc<Hub>, charge_point_id: Arc<str>) -> Self {
        let outbox = Outbox::new(hub.settings.call_timeout);
        Self {
            db,
            hub,
            charge_point_id,
            point: None,
            point_from_handshake: None,
            transactions: HashMap::new(),
            quirks_logged: Vec::new(),
            seen_sent: None,
            outbox,
            guard: Default::default(),
            updates_told: HashMap::new(),
        }
    }

    /// Queues a `last_seen_at` update at most every [`SEEN_EVERY`].
    pub(super) async fn note_seen(&mut self) {
        if self.seen_sent.is_some_and(|at| at.elapsed() < SEEN_EVERY) {
            return;
        }
        self.seen_sent = Some(Instant::now());
        self.hub
            .samples
            .seen(self.charge_point_id.clone(), db::now())
            .await;
    }

    /// Runs `work` in a batch transaction of this charger's writer lane (see
    /// [`super::batcher`]); its answer once committed.
    pub async fn grouped<T: Send + 'static>(
        &self,
        work: super::batcher::Work<T>,
    ) -> Result<T, super::batcher::NotStored> {
        self.hub.samples.grouped(&self.charge_point_id, work).await
    }

    /// Takes the point read with the charger's credentials at the handshake (None: not adopted).
    pub fn adopt_at_connection(&mut self, point: Option<PointLink>) {
        self.point = point;
        self.point_from_handshake = Some(Instant::now());
    }

    /// The point for a BootNotification. For the connection's first boot, the point read at the
    /// handshake when there was one and the boot follows within [`HANDSHAKE_POINT_FRESH`] (as in a
    /// storm: milliseconds); otherwise it is read afresh, since an operator may have adopted the
    /// charger after it connected and before it booted.
    pub async fn point_for_boot(&mut self) -> Result<Option<PointLink>, sqlx::Error> {
        let fresh = self
            .point_from_handshake
            .take()
            .is_some_and(|at| at.elapsed() < HANDSHAKE_POINT_FRESH);
        if !(fresh && self.point.is_some()) {
            self.point =
                crate::db::charger_state::point_of(&self.db, &self.charge_point_id).await?;
        }
        Ok(self.point.clone())
    }

    /// The point that adopted this charger. Read again while there is none, so a charger adopted
    /// while connected is recognised without waiting for its next boot.
    pub async fn point(&mut self) -> Result<Option<PointLink>, sqlx::Error> {
        if self.point.is_none() {
            self.point =
                crate::db::charger_state::point_of(&self.db, &self.charge_point_id).await?;
        }
        Ok(self.point.clone())
    }

    /// The organization whose users see this charger's events (see `crate::events`): its point's
    /// station's, read once per connection while a point has adopted it. None when no point has,
    /// or the point could not be read (then only users bound to no organization see them).
    pub async fn organization(&mut self) -> Option<std::sync::Arc<str>> {
        if !self.hub.events.has_subscribers() && self.point.is_none() {
            return None;
        }
        match self.point().await {
            Ok(point) => point.and_then(|p| p.organization),
            Err(e) => {
                tracing::warn!(charger = %self.charge_point_id, error = %e, "could not read the charger's point for its events");
                None
            }
        }
    }

    /// Publishes what `make` gives on the live event stream, for this charger's organization;
    /// call it once what the event reports is committed. Builds nothing when nobody listens.
    pub async fn tell(&mut self, make: impl FnOnce() -> Fact) {
        let organization = self.organization().await;
        self.hub.events.publish(organization.as_deref(), make);
    }

    /// Whether session `session_id` may have a `session.updated` event now (at most one every
    /// [`UPDATE_EVERY`]); if so, counts this one. With nobody listening it is always due (and
    /// publishing it only moves the sequence on).
    pub fn update_due(&mut self, session_id: i64) -> bool {
        if !self.hub.events.has_subscribers() {
            return true;
        }
        if self
            .updates_told
            .get(&session_id)
            .is_some_and(|at| at.elapsed() < UPDATE_EVERY)
        {
            return false;
        }
        if self.updates_told.len() >= REMEMBERED_TRANSACTIONS {
            self.updates_told.clear();
        }
        self.updates_told.insert(session_id, Instant::now());
        true
    }

    /// A transaction of this charger, from memory or the database.
    pub async fn transaction(
        &mut self,
        transaction_id: i32,
    ) -> Result<Option<RunningSession>, sqlx::Error> {
        if let Some(known) = self.transactions.get(&transaction_id) {
            return Ok(known.clone());
        }
        let found = match self.point().await? {
            Some(point) => {
                running::of_point(&self.db, point.point_id, i64::from(transaction_id)).await?
            }
            None => None,
        };
        self.remember(transaction_id, found.clone());
        Ok(found)
    }

    pub fn remember(&mut self, transaction_id: i32, live: Option<RunningSession>) {
        if self.transactions.len() >= REMEMBERED_TRANSACTIONS {
            self.transactions.clear();
        }
        self.transactions.insert(transaction_id, live);
    }

    pub fn forget(&mut self, transaction_id: i32) {
        self.transactions.remove(&transaction_id);
    }
}

/// A database failure, answered as an internal error so the charger retries later.
pub fn internal(e: sqlx::Error) -> CallError {
    tracing::error!(error = %e, "database error while handling an OCPP message");
    metrics::counter!("db_errors_total", "door" => "ocpp").increment(1);
    CallError::new(
        ErrorCode::InternalError,
        "the central system could not store the message; retry later",
    )
}
