//! Seeing inside a running evcms: Prometheus metrics that move with a real session, the OCPP
//! message log per charger (in order, secrets masked, heartbeats by choice, pruned by age), and
//! readiness that flips when what it checks breaks. Real server, real database (both), the strict
//! simulator as the charger.

mod common;

use std::time::Duration;

use common::ocpp::minutes_ago;
use common::{Backend, TestApp};
use evcms_sim::scenario::{SessionPlan, play_session};
use serde_json::json;

both_databases!(
    metrics_move_with_a_simulated_session,
    the_message_log_shows_a_sessions_frames_in_order_and_masks_secrets,
    heartbeats_are_logged_only_when_asked_and_old_frames_are_pruned,
    readiness_flips_when_migrations_are_missing,
    metrics_can_move_off_the_public_port,
);

/// The value of the series `name{labels}` (labels as written, in the exporter's order), or 0.
fn series(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| {
            line.starts_with(name)
                && line[name.len()..].starts_with(['{', ' '])
                && labels
                    .iter()
                    .all(|(k, v)| line.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn plan(id_tag: &str) -> SessionPlan {
    SessionPlan {
        energy_wh: 12_000,
        id_tag: id_tag.to_owned(),
        connector: 1,
        meter_start_wh: 1_000,
        meter_interval: Duration::ZERO,
        samples: 3,
        power_kw: None,
    }
}

async fn metrics_move_with_a_simulated_session(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("500.00").await;
    let before = app.metrics_text().await;
    play_session(
        app.charger_config(&site.device_id),
        &plan(&site.id_tag),
        &mut |_| {},
    )
    .await
    .unwrap();
    let (status, _) = app.get("/api/cms/sessions?limit=5").await;
    assert_eq!(status, 200);
    let after = app.metrics_text().await;
    let moved = |name: &str, labels: &[(&str, &str)]| {
        series(&after, name, labels) - series(&before, name, labels)
    };
    // Other tests of this binary run in the same process and record too: at least ours moved.
    for action in [
        "BootNotification",
        "StartTransaction",
        "MeterValues",
        "StopTransaction",
    ] {
        assert!(
            moved(
                "ocpp_messages_total",
                &[("action", action), ("result", "CALLRESULT")]
            ) >= 1.0,
            "{action}"
        );
        assert!(
            moved("ocpp_message_duration_seconds_count", &[("action", action)]) >= 1.0,
            "{action}"
        );
    }
    // 12 kWh at 18.50 + 18 % = 261.96.
    assert!(moved("charging_billed_minor_units_total", &[]) >= 26_196.0);
    assert!(moved("charging_energy_delivered_wh_total", &[]) >= 12_000.0);
    assert!(moved("charging_sessions_settled_total", &[("by", "charger")]) >= 1.0);
    assert!(
        moved(
            "http_requests_total",
            &[
                ("method", "GET"),
                ("route", "/api/cms/sessions"),
                ("status", "200")
            ]
        ) >= 1.0
    );
    assert!(moved("meter_samples_written_total", &[]) >= 3.0);
    assert!(moved("meter_sample_batch_rows_count", &[]) >= 1.0);
    assert!(moved("ocpp_connections_opened_total", &[]) >= 1.0);
    assert!(after.contains("http_request_duration_seconds_bucket"));
    assert!(after.contains("db_pool_connections{state=\"idle\"}"));
    assert!(after.contains("charging_sessions_active"));
    assert!(after.contains("ocpp_connected_chargers"));
    // On SQLite, its share of the server's memory: by now its caches hold the schema at least;
    // and all of its heap, every connection's, is under one budget.
    if matches!(backend, Backend::Sqlite) {
        assert!(series(&after, "sqlite_heap_bytes", &[]) > 0.0);
        let limit: i64 = evcms::on_read!(&app.db, pool => sqlx::query_scalar("PRAGMA soft_heap_limit").fetch_one(pool).await)
            .expect("soft_heap_limit");
        assert_eq!(limit, 64 * 1024 * 1024);
    }
    // No charger or session id in any label.
    assert!(!after.contains(&site.device_id));
}

async fn the_message_log_shows_a_sessions_frames_in_order_and_masks_secrets(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("500.00").await;
    play_session(
        app.charger_config(&site.device_id),
        &plan(&site.id_tag),
        &mut |_| {},
    )
    .await
    .unwrap();
    // A charger that sends what only a central system may send gets a CALLERROR; the key it
    // carries is logged masked.
    let mut cp = app.charger(&site.device_id).await;
    let reply = cp
        .call_raw(
            "ChangeConfiguration",
            json!({"key": "AuthorizationKey", "value": "0123456789abcdef-secret"}),
        )
        .await
        .unwrap();
    assert!(matches!(reply, evcms_sim::Reply::Error { .. }), "{reply:?}");
    let path = format!(
        "/api/cms/chargers/{}/messages?sort=at&limit=100",
        site.device_id
    );
    let page = app
        .eventually(&path, |p| {
            p["data"].as_array().is_some_and(|rows| {
                rows.iter()
                    .any(|r| r["action"] == "ChangeConfiguration" && r["direction"] == "out")
            })
        })
        .await;
    let rows = page["data"].as_array().unwrap();
    let seen: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["direction"].as_str().unwrap().to_owned(),
                r["action"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    // Each CALL in is followed by its answer out, with the same message id and action.
    for pair in rows.chunks(2) {
        assert_eq!(pair[0]["direction"], "in", "{seen:?}");
        assert_eq!(pair[1]["direction"], "out", "{seen:?}");
        assert_eq!(pair[0]["message_id"], pair[1]["message_id"]);
        assert_eq!(pair[0]["action"], pair[1]["action"]);
        assert_eq!(pair[0]["message_type"], 2);
    }
    let order: Vec<&str> = rows
        .iter()
        .step_by(2)
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    let first = |a: &str| order.iter().position(|x| *x == a).unwrap_or(usize::MAX);
    assert!(first("BootNotification") < first("StartTransaction"));
    assert!(first("StartTransaction") < first("MeterValues"));
    assert!(first("MeterValues") < first("StopTransaction"));
    assert!(first("StopTransaction") < first("ChangeConfiguration"));
    let refused = rows.last().unwrap();
    assert_eq!(refused["message_type"], 4);
    let secret_in = &rows[rows.len() - 2];
    assert!(secret_in["payload"].as_str().unwrap().contains("***"));
    assert!(!page.to_string().contains("0123456789abcdef-secret"));
    // Filters: by action, by time.
    let (_, starts) = app
        .get(&format!(
            "/api/cms/chargers/{}/messages?action=StartTransaction",
            site.device_id
        ))
        .await;
    assert_eq!(starts["pagination"]["total"], 2);
    let (_, none) = app
        .get(&format!(
            "/api/cms/chargers/{}/messages?to=2000-01-01",
            site.device_id
        ))
        .await;
    assert_eq!(none["pagination"]["total"], 0);
    let (status, _) = app
        .get(&format!(
            "/api/cms/chargers/{}/messages?sort=colour",
            site.device_id
        ))
        .await;
    assert_eq!(status, 400);
    // Another organization's operator does not see it.
    let other = app.user("operator", Some("1c_ev_charging")).await;
    let (status, _) = app
        .call(reqwest::Method::GET, &path, Some(&other), None)
        .await;
    assert_eq!(status, 404);
}

async fn heartbeats_are_logged_only_when_asked_and_old_frames_are_pruned(backend: Backend) {
    for heartbeats in [false, true] {
        let Some((mut config, db)) = TestApp::config(backend).await else {
            return;
        };
        config.message_log_heartbeats = heartbeats;
        let app = TestApp::spawn_with(config, db, reqwest::Client::builder).await;
        let site = app.site("10.00").await;
        let mut cp = app.charger(&site.device_id).await;
        cp.heartbeat().await.unwrap();
        cp.boot().await.unwrap();
        let path = format!("/api/cms/chargers/{}/messages", site.device_id);
        let page = app
            .eventually(&path, |p| p["pagination"]["total"].as_i64() >= Some(2))
            .await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        let (_, page2) = app.get(&path).await;
        let logged_heartbeats = page2["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["action"] == "Heartbeat")
            .count();
        assert_eq!(logged_heartbeats, if heartbeats { 2 } else { 0 }, "{page}");
        // Pruning removes what is older than the retention, and nothing newer.
        let total = page2["pagination"]["total"].as_i64().unwrap();
        evcms::on_write!(&app.db, pool => sqlx::query(
            "INSERT INTO ocpp_messages (charge_point_id, direction, message_type, message_id, action, payload, at) VALUES ($1, 'in', 2, 'old', 'Heartbeat', '[]', $2)"
        ).bind(&site.device_id).bind(minutes_ago(60 * 24 * 8)).execute(pool).await.map(|_| ()))
        .unwrap();
        let pruned = evcms::db::ocpp_messages::prune(&app.db, minutes_ago(60 * 24 * 7))
            .await
            .unwrap();
        assert_eq!(pruned, 1);
        let (_, page3) = app.get(&path).await;
        assert_eq!(page3["pagination"]["total"].as_i64().unwrap(), total);
    }
}

async fn readiness_flips_when_migrations_are_missing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (status, body) = app.get("/api/ready").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"status": "ready", "database": true, "migrations": true, "sample_writer": true})
    );
    // A database that lacks one of this build's migrations (restored from before an upgrade).
    evcms::on_write!(&app.db, pool => sqlx::query(
        "UPDATE _sqlx_migrations SET success = FALSE WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)"
    ).execute(pool).await.map(|_| ()))
    .unwrap();
    let (status, body) = app.get("/api/ready").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["migrations"], false);
    assert_eq!(body["database"], true);
    evcms::on_write!(&app.db, pool => sqlx::query("UPDATE _sqlx_migrations SET success = TRUE")
        .execute(pool).await.map(|_| ()))
    .unwrap();
    assert_eq!(app.get("/api/ready").await.0, 200);
}

async fn metrics_can_move_off_the_public_port(backend: Backend) {
    let Some((mut config, db)) = TestApp::config(backend).await else {
        return;
    };
    config.metrics_bind = Some("127.0.0.1:0".parse().unwrap());
    let app = TestApp::spawn_with(config, db, reqwest::Client::builder).await;
    let addr = app.metrics_addr.expect("a metrics listener");
    let response = app.anonymous.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 404, "not on the public port");
    let text = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("ocpp_connected_chargers"), "{text}");
}
