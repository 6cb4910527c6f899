//! The 19 operations a central system sends a charger in OCPP 1.6, and the check of a request
//! payload against its rust-ocpp type before anything is sent: the payload must decode, pass the
//! type's length limits, and hold no field the type does not know (a strict charger refuses
//! unknown fields). What is sent is the decoded value written out again, without nulls.

use rust_ocpp::v1_6::messages::{
    cancel_reservation::CancelReservationRequest, change_availability::ChangeAvailabilityRequest,
    change_configuration::ChangeConfigurationRequest, clear_cache::ClearCacheRequest,
    clear_charging_profile::ClearChargingProfileRequest, data_transfer::DataTransferRequest,
    get_composite_schedule::GetCompositeScheduleRequest,
    get_configuration::GetConfigurationRequest, get_diagnostics::GetDiagnosticsRequest,
    get_local_list_version::GetLocalListVersionRequest,
    remote_start_transaction::RemoteStartTransactionRequest,
    remote_stop_transaction::RemoteStopTransactionRequest, reserve_now::ReserveNowRequest,
    reset::ResetRequest, send_local_list::SendLocalListRequest,
    set_charging_profile::SetChargingProfileRequest, trigger_message::TriggerMessageRequest,
    unlock_connector::UnlockConnectorRequest, update_firmware::UpdateFirmwareRequest,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// A central-system operation of OCPP 1.6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    CancelReservation,
    ChangeAvailability,
    ChangeConfiguration,
    ClearCache,
    ClearChargingProfile,
    DataTransfer,
    GetCompositeSchedule,
    GetConfiguration,
    GetDiagnostics,
    GetLocalListVersion,
    RemoteStartTransaction,
    RemoteStopTransaction,
    ReserveNow,
    Reset,
    SendLocalList,
    SetChargingProfile,
    TriggerMessage,
    UnlockConnector,
    UpdateFirmware,
}

/// Every action, for listings and the API's documentation.
pub const ACTIONS: [Action; 19] = [
    Action::CancelReservation,
    Action::ChangeAvailability,
    Action::ChangeConfiguration,
    Action::ClearCache,
    Action::ClearChargingProfile,
    Action::DataTransfer,
    Action::GetCompositeSchedule,
    Action::GetConfiguration,
    Action::GetDiagnostics,
    Action::GetLocalListVersion,
    Action::RemoteStartTransaction,
    Action::RemoteStopTransaction,
    Action::ReserveNow,
    Action::Reset,
    Action::SendLocalList,
    Action::SetChargingProfile,
    Action::TriggerMessage,
    Action::UnlockConnector,
    Action::UpdateFirmware,
];

/// A request payload that is not what its action takes: the field (a JSON path) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPayload {
    pub field: String,
    pub message: String,
}

impl BadPayload {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Self::CancelReservation => "CancelReservation",
            Self::ChangeAvailability => "ChangeAvailability",
            Self::ChangeConfiguration => "ChangeConfiguration",
            Self::ClearCache => "ClearCache",
            Self::ClearChargingProfile => "ClearChargingProfile",
            Self::DataTransfer => "DataTransfer",
            Self::GetCompositeSchedule => "GetCompositeSchedule",
            Self::GetConfiguration => "GetConfiguration",
            Self::GetDiagnostics => "GetDiagnostics",
            Self::GetLocalListVersion => "GetLocalListVersion",
            Self::RemoteStartTransaction => "RemoteStartTransaction",
            Self::RemoteStopTransaction => "RemoteStopTransaction",
            Self::ReserveNow => "ReserveNow",
            Self::Reset => "Reset",
            Self::SendLocalList => "SendLocalList",
            Self::SetChargingProfile => "SetChargingProfile",
            Self::TriggerMessage => "TriggerMessage",
            Self::UnlockConnector => "UnlockConnector",
            Self::UpdateFirmware => "UpdateFirmware",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        ACTIONS.into_iter().find(|a| a.name() == name)
    }

    /// Checks `payload` against this action's request type; returns the payload to send.
    pub fn canonical(self, payload: Map<String, Value>) -> Result<Map<String, Value>, BadPayload> {
        let payload = Value::Object(payload);
        let original = payload.clone();
        let out = match self {
            Self::CancelReservation => typed::<CancelReservationRequest>(payload),
            Self::ChangeAvailability => typed::<ChangeAvailabilityRequest>(payload),
            Self::ChangeConfiguration => {
                let p = checked::<ChangeConfigurationRequest>(payload)?;
                limit("key", &p.key, 50)?;
                limit("value", &p.value, 500)?;
                written(&p)
            }
            Self::ClearCache => typed::<ClearCacheRequest>(payload),
            Self::ClearChargingProfile => {
                let p = typed_value::<ClearChargingProfileRequest>(payload)?;
                written(&p)
            }
            Self::DataTransfer => {
                let p = checked::<DataTransferRequest>(payload)?;
                limit("vendorId", &p.vendor_string, 255)?;
                written(&p)
            }
            Self::GetCompositeSchedule => {
                let p = typed_value::<GetCompositeScheduleRequest>(payload)?;
                if p.connector_id < 0 {
                    return Err(BadPayload::new("connectorId", "must be 0 or more"));
                }
                written(&p)
            }
            Self::GetConfiguration => {
                let p = checked::<GetConfigurationRequest>(payload)?;
                for (i, key) in p.key.iter().flatten().enumerate() {
                    limit(&format!("key[{i}]"), key, 50)?;
                }
                written(&p)
            }
            Self::GetDiagnostics => written(&checked::<GetDiagnosticsRequest>(payload)?),
            Self::GetLocalListVersion => typed::<GetLocalListVersionRequest>(payload),
            Self::RemoteStartTransaction => {
                let p = checked::<RemoteStartTransactionRequest>(payload)?;
                if p.connector_id == Some(0) {
                    return Err(BadPayload::new("connectorId", "must be greater than 0"));
                }
                written(&p)
            }
            Self::RemoteStopTransaction => typed::<RemoteStopTransactionRequest>(payload),
            Self::ReserveNow => {
                let p = checked::<ReserveNowRequest>(payload)?;
                limit("idTag", &p.id_tag, 20)?;
                written(&p)
            }
            Self::Reset => typed::<ResetRequest>(payload),
            Self::SendLocalList => typed::<SendLocalListRequest>(payload),
            Self::SetChargingProfile => typed::<SetChargingProfileRequest>(payload),
            Self::TriggerMessage => typed::<TriggerMessageRequest>(payload),
            Self::UnlockConnector => {
                let p = checked::<UnlockConnectorRequest>(payload)?;
                if p.connector_id == 0 {
                    return Err(BadPayload::new("connectorId", "must be greater than 0"));
                }
                written(&p)
            }
            Self::UpdateFirmware => written(&checked::<UpdateFirmwareRequest>(payload)?),
        }?;
        no_unknown_fields(&original, out)
    }
}

/// Decodes, then writes out again.
fn typed<T: DeserializeOwned + Serialize>(
    payload: Value,
) -> Result<Map<String, Value>, BadPayload> {
    written(&typed_value::<T>(payload)?)
}

/// Decodes and checks the type's length and range limits.
fn checked<T: DeserializeOwned + validator::Validate>(payload: Value) -> Result<T, BadPayload> {
    let value: T = typed_value(payload)?;
    value.validate().map_err(|e| {
        let field = e
            .field_errors()
            .keys()
            .next()
            .map(|f| camel_case(f))
            .unwrap_or_default();
        BadPayload::new(field, e.to_string().replace('\n', "; "))
    })?;
    Ok(value)
}

fn typed_value<T: DeserializeOwned>(payload: Value) -> Result<T, BadPayload> {
    serde_path_to_error::deserialize(payload).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { String::new() } else { path };
        BadPayload::new(field, e.into_inner().to_string())
    })
}

/// The value written out as JSON without nulls (OCPP's schemas allow none).
fn written<T: Serialize>(value: &T) -> Result<Map<String, Value>, BadPayload> {
    let mut out = serde_json::to_value(value)
        .map_err(|e| BadPayload::new("", format!("cannot be written as OCPP JSON: {e}")))?;
    strip_nulls(&mut out);
    match out {
        Value::Object(out) => Ok(out),
        _ => Err(BadPayload::new("", "must be a JSON object")),
    }
}

fn strip_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// Every field of `original` (at any depth) must still be in `out`: the type knew it.
fn no_unknown_fields(
    original: &Value,
    out: Map<String, Value>,
) -> Result<Map<String, Value>, BadPayload> {
    fn walk(path: &str, original: &Value, out: &Value) -> Result<(), BadPayload> {
        match (original, out) {
            (Value::Object(a), Value::Object(b)) => {
                for (key, value) in a {
                    let here = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    match b.get(key) {
                        Some(inner) => walk(&here, value, inner)?,
                        None if value.is_null() => {}
                        None => {
                            return Err(BadPayload::new(here, "is not a field of this request"));
                        }
                    }
                }
                Ok(())
            }
            (Value::Array(a), Value::Array(b)) => {
                for (i, (x, y)) in a.iter().zip(b).enumerate() {
                    walk(&format!("{path}[{i}]"), x, y)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
    let out = Value::Object(out);
    walk("", original, &out)?;
    match out {
        Value::Object(map) => Ok(map),
        _ => unreachable!("built from a map"),
    }
}

fn limit(field: &str, text: &str, max: usize) -> Result<(), BadPayload> {
    if text.is_empty() || text.chars().count() > max {
        return Err(BadPayload::new(
            field,
            format!("must be 1 to {max} characters"),
        ));
    }
    Ok(())
}

/// `id_tag` → `idTag`: the names validator reports are the Rust fields'.
fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canonical(action: Action, payload: Value) -> Result<Value, BadPayload> {
        let Value::Object(map) = payload else {
            panic!("object")
        };
        action.canonical(map).map(Value::Object)
    }

    #[test]
    fn every_action_name_round_trips() {
        for action in ACTIONS {
            assert_eq!(Action::parse(action.name()), Some(action));
        }
        assert_eq!(Action::parse("Heartbeat"), None);
    }

    #[test]
    fn writes_the_payload_without_nulls() {
        let out = canonical(
            Action::RemoteStartTransaction,
            json!({"idTag": "TAG-1", "connectorId": null}),
        )
        .unwrap();
        assert_eq!(out, json!({"idTag": "TAG-1"}));
    }

    #[test]
    fn names_the_field_that_is_wrong() {
        let e = canonical(Action::Reset, json!({"type": "Gentle"})).unwrap_err();
        assert_eq!(e.field, "type");
        let e = canonical(Action::Reset, json!({"type": "Soft", "force": true})).unwrap_err();
        assert_eq!(e.field, "force");
        let e = canonical(
            Action::RemoteStartTransaction,
            json!({"idTag": "x".repeat(21)}),
        )
        .unwrap_err();
        assert_eq!(e.field, "idTag");
        let e = canonical(Action::UnlockConnector, json!({})).unwrap_err();
        assert!(e.message.contains("connectorId"), "{e:?}");
        let e = canonical(
            Action::ChangeConfiguration,
            json!({"key": "HeartbeatInterval", "value": "60", "extra": 1}),
        )
        .unwrap_err();
        assert_eq!(e.field, "extra");
    }
}
