//! Commands for a charger held by another node.
//!
//! The command's row (`charger_commands`, already Pending) is the source of truth; notifications
//! only say "look at row N":
//!
//! 1. The asking node finds the live node holding the charger (`chargers.node_id`), marks the row
//!    `relay_state = 'requested'` for it and notifies `evcms_calls` (`"<holder> <id>"`), in one
//!    statement, so the notification leaves only with the mark committed.
//! 2. The holder claims the row (`requested` → `claimed`, one UPDATE: only one node can ever send
//!    a command, even if notified twice), sends the CALL through its own registry (same queue,
//!    same timeout as a local command), writes the outcome into `relay_outcome` with
//!    `relay_state = 'done'` and notifies `evcms_call_done` (`"<id>"`).
//! 3. The asking node, woken, reads the outcome and completes the command as if it were local.
//!
//! Nothing waits for ever: the asker gives up after [`Relay::deadline`] (the holder's queue wait
//! plus the charger's timeout, and a margin), or as soon as the holder is presumed dead. A row still `requested` then is marked `expired` in
//! a guarded UPDATE, so a holder that comes late never sends it (the answer is `Offline`); a row
//! `claimed` but never done means the holder died mid-call (`Disconnected`). A charger that left
//! the holder before the CALL went out gets `Offline` from the holder; one that left mid-call gets
//! `Disconnected`: a clean error, and the command is never sent twice.
//!
//! A lost listening connection may drop notifications: on reconnecting, the holder looks for rows
//! still `requested` of it and every waiting asker re-reads its row.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::Notify;

use crate::commands::action::Action;
use crate::commands::transport::{Call, Delivery, Local, Transport, Undelivered};
use crate::ocpp::outbox::CallOutcome;

/// Notified with `"<holder node> <command id>"`: a command to send.
pub const CALLS: &str = "evcms_calls";
/// Notified with `"<command id>"`: a relayed command's outcome is in its row.
pub const CALLS_DONE: &str = "evcms_call_done";

/// How often an asker still waiting looks whether the holder is alive.
const HOLDER_CHECK: Duration = Duration::from_secs(2);

/// What the relay writes into `relay_outcome`.
type Outcome = Result<CallOutcome, Undelivered>;

/// The commands this node waits for other nodes to send, and its share of the relay's SQL.
#[derive(Debug)]
pub struct Relay {
    pool: PgPool,
    node: Arc<str>,
    local: Local,
    /// How long a node asked to send a command may take to report its outcome.
    deadline: Duration,
    /// How long a node's heartbeat may lapse before it is presumed dead.
    node_timeout_secs: f64,
    waiting: Mutex<HashMap<i64, Arc<Notify>>>,
}

impl Relay {
    pub fn new(
        pool: PgPool,
        node: Arc<str>,
        local: Local,
        call_timeout: Duration,
        node_timeout: Duration,
    ) -> Self {
        Self {
            pool,
            node,
            local,
            // A local command waits at most about twice the call timeout (queued, then in flight).
            deadline: call_timeout * 2 + Duration::from_secs(5),
            node_timeout_secs: node_timeout.as_secs_f64(),
            waiting: Mutex::new(HashMap::new()),
        }
    }

    /// Asks the node holding the charger to send `call`, and waits for the outcome.
    async fn forward(&self, call: Call<'_>) -> Outcome {
        let holder = match super::nodes::holder_of(
            &self.pool,
            call.charge_point_id,
            self.node_timeout_secs,
        )
        .await
        {
            Ok(Some(holder)) if *holder != *self.node => holder,
            // Not connected anywhere (or it just left this node).
            Ok(_) => return Err(Undelivered::Offline),
            Err(e) => {
                tracing::warn!(charger = call.charge_point_id, error = %e, "could not find the node holding the charger");
                return Err(Undelivered::Offline);
            }
        };
        let woken = Arc::new(Notify::new());
        let _waiting = Waiting::register(self, call.command, woken.clone());
        if let Err(e) = request(&self.pool, call.command, &holder).await {
            tracing::warn!(command = call.command, error = %e, "could not ask another node to send a command");
            return Err(Undelivered::Offline);
        }
        metrics::counter!("cluster_commands_forwarded_total").increment(1);
        let give_up = tokio::time::Instant::now() + self.deadline;
        loop {
            // Woken by the holder's report, or every few seconds to see whether the holder died
            // before taking the command (its chargers are then swept: no need to wait it out).
            let look_again = (tokio::time::Instant::now() + HOLDER_CHECK).min(give_up);
            let woken_up = tokio::time::timeout_at(look_again, woken.notified())
                .await
                .is_ok();
            let timed_out = tokio::time::Instant::now() >= give_up;
            match read_outcome(&self.pool, call.command).await {
                Ok(Some(outcome)) => return outcome,
                Ok(None) if timed_out => return self.abandon(call.command).await,
                Ok(None) if woken_up => {}
                Ok(None) => {
                    let alive = super::nodes::is_live(&self.pool, &holder, self.node_timeout_secs)
                        .await
                        .unwrap_or(true);
                    if !alive {
                        return self.abandon(call.command).await;
                    }
                }
                Err(e) if timed_out => {
                    tracing::warn!(command = call.command, error = %e, "could not read a relayed command's outcome");
                    return Err(Undelivered::Disconnected);
                }
                Err(_) => {}
            }
        }
    }

    /// The holder never reported: make sure it never sends the command now.
    async fn abandon(&self, command: i64) -> Outcome {
        match expire(&self.pool, command).await {
            // Never taken: its node is gone or too slow; the charger was not reached.
            Ok(true) => Err(Undelivered::Offline),
            // Taken and not reported: the node died mid-call, or its report came just now.
            Ok(false) => match read_outcome(&self.pool, command).await {
                Ok(Some(outcome)) => outcome,
                _ => Err(Undelivered::Disconnected),
            },
            Err(_) => Err(Undelivered::Disconnected),
        }
    }

    /// A notification on [`CALLS`]: sends the command when it is this node's to send.
    pub fn asked(self: &Arc<Self>, payload: &str) {
        let Some((node, id)) = payload.split_once(' ') else {
            return;
        };
        if node != &*self.node {
            return;
        }
        if let Ok(id) = id.parse::<i64>() {
            let relay = self.clone();
            tokio::spawn(async move { relay.send(id).await });
        }
    }

    /// A notification on [`CALLS_DONE`]: wakes whoever waits for that command.
    pub fn done(&self, payload: &str) {
        if let Ok(id) = payload.parse::<i64>()
            && let Some(woken) = self.lock().get(&id)
        {
            woken.notify_one();
        }
    }

    /// After notifications may have been lost: sends what was asked of this node meanwhile, and
    /// has every waiting asker re-read its row.
    pub async fn catch_up(self: &Arc<Self>) {
        for woken in self.lock().values() {
            woken.notify_one();
        }
        let sql =
            "SELECT id FROM charger_commands WHERE relay_node = $1 AND relay_state = 'requested'";
        match sqlx::query_scalar::<_, i64>(sql)
            .bind(&*self.node)
            .fetch_all(&self.pool)
            .await
        {
            Ok(ids) => {
                for id in ids {
                    let relay = self.clone();
                    tokio::spawn(async move { relay.send(id).await });
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not look for commands asked of this node"),
        }
    }

    /// Claims command `id`, sends it to the charger here and reports the outcome.
    async fn send(&self, id: i64) {
        let claimed = match claim(&self.pool, id, &self.node).await {
            Ok(Some(claimed)) => claimed,
            // Taken already, expired, or not this node's.
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(command = id, error = %e, "could not claim a relayed command");
                return;
            }
        };
        let outcome = match Action::parse(&claimed.action) {
            Some(action) => {
                self.local
                    .call(Call {
                        command: id,
                        charge_point_id: &claimed.charge_point_id,
                        action: action.name(),
                        payload: claimed.request,
                    })
                    .await
            }
            // Written by a newer version of evcms: not sent.
            None => Err(Undelivered::Offline),
        };
        let label = crate::commands::status_of(&outcome);
        metrics::counter!("cluster_commands_relayed_total", "outcome" => label).increment(1);
        // The asker waits for this report; retry briefly through a database hiccup.
        for wait in [0, 1, 2, 4] {
            tokio::time::sleep(Duration::from_secs(wait)).await;
            match report(&self.pool, id, &outcome).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(command = id, error = %e, "could not report a relayed command's outcome")
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<Notify>>> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A waiting asker, unregistered when it stops waiting (answered, given up, or its request
/// dropped).
struct Waiting<'a> {
    relay: &'a Relay,
    command: i64,
}

impl<'a> Waiting<'a> {
    fn register(relay: &'a Relay, command: i64, woken: Arc<Notify>) -> Self {
        relay.lock().insert(command, woken);
        Self { relay, command }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.relay.lock().remove(&self.command);
    }
}

/// Commands go to the charger's socket here when it is here, and through the relay otherwise.
#[derive(Debug)]
pub struct Routed {
    pub local: Local,
    pub relay: Arc<Relay>,
}

impl Transport for Routed {
    fn call<'a>(&'a self, call: Call<'a>) -> Delivery<'a> {
        if self.local.holds(call.charge_point_id) {
            self.local.call(call)
        } else {
            Box::pin(self.relay.forward(call))
        }
    }
}

async fn request(pool: &PgPool, id: i64, holder: &str) -> Result<(), sqlx::Error> {
    let sql = concat!(
        "WITH asked AS (UPDATE charger_commands SET relay_node = $2, relay_state = 'requested' ",
        "WHERE id = $1 AND relay_state IS NULL RETURNING id) ",
        "SELECT pg_notify('evcms_calls', $2 || ' ' || id::text) FROM asked"
    );
    sqlx::query(sql).bind(id).bind(holder).execute(pool).await?;
    Ok(())
}

/// A claimed command: what to send.
#[derive(Debug, sqlx::FromRow)]
struct Claimed {
    charge_point_id: String,
    action: String,
    request: String,
}

async fn claim(pool: &PgPool, id: i64, node: &str) -> Result<Option<Claimed>, sqlx::Error> {
    let sql = concat!(
        "UPDATE charger_commands SET relay_state = 'claimed' ",
        "WHERE id = $1 AND relay_node = $2 AND relay_state = 'requested' ",
        "RETURNING charge_point_id, action, request"
    );
    sqlx::query_as(sql)
        .bind(id)
        .bind(node)
        .fetch_optional(pool)
        .await
}

async fn report(pool: &PgPool, id: i64, outcome: &Outcome) -> Result<(), sqlx::Error> {
    let sql = concat!(
        "WITH done AS (UPDATE charger_commands SET relay_state = 'done', relay_outcome = $2 ",
        "WHERE id = $1 AND relay_state = 'claimed' RETURNING id) ",
        "SELECT pg_notify('evcms_call_done', id::text) FROM done"
    );
    let written = serde_json::to_string(outcome).unwrap_or_default();
    sqlx::query(sql)
        .bind(id)
        .bind(written)
        .execute(pool)
        .await?;
    Ok(())
}

/// The outcome of command `id`, once its holder reported it.
async fn read_outcome(pool: &PgPool, id: i64) -> Result<Option<Outcome>, sqlx::Error> {
    let sql = "SELECT relay_outcome FROM charger_commands WHERE id = $1 AND relay_state = 'done'";
    let written: Option<Option<String>> = sqlx::query_scalar(sql)
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(written.flatten().map(|text| {
        serde_json::from_str(&text).unwrap_or_else(|e| {
            Ok(CallOutcome::Malformed(format!(
                "unreadable relay report: {e}"
            )))
        })
    }))
}

/// Marks command `id` expired if nobody took it; says whether it did.
async fn expire(pool: &PgPool, id: i64) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE charger_commands SET relay_state = 'expired' WHERE id = $1 AND relay_state = 'requested'";
    let done = sqlx::query(sql).bind(id).execute(pool).await?;
    Ok(done.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outcome_survives_its_trip_through_the_row() {
        let outcomes: Vec<Outcome> = vec![
            Ok(CallOutcome::Result(
                serde_json::json!({"status": "Accepted"}),
            )),
            Ok(CallOutcome::Error {
                code: "NotSupported".into(),
                description: "no".into(),
            }),
            Ok(CallOutcome::Malformed("x".into())),
            Ok(CallOutcome::Timeout),
            Err(Undelivered::Offline),
            Err(Undelivered::Busy),
            Err(Undelivered::Disconnected),
        ];
        for outcome in outcomes {
            let text = serde_json::to_string(&outcome).unwrap();
            let back: Outcome = serde_json::from_str(&text).unwrap();
            assert_eq!(back, outcome);
        }
    }
}
