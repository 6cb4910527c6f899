//! The live event stream: what happens to chargers, connectors, sessions, commands and
//! reservations, told to the admin UI as it happens (`GET /api/cms/events`, server-sent events).
//!
//! - [`Bus`]: where the OCPP side, the commands and the charging domain publish, after what they
//!   report is committed. It lives in `ocpp::Hub`, so every door shares it.
//! - [`facts`]: the events and their data (the `data:` line of each message).
//! - [`stream`]: one subscriber's stream: its organization's events, a keep-alive comment, and
//!   `resync` when it fell behind.
//!
//! **Slow consumers never slow chargers.** Publishing never waits: events go through a
//! `tokio::sync::broadcast` channel of bounded capacity ([`Settings::buffer`]); a subscriber that
//! falls that far behind loses its place and gets a `resync` event (its UI refetches its lists)
//! instead of holding anyone back. With no subscriber at all, publishing builds nothing: no JSON,
//! no allocation, only the sequence number moves (and a resume across that gap asks for a resync).
//!
//! **Resuming.** Every event has a sequence number (the SSE `id:`); the last [`Settings::history`]
//! events are kept, so a client that reconnects with `Last-Event-ID` gets what it missed, or a
//! `resync` when what it missed is no longer all there. Numbers start at the process's start time
//! in microseconds, so an id from an earlier run is never mistaken for one of this run.
//!
//! **Organization scope** is resolved once, where an event is made: each event names the
//! organization of the station whose point adopted the charger (none for a charger no point has
//! adopted, or a station without one). A user bound to an organization gets that organization's
//! events only; a user bound to none gets all.
//!
//! **Several nodes.** With several evcms nodes on one PostgreSQL, every node's events reach the
//! subscribers of every node: a node whose events someone elsewhere listens to hands each one to
//! its [`Relay`] (`crate::cluster::events` sends them through PostgreSQL in batches), and events
//! from other nodes are published here with [`Bus::publish_from_another_node`]. Sequence numbers
//! are each node's own: a client resuming on another node than before gets `resync`.

pub mod facts;
pub mod stream;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use axum::body::Bytes;
use serde::Serialize;
use tokio::sync::{broadcast, watch};

pub use facts::Fact;

use crate::db::Db;

/// The bus's sizes.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// How many events a subscriber may fall behind before it gets `resync`.
    pub buffer: usize,
    /// How many recent events are kept for `Last-Event-ID` to resume from.
    pub history: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            buffer: 1024,
            history: 2048,
        }
    }
}

/// One published event, its SSE message written once for every subscriber.
#[derive(Debug)]
pub struct Event {
    /// The sequence number (the SSE `id:`).
    pub id: u64,
    /// The event's name (`charger.connected`, `session.updated`...).
    pub name: &'static str,
    /// The organization whose users receive it; None: only users bound to no organization.
    pub organization: Option<Arc<str>>,
    /// `id: ...\nevent: ...\ndata: ...\n\n`.
    pub message: Bytes,
}

impl Event {
    /// Whether a user limited to `scope` (None: every organization) receives it.
    pub fn is_for(&self, scope: Option<&str>) -> bool {
        match scope {
            None => true,
            Some(own) => self.organization.as_deref() == Some(own),
        }
    }
}

/// Where events are published and subscribed to.
#[derive(Debug)]
pub struct Bus {
    sender: broadcast::Sender<Arc<Event>>,
    history: Mutex<History>,
    settings: Settings,
    /// Becomes true when the server shuts down: every stream ends, so graceful shutdown does not
    /// wait for them.
    closed: watch::Sender<bool>,
    /// Set when this node is one of several.
    relay: OnceLock<Relay>,
    /// Woken by every new subscriber, so the other nodes hear of it at once.
    subscribed: tokio::sync::Notify,
}

/// Where a node's events leave for the other nodes.
#[derive(Debug)]
pub struct Relay {
    /// Whether some other node has subscribers (kept by `crate::cluster`).
    pub others_listen: Arc<AtomicBool>,
    pub outgoing: tokio::sync::mpsc::Sender<Shared>,
}

/// An event on its way to the other nodes.
#[derive(Debug, Clone)]
pub struct Shared {
    pub name: &'static str,
    pub organization: Option<Arc<str>>,
    /// The `data:` line's JSON.
    pub data: String,
}

/// The recent events, and what a resume needs to know about the ones not kept.
#[derive(Debug)]
struct History {
    /// The last sequence number given out.
    last_id: u64,
    /// The highest sequence number whose event is not in `recent` (skipped for want of
    /// subscribers, or pushed out): a resume after it is complete, one before it is not.
    lost_up_to: u64,
    recent: VecDeque<Arc<Event>>,
}

/// What a new subscriber starts with.
pub struct Subscription {
    /// The events it missed since its `Last-Event-ID`, oldest first.
    pub missed: Vec<Arc<Event>>,
    /// Why it must refetch before anything else (its `Last-Event-ID` is too old to resume).
    pub resync: Option<&'static str>,
    pub receiver: broadcast::Receiver<Arc<Event>>,
    pub closed: watch::Receiver<bool>,
}

impl Bus {
    pub fn new(settings: Settings) -> Self {
        let settings = Settings {
            buffer: settings.buffer.max(1),
            history: settings.history.max(1),
        };
        let (sender, _) = broadcast::channel(settings.buffer);
        let start = u64::try_from(chrono::Utc::now().timestamp_micros()).unwrap_or(0);
        Self {
            sender,
            history: Mutex::new(History {
                last_id: start,
                lost_up_to: start,
                recent: VecDeque::with_capacity(settings.history),
            }),
            settings,
            closed: watch::Sender::new(false),
            relay: OnceLock::new(),
            subscribed: tokio::sync::Notify::new(),
        }
    }

    /// Completes when someone subscribed since the last call (for one waiter).
    pub async fn new_subscriber(&self) {
        self.subscribed.notified().await;
    }

    /// Makes this bus one node's of several: its events also go to `relay`.
    pub fn relay_to_other_nodes(&self, relay: Relay) {
        let _ = self.relay.set(relay);
    }

    /// How many subscribers this node has.
    pub fn local_subscribers(&self) -> usize {
        self.sender.receiver_count()
    }

    fn others_listen(&self) -> bool {
        self.relay
            .get()
            .is_some_and(|r| r.others_listen.load(Ordering::Relaxed))
    }

    /// Whether anyone listens: publishers with work to do before publishing (a database read)
    /// skip it when not.
    pub fn has_subscribers(&self) -> bool {
        self.sender.receiver_count() > 0 || self.others_listen()
    }

    /// Publishes the fact `make` gives, for users of `organization`. `make` is called only when
    /// someone listens. Never waits for a subscriber.
    pub fn publish(&self, organization: Option<&str>, make: impl FnOnce() -> Fact) {
        if self.skip_if_unheard() {
            return;
        }
        let fact = make();
        let name = fact.name();
        let data = fact.data_json();
        let organization = organization.map(Arc::from);
        if let Some(relay) = self.relay.get()
            && relay.others_listen.load(Ordering::Relaxed)
        {
            let shared = Shared {
                name,
                organization: organization.clone(),
                data: data.clone(),
            };
            if relay.outgoing.try_send(shared).is_err() {
                metrics::counter!("cluster_events_dropped_total").increment(1);
            }
        }
        self.deliver(name, organization, &data);
    }

    /// Publishes an event another node told, for this node's subscribers only.
    pub fn publish_from_another_node(
        &self,
        name: &'static str,
        organization: Option<Arc<str>>,
        data: &str,
    ) {
        {
            let mut history = self.lock();
            // Subscribing takes the same lock: nobody can have come meanwhile unseen.
            if self.sender.receiver_count() == 0 {
                history.last_id += 1;
                history.lost_up_to = history.last_id;
                return;
            }
        }
        self.deliver(name, organization, data);
    }

    /// Numbers the event, keeps it for resumes and hands it to this node's subscribers.
    fn deliver(&self, name: &'static str, organization: Option<Arc<str>>, data: &str) {
        let mut history = self.lock();
        let id = history.last_id + 1;
        history.last_id = id;
        let event = Arc::new(Event {
            id,
            name,
            organization,
            message: Bytes::from(format!("id: {id}\nevent: {name}\ndata: {data}\n\n")),
        });
        if history.recent.len() >= self.settings.history
            && let Some(dropped) = history.recent.pop_front()
        {
            history.lost_up_to = dropped.id;
        }
        history.recent.push_back(event.clone());
        // An error only means every subscriber left since the check: nobody to tell.
        let _ = self.sender.send(event);
    }

    /// [`Bus::session_settled`] in the background: a charger's Stop or Start is answered without
    /// waiting for the read-back (measured: reading it inline took a 2,000-session storm's p99 from
    /// 50 ms to 640 ms with 25 subscribers).
    pub fn session_settled_later(self: &Arc<Self>, db: &Db, id: i64) {
        if self.skip_if_unheard() {
            return;
        }
        let bus = self.clone();
        let db = db.clone();
        tokio::spawn(async move { bus.session_settled(&db, id).await });
    }

    /// Tells `session.stopped` for the session record `id`, just settled (its state is read back
    /// from the database, only when someone listens).
    pub async fn session_settled(&self, db: &Db, id: i64) {
        if self.skip_if_unheard() {
            return;
        }
        match crate::db::sessions::settled_facts(db, id).await {
            Ok(Some(facts)) => {
                let organization = facts.organization.clone();
                self.publish(organization.as_deref(), || {
                    Fact::SessionStopped(facts::SessionStopped::from(facts))
                });
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(session = id, error = %e, "could not read a settled session for the event stream");
                // A resume across this gap must ask for a resync.
                let mut history = self.lock();
                history.last_id += 1;
                history.lost_up_to = history.last_id;
            }
        }
    }

    /// With nobody listening, moves the sequence on without building anything (a resume across
    /// the gap then asks for a resync) and says true. For publishers with work to do (a
    /// database read) before they can publish.
    pub fn skip_if_unheard(&self) -> bool {
        if self.has_subscribers() {
            return false;
        }
        let mut history = self.lock();
        // Subscribing takes the same lock: nobody can have come meanwhile unseen.
        if self.has_subscribers() {
            return false;
        }
        history.last_id += 1;
        history.lost_up_to = history.last_id;
        true
    }

    /// A new subscriber, resuming after `last_event_id` when given.
    pub fn subscribe(&self, last_event_id: Option<u64>) -> Subscription {
        let history = self.lock();
        let receiver = self.sender.subscribe();
        self.subscribed.notify_one();
        let (missed, resync) = match last_event_id {
            None => (Vec::new(), None),
            Some(last) if last >= history.lost_up_to && last <= history.last_id => (
                history
                    .recent
                    .iter()
                    .filter(|e| e.id > last)
                    .cloned()
                    .collect(),
                None,
            ),
            Some(_) => (Vec::new(), Some("resume")),
        };
        Subscription {
            missed,
            resync,
            receiver,
            closed: self.closed.subscribe(),
        }
    }

    /// Ends every stream (the server is shutting down).
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, History> {
        // The history is consistent after every statement: a panic elsewhere leaves it usable.
        self.history.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The `data:` line of an event: one line of JSON.
fn one_line<T: Serialize>(data: &T) -> String {
    // serde_json writes no raw newline (they are escaped inside strings).
    serde_json::to_string(data).unwrap_or_else(|_| "{}".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use facts::ChargerConnection;

    fn connected(id: &str) -> Fact {
        Fact::ChargerConnected(ChargerConnection {
            charge_point_id: id.to_owned(),
            at: chrono::Utc::now(),
        })
    }

    #[test]
    fn without_subscribers_nothing_is_built_and_a_resume_across_the_gap_is_refused() {
        let bus = Bus::new(Settings::default());
        let first = bus.subscribe(None);
        assert!(first.missed.is_empty() && first.resync.is_none());
        bus.publish(None, || connected("A"));
        let mut receiver = first.receiver;
        let a = receiver.try_recv().unwrap();
        drop(receiver);
        bus.publish(None, || panic!("no subscriber: nothing is built"));
        let again = bus.subscribe(Some(a.id));
        assert_eq!(again.resync, Some("resume"));
    }

    #[test]
    fn a_resume_gets_what_was_missed_and_an_unknown_id_asks_for_a_resync() {
        let bus = Bus::new(Settings {
            buffer: 8,
            history: 3,
        });
        let _listener = bus.subscribe(None);
        for id in ["A", "B", "C", "D"] {
            bus.publish(Some("org"), || connected(id));
        }
        let ids: Vec<u64> = bus.lock().recent.iter().map(|e| e.id).collect();
        assert_eq!(ids.len(), 3);
        let resumed = bus.subscribe(Some(ids[0]));
        assert_eq!(resumed.resync, None);
        assert_eq!(
            resumed.missed.iter().map(|e| e.id).collect::<Vec<_>>(),
            ids[1..]
        );
        // The event just before the oldest kept was pushed out: after it nothing is missing,
        // before it something is.
        assert_eq!(bus.subscribe(Some(ids[0] - 1)).missed.len(), 3);
        assert_eq!(bus.subscribe(Some(ids[0] - 2)).resync, Some("resume"));
        assert_eq!(bus.subscribe(Some(ids[2] + 1)).resync, Some("resume"));
        assert_eq!(bus.subscribe(Some(ids[2])).missed.len(), 0);
        let event = &resumed.missed[0];
        assert!(event.is_for(None) && event.is_for(Some("org")) && !event.is_for(Some("other")));
        let text = std::str::from_utf8(&event.message).unwrap();
        assert!(text.starts_with(&format!(
            "id: {}\nevent: charger.connected\ndata: {{",
            event.id
        )));
        assert!(
            text.ends_with("}\n\n") && text.matches('\n').count() == 4,
            "{text}"
        );
    }
}
