//! The events of the live stream and their data: each carries `at` (when it happened, RFC 3339)
//! and the ids a UI needs to update a row without refetching its list. Money is a JSON number
//! with two decimals, energy is in Wh, power in W.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::fixed::Money;

/// Something that happened, as the stream tells it.
#[derive(Debug, Clone)]
pub enum Fact {
    ChargerConnected(ChargerConnection),
    ChargerDisconnected(ChargerConnection),
    ChargerBooted(ChargerBooted),
    ConnectorStatus(ConnectorStatus),
    SessionStarted(SessionStarted),
    SessionUpdated(SessionUpdated),
    SessionStopped(SessionStopped),
    CommandAnswered(CommandAnswered),
    ReservationChanged(ReservationChanged),
}

impl Fact {
    /// The SSE `event:` name.
    pub fn name(&self) -> &'static str {
        match self {
            Fact::ChargerConnected(_) => "charger.connected",
            Fact::ChargerDisconnected(_) => "charger.disconnected",
            Fact::ChargerBooted(_) => "charger.booted",
            Fact::ConnectorStatus(_) => "connector.status",
            Fact::SessionStarted(_) => "session.started",
            Fact::SessionUpdated(_) => "session.updated",
            Fact::SessionStopped(_) => "session.stopped",
            Fact::CommandAnswered(_) => "command.answered",
            Fact::ReservationChanged(_) => "reservation.changed",
        }
    }

    /// The SSE `data:` line: one line of JSON.
    pub fn data_json(&self) -> String {
        use super::one_line;
        match self {
            Fact::ChargerConnected(d) | Fact::ChargerDisconnected(d) => one_line(d),
            Fact::ChargerBooted(d) => one_line(d),
            Fact::ConnectorStatus(d) => one_line(d),
            Fact::SessionStarted(d) => one_line(d),
            Fact::SessionUpdated(d) => one_line(d),
            Fact::SessionStopped(d) => one_line(d),
            Fact::CommandAnswered(d) => one_line(d),
            Fact::ReservationChanged(d) => one_line(d),
        }
    }
}

/// `charger.connected` and `charger.disconnected`: a charger's WebSocket opened or closed.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = EventChargerConnection)]
pub struct ChargerConnection {
    #[schema(example = "CP-BLR-001")]
    pub charge_point_id: String,
    pub at: DateTime<Utc>,
}

/// `charger.booted`: a BootNotification, stored, and the registration status it was answered.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = EventChargerBooted)]
pub struct ChargerBooted {
    pub charge_point_id: String,
    pub vendor: String,
    pub model: String,
    pub firmware_version: Option<String>,
    /// `Accepted`, `Pending` or `Rejected`.
    pub registration_status: String,
    /// The point that adopted the charger; null when none has.
    pub point_id: Option<i64>,
    pub at: DateTime<Utc>,
}

/// `connector.status`: a StatusNotification, stored. Connector 0 is the charger itself (its
/// `point_id` may then be null: a charger no point has adopted).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = EventConnectorStatus)]
pub struct ConnectorStatus {
    pub charge_point_id: String,
    pub point_id: Option<i64>,
    pub connector_number: u32,
    #[schema(example = "Charging")]
    pub status: String,
    #[schema(example = "NoError")]
    pub error_code: String,
    /// When the charger says the status began (never after its arrival).
    pub at: DateTime<Utc>,
}

/// `session.started`: a StartTransaction recorded a session (`status` `Cancelled` when its tag
/// was refused).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = EventSessionStarted)]
pub struct SessionStarted {
    /// The session's public `session_id` (`GET /api/cms/sessions/{sessionId}`).
    pub session_id: String,
    /// The session's record id.
    pub id: i64,
    pub charge_point_id: String,
    pub point_id: i64,
    pub connector_number: u32,
    pub customer_id: Option<i64>,
    pub id_tag: String,
    pub transaction_id: i64,
    /// `Active`, or `Cancelled` when the tag was refused.
    pub status: String,
    pub at: DateTime<Utc>,
}

/// `session.updated`: a running session's meter values, stored; at most one every 5 s per
/// session.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = EventSessionUpdated)]
pub struct SessionUpdated {
    pub session_id: String,
    pub id: i64,
    pub charge_point_id: String,
    /// Energy delivered since the start.
    pub energy_wh: i64,
    /// The latest active import power the charger reported; null when it sends none.
    pub power_w: Option<i64>,
    /// The cost so far (tax included); null when the session has no tariff.
    #[schema(value_type = Option<f64>, example = 261.96)]
    pub running_cost: Option<Money>,
    /// When the reading was sampled.
    pub at: DateTime<Utc>,
}

/// `session.stopped`: a session settled and billed (its charger's Stop, a new transaction on its
/// connector, a provisional close, an operator), after the commit.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = EventSessionStopped)]
pub struct SessionStopped {
    pub session_id: String,
    pub id: i64,
    pub charge_point_id: String,
    pub point_id: i64,
    /// Null when the session's connector is not one of its point's.
    pub connector_number: Option<u32>,
    /// `Completed` or `Cancelled`.
    pub status: String,
    pub energy_wh: Option<i64>,
    #[schema(value_type = Option<f64>, example = 261.96)]
    pub billed_amount: Option<Money>,
    pub stop_reason: Option<String>,
    pub customer_id: Option<i64>,
    /// `charger`, `new_transaction`, `connector_available`, `charger_reboot` or `operator`.
    pub settled_by: Option<String>,
    /// When it was settled.
    pub at: DateTime<Utc>,
}

/// `command.answered`: what became of a command evcms sent a charger, any outcome.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = EventCommandAnswered)]
pub struct CommandAnswered {
    /// The command's record id (`GET /api/cms/commands/{id}`).
    pub id: i64,
    pub charge_point_id: String,
    #[schema(example = "RemoteStartTransaction")]
    pub action: String,
    /// `Answered`, `CallError`, `Timeout`, `Offline`, `Busy` or `Disconnected`.
    pub status: String,
    /// The `status` field of the charger's answer (`Accepted`, `Rejected`...), when it has one.
    pub response_status: Option<String>,
    pub at: DateTime<Utc>,
}

/// `reservation.changed`: a ReserveNow or CancelReservation outcome, or a reservation used by a
/// StartTransaction.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = EventReservationChanged)]
pub struct ReservationChanged {
    /// The reservation's id (OCPP `reservationId`).
    pub id: i64,
    pub charge_point_id: String,
    pub connector_number: i32,
    /// `Accepted`, `Faulted`, `Occupied`, `Rejected`, `Unavailable`, `Failed`, `Cancelled` or `Used`.
    pub status: String,
    pub at: DateTime<Utc>,
}

/// `resync`: the subscriber fell behind (`lagged`) or asked to resume from an event no longer
/// kept (`resume`): refetch the lists. It carries no `id:`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = EventResync)]
pub struct Resync {
    #[schema(example = "lagged")]
    pub reason: String,
}

impl From<crate::db::sessions::SettledFacts> for SessionStopped {
    fn from(f: crate::db::sessions::SettledFacts) -> Self {
        Self {
            session_id: f.session_id,
            id: f.id,
            charge_point_id: f.charge_point_id.unwrap_or_default(),
            point_id: f.point_id,
            connector_number: f.connector_number.and_then(|n| n.parse().ok()),
            status: f.status.as_str().to_owned(),
            energy_wh: f.energy_wh,
            billed_amount: f.billed_amount,
            stop_reason: f.stop_reason,
            customer_id: f.customer_id,
            settled_by: f.settled_by.map(|by| by.as_str().to_owned()),
            at: f.settled_at.unwrap_or_else(crate::db::now),
        }
    }
}

/// Every event name, for events that arrive from another node as text.
pub const NAMES: [&str; 9] = [
    "charger.connected",
    "charger.disconnected",
    "charger.booted",
    "connector.status",
    "session.started",
    "session.updated",
    "session.stopped",
    "command.answered",
    "reservation.changed",
];

/// The name of an event told by another node, if this version knows it.
pub fn known_name(name: &str) -> Option<&'static str> {
    NAMES.iter().copied().find(|known| *known == name)
}
