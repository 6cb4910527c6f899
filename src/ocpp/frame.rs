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
    Reply { id: &'a str, body: ReplyBody<'a> },
}

/// What a reply to one of our CALLs says.
#[derive(Debug, Clone)]
pub enum ReplyBody<'a> {
    /// `[3, id, payload]`: the payload, unparsed.
    Result(&'a RawValue),
    /// `[4, id, code, description, details]`.
    Error { code: String, description: String },
    /// A reply that is neither well-formed CALLRESULT nor CALLERROR: what is wrong with it.
    Malformed(&'static str),
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
            .filter(|id| !id.is_empty() && id.len() <= MAX_MESSAGE_ID_LEN)
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
        // A charger sending a type we do not know expects some answer; silence would leave it
        // waiting for its timeout. Its id, when readable, lets it match the CALLERROR.
        return Err(bad(
            ErrorCode::FormationViolation,
            &format!(
                "message type {message_type} is not 2 (CALL), 3 (CALLRESULT) or 4 (CALLERROR)"
            ),
        ));
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
        let body = if message_type == 3 {
            reply_result(&elements)
        } else {
            reply_error(&elements)
        };
        return Ok(Incoming::Reply { id, body });
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

/// The payload of `[3, id, payload]`.
fn reply_result<'a>(elements: &[&'a RawValue]) -> ReplyBody<'a> {
    match elements {
        [_, _, payload] if payload.get().starts_with('{') => ReplyBody::Result(payload),
        [_, _, _] => ReplyBody::Malformed("a CALLRESULT payload must be a JSON object"),
        _ => ReplyBody::Malformed("a CALLRESULT has exactly three elements"),
    }
}

/// The code and description of `[4, id, code, description, details]`; a charger that leaves out
/// the details (a common slip) is still understood.
fn reply_error(elements: &[&RawValue]) -> ReplyBody<'static> {
    let text = |raw: &RawValue| serde_json::from_str::<String>(raw.get()).ok();
    match elements {
        [_, _, code, description, ..] if elements.len() <= 5 => {
            match (text(code), text(description)) {
                (Some(code), Some(description)) => ReplyBody::Error { code, description },
                _ => ReplyBody::Malformed("a CALLERROR's code and description must be strings"),
            }
        }
        _ => ReplyBody::Malformed("a CALLERROR has five elements"),
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
    fn answers_unknown_message_types_with_a_call_error_naming_their_id() {
        for text in [
            r#"[9,"x",{}]"#,
            r#"[0,"x","Heartbeat",{}]"#,
            r#"[1,"x"]"#,
            r#"[5,"x",{}]"#,
            r#"[-2,"x","Heartbeat",{}]"#,
        ] {
            let e = error_of(text);
            assert_eq!(
                (e.id.as_str(), e.error.code),
                ("x", ErrorCode::FormationViolation),
                "{text}"
            );
            assert!(e.error.description.contains("message type"), "{text}");
        }
        // Without a readable id, the answer carries the id "-1".
        for text in [
            r#"[9]"#,
            r#"[9,7]"#,
            r#"[9,"has \" quote"]"#,
            r#"[null,""]"#,
        ] {
            assert_eq!(error_of(text).id, UNKNOWN_MESSAGE_ID, "{text}");
        }
    }

    #[test]
    fn reads_what_a_reply_says() {
        let Ok(Incoming::Reply { body, .. }) = parse(r#"[3,"x",{"status":"Accepted"}]"#) else {
            panic!("a reply")
        };
        assert!(matches!(body, ReplyBody::Result(p) if p.get() == r#"{"status":"Accepted"}"#));
        let Ok(Incoming::Reply { body, .. }) = parse(r#"[4,"x","NotSupported","no \"cache\"",{}]"#)
        else {
            panic!("a reply")
        };
        assert!(
            matches!(body, ReplyBody::Error { ref code, ref description } if code == "NotSupported" && description == "no \"cache\"")
        );
        // Details left out is still understood; a payload that is not an object is not.
        let Ok(Incoming::Reply { body, .. }) = parse(r#"[4,"x","GenericError","oops"]"#) else {
            panic!("a reply")
        };
        assert!(matches!(body, ReplyBody::Error { .. }));
        for text in [r#"[3,"x",[]]"#, r#"[3,"x"]"#, r#"[4,"x",1,2,{}]"#] {
            let Ok(Incoming::Reply { body, .. }) = parse(text) else {
                panic!("a reply: {text}")
            };
            assert!(matches!(body, ReplyBody::Malformed(_)), "{text}");
        }
    }

    #[test]
    fn passes_replies() {
        assert!(matches!(
            parse(r#"[3,"x",{}]"#),
            Ok(Incoming::Reply { id: "x", .. })
        ));
        assert!(matches!(
            parse(r#"[4,"x","GenericError","",{}]"#),
            Ok(Incoming::Reply { id: "x", .. })
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

/// Fuzzing the parser: whatever arrives, `parse` answers a value or a [`BadFrame`] and never
/// panics; a refused frame's answer is itself a well-formed five-element CALLERROR.
#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;

    /// Any JSON value, a few levels deep.
    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| json!(f)),
            ".{0,40}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                prop::collection::btree_map(".{0,8}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Frames shaped like OCPP-J, with each element possibly of the wrong kind.
    fn framelike() -> impl Strategy<Value = String> {
        let message_type = prop_oneof![
            (0i64..8).prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            Just(json!("2")),
            Just(json!(2.0)),
            any_json(),
        ];
        let id = prop_oneof![
            "[a-zA-Z0-9-]{0,40}".prop_map(Value::from),
            ".{0,40}".prop_map(Value::from),
            any_json(),
        ];
        let action = prop_oneof![
            "(Heartbeat|BootNotification|StatusNotification|[A-Za-z]{0,20})".prop_map(Value::from),
            any_json(),
        ];
        (
            message_type,
            id,
            action,
            any_json(),
            prop::collection::vec(any_json(), 0..3),
            0usize..6,
        )
            .prop_map(|(t, id, action, payload, extra, keep)| {
                let mut elements = vec![t, id, action, payload];
                elements.extend(extra);
                elements.truncate(keep.max(1) + 1);
                Value::from(elements).to_string()
            })
    }

    /// A valid CALL, then mutated byte by byte (flipped, cut, repeated).
    fn mutated() -> impl Strategy<Value = String> {
        let call = r#"[2,"m-1","MeterValues",{"connectorId":1,"meterValue":[{"timestamp":"2026-11-29T10:00:00Z","sampledValue":[{"value":"12.5"}]}]}]"#;
        (
            prop::collection::vec((0usize..call.len(), any::<u8>()), 0..8),
            0usize..=call.len(),
        )
            .prop_map(move |(edits, cut)| {
                let mut bytes = call.as_bytes()[..cut].to_vec();
                for (at, byte) in edits {
                    if at < bytes.len() {
                        bytes[at] = byte;
                    }
                }
                String::from_utf8_lossy(&bytes).into_owned()
            })
    }

    fn check(text: &str) -> Result<(), TestCaseError> {
        match parse(text) {
            Ok(Incoming::Call { id, payload, .. }) => {
                prop_assert!(!id.is_empty() && id.len() <= MAX_MESSAGE_ID_LEN);
                let payload = payload.get();
                prop_assert!(payload.starts_with('{'), "payload {}", payload);
            }
            Ok(Incoming::Reply { id, .. }) => prop_assert!(!id.is_empty()),
            Err(bad) => {
                prop_assert!(!bad.id.is_empty() && bad.id.len() <= MAX_MESSAGE_ID_LEN);
                let answer: Vec<Value> = serde_json::from_str(&call_error(&bad.id, &bad.error))
                    .expect("a CALLERROR is JSON");
                prop_assert_eq!(answer.len(), 5);
                prop_assert_eq!(&answer[0], &json!(4));
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn any_text_is_a_value_or_an_error(text in ".{0,200}") {
            check(&text)?;
        }

        #[test]
        fn any_json_is_a_value_or_an_error(value in any_json()) {
            check(&value.to_string())?;
        }

        #[test]
        fn framelike_arrays_are_a_value_or_an_error(text in framelike()) {
            check(&text)?;
        }

        #[test]
        fn mutated_calls_are_a_value_or_an_error(text in mutated()) {
            check(&text)?;
        }
    }
}
