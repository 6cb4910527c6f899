//! `/api/cms/id-tags` and `/api/cms/customers/{id}/id-tags`: the OCPP idTags (RFID cards, app
//! tokens) that charge to a customer's wallet.
//!
//! An idTag is an OCPP 1.6 `CiString20`, a case-insensitive string: `04a2ff` and `04A2FF` are
//! one card. So a tag is unique across all customers regardless of letter case, and the
//! `{idTag}` in a path finds it in any case; it is stored and shown as it was first written.
//! Deleting a tag removes it for good (sessions keep the idTag text they started with), so
//! the card can then be given to someone else.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::json::{JsonObject, apply_changes, from_value};
use super::query::{ListQuery, Page, PageQuery, QueryReader, boolean, record_id};
use super::validate::{Checked, In, given, given_opt, read, required, text};
use crate::AppState;
use crate::db::{self, filter::Sort};
use crate::domain::id_tag::{IdTag, IdTagFields, MAX_ID_TAG, check_id_tag};
use crate::error::docs::{DeleteErrors, ListErrors, ReadErrors, WriteErrors};
use crate::error::{ApiError, ApiResult, Problem, ResultExt};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_customer_id_tags, create_id_tag))
        .routes(routes!(list_id_tags))
        .routes(routes!(get_id_tag, update_id_tag, delete_id_tag))
}

/// An id tag's fields as sent by a client. On update, the fields sent replace the stored ones;
/// `id_tag` and `customer_id` cannot be changed.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdTagInput {
    /// Required: the OCPP idTag, 1 to 20 printable ASCII characters without spaces; unique across
    /// all customers regardless of letter case. Cannot be changed.
    #[schema(value_type = String, example = "04A2B3C4D5E6F7", min_length = 1, max_length = 20, pattern = "^[!-~]+$")]
    pub id_tag: In<String>,
    /// The customer the tag charges to. On create it is the customer of the address and may be
    /// left out. Cannot be changed.
    #[schema(value_type = Option<i64>, example = 1, minimum = 1)]
    pub customer_id: In<i64>,
    /// Whether chargers must refuse the tag (default false).
    #[schema(value_type = Option<bool>)]
    pub blocked: In<bool>,
    /// When the tag stops being accepted, an RFC 3339 date-time; null or absent: never.
    #[schema(value_type = Option<String>, format = DateTime, example = "2027-12-31T23:59:59Z")]
    pub expires_at: In<String>,
}

impl From<&IdTag> for IdTagInput {
    fn from(t: &IdTag) -> Self {
        Self {
            id_tag: given(t.id_tag.clone()),
            customer_id: given(t.customer_id),
            blocked: given(t.blocked),
            expires_at: given_opt(t.expires_at.map(|at| at.to_rfc3339())),
        }
    }
}

fn id_tag(value: In<String>) -> Checked<Option<String>> {
    match text(value, MAX_ID_TAG)? {
        Some(tag) => check_id_tag(&tag).map(|()| Some(tag)),
        None => Ok(None),
    }
}

/// `customer_id` must be `expected` when sent; `mismatch` says why otherwise.
fn customer(value: In<i64>, expected: i64, mismatch: &str) -> Checked<i64> {
    match read(value)? {
        Some(id) if id != expected => Err(mismatch.to_owned()),
        _ => Ok(expected),
    }
}

fn expiry(value: In<String>) -> Checked<Option<DateTime<Utc>>> {
    let Some(value) = text(value, 64)? else {
        return Ok(None);
    };
    DateTime::parse_from_rfc3339(&value)
        .map(|at| Some(at.with_timezone(&Utc).trunc_subsecs(6)))
        .map_err(|_| "must be an RFC 3339 date-time such as 2027-12-31T23:59:59Z".to_owned())
}

impl IdTagInput {
    fn validate(self, customer_id: i64, mismatch: &str) -> ApiResult<IdTagFields> {
        crate::validate!(IdTagFields {
            id_tag = required(id_tag(self.id_tag)),
            customer_id = customer(self.customer_id, customer_id, mismatch),
            blocked = read(self.blocked).map(|b| b.unwrap_or(false)),
            expires_at = expiry(self.expires_at),
        })
    }
}

/// Filters and paging of the id tag lists.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IdTagListQuery {
    /// `created_at` (default `-created_at`) or `id_tag`; `-` for descending.
    #[param(pattern = "^-?(created_at|id_tag)$")]
    sort: Option<String>,
    /// `true` for blocked tags only, `false` for usable ones only.
    #[param(value_type = Option<bool>)]
    blocked: Option<String>,
    /// Case-insensitive text in the idTag or the customer's name.
    #[param(max_length = 255)]
    search: Option<String>,
}

/// The same, with the customer filter of the list of all tags.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AllIdTagsQuery {
    /// The customer's id.
    #[param(value_type = Option<i64>, minimum = 1)]
    customer_id: Option<String>,
}

const SORTS: &[(&str, &str)] = &[("created_at", "t.created_at"), ("id_tag", "t.id_tag")];

async fn list(
    state: &AppState,
    customer_id: Option<i64>,
    paging: &PageQuery,
    q: IdTagListQuery,
    mut r: QueryReader,
) -> ApiResult<Page<IdTag>> {
    let filter = db::id_tags::IdTagFilter {
        customer_id,
        blocked: r.parse("blocked", q.blocked.as_deref(), boolean),
        search: r.text("search", q.search.as_deref()),
    };
    let page = r.page(paging);
    let sort = r.sort(
        q.sort.as_deref(),
        SORTS,
        Sort::new("t.created_at", true, "t.id"),
    );
    r.finish()?;
    let result = db::id_tags::list(&state.db, &filter, &sort, page).await?;
    Ok(Page::new(result, page, |t| t))
}

/// A live customer's id tags.
#[utoipa::path(get, path = "/customers/{customerId}/id-tags", tag = "id-tags",
    params(("customerId" = i64, Path, description = "The customer's id"), PageQuery, IdTagListQuery),
    responses((status = 200, body = Page<IdTag>), ListErrors, ReadErrors))]
async fn list_customer_id_tags(
    State(state): State<AppState>,
    Path(customer_id): Path<String>,
    ListQuery(paging): ListQuery<PageQuery>,
    ListQuery(q): ListQuery<IdTagListQuery>,
) -> ApiResult<Json<Page<IdTag>>> {
    let id = super::record_id(&customer_id, "customer")?;
    db::customers::find(&state.db, id)
        .await?
        .ok_or_else(|| no_customer(&customer_id))?;
    let page = list(&state, Some(id), &paging, q, QueryReader::default()).await?;
    Ok(Json(page))
}

/// Every customer's id tags.
#[utoipa::path(get, path = "/id-tags", tag = "id-tags",
    params(PageQuery, IdTagListQuery, AllIdTagsQuery),
    responses((status = 200, body = Page<IdTag>), ListErrors))]
async fn list_id_tags(
    State(state): State<AppState>,
    ListQuery(paging): ListQuery<PageQuery>,
    ListQuery(q): ListQuery<IdTagListQuery>,
    ListQuery(all): ListQuery<AllIdTagsQuery>,
) -> ApiResult<Json<Page<IdTag>>> {
    let mut r = QueryReader::default();
    let customer_id = r.parse("customer_id", all.customer_id.as_deref(), record_id);
    Ok(Json(list(&state, customer_id, &paging, q, r).await?))
}

/// One id tag, by its idTag in any letter case.
#[utoipa::path(get, path = "/id-tags/{idTag}", tag = "id-tags",
    params(("idTag" = String, Path, description = "The idTag")),
    responses((status = 200, body = IdTag), ReadErrors))]
async fn get_id_tag(
    State(state): State<AppState>,
    Path(id_tag): Path<String>,
) -> ApiResult<Json<IdTag>> {
    Ok(Json(find(&state, &id_tag).await?))
}

async fn find(state: &AppState, id_tag: &str) -> ApiResult<IdTag> {
    db::id_tags::find(&state.db, id_tag)
        .await?
        .ok_or_else(|| no_tag(id_tag))
}

fn no_tag(id_tag: &str) -> ApiError {
    ApiError::not_found(format!("no id tag {id_tag:?}"))
}

fn no_customer(segment: &str) -> ApiError {
    ApiError::not_found(format!("no customer {segment:?}"))
}

fn tag_taken() -> ApiError {
    ApiError {
        details: vec![Problem::new("id_tag", "is already taken")],
        ..ApiError::conflict("this idTag already belongs to a customer (letter case aside)")
    }
}

/// Give a live customer a new id tag.
#[utoipa::path(post, path = "/customers/{customerId}/id-tags", tag = "id-tags",
    request_body = IdTagInput,
    params(("customerId" = i64, Path, description = "The customer's id")),
    responses((status = 201, body = IdTag), WriteErrors))]
async fn create_id_tag(
    State(state): State<AppState>,
    Path(customer_id): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<IdTag>)> {
    let id = super::record_id(&customer_id, "customer")?;
    let fields = from_value::<IdTagInput>(body.into())?
        .validate(id, "must be the customer of the address, or be left out")?;
    let mut tx = state.db.begin().await?;
    if !db::customers::lock(&mut tx, id).await? {
        return Err(no_customer(&customer_id));
    }
    db::id_tags::lock_for_create(&mut tx).await?;
    if db::id_tags::taken(&mut tx, &fields.id_tag).await? {
        return Err(tag_taken());
    }
    let tag = db::id_tags::insert(&mut tx, &fields, db::now())
        .await
        .on_unique(
            "id_tag",
            "id_tag",
            "this idTag already belongs to a customer",
        )?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(tag)))
}

/// Block or unblock an id tag, or change when it expires (`null` clears the expiry). The idTag
/// and its customer cannot be changed: delete the tag and create another instead.
#[utoipa::path(put, path = "/id-tags/{idTag}", tag = "id-tags", request_body = IdTagInput,
    params(("idTag" = String, Path, description = "The idTag")),
    responses((status = 200, body = IdTag), WriteErrors))]
async fn update_id_tag(
    State(state): State<AppState>,
    Path(id_tag): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<IdTag>> {
    let current = find(&state, &id_tag).await?;
    let fields = apply_changes(IdTagInput::from(&current), body)?.validate(
        current.customer_id,
        "cannot be changed; give the customer a tag of their own instead",
    )?;
    if fields.id_tag != current.id_tag {
        return Err(ApiError::field(
            "id_tag",
            "cannot be changed; delete the tag and create a new one instead",
        ));
    }
    let mut tx = state.db.begin().await?;
    let tag = db::id_tags::update(&mut tx, current.id, &fields, db::now())
        .await?
        .ok_or_else(|| no_tag(&id_tag))?;
    tx.commit().await?;
    Ok(Json(tag))
}

/// Delete an id tag for good: chargers will no longer accept it, and the idTag may be given to
/// a customer again. Sessions it started keep its text.
#[utoipa::path(delete, path = "/id-tags/{idTag}", tag = "id-tags",
    params(("idTag" = String, Path, description = "The idTag")),
    responses((status = 204, description = "Deleted"), DeleteErrors))]
async fn delete_id_tag(
    State(state): State<AppState>,
    Path(id_tag): Path<String>,
) -> ApiResult<StatusCode> {
    let current = find(&state, &id_tag).await?;
    let mut tx = state.db.begin().await?;
    if !db::id_tags::delete(&mut tx, current.id).await? {
        return Err(no_tag(&id_tag));
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
