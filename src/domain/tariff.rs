//! Tariffs: the price of energy at the points they are assigned to.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::enums::{Currency, TariffStatus};
use crate::fixed::{Money, Percent};

/// A tariff as stored and shown.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Tariff {
    pub id: i64,
    /// The operator's code for the tariff, unique among live tariffs.
    pub tariff_id: String,
    pub tariff_name: String,
    pub currency: Currency,
    /// Price per kWh before tax.
    pub base_charges: Money,
    /// Tax in percent, added on top of the energy price.
    pub tax: Percent,
    pub status: TariffStatus,
    pub created_by: Option<String>,
    pub deleted: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A tariff's editable fields, validated.
#[derive(Debug, Clone)]
pub struct TariffFields {
    pub tariff_id: String,
    pub tariff_name: String,
    pub currency: Currency,
    pub base_charges: Money,
    pub tax: Percent,
    pub status: TariffStatus,
    pub created_by: Option<String>,
}
