//! Charging sessions: one charge of one vehicle at one connector, as reported by the charger.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::enums::{CorrectionKind, Currency, SessionStatus, SettledBy};
use crate::fixed::{Fixed, Money, Percent};

/// Energy in kWh with three decimals: an exact count of Wh shown in kWh.
pub type KilowattHours = Fixed<3>;

/// A charging session as shown, with the names of its customer, point and connector.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Session {
    pub id: i64,
    /// The session's public identifier.
    pub session_id: String,
    pub customer_id: Option<i64>,
    pub customer_name: Option<String>,
    pub charging_point_id: i64,
    pub charging_point_name: String,
    /// The `station_id` of the point's station.
    pub station_id: String,
    /// The connector's record id.
    pub connector_id: Option<i64>,
    /// The connector's number on its point (`"1"`, `"2"`, `"3"`).
    pub connector_number: Option<String>,
    pub start_time: DateTime<Utc>,
    pub end_time: Option<DateTime<Utc>>,
    /// Energy delivered in Wh; null while unknown.
    pub energy_wh: Option<i64>,
    /// `energy_wh` in kWh with three decimals; null while unknown.
    #[sqlx(skip)]
    #[schema(value_type = Option<f64>, example = 12.345)]
    pub energy_consumed: Option<KilowattHours>,
    pub billed_amount: Option<Money>,
    pub status: SessionStatus,
    /// The OCPP transaction id.
    pub transaction_id: Option<i64>,
    /// The OCPP idTag that started the session.
    pub id_tag: Option<String>,
    pub meter_start_wh: Option<i64>,
    pub meter_stop_wh: Option<i64>,
    pub stop_reason: Option<String>,
    /// The idTag status StartTransaction was answered with (`Accepted`, `Blocked`, ...).
    pub id_tag_status: Option<String>,
    /// Something an operator should look at (a meter that went backwards, energy after a refused
    /// start, a wallet overdrawn by the bill); null when all went as expected.
    pub anomaly: Option<String>,
    /// The tariff in force when the session started, and its price then.
    pub tariff_id: Option<i64>,
    pub currency: Option<Currency>,
    pub base_charges: Option<Money>,
    pub tax: Option<Percent>,
    /// Who closed the session: `charger` (its StopTransaction), `new_transaction` (a new Start on
    /// its connector), `connector_available` or `charger_reboot` (closed provisionally when no
    /// Stop came), `operator`; null while Active.
    pub settled_by: Option<SettledBy>,
    pub settled_at: Option<DateTime<Utc>>,
    /// The operator who settled it (when `settled_by` is `operator`), and their reason.
    pub settled_by_user_id: Option<i64>,
    pub settle_note: Option<String>,
    /// When the balance guard asked the charger to stop the session (its wallet was running
    /// dry), and why.
    pub guard_stop_requested_at: Option<DateTime<Utc>>,
    pub guard_note: Option<String>,
    /// Set when the guard's stop was refused or could not reach the charger: an operator must
    /// stop the session.
    pub guard_flagged_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Session {
    /// Fills the fields derived from stored ones (`energy_consumed` from `energy_wh`).
    pub fn derive(mut self) -> Self {
        self.energy_consumed = self.energy_wh.map(KilowattHours::from_minor);
        self
    }
}

/// A session to record, as the charger reports it.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub session_id: String,
    pub customer_id: Option<i64>,
    pub charging_point_id: i64,
    /// The connector's record id.
    pub connector_id: Option<i64>,
    pub start_time: DateTime<Utc>,
    pub end_time: Option<DateTime<Utc>>,
    pub energy_wh: Option<i64>,
    pub billed_amount: Option<Money>,
    pub status: SessionStatus,
    pub transaction_id: Option<i64>,
    pub id_tag: Option<String>,
    pub meter_start_wh: Option<i64>,
    pub meter_stop_wh: Option<i64>,
    pub stop_reason: Option<String>,
    pub id_tag_status: Option<String>,
    pub anomaly: Option<String>,
    pub tariff_id: Option<i64>,
    pub currency: Option<Currency>,
    pub base_charges: Option<Money>,
    pub tax: Option<Percent>,
}

impl NewSession {
    /// An active session at `charging_point_id` that started at `start_time`, with nothing else known.
    pub fn started(
        session_id: impl Into<String>,
        charging_point_id: i64,
        start_time: DateTime<Utc>,
    ) -> Self {
        Self {
            session_id: session_id.into(),
            customer_id: None,
            charging_point_id,
            connector_id: None,
            start_time,
            end_time: None,
            energy_wh: None,
            billed_amount: None,
            status: SessionStatus::Active,
            transaction_id: None,
            id_tag: None,
            meter_start_wh: None,
            meter_stop_wh: None,
            stop_reason: None,
            id_tag_status: None,
            anomaly: None,
            tariff_id: None,
            currency: None,
            base_charges: None,
            tax: None,
        }
    }
}

/// An operator's correction of a settled session's bill: a wallet ledger entry referencing the
/// session (a Credit for a refund, a Debit for a charge), never an edit of the original debit.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct SessionCorrection {
    pub id: i64,
    /// The session's public identifier.
    pub session_id: String,
    pub kind: CorrectionKind,
    pub amount: Money,
    /// Why, in the operator's words.
    pub reason: String,
    /// The wallet ledger entry that moved the money, and the balance after it.
    pub wallet_transaction_id: i64,
    pub balance_after: Money,
    /// The operator's user id.
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
}
