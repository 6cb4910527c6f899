//! Reservations (ReserveNow): the row's id is OCPP's `reservationId`. An Accepted reservation
//! past its expiry is read as Expired; no sweep is needed for it to lapse.

use chrono::{DateTime, Utc};

use super::{Db, Tx};
use crate::domain::command::Reservation;
use crate::{on_read, on_tx, on_write};

const SELECT: &str = concat!(
    "SELECT r.id, r.charge_point_id, r.connector_number, r.id_tag, r.parent_id_tag, r.expiry_date, ",
    "CASE WHEN r.status = 'Accepted' AND r.expiry_date <= $1 THEN 'Expired' ELSE r.status END AS status, ",
    "s.session_id, r.command_id, r.created_at, r.updated_at ",
    "FROM reservations r LEFT JOIN charging_sessions s ON s.id = r.session_id"
);

#[derive(Debug, Clone)]
pub struct NewReservation {
    pub charge_point_id: String,
    pub connector_number: i32,
    pub id_tag: String,
    pub parent_id_tag: Option<String>,
    pub expiry_date: DateTime<Utc>,
}

/// Records a reservation about to be requested; returns its id.
pub async fn insert(db: &Db, r: &NewReservation, now: DateTime<Utc>) -> Result<i64, sqlx::Error> {
    let sql = concat!(
        "INSERT INTO reservations (charge_point_id, connector_number, id_tag, parent_id_tag, ",
        "expiry_date, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'Requested', $6, $6) RETURNING id"
    );
    on_write!(db, pool => sqlx::query_scalar(sql)
        .bind(&r.charge_point_id).bind(r.connector_number).bind(&r.id_tag)
        .bind(r.parent_id_tag.as_deref()).bind(r.expiry_date).bind(now)
        .fetch_one(pool).await)
}

pub async fn find(db: &Db, id: i64) -> Result<Option<Reservation>, sqlx::Error> {
    let sql = format!("{SELECT} WHERE r.id = $2");
    on_read!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(super::now()).bind(id).fetch_optional(pool).await)
}

/// A charger's reservations, newest first (at most `limit`).
pub async fn of_charger(
    db: &Db,
    charge_point_id: &str,
    limit: i64,
) -> Result<Vec<Reservation>, sqlx::Error> {
    let sql = format!("{SELECT} WHERE r.charge_point_id = $2 ORDER BY r.id DESC LIMIT $3");
    on_read!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(super::now()).bind(charge_point_id).bind(limit).fetch_all(pool).await)
}

/// Sets reservation `id`'s status (the charger's answer, or what became of the command).
pub async fn set_status(
    tx: &mut Tx,
    id: i64,
    status: &str,
    command_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let sql = "UPDATE reservations SET status = $2, command_id = COALESCE($3, command_id), updated_at = $4 WHERE id = $1";
    on_tx!(tx, conn => sqlx::query(sql).bind(id).bind(status).bind(command_id).bind(now).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// A StartTransaction carrying `reservation_id` on `charge_point_id` used it for session record
/// `session`. A reservation of another charger is left alone.
pub async fn use_for(
    tx: &mut Tx,
    charge_point_id: &str,
    reservation_id: i64,
    session: i64,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let sql = concat!(
        "UPDATE reservations SET status = 'Used', session_id = $3, updated_at = $4 ",
        "WHERE id = $1 AND charge_point_id = $2 AND status IN ('Accepted', 'Requested')"
    );
    let done = on_tx!(tx, conn => sqlx::query(sql).bind(reservation_id).bind(charge_point_id).bind(session).bind(now).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(done > 0)
}
