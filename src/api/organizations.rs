//! `/api/cms/organizations`: the organizations stations can belong to. Admins add them; a user
//! bound to an organization sees only its own.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::json::{JsonObject, from_value};
use super::validate::{In, code, required, text};
use crate::AppState;
use crate::auth::Caller;
use crate::db;
use crate::domain::organization::Organization;
use crate::error::docs::WriteErrors;
use crate::error::{ApiResult, ResultExt};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_organizations, create_organization))
}

/// Every organization the caller may see, by code: the values a station's `organization`
/// accepts.
#[utoipa::path(get, path = "/organizations", tag = "organizations", responses((status = 200, body = Vec<Organization>)))]
async fn list_organizations(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<Organization>>> {
    let mut organizations = db::organizations::list(&state.db).await?;
    organizations.retain(|o| caller.sees(&o.code));
    Ok(Json(organizations))
}

/// A new organization.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationInput {
    /// Required; letters, digits and `-_.:`, at most 100 characters; cannot be changed.
    #[schema(value_type = String, example = "green_volt", max_length = 100)]
    pub code: In<String>,
    /// Required, at most 255 characters.
    #[schema(value_type = String, example = "Green Volt", max_length = 255)]
    pub name: In<String>,
}

/// Add an organization (admins only).
#[utoipa::path(post, path = "/organizations", tag = "organizations", request_body = OrganizationInput,
    responses((status = 201, body = Organization), WriteErrors))]
async fn create_organization(
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<Organization>)> {
    caller.require_admin()?;
    let input = from_value::<OrganizationInput>(body.into())?;
    let (code, name) = crate::validate!(
        code = required(code(input.code, 100)),
        name = required(text(input.name, 255)),
    )?;
    let organization = db::organizations::insert(&state.db, &code, &name, db::now())
        .await
        .on_unique(
            "organizations",
            "code",
            "an organization with this code already exists",
        )?;
    Ok((StatusCode::CREATED, Json(organization)))
}
