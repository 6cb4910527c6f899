//! Remote commands end to end: an operator's request over REST, the CALL over a real WebSocket to
//! the simulator's station (a charger that acts on what it is told, in strict mode: every frame
//! evcms sends is checked against the official OCPP 1.6 schemas), the answer, the record, and what
//! it changed. Both databases.

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use common::ocpp::Site;
use common::{Backend, TestApp};
use evcms_sim::ServerAnswer;
use evcms_sim::ocpp::types::{AuthorizationStatus, ChargePointStatus, Reason};
use evcms_sim::station::{Station, StationOptions, StationSnapshot};
use reqwest::StatusCode;
use serde_json::{Value, json};

both_databases!(
    an_operator_starts_and_stops_a_charge_that_is_billed_once,
    configuration_is_read_changed_and_kept,
    reset_unlock_availability_trigger_and_the_rest_reach_the_charger,
    a_reservation_ends_with_its_start_and_another_lapses,
    a_local_list_is_sent_full_then_differential_and_used_offline,
    charging_profiles_are_kept_until_cleared,
    firmware_and_diagnostics_travel_over_evcms_http,
    commands_that_cannot_be_sent_or_answered_say_why,
    a_charger_that_does_not_answer_times_out,
    ten_concurrent_commands_reach_the_charger_in_order_one_at_a_time,
    the_balance_guard_stops_a_session_whose_wallet_runs_dry,
    a_refused_guard_stop_flags_the_session_for_an_operator,
);

const WAIT: Duration = Duration::from_secs(20);

async fn station_with(app: &TestApp, site: &Site, options: StationOptions) -> Station {
    let station = Station::start(app.charger_config(&site.device_id), options)
        .await
        .unwrap_or_else(|e| panic!("the station could not start: {e}"));
    wait_connected(app, &site.device_id).await;
    station
}

async fn station(app: &TestApp, site: &Site) -> Station {
    let options = StationOptions {
        meter_interval: Duration::from_millis(300),
        ..Default::default()
    };
    station_with(app, site, options).await
}

/// Until evcms lists the charger's connection (the station's boot does not wait for it).
async fn wait_connected(app: &TestApp, charge_point_id: &str) {
    for _ in 0..200 {
        if app.ocpp_connected(charge_point_id) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{charge_point_id} never connected");
}

/// Waits until `count` commands of charger `cp` are recorded.
async fn recorded(app: &TestApp, cp: &str, count: usize) {
    for _ in 0..400 {
        let (status, page) = app.get(&format!("/api/cms/chargers/{cp}/commands")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        if page["pagination"]["total"].as_u64().unwrap_or(0) >= count as u64 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("{count} commands of {cp} were never recorded");
}

async fn command(app: &TestApp, cp: &str, action: &str, body: Value) -> (StatusCode, Value) {
    app.post(&format!("/api/cms/chargers/{cp}/commands/{action}"), &body)
        .await
}

/// A command that must be answered: its record.
async fn answered(app: &TestApp, cp: &str, action: &str, body: Value) -> Value {
    let (status, record) = command(app, cp, action, body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{action} {body}: {record}");
    assert_eq!(record["status"], "Answered", "{record}");
    assert_eq!(record["action"], action);
    assert!(record["answered_at"].is_string(), "{record}");
    record
}

async fn wait(station: &Station, what: impl Fn(&StationSnapshot) -> bool) -> StationSnapshot {
    station.wait_for(WAIT, what).await.unwrap_or_else(|e| {
        panic!(
            "the station never got there: {e}: {:#?}",
            station.snapshot()
        )
    })
}

fn no_violations(station: &Station) {
    assert!(
        station.schema_violations().is_empty(),
        "evcms sent frames outside the OCPP 1.6 schemas: {:?}",
        station.schema_violations()
    );
}

async fn an_operator_starts_and_stops_a_charge_that_is_billed_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("500").await;
    let cp = site.device_id.clone();
    let station = station(&app, &site).await;

    let record = answered(
        &app,
        &cp,
        "RemoteStartTransaction",
        json!({"connectorId": 1, "idTag": site.id_tag}),
    )
    .await;
    assert_eq!(record["response"]["status"], "Accepted");
    assert_eq!(record["requested_by"]["kind"], "user");
    assert!(record["requested_by"]["user_id"].is_i64());
    let snapshot = wait(&station, |s| {
        s.connectors[0].transaction_id.is_some() && s.connectors[0].meter_wh > 0
    })
    .await;
    let transaction_id = snapshot.connectors[0].transaction_id.unwrap();
    app.ocpp_flush().await;
    let session = app.session_of(transaction_id).await;
    assert_eq!(session["status"], "Active");
    // A running session has meter values before it is stopped.
    tokio::time::sleep(Duration::from_millis(700)).await;

    let record = answered(
        &app,
        &cp,
        "RemoteStopTransaction",
        json!({"sessionId": session["session_id"]}),
    )
    .await;
    assert_eq!(record["request"], json!({"transactionId": transaction_id}));
    assert_eq!(record["session_id"], session["session_id"]);
    wait(&station, |s| s.connectors[0].transaction_id.is_none()).await;
    assert_eq!(
        station.snapshot().connectors[0].stop_reasons,
        vec![Reason::Remote]
    );
    let session = app
        .eventually(
            &format!(
                "/api/cms/sessions/{}",
                session["session_id"].as_str().unwrap()
            ),
            |s| s["status"] == "Completed",
        )
        .await;
    assert_eq!(session["stop_reason"], "Remote");
    assert!(session["energy_wh"].as_i64().unwrap() > 0, "{session}");
    let debits = app.debits(&site).await;
    assert_eq!(debits.len(), 1, "billed once: {debits:?}");
    assert_eq!(debits[0]["amount"], session["billed_amount"]);

    // A stopped session cannot be stopped again, and the log keeps every command, newest first.
    let (status, body) = command(
        &app,
        &cp,
        "RemoteStopTransaction",
        json!({"sessionId": session["session_id"]}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "session_not_active");
    let (status, log) = app.get(&format!("/api/cms/chargers/{cp}/commands")).await;
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<&str> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["RemoteStopTransaction", "RemoteStartTransaction"]);
    let metrics = app.metrics_text().await;
    for series in [
        r#"ocpp_commands_sent_total{action="RemoteStartTransaction"}"#,
        r#"ocpp_commands_answered_total{action="RemoteStopTransaction",outcome="result"}"#,
    ] {
        assert!(metrics.contains(series), "{series} in {metrics}");
    }
    let id = log["data"][0]["id"].as_i64().unwrap();
    let (status, one) = app.get(&format!("/api/cms/commands/{id}")).await;
    assert_eq!(
        (status, &one["action"]),
        (StatusCode::OK, &json!("RemoteStopTransaction"))
    );

    // A tag that may not charge is refused before anything is sent.
    let blocked = common::unique("TAG");
    app.id_tag(site.customer["id"].as_i64().unwrap(), &blocked, true, None)
        .await;
    let (status, body) = command(
        &app,
        &cp,
        "RemoteStartTransaction",
        json!({"connectorId": 1, "idTag": blocked}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "id_tag_refused");
    no_violations(&station);
    station.shutdown().await;
}

async fn configuration_is_read_changed_and_kept(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("0").await;
    let cp = site.device_id.clone();
    let station = station(&app, &site).await;

    let record = answered(
        &app,
        &cp,
        "GetConfiguration",
        json!({"key": ["HeartbeatInterval", "NumberOfConnectors", "NoSuchKey"]}),
    )
    .await;
    assert_eq!(record["response"]["unknownKey"], json!(["NoSuchKey"]));
    let record = answered(
        &app,
        &cp,
        "ChangeConfiguration",
        json!({"key": "HeartbeatInterval", "value": "120"}),
    )
    .await;
    assert_eq!(record["response"]["status"], "Accepted");
    let record = answered(
        &app,
        &cp,
        "ChangeConfiguration",
        json!({"key": "NumberOfConnectors", "value": "9"}),
    )
    .await;
    assert_eq!(record["response"]["status"], "Rejected");
    let snapshot = station.snapshot();
    let heartbeat = snapshot
        .configuration
        .iter()
        .find(|k| k.key == "HeartbeatInterval")
        .unwrap();
    assert_eq!(heartbeat.value.as_deref(), Some("120"));

    let (status, keys) = app
        .get(&format!("/api/cms/chargers/{cp}/configuration"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let key = |name: &str| {
        keys.as_array()
            .unwrap()
            .iter()
            .find(|k| k["key"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} in {keys}"))
    };
    assert_eq!(key("HeartbeatInterval")["value"], "120");
    assert_eq!(key("HeartbeatInterval")["status"], "Known");
    assert_eq!(key("NumberOfConnectors")["readonly"], true);
    assert_eq!(key("NumberOfConnectors")["value"], "2");
    assert_eq!(key("NoSuchKey")["status"], "Unknown");

    // A full read lists every key the charger has.
    let record = answered(&app, &cp, "GetConfiguration", json!({})).await;
    let read = record["response"]["configurationKey"]
        .as_array()
        .unwrap()
        .len();
    let (_, keys) = app
        .get(&format!("/api/cms/chargers/{cp}/configuration"))
        .await;
    assert!(keys.as_array().unwrap().len() > read, "{keys}");
    no_violations(&station);
    station.shutdown().await;
}

async fn reset_unlock_availability_trigger_and_the_rest_reach_the_charger(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("500").await;
    let cp = site.device_id.clone();
    let station = station(&app, &site).await;

    // Unlock ends the session on the connector.
    station.start_local(1, &site.id_tag).await.unwrap();
    let record = answered(&app, &cp, "UnlockConnector", json!({"connectorId": 1})).await;
    assert_eq!(record["response"]["status"], "Unlocked");
    wait(&station, |s| s.connectors[0].transaction_id.is_none()).await;
    assert_eq!(
        station.snapshot().connectors[0].stop_reasons,
        vec![Reason::UnlockCommand]
    );

    let record = answered(
        &app,
        &cp,
        "ChangeAvailability",
        json!({"connectorId": 2, "type": "Inoperative"}),
    )
    .await;
    assert_eq!(record["response"]["status"], "Accepted");
    wait(&station, |s| {
        s.connectors[1].status == ChargePointStatus::Unavailable
    })
    .await;
    let point = app
        .eventually(&format!("/api/cms/points/{}", site.point["id"]), |p| {
            p["connectors"][1]["status"] == "Unavailable"
        })
        .await;
    assert_eq!(point["connectors"][1]["status"], "Unavailable");

    let record = answered(
        &app,
        &cp,
        "TriggerMessage",
        json!({"requestedMessage": "Heartbeat"}),
    )
    .await;
    assert_eq!(record["response"]["status"], "Accepted");
    let record = answered(
        &app,
        &cp,
        "DataTransfer",
        json!({"vendorId": "com.example", "messageId": "ping", "data": "42"}),
    )
    .await;
    assert_eq!(record["response"]["status"], "Accepted");
    wait(&station, |s| !s.data_transfers.is_empty()).await;
    answered(&app, &cp, "ClearCache", json!({})).await;

    let boots = station.snapshot().boots;
    let record = answered(&app, &cp, "Reset", json!({"type": "Soft"})).await;
    assert_eq!(record["response"]["status"], "Accepted");
    wait(&station, |s| s.boots > boots && s.connected).await;
    no_violations(&station);
    station.shutdown().await;
}

async fn a_reservation_ends_with_its_start_and_another_lapses(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("500").await;
    let cp = site.device_id.clone();
    let station = station(&app, &site).await;

    let expiry = Utc::now() + chrono::Duration::minutes(5);
    let record = answered(
        &app,
        &cp,
        "ReserveNow",
        json!({"connectorId": 1, "expiryDate": expiry.to_rfc3339(), "idTag": site.id_tag}),
    )
    .await;
    assert_eq!(record["response"]["status"], "Accepted");
    let reservation_id = record["request"]["reservationId"].as_i64().unwrap();
    let snapshot = wait(&station, |s| {
        s.connectors[0].status == ChargePointStatus::Reserved
    })
    .await;
    assert_eq!(
        snapshot.connectors[0]
            .reservation
            .as_ref()
            .map(|r| i64::from(r.0)),
        Some(reservation_id)
    );
    let (_, list) = app
        .get(&format!("/api/cms/chargers/{cp}/reservations"))
        .await;
    assert_eq!(list[0]["id"], reservation_id);
    assert_eq!(list[0]["status"], "Accepted");

    // The driver arrives: the StartTransaction carries the reservation, which ends.
    let transaction_id = station.start_local(1, &site.id_tag).await.unwrap();
    app.ocpp_flush().await;
    let session = app.session_of(transaction_id).await;
    let (_, list) = app
        .get(&format!("/api/cms/chargers/{cp}/reservations"))
        .await;
    assert_eq!(list[0]["status"], "Used", "{list}");
    assert_eq!(list[0]["session_id"], session["session_id"]);
    station.stop_local(1).await.unwrap();

    // One that nobody uses lapses; one cancelled is Cancelled.
    let soon = Utc::now() + chrono::Duration::seconds(2);
    let record = answered(
        &app,
        &cp,
        "ReserveNow",
        json!({"connectorId": 2, "expiryDate": soon.to_rfc3339(), "idTag": site.id_tag}),
    )
    .await;
    let lapsing = record["request"]["reservationId"].as_i64().unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let later = Utc::now() + chrono::Duration::minutes(5);
    let record = answered(
        &app,
        &cp,
        "ReserveNow",
        json!({"connectorId": 2, "expiryDate": later.to_rfc3339(), "idTag": site.id_tag}),
    )
    .await;
    let cancelled = record["request"]["reservationId"].as_i64().unwrap();
    let record = answered(
        &app,
        &cp,
        "CancelReservation",
        json!({"reservationId": cancelled}),
    )
    .await;
    assert_eq!(record["response"]["status"], "Accepted");
    let (_, list) = app
        .get(&format!("/api/cms/chargers/{cp}/reservations"))
        .await;
    let status_of = |id: i64| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .map(|r| r["status"].clone())
    };
    assert_eq!(status_of(lapsing), Some(json!("Expired")), "{list}");
    assert_eq!(status_of(cancelled), Some(json!("Cancelled")), "{list}");

    // evcms numbers reservations; a reservation of nobody's cannot be cancelled.
    let (status, body) = command(
        &app,
        &cp,
        "ReserveNow",
        json!({"connectorId": 2, "expiryDate": later.to_rfc3339(), "idTag": site.id_tag, "reservationId": 5}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = command(
        &app,
        &cp,
        "CancelReservation",
        json!({"reservationId": 999_999}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    no_violations(&station);
    station.shutdown().await;
}

async fn a_local_list_is_sent_full_then_differential_and_used_offline(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("500").await;
    let cp = site.device_id.clone();
    let station = station(&app, &site).await;

    let record = answered(&app, &cp, "SendLocalList", json!({"updateType": "Full"})).await;
    assert_eq!(record["response"]["status"], "Accepted");
    let version = record["request"]["listVersion"].as_i64().unwrap();
    assert_eq!(version, 1);
    let snapshot = station.snapshot();
    assert_eq!(i64::from(snapshot.local_list_version), version);
    assert_eq!(
        snapshot
            .local_list
            .get(&site.id_tag)
            .map(|i| i.status.clone()),
        Some(AuthorizationStatus::Accepted)
    );

    // The tag is blocked: one change is pending, and a Differential update carries just it.
    let (status, body) = app
        .put(
            &format!("/api/cms/id-tags/{}", site.id_tag),
            &json!({"blocked": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, list) = app.get(&format!("/api/cms/chargers/{cp}/local-list")).await;
    assert_eq!(list["pending_changes"], 1, "{list}");
    let record = answered(
        &app,
        &cp,
        "SendLocalList",
        json!({"updateType": "Differential"}),
    )
    .await;
    let sent = record["request"]["localAuthorizationList"]
        .as_array()
        .unwrap();
    assert_eq!(sent.len(), 1, "{record}");
    assert_eq!(sent[0]["idTagInfo"]["status"], "Blocked");
    assert_eq!(record["request"]["listVersion"], 2);

    let record = answered(&app, &cp, "GetLocalListVersion", json!({})).await;
    assert_eq!(record["response"]["listVersion"], 2);
    let (_, list) = app.get(&format!("/api/cms/chargers/{cp}/local-list")).await;
    assert_eq!(list["version"], 2);
    assert_eq!(list["in_sync"], true);
    assert_eq!(list["pending_changes"], 0);

    // Offline, the charger answers from the list it was sent.
    station.go_offline().await;
    assert_eq!(
        station.authorize(&site.id_tag).await.unwrap(),
        AuthorizationStatus::Blocked
    );
    no_violations(&station);
    station.shutdown().await;
}

async fn charging_profiles_are_kept_until_cleared(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("0").await;
    let cp = site.device_id.clone();
    let station = station(&app, &site).await;
    let profile = json!({
        "chargingProfileId": 7, "stackLevel": 1, "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}]}
    });
    let record = answered(
        &app,
        &cp,
        "SetChargingProfile",
        json!({"connectorId": 1, "csChargingProfiles": profile}),
    )
    .await;
    assert_eq!(record["response"]["status"], "Accepted");
    assert_eq!(station.snapshot().charging_profiles.len(), 1);
    let (_, profiles) = app
        .get(&format!("/api/cms/chargers/{cp}/charging-profiles"))
        .await;
    assert_eq!(profiles[0]["charging_profile_id"], 7);
    assert_eq!(profiles[0]["purpose"], "TxDefaultProfile");
    let record = answered(
        &app,
        &cp,
        "GetCompositeSchedule",
        json!({"connectorId": 1, "duration": 3600}),
    )
    .await;
    assert_eq!(record["response"]["status"], "Accepted");
    let record = answered(&app, &cp, "ClearChargingProfile", json!({"id": 7})).await;
    assert_eq!(record["response"]["status"], "Accepted");
    let (_, profiles) = app
        .get(&format!("/api/cms/chargers/{cp}/charging-profiles"))
        .await;
    assert_eq!(profiles, json!([]));
    no_violations(&station);
    station.shutdown().await;
}

async fn firmware_and_diagnostics_travel_over_evcms_http(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("0").await;
    let cp = site.device_id.clone();
    let station = station(&app, &site).await;

    let image = b"firmware image bytes".to_vec();
    let (status, file) = app
        .post_raw(
            "/api/cms/firmware?file_name=mm-fw-3.5.0.bin",
            "application/octet-stream",
            image,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{file}");
    let boots = station.snapshot().boots;
    let record = answered(
        &app,
        &cp,
        "UpdateFirmware",
        json!({"firmwareId": file["id"]}),
    )
    .await;
    let location = record["request"]["location"].as_str().unwrap();
    assert!(location.contains("/ocpp-files/firmware/"), "{location}");
    wait(&station, |s| {
        s.firmware_statuses
            .iter()
            .any(|f| format!("{f:?}") == "Installed")
            && s.boots > boots
            && s.connected
    })
    .await;
    // The new firmware runs after a reboot.
    wait_connected(&app, &cp).await;
    let updates = app
        .eventually(&format!("/api/cms/chargers/{cp}/firmware-updates"), |u| {
            u[0]["status"] == "Installed"
        })
        .await;
    assert_eq!(updates[0]["firmware_file_id"], file["id"]);

    let record = answered(&app, &cp, "GetDiagnostics", json!({})).await;
    let file_name = record["response"]["fileName"].as_str().unwrap().to_owned();
    wait(&station, |s| s.uploaded_diagnostics.contains(&file_name)).await;
    let requests = app
        .eventually(&format!("/api/cms/chargers/{cp}/diagnostics"), |d| {
            d[0]["status"] == "Received" || d[0]["status"] == "Uploaded"
        })
        .await;
    assert!(
        requests[0]["size_bytes"].as_i64().unwrap() > 0,
        "{requests}"
    );
    let download = app
        .client
        .get(app.url(&format!("/api/cms/diagnostics/{}/file", requests[0]["id"])))
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    assert!(!download.bytes().await.unwrap().is_empty());
    // The upload URL is one-time.
    let again = app
        .anonymous
        .put(format!(
            "{}/{file_name}",
            record["request"]["location"].as_str().unwrap()
        ))
        .body("more")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::GONE);
    no_violations(&station);
    station.shutdown().await;
}

async fn commands_that_cannot_be_sent_or_answered_say_why(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("500").await;
    let cp = site.device_id.clone();
    let options = StationOptions {
        meter_interval: Duration::from_millis(300),
        answerer: Some(Arc::new(|action: &str, _: &Value| {
            (action == "ClearCache").then(|| ServerAnswer::Error {
                code: "NotSupported".into(),
                description: "no cache here".into(),
            })
        })),
        ..Default::default()
    };
    let station = station_with(&app, &site, options).await;

    let (status, body) = command(&app, "NO-SUCH-CP", "Reset", json!({"type": "Soft"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = command(&app, &cp, "Heartbeat", json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(common::problem_fields(&body), ["action"]);
    let (status, body) = command(&app, &cp, "Reset", json!({"type": "Gentle"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(common::problem_fields(&body), ["type"]);
    let (status, body) = command(&app, &cp, "Reset", json!({"type": "Soft", "now": true})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(common::problem_fields(&body), ["now"]);

    let (status, body) = command(&app, &cp, "ClearCache", json!({})).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(body["error"]["code"], "charger_error");
    assert_eq!(body["error"]["command"]["error"]["code"], "NotSupported");
    assert_eq!(
        body["error"]["command"]["error"]["description"],
        "no cache here"
    );

    let viewer = app.user("viewer", None).await;
    let (status, _) = app
        .call(
            reqwest::Method::POST,
            &format!("/api/cms/chargers/{cp}/commands/ClearCache"),
            Some(&viewer),
            Some(&json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    station.shutdown().await;
    for _ in 0..200 {
        if !app.ocpp_connected(&cp) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let (status, body) = command(&app, &cp, "Reset", json!({"type": "Hard"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "charger_offline");
    assert_eq!(body["error"]["command"]["status"], "Offline");
    // Every one of them is on record.
    let (_, log) = app
        .get(&format!("/api/cms/chargers/{cp}/commands?status=Offline"))
        .await;
    assert_eq!(log["pagination"]["total"], 1, "{log}");
}

async fn a_charger_that_does_not_answer_times_out(backend: Backend) {
    let Some((mut config, db)) = TestApp::config(backend).await else {
        return;
    };
    config.ocpp_call_timeout = 1;
    let app = TestApp::spawn_with(config, db, reqwest::Client::builder).await;
    let site = app.site("0").await;
    let cp = site.device_id.clone();
    let options = StationOptions {
        answerer: Some(Arc::new(|action: &str, _: &Value| {
            matches!(action, "ClearCache" | "GetLocalListVersion").then_some(ServerAnswer::Ignore)
        })),
        reconnect: false,
        ..Default::default()
    };
    let station = station_with(&app, &site, options).await;
    let (status, body) = command(&app, &cp, "ClearCache", json!({})).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{body}");
    assert_eq!(body["error"]["code"], "charger_timeout");
    // The next command is not stuck behind the silent one.
    answered(
        &app,
        &cp,
        "GetConfiguration",
        json!({"key": ["HeartbeatInterval"]}),
    )
    .await;

    // A charger that leaves mid-call: the caller hears of it at once.
    let call = {
        let client = app.client.clone();
        let url = app.url(&format!(
            "/api/cms/chargers/{cp}/commands/GetLocalListVersion"
        ));
        tokio::spawn(async move { client.post(url).json(&json!({})).send().await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    station.go_offline().await;
    let response = call.await.unwrap().unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert!(
        matches!(
            body["error"]["code"].as_str(),
            Some("charger_disconnected" | "charger_timeout")
        ),
        "{status} {body}"
    );
    if body["error"]["code"] == "charger_disconnected" {
        assert_eq!(status, StatusCode::BAD_GATEWAY);
    }
    station.shutdown().await;
}

async fn ten_concurrent_commands_reach_the_charger_in_order_one_at_a_time(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("0").await;
    let cp = site.device_id.clone();
    let mut config = app.charger_config(&site.device_id);
    config.answer_delay = Duration::from_millis(100);
    let station = Station::start(config, StationOptions::default())
        .await
        .unwrap();
    wait_connected(&app, &cp).await;
    let mut calls = Vec::new();
    for i in 0..10 {
        let client = app.client.clone();
        let url = app.url(&format!("/api/cms/chargers/{cp}/commands/DataTransfer"));
        calls.push(tokio::spawn(async move {
            client
                .post(url)
                .json(&json!({"vendorId": "com.example", "data": i.to_string()}))
                .send()
                .await
                .map(|r| r.status())
        }));
        // Queued in this order: the next is sent once this one is recorded (its CALL is queued
        // right after), not after a fixed pause that a loaded database can outlast.
        recorded(&app, &cp, i + 1).await;
    }
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap(), StatusCode::OK);
    }
    let data: Vec<String> = station
        .server_calls()
        .into_iter()
        .filter(|(action, _)| action == "DataTransfer")
        .map(|(_, payload)| payload["data"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(data, (0..10).map(|i| i.to_string()).collect::<Vec<_>>());
    assert_eq!(station.max_outstanding_server_calls(), 1);
    no_violations(&station);
    station.shutdown().await;
}

/// A customer with 30.00 charging fast (1 kWh every 3 s at 18.50 per kWh + 18 % tax = 21.83 per
/// kWh, so the wallet runs dry within seconds) at a station answering with `answerer`; waits until
/// the session reaches `until` and gives the site, the station and the session.
async fn running_dry(
    app: &TestApp,
    answerer: Option<evcms_sim::station::StationAnswerer>,
    until: impl Fn(&Value) -> bool,
) -> (Site, Station, Value) {
    let site = app.site("30").await;
    let options = StationOptions {
        meter_interval: Duration::from_millis(200),
        power_kw: Some(1200),
        answerer,
        ..Default::default()
    };
    let station = station_with(app, &site, options).await;
    let transaction_id = station.start_local(1, &site.id_tag).await.unwrap();
    app.ocpp_flush().await;
    let session = app.session_of(transaction_id).await;
    let path = format!(
        "/api/cms/sessions/{}",
        session["session_id"].as_str().unwrap()
    );
    let session = app.eventually(&path, until).await;
    (site, station, session)
}

async fn the_balance_guard_stops_a_session_whose_wallet_runs_dry(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // The guard notes its stop once the charger has answered the RemoteStop; the charger's Stop
    // may settle the session first, so wait for both.
    let (site, station, session) = running_dry(&app, None, |s| {
        s["status"] == "Completed" && s["guard_stop_requested_at"].is_string()
    })
    .await;
    assert_eq!(session["stop_reason"], "Remote", "{session}");
    assert!(session["guard_stop_requested_at"].is_string(), "{session}");
    let note = session["guard_note"].as_str().unwrap_or_default();
    assert!(note.contains("balance guard"), "{session}");
    assert!(session["guard_flagged_at"].is_null());
    assert_eq!(
        station.snapshot().connectors[0].stop_reasons,
        vec![Reason::Remote]
    );
    let debits = app.debits(&site).await;
    assert_eq!(debits.len(), 1, "billed once: {debits:?}");
    let (_, log) = app
        .get(&format!(
            "/api/cms/chargers/{}/commands?action=RemoteStopTransaction",
            site.device_id
        ))
        .await;
    assert_eq!(log["data"][0]["requested_by"]["kind"], "balance_guard");
    assert_eq!(log["data"][0]["session_id"], session["session_id"]);
    no_violations(&station);
    station.shutdown().await;
}

async fn a_refused_guard_stop_flags_the_session_for_an_operator(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let refuse: evcms_sim::station::StationAnswerer = Arc::new(|action: &str, _: &Value| {
        (action == "RemoteStopTransaction")
            .then(|| ServerAnswer::Result(json!({"status": "Rejected"})))
    });
    let (_, station, session) =
        running_dry(&app, Some(refuse), |s| s["guard_flagged_at"].is_string()).await;
    assert_eq!(session["status"], "Active");
    let note = session["guard_note"].as_str().unwrap_or_default();
    assert!(note.contains("refused"), "{session}");
    station.shutdown().await;
}
