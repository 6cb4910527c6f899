//! What commands set on a charger and evcms keeps: its configuration as last read or changed
//! (GetConfiguration, ChangeConfiguration) and its charging profiles (SetChargingProfile,
//! ClearChargingProfile).

use chrono::{DateTime, Utc};

use super::{Db, Tx};
use crate::domain::command::{ChargingProfileRecord, ConfigurationKey};
use crate::{on_read, on_tx};

/// A configuration key as read or changed.
#[derive(Debug, Clone)]
pub struct KeyUpdate<'a> {
    pub key: &'a str,
    pub value: Option<&'a str>,
    /// None keeps what was known (a change does not say whether the key is read-only).
    pub readonly: Option<bool>,
    pub status: &'static str,
}

pub async fn upsert_key(
    tx: &mut Tx,
    charge_point_id: &str,
    k: &KeyUpdate<'_>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let sql = concat!(
        "INSERT INTO charger_configuration (charge_point_id, key, value, readonly, status, updated_at) ",
        "VALUES ($1, $2, $3, COALESCE($4, FALSE), $5, $6) ON CONFLICT (charge_point_id, key) DO UPDATE SET ",
        "value = excluded.value, readonly = COALESCE($4, charger_configuration.readonly), ",
        "status = excluded.status, updated_at = excluded.updated_at"
    );
    on_tx!(tx, conn => sqlx::query(sql).bind(charge_point_id).bind(k.key).bind(k.value)
        .bind(k.readonly).bind(k.status).bind(now).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// A charger's configuration as last known, by key.
pub async fn configuration(
    db: &Db,
    charge_point_id: &str,
) -> Result<Vec<ConfigurationKey>, sqlx::Error> {
    let sql = "SELECT key, value, readonly, status, updated_at FROM charger_configuration WHERE charge_point_id = $1 ORDER BY key";
    on_read!(db, pool => sqlx::query_as(sql).bind(charge_point_id).fetch_all(pool).await)
}

/// A profile the charger accepted.
#[derive(Debug, Clone)]
pub struct NewProfile<'a> {
    pub charge_point_id: &'a str,
    pub connector_number: i32,
    pub charging_profile_id: i32,
    pub stack_level: i32,
    pub purpose: &'a str,
    pub profile: &'a str,
    pub valid_to: Option<DateTime<Utc>>,
    pub command_id: i64,
}

/// Keeps an accepted profile; one with the same `chargingProfileId`, or the same stack level and
/// purpose on the connector, is replaced (as OCPP 1.6 says the charger does).
pub async fn set_profile(
    tx: &mut Tx,
    p: &NewProfile<'_>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let sql = concat!(
        "UPDATE charging_profiles SET cleared_at = $5 WHERE charge_point_id = $1 AND cleared_at IS NULL ",
        "AND (charging_profile_id = $2 OR (connector_number = $3 AND stack_level = $4 AND purpose = $6))"
    );
    on_tx!(tx, conn => sqlx::query(sql).bind(p.charge_point_id).bind(p.charging_profile_id)
        .bind(p.connector_number).bind(p.stack_level).bind(now).bind(p.purpose).execute(conn).await.map(|r| r.rows_affected()))?;
    let sql = concat!(
        "INSERT INTO charging_profiles (charge_point_id, connector_number, charging_profile_id, stack_level, ",
        "purpose, profile, valid_to, command_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    );
    on_tx!(tx, conn => sqlx::query(sql).bind(p.charge_point_id).bind(p.connector_number)
        .bind(p.charging_profile_id).bind(p.stack_level).bind(p.purpose).bind(p.profile)
        .bind(p.valid_to).bind(p.command_id).bind(now).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Which profiles a ClearChargingProfile the charger accepted removed: by id, or by connector,
/// purpose and stack level (each optional; none clears all).
#[derive(Debug, Clone, Default)]
pub struct ProfileMatch<'a> {
    pub id: Option<i32>,
    pub connector_number: Option<i32>,
    pub purpose: Option<&'a str>,
    pub stack_level: Option<i32>,
}

pub async fn clear_profiles(
    tx: &mut Tx,
    charge_point_id: &str,
    m: &ProfileMatch<'_>,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let sql = concat!(
        "UPDATE charging_profiles SET cleared_at = $2 WHERE charge_point_id = $1 AND cleared_at IS NULL ",
        "AND ($3 IS NULL OR charging_profile_id = $3) AND ($4 IS NULL OR connector_number = $4) ",
        "AND ($5 IS NULL OR purpose = $5) AND ($6 IS NULL OR stack_level = $6)"
    );
    let done = on_tx!(tx, conn => sqlx::query(sql).bind(charge_point_id).bind(now).bind(m.id)
        .bind(m.connector_number).bind(m.purpose).bind(m.stack_level).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(done)
}

#[derive(Debug, sqlx::FromRow)]
struct ProfileRow {
    id: i64,
    charge_point_id: String,
    connector_number: i32,
    charging_profile_id: i32,
    stack_level: i32,
    purpose: String,
    profile: String,
    valid_to: Option<DateTime<Utc>>,
    command_id: Option<i64>,
    created_at: DateTime<Utc>,
}

/// The profiles in force on a charger: not cleared, not past their validity.
pub async fn profiles(
    db: &Db,
    charge_point_id: &str,
    now: DateTime<Utc>,
) -> Result<Vec<ChargingProfileRecord>, sqlx::Error> {
    let sql = concat!(
        "SELECT id, charge_point_id, connector_number, charging_profile_id, stack_level, purpose, profile, ",
        "valid_to, command_id, created_at FROM charging_profiles WHERE charge_point_id = $1 AND cleared_at IS NULL ",
        "AND (valid_to IS NULL OR valid_to > $2) ORDER BY connector_number, stack_level DESC, id"
    );
    let rows: Vec<ProfileRow> = on_read!(db, pool => sqlx::query_as(sql).bind(charge_point_id).bind(now).fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .map(|r| ChargingProfileRecord {
            id: r.id,
            charge_point_id: r.charge_point_id,
            connector_number: r.connector_number,
            charging_profile_id: r.charging_profile_id,
            stack_level: r.stack_level,
            purpose: r.purpose,
            profile: serde_json::from_str(&r.profile).unwrap_or(serde_json::Value::Null),
            valid_to: r.valid_to,
            command_id: r.command_id,
            created_at: r.created_at,
        })
        .collect())
}
