//! Every setting of evcms: its flag, environment variable and default (`evcms --help` lists them).

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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

    /// Address and port to listen on; the REST API, OCPP endpoint and admin UI share it.
    #[arg(long, env = "EVCMS_BIND", default_value = "0.0.0.0:8080")]
    pub bind: SocketAddr,

    /// Folder of the admin web UI, served at `/`.
    #[arg(long, env = "EVCMS_PUBLIC_DIR", default_value = "public")]
    pub public_dir: PathBuf,

    /// Largest request body accepted, in bytes; a larger one is answered 413.
    #[arg(long, env = "EVCMS_MAX_BODY_BYTES", default_value_t = 64 * 1024)]
    pub max_body_bytes: usize,

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
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

impl Config {
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
            .field("bind", &self.bind)
            .field("public_dir", &self.public_dir)
            .field("max_body_bytes", &self.max_body_bytes)
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
