//! The wallet ledger: the one place a customer's balance changes.
//!
//! [`apply`] moves the balance with one conditional UPDATE (atomic on both databases: PostgreSQL
//! re-checks the condition on the latest row version after waiting for a concurrent writer, SQLite
//! has a single writer) and writes the ledger row carrying the balance after it, in the caller's
//! transaction. Manual REST entries and (later) session billing both go through it.

use chrono::{DateTime, Utc};

use super::filter::{self, PageOf, PageRequest, Sort, Where};
use super::{Db, Tx};
use crate::domain::customer::{WalletTransaction, wallet_ceiling, wallet_floor};
use crate::domain::enums::WalletTransactionType;
use crate::fixed::Money;
use crate::on_tx;

/// The columns of [`WalletTransaction`].
macro_rules! columns {
    () => {
        "id, customer_id, transaction_type, amount, balance, description, reference_id, created_at"
    };
}

/// One balance change to record.
#[derive(Debug, Clone)]
pub struct LedgerEntry {
    pub transaction_type: WalletTransactionType,
    /// Greater than zero; the type gives the direction.
    pub amount: Money,
    /// For a debit, the lowest balance allowed after it (0 for manual debits). Ignored for credits.
    pub floor: Money,
    pub description: Option<String>,
    /// The payment or session the entry is for; each is applied at most once per customer and type.
    pub reference_id: Option<String>,
}

/// Why [`apply`] did not change the balance. Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalletRefusal {
    /// No live customer with that id.
    NotFound,
    /// The debit would take the balance below the floor.
    InsufficientFunds { balance: Money },
    /// The credit would take the balance above [`wallet_ceiling`].
    BalanceLimit { balance: Money },
    /// An entry with this reference was already applied to this wallet.
    DuplicateReference,
}

/// Applies `entry` to the wallet of customer `customer_id` inside `tx`: the balance change and its
/// ledger row, or neither. A concurrent duplicate reference that slips past the check surfaces as
/// a unique violation on `uq_wallet_transactions_reference` (see [`is_duplicate_reference`]); the
/// caller must then drop `tx`, which rolls the balance change back.
pub async fn apply(
    tx: &mut Tx,
    customer_id: i64,
    entry: &LedgerEntry,
    now: DateTime<Utc>,
) -> Result<Result<WalletTransaction, WalletRefusal>, sqlx::Error> {
    if let Some(reference) = &entry.reference_id {
        let sql = "SELECT COUNT(*) FROM wallet_transactions WHERE customer_id = $1 AND transaction_type = $2 AND reference_id = $3";
        let seen: i64 = on_tx!(tx, conn => sqlx::query_scalar(sql)
            .bind(customer_id).bind(entry.transaction_type).bind(reference)
            .fetch_one(conn).await)?;
        if seen > 0 {
            return Ok(Err(WalletRefusal::DuplicateReference));
        }
    }
    let (delta, floor) = match entry.transaction_type {
        WalletTransactionType::Credit => (entry.amount, wallet_floor()),
        WalletTransactionType::Debit => (Money::from_minor(-entry.amount.to_minor()), entry.floor),
    };
    let sql = concat!(
        "UPDATE customers SET wallet_balance = wallet_balance + $2, updated_at = $3 ",
        "WHERE id = $1 AND deleted = FALSE AND wallet_balance + $2 >= $4 AND wallet_balance + $2 <= $5 ",
        "RETURNING wallet_balance"
    );
    let balance: Option<Money> = on_tx!(tx, conn => sqlx::query_scalar(sql)
        .bind(customer_id).bind(delta).bind(now).bind(floor).bind(wallet_ceiling())
        .fetch_optional(conn).await)?;
    let Some(balance) = balance else {
        return Ok(Err(
            why_refused(tx, customer_id, entry.transaction_type).await?
        ));
    };
    let sql = concat!(
        "INSERT INTO wallet_transactions (customer_id, transaction_type, amount, balance, description, reference_id, created_at) ",
        "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ",
        columns!()
    );
    let row = on_tx!(tx, conn => sqlx::query_as(sql)
        .bind(customer_id).bind(entry.transaction_type).bind(entry.amount).bind(balance)
        .bind(&entry.description).bind(&entry.reference_id).bind(now)
        .fetch_one(conn).await)?;
    Ok(Ok(row))
}

/// Why the conditional UPDATE of [`apply`] touched no row.
async fn why_refused(
    tx: &mut Tx,
    customer_id: i64,
    direction: WalletTransactionType,
) -> Result<WalletRefusal, sqlx::Error> {
    let sql = "SELECT wallet_balance FROM customers WHERE id = $1 AND deleted = FALSE";
    let balance: Option<Money> =
        on_tx!(tx, conn => sqlx::query_scalar(sql).bind(customer_id).fetch_optional(conn).await)?;
    Ok(match (balance, direction) {
        (None, _) => WalletRefusal::NotFound,
        (Some(balance), WalletTransactionType::Debit) => {
            WalletRefusal::InsufficientFunds { balance }
        }
        (Some(balance), WalletTransactionType::Credit) => WalletRefusal::BalanceLimit { balance },
    })
}

/// Whether `err` is the unique index that keeps a reference from being applied twice.
pub fn is_duplicate_reference(err: &sqlx::Error) -> bool {
    super::errors::is_unique_violation(err, DUPLICATE_REFERENCE_INDEX)
}

/// The name matching the reference index in both databases' errors: PostgreSQL names the index
/// (`uq_wallet_transactions_reference`), SQLite the columns (`wallet_transactions.customer_id, ...`).
/// It is the table's only unique index besides the key.
pub const DUPLICATE_REFERENCE_INDEX: &str = "wallet_transactions";

/// Filters of a wallet's ledger.
#[derive(Debug, Default)]
pub struct LedgerFilter {
    pub transaction_type: Option<WalletTransactionType>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
}

/// One page of customer `customer_id`'s ledger.
pub async fn list(
    db: &Db,
    customer_id: i64,
    f: &LedgerFilter,
    sort: &Sort,
    page: PageRequest,
) -> Result<PageOf<WalletTransaction>, sqlx::Error> {
    let mut w = Where::new(&[]);
    w.compare("customer_id", "=", customer_id)
        .eq_opt("transaction_type", f.transaction_type.map(|t| t.as_str()))
        .between_opt("created_at", f.created_from, f.created_to);
    filter::list(db, columns!(), "wallet_transactions", &w, sort, page).await
}
