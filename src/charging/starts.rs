//! Many StartTransactions opened together, in about eight set-based statements whatever their
//! number: what a whole network starting at once needs, where [`super::open`] spends about nine
//! statements on each Start.
//!
//! Only the common case is opened here: a Start on an adopted charger, naming no reservation,
//! not a copy of a Start already recorded, on a connector with no session still Active, and the
//! only Start of its charger and of its idTag in the batch (so no verdict depends on another
//! Start of the same batch). Every other Start is left to [`super::open::open`], which its
//! caller runs next in the same transaction. The rules are those of [`super::open`]: its pure
//! [`open::new_session`] and [`open::opened`] and the tag verdict [`tag::judge`] serve both paths;
//! the locks are taken in the same order (points, then the tags' customers).

use std::collections::HashSet;

use super::open::{self, MAX_TRANSACTION_ID, Opened, Start};
use super::{Rules, tag};
use crate::db::transactions::many;
use crate::db::{self, Tx};

/// Opens, inside `tx`, those of `starts` it can open together; gives each Start's answer, or
/// None where the Start is left to [`open::open`]. `Err(None)`: a transaction id beyond what
/// OCPP 1.6 allows was reached, so nothing may be kept and every Start must go one by one.
pub async fn open_many(
    tx: &mut Tx,
    starts: &[(&Start, &Rules)],
) -> Result<Vec<Option<Opened>>, Option<sqlx::Error>> {
    let now = db::now();
    let mut answers: Vec<Option<Opened>> = vec![None; starts.len()];
    let (mut chargers, mut tags) = (HashSet::new(), HashSet::new());
    // Indexes of the Starts that may go together: one per charger and per tag, no reservation.
    let mut together: Vec<usize> = starts
        .iter()
        .enumerate()
        .filter(|(_, (s, _))| {
            s.reservation_id.is_none()
                && chargers.insert(&*s.charge_point_id)
                && tags.insert(s.id_tag.to_lowercase())
        })
        .map(|(i, _)| i)
        .collect();
    if together.is_empty() {
        return Ok(answers);
    }
    let devices: Vec<&str> = together
        .iter()
        .map(|&i| &*starts[i].0.charge_point_id)
        .collect();
    let points = many::lock_points(tx, &devices).await?;
    together.retain(|&i| points.contains_key(&*starts[i].0.charge_point_id));
    let point_of = |i: usize| &points[&*starts[i].0.charge_point_id];
    let keys: Vec<many::StartKey> = together
        .iter()
        .map(|&i| {
            let s = starts[i].0;
            let at = db::stored_time(s.started_at);
            (
                i as i64,
                point_of(i).point_id,
                s.id_tag.as_str(),
                at,
                s.meter_start_wh,
            )
        })
        .collect();
    let repeated = many::repeated(tx, &keys).await?;
    together.retain(|&i| !repeated.contains(&(i as i64)));
    let wanted: Vec<many::ConnectorKey> = together
        .iter()
        .map(|&i| {
            (
                i as i64,
                point_of(i).point_id,
                starts[i].0.connector.to_string(),
            )
        })
        .collect();
    let connectors = many::connectors(tx, &wanted).await?;
    // A session still Active on the connector lost its Stop: closing it is `open`'s work.
    together.retain(|&i| {
        connectors
            .get(&(i as i64))
            .is_some_and(|(_, active)| *active == 0)
    });
    if together.is_empty() {
        return Ok(answers);
    }
    let tags: Vec<&str> = together
        .iter()
        .map(|&i| starts[i].0.id_tag.as_str())
        .collect();
    many::lock_tag_customers(tx, &tags).await?;
    let wanted: Vec<(i64, &str)> = together
        .iter()
        .map(|&i| (i as i64, starts[i].0.id_tag.as_str()))
        .collect();
    let mut holders = many::tag_holders(tx, &wanted).await?;
    let mut opening = Vec::with_capacity(together.len());
    for &i in &together {
        let (start, rules) = starts[i];
        let holder = holders.remove(&(i as i64));
        let standing = tag::judge(holder.as_ref(), now, rules.min_balance);
        let connector = connectors.get(&(i as i64)).and_then(|(id, _)| *id);
        let session = open::new_session(start, point_of(i), connector, holder.as_ref(), standing);
        opening.push((i, session, standing));
    }
    let sessions: Vec<_> = opening.iter().map(|(_, s, _)| s).collect();
    let ids = many::insert_sessions(tx, &sessions, now).await?;
    for (i, session, standing) in opening {
        let id = ids[&session.session_id];
        // The transaction id is the record id (see `assign_transaction_id`).
        if id > MAX_TRANSACTION_ID {
            return Err(None);
        }
        let start = starts[i].0;
        answers[i] = Some(open::opened(start, point_of(i), &session, id, id, standing));
    }
    metrics::counter!("charging_starts_opened_together_total").increment(ids.len() as u64);
    Ok(answers)
}
