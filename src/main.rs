use std::process::ExitCode;

use clap::Parser;
use evcms::config::{Cli, Command, LogFormat};
use evcms::{App, Db};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.config.log_filter, cli.config.log_format);
    let config = cli.config;
    tracing::debug!(?config, "configuration");

    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => Db::connect(&config.database_url, 1)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Command::Serve => serve(&config).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("evcms: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: &evcms::Config) -> Result<(), String> {
    let app = App::build(config).await.map_err(|e| e.to_string())?;
    let addr = app.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(%addr, backend = ?app.db().backend(), "evcms is listening: admin UI at http://{addr}/, REST API under /api/cms, OCPP at ws://{addr}/ocpp/{{chargePointId}}");
    app.run(shutdown_signal())
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!("evcms stopped");
    Ok(())
}

fn init_logging(filter: &str, format: LogFormat) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
