//! Messages about the charger itself: BootNotification, Heartbeat, StatusNotification,
//! DataTransfer, and the firmware and diagnostics progress reports.

use rust_ocpp::v1_6::messages::boot_notification::{
    BootNotificationRequest, BootNotificationResponse,
};
use rust_ocpp::v1_6::messages::data_transfer::{DataTransferRequest, DataTransferResponse};
use rust_ocpp::v1_6::messages::diagnostics_status_notification::{
    DiagnosticsStatusNotificationRequest, DiagnosticsStatusNotificationResponse,
};
use rust_ocpp::v1_6::messages::firmware_status_notification::{
    FirmwareStatusNotificationRequest, FirmwareStatusNotificationResponse,
};
use rust_ocpp::v1_6::messages::heart_beat::HeartbeatResponse;
use rust_ocpp::v1_6::messages::status_notification::{
    StatusNotificationRequest, StatusNotificationResponse,
};
use rust_ocpp::v1_6::types::{DataTransferStatus, RegistrationStatus};

use super::frame::CallError;
use super::link::{Link, internal};
use super::wire_name;
use crate::db;
use crate::db::charger_state::{self, Boot, BootData, Report, StatusReport, StatusStored};
use crate::db::stored_time;
use crate::events::Fact;
use crate::events::facts::{ChargerBooted, ConnectorStatus};

/// How long a charger that was not accepted waits before booting again, in seconds.
const RETRY_BOOT_AFTER: u32 = 60;

/// Stores the boot data; a charger adopted by a charging point is Accepted, any other gets the
/// configured answer (Pending by default) and is listed for an operator to adopt.
pub async fn boot(
    link: &mut Link,
    request: BootNotificationRequest,
) -> Result<BootNotificationResponse, CallError> {
    let now = db::now();
    let status = if link.point_for_boot().await.map_err(internal)?.is_some() {
        RegistrationStatus::Accepted
    } else {
        link.hub.settings.unknown_chargers.clone()
    };
    // Cut to the schema's (and the columns') lengths: a long firmware string is no reason to
    // keep a charger out.
    let data = BootData {
        vendor: fit(request.charge_point_vendor, 20),
        model: fit(request.charge_point_model, 20),
        charge_point_serial_number: fit_optional(request.charge_point_serial_number, 25),
        charge_box_serial_number: fit_optional(request.charge_box_serial_number, 25),
        firmware_version: fit_optional(request.firmware_version, 50),
        iccid: fit_optional(request.iccid, 20),
        imsi: fit_optional(request.imsi, 20),
        meter_type: fit_optional(request.meter_type, 25),
        meter_serial_number: fit_optional(request.meter_serial_number, 25),
    };
    let boot = Boot {
        charge_point_id: link.charge_point_id.clone(),
        data,
        registration_status: wire_name(&status),
        at: now,
    };
    link.hub.samples.booted(boot.clone()).await?;
    let data = boot.data;
    let point_id = link.point.as_ref().map(|p| p.point_id);
    let charge_point_id = link.charge_point_id.clone();
    link.tell(|| {
        Fact::ChargerBooted(ChargerBooted {
            charge_point_id: charge_point_id.to_string(),
            vendor: data.vendor.clone(),
            model: data.model.clone(),
            firmware_version: data.firmware_version.clone(),
            registration_status: wire_name(&status),
            point_id,
            at: now,
        })
    })
    .await;
    if status != RegistrationStatus::Accepted {
        tracing::info!(charger = %link.charge_point_id, vendor = %data.vendor, model = %data.model,
            "a charger no charging point has adopted booted; set a point's device_id to its id to accept it");
    }
    let interval = if status == RegistrationStatus::Accepted {
        link.hub.settings.heartbeat_interval
    } else {
        RETRY_BOOT_AFTER
    };
    Ok(BootNotificationResponse {
        current_time: now,
        interval,
        status,
    })
}

/// An optional text cut to at most `max` characters; empty means absent.
fn fit_optional(text: Option<String>, max: usize) -> Option<String> {
    text.filter(|t| !t.is_empty()).map(|t| fit(t, max))
}

/// `text` cut to at most `max` characters.
fn fit(mut text: String, max: usize) -> String {
    if let Some((cut, _)) = text.char_indices().nth(max) {
        text.truncate(cut);
    }
    text
}

pub async fn heartbeat(_link: &mut Link) -> HeartbeatResponse {
    // Every frame already counts as a sign of life (see `Link::handle_text`).
    HeartbeatResponse {
        current_time: db::now(),
    }
}

/// Connector 0 is the charger itself; other connectors are those of its charging point. A late
/// notification never overwrites a newer one.
pub async fn status(
    link: &mut Link,
    request: StatusNotificationRequest,
) -> Result<StatusNotificationResponse, CallError> {
    // A charger clock ahead of ours (local time read as UTC) must not freeze the status until
    // real time catches up: a report is never dated after its arrival.
    let now = db::now();
    let at = request.timestamp.map(stored_time).unwrap_or(now).min(now);
    let status = wire_name(&request.status);
    let error_code = wire_name(&request.error_code);
    let point_id = if request.connector_id == 0 {
        None
    } else if let Some(point) = link.point().await.map_err(internal)? {
        Some(point.point_id)
    } else {
        tracing::debug!(charger = %link.charge_point_id, connector = request.connector_id, status,
            "connector status of a charger no point has adopted");
        return Ok(StatusNotificationResponse {});
    };
    let report = StatusReport {
        charge_point_id: link.charge_point_id.clone(),
        point_id,
        connector: request.connector_id,
        status: status.clone(),
        error_code: error_code.clone(),
        at,
    };
    let stored = link.hub.samples.status(report).await?;
    if stored == StatusStored::NoSuchConnector {
        tracing::warn!(charger = %link.charge_point_id, connector = request.connector_id,
            "status of a connector its charging point does not have; add the connector to the point");
    }
    let applied = stored == StatusStored::Applied;
    // A late report that changed nothing is no news.
    if applied {
        let point_id = link.point.as_ref().map(|p| p.point_id);
        let charge_point_id = link.charge_point_id.clone();
        link.tell(|| {
            Fact::ConnectorStatus(ConnectorStatus {
                charge_point_id: charge_point_id.to_string(),
                point_id,
                connector_number: request.connector_id,
                status,
                error_code,
                at,
            })
        })
        .await;
    }
    Ok(StatusNotificationResponse {})
}

/// No vendor extensions are implemented: the answer the spec gives for an unknown vendor.
pub fn data_transfer(link: &mut Link, request: DataTransferRequest) -> DataTransferResponse {
    tracing::info!(charger = %link.charge_point_id, vendor = %request.vendor_string,
        message_id = request.message_id.as_deref().unwrap_or(""), "DataTransfer from an unknown vendor");
    DataTransferResponse {
        status: DataTransferStatus::UnknownVendorId,
        data: None,
    }
}

pub async fn diagnostics_status(
    link: &mut Link,
    request: DiagnosticsStatusNotificationRequest,
) -> Result<DiagnosticsStatusNotificationResponse, CallError> {
    let status = wire_name(&request.status);
    charger_state::report(
        &link.db,
        &link.charge_point_id,
        Report::Diagnostics,
        &status,
        db::now(),
    )
    .await
    .map_err(internal)?;
    db::firmware::diagnostics_progress(&link.db, &link.charge_point_id, &status, db::now())
        .await
        .map_err(internal)?;
    Ok(DiagnosticsStatusNotificationResponse {})
}

pub async fn firmware_status(
    link: &mut Link,
    request: FirmwareStatusNotificationRequest,
) -> Result<FirmwareStatusNotificationResponse, CallError> {
    let status = wire_name(&request.status);
    charger_state::report(
        &link.db,
        &link.charge_point_id,
        Report::Firmware,
        &status,
        db::now(),
    )
    .await
    .map_err(internal)?;
    db::firmware::update_progress(&link.db, &link.charge_point_id, &status, db::now())
        .await
        .map_err(internal)?;
    Ok(FirmwareStatusNotificationResponse {})
}
