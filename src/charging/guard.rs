//! The balance guard: a prepaid wallet must not run dry in the middle of a session. Each meter
//! reading's running cost is compared with what the customer's wallet still holds (its balance
//! less the running cost of the customer's other active sessions); once less than the margin
//! (`EVCMS_BALANCE_GUARD_MARGIN`) would be left, evcms asks the charger to stop
//! (RemoteStopTransaction), notes why on the session, and bills the session as usual when its
//! Stop arrives. A charger that refuses, cannot be reached or does not answer leaves the session
//! flagged for an operator.
//!
//! The wallet is read when a session's first reading arrives and again only when the cost nears
//! what was read (or after [`REREAD_AFTER`]). Reads run in the background: a MeterValues answer
//! never waits for the wallet or for the charger.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rust_decimal::Decimal;

use super::running::RunningSession;
use crate::commands::action::Action;
use crate::commands::{CommandError, Commands, Order, Requester};
use crate::db::{self, Db};
use crate::fixed::Money;
use crate::{on_read, on_write};

/// How long a wallet reading is trusted while the cost is far from it: other sessions of the
/// same customer spend from it too.
const REREAD_AFTER: Duration = Duration::from_secs(60);

/// Sessions remembered per connection before the memories are dropped.
const REMEMBERED: usize = 64;

/// What one connection's guard remembers of each of its sessions (shared with the background
/// reads it starts).
#[derive(Debug, Default, Clone)]
pub struct Watch {
    sessions: Arc<Mutex<HashMap<i64, Seen>>>,
}

#[derive(Debug, Clone, Copy)]
struct Seen {
    /// What the wallet could still pay for this session when last read.
    available: Decimal,
    read_at: Instant,
    /// The stop was requested: nothing more to do for this session.
    tripped: bool,
    /// A read is under way.
    reading: bool,
}

/// One session's reading, as the guard needs it.
#[derive(Debug, Clone, Copy)]
pub struct Reading<'a> {
    pub charge_point_id: &'a str,
    pub transaction_id: i32,
    pub session: &'a RunningSession,
    pub cost: Money,
}

impl Watch {
    /// Looks at a session's running cost; when the wallet may be running dry, reads it in the
    /// background and, if it cannot pay for more, asks the charger to stop the session.
    pub fn reading(&self, commands: &Commands, r: Reading<'_>) {
        let (Some(margin), Some(customer)) = (commands.rules.guard_margin, r.session.customer_id)
        else {
            return;
        };
        let cost = r.cost.decimal();
        let margin = margin.decimal();
        let session = r.session.session_id;
        {
            let mut sessions = self.lock();
            let seen = sessions.get(&session).copied();
            let settled = seen.is_some_and(|s| {
                s.tripped
                    || s.reading
                    || (s.read_at.elapsed() < REREAD_AFTER
                        && s.available - cost >= margin * Decimal::TWO)
            });
            if settled {
                return;
            }
            if sessions.len() >= REMEMBERED && seen.is_none() {
                sessions.clear();
            }
            sessions.insert(
                session,
                Seen {
                    available: seen.map_or(Decimal::ZERO, |s| s.available),
                    read_at: seen.map_or_else(Instant::now, |s| s.read_at),
                    tripped: false,
                    reading: true,
                },
            );
        }
        let watch = self.clone();
        let commands = commands.clone();
        let charge_point_id = r.charge_point_id.to_owned();
        let transaction_id = r.transaction_id;
        tokio::spawn(async move {
            let available = match available_for(&commands.db, customer, session).await {
                Ok(available) => available,
                Err(e) => {
                    // Tried again at the next reading.
                    tracing::warn!(session, error = %e, "the balance guard could not read the wallet");
                    watch.lock().remove(&session);
                    return;
                }
            };
            let tripped = available - cost < margin;
            watch.lock().insert(
                session,
                Seen {
                    available,
                    read_at: Instant::now(),
                    tripped,
                    reading: false,
                },
            );
            if tripped {
                tracing::info!(charger = %charge_point_id, transaction_id, %available, %cost,
                    "the balance guard stops a session whose wallet runs dry");
                metrics::counter!("balance_guard_stops_total").increment(1);
                stop(
                    commands,
                    charge_point_id,
                    transaction_id,
                    session,
                    available,
                    cost,
                )
                .await;
            }
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Seen>> {
        // Every change is one insert or remove: a poisoned map is still consistent.
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What `customer`'s wallet can still pay for session record `session`: the balance less the
/// running cost of the customer's other active sessions.
async fn available_for(db: &Db, customer: i64, session: i64) -> Result<Decimal, sqlx::Error> {
    let sql = concat!(
        "SELECT c.wallet_balance - COALESCE((SELECT SUM(s.billed_amount) FROM charging_sessions s ",
        "WHERE s.customer_id = c.id AND s.status = 'Active' AND s.id <> $2), 0) ",
        "FROM customers c WHERE c.id = $1"
    );
    // Money is exact in both databases (minor units in SQLite, NUMERIC in PostgreSQL), and so is
    // the difference.
    let found: Option<Money> = on_read!(db, pool => sqlx::query_scalar(sql).bind(customer).bind(session).fetch_optional(pool).await)?;
    Ok(found.map_or(Decimal::ZERO, Money::decimal))
}

/// Sends the RemoteStopTransaction and notes on the session what came of it.
async fn stop(
    commands: Commands,
    charge_point_id: String,
    transaction_id: i32,
    session: i64,
    available: Decimal,
    cost: Decimal,
) {
    let why = format!(
        "balance guard: the wallet could pay {available} and the session had cost {cost}; asked the charger to stop"
    );
    let order = Order {
        charge_point_id,
        action: Action::RemoteStopTransaction,
        body: serde_json::json!({ "transactionId": transaction_id })
            .as_object()
            .cloned()
            .unwrap_or_default(),
        requested_by: Requester::BalanceGuard { session },
        request_origin: None,
    };
    let outcome = commands.send(order).await;
    let accepted = matches!(&outcome, Ok(record)
        if record.response.as_ref().and_then(|r| r.get("status")).and_then(|s| s.as_str()) == Some("Accepted"));
    let flag = if accepted {
        None
    } else {
        Some(match &outcome {
            Ok(_) => "the charger refused to stop".to_owned(),
            Err(CommandError::Unanswered(record)) => {
                format!("the stop could not be delivered ({})", record.status)
            }
            Err(e) => format!("the stop could not be sent ({e})"),
        })
    };
    if let Err(e) = note(&commands.db, session, &why, flag.as_deref()).await {
        tracing::error!(session, error = %e, "could not note the balance guard's stop on the session");
    }
    if let Some(flag) = flag {
        tracing::warn!(session, problem = %flag, "the balance guard could not stop a session: flagged for an operator");
        metrics::counter!("balance_guard_flagged_total").increment(1);
    }
}

async fn note(db: &Db, session: i64, why: &str, flag: Option<&str>) -> Result<(), sqlx::Error> {
    let now = db::now();
    let note = super::fit_note(match flag {
        Some(flag) => format!("{why}; {flag}: an operator must stop it"),
        None => why.to_owned(),
    });
    let sql = concat!(
        "UPDATE charging_sessions SET guard_stop_requested_at = $2, guard_note = $3, ",
        "guard_flagged_at = CASE WHEN $4 THEN $2 ELSE guard_flagged_at END WHERE id = $1"
    );
    on_write!(db, pool => sqlx::query(sql).bind(session).bind(now).bind(note).bind(flag.is_some())
        .execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(())
}
