//! The wallet ledger: the one place a customer's balance changes.
//!
//! [`apply`] moves the balance with one conditional UPDATE (atomic on both databases: PostgreSQL
//! re-checks the condition on the latest row version after waiting for a concurrent writer, SQLite
//! has a single writer) and writes the ledger row carrying the balance after it, in the caller's
//! transaction. Manual REST entries and (later) session billing both go through it.

use chrono::{DateTime, Utc};

use super::filter::{self, PageOf, PageRequest, Sort, Where};
use super::unnest::{self, column};
use super::{Db, Tx, copy};
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
    let (delta, floor) = bounds(entry);
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

/// The change `entry` makes to a balance, and the lowest balance it may leave.
fn bounds(entry: &LedgerEntry) -> (Money, Money) {
    match entry.transaction_type {
        WalletTransactionType::Credit => (entry.amount, wallet_floor()),
        WalletTransactionType::Debit => (Money::from_minor(-entry.amount.to_minor()), entry.floor),
    }
}

/// The balance after `entry` on a wallet holding `balance`, or why it is refused: the rule of
/// [`apply`]'s conditional UPDATE, for a writer holding the wallet locked already.
fn balance_after(balance: Money, entry: &LedgerEntry) -> Result<Money, WalletRefusal> {
    let (delta, floor) = bounds(entry);
    let after = Money::from_minor(balance.to_minor() + delta.to_minor());
    match entry.transaction_type {
        _ if after.to_minor() >= floor.to_minor()
            && after.to_minor() <= wallet_ceiling().to_minor() =>
        {
            Ok(after)
        }
        WalletTransactionType::Debit => Err(WalletRefusal::InsufficientFunds { balance }),
        WalletTransactionType::Credit => Err(WalletRefusal::BalanceLimit { balance }),
    }
}

/// [`apply`] for many entries at once, in order (several may be one customer's), in a few
/// statements whatever their number: the wallets are locked and read in one, the entries applied
/// in memory by the same rule, the new balances written in one and the ledger rows in another.
/// Gives each entry's balance after it, or why it was refused. The rows are dated when the wallets
/// are locked: a writer that waited for another's lock dates its rows after the other's, so the
/// ledger read by date runs in the order the balances moved.
///
/// It does not look for an earlier entry of the same reference: a duplicate is refused by the
/// ledger's unique index (see [`is_duplicate_reference`]) and fails the whole call, so callers
/// pass only entries whose reference cannot have been applied yet and, should one have been,
/// apply them again one by one with [`apply`].
pub async fn apply_many(
    tx: &mut Tx,
    entries: &[(i64, &LedgerEntry)],
) -> Result<Vec<Result<Money, WalletRefusal>>, sqlx::Error> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let mut customers: Vec<i64> = entries.iter().map(|(customer, _)| *customer).collect();
    customers.sort_unstable();
    customers.dedup();
    let mut balances = lock_balances(tx, &customers).await?;
    let now = super::now();
    let mut ledger = Vec::with_capacity(entries.len());
    let applied: Vec<Result<Money, WalletRefusal>> = entries
        .iter()
        .map(|(customer, entry)| {
            let balance = balances.get_mut(customer).ok_or(WalletRefusal::NotFound)?;
            let after = balance_after(*balance, entry)?;
            *balance = after;
            ledger.push((*customer, *entry, after));
            Ok(after)
        })
        .collect();
    let changed: Vec<(i64, Money)> = ledger
        .iter()
        .map(|(customer, _, _)| (*customer, balances[customer]))
        .collect::<std::collections::BTreeMap<_, _>>()
        .into_iter()
        .collect();
    const SET_HEAD: &str =
        "UPDATE customers SET wallet_balance = v.column2, updated_at = v.column3 FROM (";
    const SET_TAIL: &str = ") AS v WHERE customers.id = v.column1";
    if let Some(t) = unnest::worth_joining(tx, changed.len()) {
        let sql = unnest::statement(SET_HEAD, &["int8", "numeric", "timestamptz"], SET_TAIL);
        sqlx::query(sql)
            .persistent(false)
            .bind(column(&changed, |c| c.0))
            .bind(column(&changed, |c| c.1.decimal()))
            .bind(column(&changed, |_| now))
            .execute(t)
            .await?;
    } else {
        crate::execute_values!(tx, SET_HEAD, SET_TAIL, changed, |b, c| {
            b.push_bind(c.0).push_bind(c.1).push_bind(now);
        })?;
    }
    const LEDGER: &str = "wallet_transactions (customer_id, transaction_type, amount, balance, description, reference_id, created_at)";
    if let Some(t) = copy::worth_copying(tx, ledger.len()) {
        let statement = ["COPY ", LEDGER, " FROM STDIN"].concat();
        copy::copy_in(t, &statement, &ledger, |c, row| {
            let (customer, entry, after) = row;
            c.value(customer)
                .value(entry.transaction_type)
                .value(entry.amount)
                .value(after)
                .maybe(entry.description.as_deref())
                .maybe(entry.reference_id.as_deref())
                .time(now);
        })
        .await?;
        return Ok(applied);
    }
    let head = ["INSERT INTO ", LEDGER, " "].concat();
    crate::execute_values!(tx, &head, "", ledger, |b, row| {
        let (customer, entry, after) = row;
        b.push_bind(*customer)
            .push_bind(entry.transaction_type)
            .push_bind(entry.amount)
            .push_bind(*after)
            .push_bind(entry.description.clone())
            .push_bind(entry.reference_id.clone())
            .push_bind(now);
    })?;
    Ok(applied)
}

/// Locks the live wallets of `customers` (distinct ids) and reads their balances.
async fn lock_balances(
    tx: &mut Tx,
    customers: &[i64],
) -> Result<std::collections::HashMap<i64, Money>, sqlx::Error> {
    const HEAD: &str = "SELECT customers.id, customers.wallet_balance FROM customers JOIN (";
    const TAIL: &str = ") AS v ON customers.id = v.column1 WHERE customers.deleted = FALSE";
    let tail = [TAIL, &tx.row_lock("customers")].concat();
    let rows: Vec<(i64, Money)> =
        crate::fetch_by_keys!(tx, HEAD, &tail, "int8", customers, (i64, Money))?;
    Ok(rows.into_iter().collect())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;
    use crate::on_write;

    async fn wallet(db: &Db, phone: &str, balance: i64, deleted: bool) -> i64 {
        let sql = concat!(
            "INSERT INTO customers (customer_name, phone, wallet_balance, deleted, created_at, updated_at) ",
            "VALUES ('C', $1, $2, $3, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z') RETURNING id"
        );
        on_write!(db, pool => sqlx::query_scalar(sql).bind(phone).bind(balance).bind(deleted).fetch_one(pool).await)
            .unwrap()
    }

    fn entry(kind: WalletTransactionType, minor: i64, floor: i64, reference: &str) -> LedgerEntry {
        LedgerEntry {
            transaction_type: kind,
            amount: Money::from_minor(minor),
            floor: Money::from_minor(floor),
            description: None,
            reference_id: Some(reference.to_owned()),
        }
    }

    /// Entries applied together follow [`apply`]'s rule in their order, several on one wallet:
    /// each ledger row carries the balance after it, a refused entry writes nothing, and a
    /// deleted customer's entry is refused.
    #[tokio::test]
    async fn entries_applied_together_follow_the_ledger_rule_in_order() {
        let db = Db::connect("sqlite::memory:", 1).await.unwrap();
        db.migrate().await.unwrap();
        let (a, b, gone) = (
            wallet(&db, "1", 1_000, false).await,
            wallet(&db, "2", 500, false).await,
            wallet(&db, "3", 500, true).await,
        );
        use WalletTransactionType::{Credit, Debit};
        let entries = [
            entry(Debit, 300, 0, "a1"),
            entry(Debit, 600, 0, "b1"),
            entry(Debit, 800, 0, "a2"),
            entry(Debit, 800, -1_000, "a3"),
            entry(Credit, 50, 0, "b2"),
            entry(Debit, 10, 0, "gone"),
        ];
        let customers = [a, b, a, a, b, gone];
        let batch: Vec<(i64, &LedgerEntry)> = customers.iter().copied().zip(&entries).collect();
        let mut tx = db.begin().await.unwrap();
        let applied = apply_many(&mut tx, &batch).await.unwrap();
        tx.commit().await.unwrap();
        let money = Money::from_minor;
        assert_eq!(
            applied,
            vec![
                Ok(money(700)),
                Err(WalletRefusal::InsufficientFunds {
                    balance: money(500)
                }),
                Err(WalletRefusal::InsufficientFunds {
                    balance: money(700)
                }),
                Ok(money(-100)),
                Ok(money(550)),
                Err(WalletRefusal::NotFound),
            ]
        );
        let balances: Vec<i64> = on_write!(&db, pool => sqlx::query_scalar("SELECT wallet_balance FROM customers ORDER BY id").fetch_all(pool).await).unwrap();
        assert_eq!(balances, vec![-100, 550, 500]);
        let ledger: Vec<(i64, String, i64)> = on_write!(&db, pool => sqlx::query_as("SELECT customer_id, reference_id, balance FROM wallet_transactions ORDER BY id").fetch_all(pool).await).unwrap();
        assert_eq!(
            ledger,
            vec![
                (a, "a1".to_owned(), 700),
                (a, "a3".to_owned(), -100),
                (b, "b2".to_owned(), 550)
            ]
        );
    }
}
