//! `/api/cms/chargers`: the chargers that connected over OCPP, with their boot data, connection
//! state and the charging point that adopted each (read-only).

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::query::{ListQuery, Page, PageQuery, QueryReader, boolean};
use crate::AppState;
use crate::auth::Caller;
use crate::db::{self, filter::Sort};
use crate::domain::charger::{Charger, ChargerDetail, REGISTRATION_STATUSES};
use crate::error::docs::{ListErrors, ReadErrors};
use crate::error::{ApiError, ApiResult};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_chargers))
        .routes(routes!(get_charger))
}

/// Filters and paging of the charger list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChargerListQuery {
    /// `created_at` (default `-created_at`), `charge_point_id`, `last_seen_at`; `-` for
    /// descending. A charger not seen since it was first recorded sorts by that time.
    #[param(pattern = "^-?(created_at|charge_point_id|last_seen_at)$")]
    sort: Option<String>,
    /// `true` for chargers connected now, `false` for the others.
    #[param(value_type = Option<bool>)]
    connected: Option<String>,
    /// Our answer to its last BootNotification.
    #[param(value_type = Option<String>, pattern = "^(Accepted|Pending|Rejected)$")]
    registration_status: Option<String>,
    /// `true` for chargers whose charge point id is the `device_id` of a live charging point,
    /// `false` for those no point has adopted yet.
    #[param(value_type = Option<bool>)]
    adopted: Option<String>,
    /// Case-insensitive text in the charge point id, vendor, model or serial numbers.
    #[param(max_length = 255)]
    search: Option<String>,
}

const SORTS: &[(&str, &str)] = &[
    ("created_at", "ch.created_at"),
    ("charge_point_id", "ch.charge_point_id"),
    ("last_seen_at", "COALESCE(ch.last_seen_at, ch.created_at)"),
];

fn registration_status(value: &str) -> Result<String, String> {
    if REGISTRATION_STATUSES.contains(&value) {
        Ok(value.to_owned())
    } else {
        Err(format!(
            "must be one of: {}",
            REGISTRATION_STATUSES.join(", ")
        ))
    }
}

/// List the chargers known from OCPP, each with its adopting charging point, if any.
#[utoipa::path(get, path = "/chargers", tag = "chargers", params(PageQuery, ChargerListQuery),
    responses((status = 200, body = Page<Charger>), ListErrors))]
async fn list_chargers(
    State(state): State<AppState>,
    caller: Caller,
    ListQuery(paging): ListQuery<PageQuery>,
    ListQuery(q): ListQuery<ChargerListQuery>,
) -> ApiResult<Json<Page<Charger>>> {
    let mut r = QueryReader::default();
    let filter = db::chargers::ChargerFilter {
        connected: r.parse("connected", q.connected.as_deref(), boolean),
        registration_status: r.parse(
            "registration_status",
            q.registration_status.as_deref(),
            registration_status,
        ),
        adopted: r.parse("adopted", q.adopted.as_deref(), boolean),
        search: r.text("search", q.search.as_deref()),
        scope: caller.scope().map(str::to_owned),
    };
    let page = r.page(&paging);
    let sort = r.sort(
        q.sort.as_deref(),
        SORTS,
        Sort::new("ch.created_at", true, "ch.id"),
    );
    r.finish()?;
    let result = db::chargers::list(&state.db, &filter, &sort, page).await?;
    Ok(Json(Page::new(result, page, |c| c)))
}

/// One charger, by its charge point id, with the live status of its adopting point's connectors.
#[utoipa::path(get, path = "/chargers/{chargePointId}", tag = "chargers",
    params(("chargePointId" = String, Path, description = "The OCPP charge point id")),
    responses((status = 200, body = ChargerDetail), ReadErrors))]
async fn get_charger(
    State(state): State<AppState>,
    caller: Caller,
    Path(charge_point_id): Path<String>,
) -> ApiResult<Json<ChargerDetail>> {
    let charger = visible_charger(&state, &caller, &charge_point_id).await?;
    let connectors = match charger.charging_point_id {
        Some(point) => db::points::connectors_of(&state.db, &[point]).await?,
        None => Vec::new(),
    };
    Ok(Json(ChargerDetail {
        charger,
        connectors,
    }))
}

/// The charger `charge_point_id` if the caller may see it. Another organization's charger, or one
/// no point has adopted yet, is not there (404) for a caller bound to an organization.
pub async fn visible_charger(
    state: &AppState,
    caller: &Caller,
    charge_point_id: &str,
) -> ApiResult<Charger> {
    let not_found = || ApiError::not_found(format!("no charger {charge_point_id:?}"));
    let charger = db::chargers::find(&state.db, charge_point_id)
        .await?
        .ok_or_else(not_found)?;
    if caller.scope().is_some() {
        let Some(station_id) = &charger.station_id else {
            return Err(not_found());
        };
        if !caller.sees_station(&state.db, station_id).await? {
            return Err(not_found());
        }
    }
    Ok(charger)
}
