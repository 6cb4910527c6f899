//! Firmware images operators upload, the updates chargers were asked to make, and the
//! diagnostics files they were asked to upload, with the progress their status notifications tell.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{Db, Tx};
use crate::{on_read, on_tx, on_write};

/// An uploaded firmware image.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct FirmwareFile {
    pub id: i64,
    pub file_name: String,
    pub size_bytes: i64,
    #[serde(skip)]
    pub storage_key: String,
    /// The secret part of the download URL chargers get.
    #[serde(skip)]
    pub token: String,
    pub uploaded_by: Option<i64>,
    pub created_at: DateTime<Utc>,
}

const FILE_COLUMNS: &str =
    "id, file_name, size_bytes, storage_key, token, uploaded_by, created_at FROM firmware_files";

pub async fn insert_file(
    db: &Db,
    file_name: &str,
    size_bytes: i64,
    storage_key: &str,
    token: &str,
    uploaded_by: i64,
    now: DateTime<Utc>,
) -> Result<FirmwareFile, sqlx::Error> {
    let sql = format!(
        "INSERT INTO firmware_files (file_name, size_bytes, storage_key, token, uploaded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING {}",
        FILE_COLUMNS.trim_end_matches(" FROM firmware_files")
    );
    on_write!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(file_name).bind(size_bytes).bind(storage_key)
        .bind(token).bind(uploaded_by).bind(now).fetch_one(pool).await)
}

pub async fn find_file(db: &Db, id: i64) -> Result<Option<FirmwareFile>, sqlx::Error> {
    let sql = format!("SELECT {FILE_COLUMNS} WHERE id = $1 AND deleted_at IS NULL");
    on_read!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(pool).await)
}

pub async fn file_by_token(db: &Db, token: &str) -> Result<Option<FirmwareFile>, sqlx::Error> {
    let sql = format!("SELECT {FILE_COLUMNS} WHERE token = $1 AND deleted_at IS NULL");
    on_read!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(token).fetch_optional(pool).await)
}

/// Every image, newest first.
pub async fn files(db: &Db) -> Result<Vec<FirmwareFile>, sqlx::Error> {
    let sql = format!("SELECT {FILE_COLUMNS} WHERE deleted_at IS NULL ORDER BY id DESC");
    on_read!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).fetch_all(pool).await)
}

/// A firmware update a charger accepted to make.
#[derive(Debug, Clone)]
pub struct NewUpdate<'a> {
    pub charge_point_id: &'a str,
    pub firmware_file_id: Option<i64>,
    pub location: &'a str,
    pub retrieve_date: DateTime<Utc>,
    pub command_id: i64,
}

pub async fn insert_update(
    tx: &mut Tx,
    u: &NewUpdate<'_>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let sql = concat!(
        "INSERT INTO firmware_updates (charge_point_id, firmware_file_id, location, retrieve_date, status, ",
        "command_id, created_at, updated_at) VALUES ($1, $2, $3, $4, 'Requested', $5, $6, $6)"
    );
    on_tx!(tx, conn => sqlx::query(sql).bind(u.charge_point_id).bind(u.firmware_file_id).bind(u.location)
        .bind(u.retrieve_date).bind(u.command_id).bind(now).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// A firmware update as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct FirmwareUpdate {
    pub id: i64,
    pub charge_point_id: String,
    pub firmware_file_id: Option<i64>,
    pub location: String,
    pub retrieve_date: DateTime<Utc>,
    /// `Requested`, then what the charger's FirmwareStatusNotification says (Downloading,
    /// Downloaded, Installing, Installed, DownloadFailed, InstallationFailed, Idle).
    pub status: String,
    pub command_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub async fn updates(db: &Db, charge_point_id: &str) -> Result<Vec<FirmwareUpdate>, sqlx::Error> {
    let sql = concat!(
        "SELECT id, charge_point_id, firmware_file_id, location, retrieve_date, status, command_id, created_at, ",
        "updated_at FROM firmware_updates WHERE charge_point_id = $1 ORDER BY id DESC LIMIT 100"
    );
    on_read!(db, pool => sqlx::query_as(sql).bind(charge_point_id).fetch_all(pool).await)
}

/// A FirmwareStatusNotification moves the charger's latest update. `Idle` after a final status
/// says nothing new and is not kept over it.
pub async fn update_progress(
    db: &Db,
    charge_point_id: &str,
    status: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let sql = concat!(
        "UPDATE firmware_updates SET status = $2, updated_at = $3 WHERE id = (SELECT MAX(id) FROM firmware_updates ",
        "WHERE charge_point_id = $1) AND NOT ($2 = 'Idle' AND status IN ('Installed', 'DownloadFailed', 'InstallationFailed'))"
    );
    on_write!(db, pool => sqlx::query(sql).bind(charge_point_id).bind(status).bind(now).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// A diagnostics upload a charger was asked for.
#[derive(Debug, Clone)]
pub struct NewDiagnostics<'a> {
    pub charge_point_id: &'a str,
    /// evcms's upload token, when the location is evcms's own.
    pub token: Option<&'a str>,
    pub location: &'a str,
    pub file_name: Option<&'a str>,
    pub command_id: i64,
}

pub async fn insert_diagnostics(
    tx: &mut Tx,
    d: &NewDiagnostics<'_>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    // A location elsewhere gets a token nobody is told, so the column stays unique.
    let token = d
        .token
        .map(str::to_owned)
        .unwrap_or_else(|| format!("external-{}", uuid::Uuid::new_v4().simple()));
    let sql = concat!(
        "INSERT INTO diagnostics_requests (charge_point_id, token, location, status, file_name, command_id, ",
        "created_at, updated_at) VALUES ($1, $2, $3, 'Requested', $4, $5, $6, $6)"
    );
    on_tx!(tx, conn => sqlx::query(sql).bind(d.charge_point_id).bind(token).bind(d.location)
        .bind(d.file_name).bind(d.command_id).bind(now).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The charger accepted the GetDiagnostics of command `command`: the file name it will upload.
pub async fn diagnostics_answered(
    tx: &mut Tx,
    command: i64,
    file_name: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let sql = "UPDATE diagnostics_requests SET file_name = COALESCE(file_name, $2), updated_at = $3 WHERE command_id = $1";
    on_tx!(tx, conn => sqlx::query(sql).bind(command).bind(file_name).bind(now).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The GetDiagnostics of command `command` never reached the charger, or it refused: nothing
/// will come (an upload already received stays).
pub async fn diagnostics_failed(
    tx: &mut Tx,
    command: i64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let sql = "UPDATE diagnostics_requests SET status = 'Failed', updated_at = $2 WHERE command_id = $1 AND status = 'Requested'";
    on_tx!(tx, conn => sqlx::query(sql).bind(command).bind(now).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// A diagnostics request as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Diagnostics {
    pub id: i64,
    pub charge_point_id: String,
    pub location: String,
    /// `Requested`, then what the charger's DiagnosticsStatusNotification says (Uploading,
    /// Uploaded, UploadFailed, Idle); `Received` once evcms holds the file; `Failed` when the
    /// GetDiagnostics was not accepted (refused, offline, no answer).
    pub status: String,
    pub file_name: Option<String>,
    pub size_bytes: Option<i64>,
    pub uploaded_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub storage_key: Option<String>,
    #[serde(skip)]
    pub token: String,
    pub command_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const DIAGNOSTICS: &str = concat!(
    "SELECT id, charge_point_id, location, status, file_name, size_bytes, uploaded_at, storage_key, token, ",
    "command_id, created_at, updated_at FROM diagnostics_requests"
);

pub async fn diagnostics(db: &Db, charge_point_id: &str) -> Result<Vec<Diagnostics>, sqlx::Error> {
    let sql = format!("{DIAGNOSTICS} WHERE charge_point_id = $1 ORDER BY id DESC LIMIT 100");
    on_read!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(charge_point_id).fetch_all(pool).await)
}

pub async fn diagnostics_by_id(db: &Db, id: i64) -> Result<Option<Diagnostics>, sqlx::Error> {
    let sql = format!("{DIAGNOSTICS} WHERE id = $1");
    on_read!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(pool).await)
}

pub async fn diagnostics_by_token(
    db: &Db,
    token: &str,
) -> Result<Option<Diagnostics>, sqlx::Error> {
    let sql = format!("{DIAGNOSTICS} WHERE token = $1");
    on_read!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(token).fetch_optional(pool).await)
}

/// The charger's file arrived. Only the first upload counts (the URL is one-time): returns false
/// when a file was already received.
pub async fn diagnostics_received(
    db: &Db,
    id: i64,
    file_name: &str,
    storage_key: &str,
    size_bytes: i64,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let sql = concat!(
        "UPDATE diagnostics_requests SET file_name = $2, storage_key = $3, size_bytes = $4, uploaded_at = $5, ",
        "status = 'Received', updated_at = $5 WHERE id = $1 AND storage_key IS NULL"
    );
    let done = on_write!(db, pool => sqlx::query(sql).bind(id).bind(file_name).bind(storage_key)
        .bind(size_bytes).bind(now).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(done > 0)
}

/// A DiagnosticsStatusNotification moves the charger's latest request, unless evcms already
/// holds its file (then `Received` says more than `Uploaded` or `Idle`).
pub async fn diagnostics_progress(
    db: &Db,
    charge_point_id: &str,
    status: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let sql = concat!(
        "UPDATE diagnostics_requests SET status = $2, updated_at = $3 WHERE id = (SELECT MAX(id) FROM ",
        "diagnostics_requests WHERE charge_point_id = $1) AND status <> 'Received' ",
        "AND NOT ($2 = 'Idle' AND status IN ('Uploaded', 'UploadFailed'))"
    );
    on_write!(db, pool => sqlx::query(sql).bind(charge_point_id).bind(status).bind(now).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(())
}
