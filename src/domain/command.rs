//! Remote commands as the API shows them, and what they changed on a charger: reservations, the
//! local authorization list, charging profiles, the configuration as last read.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// The statuses of a command record (see `charger_commands.status`).
pub const COMMAND_STATUSES: &[&str] = &[
    "Pending",
    "Answered",
    "CallError",
    "Timeout",
    "Offline",
    "Busy",
    "Disconnected",
];

/// A command sent (or meant) for a charger, who asked for it and how it ended.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Command {
    pub id: i64,
    #[schema(example = "CP-BLR-001")]
    pub charge_point_id: String,
    /// The OCPP action.
    #[schema(example = "RemoteStartTransaction")]
    pub action: String,
    /// The payload sent, as OCPP names its fields.
    #[schema(value_type = Object)]
    pub request: Value,
    /// `Pending` (no answer yet), `Answered` (the charger's payload is in `response`), `CallError`
    /// (its error is in `error`), `Timeout`, `Offline`, `Busy` or `Disconnected`.
    #[schema(example = "Answered")]
    pub status: String,
    /// The charger's CALLRESULT payload.
    #[schema(value_type = Option<Object>)]
    pub response: Option<Value>,
    /// The charger's CALLERROR, or what went wrong on the way.
    pub error: Option<CommandFailure>,
    pub requested_by: Requester,
    /// The session the command was about (a remote stop, the balance guard), when there is one.
    pub session_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
}

/// A CALLERROR's code and description, or evcms's own account of a failed command.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommandFailure {
    #[schema(example = "NotSupported")]
    pub code: String,
    pub description: String,
}

/// Who sent a command: an operator (`user`, with their id) or evcms itself (`balance_guard`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Requester {
    #[schema(example = "user")]
    pub kind: String,
    pub user_id: Option<i64>,
}

/// A command row as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CommandRow {
    pub id: i64,
    pub charge_point_id: String,
    pub action: String,
    pub request: String,
    pub status: String,
    pub response: Option<String>,
    pub error_code: Option<String>,
    pub error_description: Option<String>,
    pub requested_by: String,
    pub requested_by_user_id: Option<i64>,
    pub session_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
}

impl From<CommandRow> for Command {
    fn from(row: CommandRow) -> Self {
        let json = |text: &str| serde_json::from_str(text).unwrap_or(Value::String(text.into()));
        Self {
            id: row.id,
            charge_point_id: row.charge_point_id,
            action: row.action,
            request: json(&row.request),
            status: row.status,
            response: row.response.as_deref().map(json),
            error: row.error_code.map(|code| CommandFailure {
                code,
                description: row.error_description.unwrap_or_default(),
            }),
            requested_by: Requester {
                kind: row.requested_by,
                user_id: row.requested_by_user_id,
            },
            session_id: row.session_id,
            created_at: row.created_at,
            answered_at: row.answered_at,
        }
    }
}

/// A reservation of a connector for an id tag (ReserveNow); its id is OCPP's `reservationId`.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Reservation {
    pub id: i64,
    pub charge_point_id: String,
    /// 0: the charger as a whole.
    pub connector_number: i32,
    pub id_tag: String,
    pub parent_id_tag: Option<String>,
    pub expiry_date: DateTime<Utc>,
    /// `Requested`, `Accepted`, the charger's refusal (`Faulted`, `Occupied`, `Rejected`,
    /// `Unavailable`), `Failed` (the command got no answer), `Cancelled`, `Used` (a
    /// StartTransaction carried it) or `Expired` (accepted and past its expiry).
    #[schema(example = "Accepted")]
    pub status: String,
    /// The session that used it.
    pub session_id: Option<String>,
    pub command_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One entry of a charger's local authorization list, as last sent and accepted.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct LocalListEntry {
    pub id_tag: String,
    /// `Accepted`, `Blocked` or `Expired`, as OCPP's idTagInfo says.
    pub status: String,
    pub expiry_date: Option<DateTime<Utc>>,
    pub parent_id_tag: Option<String>,
}

/// A charger's local authorization list: the version it accepted, what it last reported, and
/// whether our list of id tags has changed since (then a SendLocalList is due).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LocalList {
    pub charge_point_id: String,
    /// The version the charger accepted last (0: never sent).
    pub version: i32,
    pub sent_at: Option<DateTime<Utc>>,
    /// What GetLocalListVersion last returned (-1: the charger has no local list enabled).
    pub reported_version: Option<i32>,
    pub reported_at: Option<DateTime<Utc>>,
    /// Whether the reported version is the one we sent.
    pub in_sync: Option<bool>,
    /// Entries that differ between the customers' id tags now and the list as sent.
    pub pending_changes: usize,
    pub entries: Vec<LocalListEntry>,
}

/// A charging profile set on a charger (SetChargingProfile) and not cleared.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChargingProfileRecord {
    pub id: i64,
    pub charge_point_id: String,
    pub connector_number: i32,
    pub charging_profile_id: i32,
    pub stack_level: i32,
    #[schema(example = "TxDefaultProfile")]
    pub purpose: String,
    /// The profile as sent (`csChargingProfiles`).
    #[schema(value_type = Object)]
    pub profile: Value,
    pub valid_to: Option<DateTime<Utc>>,
    pub command_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// A configuration key of a charger, as last read or changed.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct ConfigurationKey {
    #[schema(example = "HeartbeatInterval")]
    pub key: String,
    pub value: Option<String>,
    pub readonly: bool,
    /// `Known`, `RebootRequired` (changed; effective after a reboot) or `Unknown` (the charger
    /// does not have it).
    #[schema(example = "Known")]
    pub status: String,
    pub updated_at: DateTime<Utc>,
}
