//! Answers to server-initiated CALLs. A simulated charger says yes to everything it is asked,
//! with the smallest confirmation the 1.6 schema accepts, so server tests can focus on the
//! server's side; tests that need another answer install their own responder.

use std::sync::Arc;

use serde_json::{Value, json};

/// A custom responder: `Some(payload)` answers with that CALLRESULT payload, `None` falls back to
/// the default answer.
pub type Responder = Arc<dyn Fn(&str, &Value) -> Option<Value> + Send + Sync>;

/// The default confirmation for each action the Central System may send in OCPP 1.6; `None` for
/// an action 1.6 does not define (answered with CALLERROR NotImplemented).
pub fn default_response(action: &str) -> Option<Value> {
    let accepted = || json!({ "status": "Accepted" });
    Some(match action {
        "CancelReservation"
        | "ChangeAvailability"
        | "ChangeConfiguration"
        | "ClearCache"
        | "ClearChargingProfile"
        | "DataTransfer"
        | "GetCompositeSchedule"
        | "RemoteStartTransaction"
        | "RemoteStopTransaction"
        | "ReserveNow"
        | "Reset"
        | "SendLocalList"
        | "SetChargingProfile"
        | "TriggerMessage" => accepted(),
        "GetConfiguration" => json!({ "configurationKey": [] }),
        "GetLocalListVersion" => json!({ "listVersion": 0 }),
        "UnlockConnector" => json!({ "status": "Unlocked" }),
        "GetDiagnostics" | "UpdateFirmware" => json!({}),
        _ => return None,
    })
}
