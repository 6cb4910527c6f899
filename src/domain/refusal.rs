//! The business rules a change can be refused by, one variant each, worded once. Handlers return
//! a [`Refusal`]; [`ApiError`](crate::error::ApiError) turns it into its status and code in one
//! place (`impl From<Refusal> for ApiError`).

use crate::fixed::Money;

/// What happens to a tariff that live points still use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TariffChange {
    Deleted,
    Deactivated,
}

impl TariffChange {
    fn as_str(self) -> &'static str {
        match self {
            TariffChange::Deleted => "deleted",
            TariffChange::Deactivated => "deactivated",
        }
    }
}

/// A change the domain's rules refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No point may be left pricing with a deleted or inactive tariff.
    #[error(
        "the tariff is used by {points} charging point(s) and cannot be {}; assign them another tariff first",
        change.as_str()
    )]
    TariffInUse { points: i64, change: TariffChange },
    /// A tariff's `tariff_id` is its identity (the field's problem).
    #[error("cannot be changed; create a new tariff instead")]
    TariffIdFixed,
    /// A station is deleted only once no live point is left at it.
    #[error("the station has {points} charging point(s); delete or move them first")]
    StationHasPoints { points: i64 },
    /// A point is deleted only while nothing charges on it.
    #[error("the charging point has {sessions} active charging session(s); stop them first")]
    PointCharging { sessions: i64 },
    /// A connector is removed only while nothing charges on it.
    #[error("connector {connector_id} has an active charging session and cannot be removed")]
    ConnectorCharging { connector_id: String },
    /// A customer is deleted only while none of their sessions runs.
    #[error(
        "the customer has {sessions} active charging session(s) and cannot be deleted until they end"
    )]
    CustomerCharging { sessions: i64 },
    /// A manual debit never takes a wallet below zero.
    #[error("the wallet balance is {balance}, less than the debit of {debit}")]
    InsufficientBalance { balance: Money, debit: Money },
    /// A credit never takes a wallet above what the database holds (the `amount` field's problem).
    #[error("would take the wallet balance of {balance} above the maximum of {maximum}")]
    BalanceAboveMaximum { balance: Money, maximum: Money },
    /// A wallet takes each payment reference once per direction.
    #[error("this reference was already applied to the wallet")]
    ReferenceUsed,
    /// Someone must be left to administer evcms.
    #[error("this is the last active admin: make another user admin first")]
    LastActiveAdmin,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_say_what_to_do_instead() {
        let refusal = Refusal::TariffInUse {
            points: 2,
            change: TariffChange::Deactivated,
        };
        assert_eq!(
            refusal.to_string(),
            "the tariff is used by 2 charging point(s) and cannot be deactivated; assign them another tariff first"
        );
    }
}
