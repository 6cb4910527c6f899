//! Whether an idTag may charge, and the `idTagInfo` that says so.
//!
//! In order: an unknown tag, or one whose customer was deleted, is Invalid; a blocked tag is
//! Blocked; a tag past its expiry is Expired; a tag already charging elsewhere is ConcurrentTx; a
//! wallet below the configured minimum is Blocked (OCPP 1.6 has no "insufficient funds" status, and
//! Blocked is the one that tells the driver the tag may not charge now). Otherwise Accepted.

use chrono::{DateTime, Utc};
use rust_ocpp::v1_6::types::{AuthorizationStatus, IdTagInfo};

use crate::db::transactions::TagHolder;
use crate::fixed::Money;

/// The verdict on an idTag held by `holder` (None: no such tag) at `now`.
pub fn judge(holder: Option<&TagHolder>, now: DateTime<Utc>, min_balance: Money) -> IdTagInfo {
    let Some(holder) = holder else {
        return info(AuthorizationStatus::Invalid, None);
    };
    let status = if holder.customer_deleted {
        AuthorizationStatus::Invalid
    } else if holder.blocked {
        AuthorizationStatus::Blocked
    } else if holder.expires_at.is_some_and(|at| at <= now) {
        AuthorizationStatus::Expired
    } else if holder.active_sessions > 0 {
        AuthorizationStatus::ConcurrentTx
    } else if holder.wallet_balance.decimal() < min_balance.decimal() {
        AuthorizationStatus::Blocked
    } else {
        AuthorizationStatus::Accepted
    };
    info(status, holder.expires_at)
}

/// An `idTagInfo` with `status`; the expiry only when there is one (absent, never null).
pub fn info(status: AuthorizationStatus, expiry_date: Option<DateTime<Utc>>) -> IdTagInfo {
    IdTagInfo {
        status,
        expiry_date,
        parent_id_tag: None,
    }
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

    fn status(h: Option<&TagHolder>) -> AuthorizationStatus {
        judge(h, Utc::now(), "10.00".parse().unwrap()).status
    }

    #[test]
    fn each_rule_gives_its_status() {
        assert_eq!(status(None), AuthorizationStatus::Invalid);
        assert_eq!(status(Some(&holder())), AuthorizationStatus::Accepted);
        let h = TagHolder {
            customer_deleted: true,
            ..holder()
        };
        assert_eq!(status(Some(&h)), AuthorizationStatus::Invalid);
        let h = TagHolder {
            blocked: true,
            ..holder()
        };
        assert_eq!(status(Some(&h)), AuthorizationStatus::Blocked);
        let h = TagHolder {
            expires_at: Some(Utc::now() - Duration::seconds(1)),
            ..holder()
        };
        assert_eq!(status(Some(&h)), AuthorizationStatus::Expired);
        let h = TagHolder {
            active_sessions: 1,
            ..holder()
        };
        assert_eq!(status(Some(&h)), AuthorizationStatus::ConcurrentTx);
        let h = TagHolder {
            wallet_balance: "9.99".parse().unwrap(),
            ..holder()
        };
        assert_eq!(status(Some(&h)), AuthorizationStatus::Blocked);
        let h = TagHolder {
            wallet_balance: "10.00".parse().unwrap(),
            ..holder()
        };
        assert_eq!(status(Some(&h)), AuthorizationStatus::Accepted);
    }

    #[test]
    fn a_future_expiry_is_accepted_and_reported() {
        let expiry = Utc::now() + Duration::days(30);
        let h = TagHolder {
            expires_at: Some(expiry),
            ..holder()
        };
        let verdict = judge(Some(&h), Utc::now(), Money::ZERO);
        assert_eq!(verdict.status, AuthorizationStatus::Accepted);
        assert_eq!(verdict.expiry_date, Some(expiry));
    }
}
