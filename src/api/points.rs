//! `/api/cms/points`: create, read, update and soft-delete charging points with their connectors.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::json::{JsonObject, apply_changes, from_value};
use super::query::{ListQuery, Page, PageQuery, QueryReader, range_end, range_start, record_id};
use super::validate::{Checked, In, choice, given, given_opt, positive, read, required, text};
use crate::AppState;
use crate::auth::Caller;
use crate::db::{self, filter::Sort};
use crate::domain::enums::{ChargerType, ConnectorType, Oem, Phase, TariffStatus};
use crate::domain::point::{ConnectorFields, Point, PointFields, PointRow};
use crate::domain::refusal::Refusal;
use crate::error::docs::{DeleteErrors, ListErrors, ReadErrors, WriteErrors};
use crate::error::{ApiError, ApiResult, Problem, ResultExt};
use crate::fixed::Kilowatts;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_points, create_point))
        .routes(routes!(get_point, update_point, delete_point))
}

/// Most connectors a point may have.
const MAX_CONNECTORS: usize = 3;
/// `max_power` and connector `power` must be below this many kW.
const POWER_BELOW: i64 = 100_000;

/// A charging point's fields as sent by a client. On update, the fields sent replace the stored
/// ones.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PointInput {
    /// Required, at most 255 characters.
    #[schema(value_type = String, example = "Bay 1", min_length = 1, max_length = 255, pattern = "\\S")]
    pub charging_point_name: In<String>,
    /// Required: the `station_id` of a live station.
    #[schema(value_type = String, example = "STN-BLR-001", min_length = 1, max_length = 255)]
    pub station_id: In<String>,
    /// The OCPP charge point identity: 1 to 48 letters, digits or `*-_=:+|@.`; unique among live
    /// points.
    #[schema(value_type = Option<String>, example = "CP-BLR-001", min_length = 1, max_length = 48, pattern = "^[A-Za-z0-9*_=:+|@.-]+$")]
    pub device_id: In<String>,
    /// The `id` of a live, active tariff.
    #[schema(value_type = Option<i64>, example = 1, minimum = 1)]
    pub tariff_id: In<i64>,
    /// Required.
    #[schema(value_type = ChargerType)]
    pub charger_type: In<String>,
    /// Required.
    #[schema(value_type = Phase)]
    pub phase: In<String>,
    /// Required: the manufacturer.
    #[schema(value_type = Oem)]
    pub oem_list: In<String>,
    /// kW, above 0 and below 100000, two decimals at most.
    #[schema(value_type = Option<f64>, example = 7.4, exclusive_minimum = 0, exclusive_maximum = 100000, multiple_of = 0.01)]
    pub max_power: In<Kilowatts>,
    /// Required: 1 to 3 connectors with distinct connector_ids. On update, when sent, replaces
    /// the point's connectors (those left out are removed).
    #[schema(min_items = 1, max_items = 3)]
    pub connectors: Option<Vec<ConnectorInput>>,
}

/// A connector as sent by a client.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectorInput {
    /// Required: `1`, `2` or `3` (a string or a number).
    #[schema(value_type = String, example = "1", pattern = "^[123]$")]
    pub connector_id: In<Value>,
    /// Required.
    #[schema(value_type = ConnectorType)]
    pub connector_type: In<String>,
    /// Required: kW, above 0 and not above the point's max_power.
    #[schema(value_type = f64, example = 7.4, exclusive_minimum = 0, exclusive_maximum = 100000, multiple_of = 0.01)]
    pub power: In<Kilowatts>,
}

impl From<&Point> for PointInput {
    fn from(p: &Point) -> Self {
        Self {
            charging_point_name: given(p.charging_point_name.clone()),
            station_id: given(p.station_id.clone()),
            device_id: given_opt(p.device_id.clone()),
            tariff_id: given_opt(p.tariff_id),
            charger_type: given(p.charger_type.to_string()),
            phase: given(p.phase.to_string()),
            oem_list: given(p.oem_list.to_string()),
            max_power: given_opt(p.max_power),
            connectors: Some(
                p.connectors
                    .iter()
                    .map(|c| ConnectorInput {
                        connector_id: given(Value::String(c.connector_id.clone())),
                        connector_type: given(c.connector_type.to_string()),
                        power: given(c.power),
                    })
                    .collect(),
            ),
        }
    }
}

fn device_id(value: In<String>) -> Checked<Option<String>> {
    match text(value, 48)? {
        Some(id)
            if !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "*-_=:+|@.".contains(c)) =>
        {
            Err("may contain only letters, digits and * - _ = : + | @ .".to_owned())
        }
        other => Ok(other),
    }
}

fn tariff_id(value: In<i64>) -> Checked<Option<i64>> {
    match read(value)? {
        Some(id) if id <= 0 => Err("must be a positive whole number".to_owned()),
        other => Ok(other),
    }
}

fn connector_number(value: In<Value>) -> Checked<String> {
    let number = match required(read(value))? {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    if matches!(number.as_str(), "1" | "2" | "3") {
        Ok(number)
    } else {
        Err("must be 1, 2 or 3".to_owned())
    }
}

/// Checks the connectors, naming each problem by its path (`connectors[1].power`).
fn connectors(
    value: Option<Vec<ConnectorInput>>,
    max_power: &Checked<Option<Kilowatts>>,
) -> Result<Vec<ConnectorFields>, Vec<Problem>> {
    let Some(list) = value else {
        return Err(vec![Problem::new("connectors", "is required")]);
    };
    if list.is_empty() || list.len() > MAX_CONNECTORS {
        return Err(vec![Problem::new(
            "connectors",
            format!("must have 1 to {MAX_CONNECTORS} connectors"),
        )]);
    }
    let mut problems = Vec::new();
    let mut valid = Vec::new();
    let mut seen = Vec::new();
    for (i, c) in list.into_iter().enumerate() {
        let path = |field: &str| format!("connectors[{i}].{field}");
        let connector_id = connector_number(c.connector_id).and_then(|id| {
            if seen.contains(&id) {
                Err(format!("repeats connector {id} of this point"))
            } else {
                seen.push(id.clone());
                Ok(id)
            }
        });
        let connector_type = required(choice(c.connector_type, ConnectorType::parse));
        let power = required(positive(c.power, POWER_BELOW)).and_then(|power| match max_power {
            Ok(Some(max)) if power > *max => Err(format!("must not be above max_power ({max})")),
            _ => Ok(power),
        });
        match (connector_id, connector_type, power) {
            (Ok(connector_id), Ok(connector_type), Ok(power)) => valid.push(ConnectorFields {
                connector_id,
                connector_type,
                power,
            }),
            (connector_id, connector_type, power) => {
                for (field, result) in [
                    ("connector_id", connector_id.err()),
                    ("connector_type", connector_type.err()),
                    ("power", power.err()),
                ] {
                    if let Some(problem) = result {
                        problems.push(Problem::new(path(field), problem));
                    }
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(valid)
    } else {
        Err(problems)
    }
}

impl PointInput {
    fn validate(self) -> ApiResult<PointFields> {
        let max_power = positive(self.max_power, POWER_BELOW);
        let max_power_given = max_power.clone();
        crate::validate!(PointFields {
            charging_point_name = required(text(self.charging_point_name, 255)),
            station_id = required(text(self.station_id, 255)),
            device_id = device_id(self.device_id),
            tariff_id = tariff_id(self.tariff_id),
            charger_type = required(choice(self.charger_type, ChargerType::parse)),
            phase = required(choice(self.phase, Phase::parse)),
            oem_list = required(choice(self.oem_list, Oem::parse)),
            max_power = max_power,
            connectors = connectors(self.connectors, &max_power_given),
        })
    }
}

/// Filters and paging of the point list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PointListQuery {
    /// `created_at` (default `-created_at`), `charging_point_name`, `max_power`; `-` for descending.
    #[param(pattern = "^-?(created_at|charging_point_name|max_power)$")]
    sort: Option<String>,
    /// The `station_id` of the station.
    #[param(max_length = 255)]
    station_id: Option<String>,
    /// `AC` or `DC`.
    #[param(value_type = Option<ChargerType>)]
    charger_type: Option<String>,
    /// `Phase R`, `Phase Y` or `Phase B`.
    #[param(value_type = Option<Phase>)]
    phase: Option<String>,
    /// `Massive Mobility`, `EVRE` or `Okaya`.
    #[param(value_type = Option<Oem>)]
    oem_list: Option<String>,
    /// The `id` of a tariff.
    #[param(value_type = Option<i64>, minimum = 1)]
    tariff_id: Option<String>,
    /// Case-insensitive text in the name or device id.
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
    ("charging_point_name", "charging_point_name"),
    ("max_power", "max_power"),
];

/// List live charging points, each with its live connectors.
#[utoipa::path(get, path = "/points", tag = "points", params(PageQuery, PointListQuery),
    responses((status = 200, body = Page<Point>), ListErrors))]
async fn list_points(
    State(state): State<AppState>,
    caller: Caller,
    ListQuery(paging): ListQuery<PageQuery>,
    ListQuery(q): ListQuery<PointListQuery>,
) -> ApiResult<Json<Page<Point>>> {
    let mut r = QueryReader::default();
    let filter = db::points::PointFilter {
        station_id: r.text("station_id", q.station_id.as_deref()),
        charger_type: r.parse(
            "charger_type",
            q.charger_type.as_deref(),
            ChargerType::parse,
        ),
        phase: r.parse("phase", q.phase.as_deref(), Phase::parse),
        oem_list: r.parse("oem_list", q.oem_list.as_deref(), Oem::parse),
        tariff_id: r.parse("tariff_id", q.tariff_id.as_deref(), record_id),
        search: r.text("search", q.search.as_deref()),
        created_from: r.parse("created_from", q.created_from.as_deref(), range_start),
        created_to: r.parse("created_to", q.created_to.as_deref(), range_end),
        scope: caller.scope().map(str::to_owned),
    };
    let page = r.page(&paging);
    let sort = r.sort(q.sort.as_deref(), SORTS, Sort::newest_first());
    r.finish()?;
    let result = db::points::list(&state.db, &filter, &sort, page).await?;
    let ids: Vec<i64> = result.rows.iter().map(|p| p.id).collect();
    let mut by_point: HashMap<i64, Vec<_>> = HashMap::new();
    for c in db::points::connectors_of(&state.db, &ids).await? {
        by_point.entry(c.charging_point_id).or_default().push(c);
    }
    Ok(Json(Page::new(result, page, |p: PointRow| {
        let connectors = by_point.remove(&p.id).unwrap_or_default();
        Point::new(p, connectors)
    })))
}

/// One live charging point with its live connectors, by its `id`.
#[utoipa::path(get, path = "/points/{pointId}", tag = "points",
    params(("pointId" = i64, Path, description = "The point's `id`")),
    responses((status = 200, body = Point), ReadErrors))]
async fn get_point(
    State(state): State<AppState>,
    caller: Caller,
    Path(point_id): Path<String>,
) -> ApiResult<Json<Point>> {
    let id = super::record_id(&point_id, "charging point")?;
    Ok(Json(find(&state, &caller, id).await?))
}

/// The live point `id`, if the caller may see its station (another organization's is 404,
/// exactly like a missing one).
async fn find(state: &AppState, caller: &Caller, id: i64) -> ApiResult<Point> {
    let row = db::points::find(&state.db, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    if !caller.sees_station(&state.db, &row.station_id).await? {
        return Err(not_found(id));
    }
    let connectors = db::points::connectors_of(&state.db, &[id]).await?;
    Ok(Point::new(row, connectors))
}

fn not_found(id: i64) -> ApiError {
    ApiError::not_found(format!("no charging point {id}"))
}

/// 422 on `station_id` when the caller may not use that station: the same answer as for a
/// station that does not exist.
async fn station_visible(state: &AppState, caller: &Caller, station_id: &str) -> ApiResult<()> {
    if caller.sees_station(&state.db, station_id).await? {
        Ok(())
    } else {
        Err(ApiError::field("station_id", "names no live station"))
    }
}

const DEVICE_ID_TAKEN: &str = "a live charging point already has this device_id";

/// Locks the point's station and tariff for the rest of `tx`, so neither can be deleted (nor the
/// tariff deactivated) before the point is written; 422 when either cannot be used.
async fn lock_references(tx: &mut db::Tx, fields: &PointFields) -> ApiResult<()> {
    let station = db::stations::lock(tx, &fields.station_id).await?;
    let tariff = match fields.tariff_id {
        Some(id) => Some(db::tariffs::lock(tx, id).await?),
        None => None,
    };
    let mut problems = Vec::new();
    if station.is_none() {
        problems.push(Problem::new("station_id", "names no live station"));
    }
    match tariff {
        Some(None) => problems.push(Problem::new("tariff_id", "names no live tariff")),
        Some(Some(TariffStatus::Inactive)) => problems.push(Problem::new(
            "tariff_id",
            "names an inactive tariff; only active tariffs can be assigned",
        )),
        _ => {}
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(problems))
    }
}

/// Create a charging point with its connectors.
#[utoipa::path(post, path = "/points", tag = "points", request_body = PointInput,
    responses((status = 201, body = Point), WriteErrors))]
async fn create_point(
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<Point>)> {
    let fields = from_value::<PointInput>(body.into())?.validate()?;
    station_visible(&state, &caller, &fields.station_id).await?;
    let now = db::now();
    let mut tx = state.db.begin().await?;
    lock_references(&mut tx, &fields).await?;
    let row = db::points::insert(&mut tx, &fields, now).await.on_unique(
        "device_id",
        "device_id",
        DEVICE_ID_TAKEN,
    )?;
    for c in &fields.connectors {
        db::points::put_connector(&mut tx, row.id, c, now).await?;
    }
    let connectors = db::points::connectors(&mut tx, row.id).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(Point::new(row, connectors))))
}

/// Update a charging point: the fields sent replace the stored ones (`null` clears an optional
/// field). `connectors`, when sent, replaces the set: connectors with a connector_id that stays
/// keep their id, new ones are added, and those left out are removed (refused, 409, while a
/// session is active on them).
#[utoipa::path(put, path = "/points/{pointId}", tag = "points", request_body = PointInput,
    params(("pointId" = i64, Path, description = "The point's `id`")),
    responses((status = 200, body = Point), WriteErrors))]
async fn update_point(
    State(state): State<AppState>,
    caller: Caller,
    Path(point_id): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Point>> {
    let id = super::record_id(&point_id, "charging point")?;
    let current = find(&state, &caller, id).await?;
    let replaces_connectors = body.contains_key("connectors");
    let fields = apply_changes(PointInput::from(&current), body)?.validate()?;
    station_visible(&state, &caller, &fields.station_id).await?;
    let now = db::now();
    let mut tx = state.db.begin().await?;
    if !db::points::lock(&mut tx, id).await? {
        return Err(not_found(id));
    }
    lock_references(&mut tx, &fields).await?;
    let row = db::points::update(&mut tx, id, &fields, now)
        .await
        .on_unique("device_id", "device_id", DEVICE_ID_TAKEN)?
        .ok_or_else(|| not_found(id))?;
    if replaces_connectors {
        for old in db::points::connectors(&mut tx, id).await? {
            if fields
                .connectors
                .iter()
                .any(|c| c.connector_id == old.connector_id)
            {
                continue;
            }
            if db::points::active_sessions_on_connector(&mut tx, old.id).await? > 0 {
                return Err(Refusal::ConnectorCharging {
                    connector_id: old.connector_id.clone(),
                }
                .into());
            }
            db::points::remove_connector(&mut tx, old.id, now).await?;
        }
        for c in &fields.connectors {
            db::points::put_connector(&mut tx, id, c, now).await?;
        }
    }
    let connectors = db::points::connectors(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Json(Point::new(row, connectors)))
}

/// Soft-delete a charging point and its connectors. Refused (409) while a charging session is
/// active on it.
#[utoipa::path(delete, path = "/points/{pointId}", tag = "points",
    params(("pointId" = i64, Path, description = "The point's `id`")),
    responses((status = 204, description = "Deleted"), DeleteErrors))]
async fn delete_point(
    State(state): State<AppState>,
    caller: Caller,
    Path(point_id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = super::record_id(&point_id, "charging point")?;
    find(&state, &caller, id).await?;
    let mut tx = state.db.begin().await?;
    if !db::points::lock(&mut tx, id).await? {
        return Err(not_found(id));
    }
    match db::points::active_sessions(&mut tx, id).await? {
        0 => {}
        sessions => return Err(Refusal::PointCharging { sessions }.into()),
    }
    db::points::soft_delete(&mut tx, id, db::now()).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
