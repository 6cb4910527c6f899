//! Sessions whose Stop never came. Besides a new Start on the same connector (see
//! [`super::open`]), two signs say charging ended: the connector reported Available, or the
//! charger booted again and sent no meter value since. After [`Rules::close_grace`] with no Stop
//! the session is closed provisionally, billed up to its last meter reading and flagged; the
//! charger's Stop, if it still comes, bills the difference ([`super::settle`]). A session with no
//! meter value for [`Rules::meter_silence`] is flagged for an operator, not closed.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::task::JoinHandle;

use super::settle::{self, Settle};
use super::{ChargingError, Rules};
use crate::db::transactions::{self, Abandoned};
use crate::db::{self, Db};
use crate::domain::enums::SettledBy;
use crate::events::Bus;

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub closed: usize,
    pub flagged: u64,
}

/// Starts the background sweep; it runs every quarter of the shortest period, at least every
/// 30 s and at most every 250 ms. None when both rules are off. The sessions it closes are told
/// on the live event stream.
pub fn start(db: Db, rules: Rules, events: Arc<Bus>) -> Option<JoinHandle<()>> {
    let shortest = [rules.close_grace, rules.meter_silence]
        .into_iter()
        .flatten()
        .min()?;
    let every = (shortest / 4).clamp(Duration::from_millis(250), Duration::from_secs(30));
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let mut closed = Vec::new();
            let result = sweep_closing(&db, &rules, db::now(), &mut closed).await;
            for id in closed {
                events.session_settled(&db, id).await;
            }
            match result {
                Ok(swept) if swept != Swept::default() => {
                    tracing::info!(
                        closed = swept.closed,
                        flagged = swept.flagged,
                        "session sweep"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "session sweep failed; retried next round"),
            }
        }
    }))
}

/// Closes the sessions abandoned longer than the grace period and flags the silent ones, as of
/// `now`.
pub async fn sweep(db: &Db, rules: &Rules, now: DateTime<Utc>) -> Result<Swept, ChargingError> {
    sweep_closing(db, rules, now, &mut Vec::new()).await
}

/// [`sweep`], adding the record ids of the sessions it closed to `closed`.
async fn sweep_closing(
    db: &Db,
    rules: &Rules,
    now: DateTime<Utc>,
    closed: &mut Vec<i64>,
) -> Result<Swept, ChargingError> {
    let mut swept = Swept::default();
    if let Some(grace) = rules.close_grace {
        for abandoned in transactions::abandoned(db, now - grace).await? {
            if close_provisionally(db, &abandoned, now).await? {
                swept.closed += 1;
                closed.push(abandoned.id);
            }
        }
    }
    if let Some(silence) = rules.meter_silence {
        let note = format!("no meter value for over {}", spoken(silence));
        let mut tx = db.begin().await?;
        swept.flagged = transactions::flag_silent(&mut tx, now - silence, &note, now).await?;
        tx.commit().await?;
    }
    Ok(swept)
}

/// A period as an operator reads it: "90 s", "15 min".
fn spoken(period: Duration) -> String {
    let seconds = period.as_secs();
    if seconds >= 120 && seconds.is_multiple_of(60) {
        format!("{} min", seconds / 60)
    } else {
        format!("{seconds} s")
    }
}

/// Closes one abandoned session at its last meter reading; false when it was settled meanwhile.
async fn close_provisionally(
    db: &Db,
    abandoned: &Abandoned,
    now: DateTime<Utc>,
) -> Result<bool, ChargingError> {
    let mut tx = db.begin().await?;
    let Some(session) = transactions::lock_active(&mut tx, abandoned.id).await? else {
        return Ok(false);
    };
    let (source, at, reason, sign) = match (abandoned.available_at, abandoned.booted_at) {
        (Some(at), _) => (
            SettledBy::ConnectorAvailable,
            at,
            "Other",
            "its connector reported Available",
        ),
        (None, Some(at)) => (
            SettledBy::ChargerReboot,
            at,
            "Reboot",
            "its charger rebooted",
        ),
        (None, None) => return Ok(false),
    };
    let meter_start_wh = session.meter_start_wh.unwrap_or(0);
    let end = Settle {
        meter_stop_wh: meter_start_wh + session.energy_wh.unwrap_or(0),
        at,
        reason: reason.to_owned(),
        source,
        note: Some(format!(
            "closed provisionally: {sign} and no StopTransaction came; billed up to the last meter value"
        )),
        operator: None,
    };
    tracing::warn!(session = %session.session_id, by = %source, "closing a session whose StopTransaction never came");
    settle::settle(&mut tx, &session, &end, now).await?;
    tx.commit().await?;
    Ok(true)
}
