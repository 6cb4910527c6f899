//! The OCPP message log's rows: written in batches, read per charger, pruned by age.

use chrono::{DateTime, Utc};

use super::filter::{self, PageOf, PageRequest, Sort, Where};
use super::unnest::{self, column};
use super::{Db, Tx, copy};
use crate::domain::charger::LoggedMessage;

/// One frame to log.
#[derive(Debug, Clone)]
pub struct MessageRow {
    pub charge_point_id: std::sync::Arc<str>,
    /// `in` (from the charger) or `out`.
    pub direction: &'static str,
    pub message_type: i32,
    pub message_id: Option<String>,
    pub action: Option<String>,
    pub payload: String,
    pub at: DateTime<Utc>,
}

pub async fn insert(tx: &mut Tx, rows: &[MessageRow]) -> Result<(), sqlx::Error> {
    if let Some(t) = copy::worth_copying(tx, rows.len()) {
        const COPY: &str = "COPY ocpp_messages (charge_point_id, direction, message_type, message_id, action, payload, at) FROM STDIN";
        copy::copy_in(t, COPY, rows, |c, r| {
            c.value(&r.charge_point_id)
                .value(r.direction)
                .value(r.message_type)
                .maybe(r.message_id.as_deref())
                .maybe(r.action.as_deref())
                .value(&r.payload)
                .time(r.at);
        })
        .await?;
        return Ok(());
    }
    const HEAD: &str = "INSERT INTO ocpp_messages (charge_point_id, direction, message_type, message_id, action, payload, at) ";
    if let Tx::Postgres(t) = tx {
        const TYPES: [&str; 7] = [
            "text",
            "text",
            "int4",
            "text",
            "text",
            "text",
            "timestamptz",
        ];
        sqlx::query(unnest::statement(HEAD, &TYPES, ""))
            .bind(column(rows, |r| &*r.charge_point_id))
            .bind(column(rows, |r| r.direction))
            .bind(column(rows, |r| r.message_type))
            .bind(column(rows, |r| r.message_id.as_deref()))
            .bind(column(rows, |r| r.action.as_deref()))
            .bind(column(rows, |r| r.payload.as_str()))
            .bind(column(rows, |r| r.at))
            .execute(&mut **t)
            .await?;
        return Ok(());
    }
    crate::execute_values!(tx, HEAD, "", rows, |b, r| {
        b.push_bind(r.charge_point_id.to_string())
            .push_bind(r.direction)
            .push_bind(r.message_type)
            .push_bind(r.message_id.clone())
            .push_bind(r.action.clone())
            .push_bind(r.payload.clone())
            .push_bind(r.at);
    })?;
    Ok(())
}

/// Filters of a charger's message log.
#[derive(Debug, Default)]
pub struct MessageFilter {
    pub action: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// One page of `charge_point_id`'s logged frames.
pub async fn list(
    db: &Db,
    charge_point_id: &str,
    f: &MessageFilter,
    sort: &Sort,
    page: PageRequest,
) -> Result<PageOf<LoggedMessage>, sqlx::Error> {
    let mut w = Where::new(&[]);
    w.compare("charge_point_id", "=", charge_point_id.to_owned())
        .eq_opt("action", f.action.as_deref())
        .between_opt("at", f.from, f.to);
    let columns = "id, charge_point_id, direction, message_type, message_id, action, payload, at";
    filter::list(db, columns, "ocpp_messages", &w, sort, page).await
}

/// Deletes the frames logged before `cutoff`; returns how many.
pub async fn prune(db: &Db, cutoff: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let sql = "DELETE FROM ocpp_messages WHERE at < $1";
    crate::on_write!(db, pool => sqlx::query(sql).bind(cutoff).execute(pool).await.map(|r| r.rows_affected()))
}
