//! A running session as metering needs it, and the live energy and cost a register reading gives.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::pricing::{self, Rate};
use crate::db::meter_values::LiveReading;
use crate::db::transactions::{self, SessionForBilling};
use crate::db::{self, Db};
use crate::domain::enums::SessionStatus;

/// What a connection remembers of one of its charger's transactions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningSession {
    /// The session's record id.
    pub session_id: i64,
    /// The session's public `session_id`, for the live event stream.
    pub public_id: Arc<str>,
    pub meter_start_wh: i64,
    /// The tariff snapshot; None when the point had no tariff.
    pub rate: Option<Rate>,
    /// Still Active: a refused or settled session keeps no live reading.
    pub active: bool,
    /// The customer whose wallet pays (the balance guard watches it).
    pub customer_id: Option<i64>,
}

impl RunningSession {
    pub fn of(s: &SessionForBilling) -> Self {
        Self {
            session_id: s.id,
            public_id: Arc::from(s.session_id.as_str()),
            meter_start_wh: s.meter_start_wh.unwrap_or(0),
            rate: rate_of(s),
            active: s.status == SessionStatus::Active,
            customer_id: s.customer_id,
        }
    }

    /// The session's energy and running cost at a register reading of `register_wh` sampled at
    /// `sampled_at`; None for a session no longer running.
    pub fn reading(&self, register_wh: i64, sampled_at: DateTime<Utc>) -> Option<LiveReading> {
        if !self.active {
            return None;
        }
        let energy = pricing::energy(self.meter_start_wh, register_wh);
        Some(LiveReading {
            session_id: self.session_id,
            energy_wh: energy.wh,
            running_cost: self
                .rate
                .and_then(|rate| pricing::price(energy.wh, rate).ok()),
            // Never dated after its arrival, so a charger clock ahead of ours cannot freeze it.
            sampled_at: sampled_at.min(db::now()),
        })
    }
}

/// The tariff snapshot a session carries.
pub fn rate_of(s: &SessionForBilling) -> Option<Rate> {
    Some(Rate {
        base_charges: s.base_charges?,
        tax: s.tax?,
    })
}

/// The session of `transaction_id` if it was opened at charging point `point_id`.
pub async fn of_point(
    db: &Db,
    point_id: i64,
    transaction_id: i64,
) -> Result<Option<RunningSession>, sqlx::Error> {
    let found = transactions::by_transaction(db, transaction_id).await?;
    Ok(found
        .filter(|s| s.charging_point_id == point_id)
        .map(|s| RunningSession::of(&s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn running(active: bool) -> RunningSession {
        RunningSession {
            customer_id: None,
            session_id: 7,
            public_id: Arc::from("s-7"),
            meter_start_wh: 1_000,
            rate: Some(Rate {
                base_charges: "18.50".parse().unwrap(),
                tax: "18.00".parse().unwrap(),
            }),
            active,
        }
    }

    #[test]
    fn a_reading_gives_energy_since_the_start_and_its_cost() {
        let at = db::now() - chrono::Duration::seconds(5);
        let r = running(true).reading(13_000, at).unwrap();
        assert_eq!(r.energy_wh, 12_000);
        assert_eq!(r.running_cost.unwrap().to_string(), "261.96");
        assert_eq!(r.sampled_at, at);
    }

    #[test]
    fn a_reading_from_a_clock_ahead_is_dated_now_and_a_settled_session_has_none() {
        let ahead = db::now() + chrono::Duration::hours(5);
        let r = running(true).reading(500, ahead).unwrap();
        assert!(r.sampled_at <= db::now());
        assert_eq!(r.energy_wh, 0, "a register below the start is no energy");
        assert!(running(false).reading(13_000, ahead).is_none());
    }
}
