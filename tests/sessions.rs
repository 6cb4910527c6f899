//! `/api/cms/sessions` over HTTP, on SQLite and PostgreSQL. Sessions come from chargers (OCPP), so
//! the tests record them through `db::sessions::insert`, at points made by a small SQL fixture.

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::{Backend, TestApp, problem_fields, unique};
use evcms::db::sessions::insert;
use evcms::domain::enums::{Currency, SessionStatus};
use evcms::domain::session::NewSession;
use evcms::fixed::{Kilowatts, Money};
use reqwest::StatusCode;
use serde_json::{Value, json};

both_databases!(
    shows_a_session_with_its_names_and_exact_energy,
    an_unknown_session_is_not_found,
    lists_newest_first_with_pagination,
    filters_by_status_customer_point_station_time_and_text,
    sorts_by_amount_and_energy_with_unknown_values_first,
    bad_list_parameters_are_reported_together,
    a_customer_with_an_active_session_cannot_be_deleted,
);

/// A charging point with connector "1" at a new station.
struct Point {
    station_id: String,
    point_id: i64,
    connector_id: i64,
}

/// Inserts a station, a point and its connector directly (the points API lives elsewhere).
async fn point(app: &TestApp, name: &str) -> Point {
    let now = evcms::db::now();
    let station_id = unique("STN");
    let power: Kilowatts = "7.40".parse().unwrap();
    let (point_id, connector_id) = evcms::on_write!(&app.db, pool => {
        sqlx::query(concat!(
            "INSERT INTO charging_stations (station_id, station_name, organization, country, status, grid_phase, created_at, updated_at) ",
            "VALUES ($1, 'Test Hub', 'massive_mobility', 'India', 'Active', 'Three Phase', $2, $2)"
        ))
        .bind(&station_id).bind(now).execute(pool).await.unwrap();
        let point_id: i64 = sqlx::query_scalar(concat!(
            "INSERT INTO charging_points (charging_point_name, station_id, charger_type, phase, oem_list, max_power, created_at, updated_at) ",
            "VALUES ($1, $2, 'AC', 'Phase R', 'EVRE', $3, $4, $4) RETURNING id"
        ))
        .bind(name).bind(&station_id).bind(power).bind(now).fetch_one(pool).await.unwrap();
        let connector_id: i64 = sqlx::query_scalar(concat!(
            "INSERT INTO connectors (charging_point_id, connector_id, connector_type, power, created_at, updated_at) ",
            "VALUES ($1, '1', 'type2', $2, $3, $3) RETURNING id"
        ))
        .bind(point_id).bind(power).bind(now).fetch_one(pool).await.unwrap();
        (point_id, connector_id)
    });
    Point {
        station_id,
        point_id,
        connector_id,
    }
}

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 8, 0, 0).unwrap() + Duration::minutes(minutes)
}

/// A completed session at `p`, `minutes` after 2026-11-01T08:00Z.
fn completed(session_id: &str, p: &Point, minutes: i64, wh: i64, billed: &str) -> NewSession {
    NewSession {
        connector_id: Some(p.connector_id),
        end_time: Some(at(minutes + 45)),
        energy_wh: Some(wh),
        billed_amount: Some(billed.parse().unwrap()),
        status: SessionStatus::Completed,
        meter_start_wh: Some(1000),
        meter_stop_wh: Some(1000 + wh),
        stop_reason: Some("Local".into()),
        ..NewSession::started(session_id, p.point_id, at(minutes))
    }
}

async fn record(app: &TestApp, session: NewSession) -> i64 {
    let mut tx = app.db.begin().await.unwrap();
    let id = insert(&mut tx, &session, evcms::db::now()).await.unwrap();
    tx.commit().await.unwrap();
    id
}

fn session_ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["session_id"].as_str().unwrap().to_owned())
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

async fn shows_a_session_with_its_names_and_exact_energy(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let customer = app.customer(json!({"customer_name": "Meera Iyer"})).await;
    let tariff = app.tariff(json!({"base_charges": 18.5, "tax": 18})).await;
    let p = point(&app, "Bay 7").await;
    let id = record(
        &app,
        NewSession {
            customer_id: customer["id"].as_i64(),
            transaction_id: Some(4711),
            id_tag: Some("RFID-0042".into()),
            tariff_id: tariff["id"].as_i64(),
            currency: Some(Currency::Inr),
            base_charges: Some("18.50".parse().unwrap()),
            tax: Some("18.00".parse().unwrap()),
            ..completed("SES-1", &p, 0, 12_345, "269.52")
        },
    )
    .await;
    let (status, session) = app.get("/api/cms/sessions/SES-1").await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["id"], id);
    assert_eq!(session["customer_id"], customer["id"]);
    assert_eq!(session["customer_name"], "Meera Iyer");
    assert_eq!(session["charging_point_id"], p.point_id);
    assert_eq!(session["charging_point_name"], "Bay 7");
    assert_eq!(session["station_id"], p.station_id);
    assert_eq!(session["connector_id"], p.connector_id);
    assert_eq!(session["connector_number"], "1");
    assert_eq!(
        session["start_time"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap(),
        at(0)
    );
    assert_eq!(
        session["end_time"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap(),
        at(45)
    );
    assert_eq!(session["energy_wh"], 12_345);
    assert_eq!(session["status"], "Completed");
    assert_eq!(session["transaction_id"], 4711);
    assert_eq!(session["id_tag"], "RFID-0042");
    assert_eq!(session["meter_start_wh"], 1000);
    assert_eq!(session["meter_stop_wh"], 13_345);
    assert_eq!(session["stop_reason"], "Local");
    assert_eq!(session["tariff_id"], tariff["id"]);
    assert_eq!(session["currency"], "INR");
    let text = raw(&app, "/api/cms/sessions/SES-1").await;
    for exact in [
        r#""energy_consumed":12.345,"#,
        r#""billed_amount":269.52,"#,
        r#""base_charges":18.50,"#,
        r#""tax":18.00,"#,
    ] {
        assert!(text.contains(exact), "{exact} in {text}");
    }
    // Energy below 1 kWh and whole kWh keep three decimals.
    record(&app, completed("SES-2", &p, 60, 5, "0.10")).await;
    record(&app, completed("SES-3", &p, 120, 7000, "150.00")).await;
    assert!(
        raw(&app, "/api/cms/sessions/SES-2")
            .await
            .contains(r#""energy_consumed":0.005,"#)
    );
    assert!(
        raw(&app, "/api/cms/sessions/SES-3")
            .await
            .contains(r#""energy_consumed":7.000,"#)
    );
    // An active session without a customer or connector: unknowns are null.
    record(&app, NewSession::started("SES-LIVE", p.point_id, at(200))).await;
    let (_, live) = app.get("/api/cms/sessions/SES-LIVE").await;
    for field in [
        "customer_id",
        "customer_name",
        "connector_id",
        "connector_number",
        "end_time",
        "energy_wh",
        "energy_consumed",
        "billed_amount",
        "transaction_id",
        "tariff_id",
        "currency",
    ] {
        assert_eq!(live[field], Value::Null, "{field}");
    }
    assert_eq!(live["status"], "Active");
    // A deleted customer still names their past sessions.
    let path = format!("/api/cms/customers/{}", customer["id"]);
    assert_eq!(app.delete(&path).await.0, StatusCode::NO_CONTENT);
    let (_, after) = app.get("/api/cms/sessions/SES-1").await;
    assert_eq!(after["customer_name"], "Meera Iyer");
    let (_, listed) = app.get("/api/cms/sessions?search=SES-1").await;
    assert_eq!(listed["data"][0], after);
}

async fn an_unknown_session_is_not_found(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let p = point(&app, "Bay 1").await;
    record(&app, completed("SES-X", &p, 0, 1, "1")).await;
    for missing in ["SES-Y", "ses-x", "1"] {
        let (status, body) = app.get(&format!("/api/cms/sessions/{missing}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
        assert_eq!(body["error"]["code"], "not_found");
    }
}

async fn lists_newest_first_with_pagination(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (status, empty) = app.get("/api/cms/sessions").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        empty,
        json!({"data": [], "pagination": {"page": 1, "limit": 20, "total": 0, "pages": 0}})
    );
    let p = point(&app, "Bay 1").await;
    // Recorded out of order: the list orders by start time, not by insertion.
    for i in [
        3, 0, 24, 12, 7, 1, 2, 4, 5, 6, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
    ] {
        record(&app, completed(&format!("S-{i:02}"), &p, i * 10, 100, "1")).await;
    }
    let (_, page) = app.get("/api/cms/sessions").await;
    assert_eq!(
        page["pagination"],
        json!({"page": 1, "limit": 20, "total": 25, "pages": 2})
    );
    assert_eq!(session_ids(&page)[..3], ["S-24", "S-23", "S-22"]);
    let (_, last) = app.get("/api/cms/sessions?page=2").await;
    assert_eq!(session_ids(&last), ["S-04", "S-03", "S-02", "S-01", "S-00"]);
    let (_, beyond) = app.get("/api/cms/sessions?page=3").await;
    assert_eq!(beyond["data"], json!([]));
    assert_eq!(beyond["pagination"]["total"], 25);
    let (_, small) = app
        .get("/api/cms/sessions?limit=4&page=2&sort=start_time")
        .await;
    assert_eq!(session_ids(&small), ["S-04", "S-05", "S-06", "S-07"]);
    assert_eq!(small["pagination"]["pages"], 7);
    let (_, capped) = app.get("/api/cms/sessions?limit=101").await;
    assert_eq!(capped["pagination"]["limit"], 100);
    assert_eq!(capped["data"].as_array().unwrap().len(), 25);
}

async fn filters_by_status_customer_point_station_time_and_text(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let asha = app.customer(json!({"customer_name": "Asha"})).await;
    let ravi = app.customer(json!({"customer_name": "Ravi"})).await;
    let bay1 = point(&app, "Bay 1").await;
    let bay2 = point(&app, "Bay 2").await;
    let asha_id = asha["id"].as_i64();
    let ravi_id = ravi["id"].as_i64();
    record(
        &app,
        NewSession {
            customer_id: asha_id,
            id_tag: Some("TAG-ASHA".into()),
            ..completed("A-1", &bay1, 0, 1000, "20")
        },
    )
    .await;
    record(
        &app,
        NewSession {
            customer_id: asha_id,
            id_tag: Some("TAG-ASHA".into()),
            ..completed("A-2", &bay2, 24 * 60, 2000, "40")
        },
    )
    .await;
    record(
        &app,
        NewSession {
            customer_id: ravi_id,
            status: SessionStatus::Cancelled,
            ..completed("R-1", &bay1, 2 * 24 * 60, 0, "0")
        },
    )
    .await;
    record(
        &app,
        NewSession {
            customer_id: ravi_id,
            id_tag: Some("tag-ravi".into()),
            ..NewSession::started("R-2", bay2.point_id, at(3 * 24 * 60))
        },
    )
    .await;
    let ids = |query: &'static str| {
        let app = &app;
        async move {
            let (status, page) = app.get(&format!("/api/cms/sessions?{query}")).await;
            assert_eq!(status, StatusCode::OK, "{query}: {page}");
            let mut ids = session_ids(&page);
            ids.sort();
            assert_eq!(page["pagination"]["total"], ids.len(), "{query}");
            ids
        }
    };
    assert_eq!(ids("status=Completed").await, ["A-1", "A-2"]);
    assert_eq!(ids("status=Active").await, ["R-2"]);
    assert_eq!(ids("status=Cancelled").await, ["R-1"]);
    let by_customer = format!("customer_id={}", asha["id"]);
    let (_, page) = app.get(&format!("/api/cms/sessions?{by_customer}")).await;
    assert_eq!(session_ids(&page), ["A-2", "A-1"]);
    let (_, page) = app
        .get(&format!(
            "/api/cms/sessions?customer_id={}&status=Active",
            ravi["id"]
        ))
        .await;
    assert_eq!(session_ids(&page), ["R-2"]);
    let (_, page) = app.get("/api/cms/sessions?customer_id=999999").await;
    assert_eq!(page["pagination"]["total"], 0);
    let (_, page) = app
        .get(&format!(
            "/api/cms/sessions?charging_point_id={}",
            bay1.point_id
        ))
        .await;
    assert_eq!(session_ids(&page), ["R-1", "A-1"]);
    let (_, page) = app
        .get(&format!("/api/cms/sessions?station_id={}", bay2.station_id))
        .await;
    assert_eq!(session_ids(&page), ["R-2", "A-2"]);
    let (_, page) = app.get("/api/cms/sessions?station_id=STN-NOPE").await;
    assert_eq!(page["pagination"]["total"], 0);
    // Time range on the start: whole days, both ends inclusive.
    assert_eq!(ids("start_from=2026-11-02").await, ["A-2", "R-1", "R-2"]);
    assert_eq!(ids("start_to=2026-11-02").await, ["A-1", "A-2"]);
    assert_eq!(
        ids("start_from=2026-11-02&start_to=2026-11-03").await,
        ["A-2", "R-1"]
    );
    assert_eq!(
        ids("start_from=2026-11-02T08:00:00Z&start_to=2026-11-03T07:59:59Z").await,
        ["A-2"]
    );
    assert_eq!(ids("start_to=2026-11-01T08:00:00%2B00:00").await, ["A-1"]);
    assert_eq!(ids("start_from=2026-11-05").await, Vec::<String>::new());
    // Text in the session id or the idTag, any case.
    assert_eq!(ids("search=a-").await, ["A-1", "A-2"]);
    assert_eq!(ids("search=TAG-").await, ["A-1", "A-2", "R-2"]);
    assert_eq!(ids("search=RAVI").await, ["R-2"]);
    assert_eq!(ids("search=%25").await, Vec::<String>::new());
    assert_eq!(
        ids("search=tag&status=Active&start_from=2026-11-01").await,
        ["R-2"]
    );
}

async fn sorts_by_amount_and_energy_with_unknown_values_first(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let p = point(&app, "Bay 1").await;
    record(&app, completed("CHEAP", &p, 0, 9000, "5.50")).await;
    record(&app, completed("DEAR", &p, 10, 3000, "120.00")).await;
    record(&app, completed("FREE", &p, 20, 0, "0")).await;
    record(&app, completed("MID", &p, 30, 12_000, "60.25")).await;
    record(&app, NewSession::started("LIVE", p.point_id, at(40))).await;
    let order = |sort: &'static str| {
        let app = &app;
        async move { session_ids(&app.get(&format!("/api/cms/sessions?sort={sort}")).await.1) }
    };
    assert_eq!(
        order("billed_amount").await,
        ["LIVE", "FREE", "CHEAP", "MID", "DEAR"]
    );
    assert_eq!(
        order("-billed_amount").await,
        ["DEAR", "MID", "CHEAP", "FREE", "LIVE"]
    );
    assert_eq!(
        order("energy_wh").await,
        ["LIVE", "FREE", "DEAR", "CHEAP", "MID"]
    );
    assert_eq!(
        order("-energy_wh").await,
        ["MID", "CHEAP", "DEAR", "FREE", "LIVE"]
    );
    assert_eq!(
        order("start_time").await,
        ["CHEAP", "DEAR", "FREE", "MID", "LIVE"]
    );
    assert_eq!(
        order("-start_time").await,
        ["LIVE", "MID", "FREE", "DEAR", "CHEAP"]
    );
}

async fn bad_list_parameters_are_reported_together(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (status, body) = app
        .get("/api/cms/sessions?status=Running&customer_id=abc&charging_point_id=0&start_from=today&start_to=2026-02-30&page=-1&limit=x&sort=energy_consumed")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "invalid_query");
    assert_eq!(
        problem_fields(&body),
        [
            "status",
            "customer_id",
            "charging_point_id",
            "start_from",
            "start_to",
            "page",
            "limit",
            "sort"
        ]
    );
    let (status, body) = app
        .get(&format!("/api/cms/sessions?search={}", "x".repeat(256)))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem_fields(&body), ["search"]);
    // Blank parameters count as absent.
    let (status, _) = app
        .get("/api/cms/sessions?status=&customer_id=&sort=")
        .await;
    assert_eq!(status, StatusCode::OK);
}

async fn a_customer_with_an_active_session_cannot_be_deleted(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let customer = app.customer(json!({})).await;
    let id = customer["id"].as_i64().unwrap();
    let p = point(&app, "Bay 1").await;
    record(
        &app,
        NewSession {
            customer_id: Some(id),
            ..completed("OLD", &p, 0, 500, "10")
        },
    )
    .await;
    let session = record(
        &app,
        NewSession {
            customer_id: Some(id),
            ..NewSession::started("NOW", p.point_id, at(60))
        },
    )
    .await;
    let path = format!("/api/cms/customers/{id}");
    let (status, body) = app.delete(&path).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "conflict");
    assert_eq!(app.get(&path).await.0, StatusCode::OK);
    // Once the session ends (as OCPP will record it), the customer can go.
    let ended: Money = "12.00".parse().unwrap();
    evcms::on_write!(&app.db, pool => {
        sqlx::query("UPDATE charging_sessions SET status = $2, billed_amount = $3, end_time = $4, updated_at = $4 WHERE id = $1")
            .bind(session).bind(SessionStatus::Completed).bind(ended).bind(evcms::db::now())
            .execute(pool).await.unwrap();
    });
    assert_eq!(app.delete(&path).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&path).await.0, StatusCode::NOT_FOUND);
    let (_, history) = app
        .get(&format!("/api/cms/sessions?customer_id={id}"))
        .await;
    assert_eq!(history["pagination"]["total"], 2);
}
