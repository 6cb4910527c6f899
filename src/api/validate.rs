//! Checking request fields: each checker turns an optional raw value into a domain value or a
//! problem sentence, and [`validate!`](crate::validate) runs a list of them, reporting every
//! problem at once rather than the first.

use chrono::NaiveTime;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::domain::contact::{self, Email, Phone};
use crate::error::Problem;
use crate::fixed::Fixed;

/// The result of checking one field: the value, or what is wrong with it.
pub type Checked<T> = Result<T, String>;

/// A request field as read from JSON: its value, or why it could not be read as a `T`. Keeping
/// the problem instead of failing the whole body lets every bad field be reported at once.
#[derive(Debug, Clone)]
pub struct Field<T>(Checked<T>);

/// A field a client may leave out (absent and `null` are the same).
pub type In<T> = Option<Field<T>>;

/// A field holding `value`, as when an update starts from the stored record.
pub fn given<T>(value: T) -> In<T> {
    Some(Field(Ok(value)))
}

/// `given` for an optional stored value.
pub fn given_opt<T>(value: Option<T>) -> In<T> {
    value.map(|v| Field(Ok(v)))
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        Ok(Field(
            T::deserialize(value).map_err(|err| describe_type_error(&err.to_string())),
        ))
    }
}

impl<T: Serialize> Serialize for Field<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Ok(value) => value.serialize(serializer),
            Err(_) => serializer.serialize_none(),
        }
    }
}

/// serde's `invalid type: boolean `true`, expected a string` as a problem sentence.
pub fn describe_type_error(message: &str) -> String {
    match message.strip_prefix("invalid type: ") {
        Some(rest) => format!("has the wrong type: {rest}"),
        None => message.to_owned(),
    }
}

/// The field's value, if one was sent and could be read.
pub fn read<T>(value: In<T>) -> Checked<Option<T>> {
    value.map(|field| field.0).transpose()
}

/// Problems of one field, or of a nested list whose entries name their own paths.
pub trait IntoProblems {
    fn into_problems(self, field: &str) -> Vec<Problem>;
}

impl IntoProblems for String {
    fn into_problems(self, field: &str) -> Vec<Problem> {
        vec![Problem::new(field, self)]
    }
}

impl IntoProblems for Vec<Problem> {
    fn into_problems(self, _: &str) -> Vec<Problem> {
        self
    }
}

/// Checks every `field = check` and gives `Ok((values...))` when all pass, or a 422
/// [`ApiError`](crate::error::ApiError) listing the problems of all that failed.
///
/// The struct form `validate!(Fields { a = check_a, b = check_b; fixed: value })` builds
/// `Fields { a, b, fixed }` from the checked values instead of a tuple.
#[macro_export]
macro_rules! validate {
    ($ty:ident { $($field:ident = $check:expr),+ $(,)? $(; $($fixed:ident : $value:expr),+ $(,)?)? }) => {
        $crate::validate!($($field = $check),+).map(|($($field,)+)| $ty { $($field,)+ $($($fixed: $value,)+)? })
    };
    ($($field:ident = $check:expr),+ $(,)?) => {{
        let mut problems: Vec<$crate::error::Problem> = Vec::new();
        $(
            let $field = match $check {
                Ok(value) => Some(value),
                Err(problem) => {
                    problems.extend($crate::api::validate::IntoProblems::into_problems(problem, stringify!($field)));
                    None
                }
            };
        )+
        match ($($field,)+) {
            ($(Some($field),)+) => Ok(($($field,)+)),
            _ => Err($crate::error::ApiError::validation(problems)),
        }
    }};
}

/// The problem of a blank text field.
pub const BLANK: &str = "must not be blank: send null or leave the field out for none";

/// A value that must be present.
pub fn required<T>(checked: Checked<Option<T>>) -> Checked<T> {
    checked?.ok_or_else(|| "is required".to_owned())
}

/// Free text, trimmed, at most `max` characters, without control characters. A blank text (`""`
/// or spaces alone) is refused, as the API description says (`minLength`, a non-blank `pattern`):
/// `null`, or leaving the field out, is how a client says "none".
pub fn text(value: In<String>, max: usize) -> Checked<Option<String>> {
    let Some(value) = read(value)? else {
        return Ok(None);
    };
    let value = value.trim();
    if value.is_empty() {
        return Err(BLANK.to_owned());
    }
    if value.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err("must not contain control characters".to_owned());
    }
    Ok(Some(value.to_owned()))
}

/// An identifier used in URLs (`station_id`, `tariff_id`): letters, digits and `-_.:`.
pub fn code(value: In<String>, max: usize) -> Checked<Option<String>> {
    let Some(value) = text(value, max)? else {
        return Ok(None);
    };
    if value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
    {
        Ok(Some(value))
    } else {
        Err("may contain only letters, digits and - _ . :".to_owned())
    }
}

/// One of a closed set of strings, read by `parse` (an enum's `parse`).
pub fn choice<T>(
    value: In<String>,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Checked<Option<T>> {
    read(value)?.map(|v| parse(v.trim())).transpose()
}

/// An e-mail address ([`Email`]); blank means absent.
pub fn email(value: In<String>) -> Checked<Option<Email>> {
    let Some(value) = text(value, contact::EMAIL_MAX)? else {
        return Ok(None);
    };
    Email::parse(&value).map(Some).map_err(|e| e.to_string())
}

/// A phone number ([`Phone`]), kept as `+` and digits; blank means absent.
pub fn phone(value: In<String>) -> Checked<Option<Phone>> {
    let Some(value) = text(value, contact::PHONE_WRITTEN_MAX)? else {
        return Ok(None);
    };
    Phone::parse(&value).map(Some).map_err(|e| e.to_string())
}

/// A time of day, `HH:MM` or `HH:MM:SS`.
pub fn time_of_day(value: In<String>) -> Checked<Option<NaiveTime>> {
    let Some(value) = text(value, 8)? else {
        return Ok(None);
    };
    NaiveTime::parse_from_str(&value, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(&value, "%H:%M"))
        .map(Some)
        .map_err(|_| "must be a time of day, HH:MM or HH:MM:SS".to_owned())
}

/// A decimal within `min..=max`.
pub fn within<const S: u32>(value: In<Fixed<S>>, min: i64, max: i64) -> Checked<Option<Fixed<S>>> {
    match read(value)? {
        Some(v) if v.decimal() < min.into() || v.decimal() > max.into() => {
            Err(format!("must be between {min} and {max}"))
        }
        other => Ok(other),
    }
}

/// A decimal greater than zero and below `below`.
pub fn positive<const S: u32>(value: In<Fixed<S>>, below: i64) -> Checked<Option<Fixed<S>>> {
    match read(value)? {
        Some(v) if v.decimal() <= 0.into() => Err("must be greater than 0".to_owned()),
        Some(v) if v.decimal() >= below.into() => Err(format!("must be less than {below}")),
        other => Ok(other),
    }
}

/// A decimal zero or greater and below `below`.
pub fn non_negative<const S: u32>(value: In<Fixed<S>>, below: i64) -> Checked<Option<Fixed<S>>> {
    match read(value)? {
        Some(v) if v.is_negative() => Err("must not be negative".to_owned()),
        Some(v) if v.decimal() >= below.into() => Err(format!("must be less than {below}")),
        other => Ok(other),
    }
}

/// A whole number from `min` to `max`.
pub fn whole(value: In<i64>, min: i64, max: i64) -> Checked<Option<i64>> {
    match read(value)? {
        Some(n) if n < min || n > max => Err(format!("must be from {min} to {max}")),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_fields_are_parsed_into_domain_types() {
        assert_eq!(
            phone(given("+91 98765-43210".into())).map(|p| p.map(String::from)),
            Ok(Some("+919876543210".into()))
        );
        assert_eq!(phone(given("  ".into())), Err(BLANK.into()));
        assert!(phone(given("12345".into())).is_err());
        assert_eq!(
            email(given(" ops@evcms.example ".into())).map(|e| e.map(String::from)),
            Ok(Some("ops@evcms.example".into()))
        );
        assert_eq!(
            email(given("ops".into())),
            Err("must be an e-mail address such as name@example.com".into())
        );
    }

    #[test]
    fn text_is_trimmed_and_blank_is_refused() {
        assert_eq!(
            text(given("  Koramangala  ".into()), 20),
            Ok(Some("Koramangala".into()))
        );
        assert_eq!(text(given("   ".into()), 20), Err(BLANK.into()));
        assert_eq!(text(given(String::new()), 20), Err(BLANK.into()));
        assert_eq!(text(None, 20), Ok(None));
        assert!(text(given("x".repeat(21)), 20).is_err());
        assert_eq!(required(text(None, 20)), Err("is required".into()));
    }

    #[test]
    fn times_of_day_accept_minutes_or_seconds() {
        assert_eq!(
            time_of_day(given("08:30".into()))
                .unwrap()
                .unwrap()
                .to_string(),
            "08:30:00"
        );
        assert!(time_of_day(given("24:00".into())).is_err());
    }

    #[test]
    fn a_field_of_the_wrong_type_is_a_problem_of_that_field_only() {
        #[derive(serde::Deserialize)]
        struct Input {
            power: In<crate::fixed::Kilowatts>,
            name: In<String>,
        }
        let input: Input = serde_json::from_str(r#"{"power": true, "name": "AC-1"}"#).unwrap();
        assert!(
            positive(input.power, 1000)
                .unwrap_err()
                .starts_with("has the wrong type: boolean")
        );
        assert_eq!(text(input.name, 10), Ok(Some("AC-1".into())));
    }

    #[test]
    fn validate_reports_every_failing_field() {
        let result: Result<(String, String), _> = crate::validate!(
            name = required(text(None, 10)),
            city = required(text(given("x".repeat(11)), 10)),
        );
        let err = result.unwrap_err();
        assert_eq!(err.details.len(), 2);
        assert_eq!(err.details[1].field, "city");
    }
}
