//! Tariffs table.

use chrono::{DateTime, Utc};

use super::filter::{self, PageOf, PageRequest, Sort, Where};
use super::{Db, Tx};
use crate::domain::enums::{Currency, TariffStatus};
use crate::domain::tariff::{Tariff, TariffFields};
use crate::{on_read, on_tx};

/// The columns of [`Tariff`], as a macro so queries can be `concat!`-ed into static strings.
macro_rules! columns {
    () => {
        "id, tariff_id, tariff_name, currency, base_charges, tax, status, created_by, deleted, created_at, updated_at"
    };
}

/// Filters of the tariff list.
#[derive(Debug, Default)]
pub struct TariffFilter {
    pub status: Option<TariffStatus>,
    pub currency: Option<Currency>,
    pub search: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
}

pub async fn list(
    db: &Db,
    f: &TariffFilter,
    sort: &Sort,
    page: PageRequest,
) -> Result<PageOf<Tariff>, sqlx::Error> {
    let mut w = Where::new(&["deleted = FALSE"]);
    w.eq_opt("status", f.status.map(|s| s.as_str()))
        .eq_opt("currency", f.currency.map(|c| c.as_str()))
        .search_opt(&["tariff_name", "tariff_id"], f.search.as_deref())
        .between_opt("created_at", f.created_from, f.created_to);
    filter::list(db, columns!(), "tariffs", &w, sort, page).await
}

/// The live tariff with code `tariff_id`.
pub async fn find(db: &Db, tariff_id: &str) -> Result<Option<Tariff>, sqlx::Error> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM tariffs WHERE tariff_id = $1 AND deleted = FALSE"
    );
    on_read!(db, pool => sqlx::query_as(sql).bind(tariff_id).fetch_optional(pool).await)
}

pub async fn insert(
    tx: &mut Tx,
    t: &TariffFields,
    now: DateTime<Utc>,
) -> Result<Tariff, sqlx::Error> {
    let sql = concat!(
        "INSERT INTO tariffs (tariff_id, tariff_name, currency, base_charges, tax, status, created_by, deleted, created_at, updated_at) ",
        "VALUES ($1, $2, $3, $4, $5, $6, $7, FALSE, $8, $8) RETURNING ",
        columns!()
    );
    on_tx!(tx, conn => sqlx::query_as(sql)
        .bind(&t.tariff_id).bind(&t.tariff_name).bind(t.currency).bind(t.base_charges).bind(t.tax)
        .bind(t.status).bind(&t.created_by).bind(now)
        .fetch_one(conn).await)
}

pub async fn update(
    tx: &mut Tx,
    id: i64,
    t: &TariffFields,
    now: DateTime<Utc>,
) -> Result<Option<Tariff>, sqlx::Error> {
    let sql = concat!(
        "UPDATE tariffs SET tariff_name = $2, currency = $3, base_charges = $4, tax = $5, status = $6, created_by = $7, updated_at = $8 ",
        "WHERE id = $1 AND deleted = FALSE RETURNING ",
        columns!()
    );
    on_tx!(tx, conn => sqlx::query_as(sql)
        .bind(id).bind(&t.tariff_name).bind(t.currency).bind(t.base_charges).bind(t.tax)
        .bind(t.status).bind(&t.created_by).bind(now)
        .fetch_optional(conn).await)
}

/// Locks the live tariff `id` against concurrent deletion or edits until `tx` ends, and gives its
/// status (None when there is no such live tariff). A no-op UPDATE takes the row lock in
/// PostgreSQL; SQLite serializes writers anyway.
pub async fn lock(tx: &mut Tx, id: i64) -> Result<Option<TariffStatus>, sqlx::Error> {
    let sql = "UPDATE tariffs SET updated_at = updated_at WHERE id = $1 AND deleted = FALSE RETURNING status";
    on_tx!(tx, conn => sqlx::query_scalar(sql).bind(id).fetch_optional(conn).await)
}

/// How many live charging points use tariff `id`.
pub async fn points_using(tx: &mut Tx, id: i64) -> Result<i64, sqlx::Error> {
    let sql = "SELECT COUNT(*) FROM charging_points WHERE tariff_id = $1 AND deleted = FALSE";
    on_tx!(tx, conn => sqlx::query_scalar(sql).bind(id).fetch_one(conn).await)
}

pub async fn soft_delete(tx: &mut Tx, id: i64, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let sql =
        "UPDATE tariffs SET deleted = TRUE, updated_at = $2 WHERE id = $1 AND deleted = FALSE";
    let done = on_tx!(tx, conn => sqlx::query(sql).bind(id).bind(now).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}
