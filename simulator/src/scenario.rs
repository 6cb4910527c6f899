//! Scripted scenarios a charger plays from start to end: one full charging session, as the CLI's
//! `session` command and the server's tests run it.

use std::time::Duration;

use chrono::{TimeDelta, Utc};

use crate::ocpp::types::{
    AuthorizationStatus, ChargePointErrorCode, ChargePointStatus, IdTagInfo, Reason,
    RegistrationStatus,
};
use crate::{Charger, ChargerConfig, SimError};

/// What one session charges.
#[derive(Debug, Clone)]
pub struct SessionPlan {
    /// Energy to deliver, in Wh.
    pub energy_wh: u32,
    pub id_tag: String,
    pub connector: u32,
    /// Meter register at the start, in Wh.
    pub meter_start_wh: i32,
    /// Real time between meter values (zero: as fast as the server answers).
    pub meter_interval: Duration,
    pub samples: u32,
    /// Charging power in kW (default: the profile's).
    pub power_kw: Option<u32>,
}

/// How a session went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionOutcome {
    pub transaction_id: i32,
    pub meter_start_wh: i32,
    pub meter_stop_wh: i32,
}

/// Why a session did not complete.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The server answered the boot Pending: an operator must adopt the charger first.
    #[error(
        "the charger is awaiting adoption by an operator: register {0:?} as a charging point's device_id, then run again"
    )]
    AwaitingAdoption(String),
    /// The server refused something (the boot, the id tag), or the plan is impossible.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Sim(#[from] SimError),
}

/// Plays one session on a charger configured by `cfg`: boot, connectors Available, Authorize,
/// Preparing, StartTransaction, Charging, meter values rising to exactly `energy_wh`,
/// StopTransaction, Finishing, Available. Each step and the server's answer go to `log`.
pub async fn play_session(
    cfg: ChargerConfig,
    plan: &SessionPlan,
    log: &mut dyn FnMut(String),
) -> Result<SessionOutcome, ScenarioError> {
    let profile = cfg.profile.clone();
    if plan.connector == 0 || plan.connector > profile.connectors {
        return Err(ScenarioError::Refused(format!(
            "connector must be 1..={} for this profile",
            profile.connectors
        )));
    }
    let energy_wh = i32::try_from(plan.energy_wh)
        .map_err(|_| ScenarioError::Refused("too much energy".into()))?;
    let meter_stop = plan
        .meter_start_wh
        .checked_add(energy_wh)
        .ok_or_else(|| ScenarioError::Refused("the meter register would overflow".into()))?;
    log(format!(
        "connecting {} as {} {} ...",
        cfg.endpoint(),
        profile.vendor,
        profile.model
    ));
    let id = cfg.id.clone();
    let mut charger = Charger::connect(cfg).await?;

    let boot = charger.boot().await?;
    log(format!(
        "BootNotification -> {:?} (interval {} s)",
        boot.status, boot.interval
    ));
    match boot.status {
        RegistrationStatus::Accepted => {}
        RegistrationStatus::Pending => return Err(ScenarioError::AwaitingAdoption(id)),
        RegistrationStatus::Rejected => {
            return Err(ScenarioError::Refused(
                "the server rejected the charger".into(),
            ));
        }
    }

    for connector in 1..=profile.connectors {
        status(&mut charger, connector, ChargePointStatus::Available, log).await?;
    }
    let auth = charger.authorize(&plan.id_tag).await?;
    log_tag(log, "Authorize", &plan.id_tag, &auth.id_tag_info);
    accepted(&auth.id_tag_info)?;
    status(
        &mut charger,
        plan.connector,
        ChargePointStatus::Preparing,
        log,
    )
    .await?;

    let power_kw = plan.power_kw.unwrap_or(profile.power_kw).max(1);
    // Simulated time: the session lasts as long as the energy takes at that power and ends now,
    // so no timestamp lies in the future.
    let duration_s = (i64::from(plan.energy_wh) * 3600 / (i64::from(power_kw) * 1000)).max(1);
    let started = Utc::now() - TimeDelta::seconds(duration_s);
    let start = charger
        .start_transaction(plan.connector, &plan.id_tag, plan.meter_start_wh, started)
        .await?;
    log(format!(
        "StartTransaction (meterStart {} Wh) -> transactionId {}",
        plan.meter_start_wh, start.transaction_id
    ));
    log_tag(log, "StartTransaction", &plan.id_tag, &start.id_tag_info);
    if let Err(refused) = accepted(&start.id_tag_info) {
        status(
            &mut charger,
            plan.connector,
            ChargePointStatus::Available,
            log,
        )
        .await?;
        return Err(refused);
    }
    let tx = start.transaction_id;
    status(
        &mut charger,
        plan.connector,
        ChargePointStatus::Charging,
        log,
    )
    .await?;

    let samples = plan.samples.max(1);
    for i in 1..=samples {
        tokio::time::sleep(plan.meter_interval).await;
        // Integer steps that land exactly on meterStop with the last sample.
        let energy = i64::from(plan.meter_start_wh)
            + i64::from(energy_wh) * i64::from(i) / i64::from(samples);
        let at = started + TimeDelta::seconds(duration_s * i64::from(i) / i64::from(samples));
        let sample = Charger::sample(at, energy, power_kw * 1000);
        charger
            .meter_values(plan.connector, Some(tx), vec![sample])
            .await?;
        log(format!(
            "MeterValues {i}/{samples}: {energy} Wh at {power_kw} kW"
        ));
    }

    let stop = charger
        .stop_transaction(
            tx,
            meter_stop,
            Utc::now(),
            Some(Reason::Local),
            Some(&plan.id_tag),
        )
        .await?;
    log(format!(
        "StopTransaction (meterStop {meter_stop} Wh, {energy_wh} Wh charged) -> idTagInfo {:?}",
        stop.id_tag_info.as_ref().map(|i| &i.status)
    ));
    status(
        &mut charger,
        plan.connector,
        ChargePointStatus::Finishing,
        log,
    )
    .await?;
    status(
        &mut charger,
        plan.connector,
        ChargePointStatus::Available,
        log,
    )
    .await?;
    let _ = tokio::time::timeout(Duration::from_secs(2), charger.close()).await;
    log("session done".into());
    Ok(SessionOutcome {
        transaction_id: tx,
        meter_start_wh: plan.meter_start_wh,
        meter_stop_wh: meter_stop,
    })
}

async fn status(
    charger: &mut Charger,
    connector: u32,
    status: ChargePointStatus,
    log: &mut dyn FnMut(String),
) -> Result<(), SimError> {
    charger
        .status(connector, status.clone(), ChargePointErrorCode::NoError)
        .await?;
    log(format!(
        "StatusNotification connector {connector} {status:?} -> ok"
    ));
    Ok(())
}

fn log_tag(log: &mut dyn FnMut(String), step: &str, tag: &str, info: &IdTagInfo) {
    log(format!(
        "{step} {tag:?} -> idTagInfo status {:?}",
        info.status
    ));
}

fn accepted(info: &IdTagInfo) -> Result<(), ScenarioError> {
    match info.status {
        AuthorizationStatus::Accepted => Ok(()),
        ref other => Err(ScenarioError::Refused(format!(
            "id tag not accepted: {other:?}"
        ))),
    }
}
