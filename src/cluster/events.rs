//! The live event stream across nodes.
//!
//! A node sends its events to the others only while some other node has a subscriber (each node
//! announces when its own subscribers come and go, on [`SUBSCRIBERS`], and its count rides on its
//! heartbeat row). Events leave in batches: one `pg_notify` carries as many as fit in
//! [`BATCH_BYTES`] (PostgreSQL's limit is 8,000 bytes), so a fleet's stream of `session.updated`
//! costs a few notifications a second rather than one statement per event. Publishing never
//! waits on this: a full outgoing queue drops the event and counts it
//! (`cluster_events_dropped_total`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sqlx::PgPool;
use tokio::sync::mpsc;

use crate::events::{Bus, Shared};

/// Notified with a batch of events (JSON, see [`Batch`]).
pub const EVENTS: &str = "evcms_events";
/// Notified with `"<node> <subscribers>"` when a node's subscribers come or go.
pub const SUBSCRIBERS: &str = "evcms_event_subscribers";
/// The most payload one notification carries (PostgreSQL refuses 8,000 bytes and more).
const BATCH_BYTES: usize = 7_000;
/// Events waiting to leave; beyond this they are dropped.
const QUEUE: usize = 8_192;
/// How often this node looks whether its subscribers went (a new one is told at once).
const WATCH_EVERY: Duration = Duration::from_secs(1);

/// A batch of events as it travels.
#[derive(Debug, Serialize, Deserialize)]
struct Batch<'a> {
    node: &'a str,
    #[serde(borrow)]
    events: Vec<Travelling<'a>>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Travelling<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    organization: Option<&'a str>,
    #[serde(borrow)]
    data: &'a RawValue,
}

/// Which other nodes have subscribers.
#[derive(Debug, Default)]
pub struct Listeners {
    /// Each other node's count, and when it was learnt.
    by_node: Mutex<HashMap<String, (i64, Instant)>>,
    /// Whether any other node has one (what the bus reads on every publish).
    pub any: Arc<AtomicBool>,
}

impl Listeners {
    /// A node announced its count.
    pub fn announced(&self, own: &str, payload: &str) {
        let Some((node, count)) = payload.split_once(' ') else {
            return;
        };
        if node == own {
            return;
        }
        let count = count.parse().unwrap_or(0);
        let mut by_node = self.lock();
        by_node.insert(node.to_owned(), (count, Instant::now()));
        self.refresh(&by_node);
    }

    /// The live nodes' counts as read (from their rows) at `read_at`; dead nodes drop out. An
    /// announcement heard after the read is newer than it and stays.
    pub fn reset(&self, own: &str, live: Vec<super::nodes::LiveNode>, read_at: Instant) {
        let mut by_node = self.lock();
        let mut fresh: HashMap<String, (i64, Instant)> = live
            .into_iter()
            .filter(|n| n.id != own)
            .map(|n| (n.id, (i64::from(n.event_subscribers), read_at)))
            .collect();
        for (node, learnt) in by_node.drain() {
            if learnt.1 > read_at {
                fresh.insert(node, learnt);
            }
        }
        *by_node = fresh;
        self.refresh(&by_node);
    }

    fn refresh(&self, by_node: &HashMap<String, (i64, Instant)>) {
        let listening = by_node.values().filter(|(n, _)| *n > 0).count();
        self.any.store(listening > 0, Ordering::Relaxed);
        metrics::gauge!("cluster_other_nodes_with_event_subscribers").set(listening as f64);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (i64, Instant)>> {
        self.by_node.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Connects `bus` to the other nodes; gives the queue its events leave through.
pub fn attach(bus: &Bus, listeners: &Listeners) -> mpsc::Receiver<Shared> {
    let (outgoing, receiver) = mpsc::channel(QUEUE);
    bus.relay_to_other_nodes(crate::events::Relay {
        others_listen: listeners.any.clone(),
        outgoing,
    });
    receiver
}

/// Sends the queued events in batches until the queue closes.
pub async fn send_batches(pool: PgPool, node: Arc<str>, mut queue: mpsc::Receiver<Shared>) {
    let mut waiting: Option<Shared> = None;
    loop {
        let first = match waiting.take() {
            Some(event) => event,
            None => match queue.recv().await {
                Some(event) => event,
                None => return,
            },
        };
        let mut batch = Vec::new();
        let mut bytes = 64 + node.len();
        let mut next = Some(first);
        while let Some(event) = next.take() {
            let size = event.data.len()
                + event.name.len()
                + event.organization.as_deref().map_or(0, str::len)
                + 48;
            if size + 64 + node.len() > BATCH_BYTES {
                tracing::warn!(
                    event = event.name,
                    bytes = size,
                    "an event too large to send to the other nodes was dropped"
                );
                metrics::counter!("cluster_events_dropped_total").increment(1);
            } else if bytes + size > BATCH_BYTES {
                waiting = Some(event);
                break;
            } else {
                bytes += size;
                batch.push(event);
            }
            next = queue.try_recv().ok();
        }
        if batch.is_empty() {
            continue;
        }
        if let Some(payload) = encode(&node, &batch) {
            match sqlx::query("SELECT pg_notify('evcms_events', $1)")
                .bind(payload)
                .execute(&pool)
                .await
            {
                Ok(_) => {
                    metrics::counter!("cluster_events_sent_total").increment(batch.len() as u64)
                }
                Err(e) => {
                    tracing::warn!(error = %e, events = batch.len(), "could not send events to the other nodes");
                    metrics::counter!("cluster_events_dropped_total").increment(batch.len() as u64);
                }
            }
        }
    }
}

/// Sends `events` now, in as few notifications as they fit in (at shutdown, when the relay's
/// task is gone).
pub async fn send_now(pool: &PgPool, node: &Arc<str>, events: Vec<Shared>) {
    let (queue, receiver) = mpsc::channel(events.len().max(1));
    for event in events {
        let _ = queue.try_send(event);
    }
    drop(queue);
    send_batches(pool.clone(), node.clone(), receiver).await;
}

fn encode(node: &str, batch: &[Shared]) -> Option<String> {
    let events = batch
        .iter()
        .filter_map(|e| {
            Some(Travelling {
                name: e.name,
                organization: e.organization.as_deref(),
                data: serde_json::from_str(&e.data).ok()?,
            })
        })
        .collect();
    serde_json::to_string(&Batch { node, events }).ok()
}

/// A batch from the [`EVENTS`] channel: published here unless it is this node's own.
pub fn received(bus: &Bus, own: &str, payload: &str) {
    let batch: Batch<'_> = match serde_json::from_str(payload) {
        Ok(batch) => batch,
        Err(e) => {
            tracing::warn!(error = %e, "unreadable events from another node");
            return;
        }
    };
    if batch.node == own {
        return;
    }
    for event in batch.events {
        if let Some(name) = crate::events::facts::known_name(event.name) {
            bus.publish_from_another_node(
                name,
                event.organization.map(Arc::from),
                event.data.get(),
            );
        }
    }
}

/// Announces this node's subscriber count whenever it turns zero or non-zero, until dropped.
pub async fn announce_subscribers(pool: PgPool, node: Arc<str>, bus: Arc<Bus>) {
    let mut announced_any = false;
    let mut every = tokio::time::interval(WATCH_EVERY);
    loop {
        tokio::select! {
            () = bus.new_subscriber() => {}
            _ = every.tick() => {}
        }
        let count = bus.local_subscribers();
        if (count > 0) == announced_any {
            continue;
        }
        let sql = concat!(
            "WITH counted AS (UPDATE nodes SET event_subscribers = $2 WHERE id = $1 RETURNING id) ",
            "SELECT pg_notify('evcms_event_subscribers', $1 || ' ' || $2::text) FROM counted"
        );
        let count = i32::try_from(count).unwrap_or(i32::MAX);
        match sqlx::query(sql)
            .bind(&*node)
            .bind(count)
            .execute(&pool)
            .await
        {
            Ok(_) => announced_any = count > 0,
            Err(e) => {
                tracing::warn!(error = %e, "could not announce this node's event subscribers")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(id: &str, event_subscribers: i32) -> super::super::nodes::LiveNode {
        super::super::nodes::LiveNode {
            id: id.to_owned(),
            event_subscribers,
        }
    }

    #[test]
    fn an_announcement_outlives_an_older_read_and_dead_nodes_drop_out() {
        let listeners = Listeners::default();
        let read_before = Instant::now();
        listeners.announced("a", "b 1");
        assert!(listeners.any.load(Ordering::Relaxed));
        // A heartbeat's read from before the announcement: B still counts.
        listeners.reset("a", vec![live("a", 3), live("b", 0)], read_before);
        assert!(listeners.any.load(Ordering::Relaxed));
        // A later read is the truth; our own count never counts.
        listeners.reset("a", vec![live("a", 3), live("b", 0)], Instant::now());
        assert!(!listeners.any.load(Ordering::Relaxed));
        listeners.announced("a", "c 2");
        assert!(listeners.any.load(Ordering::Relaxed));
        // C stopped beating: it is not among the live nodes any more.
        listeners.reset("a", vec![live("b", 0)], Instant::now());
        assert!(!listeners.any.load(Ordering::Relaxed));
    }

    #[test]
    fn a_batch_keeps_each_event_and_its_scope() {
        let batch = vec![
            Shared {
                name: "charger.connected",
                organization: Some(Arc::from("org-1")),
                data: r#"{"charge_point_id":"CP-1"}"#.to_owned(),
            },
            Shared {
                name: "session.updated",
                organization: None,
                data: r#"{"id":7,"energy_wh":1200}"#.to_owned(),
            },
        ];
        let text = encode("node-a", &batch).unwrap();
        let back: Batch<'_> = serde_json::from_str(&text).unwrap();
        assert_eq!(back.node, "node-a");
        assert_eq!(back.events.len(), 2);
        assert_eq!(back.events[0].organization, Some("org-1"));
        assert_eq!(back.events[1].data.get(), r#"{"id":7,"energy_wh":1200}"#);
    }
}
