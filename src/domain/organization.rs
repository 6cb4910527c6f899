//! Organizations: the operators that own charging stations.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// An organization, known by its code (`massive_mobility`).
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Organization {
    pub code: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}
