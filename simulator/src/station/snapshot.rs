//! What a test can see of a simulated station at one moment: plain data, cloned out of the
//! station's state so assertions never hold a lock.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::ocpp::types::{
    ChargePointStatus, ChargingProfile, DiagnosticsStatus, FirmwareStatus, IdTagInfo, Reason,
};

#[derive(Debug, Clone, PartialEq)]
pub struct StationSnapshot {
    /// Connected and booted (BootNotification accepted, statuses sent).
    pub connected: bool,
    /// Accepted boot sequences: the first one, then one per reconnection or reboot.
    pub boots: u32,
    pub firmware_version: String,
    /// Index 0 is connector 1.
    pub connectors: Vec<ConnectorState>,
    /// Every key with its value, write-only ones (AuthorizationKey) included: this is the
    /// test's view, not what GetConfiguration answers.
    pub configuration: Vec<ConfigKey>,
    pub local_list_version: i32,
    pub local_list: BTreeMap<String, IdTagInfo>,
    /// Installed charging profiles with their connector (0: the whole charger).
    pub charging_profiles: Vec<(u32, ChargingProfile)>,
    /// The firmware statuses the station went through, in order.
    pub firmware_statuses: Vec<FirmwareStatus>,
    pub diagnostics_statuses: Vec<DiagnosticsStatus>,
    /// File names of diagnostics uploaded successfully.
    pub uploaded_diagnostics: Vec<String>,
    /// Payloads of the DataTransfer requests the station accepted.
    pub data_transfers: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorState {
    pub id: u32,
    pub status: ChargePointStatus,
    /// Operative, as ChangeAvailability left it.
    pub available: bool,
    pub transaction_id: Option<i32>,
    pub id_tag: Option<String>,
    /// The energy register, growing in real time while charging.
    pub meter_wh: i64,
    /// (reservationId, idTag, expiry)
    pub reservation: Option<(i32, String, DateTime<Utc>)>,
    /// The reason of every StopTransaction on this connector, in order.
    pub stop_reasons: Vec<Reason>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigKey {
    pub key: String,
    pub value: Option<String>,
    pub readonly: bool,
}

impl StationSnapshot {
    /// Connector `id` (1-based), if the station has it.
    pub fn connector(&self, id: u32) -> Option<&ConnectorState> {
        self.connectors.iter().find(|c| c.id == id)
    }

    /// The value of configuration key `key`, if set.
    pub fn config_value(&self, key: &str) -> Option<&str> {
        self.configuration
            .iter()
            .find(|k| k.key == key)
            .and_then(|k| k.value.as_deref())
    }
}
