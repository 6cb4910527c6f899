//! How a session is settled: the one place a session's energy becomes a bill and a debit.
//!
//! 1. Energy = meter stop − meter start (never negative: a register that went backwards bills
//!    nothing and is flagged).
//! 2. Only a session whose Start was accepted is billed; energy after a refused Start is flagged.
//! 3. Amount = [`pricing::billable`] of the energy at the session's tariff snapshot.
//! 4. The amount is debited through the wallet ledger (`db::wallet::apply`) in the same database
//!    transaction as the session's end, referencing the session, so it happens exactly once. Energy
//!    already delivered is owed: the debit may overdraw the wallet, and the session says so.
//! 5. Who settled it is recorded. A session closed provisionally (its connector went Available or
//!    its charger rebooted with no Stop, or an operator closed it) is settled again when the
//!    charger's own Stop still arrives: the total is priced by the same rule and only the
//!    difference to what was billed is debited, once (the ledger reference `{session}:final` and
//!    the session's `settled_by = charger` both say it happened).

use chrono::{DateTime, Utc};

use super::pricing;
use super::running::rate_of;
use super::{ChargingError, fit_note};
use crate::db::transactions::{self, SessionForBilling, Settlement};
use crate::db::wallet::{self, LedgerEntry, WalletRefusal};
use crate::db::{Tx, stored_time};
use crate::domain::customer::wallet_floor;
use crate::domain::enums::{SessionStatus, SettledBy, WalletTransactionType};
use crate::domain::session::KilowattHours;
use crate::fixed::Money;

/// The end of a session, whoever reports it.
#[derive(Debug, Clone)]
pub struct Settle {
    /// The energy register at the end, in Wh.
    pub meter_stop_wh: i64,
    /// When charging ended.
    pub at: DateTime<Utc>,
    /// Why it ended, as recorded in `stop_reason` (`Local`, `EVDisconnected`, `Other`...).
    pub reason: String,
    pub source: SettledBy,
    /// Starts the session's anomaly note (a Stop without its transaction id, a provisional close).
    pub note: Option<String>,
    /// The operator who settled it, with their reason.
    pub operator: Option<OperatorMark>,
}

/// Who among the operators settled a session, and why.
#[derive(Debug, Clone)]
pub struct OperatorMark {
    pub user_id: i64,
    pub reason: String,
}

/// What settling did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// The session is closed; `amount` was billed (None: not billable).
    Closed { amount: Option<Money> },
    /// The charger's Stop followed a provisional close: `extra` more was billed (may be zero).
    DifferenceBilled { extra: Money },
    /// It was settled before, finally: nothing changed.
    AlreadySettled,
}

/// Whether `session` is still open: never settled, not even provisionally. (A Completed session
/// with no record of who settled it was written by other means and is final.)
pub fn is_open(session: &SessionForBilling) -> bool {
    session.settled_by.is_none()
        && session.meter_stop_wh.is_none()
        && session.status != SessionStatus::Completed
}

/// Settles `session` (locked by the caller) inside `tx`.
pub async fn settle(
    tx: &mut Tx,
    session: &SessionForBilling,
    end: &Settle,
    now: DateTime<Utc>,
) -> Result<Settled, ChargingError> {
    match session.settled_by {
        None if is_open(session) => close(tx, session, end, now).await,
        Some(by) if by.is_provisional() && end.source == SettledBy::Charger => {
            bill_difference(tx, session, end, by, now).await
        }
        _ => Ok(Settled::AlreadySettled),
    }
}

/// What closing an open session comes to, all but its debit's outcome: the settlement (whose
/// anomaly is joined from `notes` once the debit added its own), the amount and the debit.
#[derive(Debug)]
pub struct Closing {
    pub settlement: Settlement,
    pub notes: Vec<String>,
    pub amount: Option<Money>,
    pub debit: Option<Debit>,
}

impl Closing {
    /// The settlement, its anomaly joined from the notes.
    pub fn settled(mut self) -> (Settlement, Settled) {
        self.settlement.anomaly = joined(std::mem::take(&mut self.notes));
        count(
            self.settlement.settled_by,
            self.settlement.energy_wh,
            self.amount.unwrap_or(Money::ZERO),
        );
        let amount = self.amount;
        (self.settlement, Settled::Closed { amount })
    }
}

/// A debit a settlement owes: from `customer_id`'s wallet, recorded with `entry`.
#[derive(Debug)]
pub struct Debit {
    pub customer_id: i64,
    pub entry: LedgerEntry,
}

/// How `end` closes the open `session`: energy, bill, notes, the debit to make (pure).
pub fn closing(session: &SessionForBilling, end: &Settle) -> Closing {
    let meter_start_wh = session.meter_start_wh.unwrap_or(end.meter_stop_wh);
    let energy = pricing::energy(meter_start_wh, end.meter_stop_wh);
    let mut notes: Vec<String> = end.note.iter().cloned().collect();
    if energy.register_went_backwards {
        notes.push(format!(
            "meter stop {} Wh is below meter start {meter_start_wh} Wh: nothing billed",
            end.meter_stop_wh
        ));
    }
    let billable = session.status == SessionStatus::Active;
    if !billable && energy.wh > 0 {
        notes.push(format!(
            "{} Wh delivered after a refused start: not billed",
            energy.wh
        ));
    }
    let amount = if billable {
        bill(rate_of(session), energy.wh, &mut notes)
    } else {
        None
    };
    let debit = amount.and_then(|amount| {
        let description = format!(
            "Charging session {}: {} kWh",
            session.session_id,
            KilowattHours::from_minor(energy.wh)
        );
        debit_of(session, amount, session.session_id.clone(), description)
    });
    let settlement = Settlement {
        status: if billable {
            SessionStatus::Completed
        } else {
            SessionStatus::Cancelled
        },
        end_time: stored_time(end.at),
        meter_stop_wh: end.meter_stop_wh,
        energy_wh: energy.wh,
        billed_amount: billable.then(|| amount.unwrap_or(Money::ZERO)),
        stop_reason: Some(end.reason.clone()),
        anomaly: None,
        settled_by: end.source,
        settled_by_user_id: end.operator.as_ref().map(|o| o.user_id),
        settle_note: end.operator.as_ref().map(|o| fit_note(o.reason.clone())),
    };
    Closing {
        settlement,
        notes,
        amount,
        debit,
    }
}

async fn close(
    tx: &mut Tx,
    session: &SessionForBilling,
    end: &Settle,
    now: DateTime<Utc>,
) -> Result<Settled, ChargingError> {
    let mut closing = closing(session, end);
    if let Some(debit) = &closing.debit {
        let applied = wallet::apply(tx, debit.customer_id, &debit.entry, now).await?;
        closing
            .notes
            .extend(debit_note(applied.map(|row| row.balance)));
    }
    let (settlement, settled) = closing.settled();
    transactions::settle(tx, session.id, &settlement, now).await?;
    Ok(settled)
}

/// The charger's own Stop after a provisional close by `closed_by`: the total is priced by the
/// one rule and the difference to what was billed is debited.
async fn bill_difference(
    tx: &mut Tx,
    session: &SessionForBilling,
    end: &Settle,
    closed_by: SettledBy,
    now: DateTime<Utc>,
) -> Result<Settled, ChargingError> {
    let meter_start_wh = session.meter_start_wh.unwrap_or(0);
    let provisional_stop_wh = session.meter_stop_wh.unwrap_or(meter_start_wh);
    let billed = session.billed_amount.unwrap_or(Money::ZERO);
    let mut notes = vec![format!(
        "the charger's StopTransaction (meter stop {} Wh) came after the provisional close ({closed_by}, {provisional_stop_wh} Wh)",
        end.meter_stop_wh
    )];
    let billable = session.status == SessionStatus::Completed;
    let mut extra = Money::ZERO;
    let mut energy_wh = session.energy_wh.unwrap_or(0);
    let mut meter_stop_wh = provisional_stop_wh;
    if end.meter_stop_wh > provisional_stop_wh {
        meter_stop_wh = end.meter_stop_wh;
        energy_wh = pricing::energy(meter_start_wh, meter_stop_wh).wh;
        if billable && let Some(total) = bill(rate_of(session), energy_wh, &mut notes) {
            extra = Money::from_minor((total.to_minor() - billed.to_minor()).max(0));
        }
    }
    if extra.to_minor() > 0 {
        notes.push(format!("{extra} more billed"));
        let reference = format!("{}:final", session.session_id);
        let description = format!(
            "Charging session {}: {} kWh more after a provisional close",
            session.session_id,
            KilowattHours::from_minor(energy_wh - session.energy_wh.unwrap_or(0))
        );
        if let Some(debit) = debit_of(session, extra, reference, description) {
            let applied = wallet::apply(tx, debit.customer_id, &debit.entry, now).await?;
            notes.extend(debit_note(applied.map(|row| row.balance)));
        }
    } else {
        notes.push("nothing more billed".to_owned());
    }
    let settlement = Settlement {
        status: session.status,
        end_time: stored_time(end.at),
        meter_stop_wh,
        energy_wh,
        billed_amount: billable.then(|| Money::from_minor(billed.to_minor() + extra.to_minor())),
        stop_reason: Some(end.reason.clone()),
        anomaly: joined(notes),
        settled_by: SettledBy::Charger,
        settled_by_user_id: None,
        settle_note: None,
    };
    transactions::settle(tx, session.id, &settlement, now).await?;
    count(
        SettledBy::Charger,
        energy_wh - session.energy_wh.unwrap_or(0),
        extra,
    );
    Ok(Settled::DifferenceBilled { extra })
}

/// The amount for `energy_wh` at `rate`; None (and a note) when there is no tariff or the amount
/// is beyond any bill.
fn bill(rate: Option<pricing::Rate>, energy_wh: i64, notes: &mut Vec<String>) -> Option<Money> {
    let rate = rate?;
    match pricing::billable(energy_wh, rate) {
        Ok(amount) => Some(amount),
        Err(e) => {
            notes.push(format!("the amount could not be computed: {e}"));
            None
        }
    }
}

/// The debit of `amount` from the session's customer, if it has one and the amount is owed.
/// Energy already delivered is owed, so the debit may overdraw the wallet (its floor is the
/// wallet's lowest).
fn debit_of(
    session: &SessionForBilling,
    amount: Money,
    reference: String,
    description: String,
) -> Option<Debit> {
    let customer_id = session.customer_id?;
    (amount.to_minor() > 0).then(|| Debit {
        customer_id,
        entry: LedgerEntry {
            transaction_type: WalletTransactionType::Debit,
            amount,
            floor: wallet_floor(),
            description: Some(description),
            reference_id: Some(reference),
        },
    })
}

/// What the operator learns of a debit's outcome (the balance after it, or why it was refused).
pub fn debit_note(applied: Result<Money, WalletRefusal>) -> Option<String> {
    match applied {
        Ok(balance) if balance.is_negative() => Some(format!(
            "the wallet was overdrawn to {balance} by this session"
        )),
        Ok(_) | Err(WalletRefusal::DuplicateReference) => None,
        Err(refusal) => Some(format!("the wallet was not debited: {refusal:?}")),
    }
}

/// Counts a settlement in the metrics. Recorded before the commit: a rolled-back settlement is
/// retried by the charger and then counted again, a rare over-count metrics can live with.
fn count(by: SettledBy, energy_wh: i64, amount: Money) {
    metrics::counter!("charging_sessions_settled_total", "by" => by.as_str()).increment(1);
    metrics::counter!("charging_energy_delivered_wh_total")
        .increment(u64::try_from(energy_wh).unwrap_or(0));
    metrics::counter!("charging_billed_minor_units_total")
        .increment(u64::try_from(amount.to_minor()).unwrap_or(0));
}

fn joined(notes: Vec<String>) -> Option<String> {
    (!notes.is_empty()).then(|| fit_note(notes.join("; ")))
}
