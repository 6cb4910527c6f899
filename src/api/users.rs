//! `/api/cms/users`: operator accounts, managed by admins. Passwords go in, never out.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::json::{JsonObject, apply_changes, from_value};
use super::query::{ListQuery, Page, PageQuery, QueryReader};
use super::record_id;
use super::validate::{In, choice, email, given, given_opt, read, required, text};
use crate::AppState;
use crate::auth::accounts::{self, CreateUserError, NewUser, NewUserRefusal, organization_refusal};
use crate::auth::{Caller, password};
use crate::db::{self, filter::Sort};
use crate::domain::refusal::Refusal;
use crate::domain::user::{Role, User, UserFields, UserRow};
use crate::error::docs::{DeleteErrors, ListErrors, ReadErrors, WriteErrors};
use crate::error::{ApiError, ApiResult, Problem, ResultExt};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user, delete_user))
}

/// A user's fields as sent by an admin. On update, the fields sent replace the stored ones; a
/// `password` sets a new one.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    /// Required; the login, unique among live users (compared without case).
    #[schema(value_type = String, example = "ops@example.com")]
    pub email: In<String>,
    /// Required, at most 255 characters.
    #[schema(value_type = String, example = "Asha Rao", min_length = 1, max_length = 255)]
    pub name: In<String>,
    /// Required.
    #[schema(value_type = Role)]
    pub role: In<String>,
    /// An organization code: the user sees and changes only its stations, points, sessions and
    /// chargers. Absent or null = every organization (always so for an admin).
    #[schema(value_type = Option<String>, example = "massive_mobility")]
    pub organization: In<String>,
    /// Default true; an inactive user cannot log in and its tokens stop working.
    #[schema(value_type = Option<bool>)]
    pub active: In<bool>,
    /// Required on create: at least 12 characters mixing two kinds (lowercase, uppercase,
    /// digits, others), not the e-mail address. Setting it signs the user out everywhere.
    #[schema(value_type = Option<String>, min_length = 12, max_length = 256)]
    pub password: In<String>,
}

impl From<&UserRow> for UserInput {
    fn from(u: &UserRow) -> Self {
        Self {
            email: given(u.email.to_string()),
            name: given(u.name.clone()),
            role: given(u.role.to_string()),
            organization: given_opt(u.organization.clone()),
            active: given(u.active),
            password: None,
        }
    }
}

/// The checked fields, and the new password in clear (to hash) if one was given.
struct CheckedUser {
    fields: UserFields,
    password: Option<String>,
}

/// A refusal of the account rules as the problem of the field it is about.
fn refusal_problem(refusal: NewUserRefusal) -> Problem {
    match refusal {
        NewUserRefusal::UnknownOrganization { known } => Problem::new(
            "organization",
            format!("must be one of: {}", known.join(", ")),
        ),
        NewUserRefusal::AdminWithOrganization(_) => Problem::new(
            "organization",
            "must be empty for an admin: admins see every organization",
        ),
        NewUserRefusal::WeakPassword(problem) => Problem::new("password", problem),
        NewUserRefusal::EmailTaken => Problem::new("email", "is already taken"),
    }
}

fn refused(refusal: NewUserRefusal) -> ApiError {
    match refusal {
        NewUserRefusal::EmailTaken => ApiError {
            details: vec![refusal_problem(NewUserRefusal::EmailTaken)],
            ..ApiError::conflict(EMAIL_TAKEN)
        },
        other => ApiError::validation(vec![refusal_problem(other)]),
    }
}

impl UserInput {
    fn validate(self, organizations: &[String], password_required: bool) -> ApiResult<CheckedUser> {
        let email_value = email(self.email);
        let email_text = match &email_value {
            Ok(Some(e)) => e.to_string(),
            _ => String::new(),
        };
        let password_value = text(self.password, password::MAX_LENGTH).and_then(|p| match p {
            Some(p) => match password::weakness(&p, &email_text) {
                Some(problem) => Err(problem),
                None => Ok(Some(p)),
            },
            None if password_required => Err("is required".to_owned()),
            None => Ok(None),
        });
        let role_value = required(choice(self.role, Role::parse));
        let organization_value = text(self.organization, 100).and_then(|o| {
            // Without a valid role, only the organization's own existence can be checked.
            let role = *role_value.as_ref().unwrap_or(&Role::Viewer);
            match organization_refusal(role, o.as_deref(), organizations) {
                Some(refusal) => Err(refusal_problem(refusal).problem),
                None => Ok(o),
            }
        });
        let (email, name, role, organization, active, password) = crate::validate!(
            email = required(email_value),
            name = required(text(self.name, 255)),
            role = role_value,
            organization = organization_value,
            active = read(self.active).map(|a| a.unwrap_or(true)),
            password = password_value,
        )?;
        Ok(CheckedUser {
            fields: UserFields {
                email: email.to_lowercase(),
                name,
                password_hash: String::new(),
                role,
                organization,
                active,
            },
            password,
        })
    }
}

/// Filters and paging of the user list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserListQuery {
    /// `created_at` (default `-created_at`), `email`, `name`, `role`; `-` for descending.
    #[param(pattern = "^-?(created_at|email|name|role)$")]
    sort: Option<String>,
    /// `admin`, `operator` or `viewer`.
    #[param(value_type = Option<Role>)]
    role: Option<String>,
    /// Organization code.
    #[param(max_length = 100)]
    organization: Option<String>,
    /// Case-insensitive text in the e-mail or name.
    #[param(max_length = 255)]
    search: Option<String>,
}

const SORTS: &[(&str, &str)] = &[
    ("created_at", "created_at"),
    ("email", "email"),
    ("name", "name"),
    ("role", "role"),
];

/// List live users (admins only).
#[utoipa::path(get, path = "/users", tag = "users", params(PageQuery, UserListQuery),
    responses((status = 200, body = Page<User>), ListErrors))]
async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
    ListQuery(paging): ListQuery<PageQuery>,
    ListQuery(q): ListQuery<UserListQuery>,
) -> ApiResult<Json<Page<User>>> {
    caller.require_admin()?;
    let mut r = QueryReader::default();
    let filter = db::users::UserFilter {
        role: r.parse("role", q.role.as_deref(), Role::parse),
        organization: r.text("organization", q.organization.as_deref()),
        search: r.text("search", q.search.as_deref()),
    };
    let page = r.page(&paging);
    let sort = r.sort(q.sort.as_deref(), SORTS, Sort::newest_first());
    r.finish()?;
    let result = db::users::list(&state.db, &filter, &sort, page).await?;
    Ok(Json(Page::new(result, page, |u| User::from(&u))))
}

async fn find(state: &AppState, segment: &str) -> ApiResult<UserRow> {
    let id = record_id(segment, "user")?;
    db::users::find(&state.db, id)
        .await?
        .ok_or_else(|| not_found(segment))
}

fn not_found(segment: &str) -> ApiError {
    ApiError::not_found(format!("no user {segment}"))
}

const EMAIL_TAKEN: &str = "a user with this e-mail already exists";

/// One live user (admins only).
#[utoipa::path(get, path = "/users/{userId}", tag = "users",
    params(("userId" = i64, Path, description = "The user's id")),
    responses((status = 200, body = User), ReadErrors))]
async fn get_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<String>,
) -> ApiResult<Json<User>> {
    caller.require_admin()?;
    Ok(Json(User::from(&find(&state, &user_id).await?)))
}

/// Create a user (admins only).
#[utoipa::path(post, path = "/users", tag = "users", request_body = UserInput,
    responses((status = 201, body = User), WriteErrors))]
async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<User>)> {
    caller.require_admin()?;
    let input = from_value::<UserInput>(body.into())?;
    let organizations = db::organizations::codes(&state.db).await?;
    let CheckedUser {
        fields,
        password: Some(password),
    } = input.validate(&organizations, true)?
    else {
        return Err(ApiError::field("password", "is required"));
    };
    let new = NewUser {
        email: fields.email,
        name: fields.name,
        role: fields.role,
        organization: fields.organization,
        active: fields.active,
        password,
    };
    let user = accounts::create_user(&state.db, new)
        .await
        .map_err(|err| match err {
            CreateUserError::Refused(refusal) => refused(refusal),
            CreateUserError::Hash(err) => err.into(),
            CreateUserError::Database(err) => err.into(),
        })?;
    tracing::info!(admin = caller.id(), user = user.id, role = %user.role, "user created");
    Ok((StatusCode::CREATED, Json(User::from(&user))))
}

/// Update a user (admins only): the fields sent replace the stored ones. A new password, role,
/// organization or deactivation signs the user out everywhere. The last active admin cannot be
/// demoted or deactivated (409).
#[utoipa::path(put, path = "/users/{userId}", tag = "users", request_body = UserInput,
    params(("userId" = i64, Path, description = "The user's id")),
    responses((status = 200, body = User), WriteErrors))]
async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<User>> {
    caller.require_admin()?;
    let current = find(&state, &user_id).await?;
    let input = apply_changes(UserInput::from(&current), body)?;
    let organizations = db::organizations::codes(&state.db).await?;
    let CheckedUser {
        mut fields,
        password,
    } = input.validate(&organizations, false)?;
    let revoke = password.is_some()
        || fields.role != current.role
        || fields.organization != current.organization
        || !fields.active;
    fields.password_hash = match password {
        Some(p) => password::hash_blocking(p).await?,
        None => current.password_hash.clone(),
    };
    let mut tx = state.db.begin().await?;
    let stays_admin = fields.role == Role::Admin && fields.active;
    if current.role == Role::Admin
        && !stays_admin
        && db::users::other_active_admins(&mut tx, current.id).await? == 0
    {
        return Err(Refusal::LastActiveAdmin.into());
    }
    let user = db::users::update(&mut tx, current.id, &fields, revoke, db::now())
        .await
        .on_unique("email", "email", EMAIL_TAKEN)?
        .ok_or_else(|| not_found(&user_id))?;
    tx.commit().await?;
    tracing::info!(admin = caller.id(), user = user.id, "user updated");
    Ok(Json(User::from(&user)))
}

/// Soft-delete a user (admins only); its tokens stop working. The last active admin cannot be
/// deleted (409).
#[utoipa::path(delete, path = "/users/{userId}", tag = "users",
    params(("userId" = i64, Path, description = "The user's id")),
    responses((status = 204, description = "Deleted"), DeleteErrors))]
async fn delete_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require_admin()?;
    let current = find(&state, &user_id).await?;
    let mut tx = state.db.begin().await?;
    if current.role == Role::Admin
        && current.active
        && db::users::other_active_admins(&mut tx, current.id).await? == 0
    {
        return Err(Refusal::LastActiveAdmin.into());
    }
    if !db::users::soft_delete(&mut tx, current.id, db::now()).await? {
        return Err(not_found(&user_id));
    }
    tx.commit().await?;
    tracing::info!(admin = caller.id(), user = current.id, "user deleted");
    Ok(StatusCode::NO_CONTENT)
}
