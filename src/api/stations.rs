//! `/api/cms/stations`: create, read, update and soft-delete charging stations.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::json::{JsonObject, apply_changes, from_value};
use super::query::{ListQuery, Page, PageQuery, QueryReader, range_end, range_start};
use super::validate::{
    Checked, In, choice, code, email, given, given_opt, phone, read, required, text, time_of_day,
    within,
};
use crate::AppState;
use crate::auth::Caller;
use crate::db::types::WorkingDays;
use crate::db::{self, filter::Sort};
use crate::domain::enums::{GridPhase, StationStatus, Weekday};
use crate::domain::refusal::Refusal;
use crate::domain::station::{Station, StationFields};
use crate::error::docs::{DeleteErrors, ListErrors, ReadErrors, WriteErrors};
use crate::error::{ApiError, ApiResult, ResultExt};
use crate::fixed::Degrees;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_stations, create_station))
        .routes(routes!(get_station, update_station, delete_station))
}

/// A station's fields as sent by a client. On update, the fields sent replace the stored ones.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StationInput {
    /// Required; letters, digits and `-_.:`, unique forever (even after deletion). Cannot be changed.
    #[schema(value_type = String, example = "STN-BLR-001", min_length = 1, max_length = 255, pattern = "^[A-Za-z0-9._:-]+$")]
    pub station_id: In<String>,
    /// Required, at most 255 characters.
    #[schema(value_type = String, example = "Koramangala Hub", min_length = 1, max_length = 255, pattern = "\\S")]
    pub station_name: In<String>,
    /// Required: the code of an organization, e.g. `massive_mobility` or `1c_ev_charging`.
    #[schema(value_type = String, example = "massive_mobility")]
    pub organization: In<String>,
    /// At most 1000 characters.
    #[schema(value_type = Option<String>, max_length = 1000)]
    pub address: In<String>,
    /// At most 100 characters.
    #[schema(value_type = Option<String>, example = "Bengaluru", max_length = 100)]
    pub city: In<String>,
    /// At most 100 characters.
    #[schema(value_type = Option<String>, example = "Karnataka", max_length = 100)]
    pub state: In<String>,
    /// Required, at most 100 characters.
    #[schema(value_type = String, example = "India", min_length = 1, max_length = 100, pattern = "\\S")]
    pub country: In<String>,
    /// At most 20 letters, digits, spaces or dashes.
    #[schema(value_type = Option<String>, example = "560034", max_length = 20, pattern = "^[A-Za-z0-9 -]*$")]
    pub pincode: In<String>,
    /// Degrees, -90 to 90, eight decimals at most; given together with longitude.
    #[schema(value_type = Option<f64>, example = 12.9352, minimum = -90, maximum = 90)]
    pub latitude: In<Degrees>,
    /// Degrees, -180 to 180, eight decimals at most; given together with latitude.
    #[schema(value_type = Option<f64>, example = 77.6245, minimum = -180, maximum = 180)]
    pub longitude: In<Degrees>,
    /// Required.
    #[schema(value_type = StationStatus)]
    pub status: In<String>,
    /// Required.
    #[schema(value_type = GridPhase)]
    pub grid_phase: In<String>,
    /// Lowercase day names (`monday`, ...); absent means none.
    #[schema(value_type = Option<Vec<Weekday>>)]
    pub working_days: In<Vec<String>>,
    /// `HH:MM` or `HH:MM:SS`; given together with closing_time.
    #[schema(value_type = Option<String>, example = "08:00", pattern = "^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$")]
    pub opening_time: In<String>,
    /// `HH:MM` or `HH:MM:SS`; given together with opening_time.
    #[schema(value_type = Option<String>, example = "22:00", pattern = "^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$")]
    pub closing_time: In<String>,
    /// At most 255 characters.
    #[schema(value_type = Option<String>, max_length = 255)]
    pub contact_person: In<String>,
    /// A phone number: 7 to 15 digits, optionally starting with `+`.
    #[schema(value_type = Option<String>, example = "+919876543210")]
    pub contact_number: In<String>,
    /// An e-mail address.
    #[schema(value_type = Option<String>, example = "ops@example.com")]
    pub email: In<String>,
}

impl From<&Station> for StationInput {
    fn from(s: &Station) -> Self {
        let time =
            |t: Option<chrono::NaiveTime>| given_opt(t.map(|t| t.format("%H:%M:%S").to_string()));
        Self {
            station_id: given(s.station_id.clone()),
            station_name: given(s.station_name.clone()),
            organization: given(s.organization.clone()),
            address: given_opt(s.address.clone()),
            city: given_opt(s.city.clone()),
            state: given_opt(s.state.clone()),
            country: given(s.country.clone()),
            pincode: given_opt(s.pincode.clone()),
            latitude: given_opt(s.latitude),
            longitude: given_opt(s.longitude),
            status: given(s.status.to_string()),
            grid_phase: given(s.grid_phase.to_string()),
            working_days: given(
                s.working_days
                    .days()
                    .iter()
                    .map(|d| d.as_str().to_owned())
                    .collect(),
            ),
            opening_time: time(s.opening_time),
            closing_time: time(s.closing_time),
            contact_person: given_opt(s.contact_person.clone()),
            contact_number: given_opt(s.contact_number.clone()),
            email: given_opt(s.email.clone()),
        }
    }
}

/// `value`, or a problem when it is missing while `other` (named `other_name`) is given.
fn paired<T, U>(
    value: Checked<Option<T>>,
    other: &Checked<Option<U>>,
    other_name: &str,
) -> Checked<Option<T>> {
    match (&value, other) {
        (Ok(None), Ok(Some(_))) => Err(format!("is required when {other_name} is given")),
        _ => value,
    }
}

fn organization(value: In<String>, known: &[String]) -> Checked<Option<String>> {
    match text(value, 100)? {
        Some(code) if !known.contains(&code) => {
            Err(format!("must be one of: {}", known.join(", ")))
        }
        other => Ok(other),
    }
}

fn pincode(value: In<String>) -> Checked<Option<String>> {
    match text(value, 20)? {
        Some(p)
            if !p
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-') =>
        {
            Err("may contain only letters, digits, spaces and dashes".to_owned())
        }
        other => Ok(other),
    }
}

fn working_days(value: In<Vec<String>>) -> Checked<WorkingDays> {
    let names = read(value)?.unwrap_or_default();
    names
        .iter()
        .map(|name| Weekday::parse(name.trim()))
        .collect::<Result<Vec<_>, _>>()
        .map(WorkingDays::new)
}

impl StationInput {
    fn validate(self, organizations: &[String]) -> ApiResult<StationFields> {
        let latitude = within(self.latitude, -90, 90);
        let longitude = within(self.longitude, -180, 180);
        let opening = time_of_day(self.opening_time);
        let closing = time_of_day(self.closing_time);
        let lat_given = latitude.clone();
        let opening_given = opening.clone();
        crate::validate!(StationFields {
            station_id = required(code(self.station_id, 255)),
            station_name = required(text(self.station_name, 255)),
            organization = required(organization(self.organization, organizations)),
            address = text(self.address, 1000),
            city = text(self.city, 100),
            state = text(self.state, 100),
            country = required(text(self.country, 100)),
            pincode = pincode(self.pincode),
            latitude = paired(latitude, &longitude, "longitude"),
            longitude = paired(longitude, &lat_given, "latitude"),
            status = required(choice(self.status, StationStatus::parse)),
            grid_phase = required(choice(self.grid_phase, GridPhase::parse)),
            working_days = working_days(self.working_days),
            opening_time = paired(opening, &closing, "closing_time"),
            closing_time = paired(closing, &opening_given, "opening_time"),
            contact_person = text(self.contact_person, 255),
            contact_number = phone(self.contact_number),
            email = email(self.email),
        })
    }
}

/// Filters and paging of the station list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StationListQuery {
    /// `created_at` (default `-created_at`), `station_name`, `station_id`, `city`; `-` for descending.
    #[param(pattern = "^-?(created_at|station_name|station_id|city)$")]
    sort: Option<String>,
    /// `Active`, `Inactive` or `Maintenance`.
    #[param(value_type = Option<StationStatus>)]
    status: Option<String>,
    /// Organization code, e.g. `massive_mobility`.
    #[param(max_length = 255)]
    organization: Option<String>,
    /// City, case-insensitive exact match.
    #[param(max_length = 255)]
    city: Option<String>,
    /// State, case-insensitive exact match.
    #[param(max_length = 255)]
    state: Option<String>,
    /// Country, case-insensitive exact match.
    #[param(max_length = 255)]
    country: Option<String>,
    /// `Single Phase` or `Three Phase`.
    #[param(value_type = Option<GridPhase>)]
    grid_phase: Option<String>,
    /// Case-insensitive text in the name, code, city, address or contact person.
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
    ("station_name", "station_name"),
    ("station_id", "station_id"),
    ("city", "city"),
];

/// List live stations.
#[utoipa::path(get, path = "/stations", tag = "stations", params(PageQuery, StationListQuery),
    responses((status = 200, body = Page<Station>), ListErrors))]
async fn list_stations(
    State(state): State<AppState>,
    caller: Caller,
    ListQuery(paging): ListQuery<PageQuery>,
    ListQuery(q): ListQuery<StationListQuery>,
) -> ApiResult<Json<Page<Station>>> {
    let mut r = QueryReader::default();
    let filter = db::stations::StationFilter {
        status: r.parse("status", q.status.as_deref(), StationStatus::parse),
        organization: r.text("organization", q.organization.as_deref()),
        city: r.text("city", q.city.as_deref()),
        state: r.text("state", q.state.as_deref()),
        country: r.text("country", q.country.as_deref()),
        grid_phase: r.parse("grid_phase", q.grid_phase.as_deref(), GridPhase::parse),
        search: r.text("search", q.search.as_deref()),
        created_from: r.parse("created_from", q.created_from.as_deref(), range_start),
        created_to: r.parse("created_to", q.created_to.as_deref(), range_end),
        scope: caller.scope().map(str::to_owned),
    };
    let page = r.page(&paging);
    let sort = r.sort(q.sort.as_deref(), SORTS, Sort::newest_first());
    r.finish()?;
    let mut result = db::stations::list(&state.db, &filter, &sort, page).await?;
    result.rows = super::station_images::with_covers(&state, result.rows).await?;
    Ok(Json(Page::new(result, page, |s| s)))
}

/// One live station, by its `station_id`.
#[utoipa::path(get, path = "/stations/{stationId}", tag = "stations",
    params(("stationId" = String, Path, description = "The station's `station_id`")),
    responses((status = 200, body = Station), ReadErrors))]
async fn get_station(
    State(state): State<AppState>,
    caller: Caller,
    Path(station_id): Path<String>,
) -> ApiResult<Json<Station>> {
    let station = find(&state, &caller, &station_id).await?;
    Ok(Json(
        super::station_images::with_images(&state, station).await?,
    ))
}

/// The live station `station_id`, if the caller may see it (another organization's is 404,
/// exactly like a missing one).
async fn find(state: &AppState, caller: &Caller, station_id: &str) -> ApiResult<Station> {
    db::stations::find(&state.db, station_id)
        .await?
        .filter(|s| caller.sees(&s.organization))
        .ok_or_else(|| not_found(station_id))
}

/// The organization codes the caller may put a station in: its own, or all.
async fn organizations_for(state: &AppState, caller: &Caller) -> ApiResult<Vec<String>> {
    let mut codes = db::organizations::codes(&state.db).await?;
    codes.retain(|code| caller.sees(code));
    Ok(codes)
}

fn not_found(station_id: &str) -> ApiError {
    ApiError::not_found(format!("no station {station_id:?}"))
}

const STATION_ID_TAKEN: &str = "station_id is already used by a station (possibly deleted)";

/// Create a station.
#[utoipa::path(post, path = "/stations", tag = "stations", request_body = StationInput,
    responses((status = 201, body = Station), WriteErrors))]
async fn create_station(
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<Station>)> {
    let input = from_value::<StationInput>(body.into())?;
    let organizations = organizations_for(&state, &caller).await?;
    let fields = input.validate(&organizations)?;
    let mut tx = state.db.begin().await?;
    let station = db::stations::insert(&mut tx, &fields, db::now())
        .await
        .on_unique("station_id", "station_id", STATION_ID_TAKEN)?;
    tx.commit().await?;
    let station = super::station_images::with_images(&state, station).await?;
    Ok((StatusCode::CREATED, Json(station)))
}

/// Update a station: the fields sent replace the stored ones (`null` clears an optional field).
#[utoipa::path(put, path = "/stations/{stationId}", tag = "stations", request_body = StationInput,
    params(("stationId" = String, Path, description = "The station's `station_id`")),
    responses((status = 200, body = Station), WriteErrors))]
async fn update_station(
    State(state): State<AppState>,
    caller: Caller,
    Path(station_id): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Station>> {
    let current = find(&state, &caller, &station_id).await?;
    let input = apply_changes(StationInput::from(&current), body)?;
    let organizations = organizations_for(&state, &caller).await?;
    let fields = input.validate(&organizations)?;
    if fields.station_id != current.station_id {
        return Err(ApiError::field(
            "station_id",
            "cannot be changed; create a new station instead",
        ));
    }
    let mut tx = state.db.begin().await?;
    let station = db::stations::update(&mut tx, current.id, &fields, db::now())
        .await?
        .ok_or_else(|| not_found(&station_id))?;
    tx.commit().await?;
    Ok(Json(
        super::station_images::with_images(&state, station).await?,
    ))
}

/// Soft-delete a station. Refused (409) while it has live charging points: delete them or move
/// them to another station first.
#[utoipa::path(delete, path = "/stations/{stationId}", tag = "stations",
    params(("stationId" = String, Path, description = "The station's `station_id`")),
    responses((status = 204, description = "Deleted"), DeleteErrors))]
async fn delete_station(
    State(state): State<AppState>,
    caller: Caller,
    Path(station_id): Path<String>,
) -> ApiResult<StatusCode> {
    find(&state, &caller, &station_id).await?;
    let mut tx = state.db.begin().await?;
    let id = db::stations::lock(&mut tx, &station_id)
        .await?
        .ok_or_else(|| not_found(&station_id))?;
    match db::stations::live_points(&mut tx, &station_id).await? {
        0 => {}
        points => return Err(Refusal::StationHasPoints { points }.into()),
    }
    db::stations::soft_delete(&mut tx, id, db::now()).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
