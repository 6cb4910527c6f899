//! Charging sessions: authorization (online, or from the local list), StartTransaction with
//! the statuses around it, the meter register growing in real time with periodic MeterValues,
//! and StopTransaction.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;

use super::config_keys::{LOCAL_AUTHORIZE_OFFLINE, LOCAL_PRE_AUTHORIZE};
use super::core::Core;
use super::local_list;
use crate::charger::Charger;
use crate::error::SimError;
use crate::ocpp::messages::authorize::{AuthorizeRequest, AuthorizeResponse};
use crate::ocpp::messages::meter_values::{MeterValuesRequest, MeterValuesResponse};
use crate::ocpp::messages::start_transaction::{StartTransactionRequest, StartTransactionResponse};
use crate::ocpp::messages::stop_transaction::{StopTransactionRequest, StopTransactionResponse};
use crate::ocpp::types::{
    AuthorizationStatus, ChargePointStatus, ChargingProfile, ChargingProfilePurposeType,
    MeterValue, ReadingContext, Reason,
};

/// Authorize online; offline (or with LocalPreAuthorize and a known tag) from the local list.
pub(crate) async fn authorize(core: &Core, id_tag: &str) -> Result<AuthorizationStatus, SimError> {
    let (online, pre_authorize, offline_allowed, listed) = {
        let state = core.state();
        (
            state.connected,
            state.configuration.flag(LOCAL_PRE_AUTHORIZE),
            state.configuration.flag(LOCAL_AUTHORIZE_OFFLINE),
            local_list::lookup(&state, id_tag),
        )
    };
    if pre_authorize && listed == AuthorizationStatus::Accepted {
        return Ok(listed);
    }
    if !online {
        return Ok(if offline_allowed {
            listed
        } else {
            AuthorizationStatus::Invalid
        });
    }
    let req = AuthorizeRequest {
        id_tag: id_tag.to_string(),
    };
    let answer: AuthorizeResponse = core.call("Authorize", &req).await?;
    Ok(answer.id_tag_info.status)
}

/// Takes `connector` for `id_tag` (unless a remote start already did).
pub(crate) fn claim(core: &Core, connector: u32, id_tag: &str) -> Result<(), SimError> {
    let mut state = core.state();
    let Some(c) = state.connector_mut(connector) else {
        return Err(SimError::Refused(format!("no connector {connector}")));
    };
    if c.starting_for.as_deref() == Some(id_tag) {
        return Ok(());
    }
    if !c.free_for(id_tag) {
        return Err(SimError::Refused(format!(
            "connector {connector} is not free ({:?})",
            c.status
        )));
    }
    c.starting_for = Some(id_tag.to_string());
    Ok(())
}

/// Gives a claimed connector back after a failed start.
pub(crate) async fn release(core: &Core, connector: u32) {
    if let Some(c) = core.state().connector_mut(connector) {
        c.starting_for = None;
    }
    core.refresh_statuses().await;
}

/// Preparing, StartTransaction (with the reservation when it is this tag's), Charging. The
/// connector must have been claimed. Returns the transaction id.
pub(crate) async fn start_session(
    core: &Core,
    connector: u32,
    id_tag: &str,
    profile: Option<ChargingProfile>,
) -> Result<i32, SimError> {
    core.report_status(connector, ChargePointStatus::Preparing)
        .await;
    let (meter_start, reservation_id) = {
        let state = core.state();
        let c = state
            .connector(connector)
            .ok_or_else(|| SimError::Refused(format!("no connector {connector}")))?;
        let reservation = c
            .reservation
            .as_ref()
            .filter(|r| r.id_tag == id_tag)
            .map(|r| r.id);
        (register(c.meter_wh()), reservation)
    };
    let req = StartTransactionRequest {
        connector_id: connector,
        id_tag: id_tag.to_string(),
        meter_start,
        reservation_id,
        timestamp: Utc::now(),
    };
    let answer: StartTransactionResponse = match core.call("StartTransaction", &req).await {
        Ok(answer) => answer,
        Err(e) => {
            release(core, connector).await;
            return Err(e);
        }
    };
    let tx = answer.transaction_id;
    if answer.id_tag_info.status != AuthorizationStatus::Accepted {
        // The server opened a transaction for a tag it refuses: end it at once, as a charger
        // with StopTransactionOnInvalidId does.
        let stop = StopTransactionRequest {
            id_tag: Some(id_tag.to_string()),
            meter_stop: meter_start,
            timestamp: Utc::now(),
            transaction_id: tx,
            reason: Some(Reason::DeAuthorized),
            transaction_data: None,
        };
        let _: Result<StopTransactionResponse, _> = core.call("StopTransaction", &stop).await;
        if let Some(c) = core.state().connector_mut(connector) {
            c.stop_reasons.push(Reason::DeAuthorized);
        }
        release(core, connector).await;
        return Err(SimError::Refused(format!(
            "StartTransaction for {id_tag}: {:?}",
            answer.id_tag_info.status
        )));
    }
    {
        let mut state = core.state();
        if let Some(c) = state.connector_mut(connector) {
            c.starting_for = None;
            c.transaction_id = Some(tx);
            c.id_tag = Some(id_tag.to_string());
            c.accrued_at = Some(Instant::now());
            if reservation_id.is_some() {
                c.reservation = None;
            }
        }
        if let Some(mut profile) = profile {
            profile.transaction_id = Some(tx);
            super::smart_charging::install(&mut state, connector, profile);
        }
    }
    core.report_status(connector, ChargePointStatus::Charging)
        .await;
    Ok(tx)
}

/// StopTransaction with `reason`, then Finishing and Available (or Unavailable when a
/// ChangeAvailability was scheduled). The session ends locally even if the connection is down.
pub(crate) async fn stop_session(
    core: &Core,
    connector: u32,
    reason: Reason,
) -> Result<(), SimError> {
    let mut link = core.link.lock().await;
    let ended = {
        let mut state = core.state();
        state.accrue(Instant::now());
        let Some(c) = state.connector_mut(connector) else {
            return Err(SimError::Refused(format!("no connector {connector}")));
        };
        let Some(tx) = c.transaction_id.take() else {
            return Err(SimError::Refused(format!(
                "no transaction on connector {connector}"
            )));
        };
        c.accrued_at = None;
        c.stop_reasons.push(reason.clone());
        if c.unavailable_after_session {
            c.unavailable_after_session = false;
            c.available = false;
        }
        let id_tag = c.id_tag.take();
        let meter_stop = register(c.meter_wh());
        state.charging_profiles.retain(|(c, p)| {
            !(*c == connector
                && p.charging_profile_purpose == ChargingProfilePurposeType::TxProfile)
        });
        StopTransactionRequest {
            id_tag,
            meter_stop,
            timestamp: Utc::now(),
            transaction_id: tx,
            reason: Some(reason),
            transaction_data: None,
        }
    };
    let sent: Result<StopTransactionResponse, SimError> = match link.as_mut() {
        Some(charger) => core.call_on(charger, "StopTransaction", &ended).await,
        None => Err(Core::offline()),
    };
    drop(link);
    core.report_status(connector, ChargePointStatus::Finishing)
        .await;
    core.refresh_statuses().await;
    sent.map(|_| ())
}

/// The register as OCPP carries it (an int32 of Wh).
fn register(meter_wh: i64) -> i32 {
    i32::try_from(meter_wh).unwrap_or(i32::MAX)
}

/// One connector's sample now: energy, power, current, voltage, SoC.
fn sample(meter_wh: i64, power_w: u32, context: ReadingContext) -> MeterValue {
    let mut value = Charger::sample(Utc::now(), meter_wh, power_w);
    for sampled in &mut value.sampled_value {
        sampled.context = Some(context.clone());
    }
    value
}

/// Sends MeterValues for `connector` (all when `None`): with the transaction while charging,
/// else the register alone at zero power.
pub(crate) async fn send_meter_values(
    core: &Core,
    only: Option<u32>,
    context: ReadingContext,
    charging_only: bool,
) {
    let mut link = core.link.lock().await;
    let Some(charger) = link.as_mut() else {
        return;
    };
    let requests: Vec<MeterValuesRequest> = {
        let mut state = core.state();
        state.accrue(Instant::now());
        let power_w = state.power_w;
        state
            .connectors
            .iter()
            .filter(|c| only.is_none_or(|o| o == c.id))
            .filter(|c| !charging_only || c.transaction_id.is_some())
            .map(|c| {
                let power = if c.transaction_id.is_some() {
                    power_w
                } else {
                    0
                };
                MeterValuesRequest {
                    connector_id: c.id,
                    transaction_id: c.transaction_id,
                    meter_value: vec![sample(c.meter_wh(), power, context.clone())],
                }
            })
            .collect()
    };
    for req in requests {
        let sent: Result<MeterValuesResponse, _> = core.call_on(charger, "MeterValues", &req).await;
        if sent.is_err() {
            return;
        }
    }
}

/// The station's clock: periodic samples at the live MeterValueSampleInterval, and
/// reservations lapsing at their expiry.
pub(crate) async fn clock(core: Arc<Core>) {
    let mut last_sample = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let interval = core.state().configuration.meter_interval();
        if !interval.is_zero() && last_sample.elapsed() >= interval {
            last_sample = Instant::now();
            send_meter_values(&core, None, ReadingContext::SamplePeriodic, true).await;
        }
        let lapsed = {
            let mut state = core.state();
            let now = Utc::now();
            let mut lapsed = false;
            for c in &mut state.connectors {
                if c.reservation.as_ref().is_some_and(|r| r.expiry <= now) {
                    c.reservation = None;
                    lapsed = true;
                }
            }
            lapsed
        };
        if lapsed {
            core.refresh_statuses().await;
        }
    }
}
