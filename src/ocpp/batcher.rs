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
//!
//! **Grouped messages.** BootNotification, StatusNotification, StartTransaction and
//! StopTransaction hand their writes over as a [`Work`]: a function run inside the batch's
//! transaction, after the batch's new connections and before its samples. When a whole network
//! arrives at once, thousands of them share a few commits instead of queueing one transaction
//! each for the database (on SQLite, for its one writer). Each message is still answered only
//! once the batch holding its writes has committed. A work that refuses midway
//! ([`Done::Undo`]) or a batch the database refuses rolls the whole batch back, and each work then
//! runs again in a transaction of its own, so no work's writes ever depend on another's fate. A
//! work must therefore only compute and write, never act outside the transaction (events,
//! memory): its caller does that with the answer, after the commit.
//!
//! **Set-based.** A batch's round trips, not its commits, are what a storm costs once messages
//! share commits: each statement is a parse, a plan and (on SQLite) a hop to sqlx's worker
//! thread, whatever its size. So the batch writes BootNotifications, StatusNotifications,
//! StartTransactions and StopTransactions kind by kind, a few statements for all of a kind
//! ([`write_shared`]: `UPDATE … FROM (VALUES …)`, multi-row INSERTs, locks taken for the whole
//! batch in the order one message takes them). The charging rules stay in one place: the
//! set-based passes ([`crate::charging::starts`], [`crate::charging::stops`]) call the same pure
//! functions as the one-message path, and take only the common case: a Start or Stop that is
//! anything else (a repeat, a zombie on the connector, a reservation, a second message of one
//! charger, tag or transaction in the batch) runs its own [`Work`] right after, in the same
//! transaction. Every message keeps its own work, which is what runs when the batch is written
//! one by one.
//!
//! **Lanes.** Each charger's writes go through one lane, chosen by its id, so they stay in
//! order. SQLite has one writer, so one lane; PostgreSQL gets several, each a group-commit loop
//! on a connection of its own, so a batch's round trips do not hold up the others'.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::frame::{CallError, ErrorCode};
use crate::charging::open::{self, Opened, Start};
use crate::charging::stop::{self, ChargerStop, StopOutcome};
use crate::charging::{ChargingError, Rules, starts, stops};
use crate::db::charger_state::{Boot, Connection, Disconnection, StatusReport, StatusStored};
use crate::db::meter_values::{self, LiveReading, SampleRow};
use crate::db::{self, Db, Failure, Tx};

/// Most queued items taken into one batch (a MeterValues is typically 5 to 20 samples). A batch
/// takes only what is queued, so steady load writes small ones; a storm fills them. Large, because
/// the cost of a storm's batch is mostly the pages it changes, and rows of more messages share
/// more pages: 19,000 StopTransactions within a second on SQLite were all answered after 3.1 s
/// with batches of 512, 2.3 s with 2,048 and 1.9 s with 4,096 (p99 2.1, 1.4 and 0.94 s).
const MAX_ITEMS: usize = 4096;
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
    /// A message's writes, answered once committed.
    Job(Box<dyn Job>),
    /// Answered once everything queued before it is written (or refused).
    Flush(oneshot::Sender<()>),
}

/// What a [`Work`] gives: the answer for its message, and whether its writes may be committed.
pub enum Done<T> {
    /// Commit the writes with the batch; answer `T` once committed.
    Keep(T),
    /// Roll the writes back (the message was refused after writing): answer `T` all the same.
    Undo(T),
}

/// A message's writes inside a batch's transaction. It may run more than once (again in a
/// transaction of its own when its batch was rolled back), so it writes and computes only.
pub type Work<T> =
    Box<dyn for<'a> FnMut(&'a mut Tx) -> BoxFuture<'a, Result<Done<T>, sqlx::Error>> + Send>;

/// A queued [`Work`] with its waiter, its type erased so that one batch holds them all.
trait Job: Send {
    /// Runs the work in `tx`; false when its writes must be rolled back.
    fn run<'a>(&'a mut self, tx: &'a mut Tx) -> BoxFuture<'a, Result<bool, sqlx::Error>>;
    /// Tells the waiter: the answer once its writes are committed (or rolled back by
    /// [`Done::Undo`]), [`NotStored`] otherwise.
    fn answer(self: Box<Self>, outcome: Result<(), NotStored>);
    /// The message this job writes, when the batch's set-based pass can write it with others.
    fn shared(&self) -> Option<Shared<'_>> {
        None
    }
    /// Takes the set-based pass's answer, in place of running.
    fn take(&mut self, _answer: SharedAnswer) {}
}

/// The messages the batch's set-based pass writes many at once ([`write_shared`]).
#[derive(Clone)]
pub enum SharedMessage {
    Boot(Boot),
    Status(StatusReport),
    Start(Start, Rules),
    Stop(ChargerStop),
}

impl SharedMessage {
    fn charge_point_id(&self) -> &str {
        match self {
            SharedMessage::Boot(boot) => &boot.charge_point_id,
            SharedMessage::Status(report) => &report.charge_point_id,
            SharedMessage::Start(start, _) => &start.charge_point_id,
            SharedMessage::Stop(stop) => &stop.charge_point_id,
        }
    }
}

/// A [`SharedMessage`] as the set-based pass reads it.
pub enum Shared<'a> {
    Boot(&'a Boot),
    Status(&'a StatusReport),
    Start(&'a Start, &'a Rules),
    Stop(&'a ChargerStop),
}

/// What the set-based pass did with a message.
pub enum SharedAnswer {
    Booted,
    Status(StatusStored),
    Started(Opened),
    Stopped(StopOutcome),
}

/// The answer a waiter takes from the set-based pass.
pub trait FromShared: Sized {
    fn from_shared(answer: SharedAnswer) -> Option<Self>;
}

impl FromShared for () {
    fn from_shared(answer: SharedAnswer) -> Option<Self> {
        matches!(answer, SharedAnswer::Booted).then_some(())
    }
}

impl FromShared for StatusStored {
    fn from_shared(answer: SharedAnswer) -> Option<Self> {
        match answer {
            SharedAnswer::Status(stored) => Some(stored),
            _ => None,
        }
    }
}

impl FromShared for Result<Opened, ChargingError> {
    fn from_shared(answer: SharedAnswer) -> Option<Self> {
        match answer {
            SharedAnswer::Started(opened) => Some(Ok(opened)),
            _ => None,
        }
    }
}

impl FromShared for Result<StopOutcome, ChargingError> {
    fn from_shared(answer: SharedAnswer) -> Option<Self> {
        match answer {
            SharedAnswer::Stopped(outcome) => Some(Ok(outcome)),
            _ => None,
        }
    }
}

struct Pending<T> {
    work: Work<T>,
    answer: Option<T>,
    waiter: oneshot::Sender<Result<T, NotStored>>,
}

impl<T: Send + 'static> Job for Pending<T> {
    fn run<'a>(&'a mut self, tx: &'a mut Tx) -> BoxFuture<'a, Result<bool, sqlx::Error>> {
        Box::pin(async move {
            let (answer, keep) = match (self.work)(tx).await? {
                Done::Keep(answer) => (answer, true),
                Done::Undo(answer) => (answer, false),
            };
            self.answer = Some(answer);
            Ok(keep)
        })
    }

    fn answer(self: Box<Self>, outcome: Result<(), NotStored>) {
        let answer = match (outcome, self.answer) {
            (Ok(()), Some(answer)) => Ok(answer),
            _ => Err(NotStored),
        };
        // A waiter that is gone (its connection closed) needs no answer.
        let _ = self.waiter.send(answer);
    }
}

/// A message the set-based pass may write with others; when it cannot (the message is not the
/// common case, or the batch is written one by one), its own work writes it.
struct SharedJob<T> {
    message: SharedMessage,
    pending: Pending<T>,
}

impl<T: FromShared + Send + 'static> Job for SharedJob<T> {
    fn run<'a>(&'a mut self, tx: &'a mut Tx) -> BoxFuture<'a, Result<bool, sqlx::Error>> {
        self.pending.run(tx)
    }

    fn answer(self: Box<Self>, outcome: Result<(), NotStored>) {
        Box::new(self.pending).answer(outcome);
    }

    fn shared(&self) -> Option<Shared<'_>> {
        Some(match &self.message {
            SharedMessage::Boot(boot) => Shared::Boot(boot),
            SharedMessage::Status(report) => Shared::Status(report),
            SharedMessage::Start(start, rules) => Shared::Start(start, rules),
            SharedMessage::Stop(stop) => Shared::Stop(stop),
        })
    }

    fn take(&mut self, answer: SharedAnswer) {
        self.pending.answer = T::from_shared(answer);
    }
}

/// A charging operation's result as the writer takes it: a database error fails the batch, a
/// refusal found before anything was written is kept, and one found after writing rolls its
/// writes back.
pub fn done<T>(
    result: Result<T, ChargingError>,
) -> Result<Done<Result<T, ChargingError>>, sqlx::Error> {
    match result {
        Ok(value) => Ok(Done::Keep(Ok(value))),
        Err(ChargingError::Database(e)) => Err(e),
        Err(e @ ChargingError::NotAdopted) => Ok(Done::Keep(Err(e))),
        Err(e @ ChargingError::TransactionIdsExhausted) => Ok(Done::Undo(Err(e))),
    }
}

/// Where connections hand their writes; cheap to clone.
#[derive(Clone, Debug)]
pub struct SampleWriter {
    lanes: Arc<[mpsc::Sender<Item>]>,
    backlog: Backlog,
}

/// How many items wait in the writer's lanes, as each lane last saw when it took or finished a
/// batch: what work that no charger waits for (the message log) looks at to keep out of a
/// storm's way. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Backlog(Arc<[AtomicUsize]>);

impl Backlog {
    pub fn waiting(&self) -> usize {
        self.0.iter().map(|lane| lane.load(Ordering::Relaxed)).sum()
    }

    /// A backlog of `waiting` items that no writer changes.
    #[cfg(test)]
    pub(crate) fn standing(waiting: usize) -> Self {
        Self(Arc::new([AtomicUsize::new(waiting)]))
    }
}

impl SampleWriter {
    /// Starts the writer's `lanes` tasks on `db` (at least one). They end when every
    /// `SampleWriter` is dropped, after writing what was queued.
    pub fn start(db: Db, lanes: usize) -> (Self, Vec<JoinHandle<()>>) {
        let lanes = lanes.max(1);
        let backlog = Backlog((0..lanes).map(|_| AtomicUsize::new(0)).collect());
        let (senders, tasks): (Vec<_>, Vec<_>) = (0..lanes)
            .map(|lane| {
                let (queue, receiver) = mpsc::channel(QUEUE);
                let task = tokio::spawn(run(db.clone(), receiver, backlog.clone(), lane));
                (queue, task)
            })
            .unzip();
        (
            Self {
                lanes: senders.into(),
                backlog,
            },
            tasks,
        )
    }

    /// The items waiting in the lanes.
    pub fn backlog(&self) -> Backlog {
        self.backlog.clone()
    }

    /// Runs `work` in the batch transaction of `charge_point_id`'s lane; gives its answer once
    /// committed, or [`NotStored`] when it could not be.
    pub async fn grouped<T: Send + 'static>(
        &self,
        charge_point_id: &str,
        work: Work<T>,
    ) -> Result<T, NotStored> {
        let (waiter, outcome) = oneshot::channel();
        let job = Box::new(Pending {
            work,
            answer: None,
            waiter,
        });
        self.send(charge_point_id, Item::Job(job)).await?;
        outcome.await.unwrap_or(Err(NotStored))
    }

    /// Records a BootNotification in its charger's lane (with the batch's other boots); returns
    /// once committed, or with [`NotStored`].
    pub async fn booted(&self, boot: Boot) -> Result<(), NotStored> {
        let alone = boot.clone();
        let work: Work<()> = Box::new(move |tx| {
            let boot = alone.clone();
            Box::pin(async move {
                db::charger_state::booted_many(tx, &[&boot]).await?;
                Ok(Done::Keep(()))
            })
        });
        self.shared(SharedMessage::Boot(boot), work).await
    }

    /// Stores a StatusNotification in its charger's lane (with the batch's other statuses);
    /// gives what it did once committed, or [`NotStored`].
    pub async fn status(&self, report: StatusReport) -> Result<StatusStored, NotStored> {
        let alone = report.clone();
        let work: Work<StatusStored> = Box::new(move |tx| {
            let report = alone.clone();
            Box::pin(async move {
                let stored = db::charger_state::statuses(tx, &[&report]).await?;
                Ok(Done::Keep(
                    stored
                        .into_iter()
                        .flatten()
                        .next()
                        .unwrap_or(StatusStored::Older),
                ))
            })
        });
        self.shared(SharedMessage::Status(report), work).await
    }

    /// Opens a StartTransaction in its charger's lane (with the batch's other Starts where it
    /// can); gives the answer once committed, or [`NotStored`].
    pub async fn started(
        &self,
        start: Start,
        rules: Rules,
    ) -> Result<Result<Opened, ChargingError>, NotStored> {
        let alone = (start.clone(), rules.clone());
        let work: Work<_> = Box::new(move |tx| {
            let (start, rules) = alone.clone();
            Box::pin(async move { done(open::open(tx, &rules, &start).await) })
        });
        self.shared(SharedMessage::Start(start, rules), work).await
    }

    /// Settles a StopTransaction in its charger's lane (with the batch's other Stops where it
    /// can); gives the outcome once committed, or [`NotStored`].
    pub async fn stop(
        &self,
        stop: ChargerStop,
    ) -> Result<Result<StopOutcome, ChargingError>, NotStored> {
        let alone = stop.clone();
        let work: Work<_> = Box::new(move |tx| {
            let stop = alone.clone();
            Box::pin(async move { done(stop::stop(tx, &stop).await) })
        });
        self.shared(SharedMessage::Stop(stop), work).await
    }

    /// Queues `message` in its charger's lane, with `work`, which writes it alone.
    async fn shared<T: FromShared + Send + 'static>(
        &self,
        message: SharedMessage,
        work: Work<T>,
    ) -> Result<T, NotStored> {
        let (waiter, outcome) = oneshot::channel();
        let lane = self.lane(message.charge_point_id());
        let job = Box::new(SharedJob {
            message,
            pending: Pending {
                work,
                answer: None,
                waiter,
            },
        });
        Self::send_to(lane, Item::Job(job)).await?;
        outcome.await.unwrap_or(Err(NotStored))
    }

    /// Stores one message's samples (and the session reading they give): returns once the batch
    /// holding them has committed, or with [`NotStored`] when it could not be.
    pub async fn samples(
        &self,
        charge_point_id: &str,
        rows: Vec<SampleRow>,
        live: Option<LiveReading>,
    ) -> Result<(), NotStored> {
        if rows.is_empty() && live.is_none() {
            return Ok(());
        }
        metrics::counter!("meter_samples_queued_total").increment(rows.len() as u64);
        let (stored, outcome) = oneshot::channel();
        self.send(charge_point_id, Item::Samples { rows, live, stored })
            .await?;
        // A writer that stopped without answering did not store them.
        outcome.await.unwrap_or(Err(NotStored))
    }

    /// Queues a "last seen" time for a charger; nobody waits for it.
    pub async fn seen(&self, charge_point_id: Arc<str>, at: DateTime<Utc>) {
        let lane = self.lane(&charge_point_id);
        let _ = Self::send_to(lane, Item::Seen(charge_point_id, at)).await;
    }

    /// Records that a connection began: returns once committed, or with [`NotStored`].
    pub async fn connected(&self, began: Connection) -> Result<(), NotStored> {
        let (recorded, outcome) = oneshot::channel();
        let lane = self.lane(&began.charge_point_id);
        Self::send_to(lane, Item::Connected(began, recorded)).await?;
        outcome.await.unwrap_or(Err(NotStored))
    }

    /// Records that a connection ended: returns once committed, or with [`NotStored`].
    pub async fn disconnected(&self, ended: Disconnection) -> Result<(), NotStored> {
        let (recorded, outcome) = oneshot::channel();
        let lane = self.lane(&ended.charge_point_id);
        Self::send_to(lane, Item::Disconnected(ended, recorded)).await?;
        outcome.await.unwrap_or(Err(NotStored))
    }

    /// Waits until everything queued so far is written (or refused), in every lane.
    pub async fn flush(&self) {
        for lane in self.lanes.iter() {
            let (done, written) = oneshot::channel();
            if Self::send_to(lane, Item::Flush(done)).await.is_ok() {
                let _ = written.await;
            }
        }
    }

    /// The lane of a charger's writes.
    fn lane(&self, charge_point_id: &str) -> &mpsc::Sender<Item> {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        charge_point_id.hash(&mut hasher);
        let lanes = self.lanes.len() as u64;
        &self.lanes[usize::try_from(hasher.finish() % lanes).unwrap_or(0)]
    }

    async fn send(&self, charge_point_id: &str, item: Item) -> Result<(), NotStored> {
        Self::send_to(self.lane(charge_point_id), item).await
    }

    async fn send_to(lane: &mpsc::Sender<Item>, item: Item) -> Result<(), NotStored> {
        lane.send(item).await.map_err(|_| {
            tracing::error!("the sample writer has stopped; meter data is refused");
            NotStored
        })
    }
}

/// Group commit: each turn writes whatever queued up while the previous batch was written.
async fn run(db: Db, mut receiver: mpsc::Receiver<Item>, backlog: Backlog, lane: usize) {
    let mut items = Vec::new();
    while receiver.recv_many(&mut items, MAX_ITEMS).await > 0 {
        backlog.0[lane].store(receiver.len(), Ordering::Relaxed);
        write(&db, Batch::from(std::mem::take(&mut items))).await;
        backlog.0[lane].store(receiver.len(), Ordering::Relaxed);
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
    jobs: Vec<Box<dyn Job>>,
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
                Item::Job(job) => batch.jobs.push(job),
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
        mut jobs,
        flushes,
        ..
    } = batch;
    // In the order of `Connections`: those begun, then those ended.
    let connection_waiters: Vec<_> = began_waiters.into_iter().chain(ended_waiters).collect();
    let connections = Connections {
        began: &began,
        ended: &ended,
    };
    let empty = rows.is_empty() && live.is_empty() && seen.is_empty() && connections.is_empty();
    if !(empty && jobs.is_empty()) {
        metrics::histogram!("meter_sample_batch_rows").record(rows.len() as f64);
        metrics::histogram!("writer_batch_jobs").record(jobs.len() as f64);
        let started = std::time::Instant::now();
        let mut written = write_whole(db, &rows, &live, &seen, connections, &mut jobs).await;
        if matches!(written, Ok(false)) {
            // A job refused after writing: the rest goes again without the jobs, and each job
            // on its own.
            written = write_whole(db, &rows, &live, &seen, connections, &mut []).await;
            write_jobs_one_by_one(db, std::mem::take(&mut jobs)).await;
        }
        metrics::histogram!("meter_sample_flush_seconds").record(started.elapsed().as_secs_f64());
        match written {
            Ok(_) => {
                metrics::counter!("meter_samples_written_total").increment(rows.len() as u64);
                answer(messages, Ok(()));
                answer_all(connection_waiters, Ok(()));
                answer_jobs(jobs, Ok(()));
            }
            Err(e) if db::failure(&e) == Failure::Unavailable => {
                tracing::error!(error = %e, messages = messages.len(), samples = rows.len(), jobs = jobs.len(),
                    "the database is unavailable: a batch of charger messages was not stored; their chargers get a CALLERROR and retry");
                metrics::counter!("meter_samples_refused_total").increment(rows.len() as u64);
                answer(messages, Err(NotStored));
                answer_all(connection_waiters, Err(NotStored));
                answer_jobs(jobs, Err(NotStored));
            }
            Err(e) => {
                tracing::warn!(error = %e, messages = messages.len(), jobs = jobs.len(),
                    "the database refused a batch of charger messages; writing it message by message");
                write_one_by_one(db, &rows, messages, &seen).await;
                write_connections_one_by_one(db, connections, connection_waiters).await;
                write_jobs_one_by_one(db, jobs).await;
            }
        }
    }
    for done in flushes {
        let _ = done.send(());
    }
}

fn answer_jobs(jobs: Vec<Box<dyn Job>>, outcome: Result<(), NotStored>) {
    for job in jobs {
        job.answer(outcome);
    }
}

/// The jobs of a batch that could not be written whole: each in a transaction of its own.
async fn write_jobs_one_by_one(db: &Db, jobs: Vec<Box<dyn Job>>) {
    for mut job in jobs {
        let outcome = async {
            let mut tx = db.begin().await?;
            if job.run(&mut tx).await? {
                tx.commit().await?;
            }
            // Otherwise dropping `tx` rolls the job's writes back; its answer stands.
            Ok::<(), sqlx::Error>(())
        }
        .await;
        job.answer(outcome.map_err(|e| {
            tracing::error!(error = %e, "a charger message's writes were not stored; its charger gets a CALLERROR");
            NotStored
        }));
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
        let outcome = match write_once(db, &[], &[], &[], one, &mut []).await {
            Ok(_) => Ok(()),
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

/// Writes the batch in one transaction, retrying failures that a retry can cure; false when a
/// job asked for its writes to be rolled back (nothing was committed).
async fn write_whole(
    db: &Db,
    rows: &[SampleRow],
    live: &[LiveReading],
    seen: &[(Box<str>, DateTime<Utc>)],
    connections: Connections<'_>,
    jobs: &mut [Box<dyn Job>],
) -> Result<bool, sqlx::Error> {
    let mut attempt = 1;
    loop {
        match write_once(db, rows, live, seen, connections, jobs).await {
            Ok(kept) => return Ok(kept),
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
                &mut [],
            )
            .await
            {
                Ok(_) => Ok(()),
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
        && let Err(e) = write_once(db, &[], &[], seen, Connections::default(), &mut []).await
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
    jobs: &mut [Box<dyn Job>],
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    db::charger_state::connected_many(&mut tx, connections.began).await?;
    if !write_shared(&mut tx, jobs).await? {
        return Ok(false);
    }
    meter_values::insert(&mut tx, rows).await?;
    meter_values::apply_live(&mut tx, live).await?;
    db::charger_state::seen(&mut tx, seen).await?;
    db::charger_state::disconnected_many(&mut tx, connections.ended).await?;
    tx.commit().await?;
    Ok(true)
}

/// Runs the batch's jobs in `tx`: first the set-based pass over the boots, statuses, Starts and Stops it
/// can write together, then each other job's own work. False when a job's writes (or the whole
/// pass's) must be rolled back.
async fn write_shared(tx: &mut Tx, jobs: &mut [Box<dyn Job>]) -> Result<bool, sqlx::Error> {
    let (mut boots, mut statuses, mut starts, mut stops) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for job in jobs.iter() {
        match job.shared() {
            Some(Shared::Boot(boot)) => boots.push(boot),
            Some(Shared::Status(report)) => statuses.push(report),
            Some(Shared::Start(start, rules)) => starts.push((start, rules)),
            Some(Shared::Stop(stop)) => stops.push(stop),
            None => {}
        }
    }
    db::charger_state::booted_many(tx, &boots).await?;
    let mut stored = db::charger_state::statuses(tx, &statuses)
        .await?
        .into_iter();
    let mut opened = match starts::open_many(tx, &starts).await {
        Ok(opened) => opened.into_iter(),
        Err(Some(e)) => return Err(e),
        // A transaction id beyond OCPP's: each Start alone finds out which.
        Err(None) => return Ok(false),
    };
    let mut settled = stops::settle_many(tx, &stops).await?.into_iter();
    for job in jobs.iter_mut() {
        let answer = match job.shared() {
            Some(Shared::Boot(_)) => Some(SharedAnswer::Booted),
            Some(Shared::Status(_)) => stored.next().flatten().map(SharedAnswer::Status),
            Some(Shared::Start(..)) => opened.next().flatten().map(SharedAnswer::Started),
            Some(Shared::Stop(_)) => settled.next().flatten().map(SharedAnswer::Stopped),
            None => None,
        };
        match answer {
            Some(answer) => job.take(answer),
            None if !job.run(tx).await? => return Ok(false),
            None => {}
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A job inserting `v` into `t`, answering `v`; `undo` asks for its writes to be rolled back.
    fn insert(v: Option<i64>, undo: bool) -> Work<Option<i64>> {
        Box::new(move |tx| {
            Box::pin(async move {
                crate::on_tx!(tx, conn => sqlx::query("INSERT INTO t (v) VALUES ($1)").bind(v).execute(conn).await.map(|_| ()))?;
                Ok(if undo { Done::Undo(v) } else { Done::Keep(v) })
            })
        })
    }

    async fn stored(db: &Db) -> Vec<i64> {
        crate::on_read!(db, pool => sqlx::query_scalar("SELECT v FROM t ORDER BY v").fetch_all(pool).await).unwrap()
    }

    /// Jobs queued together share a batch; one that undoes its writes, or one the database
    /// refuses, costs only its own writes: the others are committed and answered.
    #[tokio::test]
    async fn a_refused_or_undone_job_costs_only_its_own_writes() {
        let db = Db::connect("sqlite::memory:", 1).await.unwrap();
        crate::on_write!(&db, pool => sqlx::query("CREATE TABLE t (v INTEGER NOT NULL UNIQUE)").execute(pool).await.map(|_| ())).unwrap();
        let (writer, _tasks) = SampleWriter::start(db.clone(), 1);
        let (kept, undone, refused, duplicate, also_kept) = tokio::join!(
            writer.grouped("CP-1", insert(Some(1), false)),
            writer.grouped("CP-2", insert(Some(2), true)),
            writer.grouped("CP-3", insert(None, false)),
            writer.grouped("CP-4", insert(Some(1), false)),
            writer.grouped("CP-5", insert(Some(5), false)),
        );
        assert_eq!(kept, Ok(Some(1)));
        assert_eq!(undone, Ok(Some(2)), "an undone job still gets its answer");
        assert_eq!(refused, Err(NotStored));
        assert_eq!(duplicate, Err(NotStored));
        assert_eq!(also_kept, Ok(Some(5)));
        assert_eq!(stored(&db).await, vec![1, 5]);
    }

    /// A job's answer waits for the commit: once answered, its writes are there to read.
    #[tokio::test]
    async fn a_job_is_answered_after_its_batch_is_committed() {
        let db = Db::connect("sqlite::memory:", 1).await.unwrap();
        crate::on_write!(&db, pool => sqlx::query("CREATE TABLE t (v INTEGER NOT NULL UNIQUE)").execute(pool).await.map(|_| ())).unwrap();
        let (writer, _tasks) = SampleWriter::start(db.clone(), 3);
        for v in 1..=20 {
            let charger = format!("CP-{v}");
            assert_eq!(
                writer.grouped(&charger, insert(Some(v), false)).await,
                Ok(Some(v))
            );
            assert!(stored(&db).await.contains(&v));
        }
    }
}
