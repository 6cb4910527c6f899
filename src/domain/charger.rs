//! Chargers as they introduced themselves over OCPP (BootNotification) and their connection state.
//! A charger is adopted by the live charging point whose `device_id` is its charge point id.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::point::Connector;

/// The answers a CSMS gives to a BootNotification (OCPP 1.6 `RegistrationStatus`).
pub const REGISTRATION_STATUSES: &[&str] = &["Accepted", "Pending", "Rejected"];

/// A charger as stored, with the live charging point that adopted it, if any.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Charger {
    pub id: i64,
    /// The OCPP charge point identity it connects with (`/ocpp/{chargePointId}`).
    #[schema(example = "CP-BLR-001")]
    pub charge_point_id: String,
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub charge_point_serial_number: Option<String>,
    pub charge_box_serial_number: Option<String>,
    pub firmware_version: Option<String>,
    pub iccid: Option<String>,
    pub imsi: Option<String>,
    pub meter_type: Option<String>,
    pub meter_serial_number: Option<String>,
    /// Our answer to its last BootNotification: `Accepted`, `Pending` or `Rejected`.
    #[schema(example = "Accepted")]
    pub registration_status: Option<String>,
    /// The status it last reported for the charger as a whole (connector 0).
    #[schema(example = "Available")]
    pub status: Option<String>,
    /// The error code it last reported for the charger as a whole.
    #[schema(example = "NoError")]
    pub error_code: Option<String>,
    /// The charger's time of that status report.
    pub status_at: Option<DateTime<Utc>>,
    /// The firmware update state it last reported (FirmwareStatusNotification).
    #[schema(example = "Installed")]
    pub firmware_status: Option<String>,
    /// The diagnostics upload state it last reported (DiagnosticsStatusNotification).
    #[schema(example = "Uploaded")]
    pub diagnostics_status: Option<String>,
    /// Whether it holds a WebSocket connection now.
    pub connected: bool,
    pub connected_at: Option<DateTime<Utc>>,
    pub disconnected_at: Option<DateTime<Utc>>,
    /// The evcms node serving its connection (`EVCMS_NODE_ID`), while connected.
    #[schema(example = "evcms-1")]
    pub node_id: Option<String>,
    /// When it last sent anything.
    pub last_seen_at: Option<DateTime<Utc>>,
    pub last_boot_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The `id` of the live charging point whose `device_id` is this charge point id; null
    /// while no point has adopted it.
    pub charging_point_id: Option<i64>,
    pub charging_point_name: Option<String>,
    /// The `station_id` of the adopting point's station.
    pub station_id: Option<String>,
}

/// One charger with the live status of its adopting point's connectors.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChargerDetail {
    #[serde(flatten)]
    pub charger: Charger,
    /// The live connectors of the adopting point, with the status the charger last reported
    /// for each; empty when no point has adopted the charger.
    pub connectors: Vec<Connector>,
}

/// One frame of the OCPP message log, as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct LoggedMessage {
    pub id: i64,
    pub charge_point_id: String,
    /// `in`: sent by the charger; `out`: sent by evcms.
    pub direction: String,
    /// 2 CALL, 3 CALLRESULT, 4 CALLERROR (0: a frame that could not be read).
    pub message_type: i32,
    pub message_id: Option<String>,
    /// The action of the CALL, or of the CALL a reply answers.
    pub action: Option<String>,
    /// The frame as sent, secrets (authorization keys) masked.
    pub payload: String,
    pub at: DateTime<Utc>,
}
