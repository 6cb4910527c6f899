//! How to reach the server and who the charger is.

use std::time::Duration;

use crate::profile::Profile;

#[derive(Debug, Clone)]
pub struct ChargerConfig {
    /// Base URL such as `ws://127.0.0.1:8080/ocpp` (or `wss://` over TLS); the charge point id is appended,
    /// percent-encoded, as `/{id}`.
    pub url: String,
    /// Charge point id.
    pub id: String,
    pub profile: Profile,
    /// Subprotocols offered in the handshake (default `["ocpp1.6"]`). Empty offers none.
    pub subprotocols: Vec<String>,
    /// Security profile 1: HTTP Basic with user = id and this password.
    pub basic_auth_password: Option<String>,
    /// Validate every frame the server sends against the official OCPP 1.6 schemas.
    pub strict: bool,
    /// How long a CALL waits for its reply.
    pub call_timeout: Duration,
    /// Security profile 2 (`wss://`): a PEM certificate to trust besides the public web roots,
    /// e.g. a CSMS's self-signed one.
    pub tls_root_pem: Option<String>,
    /// How long the charger waits before answering each server CALL (default zero). The reader
    /// keeps reading meanwhile, so tests can see whether the server sends a second CALL before
    /// the first is answered.
    pub answer_delay: Duration,
}

impl ChargerConfig {
    pub fn new(url: impl Into<String>, id: impl Into<String>) -> Self {
        ChargerConfig {
            url: url.into(),
            id: id.into(),
            profile: Profile::massive_mobility(),
            subprotocols: vec!["ocpp1.6".to_string()],
            basic_auth_password: None,
            strict: true,
            call_timeout: Duration::from_secs(10),
            tls_root_pem: None,
            answer_delay: Duration::ZERO,
        }
    }

    /// The full endpoint: base URL plus the percent-encoded id.
    pub fn endpoint(&self) -> String {
        format!(
            "{}/{}",
            self.url.trim_end_matches('/'),
            percent_encode(&self.id)
        )
    }
}

/// Percent-encodes everything except RFC 3986 unreserved characters, so an id with spaces,
/// slashes or non-ASCII letters stays one path segment.
pub fn percent_encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
