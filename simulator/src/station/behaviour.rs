//! What the station does after it answered a server CALL: start and stop sessions, report
//! statuses, send triggered messages, reboot, transfer files. Only calls it accepted lead
//! anywhere; a refusal (its own or the test's) changes nothing.

use std::sync::Arc;

use serde_json::Value;

use super::charging::{self, send_meter_values};
use super::config_keys::AUTHORIZE_REMOTE_TX_REQUESTS;
use super::core::Core;
use super::transfer;
use crate::answer::{ServerAnswer, ServerCallEvent};
use crate::ocpp::messages::diagnostics_status_notification::DiagnosticsStatusNotificationRequest;
use crate::ocpp::messages::firmware_status_notification::FirmwareStatusNotificationRequest;
use crate::ocpp::messages::heart_beat::{HeartbeatRequest, HeartbeatResponse};
use crate::ocpp::messages::remote_start_transaction::RemoteStartTransactionRequest;
use crate::ocpp::types::{
    AuthorizationStatus, DiagnosticsStatus, FirmwareStatus, MessageTrigger, ReadingContext, Reason,
};

/// Whether the connection goes on after a follow-up.
pub(crate) enum Next {
    Continue,
    Reboot,
}

pub(crate) async fn follow_up(core: &Arc<Core>, event: ServerCallEvent) -> Next {
    core.say(|| {
        format!(
            "<- {} {} => {}",
            event.action,
            event.payload,
            describe(&event.answer)
        )
    });
    let ServerAnswer::Result(answer) = &event.answer else {
        return Next::Continue;
    };
    let accepted = answer["status"] == "Accepted";
    let payload = &event.payload;
    match event.action.as_str() {
        "RemoteStartTransaction" if accepted => remote_start(core, payload).await,
        "RemoteStopTransaction" if accepted => {
            if let Some(connector) = connector_of_transaction(core, payload) {
                report(charging::stop_session(core, connector, Reason::Remote).await);
            }
        }
        "Reset" if accepted => {
            let reason = match payload["type"].as_str() {
                Some("Hard") => Reason::HardReset,
                _ => Reason::SoftReset,
            };
            stop_all(core, reason).await;
            return Next::Reboot;
        }
        "UnlockConnector" if answer["status"] == "Unlocked" => {
            let connector = payload["connectorId"]
                .as_u64()
                .and_then(|c| u32::try_from(c).ok());
            let charging = connector.filter(|c| {
                core.state()
                    .connector(*c)
                    .is_some_and(|c| c.transaction_id.is_some())
            });
            if let Some(connector) = charging {
                report(charging::stop_session(core, connector, Reason::UnlockCommand).await);
            }
        }
        "ChangeAvailability" | "ReserveNow" | "CancelReservation" => core.refresh_statuses().await,
        "TriggerMessage" if accepted => trigger(core, payload).await,
        "UpdateFirmware" => {
            let task = transfer::update_firmware(core.clone(), payload.clone());
            let _ = core.spawn(task);
        }
        "GetDiagnostics" => {
            if let Some(file_name) = answer["fileName"].as_str() {
                let task =
                    transfer::upload_diagnostics(core.clone(), payload.clone(), file_name.into());
                let _ = core.spawn(task);
            }
        }
        _ => {}
    }
    Next::Continue
}

fn describe(answer: &ServerAnswer) -> String {
    match answer {
        ServerAnswer::Result(payload) => payload.to_string(),
        ServerAnswer::Error { code, description } => format!("CALLERROR {code}: {description}"),
        ServerAnswer::Ignore => "not answered".into(),
    }
}

fn report<T>(result: Result<T, crate::SimError>) {
    if let Err(e) = result {
        tracing::debug!(error = %e, "follow-up failed");
    }
}

/// Authorize (when AuthorizeRemoteTxRequests says so), then the session on the connector the
/// answer claimed.
async fn remote_start(core: &Core, payload: &Value) {
    let Ok(req) = serde_json::from_value::<RemoteStartTransactionRequest>(payload.clone()) else {
        return;
    };
    let claimed = {
        let state = core.state();
        let mine = |c: &&super::state::Connector| {
            c.starting_for.as_deref() == Some(req.id_tag.as_str())
                && req.connector_id.is_none_or(|id| id == c.id)
        };
        let claimed = state.connectors.iter().find(mine).map(|c| c.id);
        // A test's answerer may have accepted a start the station did not claim: take a free
        // connector now, as a charger told "you accepted" would.
        claimed.or_else(|| {
            state
                .connectors
                .iter()
                .find(|c| req.connector_id.is_none_or(|id| id == c.id) && c.free_for(&req.id_tag))
                .map(|c| c.id)
        })
    };
    let Some(connector) = claimed else {
        core.say(|| format!("no free connector for the remote start of {}", req.id_tag));
        return;
    };
    if charging::claim(core, connector, &req.id_tag).is_err() {
        return;
    }
    if core
        .state()
        .configuration
        .flag(AUTHORIZE_REMOTE_TX_REQUESTS)
    {
        match charging::authorize(core, &req.id_tag).await {
            Ok(AuthorizationStatus::Accepted) => {}
            _ => {
                charging::release(core, connector).await;
                return;
            }
        }
    }
    report(charging::start_session(core, connector, &req.id_tag, req.charging_profile).await);
}

fn connector_of_transaction(core: &Core, payload: &Value) -> Option<u32> {
    let tx = payload["transactionId"].as_i64()?;
    core.state()
        .connectors
        .iter()
        .find(|c| c.transaction_id.map(i64::from) == Some(tx))
        .map(|c| c.id)
}

pub(crate) async fn stop_all(core: &Core, reason: Reason) {
    let charging: Vec<u32> = core
        .state()
        .connectors
        .iter()
        .filter(|c| c.transaction_id.is_some())
        .map(|c| c.id)
        .collect();
    for connector in charging {
        report(charging::stop_session(core, connector, reason.clone()).await);
    }
}

async fn trigger(core: &Core, payload: &Value) {
    let connector = payload["connectorId"]
        .as_u64()
        .and_then(|c| u32::try_from(c).ok());
    let Ok(requested) =
        serde_json::from_value::<MessageTrigger>(payload["requestedMessage"].clone())
    else {
        return;
    };
    match requested {
        MessageTrigger::BootNotification => {
            let mut req = crate::boot_request(&core.cfg.profile);
            req.firmware_version = Some(core.state().firmware_version.clone());
            let sent: Result<
                crate::ocpp::messages::boot_notification::BootNotificationResponse,
                _,
            > = core.call("BootNotification", &req).await;
            report(sent);
        }
        MessageTrigger::DiagnosticsStatusNotification => {
            let status = core
                .state()
                .diagnostics_statuses
                .last()
                .cloned()
                .unwrap_or(DiagnosticsStatus::Idle);
            report(
                transfer::notify_diagnostics(
                    core,
                    &DiagnosticsStatusNotificationRequest { status },
                )
                .await,
            );
        }
        MessageTrigger::FirmwareStatusNotification => {
            let status = core
                .state()
                .firmware_statuses
                .last()
                .cloned()
                .unwrap_or(FirmwareStatus::Idle);
            report(
                transfer::notify_firmware(core, &FirmwareStatusNotificationRequest { status })
                    .await,
            );
        }
        MessageTrigger::Heartbeat => {
            let sent: Result<HeartbeatResponse, _> =
                core.call("Heartbeat", &HeartbeatRequest {}).await;
            report(sent);
        }
        MessageTrigger::MeterValues => {
            let only = connector.filter(|c| *c != 0);
            send_meter_values(core, only, ReadingContext::Trigger, false).await;
        }
        MessageTrigger::StatusNotification => core.report_all_statuses(connector).await,
    }
}
