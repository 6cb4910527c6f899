//! The dashboard's figures against a real charger's traffic on both databases: chargers online
//! and faulted, connectors by status, active sessions, today's totals, the daily and hourly series,
//! and the organization scope.

mod common;

use chrono::Utc;
use common::{Backend, TestApp};
use evcms_sim::Charger;
use evcms_sim::ocpp::types::{ChargePointErrorCode, ChargePointStatus, Reason};
use reqwest::{Method, StatusCode};
use serde_json::json;

both_databases!(the_dashboard_counts_what_the_network_does);

async fn the_dashboard_counts_what_the_network_does(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("500").await;
    let mut cp = app.charger(&site.device_id).await;
    cp.boot().await.unwrap();
    // One session charged and billed, one still running on connector 1; connector 2 faulted.
    let done = cp
        .start_transaction(1, &site.id_tag, 1_000, Utc::now())
        .await
        .unwrap();
    cp.stop_transaction(
        done.transaction_id,
        6_000,
        Utc::now(),
        Some(Reason::Local),
        None,
    )
    .await
    .unwrap();
    let running = cp
        .start_transaction(1, &site.id_tag, 6_000, Utc::now())
        .await
        .unwrap();
    cp.meter_values(
        1,
        Some(running.transaction_id),
        vec![Charger::sample(Utc::now(), 8_000, 7_000)],
    )
    .await
    .unwrap();
    cp.status(
        1,
        ChargePointStatus::Charging,
        ChargePointErrorCode::NoError,
    )
    .await
    .unwrap();
    cp.status(
        2,
        ChargePointStatus::Faulted,
        ChargePointErrorCode::GroundFailure,
    )
    .await
    .unwrap();
    app.ocpp_flush().await;
    let billed = app.session_of(done.transaction_id).await["billed_amount"].clone();
    let active = app.session_of(running.transaction_id).await;

    let (status, overview) = app.get("/api/cms/dashboard").await;
    assert_eq!(status, StatusCode::OK, "{overview}");
    assert_eq!(
        overview["chargers"],
        json!({"total": 1, "online": 1, "offline": 0, "faulted": 1})
    );
    assert_eq!(overview["connectors"], json!({"Charging": 1, "Faulted": 1}));
    let sessions = overview["active_sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{overview}");
    assert_eq!(sessions[0]["session_id"], active["session_id"]);
    assert_eq!(sessions[0]["charge_point_id"], site.device_id);
    assert_eq!(sessions[0]["energy_wh"], 2_000);
    assert_eq!(sessions[0]["running_cost"], active["billed_amount"]);
    assert_eq!(overview["today"]["sessions"], 2);
    assert_eq!(overview["today"]["energy_wh"], 7_000);
    let revenue = billed.as_f64().unwrap() + active["billed_amount"].as_f64().unwrap();
    assert!((overview["today"]["revenue"].as_f64().unwrap() - revenue).abs() < 0.001);

    let (status, daily) = app.get("/api/cms/dashboard/daily").await;
    assert_eq!(status, StatusCode::OK);
    let daily = daily.as_array().unwrap();
    assert_eq!(daily.len(), 30);
    let today = Utc::now().format("%Y-%m-%d").to_string();
    assert_eq!(daily[29]["day"], today);
    assert_eq!(daily[29]["sessions"], 2);
    assert_eq!(daily[29]["energy_wh"], 7_000);
    assert_eq!(daily[0]["sessions"], 0);
    let (_, week) = app.get("/api/cms/dashboard/daily?days=7").await;
    assert_eq!(week.as_array().unwrap().len(), 7);
    let (status, _) = app.get("/api/cms/dashboard/daily?days=0").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (_, hourly) = app.get("/api/cms/dashboard/hourly").await;
    let hourly = hourly.as_array().unwrap();
    assert_eq!(hourly.len(), 24);
    let total: i64 = hourly.iter().map(|h| h["sessions"].as_i64().unwrap()).sum();
    assert_eq!(total, 2);

    // Filters, and the organization scope.
    let station = site.point["station_id"].as_str().unwrap();
    let (_, mine) = app
        .get(&format!("/api/cms/dashboard?station_id={station}"))
        .await;
    assert_eq!(mine["chargers"]["total"], 1);
    let (_, elsewhere) = app.get("/api/cms/dashboard?station_id=NO-SUCH").await;
    assert_eq!(elsewhere["chargers"]["total"], 0);
    assert_eq!(elsewhere["today"]["sessions"], 0);
    let other = app.user("viewer", Some("1c_ev_charging")).await;
    let (status, theirs) = app
        .call(Method::GET, "/api/cms/dashboard", Some(&other), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(theirs["chargers"]["total"], 0);
    assert_eq!(theirs["active_sessions"], json!([]));
    let (status, _) = app
        .call(
            Method::GET,
            "/api/cms/dashboard?organization=massive_mobility",
            Some(&other),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
