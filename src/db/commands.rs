//! Remote command records (`charger_commands`): written before the CALL leaves, completed with
//! the charger's answer in the same transaction as what the answer changes.

use chrono::{DateTime, Utc};

use super::filter::{self, PageOf, PageRequest, Sort, Where};
use super::{Db, Tx};
use crate::domain::command::CommandRow;
use crate::{on_read, on_tx};

const SELECT: &str = concat!(
    "c.id, c.charge_point_id, c.action, c.request, c.status, c.response, c.error_code, ",
    "c.error_description, c.requested_by, c.requested_by_user_id, s.session_id, c.created_at, ",
    "c.answered_at"
);
const FROM: &str = "charger_commands c LEFT JOIN charging_sessions s ON s.id = c.session_id";

/// A command about to be sent.
#[derive(Debug, Clone)]
pub struct NewCommand<'a> {
    pub charge_point_id: &'a str,
    pub action: &'a str,
    pub request: &'a str,
    /// `user` or `balance_guard`.
    pub requested_by: &'static str,
    pub user_id: Option<i64>,
    /// The session record the command is about.
    pub session: Option<i64>,
}

/// How a command ended.
#[derive(Debug, Clone, Default)]
pub struct Completion {
    pub status: &'static str,
    pub response: Option<String>,
    pub error_code: Option<String>,
    pub error_description: Option<String>,
}

/// Records a command as Pending (or already failed, with `status`); returns its id.
pub async fn insert(
    tx: &mut Tx,
    c: &NewCommand<'_>,
    status: &str,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let sql = concat!(
        "INSERT INTO charger_commands (charge_point_id, action, request, status, requested_by, ",
        "requested_by_user_id, session_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id"
    );
    on_tx!(tx, conn => sqlx::query_scalar(sql)
        .bind(c.charge_point_id).bind(c.action).bind(c.request).bind(status)
        .bind(c.requested_by).bind(c.user_id).bind(c.session).bind(now)
        .fetch_one(conn).await)
}

/// Completes command `id` with its outcome.
pub async fn complete(
    tx: &mut Tx,
    id: i64,
    c: &Completion,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let sql = concat!(
        "UPDATE charger_commands SET status = $2, response = $3, error_code = $4, ",
        "error_description = $5, answered_at = $6 WHERE id = $1"
    );
    on_tx!(tx, conn => sqlx::query(sql)
        .bind(id).bind(c.status).bind(c.response.as_deref()).bind(c.error_code.as_deref())
        .bind(c.error_description.as_deref()).bind(now)
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn find(db: &Db, id: i64) -> Result<Option<CommandRow>, sqlx::Error> {
    let sql = format!("SELECT {SELECT} FROM {FROM} WHERE c.id = $1");
    on_read!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(pool).await)
}

/// The command record `id` inside `tx` (read after writing it).
pub async fn find_in(tx: &mut Tx, id: i64) -> Result<CommandRow, sqlx::Error> {
    let sql = format!("SELECT {SELECT} FROM {FROM} WHERE c.id = $1");
    on_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_one(conn).await)
}

/// Filters of a charger's command log.
#[derive(Debug, Default)]
pub struct CommandFilter {
    pub action: Option<String>,
    pub status: Option<String>,
}

/// One page of `charge_point_id`'s commands, newest first.
pub async fn list(
    db: &Db,
    charge_point_id: &str,
    f: &CommandFilter,
    page: PageRequest,
) -> Result<PageOf<CommandRow>, sqlx::Error> {
    let mut w = Where::new(&[]);
    w.compare("c.charge_point_id", "=", charge_point_id.to_owned())
        .eq_opt("c.action", f.action.as_deref())
        .eq_opt("c.status", f.status.as_deref());
    // Ids grow with time: newest first is the id descending, exactly.
    let sort = Sort::new("c.id", true, "c.id");
    filter::list(db, SELECT, FROM, &w, &sort, page).await
}

/// A session as a remote stop needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionOnCharger {
    pub id: i64,
    pub status: String,
    pub transaction_id: Option<i64>,
    pub charge_point_id: Option<String>,
}

const SESSION_ON_CHARGER: &str = concat!(
    "SELECT cs.id, cs.status, cs.transaction_id, cp.device_id AS charge_point_id ",
    "FROM charging_sessions cs JOIN charging_points cp ON cp.id = cs.charging_point_id "
);

pub async fn session_by_id(
    db: &Db,
    session_id: &str,
) -> Result<Option<SessionOnCharger>, sqlx::Error> {
    let sql = format!("{SESSION_ON_CHARGER} WHERE cs.session_id = $1");
    on_read!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(session_id).fetch_optional(pool).await)
}

pub async fn session_by_transaction(
    db: &Db,
    transaction_id: i64,
) -> Result<Option<SessionOnCharger>, sqlx::Error> {
    let sql = format!("{SESSION_ON_CHARGER} WHERE cs.transaction_id = $1");
    on_read!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(transaction_id).fetch_optional(pool).await)
}
