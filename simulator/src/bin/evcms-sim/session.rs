//! `session`: one charging session, step by step, printing what the server answers.

use std::process::ExitCode;
use std::time::Duration;

use evcms_sim::scenario::{ScenarioError, SessionPlan, play_session};

use crate::args::{Cli, SessionArgs};

/// Exit codes: 0 done, 1 refused or failed, 2 the charger awaits adoption.
const FAILED: u8 = 1;
const PENDING: u8 = 2;

pub async fn run(cli: &Cli, args: &SessionArgs) -> ExitCode {
    let plan = SessionPlan {
        energy_wh: args.kwh,
        id_tag: args.id_tag.clone(),
        connector: args.connector,
        meter_start_wh: 1_000_000 + rand::random_range(0..1_000_000),
        meter_interval: if args.speedup {
            Duration::ZERO
        } else {
            args.meter_interval
        },
        samples: args.samples,
        power_kw: args.power_kw,
    };
    match play_session(cli.charger_config(&cli.id), &plan, &mut |line| {
        println!("{line}")
    })
    .await
    {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(match e {
                ScenarioError::AwaitingAdoption(_) => PENDING,
                _ => FAILED,
            })
        }
    }
}
