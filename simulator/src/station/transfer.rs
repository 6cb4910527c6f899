//! Firmware updates and diagnostics uploads over HTTP(S), with the status notifications a
//! charger sends along the way.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::core::{Control, Core};
use crate::error::SimError;
use crate::ocpp::messages::diagnostics_status_notification::{
    DiagnosticsStatusNotificationRequest, DiagnosticsStatusNotificationResponse,
};
use crate::ocpp::messages::firmware_status_notification::{
    FirmwareStatusNotificationRequest, FirmwareStatusNotificationResponse,
};
use crate::ocpp::types::{DiagnosticsStatus, FirmwareStatus};

/// OCPP caps firmwareVersion at 50 characters.
const MAX_FIRMWARE_VERSION: usize = 50;

pub(crate) async fn notify_firmware(
    core: &Core,
    req: &FirmwareStatusNotificationRequest,
) -> Result<(), SimError> {
    let _: FirmwareStatusNotificationResponse =
        core.call("FirmwareStatusNotification", req).await?;
    Ok(())
}

pub(crate) async fn notify_diagnostics(
    core: &Core,
    req: &DiagnosticsStatusNotificationRequest,
) -> Result<(), SimError> {
    let _: DiagnosticsStatusNotificationResponse =
        core.call("DiagnosticsStatusNotification", req).await?;
    Ok(())
}

/// Records a firmware status and reports it (when connected).
async fn firmware_status(core: &Core, status: FirmwareStatus) {
    core.state().firmware_statuses.push(status.clone());
    if let Err(e) = notify_firmware(core, &FirmwareStatusNotificationRequest { status }).await {
        tracing::debug!(error = %e, "firmware status not reported");
    }
}

async fn diagnostics_status(core: &Core, status: DiagnosticsStatus) {
    core.state().diagnostics_statuses.push(status.clone());
    if let Err(e) = notify_diagnostics(core, &DiagnosticsStatusNotificationRequest { status }).await
    {
        tracing::debug!(error = %e, "diagnostics status not reported");
    }
}

/// Only http and https: a charger cannot fetch from anything else here.
fn http_url(location: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(location).map_err(|e| format!("{location}: {e}"))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(format!("{location}: unsupported scheme {other}")),
    }
}

/// UpdateFirmware: wait for retrieveDate, download, install, reboot with the new version.
pub(crate) async fn update_firmware(core: Arc<Core>, payload: Value) {
    let location = payload["location"].as_str().unwrap_or_default().to_string();
    let retrieve_at = payload["retrieveDate"]
        .as_str()
        .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
        .map(|d| d.with_timezone(&Utc));
    if let Some(wait) = retrieve_at.and_then(|at| (at - Utc::now()).to_std().ok()) {
        tokio::time::sleep(wait).await;
    }
    firmware_status(&core, FirmwareStatus::Downloading).await;
    let file_name = match download(&core, &location).await {
        Ok(name) => name,
        Err(e) => {
            core.say(|| format!("firmware download failed: {e}"));
            firmware_status(&core, FirmwareStatus::DownloadFailed).await;
            return;
        }
    };
    firmware_status(&core, FirmwareStatus::Downloaded).await;
    firmware_status(&core, FirmwareStatus::Installing).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    firmware_status(&core, FirmwareStatus::Installed).await;
    {
        let mut state = core.state();
        let version = if file_name.is_empty() {
            format!("{}+update", state.firmware_version)
        } else {
            file_name
        };
        state.firmware_version = version.chars().take(MAX_FIRMWARE_VERSION).collect();
    }
    // New firmware runs after a restart: reconnect and boot with the new version.
    let _ = core.control.send(Control::Reboot);
}

/// GETs the firmware image; returns the file name the URL ends with (may be empty).
async fn download(core: &Core, location: &str) -> Result<String, String> {
    let url = http_url(location)?;
    let response = core
        .http
        .get(url.clone())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("{location}: HTTP {}", response.status()));
    }
    response.bytes().await.map_err(|e| e.to_string())?;
    Ok(url
        .path_segments()
        .and_then(|mut segments| segments.next_back())
        .unwrap_or_default()
        .to_string())
}

/// GetDiagnostics: PUT a small log to `{location}/{fileName}`.
pub(crate) async fn upload_diagnostics(core: Arc<Core>, payload: Value, file_name: String) {
    diagnostics_status(&core, DiagnosticsStatus::Uploading).await;
    let location = payload["location"].as_str().unwrap_or_default();
    let target = format!("{}/{file_name}", location.trim_end_matches('/'));
    match upload(&core, &target).await {
        Ok(()) => {
            core.state().uploaded_diagnostics.push(file_name);
            diagnostics_status(&core, DiagnosticsStatus::Uploaded).await;
        }
        Err(e) => {
            core.say(|| format!("diagnostics upload failed: {e}"));
            diagnostics_status(&core, DiagnosticsStatus::UploadFailed).await;
        }
    }
}

async fn upload(core: &Core, target: &str) -> Result<(), String> {
    let url = http_url(target)?;
    let body = diagnostics_log(core);
    let response = core
        .http
        .put(url)
        .header(reqwest::header::CONTENT_TYPE, "text/plain")
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("{target}: HTTP {}", response.status()))
    }
}

/// A few lines a charger's log would have.
fn diagnostics_log(core: &Core) -> String {
    let state = core.state();
    let mut log = format!(
        "{} {} {} firmware {}\nboots {}\n",
        Utc::now().to_rfc3339(),
        core.cfg.profile.vendor,
        core.cfg.profile.model,
        state.firmware_version,
        state.boots
    );
    for c in &state.connectors {
        log.push_str(&format!(
            "connector {} {:?} meter {} Wh\n",
            c.id,
            c.status,
            c.meter_wh()
        ));
    }
    log
}
