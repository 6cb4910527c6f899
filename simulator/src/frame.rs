//! OCPP-J framing: `[2, id, action, payload]`, `[3, id, payload]`,
//! `[4, id, code, description, details]`. Parsing is strict about shape, because the point of the
//! simulator is to catch a server that bends the wire rules.

use serde_json::{Value, json};

/// The CALLERROR codes OCPP-J 1.6 defines (with the specification's own spelling of
/// "Occurence").
pub const ERROR_CODES_16: [&str; 10] = [
    "NotImplemented",
    "NotSupported",
    "InternalError",
    "ProtocolError",
    "SecurityError",
    "FormationViolation",
    "PropertyConstraintViolation",
    "OccurenceConstraintViolation",
    "TypeConstraintViolation",
    "GenericError",
];

/// Longest message id OCPP-J allows.
pub const MAX_ID_LEN: usize = 36;

/// One frame received from the server.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Call {
        id: String,
        action: String,
        payload: Value,
    },
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
}

/// Why a text frame is not a valid OCPP-J message. `id` is filled in when the frame got far
/// enough to name one, so a broken reply can still be matched to its CALL.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameError {
    pub id: Option<String>,
    pub errors: Vec<String>,
}

impl FrameError {
    fn new(id: Option<&str>, error: impl Into<String>) -> Self {
        FrameError {
            id: id.map(str::to_string),
            errors: vec![error.into()],
        }
    }
}

pub fn parse(text: &str) -> Result<Frame, FrameError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| FrameError::new(None, format!("frame is not JSON: {e}")))?;
    let Value::Array(items) = value else {
        return Err(FrameError::new(None, "frame is not a JSON array"));
    };
    let kind = items.first().and_then(Value::as_u64);
    let id = items.get(1).and_then(Value::as_str).map(str::to_string);
    let Some(id) = id else {
        return Err(FrameError::new(None, "message id missing or not a string"));
    };
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(FrameError::new(
            Some(&id),
            format!("message id must be 1..={MAX_ID_LEN} characters"),
        ));
    }
    match kind {
        Some(2) => parse_call(&id, items),
        Some(3) => parse_result(&id, items),
        Some(4) => parse_error(&id, items),
        _ => Err(FrameError::new(
            Some(&id),
            format!("unknown message type {:?}", items.first()),
        )),
    }
}

fn parse_call(id: &str, mut items: Vec<Value>) -> Result<Frame, FrameError> {
    if items.len() != 4 {
        return Err(FrameError::new(
            Some(id),
            format!("CALL must have 4 elements, has {}", items.len()),
        ));
    }
    let payload = items.pop().unwrap_or(Value::Null);
    let Some(action) = items[2].as_str() else {
        return Err(FrameError::new(Some(id), "CALL action is not a string"));
    };
    if !payload.is_object() {
        return Err(FrameError::new(Some(id), "CALL payload is not an object"));
    }
    Ok(Frame::Call {
        id: id.to_string(),
        action: action.to_string(),
        payload,
    })
}

fn parse_result(id: &str, mut items: Vec<Value>) -> Result<Frame, FrameError> {
    if items.len() != 3 {
        return Err(FrameError::new(
            Some(id),
            format!("CALLRESULT must have 3 elements, has {}", items.len()),
        ));
    }
    let payload = items.pop().unwrap_or(Value::Null);
    if !payload.is_object() {
        return Err(FrameError::new(
            Some(id),
            "CALLRESULT payload is not an object",
        ));
    }
    Ok(Frame::Result {
        id: id.to_string(),
        payload,
    })
}

fn parse_error(id: &str, mut items: Vec<Value>) -> Result<Frame, FrameError> {
    if items.len() != 5 {
        return Err(FrameError::new(
            Some(id),
            format!("CALLERROR must have 5 elements, has {}", items.len()),
        ));
    }
    let details = items.pop().unwrap_or(Value::Null);
    let mut errors = Vec::new();
    let code = items[2].as_str().unwrap_or_default().to_string();
    if !ERROR_CODES_16.contains(&code.as_str()) {
        errors.push(format!("{} is not an OCPP 1.6 error code", items[2]));
    }
    let description = match items[3].as_str() {
        Some(d) => d.to_string(),
        None => {
            errors.push("CALLERROR description is not a string".into());
            String::new()
        }
    };
    if !details.is_object() {
        errors.push("CALLERROR details is not an object".into());
    }
    if !errors.is_empty() {
        return Err(FrameError {
            id: Some(id.to_string()),
            errors,
        });
    }
    Ok(Frame::Error {
        id: id.to_string(),
        code,
        description,
        details,
    })
}

pub fn call(id: &str, action: &str, payload: &Value) -> String {
    json!([2, id, action, payload]).to_string()
}

pub fn result(id: &str, payload: &Value) -> String {
    json!([3, id, payload]).to_string()
}

pub fn error(id: &str, code: &str, description: &str) -> String {
    json!([4, id, code, description, {}]).to_string()
}

/// Reads the id and action of a CALL we are about to send as raw text, so its reply can still be
/// validated against the right schema. Anything else yields `None`.
pub fn outgoing_call(text: &str) -> Option<(String, String)> {
    let value: Value = serde_json::from_str(text).ok()?;
    let items = value.as_array()?;
    if items.first()?.as_u64()? != 2 {
        return None;
    }
    Some((
        items.get(1)?.as_str()?.into(),
        items.get(2)?.as_str()?.into(),
    ))
}
