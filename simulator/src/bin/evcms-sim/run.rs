//! `run`: one or more simulated stations stay connected and idle, answering every CSMS command
//! (and charging when started remotely), printing a line per command and per message, until
//! Ctrl-C closes them cleanly.

use std::process::ExitCode;
use std::sync::Arc;

use evcms_sim::station::{Station, StationOptions};
use tokio::task::JoinSet;

use crate::args::{Cli, RunArgs};

pub async fn run(cli: &Cli, args: &RunArgs) -> ExitCode {
    let mut starting = JoinSet::new();
    for n in 1..=args.chargers.max(1) {
        let id = if n == 1 {
            cli.id.clone()
        } else {
            format!("{}-{n}", cli.id)
        };
        let prefix = id.clone();
        let options = StationOptions {
            meter_interval: args.meter_interval,
            power_kw: args.power_kw,
            log: Some(Arc::new(move |line: &str| println!("[{prefix}] {line}"))),
            ..Default::default()
        };
        let cfg = cli.charger_config(&id);
        println!("[{id}] connecting to {} ...", cfg.endpoint());
        starting.spawn(async move { (id, Station::start(cfg, options).await) });
    }

    // Stations boot in the background (a Pending one keeps asking), so Ctrl-C works at any time.
    let mut stations = Vec::new();
    let mut failed = false;
    loop {
        tokio::select! {
            started = starting.join_next() => match started {
                Some(Ok((_, Ok(station)))) => stations.push(station),
                Some(Ok((id, Err(e)))) => {
                    eprintln!("[{id}] {e}");
                    failed = true;
                }
                Some(Err(e)) => {
                    eprintln!("a station task failed: {e}");
                    failed = true;
                }
                // All started (or failed): wait for Ctrl-C only.
                None => {
                    if stations.is_empty() {
                        return ExitCode::FAILURE;
                    }
                    let _ = tokio::signal::ctrl_c().await;
                    break;
                }
            },
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    starting.abort_all();
    for station in stations {
        station.shutdown().await;
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
