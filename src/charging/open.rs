//! A transaction starts, in one database transaction:
//!
//! 1. lock the charger's live point (Starts and Stops on one charger queue behind each other) and
//!    read its tariff;
//! 2. a repeated Start (same point, tag, time and meter start: the charger did not get our answer)
//!    gets its first transaction id and verdict, and changes nothing;
//! 3. sessions still Active on the connector lost their Stop: they are settled up to this Start's
//!    meter start and flagged ("zombies", which would keep their tag busy as ConcurrentTx forever);
//! 4. lock the tag's customer and judge the tag ([`super::tag`]);
//! 5. record the session with its tariff snapshot: Active when accepted, Cancelled when refused
//!    (a refused Start still gets a real transaction id: the charger may go on and send a Stop).

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::running::RunningSession;
use super::settle::{self, Settle};
use super::tag::{self, TagHolder, TagStanding, TagVerdict};
use super::{ChargingError, Rules};
use crate::db::transactions::{self, PointForStart};
use crate::db::{self, Tx, sessions};
use crate::domain::enums::{SessionStatus, SettledBy};
use crate::domain::session::NewSession;

/// The largest transaction id a charger can hold (OCPP 1.6 transaction ids are 32-bit integers).
pub const MAX_TRANSACTION_ID: i64 = i32::MAX as i64;

/// A charger's report that charging started.
#[derive(Debug, Clone)]
pub struct Start {
    pub charge_point_id: Arc<str>,
    /// The connector's number on the charger (1, 2, ...).
    pub connector: u32,
    pub id_tag: String,
    pub started_at: DateTime<Utc>,
    pub meter_start_wh: i64,
    /// The reservation the charger says this transaction ends (OCPP `reservationId`).
    pub reservation_id: Option<i64>,
}

/// What the charger is told, and what its connection remembers.
#[derive(Debug, Clone)]
pub struct Opened {
    pub transaction_id: i64,
    pub standing: TagStanding,
    /// The session just recorded; None for a repeated Start.
    pub session: Option<RunningSession>,
    /// The charger's point.
    pub point_id: i64,
    /// The reservation this Start used (its status is now `Used`).
    pub reservation_used: Option<i64>,
    /// The record ids of the sessions closed because this Start came on their connector.
    pub zombies_closed: Vec<i64>,
}

/// Opens the transaction `start` reports, in `tx` (the caller commits; on an error it must roll
/// back, as a refused Start may have written its session before finding no transaction id left).
pub async fn open(tx: &mut Tx, rules: &Rules, start: &Start) -> Result<Opened, ChargingError> {
    let now = db::now();
    let started_at = db::stored_time(start.started_at);
    let point = transactions::lock_point(tx, &start.charge_point_id)
        .await?
        .ok_or(ChargingError::NotAdopted)?;
    if let Some(first) = transactions::repeated_start(
        tx,
        point.point_id,
        &start.id_tag,
        started_at,
        start.meter_start_wh,
    )
    .await?
    {
        tracing::info!(charger = %start.charge_point_id, transaction_id = first.transaction_id,
            "repeated StartTransaction answered with its first transaction id");
        let verdict = first
            .id_tag_status
            .as_deref()
            .and_then(TagVerdict::from_recorded)
            .unwrap_or(TagVerdict::Accepted);
        return Ok(Opened {
            transaction_id: first.transaction_id,
            standing: TagStanding::of(verdict),
            session: None,
            point_id: point.point_id,
            reservation_used: None,
            zombies_closed: Vec::new(),
        });
    }
    let connector = transactions::connector_record(tx, point.point_id, start.connector).await?;
    let zombies_closed = match connector {
        Some(connector) => close_zombies(tx, point.point_id, connector, start, now).await?,
        None => Vec::new(),
    };
    let holder = if transactions::lock_tag_customer(tx, &start.id_tag).await? {
        transactions::tag_holder_in(tx, &start.id_tag).await?
    } else {
        None
    };
    let standing = tag::judge(holder.as_ref(), now, rules.min_balance);
    let session = new_session(start, &point, connector, holder.as_ref(), standing);
    let id = sessions::insert(tx, &session, now).await?;
    let transaction_id = transactions::assign_transaction_id(tx, id).await?;
    if transaction_id > MAX_TRANSACTION_ID {
        return Err(ChargingError::TransactionIdsExhausted);
    }
    let mut reservation_used = None;
    if let Some(reservation) = start.reservation_id {
        if crate::db::reservations::use_for(tx, &start.charge_point_id, reservation, id, now)
            .await?
        {
            reservation_used = Some(reservation);
        } else {
            tracing::info!(charger = %start.charge_point_id, reservation, "a StartTransaction named a reservation that is not this charger's open one");
        }
    }
    let mut opened = opened(start, &point, &session, id, transaction_id, standing);
    opened.reservation_used = reservation_used;
    opened.zombies_closed = zombies_closed;
    Ok(opened)
}

/// The session `start` records at `point`, with the tariff snapshot: Active when the tag's
/// standing accepts it, Cancelled when refused (pure).
pub fn new_session(
    start: &Start,
    point: &PointForStart,
    connector: Option<i64>,
    holder: Option<&TagHolder>,
    standing: TagStanding,
) -> NewSession {
    NewSession {
        customer_id: holder.map(|h| h.customer_id),
        connector_id: connector,
        status: if standing.verdict.is_accepted() {
            SessionStatus::Active
        } else {
            SessionStatus::Cancelled
        },
        id_tag: Some(start.id_tag.clone()),
        meter_start_wh: Some(start.meter_start_wh),
        id_tag_status: Some(standing.verdict.recorded().to_owned()),
        anomaly: start_anomaly(point, connector, start.connector),
        tariff_id: point.tariff_id,
        currency: point.currency,
        base_charges: point.base_charges,
        tax: point.tax,
        ..NewSession::started(
            uuid::Uuid::new_v4().to_string(),
            point.point_id,
            db::stored_time(start.started_at),
        )
    }
}

/// What a Start that recorded `session` (record id `id`) answers and remembers; it used no
/// reservation and closed no session.
pub fn opened(
    start: &Start,
    point: &PointForStart,
    session: &NewSession,
    id: i64,
    transaction_id: i64,
    standing: TagStanding,
) -> Opened {
    tracing::info!(charger = %start.charge_point_id, transaction_id, connector = start.connector,
        verdict = standing.verdict.recorded(), "transaction started");
    Opened {
        transaction_id,
        standing,
        session: Some(RunningSession {
            session_id: id,
            public_id: Arc::from(session.session_id.as_str()),
            meter_start_wh: start.meter_start_wh,
            rate: point
                .base_charges
                .zip(point.tax)
                .map(|(base_charges, tax)| super::pricing::Rate { base_charges, tax }),
            active: standing.verdict.is_accepted(),
            customer_id: session.customer_id,
        }),
        point_id: point.point_id,
        reservation_used: None,
        zombies_closed: Vec::new(),
    }
}

/// What an operator should know from the start: a connector the point lacks, no tariff.
fn start_anomaly(point: &PointForStart, connector: Option<i64>, number: u32) -> Option<String> {
    let mut notes = Vec::new();
    if connector.is_none() {
        notes.push(format!(
            "connector {number} is not one of the point's connectors"
        ));
    }
    if point.base_charges.is_none() {
        notes.push("the point has no tariff: the session is not billed".to_owned());
    }
    (!notes.is_empty()).then(|| notes.join("; "))
}

/// Settles the sessions still Active on the connector a new transaction starts on: their Stop was
/// lost. The new meter start is the register at the old one's end, so each is billed up to it
/// and flagged. This close is final (energy after it belongs to the new session): a late Stop
/// for it finds it settled and bills nothing more. Gives their record ids.
async fn close_zombies(
    tx: &mut Tx,
    point_id: i64,
    connector: i64,
    start: &Start,
    now: DateTime<Utc>,
) -> Result<Vec<i64>, ChargingError> {
    let mut closed = Vec::new();
    for zombie in transactions::active_on_connector(tx, point_id, connector).await? {
        tracing::warn!(session = %zombie.session_id, "closing a session whose StopTransaction never came: a new transaction started on its connector");
        let end = Settle {
            meter_stop_wh: start.meter_start_wh,
            at: start.started_at,
            reason: "Other".to_owned(),
            source: SettledBy::NewTransaction,
            note: Some(
                "closed without a StopTransaction when a new transaction started on its connector"
                    .to_owned(),
            ),
            operator: None,
        };
        settle::settle(tx, &zombie, &end, now).await?;
        closed.push(zombie.id);
    }
    Ok(closed)
}
