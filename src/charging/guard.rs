//! The balance guard: a prepaid wallet must not run dry in the middle of a session. Each meter
//! reading's running cost is compared with what the customer's wallet still holds (its balance
//! less the running cost of the customer's other active sessions); once less than the margin
//! (`EVCMS_BALANCE_GUARD_MARGIN`) would be left, evcms asks the charger to stop
//! (RemoteStopTransaction), notes why on the session, and bills the session as usual when its
//! Stop arrives. A charger that refuses, cannot be reached or does not answer leaves the session
//! flagged for an operator.
//!
//! The wallet is read when a session's first reading arrives and again only when the cost nears
//! what was read (or after [`REREAD_AFTER`]), so the hot path rarely pays a query for it.

use std::collections::HashMap;
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

/// What one connection's guard remembers of each of its sessions.
#[derive(Debug, Default)]
pub struct Watch {
    sessions: HashMap<i64, Seen>,
}

#[derive(Debug, Clone, Copy)]
struct Seen {
    /// What the wallet could still pay for this session when last read.
    available: Decimal,
    read_at: Instant,
    /// The stop was requested: nothing more to do for this session.
    tripped: bool,
}

/// Sessions remembered per connection before the oldest memories are dropped.
const REMEMBERED: usize = 64;

impl Watch {
    /// Looks at `session`'s running cost `cost`; when the wallet cannot pay for more, asks the
    /// charger `charge_point_id` to stop it (in the background: the meter reading's answer does
    /// not wait for the charger).
    pub async fn reading(
        &mut self,
        commands: &Commands,
        charge_point_id: &str,
        transaction_id: i32,
        session: &RunningSession,
        cost: Money,
    ) -> Result<(), sqlx::Error> {
        let (Some(margin), Some(customer)) = (commands.rules.guard_margin, session.customer_id)
        else {
            return Ok(());
        };
        let cost = cost.decimal();
        let margin = margin.decimal();
        let seen = self.sessions.get(&session.session_id).copied();
        if seen.is_some_and(|s| s.tripped) {
            return Ok(());
        }
        let fresh = seen.filter(|s| {
            s.read_at.elapsed() < REREAD_AFTER && s.available - cost >= margin * Decimal::TWO
        });
        if fresh.is_some() {
            return Ok(());
        }
        let available = available_for(&commands.db, customer, session.session_id).await?;
        let tripped = available - cost < margin;
        if self.sessions.len() >= REMEMBERED {
            self.sessions.clear();
        }
        self.sessions.insert(
            session.session_id,
            Seen {
                available,
                read_at: Instant::now(),
                tripped,
            },
        );
        if tripped {
            tracing::info!(charger = charge_point_id, transaction_id, %available, %cost,
                "the balance guard stops a session whose wallet runs dry");
            metrics::counter!("balance_guard_stops_total").increment(1);
            tokio::spawn(stop(
                commands.clone(),
                charge_point_id.to_owned(),
                transaction_id,
                session.session_id,
                available,
                cost,
            ));
        }
        Ok(())
    }

    /// Forgets a session that ended.
    pub fn forget(&mut self, session_id: i64) {
        self.sessions.remove(&session_id);
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
