//! `evcms-sim`: run one charging session, load-test a CSMS with thousands of chargers, or keep
//! simulated chargers connected that answer every CSMS command.
//!
//! What the tool reports is its product, so it prints to stdout; diagnostics go through
//! `tracing` (`RUST_LOG=evcms_sim=debug`).

mod args;
mod load;
mod respond;
mod run;
mod session;
mod stats;
mod storm;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match &cli.command {
        Command::Session(args) => session::run(&cli, args).await,
        Command::Load(args) => load::run(&cli, args).await,
        Command::Run(args) => run::run(&cli, args).await,
        Command::Storm(args) => storm::run(&cli, args).await,
        Command::Respond(args) => respond::run(args).await,
    }
}
