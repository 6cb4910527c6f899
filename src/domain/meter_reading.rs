//! Meter readings as shown: the sampled values a charger sent in MeterValues (and in
//! StopTransaction's transaction data) for one charging session.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::fixed::Fixed;

/// A sampled value, exact to three decimals.
pub type SampledValue = Fixed<3>;

/// One sampled value of one measurand.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct MeterReading {
    pub id: i64,
    /// The charger that sent it.
    pub charge_point_id: String,
    /// The OCPP connector number it was measured at.
    pub connector_number: i32,
    /// When the charger sampled it.
    pub sampled_at: DateTime<Utc>,
    /// When evcms received it.
    pub received_at: DateTime<Utc>,
    /// The OCPP measurand, e.g. `Energy.Active.Import.Register`, `Power.Active.Import`.
    #[schema(example = "Energy.Active.Import.Register")]
    pub measurand: String,
    /// `L1`, `L2`, `L3`, `N`, `L1-N`, ...; null for the total.
    pub phase: Option<String>,
    /// Why it was sampled, e.g. `Sample.Periodic`, `Transaction.Begin`.
    pub context: Option<String>,
    /// `Outlet`, `Inlet`, `Body`, `Cable` or `EV`.
    pub location: Option<String>,
    /// The unit, e.g. `Wh`, `kWh`, `W`, `A`, `V`, `Percent`.
    pub unit: Option<String>,
    /// The value, a JSON number with three decimals.
    #[schema(value_type = f64, example = 1234.5)]
    pub value: SampledValue,
}
