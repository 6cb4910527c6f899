//! How the charger answers a server CALL, and the notice it gives once it has: tests (and the
//! simulated station) decide the answer synchronously in the reader task, then act on the
//! notice, so whatever the charger does next always follows its answer on the wire.

use std::sync::Arc;

use serde_json::Value;

/// The answer to one server CALL.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerAnswer {
    /// A CALLRESULT with this payload.
    Result(Value),
    /// A CALLERROR with this code (one of [`crate::ERROR_CODES_16`]) and description.
    Error { code: String, description: String },
    /// Never answer: for tests of the server's timeout.
    Ignore,
}

/// A server CALL and what the charger answered, sent after the answer left (for `Ignore`: once
/// it was decided).
#[derive(Debug, Clone, PartialEq)]
pub struct ServerCallEvent {
    pub id: String,
    pub action: String,
    pub payload: Value,
    pub answer: ServerAnswer,
}

/// A custom answerer: `Some(answer)` decides, `None` falls back to the responder, then to the
/// default confirmation.
pub type Answerer = Arc<dyn Fn(&str, &Value) -> Option<ServerAnswer> + Send + Sync>;
