//! One charging session, step by step, printing what the server answers.

use std::process::ExitCode;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use evcms_sim::ocpp::types::{
    AuthorizationStatus, ChargePointErrorCode, ChargePointStatus, IdTagInfo, Reason,
    RegistrationStatus,
};
use evcms_sim::{Charger, SimError};

use crate::args::{Cli, SessionArgs};

/// Exit codes: 0 done, 1 refused or failed, 2 the charger awaits adoption.
const FAILED: u8 = 1;
const PENDING: u8 = 2;

pub async fn run(cli: &Cli, args: &SessionArgs) -> ExitCode {
    match session(cli, args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Stop(code, message)) => {
            eprintln!("{message}");
            ExitCode::from(code)
        }
    }
}

/// Why the session ended early: exit code and message.
struct Stop(u8, String);

impl From<SimError> for Stop {
    fn from(e: SimError) -> Self {
        Stop(FAILED, format!("error: {e}"))
    }
}

async fn session(cli: &Cli, args: &SessionArgs) -> Result<(), Stop> {
    let cfg = cli.charger_config(&cli.id);
    let profile = cfg.profile.clone();
    if args.connector == 0 || args.connector > profile.connectors {
        return Err(Stop(
            FAILED,
            format!(
                "connector must be 1..={} for this profile",
                profile.connectors
            ),
        ));
    }
    println!(
        "connecting {} as {} {} ...",
        cfg.endpoint(),
        profile.vendor,
        profile.model
    );
    let mut charger = Charger::connect(cfg).await?;

    let boot = charger.boot().await?;
    println!(
        "BootNotification -> {:?} (interval {} s)",
        boot.status, boot.interval
    );
    match boot.status {
        RegistrationStatus::Accepted => {}
        RegistrationStatus::Pending => {
            return Err(Stop(
                PENDING,
                format!(
                    "the charger is awaiting adoption by an operator: register {:?} as a \
                     charging point's device_id, then run again",
                    cli.id
                ),
            ));
        }
        RegistrationStatus::Rejected => {
            return Err(Stop(FAILED, "the server rejected the charger".into()));
        }
    }

    for connector in 1..=profile.connectors {
        status(&mut charger, connector, ChargePointStatus::Available).await?;
    }
    let auth = charger.authorize(&args.id_tag).await?;
    print_tag("Authorize", &args.id_tag, &auth.id_tag_info);
    accepted(&auth.id_tag_info)?;
    status(&mut charger, args.connector, ChargePointStatus::Preparing).await?;

    let energy_wh = i32::try_from(args.kwh).map_err(|_| Stop(FAILED, "too much energy".into()))?;
    let meter_start: i32 = 1_000_000 + rand::random_range(0..1_000_000);
    let power_kw = args.power_kw.unwrap_or(profile.power_kw).max(1);
    // Simulated time: the session lasts as long as the energy takes at that power and ends now,
    // so no timestamp lies in the future.
    let duration_s = i64::from(args.kwh) * 3600 / (i64::from(power_kw) * 1000);
    let started = Utc::now() - TimeDelta::seconds(duration_s.max(1));
    let start = charger
        .start_transaction(args.connector, &args.id_tag, meter_start, started)
        .await?;
    println!(
        "StartTransaction (meterStart {meter_start} Wh) -> transactionId {}",
        start.transaction_id
    );
    print_tag("StartTransaction", &args.id_tag, &start.id_tag_info);
    if let Err(stop) = accepted(&start.id_tag_info) {
        status(&mut charger, args.connector, ChargePointStatus::Available).await?;
        return Err(stop);
    }
    let tx = start.transaction_id;
    status(&mut charger, args.connector, ChargePointStatus::Charging).await?;

    let samples = args.samples.max(1);
    let meter_stop = meter_start + energy_wh;
    for i in 1..=samples {
        if !args.speedup {
            tokio::time::sleep(args.meter_interval).await;
        }
        // Integer steps that land exactly on meterStop with the last sample.
        let energy =
            i64::from(meter_start) + i64::from(energy_wh) * i64::from(i) / i64::from(samples);
        let at =
            started + TimeDelta::seconds(duration_s.max(1) * i64::from(i) / i64::from(samples));
        let sample = Charger::sample(at, energy, power_kw * 1000);
        charger
            .meter_values(args.connector, Some(tx), vec![sample])
            .await?;
        println!("MeterValues {i}/{samples}: {energy} Wh at {power_kw} kW");
    }

    let stop = charger
        .stop_transaction(
            tx,
            meter_stop,
            Utc::now(),
            Some(Reason::Local),
            Some(&args.id_tag),
        )
        .await?;
    println!(
        "StopTransaction (meterStop {meter_stop} Wh, {} Wh charged) -> idTagInfo {:?}",
        energy_wh,
        stop.id_tag_info.as_ref().map(|i| &i.status)
    );
    status(&mut charger, args.connector, ChargePointStatus::Finishing).await?;
    status(&mut charger, args.connector, ChargePointStatus::Available).await?;
    let _ = tokio::time::timeout(Duration::from_secs(2), charger.close()).await;
    println!("session done");
    Ok(())
}

async fn status(
    charger: &mut Charger,
    connector: u32,
    status: ChargePointStatus,
) -> Result<(), SimError> {
    charger
        .status(connector, status.clone(), ChargePointErrorCode::NoError)
        .await?;
    println!("StatusNotification connector {connector} {status:?} -> ok");
    Ok(())
}

fn print_tag(step: &str, tag: &str, info: &IdTagInfo) {
    println!("{step} {tag:?} -> idTagInfo status {:?}", info.status);
}

fn accepted(info: &IdTagInfo) -> Result<(), Stop> {
    match info.status {
        AuthorizationStatus::Accepted => Ok(()),
        ref other => Err(Stop(FAILED, format!("id tag not accepted: {other:?}"))),
    }
}
