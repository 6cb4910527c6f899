//! A charger reports that charging stopped: find its session, then settle it
//! ([`super::settle`]), in one database transaction.
//!
//! The session must belong to the charger's point: another charger's transaction, or one never
//! opened, settles nothing. A charger that never received the transaction id (the Start's answer
//! was lost) stops "without" it: the one session of its point still Active for the Stop's idTag
//! is the one it means; with none or several, nothing is settled.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::ChargingError;
use super::settle::{self, Settle, Settled};
use crate::db::meter_values::{self, SampleRow};
use crate::db::transactions::{self, SessionForBilling};
use crate::db::{self, Tx};
use crate::domain::enums::SettledBy;

/// Which session a Stop names.
#[derive(Debug, Clone)]
pub enum StopTarget {
    Transaction(i64),
    /// The id was never received: the point's one open session of this idTag.
    OpenSessionOfTag(String),
    /// Neither an id nor a tag: it names nothing.
    Nothing,
}

/// A charger's report that charging stopped.
#[derive(Debug, Clone)]
pub struct ChargerStop {
    pub charge_point_id: Arc<str>,
    pub target: StopTarget,
    pub meter_stop_wh: i64,
    pub at: DateTime<Utc>,
    /// As recorded in `stop_reason` (`Local` when the charger gave none).
    pub reason: String,
    /// The meter values the Stop carries, stored with the session it settles in the same database
    /// transaction (a Stop is acknowledged only when both are committed; a repeated Stop, found
    /// settled, stores nothing twice).
    pub meter_data: Vec<SampleRow>,
}

/// What the Stop did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopOutcome {
    /// The session (record id `session_id`, on connector `connector`) is settled, or was
    /// provisionally and is now billed its difference.
    Settled {
        session_id: i64,
        connector: u32,
        outcome: Settled,
    },
    /// The session was settled before: a repeated Stop.
    AlreadySettled { session_id: i64 },
    /// No session of this charger matches.
    Unknown,
}

/// Settles what `stop` names, in `tx` (the caller commits).
pub async fn stop(tx: &mut Tx, stop: &ChargerStop) -> Result<StopOutcome, ChargingError> {
    let now = db::now();
    let Some(session) = find(tx, stop).await? else {
        return Ok(StopOutcome::Unknown);
    };
    let note = matches!(stop.target, StopTarget::OpenSessionOfTag(_))
        .then(|| "stopped without its transaction id (the charger never received it)".to_owned());
    let outcome = settle::settle(tx, &session, &stop.end(note), now).await?;
    if outcome == Settled::AlreadySettled {
        return Ok(StopOutcome::AlreadySettled {
            session_id: session.id,
        });
    }
    meter_values::insert(tx, &stop.meter_rows(&session)).await?;
    Ok(StopOutcome::Settled {
        session_id: session.id,
        connector: u32::try_from(session.connector).unwrap_or(0),
        outcome,
    })
}

impl ChargerStop {
    /// The end this Stop gives its session, the charger settling it.
    pub fn end(&self, note: Option<String>) -> Settle {
        Settle {
            meter_stop_wh: self.meter_stop_wh,
            at: self.at,
            reason: self.reason.clone(),
            source: SettledBy::Charger,
            note,
            operator: None,
        }
    }

    /// The Stop's meter values, as rows of the session it settles.
    pub fn meter_rows(&self, session: &SessionForBilling) -> Vec<SampleRow> {
        self.meter_data
            .iter()
            .map(|row| SampleRow {
                session_id: Some(session.id),
                connector_number: session.connector,
                ..row.clone()
            })
            .collect()
    }
}

/// The session `stop` names, locked, if it is one of the charger's point.
async fn find(tx: &mut Tx, stop: &ChargerStop) -> Result<Option<SessionForBilling>, sqlx::Error> {
    let Some(point) = transactions::lock_point(tx, &stop.charge_point_id).await? else {
        return Ok(None);
    };
    Ok(match &stop.target {
        StopTarget::Transaction(id) => transactions::lock_by_transaction(tx, *id)
            .await?
            .filter(|s| s.charging_point_id == point.point_id),
        StopTarget::OpenSessionOfTag(id_tag) => {
            let mut open = transactions::lock_active_of_tag(tx, point.point_id, id_tag).await?;
            (open.len() == 1).then(|| open.remove(0))
        }
        StopTarget::Nothing => None,
    })
}
