//! The station's answers to the 19 CSMS-initiated calls. They run in the connection's reader, so
//! they only decide and store (a list, a key, a reservation); what the charger does afterwards
//! (sessions, statuses, transfers) happens in `behaviour`, once the answer has left.

use chrono::Utc;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::core::Core;
use super::state::{Reservation, State};
use super::{local_list, smart_charging};
use crate::answer::ServerAnswer;
use crate::ocpp::messages::cancel_reservation::CancelReservationRequest;
use crate::ocpp::messages::change_availability::ChangeAvailabilityRequest;
use crate::ocpp::messages::change_configuration::ChangeConfigurationRequest;
use crate::ocpp::messages::data_transfer::DataTransferRequest;
use crate::ocpp::messages::get_configuration::GetConfigurationRequest;
use crate::ocpp::messages::remote_start_transaction::RemoteStartTransactionRequest;
use crate::ocpp::messages::remote_stop_transaction::RemoteStopTransactionRequest;
use crate::ocpp::messages::reserve_now::ReserveNowRequest;
use crate::ocpp::messages::trigger_message::TriggerMessageRequest;
use crate::ocpp::messages::unlock_connector::UnlockConnectorRequest;
use crate::ocpp::types::{AvailabilityType, ChargingProfilePurposeType};

pub(crate) fn answer(core: &Core, action: &str, payload: &Value) -> ServerAnswer {
    let mut state = core.state();
    let state = &mut *state;
    let result = match action {
        "RemoteStartTransaction" => parse(payload).map(|req| remote_start(state, req)),
        "RemoteStopTransaction" => parse(payload).map(|req| remote_stop(state, req)),
        "Reset" | "ClearCache" => Ok(status("Accepted")),
        "UnlockConnector" => parse(payload).map(|req| unlock(state, req)),
        "ChangeAvailability" => parse(payload).map(|req| change_availability(state, req)),
        "GetConfiguration" => parse(payload).map(|req| get_configuration(state, req)),
        "ChangeConfiguration" => parse(payload).map(|req| change_configuration(state, req)),
        "DataTransfer" => parse(payload).map(|req| data_transfer(state, req, payload)),
        "TriggerMessage" => Ok(trigger_message(state, payload)),
        "ReserveNow" => parse(payload).map(|req| reserve_now(state, req)),
        "CancelReservation" => parse(payload).map(|req| cancel_reservation(state, req)),
        "SendLocalList" => parse(payload).map(|req| local_list::send(state, req)),
        "GetLocalListVersion" => Ok(json!({ "listVersion": local_list::version(state) })),
        "SetChargingProfile" => parse(payload).map(|req| smart_charging::set(state, req)),
        "ClearChargingProfile" => parse(payload).map(|req| smart_charging::clear(state, req)),
        "GetCompositeSchedule" => parse(payload).map(|req| smart_charging::composite(state, req)),
        "UpdateFirmware" => Ok(json!({})),
        "GetDiagnostics" => Ok(json!({ "fileName": diagnostics_file_name(&core.cfg.id) })),
        _ => Err(ServerAnswer::Error {
            code: "NotImplemented".into(),
            description: format!("{action} is not an OCPP 1.6 CSMS call"),
        }),
    };
    result.map_or_else(|refusal| refusal, ServerAnswer::Result)
}

/// The request as its rust-ocpp type; a payload that does not fit (possible in lenient mode)
/// is a FormationViolation, never a panic.
fn parse<T: DeserializeOwned>(payload: &Value) -> Result<T, ServerAnswer> {
    serde_json::from_value(payload.clone()).map_err(|e| ServerAnswer::Error {
        code: "FormationViolation".into(),
        description: e.to_string(),
    })
}

fn status(status: &str) -> Value {
    json!({ "status": status })
}

fn remote_start(state: &mut State, req: RemoteStartTransactionRequest) -> Value {
    let wrong_profile = req
        .charging_profile
        .as_ref()
        .is_some_and(|p| p.charging_profile_purpose != ChargingProfilePurposeType::TxProfile);
    if wrong_profile {
        return status("Rejected");
    }
    let chosen = match req.connector_id {
        Some(id) => state.connector_mut(id).filter(|c| c.free_for(&req.id_tag)),
        None => state
            .connectors
            .iter_mut()
            .find(|c| c.free_for(&req.id_tag)),
    };
    match chosen {
        Some(connector) => {
            // Taken now, so a second RemoteStart cannot pick the same connector before the
            // session starts.
            connector.starting_for = Some(req.id_tag);
            status("Accepted")
        }
        None => status("Rejected"),
    }
}

fn remote_stop(state: &State, req: RemoteStopTransactionRequest) -> Value {
    let running = state
        .connectors
        .iter()
        .any(|c| c.transaction_id == Some(req.transaction_id));
    status(if running { "Accepted" } else { "Rejected" })
}

fn unlock(state: &State, req: UnlockConnectorRequest) -> Value {
    status(if state.has_connector(req.connector_id) {
        "Unlocked"
    } else {
        "NotSupported"
    })
}

fn change_availability(state: &mut State, req: ChangeAvailabilityRequest) -> Value {
    if req.connector_id != 0 && !state.has_connector(req.connector_id) {
        return status("Rejected");
    }
    let operative = req.kind == AvailabilityType::Operative;
    if req.connector_id == 0 {
        state.charger_available = operative;
    }
    let mut scheduled = false;
    for connector in &mut state.connectors {
        if req.connector_id != 0 && connector.id != req.connector_id {
            continue;
        }
        let busy = connector.transaction_id.is_some() || connector.starting_for.is_some();
        if !operative && busy {
            connector.unavailable_after_session = true;
            scheduled = true;
        } else {
            connector.available = operative;
            connector.unavailable_after_session = false;
        }
    }
    status(if scheduled { "Scheduled" } else { "Accepted" })
}

fn get_configuration(state: &State, req: GetConfigurationRequest) -> Value {
    let asked = req.key.unwrap_or_default();
    let (known, unknown) = state.configuration.get(&asked);
    let keys: Vec<Value> = known
        .into_iter()
        .map(|k| match k.value {
            Some(value) => json!({"key": k.key, "readonly": k.readonly, "value": value}),
            None => json!({"key": k.key, "readonly": k.readonly}),
        })
        .collect();
    let mut answer = json!({ "configurationKey": keys });
    if !unknown.is_empty() {
        answer["unknownKey"] = json!(unknown);
    }
    answer
}

fn change_configuration(state: &mut State, req: ChangeConfigurationRequest) -> Value {
    status(state.configuration.change(&req.key, &req.value).as_str())
}

fn data_transfer(state: &mut State, req: DataTransferRequest, payload: &Value) -> Value {
    if req.vendor_string == "unknown" {
        return status("UnknownVendorId");
    }
    state.data_transfers.push(payload.clone());
    status("Accepted")
}

/// Parsed by hand: a message 1.6 does not list (lenient mode) is NotImplemented, not a
/// FormationViolation.
fn trigger_message(state: &State, payload: &Value) -> Value {
    let Ok(req) = serde_json::from_value::<TriggerMessageRequest>(payload.clone()) else {
        return status("NotImplemented");
    };
    match req.connector_id {
        Some(id) if id != 0 && !state.has_connector(id) => status("Rejected"),
        _ => status("Accepted"),
    }
}

fn reserve_now(state: &mut State, req: ReserveNowRequest) -> Value {
    if req.expiry_date <= Utc::now() {
        return status("Rejected");
    }
    // ReserveConnectorZeroSupported is false on every simulated model.
    let Some(connector) = state.connector_mut(req.connector_id) else {
        return status("Rejected");
    };
    if !connector.available {
        return status("Unavailable");
    }
    let reserved_by_other = connector
        .reservation
        .as_ref()
        .is_some_and(|r| r.id != req.reservation_id);
    if connector.transaction_id.is_some() || connector.starting_for.is_some() || reserved_by_other {
        return status("Occupied");
    }
    connector.reservation = Some(Reservation {
        id: req.reservation_id,
        id_tag: req.id_tag,
        expiry: req.expiry_date,
    });
    status("Accepted")
}

fn cancel_reservation(state: &mut State, req: CancelReservationRequest) -> Value {
    let held = state.connectors.iter_mut().find(|c| {
        c.reservation
            .as_ref()
            .is_some_and(|r| r.id == req.reservation_id)
    });
    match held {
        Some(connector) => {
            connector.reservation = None;
            status("Accepted")
        }
        None => status("Rejected"),
    }
}

/// `diagnostics-<charger>-<UTC timestamp>.log`, with the id reduced to characters safe in a
/// file name and a URL path.
fn diagnostics_file_name(charger_id: &str) -> String {
    let id: String = charger_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    format!(
        "diagnostics-{id}-{}.log",
        Utc::now().format("%Y%m%dT%H%M%SZ")
    )
}
