//! The SQL of OCPP transactions: who an idTag charges to (idTags compare case-insensitively, as
//! OCPP's CiString does), and the session rows that
//! StartTransaction opens and StopTransaction settles. The rules live in `ocpp::transaction`.

use chrono::{DateTime, Utc};

use super::{Db, Tx};
use crate::domain::enums::{Currency, SessionStatus};
use crate::fixed::{Money, Percent};
use crate::{on_read, on_tx};

/// The customer an idTag charges to, as needed to authorize it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TagHolder {
    pub customer_id: i64,
    pub blocked: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub customer_deleted: bool,
    pub wallet_balance: Money,
    /// Sessions of this tag now Active anywhere.
    pub active_sessions: i64,
}

macro_rules! tag_holder_sql {
    () => {
        concat!(
            "SELECT t.customer_id, t.blocked, t.expires_at, c.deleted AS customer_deleted, c.wallet_balance, ",
            "(SELECT COUNT(*) FROM charging_sessions s WHERE LOWER(s.id_tag) = LOWER(t.id_tag) AND s.status = 'Active') AS active_sessions ",
            "FROM id_tags t JOIN customers c ON c.id = t.customer_id WHERE LOWER(t.id_tag) = LOWER($1)"
        )
    };
}

/// The holder of `id_tag`, outside any transaction (Authorize).
pub async fn tag_holder(db: &Db, id_tag: &str) -> Result<Option<TagHolder>, sqlx::Error> {
    on_read!(db, pool => sqlx::query_as(tag_holder_sql!()).bind(id_tag).fetch_optional(pool).await)
}

/// The holder of `id_tag` inside `tx`, after [`lock_tag_customer`] (StartTransaction).
pub async fn tag_holder_in(tx: &mut Tx, id_tag: &str) -> Result<Option<TagHolder>, sqlx::Error> {
    on_tx!(tx, conn => sqlx::query_as(tag_holder_sql!()).bind(id_tag).fetch_optional(conn).await)
}

/// Locks the customer `id_tag` charges to, so two chargers starting with the same tag, or an
/// operator deleting the customer, wait for each other. Returns whether the tag exists.
pub async fn lock_tag_customer(tx: &mut Tx, id_tag: &str) -> Result<bool, sqlx::Error> {
    let sql = concat!(
        "UPDATE customers SET updated_at = updated_at ",
        "WHERE id = (SELECT customer_id FROM id_tags WHERE LOWER(id_tag) = LOWER($1)) RETURNING id"
    );
    let locked: Option<i64> =
        on_tx!(tx, conn => sqlx::query_scalar(sql).bind(id_tag).fetch_optional(conn).await)?;
    Ok(locked.is_some())
}

/// A live point, locked, with the tariff in force on it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PointForStart {
    pub point_id: i64,
    pub tariff_id: Option<i64>,
    pub currency: Option<Currency>,
    pub base_charges: Option<Money>,
    pub tax: Option<Percent>,
}

/// Locks the live point of `charge_point_id` (Starts and Stops on one charger queue behind each
/// other) and reads its tariff.
pub async fn lock_point(
    tx: &mut Tx,
    charge_point_id: &str,
) -> Result<Option<PointForStart>, sqlx::Error> {
    let lock = "UPDATE charging_points SET updated_at = updated_at WHERE device_id = $1 AND deleted = FALSE RETURNING id";
    let point_id: Option<i64> = on_tx!(tx, conn => sqlx::query_scalar(lock).bind(charge_point_id).fetch_optional(conn).await)?;
    let Some(point_id) = point_id else {
        return Ok(None);
    };
    let sql = concat!(
        "SELECT p.id AS point_id, t.id AS tariff_id, t.currency, t.base_charges, t.tax ",
        "FROM charging_points p LEFT JOIN tariffs t ON t.id = p.tariff_id WHERE p.id = $1"
    );
    on_tx!(tx, conn => sqlx::query_as(sql).bind(point_id).fetch_optional(conn).await)
}

/// The record id of connector `number` of `point_id`, if the point has it.
pub async fn connector_record(
    tx: &mut Tx,
    point_id: i64,
    number: u32,
) -> Result<Option<i64>, sqlx::Error> {
    let sql = "SELECT id FROM connectors WHERE charging_point_id = $1 AND connector_id = $2 AND deleted = FALSE";
    on_tx!(tx, conn => sqlx::query_scalar(sql).bind(point_id).bind(number.to_string()).fetch_optional(conn).await)
}

/// A session recorded from an earlier copy of the same StartTransaction.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RepeatedStart {
    pub transaction_id: i64,
    /// The idTag status the first copy was answered with.
    pub id_tag_status: Option<String>,
}

/// A session already opened by the same StartTransaction (same point, tag, time and meter).
pub async fn repeated_start(
    tx: &mut Tx,
    point_id: i64,
    id_tag: &str,
    start_time: DateTime<Utc>,
    meter_start_wh: i64,
) -> Result<Option<RepeatedStart>, sqlx::Error> {
    let sql = concat!(
        "SELECT transaction_id, id_tag_status FROM charging_sessions ",
        "WHERE charging_point_id = $1 AND id_tag = $2 AND start_time = $3 AND meter_start_wh = $4"
    );
    on_tx!(tx, conn => sqlx::query_as(sql)
        .bind(point_id).bind(id_tag).bind(start_time).bind(meter_start_wh)
        .fetch_optional(conn).await)
}

/// Gives session `id` its OCPP transaction id: its own record id, unique and positive.
pub async fn assign_transaction_id(tx: &mut Tx, id: i64) -> Result<i64, sqlx::Error> {
    let sql =
        "UPDATE charging_sessions SET transaction_id = id WHERE id = $1 RETURNING transaction_id";
    on_tx!(tx, conn => sqlx::query_scalar(sql).bind(id).fetch_one(conn).await)
}

/// What metering and billing need of a session.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionForBilling {
    pub id: i64,
    pub session_id: String,
    pub charging_point_id: i64,
    pub status: SessionStatus,
    pub customer_id: Option<i64>,
    pub id_tag: Option<String>,
    pub meter_start_wh: Option<i64>,
    /// The OCPP number of its connector (0 when unknown).
    pub connector: i32,
    /// Set once a Stop has settled the session.
    pub meter_stop_wh: Option<i64>,
    pub base_charges: Option<Money>,
    pub tax: Option<Percent>,
}

macro_rules! billing_columns {
    () => {
        concat!(
            "id, session_id, charging_point_id, status, customer_id, id_tag, meter_start_wh, ",
            "COALESCE((SELECT CAST(k.connector_id AS INTEGER) FROM connectors k WHERE k.id = charging_sessions.connector_id), 0) AS connector, ",
            "meter_stop_wh, base_charges, tax"
        )
    };
}

/// Locks and reads the session of OCPP `transaction_id` (StopTransaction).
pub async fn lock_by_transaction(
    tx: &mut Tx,
    transaction_id: i64,
) -> Result<Option<SessionForBilling>, sqlx::Error> {
    let sql = concat!(
        "UPDATE charging_sessions SET updated_at = updated_at WHERE transaction_id = $1 RETURNING ",
        billing_columns!()
    );
    on_tx!(tx, conn => sqlx::query_as(sql).bind(transaction_id).fetch_optional(conn).await)
}

/// Locks and reads the sessions still Active on connector record `connector` of `point_id`.
pub async fn active_on_connector(
    tx: &mut Tx,
    point_id: i64,
    connector: i64,
) -> Result<Vec<SessionForBilling>, sqlx::Error> {
    let sql = concat!(
        "UPDATE charging_sessions SET updated_at = updated_at ",
        "WHERE charging_point_id = $1 AND connector_id = $2 AND status = 'Active' RETURNING ",
        billing_columns!()
    );
    on_tx!(tx, conn => sqlx::query_as(sql).bind(point_id).bind(connector).fetch_all(conn).await)
}

/// Locks and reads the sessions of `point_id` still Active for `id_tag`.
pub async fn lock_active_of_tag(
    tx: &mut Tx,
    point_id: i64,
    id_tag: &str,
) -> Result<Vec<SessionForBilling>, sqlx::Error> {
    let sql = concat!(
        "UPDATE charging_sessions SET updated_at = updated_at ",
        "WHERE charging_point_id = $1 AND LOWER(id_tag) = LOWER($2) AND status = 'Active' RETURNING ",
        billing_columns!()
    );
    on_tx!(tx, conn => sqlx::query_as(sql).bind(point_id).bind(id_tag).fetch_all(conn).await)
}

/// Reads the session of OCPP `transaction_id` (MeterValues, which do not lock).
pub async fn by_transaction(
    db: &Db,
    transaction_id: i64,
) -> Result<Option<SessionForBilling>, sqlx::Error> {
    let sql = concat!(
        "SELECT ",
        billing_columns!(),
        " FROM charging_sessions WHERE transaction_id = $1"
    );
    on_read!(db, pool => sqlx::query_as(sql).bind(transaction_id).fetch_optional(pool).await)
}

/// How a session ends.
#[derive(Debug, Clone)]
pub struct Settlement {
    pub status: SessionStatus,
    pub end_time: DateTime<Utc>,
    pub meter_stop_wh: i64,
    pub energy_wh: i64,
    pub billed_amount: Option<Money>,
    pub stop_reason: Option<String>,
    pub anomaly: Option<String>,
}

/// Writes the end of session `id`.
pub async fn settle(
    tx: &mut Tx,
    id: i64,
    s: &Settlement,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let sql = concat!(
        "UPDATE charging_sessions SET status = $2, end_time = $3, meter_stop_wh = $4, energy_wh = $5, ",
        "billed_amount = $6, stop_reason = $7, anomaly = COALESCE($8, anomaly), updated_at = $9 WHERE id = $1"
    );
    on_tx!(tx, conn => sqlx::query(sql)
        .bind(id).bind(s.status).bind(s.end_time).bind(s.meter_stop_wh).bind(s.energy_wh)
        .bind(s.billed_amount).bind(&s.stop_reason).bind(&s.anomaly).bind(now)
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Flags session `id` for an operator.
pub async fn flag(tx: &mut Tx, id: i64, anomaly: &str) -> Result<(), sqlx::Error> {
    let sql = "UPDATE charging_sessions SET anomaly = $2 WHERE id = $1";
    on_tx!(tx, conn => sqlx::query(sql).bind(id).bind(anomaly).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}
