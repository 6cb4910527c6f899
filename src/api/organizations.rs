//! `/api/cms/organizations`: the organizations stations can belong to.

use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::db;
use crate::domain::organization::Organization;
use crate::error::ApiResult;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_organizations))
}

/// Every organization, by code: the values a station's `organization` accepts.
#[utoipa::path(get, path = "/organizations", tag = "organizations", responses((status = 200, body = Vec<Organization>)))]
async fn list_organizations(State(state): State<AppState>) -> ApiResult<Json<Vec<Organization>>> {
    Ok(Json(db::organizations::list(&state.db).await?))
}
