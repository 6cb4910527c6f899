//! What an operator may do to a session, recorded with who and why:
//!
//! - **settle a stuck session** whose charger is gone: billed once by the same rule as a charger's
//!   Stop, up to the meter reading given or the last one received, and marked as settled by the
//!   operator. Such a close is provisional: a Stop from the charger that still comes bills the
//!   difference.
//! - **correct a bill**: a refund (a wallet Credit) or an extra charge (a Debit) referencing the
//!   session, never an edit of the original debit. Refunds never exceed what the session was
//!   billed, net of earlier corrections; a charge, like a manual debit, may not overdraw the wallet.

use super::settle::{self, OperatorMark, Settle};
use super::{ChargingError, fit_note};
use crate::db::corrections::{self, NewCorrection};
use crate::db::transactions::{self, SessionForBilling};
use crate::db::wallet::{self, LedgerEntry, WalletRefusal};
use crate::db::{self, Db};
use crate::domain::enums::{CorrectionKind, SessionStatus, SettledBy, WalletTransactionType};
use crate::domain::session::SessionCorrection;
use crate::fixed::Money;

/// An operator settles a session.
#[derive(Debug, Clone)]
pub struct OperatorStop {
    /// The final energy register in Wh; the last one received when None.
    pub meter_stop_wh: Option<i64>,
    pub reason: String,
    pub user_id: i64,
}

/// Why an operator's action was refused. Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    NotFound,
    /// Only an Active session can be settled.
    NotActive(SessionStatus),
    /// The reading given is below the session's meter start (or its last reading).
    MeterBelow {
        lowest_wh: i64,
    },
    /// Only a settled, billed session can be corrected.
    NotBilled,
    /// The session has no customer to refund or charge.
    NoCustomer,
    /// A refund above what is left of the bill.
    RefundAboveBill {
        refundable: Money,
    },
    /// The wallet refused the entry (insufficient funds, balance limit, customer deleted).
    Wallet(WalletRefusal),
}

/// Settles the Active session `session_id` (its public id) on an operator's word; gives its
/// record id.
pub async fn stop_session(
    db: &Db,
    session_id: &str,
    stop: &OperatorStop,
) -> Result<Result<i64, Refusal>, ChargingError> {
    let now = db::now();
    let mut tx = db.begin().await?;
    let Some(session) = transactions::lock_by_session_id(&mut tx, session_id).await? else {
        return Ok(Err(Refusal::NotFound));
    };
    if session.status != SessionStatus::Active || session.meter_stop_wh.is_some() {
        return Ok(Err(Refusal::NotActive(session.status)));
    }
    let meter_start_wh = session.meter_start_wh.unwrap_or(0);
    let last_wh = meter_start_wh + session.energy_wh.unwrap_or(0);
    let meter_stop_wh = stop.meter_stop_wh.unwrap_or(last_wh);
    if meter_stop_wh < last_wh {
        return Ok(Err(Refusal::MeterBelow { lowest_wh: last_wh }));
    }
    let end = Settle {
        meter_stop_wh,
        at: now,
        reason: "Other".to_owned(),
        source: SettledBy::Operator,
        note: Some("settled by an operator".to_owned()),
        operator: Some(OperatorMark {
            user_id: stop.user_id,
            reason: stop.reason.clone(),
        }),
    };
    settle::settle(&mut tx, &session, &end, now).await?;
    tx.commit().await?;
    tracing::info!(
        session = session_id,
        user = stop.user_id,
        "session settled by an operator"
    );
    Ok(Ok(session.id))
}

/// An operator corrects a settled session's bill.
#[derive(Debug, Clone)]
pub struct Correction {
    pub kind: CorrectionKind,
    /// Greater than zero.
    pub amount: Money,
    pub reason: String,
    pub user_id: i64,
}

/// Records `correction` on session `session_id` (its public id) and moves the money.
pub async fn correct(
    db: &Db,
    session_id: &str,
    correction: &Correction,
) -> Result<Result<SessionCorrection, Refusal>, ChargingError> {
    let now = db::now();
    let mut tx = db.begin().await?;
    let Some(session) = transactions::lock_by_session_id(&mut tx, session_id).await? else {
        return Ok(Err(Refusal::NotFound));
    };
    let (Some(billed), SessionStatus::Completed) = (session.billed_amount, session.status) else {
        return Ok(Err(Refusal::NotBilled));
    };
    let Some(customer_id) = session.customer_id else {
        return Ok(Err(Refusal::NoCustomer));
    };
    let earlier = corrections::of_session_in(&mut tx, session.id).await?;
    if correction.kind == CorrectionKind::Refund {
        let refundable = refundable(billed, &earlier);
        if correction.amount.to_minor() > refundable.to_minor() {
            return Ok(Err(Refusal::RefundAboveBill { refundable }));
        }
    }
    let entry = ledger_entry(&session, correction, earlier.len() + 1);
    let row = match wallet::apply(&mut tx, customer_id, &entry, now).await? {
        Ok(row) => row,
        Err(refusal) => return Ok(Err(Refusal::Wallet(refusal))),
    };
    let recorded = corrections::insert(
        &mut tx,
        &NewCorrection {
            session: session.id,
            wallet_transaction_id: row.id,
            kind: correction.kind,
            amount: correction.amount,
            reason: &correction.reason,
            user_id: correction.user_id,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(session = session_id, user = correction.user_id, kind = %correction.kind,
        amount = %correction.amount, "session bill corrected");
    Ok(Ok(recorded))
}

/// What may still be refunded: the bill plus extra charges, less earlier refunds.
pub fn refundable(billed: Money, earlier: &[SessionCorrection]) -> Money {
    let net = earlier
        .iter()
        .fold(billed.to_minor(), |sum, c| match c.kind {
            CorrectionKind::Refund => sum - c.amount.to_minor(),
            CorrectionKind::Charge => sum + c.amount.to_minor(),
        });
    Money::from_minor(net.max(0))
}

/// The ledger entry of the `number`th correction of `session`: a refund credits, a charge debits
/// (never below zero, like a manual debit); its reference is unique per session and correction.
fn ledger_entry(session: &SessionForBilling, c: &Correction, number: usize) -> LedgerEntry {
    let (transaction_type, what) = match c.kind {
        CorrectionKind::Refund => (WalletTransactionType::Credit, "Refund"),
        CorrectionKind::Charge => (WalletTransactionType::Debit, "Extra charge"),
    };
    LedgerEntry {
        transaction_type,
        amount: c.amount,
        floor: Money::ZERO,
        description: Some(fit_note(format!(
            "{what} on charging session {}: {}",
            session.session_id, c.reason
        ))),
        reference_id: Some(format!("{}:correction:{number}", session.session_id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn correction(kind: CorrectionKind, amount: &str) -> SessionCorrection {
        SessionCorrection {
            id: 1,
            session_id: "s".into(),
            kind,
            amount: amount.parse().unwrap(),
            reason: "r".into(),
            wallet_transaction_id: 1,
            balance_after: Money::ZERO,
            created_by: None,
            created_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn refunds_are_bounded_by_the_bill_and_charges_raise_the_bound() {
        let billed: Money = "261.96".parse().unwrap();
        assert_eq!(refundable(billed, &[]), billed);
        let earlier = [
            correction(CorrectionKind::Refund, "100.00"),
            correction(CorrectionKind::Charge, "10.05"),
            correction(CorrectionKind::Refund, "0.01"),
        ];
        assert_eq!(refundable(billed, &earlier).to_string(), "172.00");
        let all_back = [correction(CorrectionKind::Refund, "261.96")];
        assert_eq!(refundable(billed, &all_back), Money::ZERO);
    }
}
