//! What evcms checks and adds before a command leaves, so operators and scripts need not know
//! OCPP's bookkeeping:
//!
//! - RemoteStartTransaction: the idTag is judged by the same rules as an Authorize; a tag that may
//!   not charge is refused here, not by the charger minutes later.
//! - RemoteStopTransaction: `sessionId` (ours) may name the session instead of `transactionId`.
//! - ReserveNow: evcms numbers reservations (the row's id is the `reservationId`); the tag is
//!   judged as for a remote start.
//! - CancelReservation: the reservation must be one of this charger's.
//! - SendLocalList: without `localAuthorizationList`, evcms builds it from the customers' id tags
//!   (Full: all of them; Differential: what changed since the list the charger accepted), and
//!   numbers the version.
//! - UpdateFirmware: `firmwareId` names an uploaded image instead of a `location`;
//!   `retrieveDate` defaults to now.
//! - GetDiagnostics: without `location`, evcms offers a one-time upload URL of its own.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::action::{Action, BadPayload};
use super::files;
use super::{CommandError, Commands, Order};
use crate::charging::tag;
use crate::db::{self, local_lists, reservations};
use crate::domain::command::LocalListEntry;

/// An order checked and completed, ready to send.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    pub payload: Map<String, Value>,
    /// The session record the command is about.
    pub session: Option<i64>,
    /// The reservation row made for a ReserveNow.
    pub reservation: Option<i64>,
    /// The local list a SendLocalList carries, to keep once the charger accepts it.
    pub local_list: Option<ListPlan>,
    /// The firmware image an UpdateFirmware points at.
    pub firmware_file: Option<i64>,
    /// The upload token of a GetDiagnostics evcms receives itself.
    pub diagnostics_token: Option<String>,
}

/// A local list being sent: the version and the entries the charger will hold once it accepts.
#[derive(Debug, Clone)]
pub struct ListPlan {
    pub version: i32,
    pub full: bool,
    /// Entries added or changed; for a Full update, all of them.
    pub upserts: Vec<LocalListEntry>,
    /// Tags removed (Differential only).
    pub removals: Vec<String>,
}

pub async fn prepare(commands: &Commands, order: &Order) -> Result<Prepared, CommandError> {
    let db = &commands.db;
    let cp = order.charge_point_id.as_str();
    let mut body = order.body.clone();
    let mut prepared = Prepared::default();
    match order.action {
        Action::RemoteStartTransaction => {
            let payload = canonical(order.action, body)?;
            let id_tag = payload.get("idTag").and_then(Value::as_str).unwrap_or("");
            judge_tag(commands, id_tag, false).await?;
            prepared.payload = payload;
            return Ok(prepared);
        }
        Action::RemoteStopTransaction => {
            let found = match body.remove("sessionId") {
                Some(Value::String(session_id)) => {
                    if body.contains_key("transactionId") {
                        return Err(invalid(
                            "sessionId",
                            "give either sessionId or transactionId, not both",
                        ));
                    }
                    let session = db::commands::session_by_id(db, &session_id)
                        .await?
                        .ok_or_else(|| {
                            CommandError::NotFound(format!("no session {session_id:?}"))
                        })?;
                    let transaction_id = session.transaction_id.ok_or_else(|| {
                        refused("session_not_active", "the session has no OCPP transaction")
                    })?;
                    body.insert("transactionId".into(), json!(transaction_id));
                    Some(session)
                }
                Some(_) => return Err(invalid("sessionId", "must be a string")),
                None => match body.get("transactionId").and_then(Value::as_i64) {
                    Some(transaction_id) => {
                        db::commands::session_by_transaction(db, transaction_id).await?
                    }
                    None => None,
                },
            };
            if let Some(session) = &found {
                if session.charge_point_id.as_deref() != Some(cp) {
                    return Err(CommandError::NotFound(format!(
                        "the session is not one of charger {cp:?}'s"
                    )));
                }
                if session.status != "Active" {
                    return Err(refused(
                        "session_not_active",
                        format!(
                            "the session is {}: only an Active one can be stopped",
                            session.status
                        ),
                    ));
                }
                prepared.session = Some(session.id);
            }
        }
        Action::ReserveNow => {
            if body.contains_key("reservationId") {
                return Err(invalid(
                    "reservationId",
                    "evcms numbers reservations itself: leave reservationId out",
                ));
            }
            body.insert("reservationId".into(), json!(0));
            let mut payload = canonical(order.action, body)?;
            let reservation = reservation_of(cp, &payload)?;
            // A driver finishing one charge may reserve the next.
            judge_tag(commands, &reservation.id_tag, true).await?;
            let id = reservations::insert(db, &reservation, db::now()).await?;
            let id32 = i32::try_from(id).map_err(|_| {
                refused("reservation_ids_exhausted", "reservation ids are exhausted")
            })?;
            payload.insert("reservationId".into(), json!(id32));
            prepared.reservation = Some(id);
            prepared.payload = payload;
            return Ok(prepared);
        }
        Action::CancelReservation => {
            let id = body.get("reservationId").and_then(Value::as_i64);
            if let Some(id) = id
                && reservations::find(db, id)
                    .await?
                    .is_none_or(|r| r.charge_point_id != cp)
            {
                return Err(CommandError::NotFound(format!(
                    "no reservation {id} on charger {cp:?}"
                )));
            }
        }
        Action::SendLocalList => {
            if !body.contains_key("localAuthorizationList") {
                let plan = build_local_list(db, cp, &mut body).await?;
                prepared.local_list = Some(plan);
            } else if !body.contains_key("listVersion") {
                let current = local_lists::version(db, cp).await?;
                body.insert("listVersion".into(), json!(current + 1));
            }
        }
        Action::UpdateFirmware => {
            if let Some(file) = body.remove("firmwareId") {
                if body.contains_key("location") {
                    return Err(invalid(
                        "firmwareId",
                        "give either firmwareId or location, not both",
                    ));
                }
                let Some(file_id) = file.as_i64() else {
                    return Err(invalid("firmwareId", "must be an integer"));
                };
                let file = db::firmware::find_file(db, file_id).await?.ok_or_else(|| {
                    CommandError::NotFound(format!("no firmware image {file_id}"))
                })?;
                let base = base_url(commands, order)?;
                body.insert(
                    "location".into(),
                    json!(files::firmware_location(&base, &file)),
                );
                prepared.firmware_file = Some(file_id);
            }
            body.entry("retrieveDate")
                .or_insert_with(|| json!(db::now()));
        }
        Action::GetDiagnostics if !body.contains_key("location") => {
            let base = base_url(commands, order)?;
            let token = files::new_token();
            body.insert(
                "location".into(),
                json!(files::diagnostics_location(&base, &token)),
            );
            prepared.diagnostics_token = Some(token);
        }
        _ => {}
    }
    prepared.payload = canonical(order.action, body)?;
    Ok(prepared)
}

fn canonical(action: Action, body: Map<String, Value>) -> Result<Map<String, Value>, CommandError> {
    action.canonical(body).map_err(CommandError::Invalid)
}

fn invalid(field: &str, message: &str) -> CommandError {
    CommandError::Invalid(BadPayload::new(field, message))
}

fn refused(code: &'static str, message: impl Into<String>) -> CommandError {
    CommandError::Refused {
        code,
        message: message.into(),
    }
}

/// A tag that may not charge now is not sent to a charger to charge with; `concurrent_ok` lets a
/// tag that is charging elsewhere pass.
async fn judge_tag(
    commands: &Commands,
    id_tag: &str,
    concurrent_ok: bool,
) -> Result<(), CommandError> {
    let standing = tag::authorize(&commands.db, id_tag, commands.rules.min_balance)
        .await
        .map_err(|e| match e {
            crate::charging::ChargingError::Database(e) => CommandError::Database(e),
            other => refused("id_tag_refused", other.to_string()),
        })?;
    if standing.verdict.is_accepted()
        || (concurrent_ok && standing.verdict == tag::TagVerdict::ConcurrentTx)
    {
        return Ok(());
    }
    let why = match standing.verdict {
        tag::TagVerdict::Invalid => "is unknown (or its customer was deleted)",
        tag::TagVerdict::Blocked => "is blocked",
        tag::TagVerdict::Expired => "has expired",
        tag::TagVerdict::ConcurrentTx => "is already charging",
        tag::TagVerdict::LowBalance => "belongs to a wallet below the minimum balance",
        tag::TagVerdict::Accepted => "",
    };
    Err(refused(
        "id_tag_refused",
        format!(
            "the id tag {id_tag:?} {why}: the charger would answer {}",
            standing.verdict.recorded()
        ),
    ))
}

fn reservation_of(
    cp: &str,
    payload: &Map<String, Value>,
) -> Result<reservations::NewReservation, CommandError> {
    let text = |field: &str| {
        payload
            .get(field)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let connector = payload
        .get("connectorId")
        .and_then(Value::as_i64)
        .and_then(|n| i32::try_from(n).ok())
        .ok_or_else(|| invalid("connectorId", "must be a connector number"))?;
    let expiry: DateTime<Utc> = payload
        .get("expiryDate")
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok())
        .ok_or_else(|| invalid("expiryDate", "must be a date and time"))?;
    if expiry <= db::now() {
        return Err(invalid("expiryDate", "must be in the future"));
    }
    Ok(reservations::NewReservation {
        charge_point_id: cp.to_owned(),
        connector_number: connector,
        id_tag: text("idTag").unwrap_or_default(),
        parent_id_tag: text("parentIdTag"),
        expiry_date: expiry,
    })
}

/// The list the customers' id tags make now, Full or as the difference from what the charger
/// accepted last, written into `body`.
async fn build_local_list(
    db: &db::Db,
    cp: &str,
    body: &mut Map<String, Value>,
) -> Result<ListPlan, CommandError> {
    let full = match body.get("updateType").and_then(Value::as_str) {
        Some("Full") => true,
        Some("Differential") => false,
        _ => return Err(invalid("updateType", "must be Full or Differential")),
    };
    let wanted = local_lists::wanted_entries(db, db::now()).await?;
    let current = local_lists::version(db, cp).await?;
    let version = match body.get("listVersion") {
        None => current + 1,
        Some(v) => v
            .as_i64()
            .and_then(|v| i32::try_from(v).ok())
            .filter(|v| *v > current)
            .ok_or_else(|| {
                invalid(
                    "listVersion",
                    &format!("must be greater than the version the charger holds, {current}"),
                )
            })?,
    };
    let plan = if full {
        ListPlan {
            version,
            full,
            upserts: wanted,
            removals: Vec::new(),
        }
    } else {
        let sent = local_lists::entries(db, cp).await?;
        let (upserts, removals) = local_lists::difference(&sent, wanted);
        ListPlan {
            version,
            full,
            upserts,
            removals,
        }
    };
    let mut list: Vec<Value> = plan
        .upserts
        .iter()
        .map(|e| {
            let mut info = json!({ "status": e.status });
            if let Some(expiry) = e.expiry_date {
                info["expiryDate"] = json!(expiry);
            }
            if let Some(parent) = &e.parent_id_tag {
                info["parentIdTag"] = json!(parent);
            }
            json!({ "idTag": e.id_tag, "idTagInfo": info })
        })
        .collect();
    list.extend(plan.removals.iter().map(|tag| json!({ "idTag": tag })));
    body.insert("listVersion".into(), json!(version));
    body.insert("localAuthorizationList".into(), Value::Array(list));
    Ok(plan)
}

/// The origin chargers reach evcms at.
fn base_url(commands: &Commands, order: &Order) -> Result<String, CommandError> {
    commands
        .public_url
        .clone()
        .or_else(|| order.request_origin.clone())
        .map(|u| u.trim_end_matches('/').to_owned())
        .ok_or_else(|| {
            refused(
                "public_url_unknown",
                "set EVCMS_PUBLIC_URL: evcms does not know the address chargers reach it at",
            )
        })
}
