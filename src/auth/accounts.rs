//! Creating an account: the one way a user comes to exist, whether an admin adds it through the
//! API, someone runs `evcms user add`, or the first start creates the admin. Each door turns its
//! input into a [`NewUser`] and words the typed [`NewUserRefusal`] its own way.

use super::password;
use crate::db::errors::is_unique_violation;
use crate::db::{self, Db};
use crate::domain::contact::Email;
use crate::domain::user::{AdminWithOrganization, Role, UserFields, UserRow};

/// A user to create, its password still in clear.
#[derive(Clone)]
pub struct NewUser {
    pub email: Email,
    pub name: String,
    pub role: Role,
    /// The organization code the user is bound to; None = every organization.
    pub organization: Option<String>,
    pub active: bool,
    pub password: String,
}

impl std::fmt::Debug for NewUser {
    /// Leaves the password out.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("email", &self.email)
            .field("role", &self.role)
            .field("organization", &self.organization)
            .finish_non_exhaustive()
    }
}

/// Why an account is not created, in terms every door can word.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NewUserRefusal {
    /// The organization is not one of `known`.
    #[error("the organization must be one of: {}", known.join(", "))]
    UnknownOrganization { known: Vec<String> },
    #[error(transparent)]
    AdminWithOrganization(#[from] AdminWithOrganization),
    /// The password is too weak; the problem is a sentence such as "must be at least 12 characters".
    #[error("the password {0}")]
    WeakPassword(String),
    /// A live user already has this e-mail address.
    #[error("a user with this e-mail already exists")]
    EmailTaken,
}

/// A refusal, or a failure that is not the caller's.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error(transparent)]
    Refused(#[from] NewUserRefusal),
    #[error(transparent)]
    Hash(#[from] password::HashError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Whether `organization` may be given to a user of `role`: one of the `known` codes, and none
/// for an admin (checked in that order).
pub fn organization_refusal(
    role: Role,
    organization: Option<&str>,
    known: &[String],
) -> Option<NewUserRefusal> {
    match organization {
        Some(code) if !known.iter().any(|k| k == code) => {
            Some(NewUserRefusal::UnknownOrganization {
                known: known.to_vec(),
            })
        }
        _ => role.check_organization(organization).err().map(Into::into),
    }
}

/// [`organization_refusal`] against the organizations in the database.
async fn check_organization(
    db: &Db,
    role: Role,
    organization: Option<&str>,
) -> Result<(), CreateUserError> {
    let known = match organization {
        Some(_) => db::organizations::codes(db).await?,
        None => Vec::new(),
    };
    match organization_refusal(role, organization, &known) {
        Some(refusal) => Err(refusal.into()),
        None => Ok(()),
    }
}

/// Checks `new` (organization, role, password strength, in that order), hashes its password and
/// stores it with its e-mail in lowercase.
pub async fn create_user(db: &Db, new: NewUser) -> Result<UserRow, CreateUserError> {
    check_organization(db, new.role, new.organization.as_deref()).await?;
    if let Some(problem) = password::weakness(&new.password, new.email.as_str()) {
        return Err(NewUserRefusal::WeakPassword(problem).into());
    }
    let fields = UserFields {
        email: new.email.to_lowercase(),
        name: new.name,
        password_hash: password::hash_blocking(new.password).await?,
        role: new.role,
        organization: new.organization,
        active: new.active,
    };
    let mut tx = db.begin().await?;
    let user = db::users::insert(&mut tx, &fields, db::now())
        .await
        .map_err(|err| {
            if is_unique_violation(&err, "email") {
                CreateUserError::Refused(NewUserRefusal::EmailTaken)
            } else {
                err.into()
            }
        })?;
    tx.commit().await?;
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_organization_must_be_known_and_an_admin_has_none() {
        let known = vec!["massive_mobility".to_owned()];
        assert_eq!(
            organization_refusal(Role::Operator, Some("massive_mobility"), &known),
            None
        );
        assert_eq!(organization_refusal(Role::Admin, None, &known), None);
        assert_eq!(
            organization_refusal(Role::Admin, Some("massive_mobility"), &known),
            Some(NewUserRefusal::AdminWithOrganization(AdminWithOrganization))
        );
        assert_eq!(
            organization_refusal(Role::Viewer, Some("nope"), &known),
            Some(NewUserRefusal::UnknownOrganization { known })
        );
    }
}
