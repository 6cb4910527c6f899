//! What a command's answer changes, written in one transaction with the command's outcome, so the
//! record and its effects never disagree: the configuration as read or changed, a reservation's
//! status, the local list the charger accepted, charging profiles, a firmware update or a
//! diagnostics request to follow.

use serde_json::Value;

use super::action::Action;
use super::prepare::Prepared;
use super::transport::Undelivered;
use super::{Order, status_of};
use crate::db::charger_settings::{self, KeyUpdate, NewProfile, ProfileMatch};
use crate::db::{self, Db, Tx, commands::Completion};
use crate::domain::command::Command;
use crate::ocpp::outbox::CallOutcome;

/// Records what became of command `id` and what its answer changes; returns the record.
pub async fn complete(
    db: &Db,
    id: i64,
    order: &Order,
    prepared: &Prepared,
    outcome: Result<CallOutcome, Undelivered>,
) -> Result<Command, sqlx::Error> {
    let now = db::now();
    let completion = completion_of(&outcome);
    let mut tx = db.begin().await?;
    db::commands::complete(&mut tx, id, &completion, now).await?;
    let cp = order.charge_point_id.as_str();
    match &outcome {
        Ok(CallOutcome::Result(response)) => {
            apply(&mut tx, cp, id, order.action, prepared, response).await?;
        }
        _ => {
            if let Some(reservation) = prepared.reservation {
                db::reservations::set_status(&mut tx, reservation, "Failed", Some(id), now).await?;
            }
            if order.action == Action::GetDiagnostics {
                db::firmware::diagnostics_failed(&mut tx, id, now).await?;
            }
        }
    }
    let row = db::commands::find_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok(row.into())
}

fn completion_of(outcome: &Result<CallOutcome, Undelivered>) -> Completion {
    let status = status_of(outcome);
    let failure = |code: &str, description: String| Completion {
        status,
        response: None,
        error_code: Some(code.to_owned()),
        error_description: Some(description),
    };
    match outcome {
        Ok(CallOutcome::Result(payload)) => Completion {
            status,
            response: Some(payload.to_string()),
            ..Default::default()
        },
        Ok(CallOutcome::Error { code, description }) => failure(code, description.clone()),
        Ok(CallOutcome::Malformed(problem)) => {
            failure("FormationViolation", format!("unreadable reply: {problem}"))
        }
        Ok(CallOutcome::Timeout) => failure("Timeout", "the charger did not answer in time".into()),
        Err(Undelivered::Offline) => failure("Offline", "the charger is not connected".into()),
        Err(Undelivered::Busy) => failure(
            "Busy",
            "too many commands are waiting for this charger".into(),
        ),
        Err(Undelivered::Disconnected) => failure(
            "Disconnected",
            "the charger disconnected before answering".into(),
        ),
    }
}

async fn apply(
    tx: &mut Tx,
    cp: &str,
    command: i64,
    action: Action,
    prepared: &Prepared,
    response: &Value,
) -> Result<(), sqlx::Error> {
    let now = db::now();
    let request = &prepared.payload;
    let status = response.get("status").and_then(Value::as_str).unwrap_or("");
    let text = |v: &Value, field: &str| v.get(field).and_then(Value::as_str).map(str::to_owned);
    let int = |v: &Value, field: &str| {
        v.get(field)
            .and_then(Value::as_i64)
            .and_then(|n| i32::try_from(n).ok())
    };
    match action {
        Action::GetConfiguration => {
            for key in response
                .get("configurationKey")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(name) = key.get("key").and_then(Value::as_str) else {
                    continue;
                };
                let update = KeyUpdate {
                    key: name,
                    value: key.get("value").and_then(Value::as_str),
                    readonly: Some(
                        key.get("readonly")
                            .and_then(Value::as_bool)
                            .unwrap_or(false),
                    ),
                    status: "Known",
                };
                charger_settings::upsert_key(tx, cp, &update, now).await?;
            }
            for name in response
                .get("unknownKey")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                let update = KeyUpdate {
                    key: name,
                    value: None,
                    readonly: None,
                    status: "Unknown",
                };
                charger_settings::upsert_key(tx, cp, &update, now).await?;
            }
        }
        Action::ChangeConfiguration => {
            let key = request.get("key").and_then(Value::as_str).unwrap_or("");
            let value = request.get("value").and_then(Value::as_str);
            let (value, readonly, status) = match status {
                "Accepted" => (value, None, "Known"),
                "RebootRequired" => (value, None, "RebootRequired"),
                "NotSupported" => (None, None, "Unknown"),
                // Rejected: the key stays as it was; a read-only key is the usual reason.
                _ => return Ok(()),
            };
            // The charger's secret is never kept, even as accepted.
            let value = if key == "AuthorizationKey" {
                None
            } else {
                value
            };
            let update = KeyUpdate {
                key,
                value,
                readonly,
                status,
            };
            charger_settings::upsert_key(tx, cp, &update, now).await?;
        }
        Action::ReserveNow => {
            if let Some(reservation) = prepared.reservation {
                let status = if status.is_empty() { "Failed" } else { status };
                db::reservations::set_status(tx, reservation, status, Some(command), now).await?;
            }
        }
        Action::CancelReservation => {
            if status == "Accepted"
                && let Some(id) = request.get("reservationId").and_then(Value::as_i64)
            {
                db::reservations::set_status(tx, id, "Cancelled", None, now).await?;
            }
        }
        Action::SendLocalList => {
            if status == "Accepted" {
                let version = int(&Value::Object(request.clone()), "listVersion").unwrap_or(0);
                match &prepared.local_list {
                    Some(plan) => {
                        db::local_lists::accepted(
                            tx,
                            cp,
                            plan.version,
                            plan.full,
                            &plan.upserts,
                            &plan.removals,
                            now,
                        )
                        .await?
                    }
                    // A list the operator wrote by hand: its version is kept, its entries are
                    // the operator's business.
                    None => {
                        db::local_lists::accepted(tx, cp, version, false, &[], &[], now).await?
                    }
                }
            }
        }
        Action::GetLocalListVersion => {
            if let Some(version) = int(response, "listVersion") {
                db::local_lists::reported(tx, cp, version, now).await?;
            }
        }
        Action::SetChargingProfile => {
            if status == "Accepted"
                && let Some(profile) = request.get("csChargingProfiles")
            {
                let new = NewProfile {
                    charge_point_id: cp,
                    connector_number: int(&Value::Object(request.clone()), "connectorId")
                        .unwrap_or(0),
                    charging_profile_id: int(profile, "chargingProfileId").unwrap_or(0),
                    stack_level: int(profile, "stackLevel").unwrap_or(0),
                    purpose: profile
                        .get("chargingProfilePurpose")
                        .and_then(Value::as_str)
                        .unwrap_or(""),
                    profile: &profile.to_string(),
                    valid_to: profile
                        .get("validTo")
                        .cloned()
                        .and_then(|v| serde_json::from_value(v).ok()),
                    command_id: command,
                };
                charger_settings::set_profile(tx, &new, now).await?;
            }
        }
        Action::ClearChargingProfile => {
            if status == "Accepted" {
                let request = Value::Object(request.clone());
                let purpose = text(&request, "chargingProfilePurpose");
                let m = ProfileMatch {
                    id: int(&request, "id"),
                    connector_number: int(&request, "connectorId"),
                    purpose: purpose.as_deref(),
                    stack_level: int(&request, "stackLevel"),
                };
                charger_settings::clear_profiles(tx, cp, &m, now).await?;
            }
        }
        Action::UpdateFirmware => {
            let location = request
                .get("location")
                .and_then(Value::as_str)
                .unwrap_or("");
            let retrieve = request
                .get("retrieveDate")
                .cloned()
                .and_then(|v| serde_json::from_value(v).ok())
                .unwrap_or(now);
            let update = db::firmware::NewUpdate {
                charge_point_id: cp,
                firmware_file_id: prepared.firmware_file,
                location,
                retrieve_date: retrieve,
                command_id: command,
            };
            db::firmware::insert_update(tx, &update, now).await?;
        }
        Action::GetDiagnostics => {
            let file_name = response.get("fileName").and_then(Value::as_str);
            db::firmware::diagnostics_answered(tx, command, file_name, now).await?;
        }
        Action::ClearCache
        | Action::ChangeAvailability
        | Action::DataTransfer
        | Action::GetCompositeSchedule
        | Action::RemoteStartTransaction
        | Action::RemoteStopTransaction
        | Action::Reset
        | Action::TriggerMessage
        | Action::UnlockConnector => {}
    }
    Ok(())
}
