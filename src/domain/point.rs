//! Charging points (chargers) and their connectors.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::enums::{ChargerType, ConnectorType, Oem, Phase};
use crate::fixed::Kilowatts;

/// A charging point as stored, without its connectors.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PointRow {
    pub id: i64,
    pub charging_point_name: String,
    pub station_id: String,
    pub device_id: Option<String>,
    pub tariff_id: Option<i64>,
    pub charger_type: ChargerType,
    pub phase: Phase,
    pub oem_list: Oem,
    pub max_power: Option<Kilowatts>,
    pub deleted: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub station_name: Option<String>,
    pub tariff_name: Option<String>,
}

/// A connector (plug) of a charging point as stored and shown.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Connector {
    pub id: i64,
    #[serde(skip)]
    pub charging_point_id: i64,
    /// `1`, `2` or `3`: the OCPP connector number.
    pub connector_id: String,
    pub connector_type: ConnectorType,
    pub power: Kilowatts,
    /// Live OCPP status (null until the charger reports one).
    pub status: Option<String>,
    /// Live OCPP error code (null until the charger reports one).
    pub error_code: Option<String>,
    /// When the charger last reported the status.
    pub status_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A charging point as shown: its columns and its live connectors.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Point {
    pub id: i64,
    pub charging_point_name: String,
    /// The `station_id` of the station it stands at.
    pub station_id: String,
    /// The OCPP charge point identity, unique among live points.
    pub device_id: Option<String>,
    /// The `id` of its tariff.
    pub tariff_id: Option<i64>,
    pub charger_type: ChargerType,
    pub phase: Phase,
    pub oem_list: Oem,
    pub max_power: Option<Kilowatts>,
    pub deleted: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The station's name, for lists that show it without another request.
    pub station_name: Option<String>,
    /// The tariff's name (null without a tariff).
    pub tariff_name: Option<String>,
    /// Live connectors, by connector_id.
    pub connectors: Vec<Connector>,
}

impl Point {
    pub fn new(row: PointRow, connectors: Vec<Connector>) -> Self {
        Self {
            id: row.id,
            charging_point_name: row.charging_point_name,
            station_id: row.station_id,
            device_id: row.device_id,
            tariff_id: row.tariff_id,
            charger_type: row.charger_type,
            phase: row.phase,
            oem_list: row.oem_list,
            max_power: row.max_power,
            deleted: row.deleted,
            created_at: row.created_at,
            updated_at: row.updated_at,
            station_name: row.station_name,
            tariff_name: row.tariff_name,
            connectors,
        }
    }
}

/// A point's editable fields, validated.
#[derive(Debug, Clone)]
pub struct PointFields {
    pub charging_point_name: String,
    pub station_id: String,
    pub device_id: Option<String>,
    pub tariff_id: Option<i64>,
    pub charger_type: ChargerType,
    pub phase: Phase,
    pub oem_list: Oem,
    pub max_power: Option<Kilowatts>,
    pub connectors: Vec<ConnectorFields>,
}

/// A connector's editable fields, validated.
#[derive(Debug, Clone)]
pub struct ConnectorFields {
    pub connector_id: String,
    pub connector_type: ConnectorType,
    pub power: Kilowatts,
}
