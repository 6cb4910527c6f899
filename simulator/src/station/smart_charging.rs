//! Charging profiles: SetChargingProfile, ClearChargingProfile and GetCompositeSchedule, kept
//! per connector (0: the whole charger).

use chrono::Utc;
use serde_json::{Value, json};

use super::config_keys::CHARGE_PROFILE_MAX_STACK_LEVEL;
use super::state::State;
use crate::ocpp::messages::clear_charging_profile::ClearChargingProfileRequest;
use crate::ocpp::messages::get_composite_schedule::GetCompositeScheduleRequest;
use crate::ocpp::messages::set_charging_profile::SetChargingProfileRequest;
use crate::ocpp::types::{ChargingProfile, ChargingProfilePurposeType};

fn status(s: &str) -> Value {
    json!({ "status": s })
}

pub(crate) fn set(state: &mut State, req: SetChargingProfileRequest) -> Value {
    let Ok(connector) = u32::try_from(req.connector_id) else {
        return status("Rejected");
    };
    if connector != 0 && !state.has_connector(connector) {
        return status("Rejected");
    }
    let profile = req.cs_charging_profiles;
    let max_level = state
        .configuration
        .integer(CHARGE_PROFILE_MAX_STACK_LEVEL)
        .unwrap_or(0);
    if u64::from(profile.stack_level) > max_level {
        return status("Rejected");
    }
    let fits = match profile.charging_profile_purpose {
        ChargingProfilePurposeType::ChargePointMaxProfile => connector == 0,
        ChargingProfilePurposeType::TxDefaultProfile => true,
        // Only for the transaction running on that connector.
        ChargingProfilePurposeType::TxProfile => state.connector(connector).is_some_and(|c| {
            c.transaction_id.is_some()
                && profile
                    .transaction_id
                    .is_none_or(|tx| Some(tx) == c.transaction_id)
        }),
    };
    if !fits {
        return status("Rejected");
    }
    install(state, connector, profile);
    status("Accepted")
}

/// Stores a profile, replacing one with the same id or the same connector, purpose and stack
/// level (as the specification says a newer profile does).
pub(crate) fn install(state: &mut State, connector: u32, profile: ChargingProfile) {
    state.charging_profiles.retain(|(c, p)| {
        p.charging_profile_id != profile.charging_profile_id
            && !(*c == connector
                && p.charging_profile_purpose == profile.charging_profile_purpose
                && p.stack_level == profile.stack_level)
    });
    state.charging_profiles.push((connector, profile));
}

pub(crate) fn clear(state: &mut State, req: ClearChargingProfileRequest) -> Value {
    let before = state.charging_profiles.len();
    state.charging_profiles.retain(|(connector, profile)| {
        let matches = match req.id {
            Some(id) => profile.charging_profile_id == id,
            None => {
                req.connector_id
                    .is_none_or(|c| i64::from(c) == i64::from(*connector))
                    && req
                        .charging_profile_purpose
                        .as_ref()
                        .is_none_or(|p| *p == profile.charging_profile_purpose)
                    && req
                        .stack_level
                        .is_none_or(|l| i64::from(l) == i64::from(profile.stack_level))
            }
        };
        !matches
    });
    status(if state.charging_profiles.len() < before {
        "Accepted"
    } else {
        "Unknown"
    })
}

/// The schedule of the highest stack level profile on the connector, starting now and cut to
/// the requested duration.
pub(crate) fn composite(state: &State, req: GetCompositeScheduleRequest) -> Value {
    let Ok(connector) = u32::try_from(req.connector_id) else {
        return status("Rejected");
    };
    let top = state
        .charging_profiles
        .iter()
        .filter(|(c, _)| *c == connector)
        .max_by_key(|(_, p)| p.stack_level);
    let Some((_, profile)) = top else {
        return status("Rejected");
    };
    let mut schedule = profile.charging_schedule.clone();
    let duration = req.duration.max(0);
    schedule.duration = Some(schedule.duration.map_or(duration, |d| d.min(duration)));
    schedule.start_schedule = None;
    let mut answer = json!({
        "status": "Accepted",
        "connectorId": req.connector_id,
        "scheduleStart": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    match serde_json::to_value(&schedule) {
        Ok(schedule) => answer["chargingSchedule"] = schedule,
        Err(_) => return status("Rejected"),
    }
    answer
}
