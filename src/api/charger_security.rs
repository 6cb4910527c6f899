//! `/api/cms/chargers/{chargePointId}/security`: a charger's OCPP credentials (security
//! profiles 1 and 2). The key is stored hashed and never shown again.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::json::JsonObject;
use crate::AppState;
use crate::auth::charger::key_problem;
use crate::auth::{Caller, password};
use crate::db::{self, charger_security::CredentialsChange};
use crate::error::docs::WriteErrors;
use crate::error::{ApiError, ApiResult, Problem};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(set_charger_security))
}

/// The credentials to set; a field left out keeps its stored value.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChargerSecurityInput {
    /// The charger's AuthorizationKey (its HTTP Basic password): 16 to 40 printable ASCII
    /// characters; null removes it.
    #[schema(value_type = Option<String>, min_length = 16, max_length = 40, example = "9f8c2e51a0d34b7c")]
    pub authorization_key: Option<String>,
    /// Whether the charger must authenticate; null = the global default
    /// (`EVCMS_CHARGER_AUTH_DEFAULT`).
    pub auth_required: Option<bool>,
}

/// A charger's security settings, without the key itself.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChargerSecurity {
    pub charge_point_id: String,
    /// The charger's own setting; null = the global default.
    pub auth_required: Option<bool>,
    /// Whether it must authenticate now, its own setting or the default.
    pub effective_auth_required: bool,
    pub has_authorization_key: bool,
}

/// Set a charger's authorization key and whether it must authenticate. Works before the
/// charger's first connection. A user bound to an organization may set it only for chargers of
/// that organization's charging points.
#[utoipa::path(put, path = "/chargers/{chargePointId}/security", tag = "chargers",
    params(("chargePointId" = String, Path, description = "The charger's OCPP charge point id")),
    request_body = ChargerSecurityInput,
    responses((status = 200, body = ChargerSecurity), WriteErrors))]
async fn set_charger_security(
    State(state): State<AppState>,
    caller: Caller,
    Path(charge_point_id): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<ChargerSecurity>> {
    if charge_point_id.is_empty()
        || charge_point_id.len() > 255
        || charge_point_id.chars().any(|c| c.is_control() || c == ':')
    {
        return Err(not_found(&charge_point_id));
    }
    if let Some(org) = caller.scope()
        && !db::charger_security::in_organization(&state.db, &charge_point_id, org).await?
    {
        return Err(not_found(&charge_point_id));
    }
    let mut problems = Vec::new();
    let mut change = CredentialsChange::default();
    for (field, value) in body {
        match (field.as_str(), value) {
            ("authorization_key", Value::Null) => change.auth_key_hash = Some(None),
            ("authorization_key", Value::String(key)) => match key_problem(&key) {
                Some(problem) => problems.push(Problem::new(field, problem)),
                None => {
                    let hash = password::hash_blocking(key).await?;
                    change.auth_key_hash = Some(Some(hash));
                }
            },
            ("auth_required", Value::Null) => change.auth_required = Some(None),
            ("auth_required", Value::Bool(b)) => change.auth_required = Some(Some(b)),
            ("authorization_key", _) => {
                problems.push(Problem::new(field, "must be a string or null"))
            }
            ("auth_required", _) => {
                problems.push(Problem::new(field, "must be true, false or null"))
            }
            _ => problems.push(Problem::new(
                field,
                "is not a known field; expected authorization_key or auth_required",
            )),
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::validation(problems));
    }
    let stored =
        db::charger_security::set_credentials(&state.db, &charge_point_id, &change, db::now())
            .await?;
    tracing::info!(
        user = caller.id(),
        charge_point_id,
        key_changed = change.auth_key_hash.is_some(),
        auth_required = ?stored.auth_required,
        "charger security changed"
    );
    Ok(Json(ChargerSecurity {
        effective_auth_required: stored
            .auth_required
            .unwrap_or(state.auth.charger().required_by_default),
        auth_required: stored.auth_required,
        has_authorization_key: stored.auth_key_hash.is_some(),
        charge_point_id,
    }))
}

fn not_found(charge_point_id: &str) -> ApiError {
    ApiError::not_found(format!("no charger {charge_point_id:?}"))
}
