//! `/api/cms/chargers` over HTTP, on SQLite and PostgreSQL. Chargers are recorded by the OCPP
//! endpoint, so the tests insert their rows with SQL (`common::insert_charger`).

mod common;

use chrono::{Duration, TimeZone, Utc};
use common::{Backend, ChargerRow, TestApp, insert_charger, problem_fields};
use reqwest::StatusCode;
use serde_json::{Value, json};

both_databases!(
    shows_a_charger_with_its_adopting_point_and_connector_status,
    an_unadopted_or_unknown_charger,
    lists_with_filters_search_sorting_and_pagination,
    bad_list_parameters_are_reported_together,
);

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["charge_point_id"].as_str().unwrap().to_owned())
        .collect()
}

fn at(minutes: i64) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 8, 0, 0).unwrap() + Duration::minutes(minutes)
}

/// Sets the live status of connector `number` of point `point_id`, as StatusNotification does.
async fn report_status(app: &TestApp, point_id: i64, number: &str, status: &str, error: &str) {
    let sql = "UPDATE connectors SET status = $1, error_code = $2, status_at = $3 WHERE charging_point_id = $4 AND connector_id = $5";
    evcms::on_write!(&app.db, pool => sqlx::query(sql)
        .bind(status).bind(error).bind(at(5)).bind(point_id).bind(number)
        .execute(pool).await.map(|r| r.rows_affected()))
    .unwrap();
}

async fn shows_a_charger_with_its_adopting_point_and_connector_status(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let station = app.station(json!({})).await;
    let station_id = station["station_id"].as_str().unwrap();
    let point = app
        .point(
            station_id,
            json!({"charging_point_name": "Bay 9", "device_id": "CP-BLR-009",
                "connectors": [{"connector_id": "1", "connector_type": "type2", "power": 7.4},
                               {"connector_id": "2", "connector_type": "type2", "power": 7.4}]}),
        )
        .await;
    let point_id = point["id"].as_i64().unwrap();
    report_status(&app, point_id, "1", "Charging", "NoError").await;
    report_status(&app, point_id, "2", "Faulted", "GroundFailure").await;
    let id = insert_charger(
        &app.db,
        &ChargerRow {
            charge_point_serial_number: Some("SN-0009".into()),
            last_seen_at: Some(at(10)),
            created_at: at(0),
            ..ChargerRow::new("CP-BLR-009")
        },
    )
    .await;
    let (status, charger) = app.get("/api/cms/chargers/CP-BLR-009").await;
    assert_eq!(status, StatusCode::OK, "{charger}");
    assert_eq!(charger["id"], id);
    assert_eq!(charger["charge_point_id"], "CP-BLR-009");
    assert_eq!(charger["vendor"], "EVRE");
    assert_eq!(charger["model"], "AC-22");
    assert_eq!(charger["charge_point_serial_number"], "SN-0009");
    assert_eq!(charger["firmware_version"], "1.0.0");
    assert_eq!(charger["registration_status"], "Accepted");
    assert_eq!(charger["status"], "Available");
    assert_eq!(charger["error_code"], "NoError");
    assert_eq!(charger["connected"], true);
    assert_eq!(charger["iccid"], Value::Null);
    assert_eq!(charger["disconnected_at"], Value::Null);
    assert_eq!(
        charger["last_seen_at"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<Utc>>()
            .unwrap(),
        at(10)
    );
    assert_eq!(charger["charging_point_id"], point_id);
    assert_eq!(charger["charging_point_name"], "Bay 9");
    assert_eq!(charger["station_id"], station_id);
    let connectors = charger["connectors"].as_array().unwrap();
    let live: Vec<_> = connectors
        .iter()
        .map(|c| {
            (
                c["connector_id"].as_str().unwrap(),
                c["status"].as_str().unwrap(),
                c["error_code"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        live,
        [
            ("1", "Charging", "NoError"),
            ("2", "Faulted", "GroundFailure")
        ]
    );
    // The list shows the adoption too, without the connectors.
    let (_, page) = app.get("/api/cms/chargers").await;
    assert_eq!(page["data"][0]["charging_point_id"], point_id);
    assert_eq!(page["data"][0]["station_id"], station_id);
    assert!(page["data"][0].get("connectors").is_none());
    // A deleted point no longer adopts the charger.
    let (status, _) = app.delete(&format!("/api/cms/points/{point_id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, charger) = app.get("/api/cms/chargers/CP-BLR-009").await;
    assert_eq!(charger["charging_point_id"], Value::Null);
    assert_eq!(charger["station_id"], Value::Null);
    assert_eq!(charger["connectors"], json!([]));
}

async fn an_unadopted_or_unknown_charger(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    insert_charger(
        &app.db,
        &ChargerRow {
            connected: false,
            registration_status: Some("Pending".into()),
            vendor: None,
            ..ChargerRow::new("CP/with space")
        },
    )
    .await;
    // axum decodes the percent-encoded path segment.
    let (status, charger) = app.get("/api/cms/chargers/CP%2Fwith%20space").await;
    assert_eq!(status, StatusCode::OK, "{charger}");
    assert_eq!(charger["charge_point_id"], "CP/with space");
    assert_eq!(charger["connected"], false);
    assert_eq!(charger["vendor"], Value::Null);
    assert_eq!(charger["charging_point_id"], Value::Null);
    assert_eq!(charger["charging_point_name"], Value::Null);
    assert_eq!(charger["connectors"], json!([]));
    for missing in ["CP-NONE", "cp%2Fwith%20space", "1"] {
        let (status, body) = app.get(&format!("/api/cms/chargers/{missing}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
        assert_eq!(body["error"]["code"], "not_found");
    }
}

async fn lists_with_filters_search_sorting_and_pagination(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (status, empty) = app.get("/api/cms/chargers").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        empty,
        json!({"data": [], "pagination": {"page": 1, "limit": 20, "total": 0, "pages": 0}})
    );
    let station = app.station(json!({})).await;
    app.point(
        station["station_id"].as_str().unwrap(),
        json!({"device_id": "CP-B"}),
    )
    .await;
    for (id, minutes, seen, connected, registration, vendor, serial) in [
        ("CP-A", 0, Some(50), true, "Accepted", "EVRE", "SN-100"),
        ("CP-B", 10, Some(20), true, "Accepted", "Okaya", "SN-200"),
        ("CP-C", 20, None, false, "Pending", "EVRE", "SN-300"),
        ("CP-D", 30, Some(40), false, "Rejected", "Massive", "XY-400"),
    ] {
        insert_charger(
            &app.db,
            &ChargerRow {
                vendor: Some(vendor.into()),
                charge_point_serial_number: Some(serial.into()),
                connected,
                registration_status: Some(registration.into()),
                last_seen_at: seen.map(at),
                created_at: at(minutes),
                ..ChargerRow::new(id)
            },
        )
        .await;
    }
    let list = |query: &'static str| {
        let app = &app;
        async move {
            let (status, page) = app.get(&format!("/api/cms/chargers?{query}")).await;
            assert_eq!(status, StatusCode::OK, "{query}: {page}");
            assert_eq!(
                page["pagination"]["total"],
                page["data"].as_array().unwrap().len(),
                "{query}"
            );
            ids(&page)
        }
    };
    assert_eq!(list("").await, ["CP-D", "CP-C", "CP-B", "CP-A"]);
    assert_eq!(list("connected=true").await, ["CP-B", "CP-A"]);
    assert_eq!(list("connected=false").await, ["CP-D", "CP-C"]);
    assert_eq!(list("registration_status=Pending").await, ["CP-C"]);
    assert_eq!(
        list("registration_status=Accepted&connected=true&adopted=false").await,
        ["CP-A"]
    );
    assert_eq!(list("adopted=true").await, ["CP-B"]);
    assert_eq!(list("adopted=false").await, ["CP-D", "CP-C", "CP-A"]);
    assert_eq!(list("search=evre").await, ["CP-C", "CP-A"]);
    assert_eq!(list("search=sn-").await, ["CP-C", "CP-B", "CP-A"]);
    assert_eq!(list("search=cp-d").await, ["CP-D"]);
    assert_eq!(
        list("search=ac-22&sort=charge_point_id").await,
        ["CP-A", "CP-B", "CP-C", "CP-D"]
    );
    assert_eq!(
        list("sort=-charge_point_id").await,
        ["CP-D", "CP-C", "CP-B", "CP-A"]
    );
    // Never seen since it was recorded: it sorts by when it was recorded (CP-C at 20).
    assert_eq!(
        list("sort=last_seen_at").await,
        ["CP-B", "CP-C", "CP-D", "CP-A"]
    );
    assert_eq!(
        list("sort=-last_seen_at").await,
        ["CP-A", "CP-D", "CP-C", "CP-B"]
    );
    assert_eq!(
        list("sort=created_at").await,
        ["CP-A", "CP-B", "CP-C", "CP-D"]
    );
    let (_, page) = app.get("/api/cms/chargers?limit=3&page=2").await;
    assert_eq!(ids(&page), ["CP-A"]);
    assert_eq!(
        page["pagination"],
        json!({"page": 2, "limit": 3, "total": 4, "pages": 2})
    );
}

async fn bad_list_parameters_are_reported_together(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (status, body) = app
        .get("/api/cms/chargers?connected=yes&registration_status=accepted&adopted=1&sort=vendor&limit=0")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "invalid_query");
    assert_eq!(
        problem_fields(&body),
        [
            "connected",
            "registration_status",
            "adopted",
            "limit",
            "sort"
        ]
    );
}
