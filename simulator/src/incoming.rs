//! What the server sends back, as the library hands it to its caller.

use serde_json::Value;

/// The answer to one of our CALLs.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Result(Value),
    Error {
        code: String,
        description: String,
        details: Value,
    },
}

/// A frame for [`crate::Charger::next_frame`]: a reply no CALL of ours was waiting for (for
/// instance one to a CALL sent with `send_text`), or the end of the connection.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    Result {
        id: String,
        payload: Value,
    },
    Error {
        id: String,
        code: String,
        description: String,
        details: Value,
    },
    Closed {
        code: Option<u16>,
        reason: String,
    },
}
