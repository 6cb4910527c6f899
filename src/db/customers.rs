//! Customers table. The wallet balance is changed only through [`super::wallet`].

use chrono::{DateTime, Utc};

use super::filter::{self, PageOf, PageRequest, Sort, Where};
use super::{Db, Tx};
use crate::domain::customer::{Customer, CustomerFields};
use crate::domain::enums::SessionStatus;
use crate::{on_read, on_tx};

/// The columns of [`Customer`], as a macro so queries can be `concat!`-ed into static strings.
macro_rules! columns {
    () => {
        "id, customer_name, phone, email, default_vehicle, wallet_balance, deleted, created_at, updated_at"
    };
}

/// Filters of the customer list.
#[derive(Debug, Default)]
pub struct CustomerFilter {
    pub search: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
}

pub async fn list(
    db: &Db,
    f: &CustomerFilter,
    sort: &Sort,
    page: PageRequest,
) -> Result<PageOf<Customer>, sqlx::Error> {
    let mut w = Where::new(&["deleted = FALSE"]);
    if let Some(term) = f.search.as_deref() {
        let mut terms = vec![("customer_name", term), ("phone", term), ("email", term)];
        // A term written like a phone number (`98765 43210`, `(987) 654-3210`) also finds the
        // phone stored as `+919876543210` by its digits alone.
        let phone_like = term
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')' | '+'));
        let digits: String = term.chars().filter(char::is_ascii_digit).collect();
        if phone_like && !digits.is_empty() && digits != term {
            terms.push(("phone", &digits));
        }
        w.search_each(&terms);
    }
    w.between_opt("created_at", f.created_from, f.created_to);
    filter::list(db, columns!(), "customers", &w, sort, page).await
}

/// The live customer `id`.
pub async fn find(db: &Db, id: i64) -> Result<Option<Customer>, sqlx::Error> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM customers WHERE id = $1 AND deleted = FALSE"
    );
    on_read!(db, pool => sqlx::query_as(sql).bind(id).fetch_optional(pool).await)
}

pub async fn insert(
    tx: &mut Tx,
    c: &CustomerFields,
    now: DateTime<Utc>,
) -> Result<Customer, sqlx::Error> {
    let sql = concat!(
        "INSERT INTO customers (customer_name, phone, email, default_vehicle, wallet_balance, deleted, created_at, updated_at) ",
        "VALUES ($1, $2, $3, $4, $5, FALSE, $6, $6) RETURNING ",
        columns!()
    );
    on_tx!(tx, conn => sqlx::query_as(sql)
        .bind(&c.customer_name).bind(&c.phone).bind(&c.email).bind(&c.default_vehicle)
        .bind(crate::fixed::Money::ZERO).bind(now)
        .fetch_one(conn).await)
}

/// Replaces the editable fields of the live customer `id`; the wallet balance is left alone.
pub async fn update(
    tx: &mut Tx,
    id: i64,
    c: &CustomerFields,
    now: DateTime<Utc>,
) -> Result<Option<Customer>, sqlx::Error> {
    let sql = concat!(
        "UPDATE customers SET customer_name = $2, phone = $3, email = $4, default_vehicle = $5, updated_at = $6 ",
        "WHERE id = $1 AND deleted = FALSE RETURNING ",
        columns!()
    );
    on_tx!(tx, conn => sqlx::query_as(sql)
        .bind(id).bind(&c.customer_name).bind(&c.phone).bind(&c.email).bind(&c.default_vehicle).bind(now)
        .fetch_optional(conn).await)
}

/// Locks the live customer `id` against concurrent deletion, edits and wallet changes until `tx`
/// ends; false when there is no such live customer. A no-op UPDATE takes the row lock in
/// PostgreSQL; SQLite serializes writers anyway.
pub async fn lock(tx: &mut Tx, id: i64) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE customers SET updated_at = updated_at WHERE id = $1 AND deleted = FALSE RETURNING id";
    let found: Option<i64> =
        on_tx!(tx, conn => sqlx::query_scalar(sql).bind(id).fetch_optional(conn).await)?;
    Ok(found.is_some())
}

/// How many active charging sessions customer `id` has.
pub async fn active_sessions(tx: &mut Tx, id: i64) -> Result<i64, sqlx::Error> {
    let sql = "SELECT COUNT(*) FROM charging_sessions WHERE customer_id = $1 AND status = $2";
    on_tx!(tx, conn => sqlx::query_scalar(sql).bind(id).bind(SessionStatus::Active).fetch_one(conn).await)
}

pub async fn soft_delete(tx: &mut Tx, id: i64, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let sql =
        "UPDATE customers SET deleted = TRUE, updated_at = $2 WHERE id = $1 AND deleted = FALSE";
    let done = on_tx!(tx, conn => sqlx::query(sql).bind(id).bind(now).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}
