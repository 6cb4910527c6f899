//! Typed helpers for the charger-initiated OCPP 1.6 messages, built on `Charger::call` with the
//! rust-ocpp payload types.

use chrono::{DateTime, Utc};
use rust_ocpp::v1_6::messages::authorize::{AuthorizeRequest, AuthorizeResponse};
use rust_ocpp::v1_6::messages::boot_notification::{
    BootNotificationRequest, BootNotificationResponse,
};
use rust_ocpp::v1_6::messages::heart_beat::{HeartbeatRequest, HeartbeatResponse};
use rust_ocpp::v1_6::messages::meter_values::{MeterValuesRequest, MeterValuesResponse};
use rust_ocpp::v1_6::messages::start_transaction::{
    StartTransactionRequest, StartTransactionResponse,
};
use rust_ocpp::v1_6::messages::status_notification::{
    StatusNotificationRequest, StatusNotificationResponse,
};
use rust_ocpp::v1_6::messages::stop_transaction::{
    StopTransactionRequest, StopTransactionResponse,
};
use rust_ocpp::v1_6::types::{
    ChargePointErrorCode, ChargePointStatus, Measurand, MeterValue, Phase, ReadingContext, Reason,
    SampledValue, UnitOfMeasure,
};

use crate::charger::Charger;
use crate::error::SimError;
use crate::profile::Profile;

/// The BootNotification a charger of this profile sends.
pub fn boot_request(profile: &Profile) -> BootNotificationRequest {
    BootNotificationRequest {
        charge_point_vendor: profile.vendor.clone(),
        charge_point_model: profile.model.clone(),
        charge_point_serial_number: Some(profile.serial_number.clone()),
        firmware_version: Some(profile.firmware_version.clone()),
        meter_type: Some(profile.meter_type.clone()),
        ..Default::default()
    }
}

impl Charger {
    /// BootNotification with the profile's vendor, model, serial, firmware and meter type.
    pub async fn boot(&mut self) -> Result<BootNotificationResponse, SimError> {
        let req = boot_request(&self.config().profile);
        self.call("BootNotification", &req).await
    }

    pub async fn heartbeat(&mut self) -> Result<HeartbeatResponse, SimError> {
        self.call("Heartbeat", &HeartbeatRequest {}).await
    }

    /// StatusNotification stamped with the current time.
    pub async fn status(
        &mut self,
        connector_id: u32,
        status: ChargePointStatus,
        error_code: ChargePointErrorCode,
    ) -> Result<StatusNotificationResponse, SimError> {
        let req = StatusNotificationRequest {
            connector_id,
            error_code,
            status,
            timestamp: Some(Utc::now()),
            ..Default::default()
        };
        self.call("StatusNotification", &req).await
    }

    pub async fn authorize(&mut self, id_tag: &str) -> Result<AuthorizeResponse, SimError> {
        let req = AuthorizeRequest {
            id_tag: id_tag.to_string(),
        };
        self.call("Authorize", &req).await
    }

    pub async fn start_transaction(
        &mut self,
        connector_id: u32,
        id_tag: &str,
        meter_start_wh: i32,
        timestamp: DateTime<Utc>,
    ) -> Result<StartTransactionResponse, SimError> {
        let req = StartTransactionRequest {
            connector_id,
            id_tag: id_tag.to_string(),
            meter_start: meter_start_wh,
            reservation_id: None,
            timestamp,
        };
        self.call("StartTransaction", &req).await
    }

    pub async fn meter_values(
        &mut self,
        connector_id: u32,
        transaction_id: Option<i32>,
        values: Vec<MeterValue>,
    ) -> Result<MeterValuesResponse, SimError> {
        let req = MeterValuesRequest {
            connector_id,
            transaction_id,
            meter_value: values,
        };
        self.call("MeterValues", &req).await
    }

    pub async fn stop_transaction(
        &mut self,
        transaction_id: i32,
        meter_stop_wh: i32,
        timestamp: DateTime<Utc>,
        reason: Option<Reason>,
        id_tag: Option<&str>,
    ) -> Result<StopTransactionResponse, SimError> {
        let req = StopTransactionRequest {
            id_tag: id_tag.map(str::to_string),
            meter_stop: meter_stop_wh,
            timestamp,
            transaction_id,
            reason,
            transaction_data: None,
        };
        self.call("StopTransaction", &req).await
    }

    /// A typical periodic sample: energy register (Wh), power (W), current on L1 (A), voltage
    /// (V) and state of charge (%). Current assumes 230 V single phase; SoC is a plausible
    /// function of the energy so successive samples rise together.
    pub fn sample(timestamp: DateTime<Utc>, energy_wh: i64, power_w: u32) -> MeterValue {
        const VOLTS: f64 = 230.0;
        let amps = f64::from(power_w) / VOLTS;
        let soc = 20 + (energy_wh.rem_euclid(60_000) * 80 / 60_000);
        let value = |value: String, measurand, unit, phase: Option<Phase>| SampledValue {
            value,
            context: Some(ReadingContext::SamplePeriodic),
            measurand: Some(measurand),
            unit: Some(unit),
            phase,
            ..Default::default()
        };
        MeterValue {
            timestamp,
            sampled_value: vec![
                value(
                    energy_wh.to_string(),
                    Measurand::EnergyActiveImportRegister,
                    UnitOfMeasure::Wh,
                    None,
                ),
                value(
                    power_w.to_string(),
                    Measurand::PowerActiveImport,
                    UnitOfMeasure::W,
                    None,
                ),
                value(
                    format!("{amps:.1}"),
                    Measurand::CurrentImport,
                    UnitOfMeasure::A,
                    Some(Phase::L1),
                ),
                value(
                    format!("{VOLTS:.1}"),
                    Measurand::Voltage,
                    UnitOfMeasure::V,
                    Some(Phase::L1N),
                ),
                value(
                    soc.to_string(),
                    Measurand::SoC,
                    UnitOfMeasure::Percent,
                    None,
                ),
            ],
        }
    }
}
