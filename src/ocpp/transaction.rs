//! Authorize, StartTransaction and StopTransaction, translated: OCPP 1.6 payloads in, calls of the
//! charging domain (`crate::charging`), OCPP 1.6 confirmations out. The rules (tag verdicts,
//! repeated Starts, zombies, billing, exactly-once debits) live there; what stays here is what is
//! OCPP's own: `idTagInfo`, 32-bit transaction ids, transactionId -1, and a Stop's transactionData.

use rust_ocpp::v1_6::messages::authorize::{AuthorizeRequest, AuthorizeResponse};
use rust_ocpp::v1_6::messages::start_transaction::{
    StartTransactionRequest, StartTransactionResponse,
};
use rust_ocpp::v1_6::messages::stop_transaction::{
    StopTransactionRequest, StopTransactionResponse,
};
use rust_ocpp::v1_6::types::{AuthorizationStatus, IdTagInfo, Reason};

use super::frame::{CallError, ErrorCode};
use super::link::Link;
use super::{metering, wire_name};
use crate::charging::open::{Opened, Start};
use crate::charging::stop::{ChargerStop, StopOutcome, StopTarget};
use crate::charging::tag::{self, TagStanding, TagVerdict};
use crate::charging::{ChargingError, settle::Settled};
use crate::events::Fact;
use crate::events::facts::{ReservationChanged, SessionStarted};

pub async fn authorize(
    link: &mut Link,
    request: AuthorizeRequest,
) -> Result<AuthorizeResponse, CallError> {
    // Read with the other tags being authorized now (see `tag_holders`).
    let holder = link
        .hub
        .tag_holders
        .of(&request.id_tag)
        .await
        .map_err(|failed| super::link::internal(failed.0))?;
    let standing = tag::judge(
        holder.as_ref(),
        crate::db::now(),
        link.hub.rules.min_balance,
    );
    Ok(AuthorizeResponse {
        id_tag_info: id_tag_info(standing),
    })
}

pub async fn start(
    link: &mut Link,
    request: StartTransactionRequest,
) -> Result<StartTransactionResponse, CallError> {
    let start = Start {
        charge_point_id: link.charge_point_id.clone(),
        connector: request.connector_id,
        id_tag: request.id_tag.clone(),
        started_at: request.timestamp,
        meter_start_wh: i64::from(request.meter_start),
        reservation_id: request.reservation_id.map(i64::from),
    };
    let opened = link
        .hub
        .samples
        .started(start, link.hub.rules.clone())
        .await?
        .map_err(refused)?;
    let transaction_id = i32::try_from(opened.transaction_id)
        .map_err(|_| refused(ChargingError::TransactionIdsExhausted))?;
    tell_start(link, &request, &opened).await;
    if let Some(session) = opened.session {
        link.remember(transaction_id, Some(session));
    }
    Ok(StartTransactionResponse {
        id_tag_info: id_tag_info(opened.standing),
        transaction_id,
    })
}

/// The live events of a committed Start: sessions it closed, the session it opened, the
/// reservation it used.
async fn tell_start(link: &mut Link, request: &StartTransactionRequest, opened: &Opened) {
    let events = link.hub.events.clone();
    for zombie in &opened.zombies_closed {
        events.session_settled_later(&link.db, *zombie);
    }
    let charge_point_id = link.charge_point_id.clone();
    let at = crate::db::stored_time(request.timestamp);
    if let Some(session) = &opened.session {
        link.tell(|| {
            Fact::SessionStarted(SessionStarted {
                session_id: session.public_id.to_string(),
                id: session.session_id,
                charge_point_id: charge_point_id.to_string(),
                point_id: opened.point_id,
                connector_number: request.connector_id,
                customer_id: session.customer_id,
                id_tag: request.id_tag.clone(),
                transaction_id: opened.transaction_id,
                status: if session.active {
                    "Active"
                } else {
                    "Cancelled"
                }
                .to_owned(),
                at,
            })
        })
        .await;
    }
    if let Some(reservation) = opened.reservation_used {
        link.tell(|| {
            Fact::ReservationChanged(ReservationChanged {
                id: reservation,
                charge_point_id: charge_point_id.to_string(),
                connector_number: i32::try_from(request.connector_id).unwrap_or(i32::MAX),
                status: "Used".to_owned(),
                at,
            })
        })
        .await;
    }
}

pub async fn stop(
    link: &mut Link,
    request: StopTransactionRequest,
    data: Vec<metering::LooseMeterValue>,
) -> Result<StopTransactionResponse, CallError> {
    let charger_stop = ChargerStop {
        charge_point_id: link.charge_point_id.clone(),
        target: stop_target(request.transaction_id, request.id_tag.as_deref()),
        meter_stop_wh: i64::from(request.meter_stop),
        at: request.timestamp,
        reason: wire_name(request.reason.as_ref().unwrap_or(&Reason::Local)),
        meter_data: metering::transaction_data_rows(link, 0, &data),
    };
    let outcome = link
        .hub
        .samples
        .stop(charger_stop)
        .await?
        .map_err(refused)?;
    let accepted = || {
        request
            .id_tag
            .as_ref()
            .map(|_| id_tag_info(TagStanding::of(TagVerdict::Accepted)))
    };
    match outcome {
        StopOutcome::Settled {
            outcome,
            session_id,
            ..
        } => {
            link.forget(request.transaction_id);
            link.hub.events.session_settled_later(&link.db, session_id);
            if let Settled::DifferenceBilled { extra } = outcome {
                tracing::info!(charger = %link.charge_point_id, transaction_id = request.transaction_id,
                    %extra, "StopTransaction after a provisional close: the difference billed");
            } else {
                tracing::info!(charger = %link.charge_point_id, transaction_id = request.transaction_id, "transaction stopped");
            }
            Ok(StopTransactionResponse {
                id_tag_info: accepted(),
            })
        }
        StopOutcome::AlreadySettled { .. } => {
            tracing::info!(charger = %link.charge_point_id, transaction_id = request.transaction_id,
                "repeated StopTransaction; the session was already settled");
            Ok(StopTransactionResponse {
                id_tag_info: accepted(),
            })
        }
        StopOutcome::Unknown => {
            tracing::warn!(charger = %link.charge_point_id, transaction_id = request.transaction_id,
                "StopTransaction for a transaction this charger does not have; acknowledged, nothing settled");
            metering::store_transaction_data(link, 0, &data).await?;
            let id_tag_info = match request.id_tag.as_deref() {
                Some(id_tag) => Some(id_tag_info(
                    tag::standing_at_stop(&link.db, id_tag)
                        .await
                        .map_err(refused)?,
                )),
                None => None,
            };
            Ok(StopTransactionResponse { id_tag_info })
        }
    }
}

/// Which session a Stop names. transactionId -1 (any id below 1): the charger never received the
/// id, because the Start's answer was lost; the idTag then names the session.
fn stop_target(transaction_id: i32, id_tag: Option<&str>) -> StopTarget {
    match (transaction_id, id_tag) {
        (id, _) if id > 0 => StopTarget::Transaction(i64::from(id)),
        (_, Some(id_tag)) => StopTarget::OpenSessionOfTag(id_tag.to_owned()),
        _ => StopTarget::Nothing,
    }
}

/// The `idTagInfo` of a standing; the expiry only when there is one (absent, never null).
pub fn id_tag_info(standing: TagStanding) -> IdTagInfo {
    let status = match standing.verdict {
        TagVerdict::Accepted => AuthorizationStatus::Accepted,
        TagVerdict::Invalid => AuthorizationStatus::Invalid,
        // OCPP 1.6 has no "insufficient funds": Blocked tells the driver the tag may not charge now.
        TagVerdict::Blocked | TagVerdict::LowBalance => AuthorizationStatus::Blocked,
        TagVerdict::Expired => AuthorizationStatus::Expired,
        TagVerdict::ConcurrentTx => AuthorizationStatus::ConcurrentTx,
    };
    IdTagInfo {
        status,
        expiry_date: standing.expires_at,
        parent_id_tag: None,
    }
}

/// The CALLERROR for a charging operation that could not be carried out.
fn refused(error: ChargingError) -> CallError {
    match error {
        ChargingError::NotAdopted => CallError::new(
            ErrorCode::SecurityError,
            "this charger is not accepted: no charging point has adopted it",
        ),
        ChargingError::TransactionIdsExhausted => CallError::new(
            ErrorCode::InternalError,
            "transaction ids are exhausted (OCPP 1.6 allows 2^31 - 1)",
        ),
        ChargingError::Database(e) => super::link::internal(e),
    }
}
