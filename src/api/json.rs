//! Reading JSON request bodies with answers that say what is wrong: 415 for another content type,
//! 413 for a body over the limit, 400 for text that is not JSON, 422 naming the field whose value
//! has the wrong type.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ApiError, Problem};

/// A request body that must be a JSON object, kept as a `serde_json::Value` so an update can be
/// merged over the stored record before it is read into its input type.
pub struct JsonObject(pub serde_json::Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || mime.ends_with("+json")
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the request body must be JSON, sent with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "the request body is larger than the server accepts",
                )
            } else {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    rejection.body_text(),
                )
            }
        })?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            Ok(_) => Err(ApiError::field("body", "must be a JSON object")),
            Err(err) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("the request body is not valid JSON: {err}"),
            )),
        }
    }
}

/// Reads `value` into `T`, naming the field when a value has the wrong type (422).
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let message = err.into_inner().to_string();
        let (field, problem) = describe(&path, &message);
        ApiError::validation(vec![Problem::new(field, problem)])
    })
}

/// Turns serde's wording into a field and a problem: `unknown field `x`, expected ...` at the root
/// becomes field `x`, "is not a known field; expected ...".
fn describe(path: &str, message: &str) -> (String, String) {
    if let Some((name, expected)) = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split_once('`'))
    {
        // The path already ends in the unknown key, except at the root.
        let field = if path == "." || path.is_empty() {
            name.to_owned()
        } else {
            path.to_owned()
        };
        return (field, format!("is not a known field{expected}"));
    }
    let field = if path == "." || path.is_empty() {
        "body".to_owned()
    } else {
        path.to_owned()
    };
    (field, super::validate::describe_type_error(message))
}

/// An update's input: the stored record's input (`current`) with the fields of `changes` put over
/// it, read back as `I` so it is validated as a whole, exactly like a create.
pub fn apply_changes<I: Serialize + DeserializeOwned>(
    current: I,
    changes: serde_json::Map<String, Value>,
) -> Result<I, ApiError> {
    let current = serde_json::to_value(current).map_err(ApiError::internal)?;
    from_value(merge(current, changes))
}

/// Merges `patch` over `current` (JSON merge patch on the top level: a key in the patch replaces
/// the stored value; `null` clears it).
pub fn merge(mut current: Value, patch: serde_json::Map<String, Value>) -> Value {
    if let Value::Object(fields) = &mut current {
        fields.extend(patch);
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Input {
        name: Option<String>,
        items: Option<Vec<Item>>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        power: Option<crate::fixed::Kilowatts>,
    }

    #[test]
    fn names_the_nested_field_with_the_wrong_type() {
        let err =
            from_value::<Input>(serde_json::json!({"items": [{"power": 7.4}, {"power": true}]}))
                .unwrap_err();
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(err.details[0].field, "items[1].power");
    }

    #[test]
    fn names_an_unknown_field() {
        let err = from_value::<Input>(serde_json::json!({"nmae": "x"})).unwrap_err();
        assert_eq!(err.details[0].field, "nmae");
        assert!(
            err.details[0].problem.starts_with("is not a known field"),
            "{:?}",
            err.details
        );
    }

    #[test]
    fn merge_replaces_and_clears_top_level_fields() {
        let patch = serde_json::json!({"b": null, "c": 3});
        let merged = merge(
            serde_json::json!({"a": 1, "b": 2}),
            patch.as_object().unwrap().clone(),
        );
        assert_eq!(merged, serde_json::json!({"a": 1, "b": null, "c": 3}));
    }
}
