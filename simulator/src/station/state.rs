//! The station's memory: connectors, configuration, local list, charging profiles and the
//! history tests inspect. It outlives every connection. Plain data behind one `std` mutex, never
//! held across an await.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{DateTime, Utc};

use super::config_keys::Configuration;
use super::snapshot::{ConnectorState, StationSnapshot};
use crate::ocpp::types::{
    ChargePointStatus, ChargingProfile, DiagnosticsStatus, FirmwareStatus, IdTagInfo, Reason,
};
use crate::profile::Profile;

#[derive(Debug, Clone)]
pub(crate) struct Reservation {
    pub id: i32,
    pub id_tag: String,
    pub expiry: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub(crate) struct Connector {
    pub id: u32,
    /// The status last reported (or to be reported at the next boot while offline).
    pub status: ChargePointStatus,
    pub available: bool,
    /// ChangeAvailability Inoperative answered Scheduled: applies after the running session.
    pub unavailable_after_session: bool,
    pub transaction_id: Option<i32>,
    pub id_tag: Option<String>,
    /// A session is being started here for this tag (remote start answered, Start not yet
    /// confirmed): the connector is taken.
    pub starting_for: Option<String>,
    /// Energy register in milliwatt-hours, so short ticks do not round energy away.
    pub meter_mwh: i64,
    /// While charging: when energy was last added to the register.
    pub accrued_at: Option<Instant>,
    pub reservation: Option<Reservation>,
    pub stop_reasons: Vec<Reason>,
}

impl Connector {
    fn new(id: u32) -> Self {
        Connector {
            id,
            status: ChargePointStatus::Available,
            available: true,
            unavailable_after_session: false,
            transaction_id: None,
            id_tag: None,
            starting_for: None,
            // A used charger: each connector's meter starts somewhere plausible.
            meter_mwh: i64::from(id) * 1_000_000_000,
            accrued_at: None,
            reservation: None,
            stop_reasons: Vec::new(),
        }
    }

    pub(crate) fn meter_wh(&self) -> i64 {
        self.meter_mwh / 1000
    }

    /// Free for a new session of `id_tag`: operative, idle, and not reserved for someone else.
    pub(crate) fn free_for(&self, id_tag: &str) -> bool {
        self.available
            && self.transaction_id.is_none()
            && self.starting_for.is_none()
            && self.status != ChargePointStatus::Faulted
            && self.reservation.as_ref().is_none_or(|r| r.id_tag == id_tag)
    }

    /// The status this connector's state calls for.
    pub(crate) fn due_status(&self) -> ChargePointStatus {
        if self.transaction_id.is_some() {
            ChargePointStatus::Charging
        } else if self.starting_for.is_some() {
            ChargePointStatus::Preparing
        } else if !self.available {
            ChargePointStatus::Unavailable
        } else if self.reservation.is_some() {
            ChargePointStatus::Reserved
        } else {
            ChargePointStatus::Available
        }
    }
}

#[derive(Debug)]
pub(crate) struct State {
    pub connected: bool,
    pub boots: u32,
    pub firmware_version: String,
    /// Connector 0, the charger as a whole.
    pub charger_status: ChargePointStatus,
    pub charger_available: bool,
    pub connectors: Vec<Connector>,
    pub configuration: Configuration,
    pub local_list_version: i32,
    pub local_list: BTreeMap<String, IdTagInfo>,
    pub charging_profiles: Vec<(u32, ChargingProfile)>,
    pub firmware_statuses: Vec<FirmwareStatus>,
    pub diagnostics_statuses: Vec<DiagnosticsStatus>,
    pub uploaded_diagnostics: Vec<String>,
    pub data_transfers: Vec<serde_json::Value>,
    /// Charging power per connector, in W.
    pub power_w: u32,
}

impl State {
    pub(crate) fn new(profile: &Profile, configuration: Configuration, power_w: u32) -> Self {
        State {
            connected: false,
            boots: 0,
            firmware_version: profile.firmware_version.clone(),
            charger_status: ChargePointStatus::Available,
            charger_available: true,
            connectors: (1..=profile.connectors).map(Connector::new).collect(),
            configuration,
            local_list_version: 0,
            local_list: BTreeMap::new(),
            charging_profiles: Vec::new(),
            firmware_statuses: Vec::new(),
            diagnostics_statuses: Vec::new(),
            uploaded_diagnostics: Vec::new(),
            data_transfers: Vec::new(),
            power_w,
        }
    }

    pub(crate) fn connector(&self, id: u32) -> Option<&Connector> {
        self.connectors.iter().find(|c| c.id == id)
    }

    pub(crate) fn connector_mut(&mut self, id: u32) -> Option<&mut Connector> {
        self.connectors.iter_mut().find(|c| c.id == id)
    }

    pub(crate) fn has_connector(&self, id: u32) -> bool {
        self.connector(id).is_some()
    }

    /// Adds the energy charged since the last call to every charging connector's register.
    pub(crate) fn accrue(&mut self, now: Instant) {
        let power_w = i64::from(self.power_w);
        for connector in &mut self.connectors {
            if let Some(since) = connector.accrued_at {
                let millis = i64::try_from(now.saturating_duration_since(since).as_millis())
                    .unwrap_or(i64::MAX);
                // W × ms / 3600 = mWh
                connector.meter_mwh = connector
                    .meter_mwh
                    .saturating_add(power_w.saturating_mul(millis) / 3600);
                connector.accrued_at = Some(now);
            }
        }
    }

    pub(crate) fn snapshot(&mut self) -> StationSnapshot {
        self.accrue(Instant::now());
        StationSnapshot {
            connected: self.connected,
            boots: self.boots,
            firmware_version: self.firmware_version.clone(),
            connectors: self.connectors.iter().map(connector_view).collect(),
            configuration: self.configuration.all(),
            local_list_version: self.local_list_version,
            local_list: self.local_list.clone(),
            charging_profiles: self.charging_profiles.clone(),
            firmware_statuses: self.firmware_statuses.clone(),
            diagnostics_statuses: self.diagnostics_statuses.clone(),
            uploaded_diagnostics: self.uploaded_diagnostics.clone(),
            data_transfers: self.data_transfers.clone(),
        }
    }
}

fn connector_view(c: &Connector) -> ConnectorState {
    ConnectorState {
        id: c.id,
        status: c.status.clone(),
        available: c.available,
        transaction_id: c.transaction_id,
        id_tag: c.id_tag.clone(),
        meter_wh: c.meter_wh(),
        reservation: c
            .reservation
            .as_ref()
            .map(|r| (r.id, r.id_tag.clone(), r.expiry)),
        stop_reasons: c.stop_reasons.clone(),
    }
}
