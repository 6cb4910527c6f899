//! `/api/cms/tariffs`: create, read, update and soft-delete tariffs.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::json::{JsonObject, apply_changes, from_value};
use super::query::{ListQuery, Page, PageQuery, QueryReader, range_end, range_start};
use super::validate::{In, choice, code, given, given_opt, non_negative, required, text, within};
use crate::AppState;
use crate::db::{self, filter::Sort};
use crate::domain::enums::{Currency, TariffStatus};
use crate::domain::refusal::{Refusal, TariffChange};
use crate::domain::tariff::{Tariff, TariffFields};
use crate::error::docs::{DeleteErrors, ListErrors, ReadErrors, WriteErrors};
use crate::error::{ApiError, ApiResult, ResultExt};
use crate::fixed::{Money, Percent};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tariffs, create_tariff))
        .routes(routes!(get_tariff, update_tariff, delete_tariff))
}

/// A tariff's fields as sent by a client. On update, the fields sent replace the stored ones.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TariffInput {
    /// Required; letters, digits and `-_.:`, unique among live tariffs. Cannot be changed.
    #[schema(value_type = String, example = "TRF-STD-INR", min_length = 1, max_length = 255, pattern = "^[A-Za-z0-9._:-]+$")]
    pub tariff_id: In<String>,
    /// Required.
    #[schema(value_type = String, example = "Standard AC", min_length = 1, max_length = 255, pattern = "\\S")]
    pub tariff_name: In<String>,
    /// Required.
    #[schema(value_type = Currency)]
    pub currency: In<String>,
    /// Required: price per kWh before tax, at least 0, two decimals at most.
    #[schema(value_type = f64, example = 18.5, minimum = 0, exclusive_maximum = 100000000, multiple_of = 0.01)]
    pub base_charges: In<Money>,
    /// Required: percent, 0 to 100, two decimals at most.
    #[schema(value_type = f64, example = 18.0, minimum = 0, maximum = 100, multiple_of = 0.01)]
    pub tax: In<Percent>,
    /// `Active` (default) or `Inactive`; only active tariffs can be assigned to points.
    #[schema(value_type = Option<TariffStatus>)]
    pub status: In<String>,
    #[schema(value_type = Option<String>, max_length = 255)]
    pub created_by: In<String>,
}

impl From<&Tariff> for TariffInput {
    fn from(t: &Tariff) -> Self {
        Self {
            tariff_id: given(t.tariff_id.clone()),
            tariff_name: given(t.tariff_name.clone()),
            currency: given(t.currency.to_string()),
            base_charges: given(t.base_charges),
            tax: given(t.tax),
            status: given(t.status.to_string()),
            created_by: given_opt(t.created_by.clone()),
        }
    }
}

impl TariffInput {
    fn validate(self) -> ApiResult<TariffFields> {
        crate::validate!(TariffFields {
            tariff_id = required(code(self.tariff_id, 255)),
            tariff_name = required(text(self.tariff_name, 255)),
            currency = required(choice(self.currency, Currency::parse)),
            base_charges = required(non_negative(self.base_charges, 100_000_000)),
            tax = required(within(self.tax, 0, 100)),
            status =
                choice(self.status, TariffStatus::parse).map(|s| s.unwrap_or(TariffStatus::Active)),
            created_by = text(self.created_by, 255),
        })
    }
}

/// Filters and paging of the tariff list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TariffListQuery {
    /// `created_at` (default `-created_at`), `tariff_name`, `tariff_id`, `base_charges`; `-` for descending.
    #[param(pattern = "^-?(created_at|tariff_name|tariff_id|base_charges)$")]
    sort: Option<String>,
    #[param(value_type = Option<TariffStatus>)]
    status: Option<String>,
    #[param(value_type = Option<Currency>)]
    currency: Option<String>,
    /// Case-insensitive text in the name or code.
    #[param(max_length = 255)]
    search: Option<String>,
    /// Created on or after this date (YYYY-MM-DD) or time (RFC 3339).
    #[param(format = Date)]
    created_from: Option<String>,
    /// Created on or before this date or time.
    #[param(format = Date)]
    created_to: Option<String>,
}

const SORTS: &[(&str, &str)] = &[
    ("created_at", "created_at"),
    ("tariff_name", "tariff_name"),
    ("tariff_id", "tariff_id"),
    ("base_charges", "base_charges"),
];

/// List live tariffs.
#[utoipa::path(get, path = "/tariffs", tag = "tariffs", params(PageQuery, TariffListQuery),
    responses((status = 200, body = Page<Tariff>), ListErrors))]
async fn list_tariffs(
    State(state): State<AppState>,
    ListQuery(paging): ListQuery<PageQuery>,
    ListQuery(q): ListQuery<TariffListQuery>,
) -> ApiResult<Json<Page<Tariff>>> {
    let mut r = QueryReader::default();
    let filter = db::tariffs::TariffFilter {
        status: r.parse("status", q.status.as_deref(), TariffStatus::parse),
        currency: r.parse("currency", q.currency.as_deref(), Currency::parse),
        search: r.text("search", q.search.as_deref()),
        created_from: r.parse("created_from", q.created_from.as_deref(), range_start),
        created_to: r.parse("created_to", q.created_to.as_deref(), range_end),
    };
    let page = r.page(&paging);
    let sort = r.sort(q.sort.as_deref(), SORTS, Sort::newest_first());
    r.finish()?;
    let result = db::tariffs::list(&state.db, &filter, &sort, page).await?;
    Ok(Json(Page::new(result, page, |t| t)))
}

/// One live tariff, by its `tariff_id`.
#[utoipa::path(get, path = "/tariffs/{tariffId}", tag = "tariffs",
    params(("tariffId" = String, Path, description = "The tariff's `tariff_id`")),
    responses((status = 200, body = Tariff), ReadErrors))]
async fn get_tariff(
    State(state): State<AppState>,
    Path(tariff_id): Path<String>,
) -> ApiResult<Json<Tariff>> {
    Ok(Json(find(&state, &tariff_id).await?))
}

async fn find(state: &AppState, tariff_id: &str) -> ApiResult<Tariff> {
    db::tariffs::find(&state.db, tariff_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no tariff {tariff_id:?}")))
}

const TARIFF_ID_TAKEN: &str = "a live tariff already has this tariff_id";

/// Create a tariff.
#[utoipa::path(post, path = "/tariffs", tag = "tariffs", request_body = TariffInput,
    responses((status = 201, body = Tariff), WriteErrors))]
async fn create_tariff(
    State(state): State<AppState>,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<Tariff>)> {
    let fields = from_value::<TariffInput>(body.into())?.validate()?;
    let mut tx = state.db.begin().await?;
    let tariff = db::tariffs::insert(&mut tx, &fields, db::now())
        .await
        .on_unique("tariff_id", "tariff_id", TARIFF_ID_TAKEN)?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(tariff)))
}

/// Update a tariff: the fields sent replace the stored ones (`null` clears an optional field).
/// Running sessions keep the price they started with.
#[utoipa::path(put, path = "/tariffs/{tariffId}", tag = "tariffs", request_body = TariffInput,
    params(("tariffId" = String, Path, description = "The tariff's `tariff_id`")),
    responses((status = 200, body = Tariff), WriteErrors))]
async fn update_tariff(
    State(state): State<AppState>,
    Path(tariff_id): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Tariff>> {
    let current = find(&state, &tariff_id).await?;
    let fields = apply_changes(TariffInput::from(&current), body)?.validate()?;
    if fields.tariff_id != current.tariff_id {
        return Err(Refusal::TariffIdFixed.into());
    }
    let mut tx = state.db.begin().await?;
    db::tariffs::lock(&mut tx, current.id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no tariff {tariff_id:?}")))?;
    if fields.status == TariffStatus::Inactive {
        refuse_if_in_use(&mut tx, current.id, TariffChange::Deactivated).await?;
    }
    let tariff = db::tariffs::update(&mut tx, current.id, &fields, db::now())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no tariff {tariff_id:?}")))?;
    tx.commit().await?;
    Ok(Json(tariff))
}

/// Soft-delete a tariff. Refused (409) while live charging points use it: assign them another
/// tariff first, so no point is left pricing with a deleted tariff.
#[utoipa::path(delete, path = "/tariffs/{tariffId}", tag = "tariffs",
    params(("tariffId" = String, Path, description = "The tariff's `tariff_id`")),
    responses((status = 204, description = "Deleted"), DeleteErrors))]
async fn delete_tariff(
    State(state): State<AppState>,
    Path(tariff_id): Path<String>,
) -> ApiResult<StatusCode> {
    let current = find(&state, &tariff_id).await?;
    let mut tx = state.db.begin().await?;
    db::tariffs::lock(&mut tx, current.id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no tariff {tariff_id:?}")))?;
    refuse_if_in_use(&mut tx, current.id, TariffChange::Deleted).await?;
    db::tariffs::soft_delete(&mut tx, current.id, db::now()).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn refuse_if_in_use(tx: &mut db::Tx, id: i64, change: TariffChange) -> ApiResult<()> {
    match db::tariffs::points_using(tx, id).await? {
        0 => Ok(()),
        points => Err(Refusal::TariffInUse { points, change }.into()),
    }
}
