//! OCPP-J framing: the JSON arrays `[2, id, action, payload]` (CALL), `[3, id, payload]`
//! (CALLRESULT) and `[4, id, code, description, details]` (CALLERROR).

use serde_json::Value;
use serde_json::value::RawValue;

/// The longest message id OCPP-J allows.
pub const MAX_MESSAGE_ID_LEN: usize = 36;

/// The message id used in a CALLERROR answering a frame whose own id could not be read.
pub const UNKNOWN_MESSAGE_ID: &str = "-1";

/// The OCPP 1.6 CALLERROR codes (the spec's spelling, including "Occurence").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    NotImplemented,
    NotSupported,
    InternalError,
    ProtocolError,
    SecurityError,
    FormationViolation,
    PropertyConstraintViolation,
    OccurenceConstraintViolation,
    TypeConstraintViolation,
    GenericError,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotImplemented => "NotImplemented",
            Self::NotSupported => "NotSupported",
            Self::InternalError => "InternalError",
            Self::ProtocolError => "ProtocolError",
            Self::SecurityError => "SecurityError",
            Self::FormationViolation => "FormationViolation",
            Self::PropertyConstraintViolation => "PropertyConstraintViolation",
            Self::OccurenceConstraintViolation => "OccurenceConstraintViolation",
            Self::TypeConstraintViolation => "TypeConstraintViolation",
            Self::GenericError => "GenericError",
        }
    }
}

/// A CALLERROR to send: its code and a description for the charger's logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallError {
    pub code: ErrorCode,
    pub description: String,
}

impl CallError {
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
        }
    }
}

/// One frame received from a charger.
#[derive(Debug)]
pub enum Incoming<'a> {
    Call {
        id: &'a str,
        action: &'a str,
        payload: &'a RawValue,
    },
    /// A CALLRESULT or CALLERROR answering one of our CALLs.
    Reply { id: &'a str },
    /// A message type number OCPP-J does not define: ignored, as the spec asks.
    UnknownType(i64),
}

/// A frame that is not valid OCPP-J, and the id to answer it with.
#[derive(Debug, PartialEq, Eq)]
pub struct BadFrame {
    pub id: String,
    pub error: CallError,
}

/// Reads one text frame without copying its payload.
pub fn parse(text: &str) -> Result<Incoming<'_>, BadFrame> {
    let elements: Vec<&RawValue> = serde_json::from_str(text).map_err(|e| BadFrame {
        id: UNKNOWN_MESSAGE_ID.to_owned(),
        error: CallError::new(
            ErrorCode::FormationViolation,
            format!("not a JSON array: {e}"),
        ),
    })?;
    let message_type = elements
        .first()
        .and_then(|raw| raw.get().parse::<i64>().ok());
    let id = elements.get(1).and_then(|raw| as_str(raw));
    let bad = |code, description: &str| BadFrame {
        id: id
            .filter(|id| id.len() <= MAX_MESSAGE_ID_LEN)
            .unwrap_or(UNKNOWN_MESSAGE_ID)
            .to_owned(),
        error: CallError::new(code, description),
    };
    let Some(message_type) = message_type else {
        return Err(bad(
            ErrorCode::FormationViolation,
            "the first element must be the message type number",
        ));
    };
    if !(2..=4).contains(&message_type) {
        return Ok(Incoming::UnknownType(message_type));
    }
    let Some(id) = id else {
        return Err(bad(
            ErrorCode::FormationViolation,
            "the second element must be the message id, a string",
        ));
    };
    if id.is_empty() || id.len() > MAX_MESSAGE_ID_LEN {
        return Err(bad(
            ErrorCode::FormationViolation,
            "the message id must be 1 to 36 characters",
        ));
    }
    if message_type != 2 {
        return Ok(Incoming::Reply { id });
    }
    match elements.len() {
        0..=3 => Err(bad(
            ErrorCode::ProtocolError,
            "a CALL has four elements: 2, message id, action, payload",
        )),
        4 => {
            let Some(action) = as_str(elements[2]) else {
                return Err(bad(
                    ErrorCode::FormationViolation,
                    "the action must be a string",
                ));
            };
            let payload = elements[3];
            if !payload.get().starts_with('{') {
                return Err(bad(
                    ErrorCode::FormationViolation,
                    "the payload must be a JSON object",
                ));
            }
            Ok(Incoming::Call {
                id,
                action,
                payload,
            })
        }
        _ => Err(bad(
            ErrorCode::FormationViolation,
            "a CALL has exactly four elements",
        )),
    }
}

/// A JSON string element without escapes, borrowed; ids and action names never need escapes.
fn as_str(raw: &RawValue) -> Option<&str> {
    let text = raw.get();
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains(['\\', '"'])).then_some(inner)
}

/// `[3, id, payload]`, with the payload already serialized.
pub fn call_result(id: &str, payload: &str) -> String {
    let mut out = String::with_capacity(payload.len() + id.len() + 8);
    out.push_str("[3,");
    push_json_string(&mut out, id);
    out.push(',');
    out.push_str(payload);
    out.push(']');
    out
}

/// `[4, id, code, description, {}]`: always five elements, details an (empty) object.
pub fn call_error(id: &str, error: &CallError) -> String {
    let mut out = String::with_capacity(error.description.len() + id.len() + 48);
    out.push_str("[4,");
    push_json_string(&mut out, id);
    out.push_str(",\"");
    out.push_str(error.code.as_str());
    out.push_str("\",");
    push_json_string(&mut out, &error.description);
    out.push_str(",{}]");
    out
}

fn push_json_string(out: &mut String, text: &str) {
    out.push_str(&Value::from(text).to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(text: &str) -> BadFrame {
        parse(text).expect_err("should be refused")
    }

    #[test]
    fn reads_a_call_without_copying_its_payload() {
        let Incoming::Call {
            id,
            action,
            payload,
        } = parse(r#"[2,"m1","Heartbeat",{}]"#).unwrap()
        else {
            panic!("not a call")
        };
        assert_eq!((id, action, payload.get()), ("m1", "Heartbeat", "{}"));
    }

    #[test]
    fn names_what_is_wrong_with_a_bad_frame() {
        let e = error_of("not json");
        assert_eq!(
            (e.id.as_str(), e.error.code),
            ("-1", ErrorCode::FormationViolation)
        );
        let e = error_of(r#"[2,"m2","Heartbeat"]"#);
        assert_eq!(
            (e.id.as_str(), e.error.code),
            ("m2", ErrorCode::ProtocolError)
        );
        let e = error_of(r#"[2,"m3","Heartbeat",{},1]"#);
        assert_eq!(
            (e.id.as_str(), e.error.code),
            ("m3", ErrorCode::FormationViolation)
        );
        let e = error_of(r#"[2,"m4","Heartbeat",[]]"#);
        assert_eq!(e.error.code, ErrorCode::FormationViolation);
        let e = error_of(r#"[2,7,"Heartbeat",{}]"#);
        assert_eq!(
            (e.id.as_str(), e.error.code),
            ("-1", ErrorCode::FormationViolation)
        );
        let long = "x".repeat(37);
        let e = error_of(&format!(r#"[2,"{long}","Heartbeat",{{}}]"#));
        assert_eq!(
            (e.id.as_str(), e.error.code),
            ("-1", ErrorCode::FormationViolation)
        );
        let e = error_of(r#"{"a":1}"#);
        assert_eq!(e.error.code, ErrorCode::FormationViolation);
    }

    #[test]
    fn ignores_unknown_message_types_and_passes_replies() {
        assert!(matches!(parse(r#"[9,"x"]"#), Ok(Incoming::UnknownType(9))));
        assert!(matches!(
            parse(r#"[3,"x",{}]"#),
            Ok(Incoming::Reply { id: "x" })
        ));
    }

    #[test]
    fn writes_five_element_call_errors_with_escaped_text() {
        let text = call_error(
            "a\"b",
            &CallError::new(ErrorCode::NotImplemented, "no \"Foo\""),
        );
        let parsed: Vec<Value> = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed.len(), 5);
        assert_eq!(parsed[1], "a\"b");
        assert_eq!(parsed[2], "NotImplemented");
        assert_eq!(parsed[4], serde_json::json!({}));
        assert_eq!(call_result("m", "{}"), r#"[3,"m",{}]"#);
    }
}
