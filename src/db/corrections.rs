//! Operator corrections of a settled session's bill (`session_corrections`), each tied to the
//! wallet ledger entry that moved the money.

use chrono::{DateTime, Utc};

use super::{Db, Tx};
use crate::domain::enums::CorrectionKind;
use crate::domain::session::SessionCorrection;
use crate::fixed::Money;
use crate::{on_read, on_tx};

macro_rules! columns {
    () => {
        concat!(
            "sc.id, cs.session_id, sc.kind, sc.amount, sc.reason, sc.wallet_transaction_id, ",
            "w.balance AS balance_after, sc.user_id AS created_by, sc.created_at"
        )
    };
}

macro_rules! from {
    () => {
        concat!(
            "session_corrections sc JOIN charging_sessions cs ON cs.id = sc.session_id ",
            "JOIN wallet_transactions w ON w.id = sc.wallet_transaction_id"
        )
    };
}

const OF_SESSION: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM ",
    from!(),
    " WHERE sc.session_id = $1 ORDER BY sc.id"
);

/// A correction to record.
#[derive(Debug, Clone)]
pub struct NewCorrection<'a> {
    pub session: i64,
    pub wallet_transaction_id: i64,
    pub kind: CorrectionKind,
    pub amount: Money,
    pub reason: &'a str,
    pub user_id: i64,
}

pub async fn insert(
    tx: &mut Tx,
    c: &NewCorrection<'_>,
    now: DateTime<Utc>,
) -> Result<SessionCorrection, sqlx::Error> {
    let sql = concat!(
        "INSERT INTO session_corrections (session_id, wallet_transaction_id, kind, amount, reason, user_id, created_at) ",
        "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id"
    );
    let id: i64 = on_tx!(tx, conn => sqlx::query_scalar(sql)
        .bind(c.session).bind(c.wallet_transaction_id).bind(c.kind).bind(c.amount)
        .bind(c.reason).bind(c.user_id).bind(now)
        .fetch_one(conn).await)?;
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM ",
        from!(),
        " WHERE sc.id = $1"
    );
    on_tx!(tx, conn => sqlx::query_as(sql).bind(id).fetch_one(conn).await)
}

/// The corrections of session record `session`, oldest first.
pub async fn of_session(db: &Db, session: i64) -> Result<Vec<SessionCorrection>, sqlx::Error> {
    on_read!(db, pool => sqlx::query_as(OF_SESSION).bind(session).fetch_all(pool).await)
}

/// The corrections of session record `session` so far, inside `tx` (after locking the session).
pub async fn of_session_in(
    tx: &mut Tx,
    session: i64,
) -> Result<Vec<SessionCorrection>, sqlx::Error> {
    on_tx!(tx, conn => sqlx::query_as(OF_SESSION).bind(session).fetch_all(conn).await)
}
