//! The sample writer: meter samples, live session readings, "last seen" times and connections
//! begun and ended go through one bounded queue into batched transactions, with group commit.
//! (Thousands of chargers connecting or disconnecting at once, after an outage or a restart, cost
//! a few transactions rather than one write each, which queued behind each other for the
//! database.)
//!
//! A CALLRESULT tells a charger it may forget its message ("Acknowledged means stored" in the
//! architecture note). So [`SampleWriter::samples`] waits: the writer answers each message once
//! the transaction holding it has committed, or with [`NotStored`] when the database did not take
//! it, and the charger then gets a CALLERROR and sends the message again later.
//!
//! Group commit: the writer takes everything queued, writes it in one transaction, answers every
//! message in it, and starts again with what arrived meanwhile. An idle server writes a message as
//! soon as it comes (no timer to wait for); a busy one writes bigger batches, so round trips per
//! sample fall as load rises.
//!
//! A batch the database refuses is written again message by message, each in a transaction of its
//! own, so a bad row fails only its own message (never a silent loss, never a partial message that
//! a retry would duplicate). When the database is unavailable (connection lost or refused, pool
//! timed out, disk full, file locked) the whole batch fails at once: writing it piecemeal would
//! fail the same way, only slower. `last_seen_at` times are acknowledged to nobody: they ride along
//! and a failure to store them is only logged.
//!
//! A full queue makes connections wait before they even hand their samples over: back-pressure
//! instead of unbounded memory.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::frame::{CallError, ErrorCode};
use crate::db::charger_state::{Connection, Disconnection};
use crate::db::meter_values::{self, LiveReading, SampleRow};
use crate::db::{self, Db, Failure};

/// Most queued items taken into one batch (a MeterValues is typically 5 to 20 samples).
const MAX_ITEMS: usize = 512;
/// Items the queue holds before connections wait.
const QUEUE: usize = 16_384;
/// Attempts at writing one batch whole, for failures that a retry can cure.
const ATTEMPTS: u32 = 3;

/// A message's samples were not stored: the database refused them or could not be reached.
/// The cause is logged where it happened; the charger only learns to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the meter samples were not stored")]
pub struct NotStored;

impl From<NotStored> for CallError {
    fn from(_: NotStored) -> Self {
        CallError::new(
            ErrorCode::InternalError,
            "the central system could not store the message; retry later",
        )
    }
}

enum Item {
    /// One message's samples, answered once they are committed.
    Samples {
        rows: Vec<SampleRow>,
        live: Option<LiveReading>,
        stored: oneshot::Sender<Result<(), NotStored>>,
    },
    Seen(Arc<str>, DateTime<Utc>),
    /// A connection began; answered once recorded.
    Connected(Connection, oneshot::Sender<Result<(), NotStored>>),
    /// A connection ended; answered once recorded.
    Disconnected(Disconnection, oneshot::Sender<Result<(), NotStored>>),
    /// Answered once everything queued before it is written (or refused).
    Flush(oneshot::Sender<()>),
}

/// Where connections hand their samples; cheap to clone.
#[derive(Clone, Debug)]
pub struct SampleWriter {
    queue: mpsc::Sender<Item>,
}

impl SampleWriter {
    /// Starts the writer task on `db`. It ends when every `SampleWriter` is dropped, after
    /// writing what was queued.
    pub fn start(db: Db) -> (Self, JoinHandle<()>) {
        let (queue, receiver) = mpsc::channel(QUEUE);
        let task = tokio::spawn(run(db, receiver));
        (Self { queue }, task)
    }

    /// Stores one message's samples (and the session reading they give): returns once the batch
    /// holding them has committed, or with [`NotStored`] when it could not be.
    pub async fn samples(
        &self,
        rows: Vec<SampleRow>,
        live: Option<LiveReading>,
    ) -> Result<(), NotStored> {
        if rows.is_empty() && live.is_none() {
            return Ok(());
        }
        metrics::counter!("meter_samples_queued_total").increment(rows.len() as u64);
        let (stored, outcome) = oneshot::channel();
        self.send(Item::Samples { rows, live, stored }).await?;
        // A writer that stopped without answering did not store them.
        outcome.await.unwrap_or(Err(NotStored))
    }

    /// Queues a "last seen" time for a charger; nobody waits for it.
    pub async fn seen(&self, charge_point_id: Arc<str>, at: DateTime<Utc>) {
        let _ = self.send(Item::Seen(charge_point_id, at)).await;
    }

    /// Records that a connection began: returns once committed, or with [`NotStored`].
    pub async fn connected(&self, began: Connection) -> Result<(), NotStored> {
        let (recorded, outcome) = oneshot::channel();
        self.send(Item::Connected(began, recorded)).await?;
        outcome.await.unwrap_or(Err(NotStored))
    }

    /// Records that a connection ended: returns once committed, or with [`NotStored`].
    pub async fn disconnected(&self, ended: Disconnection) -> Result<(), NotStored> {
        let (recorded, outcome) = oneshot::channel();
        self.send(Item::Disconnected(ended, recorded)).await?;
        outcome.await.unwrap_or(Err(NotStored))
    }

    /// Waits until everything queued so far is written (or refused).
    pub async fn flush(&self) {
        let (done, written) = oneshot::channel();
        if self.send(Item::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }

    async fn send(&self, item: Item) -> Result<(), NotStored> {
        self.queue.send(item).await.map_err(|_| {
            tracing::error!("the sample writer has stopped; meter data is refused");
            NotStored
        })
    }
}

/// Group commit: each turn writes whatever queued up while the previous batch was written.
async fn run(db: Db, mut receiver: mpsc::Receiver<Item>) {
    let mut items = Vec::with_capacity(MAX_ITEMS);
    while receiver.recv_many(&mut items, MAX_ITEMS).await > 0 {
        write(&db, Batch::from(std::mem::take(&mut items))).await;
    }
}

/// One message of a batch: its rows (a range of the batch's rows), its reading, its waiter.
struct Message {
    rows: Range<usize>,
    live: Option<LiveReading>,
    stored: oneshot::Sender<Result<(), NotStored>>,
}

/// One batch: every message's samples in one list, the latest sighting per charger.
#[derive(Default)]
struct Batch {
    rows: Vec<SampleRow>,
    messages: Vec<Message>,
    seen: HashMap<Arc<str>, DateTime<Utc>>,
    began: Vec<Connection>,
    began_waiters: Vec<oneshot::Sender<Result<(), NotStored>>>,
    ended: Vec<Disconnection>,
    ended_waiters: Vec<oneshot::Sender<Result<(), NotStored>>>,
    flushes: Vec<oneshot::Sender<()>>,
}

impl Batch {
    fn from(items: Vec<Item>) -> Self {
        let mut batch = Batch::default();
        for item in items {
            match item {
                Item::Samples {
                    mut rows,
                    live,
                    stored,
                } => {
                    let start = batch.rows.len();
                    batch.rows.append(&mut rows);
                    batch.messages.push(Message {
                        rows: start..batch.rows.len(),
                        live,
                        stored,
                    });
                }
                Item::Seen(charger, at) => {
                    let kept = batch.seen.entry(charger).or_insert(at);
                    *kept = (*kept).max(at);
                }
                Item::Connected(began, recorded) => {
                    batch.began.push(began);
                    batch.began_waiters.push(recorded);
                }
                Item::Disconnected(ended, recorded) => {
                    batch.ended.push(ended);
                    batch.ended_waiters.push(recorded);
                }
                Item::Flush(done) => batch.flushes.push(done),
            }
        }
        batch
    }

    /// The newest reading of each session.
    fn live(&self) -> Vec<LiveReading> {
        let mut newest: HashMap<i64, LiveReading> = HashMap::new();
        for reading in self.messages.iter().filter_map(|m| m.live) {
            newest
                .entry(reading.session_id)
                .and_modify(|kept| {
                    if reading.sampled_at > kept.sampled_at {
                        *kept = reading;
                    }
                })
                .or_insert(reading);
        }
        newest.into_values().collect()
    }

    fn seen(&self) -> Vec<(Box<str>, DateTime<Utc>)> {
        self.seen
            .iter()
            .map(|(charger, at)| (Box::from(&**charger), *at))
            .collect()
    }
}

async fn write(db: &Db, batch: Batch) {
    let live = batch.live();
    let seen = batch.seen();
    let Batch {
        rows,
        messages,
        began,
        began_waiters,
        ended,
        ended_waiters,
        flushes,
        ..
    } = batch;
    // In the order of `Connections`: those begun, then those ended.
    let connection_waiters: Vec<_> = began_waiters.into_iter().chain(ended_waiters).collect();
    let connections = Connections {
        began: &began,
        ended: &ended,
    };
    if !(rows.is_empty() && live.is_empty() && seen.is_empty() && connections.is_empty()) {
        metrics::histogram!("meter_sample_batch_rows").record(rows.len() as f64);
        let started = std::time::Instant::now();
        let written = write_whole(db, &rows, &live, &seen, connections).await;
        metrics::histogram!("meter_sample_flush_seconds").record(started.elapsed().as_secs_f64());
        match written {
            Ok(()) => {
                metrics::counter!("meter_samples_written_total").increment(rows.len() as u64);
                answer(messages, Ok(()));
                answer_all(connection_waiters, Ok(()));
            }
            Err(e) if db::failure(&e) == Failure::Unavailable => {
                tracing::error!(error = %e, messages = messages.len(), samples = rows.len(),
                    "the database is unavailable: meter samples not stored, their chargers get a CALLERROR and retry");
                metrics::counter!("meter_samples_refused_total").increment(rows.len() as u64);
                answer(messages, Err(NotStored));
                answer_all(connection_waiters, Err(NotStored));
            }
            Err(e) => {
                tracing::warn!(error = %e, messages = messages.len(),
                    "the database refused a batch of meter samples; writing it message by message");
                write_one_by_one(db, &rows, messages, &seen).await;
                write_connections_one_by_one(db, connections, connection_waiters).await;
            }
        }
    }
    for done in flushes {
        let _ = done.send(());
    }
}

/// The connections of a batch the database refused: each in a transaction of its own, so one
/// bad row fails only its own connection.
async fn write_connections_one_by_one(
    db: &Db,
    connections: Connections<'_>,
    waiters: Vec<oneshot::Sender<Result<(), NotStored>>>,
) {
    let began = connections.began.chunks(1).map(|c| Connections {
        began: c,
        ended: &[],
    });
    let ended = connections.ended.chunks(1).map(|e| Connections {
        began: &[],
        ended: e,
    });
    for (one, waiter) in began.chain(ended).zip(waiters) {
        let outcome = match write_once(db, &[], &[], &[], one).await {
            Ok(()) => Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, "a connection's start or end was not recorded");
                Err(NotStored)
            }
        };
        let _ = waiter.send(outcome);
    }
}

/// The connections begun and ended in a batch.
#[derive(Clone, Copy, Default)]
struct Connections<'a> {
    began: &'a [Connection],
    ended: &'a [Disconnection],
}

impl Connections<'_> {
    fn is_empty(&self) -> bool {
        self.began.is_empty() && self.ended.is_empty()
    }
}

fn answer_all(
    waiters: Vec<oneshot::Sender<Result<(), NotStored>>>,
    outcome: Result<(), NotStored>,
) {
    for waiter in waiters {
        let _ = waiter.send(outcome);
    }
}

fn answer(messages: Vec<Message>, outcome: Result<(), NotStored>) {
    for message in messages {
        // A waiter that is gone (its connection closed) needs no answer.
        let _ = message.stored.send(outcome);
    }
}

/// Writes the batch in one transaction, retrying failures that a retry can cure.
async fn write_whole(
    db: &Db,
    rows: &[SampleRow],
    live: &[LiveReading],
    seen: &[(Box<str>, DateTime<Utc>)],
    connections: Connections<'_>,
) -> Result<(), sqlx::Error> {
    let mut attempt = 1;
    loop {
        match write_once(db, rows, live, seen, connections).await {
            Ok(()) => return Ok(()),
            Err(e) if attempt < ATTEMPTS && worth_retrying(&e) => {
                tracing::warn!(error = %e, attempt, "writing meter samples failed; retrying");
                tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// A conflict with another transaction may pass at once, and a connection lost under a query is
/// replaced by the pool. A pool that timed out or a locked SQLite file has already been waited
/// for, and a refused statement fails again: those go on without retrying the whole batch.
fn worth_retrying(e: &sqlx::Error) -> bool {
    match db::failure(e) {
        Failure::Conflict => true,
        Failure::Unavailable => matches!(
            e,
            sqlx::Error::Io(_) | sqlx::Error::Protocol(_) | sqlx::Error::Tls(_)
        ),
        Failure::Refused => false,
    }
}

/// The fallback for a batch the database refuses: each message in a transaction of its own, so a
/// bad row costs only its own message, which its charger is told was not stored.
async fn write_one_by_one(
    db: &Db,
    rows: &[SampleRow],
    messages: Vec<Message>,
    seen: &[(Box<str>, DateTime<Utc>)],
) {
    let mut unavailable = false;
    let mut refused = 0;
    for message in messages {
        let outcome = if unavailable {
            Err(NotStored)
        } else {
            let own = &rows[message.rows.clone()];
            match write_once(
                db,
                own,
                message.live.as_slice(),
                &[],
                Connections::default(),
            )
            .await
            {
                Ok(()) => Ok(()),
                Err(e) => {
                    unavailable = db::failure(&e) == Failure::Unavailable;
                    refused += 1;
                    let charger = own.first().map(|r| &*r.charge_point_id).unwrap_or("");
                    tracing::error!(error = %e, charger, samples = own.len(),
                        "the database refused a message's meter samples; its charger gets a CALLERROR");
                    Err(NotStored)
                }
            }
        };
        let _ = message.stored.send(outcome);
    }
    if !unavailable
        && !seen.is_empty()
        && let Err(e) = write_once(db, &[], &[], seen, Connections::default()).await
    {
        tracing::warn!(error = %e, "last-seen times were not stored");
    }
    if refused > 0 {
        tracing::error!(
            refused,
            "messages not stored from a refused batch; their chargers will send them again"
        );
    }
}

async fn write_once(
    db: &Db,
    rows: &[SampleRow],
    live: &[LiveReading],
    seen: &[(Box<str>, DateTime<Utc>)],
    connections: Connections<'_>,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    db::charger_state::connected_many(&mut tx, connections.began).await?;
    meter_values::insert(&mut tx, rows).await?;
    meter_values::apply_live(&mut tx, live).await?;
    db::charger_state::seen(&mut tx, seen).await?;
    db::charger_state::disconnected_many(&mut tx, connections.ended).await?;
    tx.commit().await
}
