//! Operator accounts: who may use the REST API and the admin UI, with which role, and for which
//! organization.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::contact::Email;

crate::domain::enums::string_enum! {
    /// What a user may do: `admin` everything (users and organizations included), `operator`
    /// create, change, delete and command, `viewer` read only.
    pub enum Role { Admin => "admin", Operator => "operator", Viewer => "viewer" }
}

/// The rule "an admin has no organization" broken: admins see every organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an admin is not bound to an organization")]
pub struct AdminWithOrganization;

impl Role {
    /// Whether a user of this role may be bound to `organization`: anyone but an admin may.
    pub fn check_organization(
        self,
        organization: Option<&str>,
    ) -> Result<(), AdminWithOrganization> {
        match (self, organization) {
            (Role::Admin, Some(_)) => Err(AdminWithOrganization),
            _ => Ok(()),
        }
    }
}

/// A user as stored, password hash included: never serialized, never logged.
#[derive(Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    /// Lowercase.
    pub email: Email,
    pub name: String,
    pub password_hash: String,
    pub role: Role,
    pub organization: Option<String>,
    pub active: bool,
    pub deleted: bool,
    pub token_version: i64,
    pub last_login_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for UserRow {
    /// Leaves the password hash out.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("role", &self.role)
            .field("organization", &self.organization)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

/// A user as shown by the API.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    pub id: i64,
    /// Lowercase; unique among live users.
    pub email: String,
    pub name: String,
    pub role: Role,
    /// The organization the user is bound to (`massive_mobility`); null = every organization.
    pub organization: Option<String>,
    /// An inactive user cannot log in, and its tokens stop working at once.
    pub active: bool,
    pub last_login_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&UserRow> for User {
    fn from(u: &UserRow) -> Self {
        Self {
            id: u.id,
            email: u.email.to_string(),
            name: u.name.clone(),
            role: u.role,
            organization: u.organization.clone(),
            active: u.active,
            last_login_at: u.last_login_at,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

/// The fields of a user to store (the password already hashed).
#[derive(Clone)]
pub struct UserFields {
    /// Stored in lowercase.
    pub email: Email,
    pub name: String,
    pub password_hash: String,
    pub role: Role,
    pub organization: Option<String>,
    pub active: bool,
}
