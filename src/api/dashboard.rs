//! `/api/cms/dashboard`: the figures of the operators' landing screen, each aggregated in SQL on
//! either database: chargers online, offline and faulted, connectors by status, active sessions
//! with their live energy and cost, today's energy and revenue; and series for charts: per day
//! (energy, revenue, sessions) and sessions per hour. Days and hours are UTC.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Duration, DurationRound, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::query::{ListQuery, QueryReader};
use crate::AppState;
use crate::auth::Caller;
use crate::db::{self, dashboard::ActiveSession, dashboard::Period, dashboard::Scope};
use crate::error::docs::ListErrors;
use crate::error::{ApiError, ApiResult};
use crate::fixed::Money;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(overview))
        .routes(routes!(daily))
        .routes(routes!(hourly))
}

/// Which part of the network the figures cover.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScopeQuery {
    /// Only this organization's stations (a user bound to an organization always sees only theirs).
    #[param(example = "ACME")]
    organization: Option<String>,
    /// Only this station.
    #[param(example = "ST-BLR-01")]
    station_id: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DaysQuery {
    /// How many days back, today included: 1 to 366, default 30.
    #[param(minimum = 1, maximum = 366, example = 30)]
    days: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChargerFigures {
    pub total: i64,
    pub online: i64,
    pub offline: i64,
    /// Chargers with a connector reporting Faulted.
    pub faulted: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DayFigures {
    pub energy_wh: i64,
    pub revenue: Money,
    pub sessions: i64,
}

/// The landing screen's figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct Overview {
    pub chargers: ChargerFigures,
    /// Connectors by their last reported status (`Unknown` before the first report).
    #[schema(value_type = Object, example = json!({"Available": 12, "Charging": 3, "Faulted": 1}))]
    pub connectors: BTreeMap<String, i64>,
    /// At most 100, newest first.
    pub active_sessions: Vec<ActiveSession>,
    /// Sessions started today (UTC).
    pub today: DayFigures,
}

/// One day of the chart series.
#[derive(Debug, Serialize, ToSchema)]
pub struct DayPoint {
    #[schema(example = "2026-11-30")]
    pub day: String,
    pub energy_wh: i64,
    pub revenue: Money,
    pub sessions: i64,
}

/// One hour of the sessions-per-hour series.
#[derive(Debug, Serialize, ToSchema)]
pub struct HourPoint {
    /// The hour's start, UTC.
    pub hour: DateTime<Utc>,
    pub sessions: i64,
}

/// Chargers, connectors, active sessions and today's totals.
#[utoipa::path(get, path = "/dashboard", tag = "dashboard",
    params(ScopeQuery), responses((status = 200, body = Overview), ListErrors))]
async fn overview(
    State(state): State<AppState>,
    caller: Caller,
    ListQuery(q): ListQuery<ScopeQuery>,
) -> ApiResult<Json<Overview>> {
    let scope = scope_of(&caller, q)?;
    let chargers = db::dashboard::chargers(&state.db, &scope).await?;
    let connectors = db::dashboard::connectors(&state.db, &scope)
        .await?
        .into_iter()
        .collect();
    let active_sessions = db::dashboard::active_sessions(&state.db, &scope, 100).await?;
    let midnight = Utc::now()
        .duration_trunc(TimeDelta::days(1))
        .unwrap_or_else(|_| Utc::now());
    let today = db::dashboard::totals(&state.db, &scope, Period::Day, midnight)
        .await?
        .into_iter()
        .next()
        .map(|t| DayFigures {
            energy_wh: t.energy_wh,
            revenue: t.revenue,
            sessions: t.sessions,
        })
        .unwrap_or(DayFigures {
            energy_wh: 0,
            revenue: Money::ZERO,
            sessions: 0,
        });
    Ok(Json(Overview {
        chargers: ChargerFigures {
            offline: chargers.total - chargers.online,
            total: chargers.total,
            online: chargers.online,
            faulted: chargers.faulted,
        },
        connectors,
        active_sessions,
        today,
    }))
}

/// Energy, revenue and sessions per day (UTC), every day of the range present (zeros included),
/// oldest first.
#[utoipa::path(get, path = "/dashboard/daily", tag = "dashboard",
    params(ScopeQuery, DaysQuery), responses((status = 200, body = Vec<DayPoint>), ListErrors))]
async fn daily(
    State(state): State<AppState>,
    caller: Caller,
    ListQuery(q): ListQuery<ScopeQuery>,
    ListQuery(d): ListQuery<DaysQuery>,
) -> ApiResult<Json<Vec<DayPoint>>> {
    let mut r = QueryReader::default();
    let days = r
        .parse("days", d.days.as_deref(), |v| {
            v.parse::<i64>()
                .ok()
                .filter(|n| (1..=366).contains(n))
                .ok_or_else(|| "must be a whole number from 1 to 366".to_owned())
        })
        .unwrap_or(30);
    r.finish()?;
    let scope = scope_of(&caller, q)?;
    let today = Utc::now()
        .duration_trunc(TimeDelta::days(1))
        .unwrap_or_else(|_| Utc::now());
    let first = today - Duration::days(days - 1);
    let found: BTreeMap<String, _> = db::dashboard::totals(&state.db, &scope, Period::Day, first)
        .await?
        .into_iter()
        .map(|t| (t.period.clone(), t))
        .collect();
    let series = (0..days)
        .map(|i| {
            let day = (first + Duration::days(i)).format("%Y-%m-%d").to_string();
            let t = found.get(&day);
            DayPoint {
                energy_wh: t.map_or(0, |t| t.energy_wh),
                revenue: t.map_or(Money::ZERO, |t| t.revenue),
                sessions: t.map_or(0, |t| t.sessions),
                day,
            }
        })
        .collect();
    Ok(Json(series))
}

/// Sessions started per hour (UTC) over the last 24 hours, the current hour last, zeros included.
#[utoipa::path(get, path = "/dashboard/hourly", tag = "dashboard",
    params(ScopeQuery), responses((status = 200, body = Vec<HourPoint>), ListErrors))]
async fn hourly(
    State(state): State<AppState>,
    caller: Caller,
    ListQuery(q): ListQuery<ScopeQuery>,
) -> ApiResult<Json<Vec<HourPoint>>> {
    let scope = scope_of(&caller, q)?;
    let this_hour = Utc::now()
        .duration_trunc(TimeDelta::hours(1))
        .unwrap_or_else(|_| Utc::now());
    let first = this_hour - Duration::hours(23);
    let found: BTreeMap<String, i64> =
        db::dashboard::totals(&state.db, &scope, Period::Hour, first)
            .await?
            .into_iter()
            .map(|t| (t.period, t.sessions))
            .collect();
    let series = (0..24)
        .map(|i| {
            let hour = first + Duration::hours(i);
            let key = hour.format("%Y-%m-%d %H").to_string();
            HourPoint {
                hour,
                sessions: found.get(&key).copied().unwrap_or(0),
            }
        })
        .collect();
    Ok(Json(series))
}

/// The scope asked for, within the caller's organization.
fn scope_of(caller: &Caller, q: ScopeQuery) -> Result<Scope, ApiError> {
    let blank = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let organization = blank(q.organization);
    let organization = match (caller.scope(), organization) {
        (Some(own), Some(asked)) if asked != own => {
            return Err(ApiError::not_found(format!("no organization {asked:?}")));
        }
        (Some(own), _) => Some(own.to_owned()),
        (None, asked) => asked,
    };
    Ok(Scope {
        organization,
        station_id: blank(q.station_id),
    })
}
