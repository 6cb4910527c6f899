//! The SQL of charging transactions: who an idTag charges to (idTags compare case-insensitively,
//! as OCPP's CiString does), and the session rows a Start opens and a settlement closes. The rules
//! live in `charging`.

use chrono::{DateTime, Utc};

use super::unnest::{self, column};
use super::{Db, Tx};
use crate::charging::tag::TagHolder;
use crate::domain::enums::{Currency, SessionStatus, SettledBy};
use crate::fixed::{Money, Percent};
use crate::{on_read, on_tx};

// Not prepared (`persistent(false)`), so PostgreSQL plans it with the tag at hand each time.
// Prepared and cached by a pooled connection, its generic plan, made while `charging_sessions`
// was small, counted the tag's running sessions by reading every running session: 20–34 ms per
// Authorize or Start once 19,000 were running, against 0.1 ms planned afresh (see
// docs/performance.md). Planning it costs less than a tenth of a millisecond.
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
    on_read!(db, pool => sqlx::query_as(tag_holder_sql!()).bind(id_tag).persistent(false).fetch_optional(pool).await)
}

/// The holder of `id_tag` inside `tx`, after [`lock_tag_customer`] (StartTransaction).
pub async fn tag_holder_in(tx: &mut Tx, id_tag: &str) -> Result<Option<TagHolder>, sqlx::Error> {
    on_tx!(tx, conn => sqlx::query_as(tag_holder_sql!()).bind(id_tag).persistent(false).fetch_optional(conn).await)
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
    /// Set once the session is settled.
    pub meter_stop_wh: Option<i64>,
    /// While Active, the live energy and running cost from the latest meter value; once settled,
    /// what was billed.
    pub energy_wh: Option<i64>,
    pub billed_amount: Option<Money>,
    pub settled_by: Option<SettledBy>,
    pub base_charges: Option<Money>,
    pub tax: Option<Percent>,
}

macro_rules! billing_columns {
    () => {
        concat!(
            "id, session_id, charging_point_id, status, customer_id, id_tag, meter_start_wh, ",
            "COALESCE((SELECT CAST(k.connector_id AS INTEGER) FROM connectors k WHERE k.id = charging_sessions.connector_id), 0) AS connector, ",
            "meter_stop_wh, energy_wh, billed_amount, settled_by, base_charges, tax"
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

/// How a session ends (or, after a provisional close, how the charger's own Stop ends it).
#[derive(Debug, Clone)]
pub struct Settlement {
    pub status: SessionStatus,
    pub end_time: DateTime<Utc>,
    pub meter_stop_wh: i64,
    pub energy_wh: i64,
    pub billed_amount: Option<Money>,
    pub stop_reason: Option<String>,
    /// Appended to the session's anomaly.
    pub anomaly: Option<String>,
    pub settled_by: SettledBy,
    pub settled_by_user_id: Option<i64>,
    pub settle_note: Option<String>,
}

/// Writes the end of session `id`.
pub async fn settle(
    tx: &mut Tx,
    id: i64,
    s: &Settlement,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    settle_many(tx, &[(id, s)], now).await
}

/// Writes the end of many sessions (record id, settlement; each session once) in a few
/// statements.
pub async fn settle_many(
    tx: &mut Tx,
    settlements: &[(i64, &Settlement)],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    const HEAD: &str = concat!(
        "UPDATE charging_sessions SET status = v.column2, end_time = v.column3, meter_stop_wh = v.column4, ",
        "energy_wh = v.column5, billed_amount = v.column6, stop_reason = v.column7, ",
        "anomaly = CASE WHEN anomaly IS NULL THEN v.column8 WHEN v.column8 IS NULL THEN anomaly ",
        "ELSE SUBSTR(anomaly || '; ' || v.column8, 1, 255) END, ",
        "settled_by = v.column9, settled_by_user_id = v.column10, settle_note = v.column11, ",
        "settled_at = v.column12, updated_at = v.column12 FROM ("
    );
    const TAIL: &str = ") AS v WHERE charging_sessions.id = v.column1";
    if let Some(t) = unnest::worth_joining(tx, settlements.len()) {
        const TYPES: [&str; 12] = [
            "int8",
            "text",
            "timestamptz",
            "int8",
            "int8",
            "numeric",
            "text",
            "text",
            "text",
            "int8",
            "text",
            "timestamptz",
        ];
        let sql = unnest::statement(HEAD, &TYPES, TAIL);
        let rows = settlements;
        sqlx::query(sql)
            .persistent(false)
            .bind(column(rows, |(id, _)| *id))
            .bind(column(rows, |(_, s)| s.status.as_str()))
            .bind(column(rows, |(_, s)| s.end_time))
            .bind(column(rows, |(_, s)| s.meter_stop_wh))
            .bind(column(rows, |(_, s)| s.energy_wh))
            .bind(column(rows, |(_, s)| s.billed_amount.map(Money::decimal)))
            .bind(column(rows, |(_, s)| s.stop_reason.as_deref()))
            .bind(column(rows, |(_, s)| s.anomaly.as_deref()))
            .bind(column(rows, |(_, s)| s.settled_by.as_str()))
            .bind(column(rows, |(_, s)| s.settled_by_user_id))
            .bind(column(rows, |(_, s)| s.settle_note.as_deref()))
            .bind(column(rows, |_| now))
            .execute(t)
            .await?;
        return Ok(());
    }
    crate::execute_values!(tx, HEAD, TAIL, settlements, |b, row| {
        let (id, s) = row;
        b.push_bind(*id)
            .push_bind(s.status)
            .push_bind(s.end_time)
            .push_bind(s.meter_stop_wh)
            .push_bind(s.energy_wh)
            .push_bind(s.billed_amount)
            .push_bind(s.stop_reason.clone())
            .push_bind(s.anomaly.clone())
            .push_bind(s.settled_by)
            .push_bind(s.settled_by_user_id)
            .push_bind(s.settle_note.clone())
            .push_bind(now);
    })?;
    Ok(())
}

/// Locks the live points of many chargers (`device_id`s); gives each found point's record id by
/// its charger.
pub async fn lock_points_of(
    tx: &mut Tx,
    charge_point_ids: &[&str],
) -> Result<std::collections::HashMap<String, i64>, sqlx::Error> {
    const HEAD: &str =
        "SELECT charging_points.device_id, charging_points.id FROM charging_points JOIN (";
    const TAIL: &str =
        ") AS v ON charging_points.device_id = v.column1 WHERE charging_points.deleted = FALSE";
    let tail = [TAIL, &tx.row_lock("charging_points")].concat();
    let rows: Vec<(String, i64)> =
        crate::fetch_by_keys!(tx, HEAD, &tail, "text", charge_point_ids, (String, i64))?;
    Ok(rows.into_iter().collect())
}

/// A session locked by its OCPP transaction id.
#[derive(sqlx::FromRow)]
struct OfTransaction {
    transaction_id: i64,
    #[sqlx(flatten)]
    session: SessionForBilling,
}

/// Locks and reads the sessions of many OCPP transaction ids (distinct), by transaction id
/// (StopTransactions settled together).
pub async fn lock_by_transactions(
    tx: &mut Tx,
    transaction_ids: &[i64],
) -> Result<std::collections::HashMap<i64, SessionForBilling>, sqlx::Error> {
    const HEAD: &str = concat!(
        "SELECT transaction_id, ",
        billing_columns!(),
        " FROM charging_sessions JOIN ("
    );
    const TAIL: &str = ") AS v ON charging_sessions.transaction_id = v.column1";
    let tail = [TAIL, &tx.row_lock("charging_sessions")].concat();
    let rows: Vec<OfTransaction> =
        crate::fetch_by_keys!(tx, HEAD, &tail, "int8", transaction_ids, OfTransaction)?;
    Ok(rows
        .into_iter()
        .map(|r| (r.transaction_id, r.session))
        .collect())
}

/// An Active session whose Stop may never come: its connector reported Available, or its charger
/// booted again with no meter value since, at `since`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Abandoned {
    pub id: i64,
    pub available_at: Option<DateTime<Utc>>,
    pub booted_at: Option<DateTime<Utc>>,
}

/// Active sessions abandoned (see [`Abandoned`]) at or before `cutoff`.
pub async fn abandoned(db: &Db, cutoff: DateTime<Utc>) -> Result<Vec<Abandoned>, sqlx::Error> {
    let sql = concat!(
        "SELECT s.id, ",
        "CASE WHEN k.status = 'Available' AND k.status_at >= s.start_time AND k.status_at <= $1 THEN k.status_at END AS available_at, ",
        "CASE WHEN c.last_boot_at > s.start_time AND c.last_boot_at <= $1 ",
        "AND (s.meter_last_at IS NULL OR s.meter_last_at < c.last_boot_at) THEN c.last_boot_at END AS booted_at ",
        "FROM charging_sessions s JOIN charging_points p ON p.id = s.charging_point_id ",
        "LEFT JOIN connectors k ON k.id = s.connector_id ",
        "LEFT JOIN chargers c ON c.charge_point_id = p.device_id ",
        "WHERE s.status = 'Active' AND (",
        "(k.status = 'Available' AND k.status_at >= s.start_time AND k.status_at <= $1) ",
        "OR (c.last_boot_at > s.start_time AND c.last_boot_at <= $1 ",
        "AND (s.meter_last_at IS NULL OR s.meter_last_at < c.last_boot_at)))"
    );
    on_read!(db, pool => sqlx::query_as(sql).bind(cutoff).fetch_all(pool).await)
}

/// Locks and reads session `id` if it is still Active.
pub async fn lock_active(tx: &mut Tx, id: i64) -> Result<Option<SessionForBilling>, sqlx::Error> {
    let sql = concat!(
        "UPDATE charging_sessions SET updated_at = updated_at WHERE id = $1 AND status = 'Active' RETURNING ",
        billing_columns!()
    );
    on_tx!(tx, conn => sqlx::query_as(sql).bind(id).fetch_optional(conn).await)
}

/// Flags, once, the Active sessions with no meter value since `cutoff` (or since their start).
pub async fn flag_silent(
    tx: &mut Tx,
    cutoff: DateTime<Utc>,
    note: &str,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let sql = concat!(
        "UPDATE charging_sessions SET meter_silence_flagged_at = $1, updated_at = $1, ",
        "anomaly = CASE WHEN anomaly IS NULL THEN $3 ELSE SUBSTR(anomaly || '; ' || $3, 1, 255) END ",
        "WHERE status = 'Active' AND meter_silence_flagged_at IS NULL AND COALESCE(meter_last_at, start_time) <= $2"
    );
    on_tx!(tx, conn => sqlx::query(sql).bind(now).bind(cutoff).bind(note)
        .execute(conn).await.map(|r| r.rows_affected()))
}

/// Locks and reads the session whose public id is `session_id`.
pub async fn lock_by_session_id(
    tx: &mut Tx,
    session_id: &str,
) -> Result<Option<SessionForBilling>, sqlx::Error> {
    let sql = concat!(
        "UPDATE charging_sessions SET updated_at = updated_at WHERE session_id = $1 RETURNING ",
        billing_columns!()
    );
    on_tx!(tx, conn => sqlx::query_as(sql).bind(session_id).fetch_optional(conn).await)
}

/// The statements of many StartTransactions at once (`charging::starts`). Each input row carries
/// its index in the caller's list, and each answer row gives it back: rows are matched by that
/// index, never by their order.
pub mod many {
    use std::collections::{HashMap, HashSet};

    use chrono::{DateTime, Utc};

    use super::PointForStart;
    use crate::charging::tag::TagHolder;
    use crate::db::{Db, Tx, copy};
    use crate::domain::session::NewSession;
    use crate::fetch_values;

    #[derive(sqlx::FromRow)]
    struct PointRow {
        device_id: String,
        #[sqlx(flatten)]
        point: PointForStart,
    }

    /// Locks the live points of many chargers (distinct) and reads their tariffs, by charger.
    pub async fn lock_points(
        tx: &mut Tx,
        charge_point_ids: &[&str],
    ) -> Result<HashMap<String, PointForStart>, sqlx::Error> {
        const HEAD: &str = concat!(
            "SELECT charging_points.device_id, charging_points.id AS point_id, charging_points.tariff_id, ",
            "(SELECT t.currency FROM tariffs t WHERE t.id = charging_points.tariff_id) AS currency, ",
            "(SELECT t.base_charges FROM tariffs t WHERE t.id = charging_points.tariff_id) AS base_charges, ",
            "(SELECT t.tax FROM tariffs t WHERE t.id = charging_points.tariff_id) AS tax ",
            "FROM charging_points JOIN ("
        );
        const TAIL: &str =
            ") AS v ON charging_points.device_id = v.column1 WHERE charging_points.deleted = FALSE";
        let tail = [TAIL, &tx.row_lock("charging_points")].concat();
        let rows = fetch_values!(
            tx,
            HEAD,
            &tail,
            charge_point_ids,
            PointRow,
            true,
            |b, id| {
                b.push_bind(*id);
            }
        )?;
        Ok(rows.into_iter().map(|r| (r.device_id, r.point)).collect())
    }

    /// A Start to look for: its index, point, tag, time and meter start.
    pub type StartKey<'a> = (i64, i64, &'a str, DateTime<Utc>, i64);

    /// The indexes of `starts` recorded already (an earlier copy of the same Start).
    pub async fn repeated(
        tx: &mut Tx,
        starts: &[StartKey<'_>],
    ) -> Result<HashSet<i64>, sqlx::Error> {
        const HEAD: &str = "SELECT DISTINCT v.column1 FROM (";
        const TAIL: &str = concat!(
            ") AS v JOIN charging_sessions s ON s.charging_point_id = v.column2 AND s.id_tag = v.column3 ",
            "AND s.start_time = v.column4 AND s.meter_start_wh = v.column5"
        );
        let rows = fetch_values!(tx, HEAD, TAIL, starts, (i64,), true, |b, s| {
            b.push_bind(s.0)
                .push_bind(s.1)
                .push_bind(s.2)
                .push_bind(s.3)
                .push_bind(s.4);
        })?;
        Ok(rows.into_iter().map(|(i,)| i).collect())
    }

    /// A connector to look at: its index, point and number.
    pub type ConnectorKey = (i64, i64, String);

    /// For each of `connectors`, by index: its live record id (None when the point has no such
    /// connector) and how many sessions are still Active on it.
    pub async fn connectors(
        tx: &mut Tx,
        connectors: &[ConnectorKey],
    ) -> Result<HashMap<i64, (Option<i64>, i64)>, sqlx::Error> {
        // A join, not a subquery per connector: planned on a table it takes for tiny (no
        // statistics yet, a storm's first thousands of Starts), PostgreSQL ran such a subquery
        // as a scan of every running session for each connector, quadratic in a storm (1.7 s
        // for a batch of 231). A join's worst plan reads the running sessions once per batch.
        const HEAD: &str = "SELECT v.column1, k.id, COUNT(s.id) FROM (";
        const TAIL: &str = concat!(
            ") AS v LEFT JOIN connectors k ON k.charging_point_id = v.column2 AND k.connector_id = v.column3 AND k.deleted = FALSE ",
            "LEFT JOIN charging_sessions s ON s.charging_point_id = v.column2 AND s.connector_id = k.id AND s.status = 'Active' ",
            "GROUP BY v.column1, k.id"
        );
        let rows = fetch_values!(
            tx,
            HEAD,
            TAIL,
            connectors,
            (i64, Option<i64>, i64),
            true,
            |b, c| {
                b.push_bind(c.0).push_bind(c.1).push_bind(&c.2);
            }
        )?;
        Ok(rows
            .into_iter()
            .map(|(i, id, active)| (i, (id, active)))
            .collect())
    }

    /// Locks the customers that `tags` charge to.
    pub async fn lock_tag_customers(tx: &mut Tx, tags: &[&str]) -> Result<(), sqlx::Error> {
        if !tx.locks_rows() {
            return Ok(());
        }
        const HEAD: &str = "SELECT customers.id FROM customers WHERE customers.id IN (SELECT t.customer_id FROM id_tags t JOIN (";
        const TAIL: &str = ") AS v ON LOWER(t.id_tag) = LOWER(v.column1))";
        let tail = [TAIL, &tx.row_lock("customers")].concat();
        crate::execute_values!(tx, HEAD, &tail, tags, |b, tag| {
            b.push_bind(*tag);
        })?;
        Ok(())
    }

    #[derive(sqlx::FromRow)]
    struct HolderRow {
        index: i64,
        #[sqlx(flatten)]
        holder: TagHolder,
    }

    // The holders of many tags: a subquery per tag, not a join: a join let PostgreSQL hash every
    // id tag and every running session on LOWER(id_tag) for each batch (0.8 ms a tag in a storm,
    // against 0.07 ms), and a tag has at most a running session or two, found by its own index.
    const HOLDERS_HEAD: &str = concat!(
        "SELECT v.column1 AS \"index\", t.customer_id, t.blocked, t.expires_at, c.deleted AS customer_deleted, c.wallet_balance, ",
        "(SELECT COUNT(*) FROM charging_sessions s WHERE LOWER(s.id_tag) = LOWER(t.id_tag) AND s.status = 'Active') AS active_sessions ",
        "FROM ("
    );
    const HOLDERS_TAIL: &str = ") AS v JOIN id_tags t ON LOWER(t.id_tag) = LOWER(v.column2) JOIN customers c ON c.id = t.customer_id";

    /// The holders of `tags` (index, tag) after [`lock_tag_customers`], by index; unknown tags
    /// are missing. Sent unprepared, like `tag_holder_in` and for the same reason.
    pub async fn tag_holders(
        tx: &mut Tx,
        tags: &[(i64, &str)],
    ) -> Result<HashMap<i64, TagHolder>, sqlx::Error> {
        let rows = fetch_values!(
            tx,
            HOLDERS_HEAD,
            HOLDERS_TAIL,
            tags,
            HolderRow,
            false,
            |b, t| {
                b.push_bind(t.0).push_bind(t.1);
            }
        )?;
        Ok(rows.into_iter().map(|r| (r.index, r.holder)).collect())
    }

    /// [`tag_holders`] outside any transaction, on the read pool (Authorizes arriving together).
    pub async fn tag_holders_read(
        db: &Db,
        tags: &[(i64, &str)],
    ) -> Result<HashMap<i64, TagHolder>, sqlx::Error> {
        let mut found = HashMap::with_capacity(tags.len());
        for chunk in tags.chunks(crate::db::ROWS_PER_STATEMENT) {
            let rows: Vec<HolderRow> = crate::on_read!(db, pool => {
                let mut q = sqlx::QueryBuilder::new(HOLDERS_HEAD);
                q.push_values(chunk, |mut b, t| {
                    b.push_bind(t.0).push_bind(t.1);
                });
                q.push(HOLDERS_TAIL);
                q.build_query_as().persistent(false).fetch_all(pool).await
            })?;
            found.extend(rows.into_iter().map(|r| (r.index, r.holder)));
        }
        Ok(found)
    }

    /// Inserts `sessions` and gives each its OCPP transaction id (its record id, as
    /// `assign_transaction_id` does); gives the record ids by public `session_id`.
    ///
    /// The ids are taken first ([`reserve_session_ids`]) so that each row is written once with
    /// its transaction id: setting it afterwards wrote every new session again, and on
    /// PostgreSQL (where the transaction id's unique index makes that a new row version) with
    /// an entry in each of its indexes, doubling the cost of the insert.
    pub async fn insert_sessions(
        tx: &mut Tx,
        sessions: &[&NewSession],
        now: DateTime<Utc>,
    ) -> Result<HashMap<String, i64>, sqlx::Error> {
        let ids = reserve_session_ids(tx, sessions.len()).await?;
        let rows: Vec<(i64, &NewSession)> = ids.into_iter().zip(sessions.iter().copied()).collect();
        const COLUMNS: &str = concat!(
            "charging_sessions (id, transaction_id, session_id, customer_id, charging_point_id, connector_id, ",
            "start_time, status, id_tag, meter_start_wh, id_tag_status, anomaly, tariff_id, currency, base_charges, tax, ",
            "created_at, updated_at)"
        );
        if let Some(t) = copy::worth_copying(tx, rows.len()) {
            let statement = ["COPY ", COLUMNS, " FROM STDIN"].concat();
            copy::copy_in(t, &statement, &rows, |c, row| {
                let (id, s) = row;
                c.value(id)
                    .value(id)
                    .value(&s.session_id)
                    .maybe(s.customer_id)
                    .value(s.charging_point_id)
                    .maybe(s.connector_id)
                    .time(s.start_time)
                    .value(s.status)
                    .maybe(s.id_tag.as_deref())
                    .maybe(s.meter_start_wh)
                    .maybe(s.id_tag_status.as_deref())
                    .maybe(s.anomaly.as_deref())
                    .maybe(s.tariff_id)
                    .maybe(s.currency)
                    .maybe(s.base_charges)
                    .maybe(s.tax)
                    .time(now)
                    .time(now);
            })
            .await?;
        } else {
            let head = ["INSERT INTO ", COLUMNS, " "].concat();
            insert_session_rows(tx, &head, &rows, now).await?;
        }
        Ok(rows
            .into_iter()
            .map(|(id, s)| (s.session_id.clone(), id))
            .collect())
    }

    async fn insert_session_rows(
        tx: &mut Tx,
        head: &str,
        rows: &[(i64, &NewSession)],
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        crate::execute_values!(tx, head, "", rows, |b, row| {
            let (id, s) = row;
            b.push_bind(*id)
                .push_bind(*id)
                .push_bind(&s.session_id)
                .push_bind(s.customer_id)
                .push_bind(s.charging_point_id)
                .push_bind(s.connector_id)
                .push_bind(s.start_time)
                .push_bind(s.status)
                .push_bind(&s.id_tag)
                .push_bind(s.meter_start_wh)
                .push_bind(&s.id_tag_status)
                .push_bind(&s.anomaly)
                .push_bind(s.tariff_id)
                .push_bind(s.currency)
                .push_bind(s.base_charges)
                .push_bind(s.tax)
                .push_bind(now)
                .push_bind(now);
        })?;
        Ok(())
    }

    /// Takes `n` new session record ids, ascending, as `n` inserts would have been given them:
    /// on PostgreSQL from the id's identity sequence; on SQLite the next after the largest ever
    /// given (AUTOINCREMENT never gives one twice), which no one else can take while this
    /// transaction holds the write lock, and which the inserts then record as given.
    async fn reserve_session_ids(tx: &mut Tx, n: usize) -> Result<Vec<i64>, sqlx::Error> {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        match tx {
            Tx::Postgres(t) => {
                let sql = "SELECT nextval(pg_get_serial_sequence('charging_sessions', 'id')) FROM generate_series(1, $1)";
                sqlx::query_scalar(sql).bind(n).fetch_all(&mut **t).await
            }
            Tx::Sqlite(t) => {
                let sql = concat!(
                    "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'charging_sessions'), 0), ",
                    "COALESCE((SELECT MAX(id) FROM charging_sessions), 0))"
                );
                let last: i64 = sqlx::query_scalar(sql).fetch_one(&mut **t).await?;
                Ok((last + 1..=last + n).collect())
            }
        }
    }
}
