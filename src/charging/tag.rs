//! Whether an idTag may charge.
//!
//! In order: an unknown tag, or one whose customer was deleted, is Invalid; a blocked tag is
//! Blocked; a tag past its expiry is Expired; a tag already charging elsewhere is ConcurrentTx; a
//! wallet below the configured minimum is LowBalance. Otherwise Accepted.

use chrono::{DateTime, Utc};

use super::ChargingError;
use crate::db::{self, Db};
use crate::fixed::Money;

/// The verdict on an idTag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagVerdict {
    Accepted,
    /// No such tag, or its customer was deleted.
    Invalid,
    Blocked,
    Expired,
    /// The tag is charging at another connector right now.
    ConcurrentTx,
    /// The wallet holds less than the minimum needed to start.
    LowBalance,
}

impl TagVerdict {
    pub fn is_accepted(self) -> bool {
        self == Self::Accepted
    }

    /// The status kept on a session (`id_tag_status`): the idTag status the charger was answered.
    /// OCPP 1.6 has no "insufficient funds", and Blocked is the status that tells a driver the tag
    /// may not charge now, so a low balance is recorded (and answered) as Blocked.
    pub fn recorded(self) -> &'static str {
        match self {
            Self::Accepted => "Accepted",
            Self::Invalid => "Invalid",
            Self::Blocked | Self::LowBalance => "Blocked",
            Self::Expired => "Expired",
            Self::ConcurrentTx => "ConcurrentTx",
        }
    }

    /// The verdict a session recorded (see [`TagVerdict::recorded`]).
    pub fn from_recorded(text: &str) -> Option<Self> {
        Some(match text {
            "Accepted" => Self::Accepted,
            "Invalid" => Self::Invalid,
            "Blocked" => Self::Blocked,
            "Expired" => Self::Expired,
            "ConcurrentTx" => Self::ConcurrentTx,
            _ => return None,
        })
    }
}

/// The customer an idTag charges to, as far as the tag rules need it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TagHolder {
    pub customer_id: i64,
    pub blocked: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub customer_deleted: bool,
    pub wallet_balance: Money,
    /// Sessions of this tag now Active anywhere.
    pub active_sessions: i64,
}

/// A verdict and the tag's expiry, which a charger may cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagStanding {
    pub verdict: TagVerdict,
    pub expires_at: Option<DateTime<Utc>>,
}

impl TagStanding {
    pub fn of(verdict: TagVerdict) -> Self {
        Self {
            verdict,
            expires_at: None,
        }
    }
}

/// The rules of the module, applied to the holder of a tag (None: no such tag) at `now`.
pub fn judge(holder: Option<&TagHolder>, now: DateTime<Utc>, min_balance: Money) -> TagStanding {
    let Some(holder) = holder else {
        return TagStanding::of(TagVerdict::Invalid);
    };
    let verdict = if holder.customer_deleted {
        TagVerdict::Invalid
    } else if holder.blocked {
        TagVerdict::Blocked
    } else if holder.expires_at.is_some_and(|at| at <= now) {
        TagVerdict::Expired
    } else if holder.active_sessions > 0 {
        TagVerdict::ConcurrentTx
    } else if holder.wallet_balance.decimal() < min_balance.decimal() {
        TagVerdict::LowBalance
    } else {
        TagVerdict::Accepted
    };
    TagStanding {
        verdict,
        expires_at: holder.expires_at,
    }
}

/// May `id_tag` start charging now (Authorize)?
pub async fn authorize(
    db: &Db,
    id_tag: &str,
    min_balance: Money,
) -> Result<TagStanding, ChargingError> {
    let holder = db::transactions::tag_holder(db, id_tag).await?;
    Ok(judge(holder.as_ref(), db::now(), min_balance))
}

/// The standing of a tag that ends a transaction: no balance is needed to stop, and the tag's own
/// session may be the one still marked active, which is no concurrent use.
pub async fn standing_at_stop(db: &Db, id_tag: &str) -> Result<TagStanding, ChargingError> {
    let mut standing = authorize(db, id_tag, Money::ZERO).await?;
    if standing.verdict == TagVerdict::ConcurrentTx {
        standing.verdict = TagVerdict::Accepted;
    }
    Ok(standing)
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn holder() -> TagHolder {
        TagHolder {
            customer_id: 1,
            blocked: false,
            expires_at: None,
            customer_deleted: false,
            wallet_balance: "50.00".parse().unwrap(),
            active_sessions: 0,
        }
    }

    fn verdict(h: Option<&TagHolder>) -> TagVerdict {
        judge(h, Utc::now(), "10.00".parse().unwrap()).verdict
    }

    #[test]
    fn each_rule_gives_its_verdict() {
        assert_eq!(verdict(None), TagVerdict::Invalid);
        assert_eq!(verdict(Some(&holder())), TagVerdict::Accepted);
        let h = TagHolder {
            customer_deleted: true,
            ..holder()
        };
        assert_eq!(verdict(Some(&h)), TagVerdict::Invalid);
        let h = TagHolder {
            blocked: true,
            ..holder()
        };
        assert_eq!(verdict(Some(&h)), TagVerdict::Blocked);
        let h = TagHolder {
            expires_at: Some(Utc::now() - Duration::seconds(1)),
            ..holder()
        };
        assert_eq!(verdict(Some(&h)), TagVerdict::Expired);
        let h = TagHolder {
            active_sessions: 1,
            ..holder()
        };
        assert_eq!(verdict(Some(&h)), TagVerdict::ConcurrentTx);
        let h = TagHolder {
            wallet_balance: "9.99".parse().unwrap(),
            ..holder()
        };
        assert_eq!(verdict(Some(&h)), TagVerdict::LowBalance);
        let h = TagHolder {
            wallet_balance: "10.00".parse().unwrap(),
            ..holder()
        };
        assert_eq!(verdict(Some(&h)), TagVerdict::Accepted);
    }

    #[test]
    fn the_first_rule_that_applies_wins() {
        // Blocked and expired and broke: Blocked is what the driver is told.
        let h = TagHolder {
            blocked: true,
            expires_at: Some(Utc::now() - Duration::seconds(1)),
            wallet_balance: Money::ZERO,
            ..holder()
        };
        assert_eq!(verdict(Some(&h)), TagVerdict::Blocked);
    }

    #[test]
    fn a_future_expiry_is_accepted_and_reported() {
        let expiry = Utc::now() + Duration::days(30);
        let h = TagHolder {
            expires_at: Some(expiry),
            ..holder()
        };
        let standing = judge(Some(&h), Utc::now(), Money::ZERO);
        assert_eq!(standing.verdict, TagVerdict::Accepted);
        assert_eq!(standing.expires_at, Some(expiry));
    }

    #[test]
    fn a_low_balance_is_recorded_as_blocked_and_read_back() {
        assert_eq!(TagVerdict::LowBalance.recorded(), "Blocked");
        for v in [
            TagVerdict::Accepted,
            TagVerdict::Invalid,
            TagVerdict::Blocked,
            TagVerdict::Expired,
            TagVerdict::ConcurrentTx,
        ] {
            assert_eq!(TagVerdict::from_recorded(v.recorded()), Some(v));
        }
        assert_eq!(TagVerdict::from_recorded("Nonsense"), None);
    }
}
