//! The OCPP 1.6-J endpoint over a real WebSocket, driven by the strict simulator (every frame evcms
//! sends is validated against the official OCPP 1.6 JSON schemas), on SQLite and PostgreSQL.

mod common;

use std::time::Duration;

use chrono::{Duration as Span, Utc};
use common::ocpp::{minutes_ago, money};
use common::{Backend, TestApp};
use evcms_sim::ocpp::types::{
    AuthorizationStatus, ChargePointErrorCode, ChargePointStatus, Reason, RegistrationStatus,
};
use evcms_sim::{Charger, Incoming, Reply, SimError};
use serde_json::{Value, json};

both_databases!(
    a_full_session_is_billed_to_the_paisa_and_debited_once,
    meter_values_keep_the_running_session_current_and_are_stored_in_wh,
    a_repeated_start_after_a_reconnect_gets_the_same_transaction_and_a_repeated_stop_bills_once,
    an_unknown_charger_is_pending_until_a_point_adopts_it,
    id_tags_are_judged_by_owner_block_expiry_balance_and_concurrent_use,
    a_refused_start_still_gets_a_real_transaction_id_and_its_stop_bills_nothing,
    stops_for_unknown_or_foreign_transactions_are_answered_and_change_nothing,
    a_meter_that_went_backwards_bills_nothing_and_is_flagged,
    status_notifications_update_connectors_and_late_ones_do_not_overwrite,
    boot_data_and_other_notifications_are_stored,
    bad_frames_get_the_right_call_error_and_the_connection_stays_up,
    charger_quirks_are_accepted,
    a_new_connection_replaces_the_old_one,
    a_charger_whose_network_drops_is_recorded_disconnected,
    the_handshake_requires_the_ocpp_subprotocol_and_a_usable_id,
    an_oversized_frame_closes_the_connection_with_1009,
    concurrent_sessions_on_many_chargers_are_each_billed_once,
    the_simulators_session_command_leaves_a_completed_billed_session,
    a_session_whose_stop_was_lost_is_settled_when_its_connector_starts_again,
    another_organizations_chargers_and_meter_values_are_not_there,
    odd_payloads_from_real_chargers_are_still_answered_and_stored,
    a_charger_adopted_while_connected_is_recognised_without_a_new_boot,
    a_stop_with_transaction_id_minus_one_settles_the_tags_open_session,
);

/// Whether the charger's row comes to say disconnected (the disconnection is committed by the
/// batch writer, a moment after the connection ends).
async fn recorded_disconnected(app: &TestApp, charge_point_id: &str) -> bool {
    app.eventually_scalar(
        "SELECT CAST(connected AS TEXT) FROM chargers WHERE charge_point_id = $1",
        charge_point_id,
        |v| matches!(v, Some("0" | "false")),
    )
    .await
    .is_some()
}

/// A charger of `site`, connected and booted.
async fn booted(app: &TestApp, site: &common::ocpp::Site) -> Charger {
    let mut charger = app.charger(&site.device_id).await;
    boot_accepted(&mut charger).await;
    charger
}

/// Boots `charger` and checks it is accepted with the configured heartbeat interval.
async fn boot_accepted(charger: &mut Charger) {
    let boot = charger.boot().await.expect("boot");
    assert_eq!(boot.status, RegistrationStatus::Accepted);
    assert_eq!(boot.interval, 300);
}

async fn start(
    charger: &mut Charger,
    connector: u32,
    id_tag: &str,
    meter: i32,
) -> (i32, AuthorizationStatus) {
    let started = charger
        .start_transaction(connector, id_tag, meter, minutes_ago(30))
        .await
        .expect("start");
    assert!(started.transaction_id > 0, "transaction ids are positive");
    (started.transaction_id, started.id_tag_info.status)
}

async fn a_full_session_is_billed_to_the_paisa_and_debited_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("500.00").await;
    let mut cp = booted(&app, &site).await;
    cp.status(
        1,
        ChargePointStatus::Available,
        ChargePointErrorCode::NoError,
    )
    .await
    .unwrap();
    let auth = cp.authorize(&site.id_tag).await.unwrap();
    assert_eq!(auth.id_tag_info.status, AuthorizationStatus::Accepted);

    let (tx, status) = start(&mut cp, 1, &site.id_tag, 1_000_000).await;
    assert_eq!(status, AuthorizationStatus::Accepted);
    let session = app.session_of(tx).await;
    assert_eq!(session["status"], "Active");
    assert_eq!(session["customer_id"], site.customer["id"]);
    assert_eq!(session["connector_number"], "1");
    assert_eq!(session["meter_start_wh"], 1_000_000);
    assert_eq!(money(&session["base_charges"]), "18.50");
    assert_eq!(money(&session["tax"]), "18.00");

    // 12.345 kWh: 12.345 × 18.50 = 228.3825; × 1.18 = 269.49135 → 269.49.
    let stop = cp
        .stop_transaction(
            tx,
            1_012_345,
            minutes_ago(1),
            Some(Reason::Local),
            Some(&site.id_tag),
        )
        .await
        .unwrap();
    assert_eq!(
        stop.id_tag_info.unwrap().status,
        AuthorizationStatus::Accepted
    );
    let session = app.session_of(tx).await;
    assert_eq!(session["status"], "Completed");
    assert_eq!(session["energy_wh"], 12_345);
    assert_eq!(session["energy_consumed"], json!(12.345));
    assert_eq!(money(&session["billed_amount"]), "269.49");
    assert_eq!(session["stop_reason"], "Local");
    assert_eq!(session["anomaly"], Value::Null);

    let (_, customer) = app.get(&site.customer_path()).await;
    assert_eq!(money(&customer["wallet_balance"]), "230.51");
    let debits = app.debits(&site).await;
    assert_eq!(debits.len(), 1, "{debits:?}");
    assert_eq!(money(&debits[0]["amount"]), "269.49");
    assert_eq!(money(&debits[0]["balance"]), "230.51");
    assert_eq!(debits[0]["reference_id"], session["session_id"]);
    assert!(cp.schema_violations().is_empty());
}

async fn meter_values_keep_the_running_session_current_and_are_stored_in_wh(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("500.00").await;
    let mut cp = booted(&app, &site).await;
    let (tx, _) = start(&mut cp, 1, &site.id_tag, 5_000).await;

    // One message in kWh with power in kW; the register 6.000 kWh means 1000 Wh charged.
    let sample = json!({"connectorId": 1, "transactionId": tx, "meterValue": [{
    "timestamp": minutes_ago(20).to_rfc3339(),
    "sampledValue": [
        {"value": "6.000", "unit": "kWh", "measurand": "Energy.Active.Import.Register", "context": "Sample.Periodic"},
        {"value": "7.2", "unit": "kW", "measurand": "Power.Active.Import"},
        {"value": "31.9", "unit": "A", "measurand": "Current.Import", "phase": "L1"},
        {"value": "229.8", "unit": "V", "measurand": "Voltage", "phase": "L1-N"},
        {"value": "54", "unit": "Percent", "measurand": "SoC", "location": "EV"}
    ]}]});
    assert!(
        matches!(cp.call_raw("MeterValues", sample).await.unwrap(), Reply::Result(p) if p == json!({}))
    );
    let path = format!(
        "/api/cms/sessions/{}",
        app.session_of(tx).await["session_id"].as_str().unwrap()
    );
    // 1 kWh × 18.50 × 1.18 = 21.83.
    let session = app.eventually(&path, |s| s["energy_wh"] == 1000).await;
    assert_eq!(money(&session["billed_amount"]), "21.83");
    assert_eq!(session["status"], "Active");

    // A later sample moves it on; an older one delivered late does not move it back.
    cp.meter_values(
        1,
        Some(tx),
        vec![Charger::sample(minutes_ago(10), 8_000, 7200)],
    )
    .await
    .unwrap();
    app.eventually(&path, |s| s["energy_wh"] == 3000).await;
    cp.meter_values(
        1,
        Some(tx),
        vec![Charger::sample(minutes_ago(25), 5_500, 7200)],
    )
    .await
    .unwrap();
    // A sample without a transaction (connector 0) is stored against the charger.
    cp.meter_values(0, None, vec![Charger::sample(minutes_ago(5), 9_000, 0)])
        .await
        .unwrap();
    app.ocpp_flush().await;
    assert_eq!(app.get(&path).await.1["energy_wh"], 3000);

    let energy: Vec<String> = app
        .texts(
            "SELECT unit || ':' || CAST(value AS TEXT) FROM meter_values WHERE charge_point_id = $1 AND measurand = 'Energy.Active.Import.Register' ORDER BY sampled_at",
            &site.device_id,
        )
        .await;
    assert_eq!(energy.len(), 4, "{energy:?}");
    assert!(energy.iter().all(|e| e.starts_with("Wh:")), "{energy:?}");
    let power = app
        .texts("SELECT unit FROM meter_values WHERE charge_point_id = $1 AND measurand = 'Power.Active.Import' AND session_id IS NOT NULL", &site.device_id)
        .await;
    assert!(
        power.iter().any(|u| u == "W"),
        "kW is stored as W: {power:?}"
    );
    let soc = app
        .texts("SELECT location FROM meter_values WHERE charge_point_id = $1 AND measurand = 'SoC' AND location IS NOT NULL", &site.device_id)
        .await;
    assert_eq!(soc, ["EV"]);
    let unlinked = app
        .texts("SELECT CAST(connector_number AS TEXT) FROM meter_values WHERE charge_point_id = $1 AND session_id IS NULL", &site.device_id)
        .await;
    assert!(
        !unlinked.is_empty() && unlinked.iter().all(|c| c == "0"),
        "{unlinked:?}"
    );
}

async fn a_repeated_start_after_a_reconnect_gets_the_same_transaction_and_a_repeated_stop_bills_once(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("100.00").await;
    let started_at = minutes_ago(40);
    let mut cp = booted(&app, &site).await;
    let first = cp
        .start_transaction(1, &site.id_tag, 200, started_at)
        .await
        .unwrap();
    cp.close().await.unwrap();

    // The reply was "lost": the charger reconnects and sends the same StartTransaction again.
    let mut cp = app.charger(&site.device_id).await;
    let again = cp
        .start_transaction(1, &site.id_tag, 200, started_at)
        .await
        .unwrap();
    assert_eq!(again.transaction_id, first.transaction_id);
    assert_eq!(again.id_tag_info.status, AuthorizationStatus::Accepted);

    let stop_at = minutes_ago(5);
    cp.stop_transaction(first.transaction_id, 2_200, stop_at, None, None)
        .await
        .unwrap();
    cp.close().await.unwrap();
    let mut cp = app.charger(&site.device_id).await;
    cp.stop_transaction(first.transaction_id, 2_200, stop_at, None, None)
        .await
        .unwrap();

    let (_, page) = app
        .get(&format!(
            "/api/cms/sessions?customer_id={}",
            site.customer["id"]
        ))
        .await;
    assert_eq!(page["pagination"]["total"], 1, "one session: {page}");
    // 2 kWh × 18.50 × 1.18 = 43.66, debited once.
    let session = &page["data"][0];
    assert_eq!(money(&session["billed_amount"]), "43.66");
    assert_eq!(app.debits(&site).await.len(), 1);
    let (_, customer) = app.get(&site.customer_path()).await;
    assert_eq!(money(&customer["wallet_balance"]), "56.34");
}

async fn an_unknown_charger_is_pending_until_a_point_adopts_it(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let id = common::unique("NEW");
    let mut cp = app.charger(&id).await;
    let boot = cp.boot().await.unwrap();
    assert_eq!(boot.status, RegistrationStatus::Pending);
    let listed = app
        .scalar_text(
            "SELECT registration_status FROM chargers WHERE charge_point_id = $1",
            &id,
        )
        .await;
    assert_eq!(listed.as_deref(), Some("Pending"));
    // It may not start charging before it is adopted.
    match cp.start_transaction(1, "ANY", 0, Utc::now()).await {
        Err(SimError::CallError { code, .. }) => assert_eq!(code, "SecurityError"),
        other => panic!("expected a SecurityError, got {other:?}"),
    }
    // An operator adopts it: a point with its id as device_id. The next boot is accepted.
    let station = app.station(json!({})).await;
    app.point(
        station["station_id"].as_str().unwrap(),
        json!({"device_id": id}),
    )
    .await;
    boot_accepted(&mut cp).await;
    let listed = app
        .scalar_text(
            "SELECT registration_status FROM chargers WHERE charge_point_id = $1",
            &id,
        )
        .await;
    assert_eq!(listed.as_deref(), Some("Accepted"));
}

async fn id_tags_are_judged_by_owner_block_expiry_balance_and_concurrent_use(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("100.00").await;
    let customer_id = site.customer["id"].as_i64().unwrap();
    let blocked = common::unique("BLK");
    app.id_tag(customer_id, &blocked, true, None).await;
    let expired = common::unique("EXP");
    app.id_tag(
        customer_id,
        &expired,
        false,
        Some(Utc::now() - Span::days(1)),
    )
    .await;
    let poor = app.customer(json!({})).await;
    let poor_tag = common::unique("POOR");
    app.id_tag(poor["id"].as_i64().unwrap(), &poor_tag, false, None)
        .await;

    let mut cp = booted(&app, &site).await;
    let status = |r: Result<evcms_sim::ocpp::messages::authorize::AuthorizeResponse, SimError>| {
        r.unwrap().id_tag_info.status
    };
    assert_eq!(
        status(cp.authorize("NO-SUCH-TAG").await),
        AuthorizationStatus::Invalid
    );
    assert_eq!(
        status(cp.authorize(&blocked).await),
        AuthorizationStatus::Blocked
    );
    assert_eq!(
        status(cp.authorize(&expired).await),
        AuthorizationStatus::Expired
    );
    assert_eq!(
        status(cp.authorize(&poor_tag).await),
        AuthorizationStatus::Blocked,
        "an empty wallet may not charge"
    );

    // Charging on connector 1 makes the tag busy everywhere else.
    let (_, accepted) = start(&mut cp, 1, &site.id_tag, 0).await;
    assert_eq!(accepted, AuthorizationStatus::Accepted);
    let other = app.site("10.00").await;
    let mut other_cp = booted(&app, &other).await;
    assert_eq!(
        status(other_cp.authorize(&site.id_tag).await),
        AuthorizationStatus::ConcurrentTx
    );
    let (_, concurrent) = start(&mut other_cp, 1, &site.id_tag, 0).await;
    assert_eq!(concurrent, AuthorizationStatus::ConcurrentTx);
}

async fn a_refused_start_still_gets_a_real_transaction_id_and_its_stop_bills_nothing(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("0").await;
    let mut cp = booted(&app, &site).await;
    let (tx, status) = start(&mut cp, 1, &site.id_tag, 100).await;
    assert_eq!(status, AuthorizationStatus::Blocked);
    let session = app.session_of(tx).await;
    assert_eq!(session["status"], "Cancelled");
    assert_eq!(session["id_tag_status"], "Blocked");
    // The charger kept charging anyway (StopTransactionOnInvalidId false): recorded, flagged, not billed.
    cp.stop_transaction(tx, 600, Utc::now(), Some(Reason::DeAuthorized), None)
        .await
        .unwrap();
    let session = app.session_of(tx).await;
    assert_eq!(session["status"], "Cancelled");
    assert_eq!(session["energy_wh"], 500);
    assert_eq!(session["billed_amount"], Value::Null);
    assert!(
        session["anomaly"]
            .as_str()
            .unwrap()
            .contains("refused start")
    );
    assert!(app.ledger(&site).await.is_empty());
}

async fn stops_for_unknown_or_foreign_transactions_are_answered_and_change_nothing(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let a = app.site("100.00").await;
    let b = app.site("100.00").await;
    let mut cp_a = booted(&app, &a).await;
    let (tx_a, _) = start(&mut cp_a, 1, &a.id_tag, 0).await;
    let mut cp_b = booted(&app, &b).await;

    // Charger B stops A's transaction, an unknown one, and -1 (it never got an id).
    for id in [tx_a, 987_654, -1] {
        let stop = cp_b
            .stop_transaction(id, 5_000, Utc::now(), None, Some(&b.id_tag))
            .await
            .unwrap();
        assert_eq!(
            stop.id_tag_info.unwrap().status,
            AuthorizationStatus::Accepted
        );
    }
    let stop = cp_b
        .stop_transaction(55, 5_000, Utc::now(), None, None)
        .await
        .unwrap();
    assert!(stop.id_tag_info.is_none());
    assert_eq!(app.session_of(tx_a).await["status"], "Active");
    assert!(app.debits(&a).await.is_empty());
    assert!(app.debits(&b).await.is_empty());
}

async fn a_meter_that_went_backwards_bills_nothing_and_is_flagged(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("100.00").await;
    let mut cp = booted(&app, &site).await;
    let (tx, _) = start(&mut cp, 2, &site.id_tag, 90_000).await;
    cp.stop_transaction(tx, 1_200, Utc::now(), Some(Reason::Reboot), None)
        .await
        .unwrap();
    let session = app.session_of(tx).await;
    assert_eq!(session["status"], "Completed");
    assert_eq!(session["connector_number"], "2");
    assert_eq!(session["energy_wh"], 0);
    assert_eq!(money(&session["billed_amount"]), "0.00");
    assert!(
        session["anomaly"]
            .as_str()
            .unwrap()
            .contains("below meter start")
    );
    assert!(app.debits(&site).await.is_empty());
}

async fn status_notifications_update_connectors_and_late_ones_do_not_overwrite(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("100.00").await;
    let mut cp = booted(&app, &site).await;
    let notify = |connector: u32, status: &str, error: &str, at: chrono::DateTime<Utc>| json!({"connectorId": connector, "status": status, "errorCode": error, "timestamp": at.to_rfc3339()});
    for payload in [
        notify(1, "Charging", "NoError", minutes_ago(1)),
        notify(1, "Preparing", "NoError", minutes_ago(3)), // late: older than the stored one
        notify(2, "Faulted", "GroundFailure", minutes_ago(2)),
        notify(0, "Available", "NoError", minutes_ago(2)),
        notify(3, "Available", "NoError", minutes_ago(2)), // the point has no connector 3
    ] {
        assert!(
            matches!(cp.call_raw("StatusNotification", payload).await.unwrap(), Reply::Result(p) if p == json!({}))
        );
    }
    let (_, point) = app
        .get(&format!("/api/cms/points/{}", site.point["id"]))
        .await;
    let connectors = point["connectors"].as_array().unwrap();
    assert_eq!(connectors[0]["status"], "Charging");
    assert_eq!(connectors[0]["error_code"], "NoError");
    assert_eq!(connectors[1]["status"], "Faulted");
    assert_eq!(connectors[1]["error_code"], "GroundFailure");
    let charger_status = app
        .scalar_text(
            "SELECT status FROM chargers WHERE charge_point_id = $1",
            &site.device_id,
        )
        .await;
    assert_eq!(charger_status.as_deref(), Some("Available"));
}

async fn boot_data_and_other_notifications_are_stored(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("100.00").await;
    let mut config = app.charger_config(&site.device_id);
    config.profile = evcms_sim::Profile::okaya();
    let mut cp = Charger::connect(config).await.unwrap();
    boot_accepted(&mut cp).await;
    let hb = cp.heartbeat().await.unwrap();
    assert!((Utc::now() - hb.current_time).num_seconds().abs() < 5);
    let vendor = app
        .scalar_text(
            "SELECT vendor FROM chargers WHERE charge_point_id = $1",
            &site.device_id,
        )
        .await;
    assert_eq!(vendor, Some(evcms_sim::Profile::okaya().vendor));
    let connected = app
        .scalar_text(
            "SELECT CAST(connected AS TEXT) FROM chargers WHERE charge_point_id = $1",
            &site.device_id,
        )
        .await;
    assert!(
        matches!(connected.as_deref(), Some("1" | "true")),
        "{connected:?}"
    );

    let reply = cp
        .call_raw(
            "DataTransfer",
            json!({"vendorId": "com.example", "messageId": "x", "data": "{}"}),
        )
        .await
        .unwrap();
    assert!(matches!(reply, Reply::Result(p) if p == json!({"status": "UnknownVendorId"})));
    cp.call_raw("FirmwareStatusNotification", json!({"status": "Installed"}))
        .await
        .unwrap();
    cp.call_raw(
        "DiagnosticsStatusNotification",
        json!({"status": "Uploaded"}),
    )
    .await
    .unwrap();
    let (_, charger) = app
        .get(&format!("/api/cms/chargers/{}", site.device_id))
        .await;
    assert_eq!(charger["firmware_status"], "Installed");
    assert_eq!(charger["diagnostics_status"], "Uploaded");
    assert_eq!(charger["vendor"], evcms_sim::Profile::okaya().vendor);
    assert_eq!(charger["registration_status"], "Accepted");
    assert_eq!(charger["charging_point_id"], site.point["id"]);
    let firmware = app
        .scalar_text(
            "SELECT firmware_status FROM chargers WHERE charge_point_id = $1",
            &site.device_id,
        )
        .await;
    assert_eq!(firmware.as_deref(), Some("Installed"));
    let diagnostics = app
        .scalar_text(
            "SELECT diagnostics_status FROM chargers WHERE charge_point_id = $1",
            &site.device_id,
        )
        .await;
    assert_eq!(diagnostics.as_deref(), Some("Uploaded"));
    // WebSocket pings are answered.
    assert_eq!(
        cp.ping(b"are you there".to_vec()).await.unwrap(),
        b"are you there"
    );

    cp.close().await.unwrap();
    assert!(recorded_disconnected(&app, &site.device_id).await);
}

async fn bad_frames_get_the_right_call_error_and_the_connection_stays_up(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("100.00").await;
    let mut cp = booted(&app, &site).await;
    let cases: &[(&str, &str, &str)] = &[
        ("this is not json", "-1", "FormationViolation"),
        (r#"{"not":"an array"}"#, "-1", "FormationViolation"),
        (r#"[2,"m1","Heartbeat"]"#, "m1", "ProtocolError"),
        (
            r#"[2,"m2","Heartbeat",{},"extra"]"#,
            "m2",
            "FormationViolation",
        ),
        (
            r#"[2,"m3","Heartbeat","payload"]"#,
            "m3",
            "FormationViolation",
        ),
        (r#"[2,"m4","MakeCoffee",{}]"#, "m4", "NotImplemented"),
        (r#"[2,"m5","Reset",{"type":"Hard"}]"#, "m5", "NotSupported"),
        (
            r#"[2,"m6","StartTransaction",{"connectorId":1,"idTag":"X","timestamp":"2026-01-01T00:00:00Z"}]"#,
            "m6",
            "OccurenceConstraintViolation",
        ),
        (
            r#"[2,"m7","StartTransaction",{"connectorId":1,"idTag":"X","meterStart":true,"timestamp":"2026-01-01T00:00:00Z"}]"#,
            "m7",
            "TypeConstraintViolation",
        ),
        (
            r#"[2,"m8","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Sleeping"}]"#,
            "m8",
            "PropertyConstraintViolation",
        ),
        (
            r#"[2,"m9","Authorize",{"idTag":"123456789012345678901"}]"#,
            "m9",
            "PropertyConstraintViolation",
        ),
        (
            r#"[2,"m10","StartTransaction",{"connectorId":-1,"idTag":"X","meterStart":0,"timestamp":"2026-01-01T00:00:00Z"}]"#,
            "m10",
            "PropertyConstraintViolation",
        ),
    ];
    for (frame, id, code) in cases {
        cp.send_text(frame).await.unwrap();
        match cp.next_frame(Duration::from_secs(10)).await.unwrap() {
            Incoming::Error {
                id: got_id,
                code: got_code,
                ..
            } => {
                assert_eq!(
                    (got_id.as_str(), got_code.as_str()),
                    (*id, *code),
                    "for {frame}"
                );
            }
            other => panic!("expected a CALLERROR for {frame}, got {other:?}"),
        }
    }
    // Unknown message types and replies to nothing are ignored, and the connection is still up.
    cp.send_text(r#"[7,"x",{}]"#).await.unwrap();
    cp.send_text(r#"[3,"never-sent",{}]"#).await.unwrap();
    cp.heartbeat().await.expect("still connected");
    assert!(
        cp.schema_violations().is_empty(),
        "{:?}",
        cp.schema_violations()
    );
}

async fn charger_quirks_are_accepted(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("100.00").await;
    let mut cp = booted(&app, &site).await;
    // Local time without an offset, meterStart as a float, connectorId as a string.
    let local = (Utc::now() - Span::minutes(30))
        .naive_utc()
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string();
    let reply = cp
        .call_raw("StartTransaction", json!({"connectorId": "1", "idTag": site.id_tag, "meterStart": 1234.0, "timestamp": local}))
        .await
        .unwrap();
    let Reply::Result(started) = reply else {
        panic!("refused: {reply:?}")
    };
    let tx = started["transactionId"].as_i64().unwrap() as i32;
    // meterStop as a string, a sampled value as a number.
    cp.call_raw("MeterValues", json!({"connectorId": 1, "transactionId": tx, "meterValue": [{"timestamp": local, "sampledValue": [{"value": 2234}]}]}))
        .await
        .unwrap();
    let reply = cp
        .call_raw(
            "StopTransaction",
            json!({"transactionId": tx, "meterStop": "3234", "timestamp": Utc::now().to_rfc3339()}),
        )
        .await
        .unwrap();
    assert!(matches!(reply, Reply::Result(_)), "{reply:?}");
    let session = app.session_of(tx).await;
    assert_eq!(session["meter_start_wh"], 1234);
    assert_eq!(session["energy_wh"], 2000);
    assert_eq!(session["start_time"].as_str().unwrap()[..19], local[..19]);
}

async fn a_new_connection_replaces_the_old_one(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("100.00").await;
    let mut first = booted(&app, &site).await;
    let mut second = app.charger(&site.device_id).await;
    assert_eq!(first.is_closed(Duration::from_secs(10)).await, Some(4000));
    // The old connection's clean-up must not mark the charger offline.
    second.heartbeat().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let connected = app
        .scalar_text(
            "SELECT CAST(connected AS TEXT) FROM chargers WHERE charge_point_id = $1",
            &site.device_id,
        )
        .await;
    assert!(
        matches!(connected.as_deref(), Some("1" | "true")),
        "{connected:?}"
    );
    assert!(app.ocpp_connected(&site.device_id));
}

/// A charger that vanishes without a close frame (its network dropped) is no error of ours: the
/// connection ends, its file is freed and the charger is recorded disconnected.
async fn a_charger_whose_network_drops_is_recorded_disconnected(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("100.00").await;
    let mut cp = booted(&app, &site).await;
    cp.heartbeat().await.unwrap();
    assert!(app.ocpp_connected(&site.device_id));
    drop(cp);
    assert!(
        recorded_disconnected(&app, &site.device_id).await,
        "the dropped charger is still listed connected"
    );
    // It comes back as if nothing happened.
    let mut cp = booted(&app, &site).await;
    cp.heartbeat().await.unwrap();
    assert!(app.ocpp_connected(&site.device_id));
}

async fn the_handshake_requires_the_ocpp_subprotocol_and_a_usable_id(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for offered in [vec![], vec!["ocpp2.0.1".to_owned()]] {
        let mut config = app.charger_config("CP-NOPROTO");
        config.subprotocols = offered.clone();
        match Charger::connect(config).await {
            Err(SimError::Handshake { status, .. }) => assert_eq!(status, Some(400), "{offered:?}"),
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("connected without ocpp1.6 ({offered:?})"),
        }
    }
    // Percent-encoded ids are decoded: "CP 1/A" arrives as itself.
    let id = format!("{} 1/A", common::unique("CP"));
    let mut cp = app.charger(&id).await;
    assert_eq!(cp.boot().await.unwrap().status, RegistrationStatus::Pending);
    let stored = app
        .scalar_text(
            "SELECT charge_point_id FROM chargers WHERE charge_point_id = $1",
            &id,
        )
        .await;
    assert_eq!(stored.as_deref(), Some(id.as_str()));
    let too_long = "X".repeat(300);
    match Charger::connect(app.charger_config(&too_long)).await {
        Err(SimError::Handshake { status, .. }) => assert_eq!(status, Some(404)),
        other => panic!("expected a 404, got {:?}", other.map(|_| ())),
    }
}

async fn an_oversized_frame_closes_the_connection_with_1009(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("100.00").await;
    let mut cp = booted(&app, &site).await;
    let huge = format!(
        r#"[2,"big","DataTransfer",{{"vendorId":"x","data":"{}"}}]"#,
        "a".repeat(70 * 1024)
    );
    cp.send_text(&huge).await.unwrap();
    assert_eq!(cp.is_closed(Duration::from_secs(10)).await, Some(1009));
}

async fn concurrent_sessions_on_many_chargers_are_each_billed_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let mut sites = Vec::new();
    for _ in 0..12 {
        sites.push(app.site("1000.00").await);
    }
    let app = std::sync::Arc::new(app);
    let mut runs = Vec::new();
    for (n, site) in sites.iter().enumerate() {
        let app = app.clone();
        let (device_id, id_tag) = (site.device_id.clone(), site.id_tag.clone());
        runs.push(tokio::spawn(async move {
            let mut cp = app.charger(&device_id).await;
            boot_accepted(&mut cp).await;
            let (tx, status) = start(&mut cp, 1, &id_tag, 10_000).await;
            assert_eq!(status, AuthorizationStatus::Accepted);
            for step in 1..=3 {
                cp.meter_values(
                    1,
                    Some(tx),
                    vec![Charger::sample(
                        minutes_ago(20 - step),
                        10_000 + step * 1000,
                        7000,
                    )],
                )
                .await
                .unwrap();
            }
            // Charger n delivers (n + 1) kWh.
            let stop = 10_000 + 1000 * (n as i32 + 1);
            cp.stop_transaction(tx, stop, minutes_ago(1), None, None)
                .await
                .unwrap();
            // And repeats its Stop, as a charger that lost the reply would.
            cp.stop_transaction(tx, stop, minutes_ago(1), None, None)
                .await
                .unwrap();
            tx
        }));
    }
    let mut transactions = Vec::new();
    for run in runs {
        transactions.push(run.await.expect("charger run"));
    }
    transactions.sort();
    transactions.dedup();
    assert_eq!(
        transactions.len(),
        sites.len(),
        "every session has its own transaction id"
    );
    for (n, site) in sites.iter().enumerate() {
        // 1 kWh costs 18.50 × 1.18 = 21.83 exactly.
        let paisa = 2183 * (n as i64 + 1);
        let expected = format!("{}.{:02}", paisa / 100, paisa % 100);
        let debits = app.debits(site).await;
        assert_eq!(debits.len(), 1, "site {n}");
        assert_eq!(money(&debits[0]["amount"]), expected, "site {n}");
    }
}

/// What `evcms-sim session --kwh 12` does, through the same library function the CLI calls.
async fn the_simulators_session_command_leaves_a_completed_billed_session(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("1000.00").await;
    let plan = evcms_sim::scenario::SessionPlan {
        energy_wh: 12_000,
        id_tag: site.id_tag.clone(),
        connector: 1,
        meter_start_wh: 1_234_567,
        meter_interval: Duration::ZERO,
        samples: 5,
        power_kw: None,
    };
    let mut log = Vec::new();
    let outcome = evcms_sim::scenario::play_session(
        app.charger_config(&site.device_id),
        &plan,
        &mut |line| log.push(line),
    )
    .await
    .expect("the session completes");
    assert_eq!(outcome.meter_stop_wh - outcome.meter_start_wh, 12_000);
    assert_eq!(log.last().map(String::as_str), Some("session done"));
    let session = app.session_of(outcome.transaction_id).await;
    assert_eq!(session["status"], "Completed");
    assert_eq!(session["energy_wh"], 12_000);
    // 12 kWh × 18.50 × 1.18 = 261.96.
    assert_eq!(money(&session["billed_amount"]), "261.96");
    let (_, customer) = app.get(&site.customer_path()).await;
    assert_eq!(money(&customer["wallet_balance"]), "738.04");
    let (_, point) = app
        .get(&format!("/api/cms/points/{}", site.point["id"]))
        .await;
    assert_eq!(point["connectors"][0]["status"], "Available");
    // Its meter values are listed with the session.
    app.ocpp_flush().await;
    let path = format!(
        "/api/cms/sessions/{}/meter-values?measurand=Energy.Active.Import.Register",
        session["session_id"].as_str().unwrap()
    );
    let (_, values) = app.get(&path).await;
    assert_eq!(values["pagination"]["total"], 5, "{values}");
}

async fn a_session_whose_stop_was_lost_is_settled_when_its_connector_starts_again(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("500.00").await;
    let mut cp = booted(&app, &site).await;
    let first = cp
        .start_transaction(1, &site.id_tag, 10_000, minutes_ago(90))
        .await
        .unwrap();
    // Its StopTransaction never arrives; the same tag starts again on the same connector.
    let second = cp
        .start_transaction(1, &site.id_tag, 13_000, minutes_ago(20))
        .await
        .unwrap();
    assert_eq!(
        second.id_tag_info.status,
        AuthorizationStatus::Accepted,
        "not ConcurrentTx"
    );
    let zombie = app.session_of(first.transaction_id).await;
    assert_eq!(zombie["status"], "Completed");
    assert_eq!(zombie["energy_wh"], 3000);
    assert_eq!(money(&zombie["billed_amount"]), "65.49");
    assert!(
        zombie["anomaly"]
            .as_str()
            .unwrap()
            .contains("without a StopTransaction")
    );
    assert_eq!(
        app.session_of(second.transaction_id).await["status"],
        "Active"
    );
    // The lost Stop arrives late: acknowledged, and nothing is billed twice.
    cp.stop_transaction(first.transaction_id, 12_900, minutes_ago(21), None, None)
        .await
        .unwrap();
    assert_eq!(app.debits(&site).await.len(), 1);
    let (_, customer) = app.get(&site.customer_path()).await;
    assert_eq!(money(&customer["wallet_balance"]), "434.51");
}

async fn another_organizations_chargers_and_meter_values_are_not_there(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // The site's station belongs to massive_mobility.
    let site = app.site("100.00").await;
    let mut cp = booted(&app, &site).await;
    let (tx, _) = start(&mut cp, 1, &site.id_tag, 0).await;
    cp.meter_values(
        1,
        Some(tx),
        vec![Charger::sample(minutes_ago(5), 500, 7000)],
    )
    .await
    .unwrap();
    app.ocpp_flush().await;
    let session_id = app.session_of(tx).await["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let charger = format!("/api/cms/chargers/{}", site.device_id);
    let values = format!("/api/cms/sessions/{session_id}/meter-values");

    let own = app.user("viewer", Some("massive_mobility")).await;
    let other = app.user("operator", Some("1c_ev_charging")).await;
    let get = reqwest::Method::GET;
    assert_eq!(
        app.call(get.clone(), &charger, Some(&own), None).await.0,
        200
    );
    let (status, page) = app.call(get.clone(), &values, Some(&own), None).await;
    assert_eq!(status, 200);
    assert!(page["pagination"]["total"].as_i64().unwrap() > 0);

    let (status, body) = app.call(get.clone(), &charger, Some(&other), None).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        app.call(get.clone(), &values, Some(&other), None).await.0,
        404
    );
    let (_, list) = app
        .call(get.clone(), "/api/cms/chargers", Some(&other), None)
        .await;
    assert_eq!(list["pagination"]["total"], 0, "{list}");
    // Unadopted chargers belong to no organization: only unbound users see them.
    let stray = common::unique("STRAY");
    app.charger(&stray).await.boot().await.unwrap();
    let stray_path = format!("/api/cms/chargers/{stray}");
    assert_eq!(
        app.call(get.clone(), &stray_path, Some(&own), None).await.0,
        404
    );
    assert_eq!(app.get(&stray_path).await.0, 200);
}

async fn odd_payloads_from_real_chargers_are_still_answered_and_stored(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("100.00").await;
    let mut cp = app.charger(&site.device_id).await;
    // No SIM (empty iccid/imsi) and a firmware string longer than the schema's 50 characters.
    let long_firmware = "F".repeat(60);
    let boot = cp
        .call_raw(
            "BootNotification",
            json!({"chargePointVendor": "EVRE", "chargePointModel": "AC7",
            "iccid": "", "imsi": "", "firmwareVersion": long_firmware}),
        )
        .await
        .unwrap();
    let Reply::Result(boot) = boot else {
        panic!("refused: {boot:?}")
    };
    assert_eq!(boot["status"], "Accepted");
    let (_, charger) = app
        .get(&format!("/api/cms/chargers/{}", site.device_id))
        .await;
    assert_eq!(charger["firmware_version"].as_str().unwrap().len(), 50);
    assert_eq!(charger["iccid"], Value::Null);

    // A status dated hours ahead (local time read as UTC), with empty info fields: applied, and a
    // correct later one still overwrites it.
    let ahead = (Utc::now() + Span::hours(5)).to_rfc3339();
    let reply = cp
        .call_raw(
            "StatusNotification",
            json!({"connectorId": 1, "status": "Charging", "errorCode": "NoError",
            "info": "", "vendorErrorCode": "", "timestamp": ahead}),
        )
        .await
        .unwrap();
    assert!(matches!(reply, Reply::Result(_)), "{reply:?}");
    cp.status(
        1,
        ChargePointStatus::Finishing,
        ChargePointErrorCode::NoError,
    )
    .await
    .unwrap();
    let (_, point) = app
        .get(&format!("/api/cms/points/{}", site.point["id"]))
        .await;
    assert_eq!(point["connectors"][0]["status"], "Finishing");

    // One sample in an unknown unit and one absurd value among good ones: the good ones count.
    let (tx, _) = start(&mut cp, 1, &site.id_tag, 1_000).await;
    let reply = cp
        .call_raw(
            "MeterValues",
            json!({"connectorId": 1, "transactionId": tx, "meterValue": [{
            "timestamp": minutes_ago(10).to_rfc3339(),
            "sampledValue": [
                {"value": "1.5", "unit": "kwh"},
                {"value": "1e16", "measurand": "Voltage", "unit": "V"},
                {"value": "", "measurand": "Current.Import", "unit": "A"},
                {"value": "1500", "unit": "Wh"}
            ]}]}),
        )
        .await
        .unwrap();
    assert!(matches!(reply, Reply::Result(_)), "{reply:?}");
    let path = format!(
        "/api/cms/sessions/{}",
        app.session_of(tx).await["session_id"].as_str().unwrap()
    );
    app.eventually(&path, |s| s["energy_wh"] == 500).await;

    // A Stop with an empty idTag and transactionData holding a bad sample: settled all the same.
    let reply = cp
        .call_raw(
            "StopTransaction",
            json!({"transactionId": tx, "meterStop": 2_000, "idTag": "",
            "timestamp": Utc::now().to_rfc3339(), "reason": "Local",
            "transactionData": [{"timestamp": Utc::now().to_rfc3339(), "sampledValue": [
                {"value": "2000", "unit": "Wh", "context": "Transaction.End"},
                {"value": "7", "unit": "lightyears"}
            ]}]}),
        )
        .await
        .unwrap();
    let Reply::Result(stop) = reply else {
        panic!("refused: {reply:?}")
    };
    assert_eq!(stop, json!({}), "no idTag, no idTagInfo");
    let session = app.session_of(tx).await;
    assert_eq!(session["status"], "Completed");
    assert_eq!(session["energy_wh"], 1000);
    let end = app
        .texts("SELECT CAST(connector_number AS TEXT) FROM meter_values WHERE charge_point_id = $1 AND context = 'Transaction.End'", &site.device_id)
        .await;
    assert_eq!(end, ["1"], "stored against the session's connector");
    assert!(cp.schema_violations().is_empty());
}

async fn a_charger_adopted_while_connected_is_recognised_without_a_new_boot(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let id = common::unique("LATE");
    let mut cp = app.charger(&id).await;
    assert_eq!(cp.boot().await.unwrap().status, RegistrationStatus::Pending);
    let station = app.station(json!({})).await;
    let point = app
        .point(
            station["station_id"].as_str().unwrap(),
            json!({"device_id": id}),
        )
        .await;
    cp.status(
        1,
        ChargePointStatus::Available,
        ChargePointErrorCode::NoError,
    )
    .await
    .unwrap();
    let (_, point) = app.get(&format!("/api/cms/points/{}", point["id"])).await;
    assert_eq!(point["connectors"][0]["status"], "Available");
}

/// Every charger connection, boot, Start and Stop finds its point by device_id: on SQLite that
/// must be an index search, not a scan of every point (SQLite uses a partial index only when the
/// query repeats its condition as written).
#[tokio::test]
async fn sqlite_finds_live_rows_by_their_unique_keys_through_indexes() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite");
    for sql in [
        "EXPLAIN QUERY PLAN SELECT id FROM charging_points WHERE device_id = $1 AND deleted = FALSE",
        "EXPLAIN QUERY PLAN UPDATE charging_points SET updated_at = updated_at WHERE device_id = $1 AND deleted = FALSE RETURNING id",
        "EXPLAIN QUERY PLAN SELECT id FROM tariffs WHERE tariff_id = $1 AND deleted = FALSE",
        "EXPLAIN QUERY PLAN SELECT id FROM customers WHERE phone = $1 AND deleted = FALSE",
        "EXPLAIN QUERY PLAN SELECT id FROM users WHERE email = $1 AND deleted = FALSE",
    ] {
        let plan: Vec<String> = evcms::on_read!(&app.db, pool => {
            let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(sql).bind("x").fetch_all(pool).await.unwrap();
            Ok::<_, sqlx::Error>(rows.into_iter().map(|r| r.3).collect())
        })
        .unwrap();
        assert!(
            plan.iter().all(|step| !step.starts_with("SCAN")),
            "{sql}: {plan:?}"
        );
        assert!(
            plan.iter().any(|step| step.contains("INDEX")),
            "{sql}: {plan:?}"
        );
    }
}

async fn a_stop_with_transaction_id_minus_one_settles_the_tags_open_session(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("100.00").await;
    let mut cp = booted(&app, &site).await;
    // The Start was recorded, but its reply never reached the charger.
    let (tx, _) = start(&mut cp, 1, &site.id_tag, 40_000).await;
    let stop = cp
        .stop_transaction(
            -1,
            42_000,
            minutes_ago(1),
            None,
            Some(&site.id_tag.to_lowercase()),
        )
        .await
        .unwrap();
    assert_eq!(
        stop.id_tag_info.unwrap().status,
        AuthorizationStatus::Accepted
    );
    let session = app.session_of(tx).await;
    assert_eq!(session["status"], "Completed");
    assert_eq!(session["energy_wh"], 2000);
    assert_eq!(money(&session["billed_amount"]), "43.66");
    assert!(
        session["anomaly"]
            .as_str()
            .unwrap()
            .contains("without its transaction id")
    );
    assert_eq!(app.debits(&site).await.len(), 1);
    // Without an idTag, or with another tag, -1 settles nothing.
    let (other_tx, _) = start(&mut cp, 2, &site.id_tag, 50_000).await;
    cp.stop_transaction(-1, 51_000, Utc::now(), None, None)
        .await
        .unwrap();
    cp.stop_transaction(-1, 51_000, Utc::now(), None, Some("SOMEONE-ELSE"))
        .await
        .unwrap();
    assert_eq!(app.session_of(other_tx).await["status"], "Active");
}
