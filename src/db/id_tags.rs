//! Id tags (OCPP idTags) and the customers they charge to.
//!
//! An idTag is an OCPP `CiString20`, compared without regard to letter case: `04a2ff` and
//! `04A2FF` are the same card. The schema's unique constraint is case-sensitive, so [`taken`]
//! checks the case-folded value under [`lock_for_create`], which serializes the writers that
//! could race on it.

use chrono::{DateTime, Utc};

use super::filter::{self, PageOf, PageRequest, Sort, Where};
use super::{Db, Tx};
use crate::domain::id_tag::{IdTag, IdTagFields};
use crate::{on_read, on_tx};

/// The columns of [`IdTag`] over [`from!`]'s join.
macro_rules! columns {
    () => {
        "t.id, t.id_tag, t.customer_id, c.customer_name, t.blocked, t.expires_at, t.created_at, t.updated_at"
    };
}

/// Tags with their customer.
macro_rules! from {
    () => {
        "id_tags t JOIN customers c ON c.id = t.customer_id"
    };
}

/// Filters of the id tag lists.
#[derive(Debug, Default)]
pub struct IdTagFilter {
    pub customer_id: Option<i64>,
    pub blocked: Option<bool>,
    pub search: Option<String>,
}

pub async fn list(
    db: &Db,
    f: &IdTagFilter,
    sort: &Sort,
    page: PageRequest,
) -> Result<PageOf<IdTag>, sqlx::Error> {
    let fixed: &[&str] = match f.blocked {
        Some(true) => &["t.blocked = TRUE"],
        Some(false) => &["t.blocked = FALSE"],
        None => &[],
    };
    let mut w = Where::new(fixed);
    w.eq_opt("t.customer_id", f.customer_id)
        .search_opt(&["t.id_tag", "c.customer_name"], f.search.as_deref());
    filter::list(db, columns!(), from!(), &w, sort, page).await
}

/// The tag `id_tag`, in any letter case.
pub async fn find(db: &Db, id_tag: &str) -> Result<Option<IdTag>, sqlx::Error> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM ",
        from!(),
        " WHERE LOWER(t.id_tag) = LOWER($1)"
    );
    on_read!(db, pool => sqlx::query_as(sql).bind(id_tag).fetch_optional(pool).await)
}

/// The tag with record id `id`, as seen inside `tx`.
async fn get(tx: &mut Tx, id: i64) -> Result<IdTag, sqlx::Error> {
    let sql = concat!("SELECT ", columns!(), " FROM ", from!(), " WHERE t.id = $1");
    on_tx!(tx, conn => sqlx::query_as(sql).bind(id).fetch_one(conn).await)
}

/// Serializes the creation of tags until `tx` ends, so two requests cannot both find a value
/// free in different letter cases and both insert it. SQLite runs one writer at a time already;
/// PostgreSQL takes a transaction-scoped advisory lock.
pub async fn lock_for_create(tx: &mut Tx) -> Result<(), sqlx::Error> {
    /// The advisory lock key of id tag creation ("idtags" in ASCII).
    const KEY: i64 = 0x6964_7461_6773;
    match tx {
        Tx::Sqlite(_) => Ok(()),
        Tx::Postgres(tx) => sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(KEY)
            .execute(&mut **tx)
            .await
            .map(|_| ()),
    }
}

/// Whether a tag equal to `id_tag` in any letter case exists.
pub async fn taken(tx: &mut Tx, id_tag: &str) -> Result<bool, sqlx::Error> {
    let sql = "SELECT COUNT(*) FROM id_tags WHERE LOWER(id_tag) = LOWER($1)";
    let n: i64 = on_tx!(tx, conn => sqlx::query_scalar(sql).bind(id_tag).fetch_one(conn).await)?;
    Ok(n > 0)
}

pub async fn insert(
    tx: &mut Tx,
    t: &IdTagFields,
    now: DateTime<Utc>,
) -> Result<IdTag, sqlx::Error> {
    let sql = concat!(
        "INSERT INTO id_tags (id_tag, customer_id, blocked, expires_at, created_at, updated_at) ",
        "VALUES ($1, $2, $3, $4, $5, $5) RETURNING id"
    );
    let id: i64 = on_tx!(tx, conn => sqlx::query_scalar(sql)
        .bind(&t.id_tag).bind(t.customer_id).bind(t.blocked).bind(t.expires_at).bind(now)
        .fetch_one(conn).await)?;
    get(tx, id).await
}

/// Sets whether tag `id` is blocked and when it expires; its idTag and customer never change.
pub async fn update(
    tx: &mut Tx,
    id: i64,
    t: &IdTagFields,
    now: DateTime<Utc>,
) -> Result<Option<IdTag>, sqlx::Error> {
    let sql = "UPDATE id_tags SET blocked = $2, expires_at = $3, updated_at = $4 WHERE id = $1 RETURNING id";
    let found: Option<i64> = on_tx!(tx, conn => sqlx::query_scalar(sql)
        .bind(id).bind(t.blocked).bind(t.expires_at).bind(now)
        .fetch_optional(conn).await)?;
    match found {
        Some(id) => get(tx, id).await.map(Some),
        None => Ok(None),
    }
}

/// Deletes tag `id` for good; sessions keep the idTag text they were started with.
pub async fn delete(tx: &mut Tx, id: i64) -> Result<bool, sqlx::Error> {
    let sql = "DELETE FROM id_tags WHERE id = $1";
    let done = on_tx!(tx, conn => sqlx::query(sql).bind(id).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// Deletes every tag of customer `customer_id` (when the customer is deleted); gives how many.
pub async fn delete_of_customer(tx: &mut Tx, customer_id: i64) -> Result<u64, sqlx::Error> {
    let sql = "DELETE FROM id_tags WHERE customer_id = $1";
    on_tx!(tx, conn => sqlx::query(sql).bind(customer_id).execute(conn).await.map(|r| r.rows_affected()))
}
