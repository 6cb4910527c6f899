//! Authorize, StartTransaction and StopTransaction: sessions opened and settled exactly once.
//!
//! - Start: in one DB transaction, the charger's point and the tag's customer are locked, a
//!   repeated Start (same point, tag, timestamp and meterStart) is recognised and given its first
//!   transactionId, the tag is judged, and the session is recorded with a snapshot of the tariff.
//!   A refused Start is recorded too (status Cancelled), so its transactionId is real and a later
//!   Stop for it is recognised. The answer goes out only after the commit.
//! - Stop: in one DB transaction, the session is locked, energy and amount are computed by
//!   [`pricing`], the session is settled and the wallet debited with a ledger row whose reference is
//!   the session id. A repeated Stop finds the session settled and changes nothing; a Stop for a
//!   transaction that is unknown or another charger's is answered and logged, never applied.

use rust_ocpp::v1_6::messages::authorize::{AuthorizeRequest, AuthorizeResponse};
use rust_ocpp::v1_6::messages::start_transaction::{
    StartTransactionRequest, StartTransactionResponse,
};
use rust_ocpp::v1_6::messages::stop_transaction::{
    StopTransactionRequest, StopTransactionResponse,
};
use rust_ocpp::v1_6::types::{AuthorizationStatus, IdTagInfo};

use super::frame::{CallError, ErrorCode};
use super::link::{Link, internal};
use super::pricing::{self, Rate};
use super::{authorization, metering, stored_time, wire_name};
use crate::db::transactions::{self, SessionForBilling, Settlement};
use crate::db::wallet::{self, LedgerEntry, WalletRefusal};
use crate::db::{self, Tx, sessions};
use crate::domain::enums::{SessionStatus, WalletTransactionType};
use crate::domain::session::NewSession;
use crate::fixed::Money;

/// What metering needs of a running transaction of this charger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveTransaction {
    pub session_id: i64,
    pub meter_start_wh: i64,
    pub rate: Option<Rate>,
    pub active: bool,
}

impl LiveTransaction {
    fn of(s: &SessionForBilling) -> Self {
        Self {
            session_id: s.id,
            meter_start_wh: s.meter_start_wh.unwrap_or(0),
            rate: rate_of(s),
            active: s.status == SessionStatus::Active,
        }
    }
}

fn rate_of(s: &SessionForBilling) -> Option<Rate> {
    Some(Rate {
        base_charges: s.base_charges?,
        tax: s.tax?,
    })
}

/// The session of `transaction_id` if it belongs to this charger's point.
pub async fn load(
    link: &mut Link,
    transaction_id: i32,
) -> Result<Option<LiveTransaction>, sqlx::Error> {
    let Some(point) = link.point().await? else {
        return Ok(None);
    };
    let found = transactions::by_transaction(&link.db, i64::from(transaction_id)).await?;
    Ok(found
        .filter(|s| s.charging_point_id == point.point_id)
        .map(|s| LiveTransaction::of(&s)))
}

pub async fn authorize(
    link: &mut Link,
    request: AuthorizeRequest,
) -> Result<AuthorizeResponse, CallError> {
    let holder = transactions::tag_holder(&link.db, &request.id_tag)
        .await
        .map_err(internal)?;
    let id_tag_info =
        authorization::judge(holder.as_ref(), db::now(), link.hub.settings.min_balance);
    Ok(AuthorizeResponse { id_tag_info })
}

pub async fn start(
    link: &mut Link,
    request: StartTransactionRequest,
) -> Result<StartTransactionResponse, CallError> {
    let now = db::now();
    let started_at = stored_time(request.timestamp);
    let meter_start_wh = i64::from(request.meter_start);
    let mut tx = link.db.begin().await.map_err(internal)?;
    let Some(point) = transactions::lock_point(&mut tx, &link.charge_point_id)
        .await
        .map_err(internal)?
    else {
        return Err(CallError::new(
            ErrorCode::SecurityError,
            "this charger is not accepted: no charging point has adopted it",
        ));
    };
    if let Some(first) = transactions::repeated_start(
        &mut tx,
        point.point_id,
        &request.id_tag,
        started_at,
        meter_start_wh,
    )
    .await
    .map_err(internal)?
    {
        tx.commit().await.map_err(internal)?;
        tracing::info!(charger = %link.charge_point_id, transaction_id = first.transaction_id,
            "repeated StartTransaction answered with its first transactionId");
        let status = first
            .id_tag_status
            .and_then(|s| serde_json::from_value(serde_json::Value::String(s)).ok())
            .unwrap_or(AuthorizationStatus::Accepted);
        return Ok(StartTransactionResponse {
            id_tag_info: authorization::info(status, None),
            transaction_id: transaction_id_i32(first.transaction_id)?,
        });
    }
    let connector = transactions::connector_record(&mut tx, point.point_id, request.connector_id)
        .await
        .map_err(internal)?;
    if let Some(connector) = connector {
        close_zombies(&mut tx, point.point_id, connector, &request, now).await?;
    }
    let holder = if transactions::lock_tag_customer(&mut tx, &request.id_tag)
        .await
        .map_err(internal)?
    {
        transactions::tag_holder_in(&mut tx, &request.id_tag)
            .await
            .map_err(internal)?
    } else {
        None
    };
    let verdict = authorization::judge(holder.as_ref(), now, link.hub.settings.min_balance);
    let accepted = verdict.status == AuthorizationStatus::Accepted;
    let mut anomalies = Vec::new();
    if connector.is_none() {
        anomalies.push(format!(
            "connector {} is not one of the point's connectors",
            request.connector_id
        ));
    }
    if point.base_charges.is_none() {
        anomalies.push("the point has no tariff: the session is not billed".to_owned());
    }
    let session = NewSession {
        customer_id: holder.as_ref().map(|h| h.customer_id),
        connector_id: connector,
        status: if accepted {
            SessionStatus::Active
        } else {
            SessionStatus::Cancelled
        },
        id_tag: Some(request.id_tag.clone()),
        meter_start_wh: Some(meter_start_wh),
        id_tag_status: Some(wire_name(&verdict.status)),
        anomaly: (!anomalies.is_empty()).then(|| anomalies.join("; ")),
        tariff_id: point.tariff_id,
        currency: point.currency,
        base_charges: point.base_charges,
        tax: point.tax,
        ..NewSession::started(uuid::Uuid::new_v4().to_string(), point.point_id, started_at)
    };
    let id = sessions::insert(&mut tx, &session, now)
        .await
        .map_err(internal)?;
    let transaction_id = transactions::assign_transaction_id(&mut tx, id)
        .await
        .map_err(internal)?;
    let transaction_id = transaction_id_i32(transaction_id)?;
    tx.commit().await.map_err(internal)?;
    link.remember(
        transaction_id,
        Some(LiveTransaction {
            session_id: id,
            meter_start_wh,
            rate: point
                .base_charges
                .zip(point.tax)
                .map(|(base_charges, tax)| Rate { base_charges, tax }),
            active: accepted,
        }),
    );
    tracing::info!(charger = %link.charge_point_id, transaction_id, connector = request.connector_id,
        status = %wire_name(&verdict.status), "transaction started");
    Ok(StartTransactionResponse {
        id_tag_info: verdict,
        transaction_id,
    })
}

pub async fn stop(
    link: &mut Link,
    request: StopTransactionRequest,
    data: Vec<metering::LooseMeterValue>,
) -> Result<StopTransactionResponse, CallError> {
    let now = db::now();
    let mut tx = link.db.begin().await.map_err(internal)?;
    let point = transactions::lock_point(&mut tx, &link.charge_point_id)
        .await
        .map_err(internal)?;
    let mut note = None;
    let session = match (point, request.id_tag.as_deref()) {
        (Some(point), _) if request.transaction_id > 0 => {
            transactions::lock_by_transaction(&mut tx, i64::from(request.transaction_id))
                .await
                .map_err(internal)?
                .filter(|s| s.charging_point_id == point.point_id)
        }
        // transactionId -1: the charger never received the id (the Start's reply was lost). The
        // one session of this point still Active for the Stop's idTag is the one it means.
        (Some(point), Some(id_tag)) => {
            let mut open = transactions::lock_active_of_tag(&mut tx, point.point_id, id_tag)
                .await
                .map_err(internal)?;
            note = Some("stopped with transactionId -1 (the charger never received the id)");
            (open.len() == 1).then(|| open.remove(0))
        }
        _ => None,
    };
    let Some(session) = session else {
        drop(tx);
        tracing::warn!(charger = %link.charge_point_id, transaction_id = request.transaction_id,
            "StopTransaction for a transaction this charger does not have; acknowledged, nothing settled");
        metering::store_transaction_data(link, 0, &data).await?;
        return Ok(StopTransactionResponse {
            id_tag_info: tag_info(link, request.id_tag.as_deref()).await?,
        });
    };
    if session.meter_stop_wh.is_some() {
        drop(tx);
        tracing::info!(charger = %link.charge_point_id, transaction_id = request.transaction_id,
            "repeated StopTransaction; the session was already settled");
        return Ok(StopTransactionResponse {
            id_tag_info: request
                .id_tag
                .as_ref()
                .map(|_| authorization::info(AuthorizationStatus::Accepted, None)),
        });
    }
    settle(&mut tx, &session, &request, note, now).await?;
    let connector = u32::try_from(session.connector).unwrap_or(0);
    metering::store_transaction_data_in(&mut tx, link, connector, &data, session.id).await?;
    tx.commit().await.map_err(internal)?;
    link.forget(request.transaction_id);
    tracing::info!(charger = %link.charge_point_id, transaction_id = request.transaction_id, "transaction stopped");
    Ok(StopTransactionResponse {
        id_tag_info: request
            .id_tag
            .as_ref()
            .map(|_| authorization::info(AuthorizationStatus::Accepted, None)),
    })
}

/// Settles the sessions still Active on the connector a new transaction starts on: their Stop was
/// lost (a "zombie" session, which would also keep its tag busy as ConcurrentTx forever). The new
/// transaction's meterStart is the register at the old one's end, so each is billed up to it and
/// flagged for an operator. A late Stop for it then finds it settled and bills nothing more.
async fn close_zombies(
    tx: &mut Tx,
    point_id: i64,
    connector: i64,
    start: &StartTransactionRequest,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), CallError> {
    let zombies = transactions::active_on_connector(tx, point_id, connector)
        .await
        .map_err(internal)?;
    for zombie in zombies {
        tracing::warn!(session = %zombie.session_id, "closing a session whose StopTransaction never came: a new transaction started on its connector");
        let stop = StopTransactionRequest {
            id_tag: None,
            meter_stop: start.meter_start,
            timestamp: start.timestamp,
            transaction_id: 0,
            reason: Some(rust_ocpp::v1_6::types::Reason::Other),
            transaction_data: None,
        };
        let note =
            "closed without a StopTransaction when a new transaction started on its connector";
        settle(tx, &zombie, &stop, Some(note), now).await?;
    }
    Ok(())
}

/// Ends `session` inside `tx`: energy, amount, the debit. A session whose Start was refused is
/// closed without billing. `note` starts the session's anomaly.
async fn settle(
    tx: &mut Tx,
    session: &SessionForBilling,
    request: &StopTransactionRequest,
    note: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), CallError> {
    let meter_stop_wh = i64::from(request.meter_stop);
    let energy = pricing::energy(
        session.meter_start_wh.unwrap_or(meter_stop_wh),
        meter_stop_wh,
    );
    let mut anomalies: Vec<String> = note.map(str::to_owned).into_iter().collect();
    if energy.register_went_backwards {
        anomalies.push(format!(
            "meterStop {meter_stop_wh} Wh is below meterStart {} Wh: nothing billed",
            session.meter_start_wh.unwrap_or_default()
        ));
    }
    let billable = session.status == SessionStatus::Active;
    if !billable && energy.wh > 0 {
        anomalies.push(format!(
            "{} Wh delivered after a refused start: not billed",
            energy.wh
        ));
    }
    let amount = match rate_of(session) {
        Some(rate) if billable => match pricing::billable(energy.wh, rate) {
            Ok(amount) => Some(amount),
            Err(e) => {
                anomalies.push(format!("the amount could not be computed: {e}"));
                None
            }
        },
        _ => None,
    };
    if let (Some(amount), Some(customer_id)) = (amount, session.customer_id)
        && amount.to_minor() > 0
        && let Some(note) = debit(tx, customer_id, session, amount, energy.wh, now).await?
    {
        anomalies.push(note);
    }
    let settlement = Settlement {
        status: if billable {
            SessionStatus::Completed
        } else {
            SessionStatus::Cancelled
        },
        end_time: stored_time(request.timestamp),
        meter_stop_wh,
        energy_wh: energy.wh,
        billed_amount: if billable {
            Some(amount.unwrap_or(Money::ZERO))
        } else {
            None
        },
        stop_reason: Some(wire_name(
            request
                .reason
                .as_ref()
                .unwrap_or(&rust_ocpp::v1_6::types::Reason::Local),
        )),
        anomaly: (!anomalies.is_empty()).then(|| truncate(anomalies.join("; "))),
    };
    transactions::settle(tx, session.id, &settlement, now)
        .await
        .map_err(internal)
}

/// Debits the session's amount. Energy already delivered is owed, so the debit may take the
/// wallet below zero; that is returned as a note for the operator.
async fn debit(
    tx: &mut Tx,
    customer_id: i64,
    session: &SessionForBilling,
    amount: Money,
    energy_wh: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<String>, CallError> {
    let entry = LedgerEntry {
        transaction_type: WalletTransactionType::Debit,
        amount,
        floor: wallet::lowest_balance(),
        description: Some(format!(
            "Charging session {}: {} kWh",
            session.session_id,
            crate::domain::session::KilowattHours::from_minor(energy_wh)
        )),
        reference_id: Some(session.session_id.clone()),
    };
    match wallet::apply(tx, customer_id, &entry, now)
        .await
        .map_err(internal)?
    {
        Ok(row) if row.balance.is_negative() => Ok(Some(format!(
            "the wallet was overdrawn to {} by this session",
            row.balance
        ))),
        Ok(_) | Err(WalletRefusal::DuplicateReference) => Ok(None),
        Err(refusal) => Ok(Some(format!("the wallet was not debited: {refusal:?}"))),
    }
}

/// The idTagInfo for a Stop that settles nothing: the tag's standing, when the Stop names one.
async fn tag_info(link: &Link, id_tag: Option<&str>) -> Result<Option<IdTagInfo>, CallError> {
    let Some(id_tag) = id_tag else {
        return Ok(None);
    };
    let holder = transactions::tag_holder(&link.db, id_tag)
        .await
        .map_err(internal)?;
    let mut info = authorization::judge(holder.as_ref(), db::now(), Money::ZERO);
    // The tag's own session may be the one still marked active: that is not a concurrent use.
    if info.status == AuthorizationStatus::ConcurrentTx {
        info.status = AuthorizationStatus::Accepted;
    }
    Ok(Some(info))
}

fn transaction_id_i32(id: i64) -> Result<i32, CallError> {
    i32::try_from(id).map_err(|_| {
        CallError::new(
            ErrorCode::InternalError,
            "transaction ids are exhausted (OCPP 1.6 allows 2^31 - 1)",
        )
    })
}

/// Anomaly notes fit their column.
fn truncate(mut note: String) -> String {
    if note.len() > 255 {
        let mut end = 252;
        while !note.is_char_boundary(end) {
            end -= 1;
        }
        note.truncate(end);
        note.push_str("...");
    }
    note
}
