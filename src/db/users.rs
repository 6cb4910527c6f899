//! Operator accounts (`users`) and server settings (`settings`).

use chrono::{DateTime, Utc};

use super::filter::{self, PageOf, PageRequest, Sort, Where};
use super::{Db, Tx};
use crate::domain::user::{Role, UserFields, UserRow};
use crate::{on_read, on_tx, on_write};

macro_rules! columns {
    () => {
        "id, email, name, password_hash, role, organization, active, deleted, token_version, last_login_at, created_at, updated_at"
    };
}

/// Filters of the user list.
#[derive(Debug, Default)]
pub struct UserFilter {
    pub role: Option<Role>,
    pub organization: Option<String>,
    pub search: Option<String>,
}

pub async fn list(
    db: &Db,
    f: &UserFilter,
    sort: &Sort,
    page: PageRequest,
) -> Result<PageOf<UserRow>, sqlx::Error> {
    let mut w = Where::new(&["deleted = FALSE"]);
    w.eq_opt("role", f.role.map(|r| r.as_str()))
        .eq_opt("organization", f.organization.as_deref())
        .search_opt(&["email", "name"], f.search.as_deref());
    filter::list(db, columns!(), "users", &w, sort, page).await
}

/// The live user `id`, active or not.
pub async fn find(db: &Db, id: i64) -> Result<Option<UserRow>, sqlx::Error> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM users WHERE id = $1 AND deleted = FALSE"
    );
    on_read!(db, pool => sqlx::query_as(sql).bind(id).fetch_optional(pool).await)
}

/// The live user with this e-mail (compared lowercase).
pub async fn find_by_email(db: &Db, email: &str) -> Result<Option<UserRow>, sqlx::Error> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM users WHERE email = $1 AND deleted = FALSE"
    );
    on_read!(db, pool => sqlx::query_as(sql).bind(email.trim().to_lowercase()).fetch_optional(pool).await)
}

/// How many users were ever created (deleted ones included): zero only on a fresh database.
pub async fn count_all(db: &Db) -> Result<i64, sqlx::Error> {
    on_read!(db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(pool).await)
}

/// How many live, active admins there are besides user `except`.
pub async fn other_active_admins(tx: &mut Tx, except: i64) -> Result<i64, sqlx::Error> {
    let sql = "SELECT COUNT(*) FROM users WHERE role = 'admin' AND active = TRUE AND deleted = FALSE AND id <> $1";
    on_tx!(tx, conn => sqlx::query_scalar(sql).bind(except).fetch_one(conn).await)
}

pub async fn insert(
    tx: &mut Tx,
    u: &UserFields,
    now: DateTime<Utc>,
) -> Result<UserRow, sqlx::Error> {
    let sql = concat!(
        "INSERT INTO users (email, name, password_hash, role, organization, active, deleted, token_version, created_at, updated_at) ",
        "VALUES ($1, $2, $3, $4, $5, $6, FALSE, 0, $7, $7) RETURNING ",
        columns!()
    );
    on_tx!(tx, conn => sqlx::query_as(sql)
        .bind(u.email.to_lowercase()).bind(&u.name).bind(&u.password_hash).bind(u.role)
        .bind(&u.organization).bind(u.active).bind(now)
        .fetch_one(conn).await)
}

/// Replaces the fields of user `id`; `revoke` bumps its token version, so every token issued
/// before stops working.
pub async fn update(
    tx: &mut Tx,
    id: i64,
    u: &UserFields,
    revoke: bool,
    now: DateTime<Utc>,
) -> Result<Option<UserRow>, sqlx::Error> {
    let sql = concat!(
        "UPDATE users SET email = $2, name = $3, password_hash = $4, role = $5, organization = $6, active = $7, ",
        "token_version = token_version + $8, updated_at = $9 WHERE id = $1 AND deleted = FALSE RETURNING ",
        columns!()
    );
    on_tx!(tx, conn => sqlx::query_as(sql)
        .bind(id).bind(u.email.to_lowercase()).bind(&u.name).bind(&u.password_hash).bind(u.role)
        .bind(&u.organization).bind(u.active).bind(i64::from(revoke)).bind(now)
        .fetch_optional(conn).await)
}

/// Revokes every token of user `id` (logout everywhere).
pub async fn revoke_tokens(db: &Db, id: i64, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let sql = "UPDATE users SET token_version = token_version + 1, updated_at = $2 WHERE id = $1";
    on_write!(db, pool => sqlx::query(sql).bind(id).bind(now).execute(pool).await.map(|_| ()))
}

/// Records a successful login.
pub async fn touch_login(db: &Db, id: i64, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let sql = "UPDATE users SET last_login_at = $2 WHERE id = $1";
    on_write!(db, pool => sqlx::query(sql).bind(id).bind(now).execute(pool).await.map(|_| ()))
}

/// Soft-deletes user `id` and revokes its tokens.
pub async fn soft_delete(tx: &mut Tx, id: i64, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE users SET deleted = TRUE, active = FALSE, token_version = token_version + 1, updated_at = $2 WHERE id = $1 AND deleted = FALSE";
    let done = on_tx!(tx, conn => sqlx::query(sql).bind(id).bind(now).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// The setting `key`, or `value` stored under it if there is none yet; the stored one wins a
/// race between nodes starting together.
pub async fn setting_or_insert(
    db: &Db,
    key: &str,
    value: &str,
    now: DateTime<Utc>,
) -> Result<String, sqlx::Error> {
    let insert = "INSERT INTO settings (key, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING";
    on_write!(db, pool => sqlx::query(insert).bind(key).bind(value).bind(now).execute(pool).await.map(|_| ()))?;
    let select = "SELECT value FROM settings WHERE key = $1";
    on_write!(db, pool => sqlx::query_scalar(select).bind(key).fetch_one(pool).await)
}
