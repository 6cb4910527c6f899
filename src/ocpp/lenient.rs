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

/// Fuzzing the normalizer: any JSON, and OCPP payloads with their fields swapped for values of
/// any kind, are rewritten without a panic, and a second pass finds nothing left to rewrite.
#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| json!(f)),
            ".{0,30}".prop_map(Value::from),
            "-?[0-9]{1,20}(\\.[0-9]{0,3})?".prop_map(Value::from),
            "[0-9]{4,6}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,12})?(Z|[+-][0-9]{2}:[0-9]{2})?"
                .prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            let key = prop_oneof![
                Just("connectorId".to_owned()),
                Just("meterStart".to_owned()),
                Just("transactionId".to_owned()),
                Just("timestamp".to_owned()),
                Just("expiryDate".to_owned()),
                Just("value".to_owned()),
                Just("sampledValue".to_owned()),
                Just("meterValue".to_owned()),
                ".{0,8}",
            ];
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::from),
                prop::collection::btree_map(key, inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// A StopTransaction payload with some fields replaced by arbitrary values.
    fn mutated_stop() -> impl Strategy<Value = Value> {
        let fields = [
            "idTag",
            "meterStop",
            "timestamp",
            "transactionId",
            "reason",
            "transactionData",
        ];
        prop::collection::vec((0..fields.len(), any_json()), 0..4).prop_map(move |edits| {
            let mut payload = json!({
                "idTag": "TAG-1", "meterStop": "12000", "timestamp": "2026-11-29T10:00:00",
                "transactionId": 7.0, "reason": "Local",
                "transactionData": [{"timestamp": "2026-11-29T10:00:00",
                    "sampledValue": [{"value": 12.5, "unit": "kWh"}]}],
            });
            for (field, value) in edits {
                payload[fields[field]] = value;
            }
            payload
        })
    }

    fn check(mut value: Value) -> Result<(), TestCaseError> {
        normalize(&mut value);
        let once = value.clone();
        prop_assert!(normalize(&mut value).is_empty(), "{once}");
        prop_assert_eq!(value, once);
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn any_json_is_normalized_once_and_for_all(value in any_json()) {
            check(value)?;
        }

        #[test]
        fn mutated_payloads_are_normalized_once_and_for_all(value in mutated_stop()) {
            check(value)?;
        }
    }
}
