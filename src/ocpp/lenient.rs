//! What real chargers send that the 1.6 schemas forbid but whose meaning is unambiguous: integers
//! written as strings or with a `.0`, timestamps without an offset, sampled values as numbers.
//! Such payloads are rewritten into their schema form before they are read, and each rewrite is
//! reported so the connection can log the charger's quirk once.

use chrono::NaiveDateTime;
use serde_json::{Map, Value};

/// Fields the 1.6 schemas type as integers.
const INTEGER_FIELDS: &[&str] = &[
    "connectorId",
    "meterStart",
    "meterStop",
    "transactionId",
    "reservationId",
];

/// Fields the 1.6 schemas type as date-times.
const TIMESTAMP_FIELDS: &[&str] = &["timestamp", "expiryDate"];

/// A rewrite made to a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quirk {
    IntegerAsString,
    IntegerWithFraction,
    TimestampWithoutOffset,
    SampledValueAsNumber,
    EmptyStringForAbsent,
}

impl Quirk {
    pub fn describe(self) -> &'static str {
        match self {
            Quirk::IntegerAsString => "sends integers as strings",
            Quirk::IntegerWithFraction => "sends integers with a fraction (1234.0)",
            Quirk::TimestampWithoutOffset => "sends timestamps without an offset (read as UTC)",
            Quirk::SampledValueAsNumber => "sends sampled values as numbers",
            Quirk::EmptyStringForAbsent => "sends empty strings for absent optional fields",
        }
    }
}

/// Rewrites `value` in place into its schema form; returns what it had to rewrite.
pub fn normalize(value: &mut Value) -> Vec<Quirk> {
    let mut quirks = Vec::new();
    walk(value, &mut quirks);
    quirks
}

fn walk(value: &mut Value, quirks: &mut Vec<Quirk>) {
    match value {
        Value::Object(map) => {
            // An empty string says "nothing" (a charger without a SIM sends `"iccid": ""`); a
            // required field left empty then reads as missing, which it is. A sampled value keeps
            // its (empty) value, so the one sample is skipped rather than the whole message.
            let before = map.len();
            map.retain(|key, field| key == "value" || field.as_str() != Some(""));
            if map.len() < before && !quirks.contains(&Quirk::EmptyStringForAbsent) {
                quirks.push(Quirk::EmptyStringForAbsent);
            }
            fix_fields(map, quirks);
            map.values_mut().for_each(|v| walk(v, quirks));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| walk(v, quirks)),
        _ => {}
    }
}

fn fix_fields(map: &mut Map<String, Value>, quirks: &mut Vec<Quirk>) {
    for (key, field) in map.iter_mut() {
        let fixed = if INTEGER_FIELDS.contains(&key.as_str()) {
            integer(field)
        } else if TIMESTAMP_FIELDS.contains(&key.as_str()) {
            timestamp(field)
        } else if key == "value" {
            sampled_value(field)
        } else {
            None
        };
        if let Some((replacement, quirk)) = fixed {
            *field = replacement;
            if !quirks.contains(&quirk) {
                quirks.push(quirk);
            }
        }
    }
}

fn integer(field: &Value) -> Option<(Value, Quirk)> {
    match field {
        Value::String(text) => {
            let n: i64 = text.trim().parse().ok()?;
            Some((Value::from(n), Quirk::IntegerAsString))
        }
        Value::Number(n) if !n.is_i64() && !n.is_u64() => {
            let f = n.as_f64()?;
            let whole = f.fract() == 0.0 && f.abs() < 9.0e15;
            whole.then(|| (Value::from(f as i64), Quirk::IntegerWithFraction))
        }
        _ => None,
    }
}

fn timestamp(field: &Value) -> Option<(Value, Quirk)> {
    let Value::String(text) = field else {
        return None;
    };
    if chrono::DateTime::parse_from_rfc3339(text).is_ok() {
        return None;
    }
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    let utc = naive
        .and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    Some((Value::String(utc), Quirk::TimestampWithoutOffset))
}

fn sampled_value(field: &Value) -> Option<(Value, Quirk)> {
    let Value::Number(n) = field else {
        return None;
    };
    Some((Value::String(n.to_string()), Quirk::SampledValueAsNumber))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn rewrites_unambiguous_quirks_and_reports_each_once() {
        let mut payload = json!({
            "connectorId": "1",
            "meterStart": 1234.0,
            "timestamp": "2026-11-24T08:00:00.5",
            "meterValue": [{"timestamp": "2026-11-24T08:00:00", "sampledValue": [{"value": 12.5}, {"value": 3}]}],
        });
        let quirks = normalize(&mut payload);
        assert_eq!(
            payload,
            json!({
                "connectorId": 1,
                "meterStart": 1234,
                "timestamp": "2026-11-24T08:00:00.500Z",
                "meterValue": [{"timestamp": "2026-11-24T08:00:00Z", "sampledValue": [{"value": "12.5"}, {"value": "3"}]}],
            })
        );
        assert_eq!(
            quirks,
            [
                Quirk::IntegerAsString,
                Quirk::IntegerWithFraction,
                Quirk::TimestampWithoutOffset,
                Quirk::SampledValueAsNumber
            ]
        );
    }

    #[test]
    fn empty_strings_are_absent_fields_except_sampled_values() {
        let mut payload = json!({"iccid": "", "imsi": "", "chargePointVendor": "EVRE",
            "sampledValue": [{"value": "", "unit": ""}]});
        assert_eq!(normalize(&mut payload), [Quirk::EmptyStringForAbsent]);
        assert_eq!(
            payload,
            json!({"chargePointVendor": "EVRE", "sampledValue": [{"value": ""}]})
        );
    }

    #[test]
    fn leaves_ambiguous_and_valid_values_alone() {
        let mut payload = json!({
            "meterStart": 12.5,
            "meterStop": "twelve",
            "timestamp": "2026-11-24T08:00:00+05:30",
            "connectorId": 2,
        });
        let before = payload.clone();
        assert!(normalize(&mut payload).is_empty());
        assert_eq!(payload, before);
    }
}
