//! Exact fixed-point decimals: money, tax percentages, power and coordinates.
//!
//! `Fixed<SCALE>` holds a `rust_decimal::Decimal` with exactly `SCALE` fractional digits. It is the
//! one type through which such values cross every border:
//! - JSON: written as a plain number with exactly `SCALE` decimals (`18.50`), read from a JSON
//!   number or a numeric string, refusing more than `SCALE` decimals instead of rounding them away.
//! - PostgreSQL: `NUMERIC(p, SCALE)`, so the schema keeps the roadmap's DECIMAL columns.
//! - SQLite (which has no exact decimal type): an INTEGER count of `10^-SCALE` units (paise, cents).
//!
//! Both stores are exact and SQL arithmetic on them (`balance + $1 >= $2`) means the same in both,
//! which is what lets one query text serve the two databases.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Decode, Encode, Postgres, Sqlite, Type};

/// An exact decimal with exactly `SCALE` digits after the point.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Fixed<const SCALE: u32>(Decimal);

/// Money in a currency with two-digit minor units (INR paise, USD cents).
pub type Money = Fixed<2>;
/// A percentage with two decimals, e.g. a tax rate of `18.00`.
pub type Percent = Fixed<2>;
/// Power in kW with two decimals.
pub type Kilowatts = Fixed<2>;
/// A latitude or longitude in degrees, eight decimals (about a millimetre).
pub type Degrees = Fixed<8>;

/// Why a number is not a valid `Fixed<SCALE>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FixedError {
    #[error("must have at most {0} decimal places")]
    TooManyDecimals(u32),
    #[error("is too large")]
    TooLarge,
    #[error("must be a number")]
    NotANumber,
}

impl<const SCALE: u32> Fixed<SCALE> {
    pub const ZERO: Self = Self(Decimal::ZERO);

    /// Accepts `value` only when it needs no more than `SCALE` decimals and its count of minor
    /// units fits an i64 (the SQLite representation).
    pub fn new(value: Decimal) -> Result<Self, FixedError> {
        let normalized = value.normalize();
        if normalized.scale() > SCALE {
            return Err(FixedError::TooManyDecimals(SCALE));
        }
        let mut exact = normalized;
        exact.rescale(SCALE);
        if exact.mantissa() > i64::MAX as i128 || exact.mantissa() < -(i64::MAX as i128) {
            return Err(FixedError::TooLarge);
        }
        Ok(Self(exact))
    }

    /// The value from a count of minor units: `Money::from_minor(1850)` is 18.50.
    pub fn from_minor(units: i64) -> Self {
        Self(Decimal::new(units, SCALE))
    }

    /// The count of minor units: 18.50 gives 1850.
    pub fn to_minor(self) -> i64 {
        // `new` and `from_minor` guarantee the mantissa fits and the scale is exactly SCALE.
        self.0.mantissa() as i64
    }

    pub fn decimal(self) -> Decimal {
        self.0
    }

    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    /// Rounds any decimal to `SCALE` places, half away from zero (the rule for prices and taxes).
    pub fn round(value: Decimal) -> Result<Self, FixedError> {
        Self::new(
            value.round_dp_with_strategy(
                SCALE,
                rust_decimal::RoundingStrategy::MidpointAwayFromZero,
            ),
        )
    }
}

impl<const SCALE: u32> FromStr for Fixed<SCALE> {
    type Err = FixedError;
    fn from_str(s: &str) -> Result<Self, FixedError> {
        let s = s.trim();
        let value = Decimal::from_str_exact(s)
            .or_else(|_| Decimal::from_scientific(s))
            .map_err(|_| FixedError::NotANumber)?;
        Self::new(value)
    }
}

impl<const SCALE: u32> fmt::Display for Fixed<SCALE> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = if self.0.is_zero() {
            Decimal::new(0, SCALE)
        } else {
            self.0
        };
        write!(f, "{:.*}", SCALE as usize, value)
    }
}

impl<const SCALE: u32> fmt::Debug for Fixed<SCALE> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl<const SCALE: u32> Serialize for Fixed<SCALE> {
    /// A JSON number with exactly SCALE decimals (`18.50`, not `18.5` or `"18.50"`).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw = serde_json::value::RawValue::from_string(self.to_string())
            .map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

impl<'de, const SCALE: u32> Deserialize<'de> for Fixed<SCALE> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FixedVisitor::<SCALE>)
    }
}

struct FixedVisitor<const SCALE: u32>;

impl<'de, const SCALE: u32> Visitor<'de> for FixedVisitor<SCALE> {
    type Value = Fixed<SCALE>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a number with at most {SCALE} decimal places")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Fixed::new(Decimal::from(v)).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Fixed::new(Decimal::from(v)).map_err(E::custom)
    }

    /// serde_json hands non-integers over as f64. Rust prints an f64 as the shortest decimal that
    /// reads back to it, which for any literal of up to 15 significant digits is that literal, so
    /// `18.505` is seen as 18.505 (and refused for its third decimal), not as 18.504999….
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        if !v.is_finite() {
            return Err(E::custom(FixedError::NotANumber));
        }
        v.to_string().parse().map_err(E::custom)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        v.parse().map_err(E::custom)
    }

    /// With serde_json's `arbitrary_precision` feature (which rust-ocpp switches on through
    /// rust_decimal), a number arrives as a one-entry map holding its exact literal.
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? else {
            return Err(de::Error::custom(FixedError::NotANumber));
        };
        if key != ARBITRARY_PRECISION_NUMBER {
            return Err(de::Error::custom(FixedError::NotANumber));
        }
        let literal: std::borrow::Cow<'de, str> = map.next_value()?;
        literal.parse().map_err(de::Error::custom)
    }
}

/// The key serde_json's `arbitrary_precision` feature wraps a number's literal in.
const ARBITRARY_PRECISION_NUMBER: &str = "$serde_json::private::Number";

impl<const SCALE: u32> Type<Postgres> for Fixed<SCALE> {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <Decimal as Type<Postgres>>::type_info()
    }
}

impl<const SCALE: u32> Encode<'_, Postgres> for Fixed<SCALE> {
    fn encode_by_ref(
        &self,
        buf: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> Result<IsNull, BoxDynError> {
        <Decimal as Encode<Postgres>>::encode_by_ref(&self.0, buf)
    }
}

impl<'r, const SCALE: u32> Decode<'r, Postgres> for Fixed<SCALE> {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, BoxDynError> {
        let decimal = <Decimal as Decode<Postgres>>::decode(value)?;
        Ok(Self::round(decimal)?)
    }
}

impl<const SCALE: u32> Type<Sqlite> for Fixed<SCALE> {
    fn type_info() -> sqlx::sqlite::SqliteTypeInfo {
        <i64 as Type<Sqlite>>::type_info()
    }
}

impl<'q, const SCALE: u32> Encode<'q, Sqlite> for Fixed<SCALE> {
    fn encode_by_ref(
        &self,
        buf: &mut <Sqlite as sqlx::Database>::ArgumentBuffer,
    ) -> Result<IsNull, BoxDynError> {
        <i64 as Encode<'q, Sqlite>>::encode(self.to_minor(), buf)
    }
}

impl<'r, const SCALE: u32> Decode<'r, Sqlite> for Fixed<SCALE> {
    fn decode(value: sqlx::sqlite::SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Self::from_minor(<i64 as Decode<Sqlite>>::decode(value)?))
    }
}

impl<const SCALE: u32> utoipa::PartialSchema for Fixed<SCALE> {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        let step = 10f64.powi(-(SCALE as i32));
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::Number))
            .multiple_of(Some(step))
            .description(Some(format!(
                "Exact decimal with {SCALE} decimal places, written as a JSON number."
            )))
            .into()
    }
}

impl<const SCALE: u32> utoipa::ToSchema for Fixed<SCALE> {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Owned(format!("Decimal{SCALE}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(s: &str) -> Money {
        s.parse().unwrap()
    }

    #[test]
    fn writes_exactly_two_decimals_as_a_json_number() {
        assert_eq!(serde_json::to_string(&money("18.5")).unwrap(), "18.50");
        assert_eq!(serde_json::to_string(&money("0")).unwrap(), "0.00");
        assert_eq!(serde_json::to_string(&money("-0.00")).unwrap(), "0.00");
        assert_eq!(serde_json::to_string(&money("-3.1")).unwrap(), "-3.10");
    }

    #[test]
    fn reads_numbers_and_numeric_strings_exactly() {
        let read = |json: &str| serde_json::from_str::<Money>(json);
        assert_eq!(read("18.5").unwrap().to_minor(), 1850);
        assert_eq!(read("0.29").unwrap().to_minor(), 29);
        assert_eq!(read("12345678.99").unwrap().to_minor(), 1_234_567_899);
        assert_eq!(read("\"7.10\"").unwrap().to_minor(), 710);
        assert_eq!(read("100").unwrap().to_minor(), 10_000);
        assert_eq!(read("1e2").unwrap().to_minor(), 10_000);
    }

    #[test]
    fn refuses_more_decimals_than_the_scale_instead_of_rounding() {
        let err = serde_json::from_str::<Money>("18.505")
            .unwrap_err()
            .to_string();
        assert!(err.contains("at most 2 decimal places"), "{err}");
        assert!(serde_json::from_str::<Money>("\"abc\"").is_err());
        assert!(serde_json::from_str::<Money>("true").is_err());
        // Trailing zeros are not extra precision.
        assert_eq!(money("18.500000").to_minor(), 1850);
    }

    #[test]
    fn minor_units_round_trip_for_every_scale() {
        assert_eq!(Money::from_minor(-1).to_string(), "-0.01");
        let lat: Degrees = "12.97160000".parse().unwrap();
        assert_eq!(lat.to_minor(), 1_297_160_000);
        assert_eq!(Degrees::from_minor(lat.to_minor()), lat);
    }

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(
            Money::round(Decimal::new(12345, 3)).unwrap().to_string(),
            "12.35"
        );
        assert_eq!(
            Money::round(Decimal::new(-12345, 3)).unwrap().to_string(),
            "-12.35"
        );
        assert_eq!(
            Money::round(Decimal::new(12344, 3)).unwrap().to_string(),
            "12.34"
        );
    }

    #[test]
    fn refuses_values_whose_minor_units_overflow_i64() {
        let huge = Decimal::from_str_exact("99999999999999999999").unwrap();
        assert_eq!(Money::new(huge), Err(FixedError::TooLarge));
    }
}
