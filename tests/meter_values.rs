//! `/api/cms/sessions/{sessionId}/meter-values` over HTTP, on SQLite and PostgreSQL. Sessions and
//! meter values come from chargers (OCPP), so the tests insert their rows with SQL.

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::{Backend, TestApp, problem_fields};
use evcms::domain::meter_reading::SampledValue;
use reqwest::StatusCode;
use serde_json::{Value, json};

both_databases!(
    lists_a_sessions_values_in_sampling_order_with_exact_decimals,
    filters_by_measurand_and_pages,
    an_unknown_session_is_not_found,
);

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 8, 0, 0).unwrap() + Duration::seconds(seconds)
}

/// A session at a new point (made through the API), inserted as the OCPP endpoint records it;
/// gives its record id.
async fn session(app: &TestApp, session_id: &str) -> i64 {
    let station = app.station(json!({})).await;
    let point = app
        .point(station["station_id"].as_str().unwrap(), json!({}))
        .await;
    let sql = concat!(
        "INSERT INTO charging_sessions (session_id, charging_point_id, start_time, status, created_at, updated_at) ",
        "VALUES ($1, $2, $3, 'Active', $3, $3) RETURNING id"
    );
    evcms::on_write!(&app.db, pool => sqlx::query_scalar(sql)
        .bind(session_id).bind(point["id"].as_i64().unwrap()).bind(at(0))
        .fetch_one(pool).await)
    .unwrap()
}

/// One sampled value of `session`, `seconds` after 08:00.
async fn sample(
    app: &TestApp,
    session: i64,
    seconds: i64,
    measurand: &str,
    phase: Option<&str>,
    unit: &str,
    value: &str,
) {
    let value: SampledValue = value.parse().unwrap();
    let sql = concat!(
        "INSERT INTO meter_values (charge_point_id, connector_number, session_id, sampled_at, received_at, ",
        "measurand, phase, context, location, unit, value) ",
        "VALUES ('CP-1', 1, $1, $2, $3, $4, $5, 'Sample.Periodic', 'Outlet', $6, $7)"
    );
    evcms::on_write!(&app.db, pool => sqlx::query(sql)
        .bind(session).bind(at(seconds)).bind(at(seconds + 1)).bind(measurand).bind(phase)
        .bind(unit).bind(value)
        .execute(pool).await.map(|r| r.rows_affected()))
    .unwrap();
}

const ENERGY: &str = "Energy.Active.Import.Register";
const POWER: &str = "Power.Active.Import";

fn values(page: &Value) -> Vec<(String, String)> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["measurand"].as_str().unwrap().to_owned(),
                m["value"].to_string(),
            )
        })
        .collect()
}

async fn raw(app: &TestApp, path: &str) -> String {
    app.client
        .get(app.url(path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn lists_a_sessions_values_in_sampling_order_with_exact_decimals(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let mine = session(&app, "SES-1").await;
    let other = session(&app, "SES-2").await;
    let (status, empty) = app.get("/api/cms/sessions/SES-1/meter-values").await;
    assert_eq!(status, StatusCode::OK, "{empty}");
    assert_eq!(
        empty,
        json!({"data": [], "pagination": {"page": 1, "limit": 20, "total": 0, "pages": 0}})
    );
    // Inserted out of order: the list follows the sampling time, then the insertion.
    sample(&app, mine, 60, ENERGY, None, "Wh", "1250.5").await;
    sample(&app, mine, 0, ENERGY, None, "Wh", "1000").await;
    sample(&app, mine, 60, POWER, Some("L1"), "W", "7390.125").await;
    sample(&app, mine, 30, "Current.Import", Some("L1"), "A", "-0.001").await;
    sample(&app, other, 10, ENERGY, None, "Wh", "99").await;
    let (status, page) = app.get("/api/cms/sessions/SES-1/meter-values").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["pagination"]["total"], 4);
    let list: Vec<_> = values(&page);
    assert_eq!(
        list.iter()
            .map(|(m, v)| (m.as_str(), v.as_str()))
            .collect::<Vec<_>>(),
        [
            (ENERGY, "1000.0"),
            ("Current.Import", "-0.001"),
            (ENERGY, "1250.5"),
            (POWER, "7390.125"),
        ]
    );
    let first = &page["data"][0];
    assert_eq!(first["charge_point_id"], "CP-1");
    assert_eq!(first["connector_number"], 1);
    assert_eq!(first["context"], "Sample.Periodic");
    assert_eq!(first["location"], "Outlet");
    assert_eq!(first["unit"], "Wh");
    assert_eq!(first["phase"], Value::Null);
    assert_eq!(
        first["sampled_at"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap(),
        at(0)
    );
    assert_eq!(
        first["received_at"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap(),
        at(1)
    );
    assert_eq!(page["data"][3]["phase"], "L1");
    // Every value is written with exactly three decimals.
    let text = raw(&app, "/api/cms/sessions/SES-1/meter-values").await;
    for exact in [
        r#""value":1000.000"#,
        r#""value":1250.500"#,
        r#""value":7390.125"#,
        r#""value":-0.001"#,
    ] {
        assert!(text.contains(exact), "{exact} in {text}");
    }
    let (_, theirs) = app.get("/api/cms/sessions/SES-2/meter-values").await;
    assert_eq!(values(&theirs), [(ENERGY.to_owned(), "99.0".to_owned())]);
}

async fn filters_by_measurand_and_pages(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let s = session(&app, "SES-P").await;
    for i in 0..25 {
        sample(
            &app,
            s,
            i * 10,
            ENERGY,
            None,
            "Wh",
            &format!("{}", 1000 + i),
        )
        .await;
        sample(&app, s, i * 10, POWER, None, "W", "7000").await;
    }
    let (_, all) = app.get("/api/cms/sessions/SES-P/meter-values").await;
    assert_eq!(
        all["pagination"],
        json!({"page": 1, "limit": 20, "total": 50, "pages": 3})
    );
    let path = format!("/api/cms/sessions/SES-P/meter-values?measurand={ENERGY}&limit=10&page=3");
    let (status, page) = app.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(
        page["pagination"],
        json!({"page": 3, "limit": 10, "total": 25, "pages": 3})
    );
    let got: Vec<_> = values(&page).into_iter().map(|(_, v)| v).collect();
    assert_eq!(got, ["1020.0", "1021.0", "1022.0", "1023.0", "1024.0"]);
    let (_, none) = app
        .get("/api/cms/sessions/SES-P/meter-values?measurand=SoC")
        .await;
    assert_eq!(none["pagination"]["total"], 0);
    let (status, body) = app
        .get("/api/cms/sessions/SES-P/meter-values?page=x&limit=0")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem_fields(&body), ["page", "limit"]);
}

async fn an_unknown_session_is_not_found(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    session(&app, "SES-X").await;
    for missing in ["SES-Y", "ses-x", "1"] {
        let (status, body) = app
            .get(&format!("/api/cms/sessions/{missing}/meter-values"))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
        assert_eq!(body["error"]["code"], "not_found");
    }
}
