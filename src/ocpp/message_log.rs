//! The OCPP message log: every frame in and out of a charger, for the operator who asks "what did
//! the charger say, and what did we answer?".
//!
//! It must never slow a charger down: frames are handed over with `try_send` to a bounded queue
//! (a full queue drops the entry and counts it, rather than making the connection wait) and a
//! writer task inserts them in batches. Heartbeats are left out unless asked for. Secrets
//! (authorization keys) are masked before anything is queued. Rows older than the retention are
//! pruned in the background. While the batch writer works through a storm, the log's writes
//! wait (a few seconds at most): acknowledged data goes first.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout_at};

use super::batcher::Backlog;
use crate::db::ocpp_messages::{self, MessageRow};
use crate::db::{self, Db};

/// Entries the queue holds before new ones are dropped: a whole network's storms fit (19,000
/// chargers each sending a StopTransaction within a second is 38,000 frames; reconnecting and
/// resuming, 190,000 over ten seconds), with the log holding back while they last (see
/// [`STORM_BACKLOG`]). Only a storm fills it: a few hundred bytes a frame, 40 MB or so at most.
const QUEUE: usize = 131_072;
/// Most entries written in one batch.
const BATCH: usize = 16_384;
/// The longest an entry waits for its batch. Long, because the log's cost is its index on the
/// charger: rows of many chargers land on as many index pages, each rewritten (and, on SQLite,
/// appended to the WAL) once per batch. A storm's frames written once a second cost a fraction
/// of the same frames written in batches of a thousand, and they leave the database's writer to
/// the chargers' acknowledged messages.
const MAX_DELAY: Duration = Duration::from_secs(1);
/// While the batch writer has this many items waiting (a storm, not steady load), the log, which
/// no charger waits for, holds its batch back and leaves the database to the chargers'
/// acknowledged messages ...
const STORM_BACKLOG: usize = 1_024;
/// ... for this long at most, checking this often, and only while its own queue is less than
/// three quarters full: a full queue drops frames, and the log must keep room to catch up (with
/// a queue half this size, a reconnect storm's frames overflowed it: 6,200 of 493,000 dropped).
const MAX_YIELD: Duration = Duration::from_secs(5);
const YIELD_STEP: Duration = Duration::from_millis(50);
/// Room kept for a batch between batches.
const BATCH_KEPT: usize = 1_024;
/// How often old entries are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// What a masked secret reads as.
const MASK: &str = "***";

/// The log's settings.
#[derive(Debug, Clone, Copy)]
pub struct LogSettings {
    /// Days entries are kept; None: the log is off.
    pub keep_days: Option<u32>,
    pub heartbeats: bool,
}

/// Where connections hand frames to log; cheap to clone. A disabled log takes nothing.
#[derive(Debug, Clone)]
pub struct MessageLog {
    queue: Option<mpsc::Sender<MessageRow>>,
    heartbeats: bool,
}

impl MessageLog {
    /// Starts the writer and the pruning on `db`; both end when every `MessageLog` is dropped.
    pub fn start(db: Db, settings: LogSettings, writer: Backlog) -> Self {
        let Some(days) = settings.keep_days else {
            return Self {
                queue: None,
                heartbeats: false,
            };
        };
        let (queue, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(write(db.clone(), receiver, writer));
        let weak = queue.downgrade();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(PRUNE_EVERY);
            loop {
                tick.tick().await;
                if weak.upgrade().is_none() {
                    return;
                }
                let cutoff = db::now() - chrono::Duration::days(i64::from(days));
                match ocpp_messages::prune(&db, cutoff).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(rows = n, "pruned the OCPP message log"),
                    Err(e) => tracing::warn!(error = %e, "could not prune the OCPP message log"),
                }
            }
        });
        Self {
            queue: Some(queue),
            heartbeats: settings.heartbeats,
        }
    }

    /// Logs one frame of `charge_point_id`. `action` is the CALL's, or that of the CALL a reply
    /// answers.
    pub fn record(
        &self,
        charge_point_id: &Arc<str>,
        direction: Direction,
        action: Option<&str>,
        frame: &str,
    ) {
        let Some(queue) = &self.queue else {
            return;
        };
        if action == Some("Heartbeat") && !self.heartbeats {
            return;
        }
        let (message_type, message_id, payload) = read_frame(action, frame);
        let row = MessageRow {
            charge_point_id: charge_point_id.clone(),
            direction: direction.as_str(),
            message_type,
            message_id,
            action: action.map(str::to_owned),
            payload,
            at: db::now(),
        };
        if queue.try_send(row).is_err() {
            metrics::counter!("ocpp_message_log_dropped_total").increment(1);
        }
    }
}

/// Which way a frame went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Self::In => "in",
            Self::Out => "out",
        }
    }
}

/// The message type, message id and the frame with its secrets masked. A frame that is not an
/// OCPP-J array is kept as text, with type 0.
fn read_frame(action: Option<&str>, frame: &str) -> (i32, Option<String>, String) {
    let Ok(Value::Array(mut parts)) = serde_json::from_str::<Value>(frame) else {
        return (0, None, frame.chars().take(4096).collect());
    };
    let message_type = parts
        .first()
        .and_then(Value::as_i64)
        .and_then(|t| i32::try_from(t).ok())
        .unwrap_or(0);
    let message_id = parts.get(1).and_then(Value::as_str).map(str::to_owned);
    let payload_at = if message_type == 2 { 3 } else { 2 };
    if let (Some(action), Some(payload)) = (action, parts.get_mut(payload_at)) {
        mask_secrets(action, payload);
    }
    let text = serde_json::to_string(&parts).unwrap_or_default();
    (message_type, message_id, text)
}

/// Masks what must never be stored in clear: the AuthorizationKey (security profiles 1 and 2) a
/// ChangeConfiguration sets or a GetConfiguration answers.
pub fn mask_secrets(action: &str, payload: &mut Value) {
    let is_secret = |key: Option<&Value>| {
        key.and_then(Value::as_str)
            .is_some_and(|k| k.eq_ignore_ascii_case("AuthorizationKey"))
    };
    match action {
        "ChangeConfiguration" => {
            if is_secret(payload.get("key"))
                && let Some(value) = payload.get_mut("value")
            {
                *value = Value::String(MASK.to_owned());
            }
        }
        "GetConfiguration" => {
            if let Some(keys) = payload
                .get_mut("configurationKey")
                .and_then(Value::as_array_mut)
            {
                for entry in keys {
                    if is_secret(entry.get("key"))
                        && let Some(value) = entry.get_mut("value")
                    {
                        *value = Value::String(MASK.to_owned());
                    }
                }
            }
        }
        _ => {}
    }
}

async fn write(db: Db, mut receiver: mpsc::Receiver<MessageRow>, writer: Backlog) {
    let mut rows = Vec::with_capacity(BATCH_KEPT);
    loop {
        if receiver.recv_many(&mut rows, BATCH).await == 0 {
            return;
        }
        let deadline = Instant::now() + MAX_DELAY;
        while rows.len() < BATCH {
            let room = BATCH - rows.len();
            match timeout_at(deadline, receiver.recv_many(&mut rows, room)).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        yield_to_a_storm(&writer, &receiver).await;
        if let Err(e) = insert(&db, &rows).await {
            // The log is a diagnostic aid, not acknowledged data: a failed batch is counted and
            // given up, never retried at the chargers' expense.
            tracing::warn!(error = %e, rows = rows.len(), "could not write the OCPP message log");
            metrics::counter!("ocpp_message_log_dropped_total").increment(rows.len() as u64);
        }
        rows.clear();
        // A storm's batch is large; steady load's are not worth keeping that room for.
        rows.shrink_to(BATCH_KEPT);
    }
}

/// Waits while the batch writer works through a storm (see [`STORM_BACKLOG`]). When a whole
/// network stopped at once after reconnecting, the log's writes of the reconnect's frames took
/// the database (on SQLite, its one writer) from the Stops: SQLite answered a stop storm at p99
/// 1.18 s after a reconnect, 0.73 s on its own.
async fn yield_to_a_storm(writer: &Backlog, receiver: &mpsc::Receiver<MessageRow>) {
    let until = Instant::now() + MAX_YIELD;
    while writer.waiting() >= STORM_BACKLOG
        && receiver.len() < QUEUE / 4 * 3
        && Instant::now() < until
    {
        tokio::time::sleep(YIELD_STEP).await;
    }
}

async fn insert(db: &Db, rows: &[MessageRow]) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    ocpp_messages::insert(&mut tx, rows).await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_log_holds_back_during_a_storm_but_not_for_long() {
        let (_queue, receiver) = mpsc::channel::<MessageRow>(QUEUE);
        let started = Instant::now();
        yield_to_a_storm(&Backlog::standing(STORM_BACKLOG - 1), &receiver).await;
        assert_eq!(started.elapsed(), Duration::ZERO, "steady load: no wait");
        yield_to_a_storm(&Backlog::standing(STORM_BACKLOG), &receiver).await;
        let waited = started.elapsed();
        assert!(
            waited >= MAX_YIELD && waited < MAX_YIELD + YIELD_STEP * 2,
            "a storm: held back {waited:?}, at most {MAX_YIELD:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_log_stops_holding_back_before_its_queue_overflows() {
        let (queue, receiver) = mpsc::channel::<MessageRow>(QUEUE);
        let row = MessageRow {
            charge_point_id: Arc::from("CP"),
            direction: "in",
            message_type: 2,
            message_id: None,
            action: None,
            payload: String::new(),
            at: db::now(),
        };
        for _ in 0..QUEUE / 4 * 3 {
            queue.try_send(row.clone()).expect("room in the queue");
        }
        let started = Instant::now();
        yield_to_a_storm(&Backlog::standing(STORM_BACKLOG * 10), &receiver).await;
        assert_eq!(started.elapsed(), Duration::ZERO);
    }

    #[test]
    fn authorization_keys_are_masked_in_both_directions() {
        let (t, id, text) = read_frame(
            Some("ChangeConfiguration"),
            r#"[2,"m1","ChangeConfiguration",{"key":"AuthorizationKey","value":"s3cr3t-key-0123456"}]"#,
        );
        assert_eq!((t, id.as_deref()), (2, Some("m1")));
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(text.contains(MASK));
        let (t, _, text) = read_frame(
            Some("GetConfiguration"),
            r#"[3,"m2",{"configurationKey":[{"key":"authorizationkey","readonly":false,"value":"s3cr3t"},{"key":"HeartbeatInterval","readonly":false,"value":"300"}]}]"#,
        );
        assert_eq!(t, 3);
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(text.contains("300"));
        let mut other = json!({"key": "HeartbeatInterval", "value": "60"});
        mask_secrets("ChangeConfiguration", &mut other);
        assert_eq!(other["value"], "60");
    }

    #[test]
    fn an_unreadable_frame_is_kept_as_text() {
        let (t, id, text) = read_frame(None, "not json at all");
        assert_eq!((t, id), (0, None));
        assert_eq!(text, "not json at all");
    }
}
