//! Many StopTransactions settled together, in a few set-based statements: what a stop storm
//! (a whole network stopping within seconds) needs, where [`super::stop`] spends about seven
//! statements on each Stop.
//!
//! Only the common case is settled here: a Stop naming its transaction id, whose session is
//! open and belongs to the charger's point. Every other Stop (a repeated one, one after a
//! provisional close, one without its id, one naming another charger's transaction, a second
//! Stop of one transaction in the batch) is left to [`super::stop::stop`], which its caller runs
//! next in the same transaction. The rules are those of [`super::settle`], whose pure
//! [`settle::closing`] both paths use; only the statements are shared out:
//!
//! 1. the chargers' points are locked in one statement, then the named sessions in another (the
//!    same order as one Stop takes its locks);
//! 2. each settlement is computed in memory, exactly as one Stop computes it;
//! 3. the debits go through [`wallet::apply_many`]: the wallets locked and read in one statement,
//!    the entries applied in order by the ledger's rule, balances and ledger rows written in two;
//! 4. the sessions' ends are written in one statement, their meter values in another.

use std::collections::HashSet;

use super::settle;
use super::stop::{ChargerStop, StopOutcome, StopTarget};
use crate::db::meter_values::{self, SampleRow};
use crate::db::transactions;
use crate::db::{self, Tx, wallet};

/// Settles, inside `tx`, those of `stops` it can settle together; gives each Stop's outcome, or
/// None where the Stop is left to [`super::stop::stop`].
pub async fn settle_many(
    tx: &mut Tx,
    stops: &[&ChargerStop],
) -> Result<Vec<Option<StopOutcome>>, sqlx::Error> {
    let now = db::now();
    let mut outcomes = vec![None; stops.len()];
    // Each transaction once: a second Stop of it is a repeat, for the one-by-one path.
    let mut named = HashSet::with_capacity(stops.len());
    let candidates: Vec<(usize, i64)> = stops
        .iter()
        .enumerate()
        .filter_map(|(i, stop)| match stop.target {
            StopTarget::Transaction(id) if named.insert(id) => Some((i, id)),
            _ => None,
        })
        .collect();
    if candidates.is_empty() {
        return Ok(outcomes);
    }
    let chargers: Vec<&str> = candidates
        .iter()
        .map(|(i, _)| &*stops[*i].charge_point_id)
        .collect();
    let points = transactions::lock_points_of(tx, &chargers).await?;
    let ids: Vec<i64> = candidates.iter().map(|(_, id)| *id).collect();
    let mut sessions = transactions::lock_by_transactions(tx, &ids).await?;
    let mut closings = Vec::with_capacity(candidates.len());
    for (i, transaction_id) in candidates {
        let stop = stops[i];
        let Some(session) = sessions.remove(&transaction_id) else {
            continue;
        };
        let on_its_point = points.get(&*stop.charge_point_id) == Some(&session.charging_point_id);
        if on_its_point && settle::is_open(&session) {
            let closing = settle::closing(&session, &stop.end(None));
            closings.push((i, session, closing));
        }
    }
    let debits: Vec<(i64, &wallet::LedgerEntry)> = closings
        .iter()
        .filter_map(|(_, _, c)| c.debit.as_ref().map(|d| (d.customer_id, &d.entry)))
        .collect();
    let mut applied = wallet::apply_many(tx, &debits).await?.into_iter();
    let mut settlements = Vec::with_capacity(closings.len());
    let mut meter_rows: Vec<SampleRow> = Vec::new();
    for (i, session, mut closing) in closings {
        if closing.debit.is_some()
            && let Some(result) = applied.next()
        {
            closing.notes.extend(settle::debit_note(result));
        }
        meter_rows.extend(stops[i].meter_rows(&session));
        let (settlement, settled) = closing.settled();
        outcomes[i] = Some(StopOutcome::Settled {
            session_id: session.id,
            connector: u32::try_from(session.connector).unwrap_or(0),
            outcome: settled,
        });
        settlements.push((session.id, settlement));
    }
    let settlements: Vec<(i64, &transactions::Settlement)> =
        settlements.iter().map(|(id, s)| (*id, s)).collect();
    // Counted before the commit, like every settlement (see `settle::count`).
    metrics::counter!("charging_stops_settled_together_total").increment(settlements.len() as u64);
    transactions::settle_many(tx, &settlements, now).await?;
    meter_values::insert(tx, &meter_rows).await?;
    Ok(outcomes)
}
