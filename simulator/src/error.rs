//! The one error type of the simulator: every failure a test may want to tell apart has its own
//! variant, so the server's tests can assert on the kind rather than on message text.

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The WebSocket upgrade failed: `status` is the HTTP status the server answered with (401,
    /// 404, ...), or `None` when the failure was not an HTTP answer (connection refused, the
    /// server did not agree to a subprotocol, ...).
    #[error("handshake failed (status {status:?}): {message}")]
    Handshake {
        status: Option<u16>,
        message: String,
    },

    /// The server answered our CALL with a well-formed CALLERROR.
    #[error("CALLERROR {code}: {description}")]
    CallError {
        code: String,
        description: String,
        details: Value,
    },

    /// Strict mode: a frame from the server broke the OCPP 1.6 schema or framing rules.
    #[error("{action}: schema violation: {}", errors.join("; "))]
    SchemaViolation { action: String, errors: Vec<String> },

    /// No answer within the configured (or given) time.
    #[error("timed out waiting for {0}")]
    Timeout(String),

    /// The connection is closed (by the server, or lost).
    #[error("connection closed (code {code:?}): {reason}")]
    Closed { code: Option<u16>, reason: String },

    /// A reply that is valid JSON but does not fit the expected type (non-strict mode).
    #[error("{action}: cannot decode the reply: {message}")]
    Decode { action: String, message: String },

    /// Reading or writing the socket failed.
    #[error("transport error: {0}")]
    Transport(String),

    /// The simulated station refused or could not do what was asked (busy connector, a tag
    /// not accepted, a rejected boot).
    #[error("refused: {0}")]
    Refused(String),

    /// The configuration cannot be used (bad URL, unsupported scheme, ...).
    #[error("configuration error: {0}")]
    Config(String),
}
