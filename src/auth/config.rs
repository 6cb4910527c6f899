//! The security settings: tokens, the first admin account, CORS, TLS and charger authentication.
//! Flattened into [`Config`](crate::Config), so they are flags and environment variables like
//! every other setting.

use std::fmt;
use std::path::PathBuf;

use clap::Args;
use clap::builder::BoolishValueParser;

#[derive(Args, Clone)]
pub struct SecurityConfig {
    /// Secret that signs the API's tokens (HS256), at least 32 bytes. Without it, one is generated
    /// at the first start and kept in the database, so restarts log nobody out.
    #[arg(long, env = "EVCMS_JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<String>,

    /// How long an API token is valid, in seconds; `POST /api/auth/refresh` gives a fresh one.
    #[arg(long, env = "EVCMS_JWT_TTL", default_value_t = 3600)]
    pub jwt_ttl: u64,

    /// E-mail of the admin account created at the first start of a fresh database.
    #[arg(
        long,
        env = "EVCMS_ADMIN_EMAIL",
        default_value = "admin@evcms.local",
        global = true
    )]
    pub admin_email: String,

    /// Password of that first admin account; without it a random one is generated and printed
    /// once in the log.
    #[arg(
        long,
        env = "EVCMS_ADMIN_PASSWORD",
        hide_env_values = true,
        global = true
    )]
    pub admin_password: Option<String>,

    /// Origins allowed to call the API from a browser (CORS), comma-separated, e.g.
    /// `https://ops.example.com`; none (the default) turns CORS off.
    #[arg(long, env = "EVCMS_CORS_ORIGINS")]
    pub cors_origins: Option<String>,

    /// Reverse proxies (addresses or networks, comma-separated, e.g. `10.0.0.0/8,127.0.0.1`) whose
    /// `X-Forwarded-For` names the client, for login limits and logs; none by default.
    #[arg(long, env = "EVCMS_TRUSTED_PROXIES", value_parser = parse_proxies)]
    pub trusted_proxies: Option<Proxies>,

    /// PEM file of the TLS certificate chain. With --tls-key, evcms serves HTTPS and WSS (OCPP
    /// security profile 2) on its one port instead of plain HTTP.
    #[arg(long, env = "EVCMS_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM file of the TLS private key (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "EVCMS_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Whether chargers must authenticate (HTTP Basic with their AuthorizationKey, OCPP security
    /// profile 1/2) unless set otherwise per charger. Recommended: true.
    #[arg(long, env = "EVCMS_CHARGER_AUTH_DEFAULT", default_value = "false", value_parser = BoolishValueParser::new(), action = clap::ArgAction::Set)]
    pub charger_auth_default: bool,
}

/// The trusted reverse proxies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proxies(pub Vec<super::proxies::Network>);

fn parse_proxies(text: &str) -> Result<Proxies, String> {
    super::proxies::parse_list(text).map(Proxies)
}

impl SecurityConfig {
    /// The allowed CORS origins, trimmed, empty ones dropped.
    pub fn cors_origins(&self) -> Vec<String> {
        self.cors_origins
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

impl fmt::Debug for SecurityConfig {
    /// Never prints the secret or the password, only whether they are set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |v: &Option<String>| if v.is_some() { "set" } else { "unset" };
        f.debug_struct("SecurityConfig")
            .field("jwt_secret", &set(&self.jwt_secret))
            .field("jwt_ttl", &self.jwt_ttl)
            .field("admin_email", &self.admin_email)
            .field("admin_password", &set(&self.admin_password))
            .field("cors_origins", &self.cors_origins)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("tls_cert", &self.tls_cert)
            .field("tls_key", &self.tls_key)
            .field("charger_auth_default", &self.charger_auth_default)
            .finish()
    }
}
