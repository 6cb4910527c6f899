//! Column types that need one Rust type but a different storage per database.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Decode, Encode, Postgres, Sqlite, Type};

use crate::domain::enums::Weekday;

/// A value stored as TEXT in both databases.
pub trait TextColumn: Sized {
    fn to_text(&self) -> String;
    fn from_text(text: &str) -> Result<Self, String>;
}

/// Implements sqlx's Type/Encode/Decode for a [`TextColumn`], for any database that stores text.
#[macro_export]
macro_rules! text_column_sqlx {
    ($name:ty) => {
        impl<DB: sqlx::Database> sqlx::Type<DB> for $name
        where
            str: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <str as sqlx::Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <str as sqlx::Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for $name
        where
            String: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as sqlx::Database>::ArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <String as sqlx::Encode<'q, DB>>::encode(
                    $crate::db::types::TextColumn::to_text(self),
                    buf,
                )
            }
        }

        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $name
        where
            &'r str: sqlx::Decode<'r, DB>,
        {
            fn decode(
                value: <DB as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&'r str as sqlx::Decode<'r, DB>>::decode(value)?;
                Ok(<$name as $crate::db::types::TextColumn>::from_text(text)?)
            }
        }
    };
}

/// The days a station is open, in week order without repeats. PostgreSQL keeps the roadmap's
/// `TEXT[]`; SQLite, which has no arrays, keeps the same days comma-separated.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[schema(value_type = Vec<Weekday>)]
pub struct WorkingDays(Vec<Weekday>);

impl WorkingDays {
    /// Sorts the days into week order and drops repeats.
    pub fn new(mut days: Vec<Weekday>) -> Self {
        days.sort_by_key(|day| Weekday::ALL.iter().position(|d| d == day));
        days.dedup();
        Self(days)
    }

    pub fn days(&self) -> &[Weekday] {
        &self.0
    }

    fn names(&self) -> Vec<String> {
        self.0.iter().map(|d| d.as_str().to_owned()).collect()
    }

    fn from_names<'a>(names: impl Iterator<Item = &'a str>) -> Result<Self, String> {
        names
            .filter(|n| !n.is_empty())
            .map(Weekday::parse)
            .collect::<Result<Vec<_>, _>>()
            .map(Self::new)
    }
}

impl Type<Postgres> for WorkingDays {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <Vec<String> as Type<Postgres>>::type_info()
    }
}

impl Encode<'_, Postgres> for WorkingDays {
    fn encode_by_ref(
        &self,
        buf: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> Result<IsNull, BoxDynError> {
        <Vec<String> as Encode<Postgres>>::encode(self.names(), buf)
    }
}

impl<'r> Decode<'r, Postgres> for WorkingDays {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, BoxDynError> {
        let names = <Vec<String> as Decode<Postgres>>::decode(value)?;
        Ok(Self::from_names(names.iter().map(String::as_str))?)
    }
}

impl Type<Sqlite> for WorkingDays {
    fn type_info() -> sqlx::sqlite::SqliteTypeInfo {
        <str as Type<Sqlite>>::type_info()
    }
}

impl<'q> Encode<'q, Sqlite> for WorkingDays {
    fn encode_by_ref(
        &self,
        buf: &mut <Sqlite as sqlx::Database>::ArgumentBuffer,
    ) -> Result<IsNull, BoxDynError> {
        <String as Encode<'q, Sqlite>>::encode(self.names().join(","), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for WorkingDays {
    fn decode(value: sqlx::sqlite::SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<Sqlite>>::decode(value)?;
        Ok(Self::from_names(text.split(','))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_week_order_without_repeats() {
        let days = WorkingDays::new(vec![
            Weekday::Friday,
            Weekday::Monday,
            Weekday::Friday,
            Weekday::Sunday,
        ]);
        assert_eq!(
            days.days(),
            &[Weekday::Sunday, Weekday::Monday, Weekday::Friday]
        );
        assert_eq!(
            WorkingDays::from_names("".split(',')).unwrap(),
            WorkingDays::default()
        );
    }
}
