//! Strict validation against the official OCPP 1.6 JSON schemas.
//!
//! The schemas are draft-04; the validators are compiled once per process (the load mode runs
//! thousands of chargers that share them). On top of the schema we reject numbers written as
//! floats (`300.0`, `3e2`) where the schema says `integer`: many JSON-schema libraries accept an
//! integral float as an integer, while strict charger firmware does not.

use std::collections::HashMap;
use std::sync::OnceLock;

use jsonschema::{Draft, Validator};
use serde_json::Value;

use crate::schema_files::SCHEMAS;

struct Compiled {
    schema: Value,
    validator: Validator,
}

fn compiled() -> &'static HashMap<&'static str, Compiled> {
    static COMPILED: OnceLock<HashMap<&'static str, Compiled>> = OnceLock::new();
    COMPILED.get_or_init(|| {
        SCHEMAS
            .iter()
            .map(|(name, text)| {
                // The files are fixed at compile time and covered by tests: failing here is a
                // build defect, not an input error.
                let schema: Value = serde_json::from_str(text)
                    .unwrap_or_else(|e| panic!("schema {name} is not JSON: {e}"));
                let validator = jsonschema::options()
                    .with_draft(Draft::Draft4)
                    .should_validate_formats(true)
                    .build(&schema)
                    .unwrap_or_else(|e| panic!("schema {name} does not compile: {e}"));
                (*name, Compiled { schema, validator })
            })
            .collect()
    })
}

/// Names of all schemas: `"BootNotification"`, `"BootNotificationResponse"`, ...
pub fn schema_names() -> impl Iterator<Item = &'static str> {
    SCHEMAS.iter().map(|(name, _)| *name)
}

/// Validates `payload` against the OCPP 1.6 schema `schema_name` (`"<Action>"` for a request,
/// `"<Action>Response"` for a confirmation). The errors name the offending location.
pub fn validate_ocpp16(schema_name: &str, payload: &Value) -> Result<(), Vec<String>> {
    let Some(compiled) = compiled().get(schema_name) else {
        return Err(vec![format!("no OCPP 1.6 schema named {schema_name:?}")]);
    };
    let mut errors: Vec<String> = compiled
        .validator
        .iter_errors(payload)
        .map(|e| format!("{}: {}", pointer_or_root(&e.instance_path().to_string()), e))
        .collect();
    integral_check(&compiled.schema, payload, "", &mut errors);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn pointer_or_root(pointer: &str) -> &str {
    if pointer.is_empty() { "/" } else { pointer }
}

/// Walks schema and instance together and reports numbers written as floats where the schema
/// asks for an integer. serde_json keeps `300.0` and `3e2` as f64 and `300` as an integer, so the
/// parsed value tells the written form apart.
fn integral_check(schema: &Value, instance: &Value, path: &str, errors: &mut Vec<String>) {
    if schema.get("type").and_then(Value::as_str) == Some("integer")
        && let Value::Number(n) = instance
        && n.is_f64()
    {
        errors.push(format!(
            "{}: {n} is written as a number with a fraction or exponent, the schema requires an integer",
            pointer_or_root(path)
        ));
    }
    match instance {
        Value::Object(map) => {
            let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
                return;
            };
            for (key, value) in map {
                if let Some(sub) = properties.get(key) {
                    integral_check(sub, value, &format!("{path}/{key}"), errors);
                }
            }
        }
        Value::Array(items) => {
            if let Some(sub) = schema.get("items") {
                for (i, value) in items.iter().enumerate() {
                    integral_check(sub, value, &format!("{path}/{i}"), errors);
                }
            }
        }
        _ => {}
    }
}
