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
