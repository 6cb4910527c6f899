//! Organizations table.

use super::Db;
use crate::domain::organization::Organization;
use crate::on_read;

/// Every organization, by code.
pub async fn list(db: &Db) -> Result<Vec<Organization>, sqlx::Error> {
    on_read!(db, pool => sqlx::query_as("SELECT code, name, created_at FROM organizations ORDER BY code").fetch_all(pool).await)
}

/// The codes of every organization, in code order: the values a station's organization accepts.
pub async fn codes(db: &Db) -> Result<Vec<String>, sqlx::Error> {
    on_read!(db, pool => sqlx::query_scalar("SELECT code FROM organizations ORDER BY code").fetch_all(pool).await)
}

/// Adds an organization.
pub async fn insert(
    db: &Db,
    code: &str,
    name: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Organization, sqlx::Error> {
    let sql = "INSERT INTO organizations (code, name, created_at) VALUES ($1, $2, $3) RETURNING code, name, created_at";
    crate::on_write!(db, pool => sqlx::query_as(sql).bind(code).bind(name).bind(now).fetch_one(pool).await)
}
