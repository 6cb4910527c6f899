//! Every setting of evcms: its flag, environment variable and default (`evcms --help` lists them).

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::fixed::Money;

/// evcms: an OCPP 1.6-J charge-point management system.
#[derive(Parser, Debug)]
#[command(name = "evcms", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Run the server (the default): REST API, OCPP endpoint and admin UI on one port.
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
    /// Manage operator accounts without the API.
    User {
        #[command(subcommand)]
        action: crate::auth::cli::UserCommand,
    },
}

#[derive(Args, Clone)]
pub struct Config {
    /// Database: `sqlite://FILE?mode=rwc` (embedded, created if missing) or `postgres://USER:PASSWORD@HOST/DB`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://evcms.db?mode=rwc",
        global = true
    )]
    pub database_url: String,

    /// Most connections the database pool opens.
    #[arg(
        long,
        env = "EVCMS_DB_MAX_CONNECTIONS",
        default_value_t = 8,
        global = true
    )]
    pub db_max_connections: u32,

    /// PostgreSQL: how many of the pool's connections write the chargers' messages, each a
    /// group-commit loop of its own (SQLite has one writer). Capped at half the pool, so that REST
    /// requests keep connections during a storm.
    #[arg(long, env = "EVCMS_DB_WRITER_LANES", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64), global = true)]
    pub db_writer_lanes: u32,

    /// Seconds a request waits for a database connection before it is answered 503
    /// `database_unavailable` (and a charger's message a CALLERROR it retries): during an outage,
    /// callers learn it quickly instead of hanging.
    #[arg(long, env = "EVCMS_DB_ACQUIRE_TIMEOUT", default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=300), global = true)]
    pub db_acquire_timeout: u64,

    /// Address and port to listen on; the REST API, OCPP endpoint and admin UI share it.
    #[arg(long, env = "EVCMS_BIND", default_value = "0.0.0.0:8080")]
    pub bind: SocketAddr,

    /// Folder of the admin web UI, served at `/`.
    #[arg(long, env = "EVCMS_PUBLIC_DIR", default_value = "public")]
    pub public_dir: PathBuf,

    /// Largest request body accepted, in bytes; a larger one is answered 413.
    #[arg(long, env = "EVCMS_MAX_BODY_BYTES", default_value_t = 64 * 1024)]
    pub max_body_bytes: usize,

    /// Seconds between the Heartbeats an accepted charger is asked for (BootNotification interval).
    #[arg(long, env = "EVCMS_OCPP_HEARTBEAT_INTERVAL", default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..=86_400))]
    pub ocpp_heartbeat_interval: u32,

    /// How a BootNotification from a charger that no charging point has adopted (by its
    /// `device_id`) is answered: `pending` lists it for an operator to adopt, `rejected` turns it away.
    #[arg(long, env = "EVCMS_OCPP_UNKNOWN_CHARGERS", value_enum, default_value_t = UnknownChargers::Pending)]
    pub ocpp_unknown_chargers: UnknownChargers,

    /// The wallet balance a customer needs to start charging (Authorize, StartTransaction).
    #[arg(long, env = "EVCMS_OCPP_MIN_BALANCE", default_value = "1.00")]
    pub ocpp_min_balance: Money,

    /// Largest OCPP message accepted, in bytes; a charger sending a larger one is disconnected
    /// with close code 1009.
    #[arg(long, env = "EVCMS_OCPP_MAX_FRAME_BYTES", default_value_t = 64 * 1024, value_parser = clap::value_parser!(u32).range(1024..=16_777_216))]
    pub ocpp_max_frame_bytes: u32,

    /// Seconds between WebSocket pings to each charger; one that stays silent for two intervals
    /// is disconnected. 0 turns pings off.
    #[arg(long, env = "EVCMS_OCPP_PING_INTERVAL", default_value_t = 60)]
    pub ocpp_ping_interval: u64,

    /// Seconds evcms waits for a charger's answer to a command it sent (a remote start, a reset...);
    /// then the command is recorded as timed out and the API answers 504.
    #[arg(long, env = "EVCMS_OCPP_CALL_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub ocpp_call_timeout: u64,

    /// Whether evcms stops a running session by itself (RemoteStopTransaction) when its running
    /// cost would take the customer's wallet below zero plus the margin.
    #[arg(long, env = "EVCMS_BALANCE_GUARD", default_value = "true", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::Set)]
    pub balance_guard: bool,

    /// The headroom the balance guard keeps: a session is stopped once the wallet balance minus its
    /// running cost is below this amount, leaving room for the energy delivered before the charger
    /// actually stops.
    #[arg(long, env = "EVCMS_BALANCE_GUARD_MARGIN", default_value = "0.50")]
    pub balance_guard_margin: Money,

    /// The address chargers reach evcms's HTTP side at (`http://host:port`), used in the firmware
    /// and diagnostics locations evcms puts in UpdateFirmware and GetDiagnostics. Without it, the
    /// Host of the operator's request is used.
    #[arg(long, env = "EVCMS_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Seconds a session may stay open after its connector reported Available, or its charger
    /// rebooted, with no StopTransaction: then it is closed provisionally, billed up to its last
    /// meter reading and flagged (a Stop that still comes bills the difference). 0: never.
    #[arg(long, env = "EVCMS_SESSION_CLOSE_GRACE", default_value_t = 600)]
    pub session_close_grace: u64,

    /// Seconds a running session may go without a meter value before it is flagged for an
    /// operator. 0: never.
    #[arg(long, env = "EVCMS_SESSION_METER_SILENCE", default_value_t = 3600)]
    pub session_meter_silence: u64,

    /// Where uploaded files (station images) are kept: `file://FOLDER` on the local disk, or
    /// `s3://BUCKET[/PREFIX]` with the usual AWS_* variables (AWS_ENDPOINT_URL for MinIO and other
    /// S3-compatible stores).
    #[arg(
        long,
        env = "EVCMS_STORAGE_URL",
        default_value = "file://./evcms-files"
    )]
    pub storage_url: String,

    /// Largest image upload in bytes; a larger one gets 413.
    #[arg(long, env = "EVCMS_MAX_IMAGE_BYTES", default_value_t = 5 * 1024 * 1024)]
    pub max_image_bytes: u64,

    /// Largest image in pixels (width × height); a larger one is refused before it is decoded.
    #[arg(long, env = "EVCMS_MAX_IMAGE_PIXELS", default_value_t = 40_000_000)]
    pub max_image_pixels: u64,

    /// Seconds a deleted image's files are kept before the sweep removes them from the store.
    #[arg(long, env = "EVCMS_IMAGE_PURGE_AFTER", default_value_t = 86_400)]
    pub image_purge_after: u64,

    /// Days the OCPP message log keeps every frame in and out of each charger. 0 turns it off.
    #[arg(long, env = "EVCMS_MESSAGE_LOG_DAYS", default_value_t = 7)]
    pub message_log_days: u32,

    /// Whether the OCPP message log also keeps Heartbeats (the commonest and least telling frame).
    #[arg(long, env = "EVCMS_MESSAGE_LOG_HEARTBEATS", default_value = "false", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::Set)]
    pub message_log_heartbeats: bool,

    /// How many events a subscriber of the live event stream (`GET /api/cms/events`) may fall
    /// behind before it is told to resync (refetch) instead of holding anything up.
    #[arg(long, env = "EVCMS_EVENTS_BUFFER", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub events_buffer: u64,

    /// This node's name among several evcms nodes on one PostgreSQL (letters, digits, `-`, `_`,
    /// `.`; at most 64). By default `{host name}-{port}`. It must be stable across restarts (a
    /// restarted node clears what it held before) and never shared by two running nodes.
    #[arg(long, env = "EVCMS_NODE_ID", value_parser = parse_node_id)]
    pub node_id: Option<String>,

    /// Seconds between a node's heartbeats in PostgreSQL (several nodes).
    #[arg(long, env = "EVCMS_NODE_HEARTBEAT", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub node_heartbeat: u64,

    /// Seconds without a heartbeat after which a node is presumed dead and the other nodes mark
    /// its chargers disconnected (several nodes). At least twice the heartbeat.
    #[arg(long, env = "EVCMS_NODE_TIMEOUT", default_value_t = 20, value_parser = clap::value_parser!(u64).range(2..=3600))]
    pub node_timeout: u64,

    /// Serve Prometheus metrics (`GET /metrics`) on this address only, off the public port; without
    /// it they are at `/metrics` on the main port.
    #[arg(long, env = "EVCMS_METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,

    /// Log filter in tracing's EnvFilter syntax, e.g. `info` or `evcms=debug,tower_http=debug`.
    #[arg(long = "log", env = "RUST_LOG", default_value = "info", global = true)]
    pub log_filter: String,

    /// Log line format.
    #[arg(long, env = "EVCMS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// Tokens, the first admin, CORS, TLS and charger authentication.
    #[command(flatten)]
    pub security: crate::auth::config::SecurityConfig,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownChargers {
    /// Answer Pending and list the charger for adoption.
    Pending,
    /// Answer Rejected.
    Rejected,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

impl Config {
    /// The database pools' settings.
    pub fn pool_settings(&self) -> crate::db::PoolSettings {
        crate::db::PoolSettings {
            max_connections: self.db_max_connections,
            acquire_timeout: std::time::Duration::from_secs(self.db_acquire_timeout),
        }
    }

    /// The settings a test or an embedding program starts from: the defaults, on `database_url`.
    pub fn for_database(database_url: impl Into<String>) -> Self {
        let mut config = Cli::parse_from(["evcms"]).config;
        config.database_url = database_url.into();
        config
    }
}

impl fmt::Debug for Config {
    /// Never prints the database password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact_url_password(&self.database_url))
            .field("db_max_connections", &self.db_max_connections)
            .field("db_writer_lanes", &self.db_writer_lanes)
            .field("db_acquire_timeout", &self.db_acquire_timeout)
            .field("bind", &self.bind)
            .field("public_dir", &self.public_dir)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("ocpp_heartbeat_interval", &self.ocpp_heartbeat_interval)
            .field("ocpp_unknown_chargers", &self.ocpp_unknown_chargers)
            .field("ocpp_min_balance", &self.ocpp_min_balance)
            .field("ocpp_max_frame_bytes", &self.ocpp_max_frame_bytes)
            .field("ocpp_ping_interval", &self.ocpp_ping_interval)
            .field("ocpp_call_timeout", &self.ocpp_call_timeout)
            .field("balance_guard", &self.balance_guard)
            .field("balance_guard_margin", &self.balance_guard_margin)
            .field("public_url", &self.public_url)
            .field("session_close_grace", &self.session_close_grace)
            .field("session_meter_silence", &self.session_meter_silence)
            .field("storage_url", &self.storage_url)
            .field("max_image_bytes", &self.max_image_bytes)
            .field("max_image_pixels", &self.max_image_pixels)
            .field("image_purge_after", &self.image_purge_after)
            .field("message_log_days", &self.message_log_days)
            .field("message_log_heartbeats", &self.message_log_heartbeats)
            .field("events_buffer", &self.events_buffer)
            .field("node_id", &self.node_id)
            .field("node_heartbeat", &self.node_heartbeat)
            .field("node_timeout", &self.node_timeout)
            .field("metrics_bind", &self.metrics_bind)
            .field("log_filter", &self.log_filter)
            .field("log_format", &self.log_format)
            .field("security", &self.security)
            .finish()
    }
}

/// `postgres://user:secret@host/db` becomes `postgres://user:***@host/db`.
pub fn redact_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((credentials, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// A node id: what a PostgreSQL notification and a log line can carry as is.
fn parse_node_id(value: &str) -> Result<String, String> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(value.to_owned())
    } else {
        Err("1 to 64 letters, digits, '-', '_' or '.'".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_only_the_password() {
        assert_eq!(
            redact_url_password("postgres://evcms:s3cr:et@db:5432/evcms"),
            "postgres://evcms:***@db:5432/evcms"
        );
        assert_eq!(
            redact_url_password("postgres://evcms@db/evcms"),
            "postgres://evcms@db/evcms"
        );
        assert_eq!(
            redact_url_password("sqlite://evcms.db?mode=rwc"),
            "sqlite://evcms.db?mode=rwc"
        );
    }

    #[test]
    fn defaults_need_no_setup() {
        let config = Cli::parse_from(["evcms"]).config;
        assert_eq!(config.database_url, "sqlite://evcms.db?mode=rwc");
        assert_eq!(config.bind.to_string(), "0.0.0.0:8080");
    }
}
