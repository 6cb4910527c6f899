//! The sample writer: meter samples, live session readings and "last seen" times from every
//! connection go through one bounded queue into batched transactions.
//!
//! A batch is written when it holds [`MAX_ROWS`] samples or [`MAX_DELAY`] after its first item,
//! whichever comes first, so ingest costs a few round trips per batch instead of one per sample.
//! A full queue makes connections wait before they acknowledge MeterValues: back-pressure instead
//! of unbounded memory.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout_at};

use crate::db::meter_values::{self, LiveReading, SampleRow};
use crate::db::{self, Db};

/// Samples that make a batch worth writing at once.
const MAX_ROWS: usize = 1_000;
/// The longest a queued item waits for its batch.
const MAX_DELAY: Duration = Duration::from_millis(100);
/// Items the queue holds before connections wait.
const QUEUE: usize = 16_384;
/// Attempts at writing one batch whole before its rows are written one by one.
const ATTEMPTS: u32 = 3;

enum Item {
    Samples {
        rows: Vec<SampleRow>,
        live: Option<LiveReading>,
    },
    Seen(Arc<str>, DateTime<Utc>),
    /// Answered once everything queued before it is written.
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

    /// Queues samples (and the session reading they give) for the next batch.
    pub async fn samples(&self, rows: Vec<SampleRow>, live: Option<LiveReading>) {
        if rows.is_empty() && live.is_none() {
            return;
        }
        self.send(Item::Samples { rows, live }).await;
    }

    /// Queues a "last seen" time for a charger.
    pub async fn seen(&self, charge_point_id: Arc<str>, at: DateTime<Utc>) {
        self.send(Item::Seen(charge_point_id, at)).await;
    }

    /// Waits until everything queued so far is written.
    pub async fn flush(&self) {
        let (done, written) = oneshot::channel();
        self.send(Item::Flush(done)).await;
        let _ = written.await;
    }

    async fn send(&self, item: Item) {
        if self.queue.send(item).await.is_err() {
            tracing::error!("the sample writer has stopped; meter data is being dropped");
        }
    }
}

async fn run(db: Db, mut receiver: mpsc::Receiver<Item>) {
    let mut items = Vec::with_capacity(256);
    loop {
        if receiver.recv_many(&mut items, 256).await == 0 {
            return;
        }
        let deadline = Instant::now() + MAX_DELAY;
        while !batch_is_due(&items) {
            match timeout_at(deadline, receiver.recv_many(&mut items, 256)).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        write(&db, std::mem::take(&mut items)).await;
    }
}

fn batch_is_due(items: &[Item]) -> bool {
    let mut rows = 0;
    for item in items {
        match item {
            Item::Samples { rows: r, .. } => rows += r.len(),
            Item::Flush(_) => return true,
            Item::Seen(..) => {}
        }
    }
    rows >= MAX_ROWS
}

/// One batch, merged: every sample, the newest reading per session, the latest sighting per
/// charger.
#[derive(Default)]
struct Batch {
    rows: Vec<SampleRow>,
    live: HashMap<i64, LiveReading>,
    seen: HashMap<Arc<str>, DateTime<Utc>>,
    flushes: Vec<oneshot::Sender<()>>,
}

impl Batch {
    fn from(items: Vec<Item>) -> Self {
        let mut batch = Batch::default();
        for item in items {
            match item {
                Item::Samples { mut rows, live } => {
                    batch.rows.append(&mut rows);
                    if let Some(reading) = live {
                        batch
                            .live
                            .entry(reading.session_id)
                            .and_modify(|kept| {
                                if reading.sampled_at > kept.sampled_at {
                                    *kept = reading;
                                }
                            })
                            .or_insert(reading);
                    }
                }
                Item::Seen(charger, at) => {
                    let kept = batch.seen.entry(charger).or_insert(at);
                    *kept = (*kept).max(at);
                }
                Item::Flush(done) => batch.flushes.push(done),
            }
        }
        batch
    }
}

async fn write(db: &Db, items: Vec<Item>) {
    let batch = Batch::from(items);
    let live: Vec<LiveReading> = batch.live.values().copied().collect();
    let seen: Vec<(Box<str>, DateTime<Utc>)> = batch
        .seen
        .iter()
        .map(|(charger, at)| (Box::from(&**charger), *at))
        .collect();
    if !(batch.rows.is_empty() && live.is_empty() && seen.is_empty()) {
        let mut attempt = 1;
        loop {
            match write_once(db, &batch.rows, &live, &seen).await {
                Ok(()) => break,
                Err(e) if attempt < ATTEMPTS => {
                    tracing::warn!(error = %e, attempt, "writing meter samples failed; retrying");
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                    attempt += 1;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "a batch of meter samples keeps failing; writing its rows one by one");
                    write_one_by_one(db, &batch.rows, &live, &seen).await;
                    break;
                }
            }
        }
    }
    for done in batch.flushes {
        let _ = done.send(());
    }
}

/// The fallback for a batch the database refuses: each row in a transaction of its own, so one
/// bad row costs only itself.
async fn write_one_by_one(
    db: &Db,
    rows: &[SampleRow],
    live: &[LiveReading],
    seen: &[(Box<str>, DateTime<Utc>)],
) {
    let mut lost = 0;
    for row in rows {
        if let Err(e) = write_once(db, std::slice::from_ref(row), &[], &[]).await {
            tracing::error!(error = %e, charger = %row.charge_point_id, measurand = %row.measurand, "a meter sample was refused by the database and is lost");
            lost += 1;
        }
    }
    for reading in live {
        if let Err(e) = write_once(db, &[], std::slice::from_ref(reading), &[]).await {
            tracing::error!(error = %e, session = reading.session_id, "a session's live reading was refused by the database");
        }
    }
    if let Err(e) = write_once(db, &[], &[], seen).await {
        tracing::error!(error = %e, "last-seen times were refused by the database");
    }
    if lost > 0 {
        tracing::error!(
            lost,
            kept = rows.len() - lost,
            "meter samples lost from a refused batch"
        );
    }
}

async fn write_once(
    db: &Db,
    rows: &[SampleRow],
    live: &[LiveReading],
    seen: &[(Box<str>, DateTime<Utc>)],
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    meter_values::insert(&mut tx, rows).await?;
    meter_values::apply_live(&mut tx, live).await?;
    db::charger_state::seen(&mut tx, seen).await?;
    tx.commit().await
}
