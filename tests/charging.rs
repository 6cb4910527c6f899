//! The charging domain through its doors: an operator settles a stuck session and corrects a bill
//! over REST; a session whose Stop never came is closed provisionally (connector Available, charger
//! rebooted) or flagged (no meter values); a Stop arriving after a provisional close bills only the
//! difference, once. Real server, real database (both), the strict simulator as the charger.

mod common;

use std::time::Duration;

use chrono::Utc;
use common::ocpp::{Site, anomaly, assert_ledger_consistent, balance, minutes_ago, money};
use common::{Backend, TestApp};
use evcms_sim::Charger;
use evcms_sim::ocpp::types::{ChargePointErrorCode, ChargePointStatus, Reason};
use serde_json::{Value, json};

both_databases!(
    an_operator_settles_a_stuck_session_once_and_a_late_stop_bills_the_difference,
    operator_actions_need_an_operator_of_the_sessions_organization_and_valid_input,
    a_session_left_open_after_its_connector_went_available_is_closed_provisionally,
    a_session_left_open_after_its_charger_rebooted_is_closed_provisionally,
    a_late_stop_below_the_provisional_end_bills_nothing_more,
    a_session_without_meter_values_is_flagged_but_stays_open,
    a_bill_is_corrected_by_ledger_entries_that_reference_the_session,
);

/// evcms with the session rules shortened so a test sees them act.
async fn spawn_with_rules(backend: Backend, grace_s: u64, silence_s: u64) -> Option<TestApp> {
    let (mut config, db) = TestApp::config(backend).await?;
    config.session_close_grace = grace_s;
    config.session_meter_silence = silence_s;
    Some(TestApp::spawn_with(config, db, reqwest::Client::builder).await)
}

/// A booted charger of `site` with a transaction on connector 1 from `meter_start` Wh and one
/// meter value at `register` Wh; returns the charger, the transaction id and the session id.
async fn charging(
    app: &TestApp,
    site: &Site,
    meter_start: i32,
    register: i64,
) -> (Charger, i32, String) {
    let mut cp = app.charger(&site.device_id).await;
    cp.boot().await.unwrap();
    let started = cp
        .start_transaction(1, &site.id_tag, meter_start, minutes_ago(30))
        .await
        .unwrap();
    let tx = started.transaction_id;
    cp.meter_values(
        1,
        Some(tx),
        vec![Charger::sample(minutes_ago(10), register, 7000)],
    )
    .await
    .unwrap();
    app.ocpp_flush().await;
    let session_id = app.session_of(tx).await["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    (cp, tx, session_id)
}

/// Waits until session `transaction_id` satisfies `check`, or fails after 15 s.
async fn session_until(
    app: &TestApp,
    transaction_id: i32,
    check: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..300 {
        let session = app.session_of(transaction_id).await;
        if check(&session) {
            return session;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "session never reached the expected state: {}",
        app.session_of(transaction_id).await
    );
}

/// A session with 5 kWh by its last meter value whose connector then reported Available and whose
/// Stop was lost, waited for until the sweep closes it; returns the charger, transaction id,
/// session id and the closed session.
async fn closed_after_available(app: &TestApp, site: &Site) -> (Charger, i32, String, Value) {
    let (mut cp, tx, session_id) = charging(app, site, 0, 5_000).await;
    cp.status(
        1,
        ChargePointStatus::Available,
        ChargePointErrorCode::NoError,
    )
    .await
    .unwrap();
    let session = session_until(app, tx, |s| s["status"] != "Active").await;
    (cp, tx, session_id, session)
}

async fn an_operator_settles_a_stuck_session_once_and_a_late_stop_bills_the_difference(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("500.00").await;
    // 10 kWh delivered by the last meter value, then the charger goes away for good.
    let (cp, tx, session_id) = charging(&app, &site, 1_000, 11_000).await;
    cp.close().await.unwrap();
    let operator = app.user("operator", None).await;
    let path = format!("/api/cms/sessions/{session_id}/stop");
    let (status, session) = app
        .call(
            reqwest::Method::POST,
            &path,
            Some(&operator),
            Some(&json!({"reason": "charger lost its modem"})),
        )
        .await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["status"], "Completed");
    assert_eq!(session["settled_by"], "operator");
    assert_eq!(session["settle_note"], "charger lost its modem");
    assert!(session["settled_by_user_id"].as_i64().is_some());
    assert!(session["settled_at"].is_string());
    assert_eq!(session["meter_stop_wh"], 11_000);
    assert_eq!(session["energy_wh"], 10_000);
    // 10 kWh × 18.50 × 1.18 = 218.30.
    assert_eq!(money(&session["billed_amount"]), "218.30");
    assert!(anomaly(&session).contains("settled by an operator"));
    assert_eq!(balance(&app, &site).await, "281.70");
    // Settling again is refused; nothing more is billed.
    let (status, body) = app
        .call(
            reqwest::Method::POST,
            &path,
            Some(&operator),
            Some(&json!({"reason": "again"})),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "session_not_active");
    assert_eq!(app.debits(&site).await.len(), 1);

    // The charger comes back with its queued Stop: 12 kWh in all. Only the difference is billed:
    // 12 kWh → 261.96 in all, 43.66 more.
    let mut cp = app.charger(&site.device_id).await;
    cp.boot().await.unwrap();
    let stop = cp
        .stop_transaction(tx, 13_000, minutes_ago(5), Some(Reason::Local), None)
        .await
        .unwrap();
    assert!(stop.id_tag_info.is_none());
    let session = app.session_of(tx).await;
    assert_eq!(session["settled_by"], "charger");
    assert_eq!(session["meter_stop_wh"], 13_000);
    assert_eq!(session["energy_wh"], 12_000);
    assert_eq!(money(&session["billed_amount"]), "261.96");
    assert!(anomaly(&session).contains("after the provisional close"));
    let debits = app.debits(&site).await;
    assert_eq!(debits.len(), 2, "{debits:?}");
    assert_eq!(money(&debits[1]["amount"]), "43.66");
    assert_eq!(
        debits[1]["reference_id"],
        json!(format!("{session_id}:final"))
    );
    // The same Stop again, and a higher one: nothing more.
    for meter in [13_000, 20_000] {
        cp.stop_transaction(tx, meter, minutes_ago(5), Some(Reason::Local), None)
            .await
            .unwrap();
    }
    assert_eq!(app.debits(&site).await.len(), 2);
    assert_eq!(balance(&app, &site).await, "238.04");
    assert_ledger_consistent(&app, &site).await;
}

async fn operator_actions_need_an_operator_of_the_sessions_organization_and_valid_input(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // The site's station belongs to massive_mobility.
    let site = app.site("500.00").await;
    let (_cp, tx, session_id) = charging(&app, &site, 1_000, 3_000).await;
    let stop = format!("/api/cms/sessions/{session_id}/stop");
    let corrections = format!("/api/cms/sessions/{session_id}/corrections");
    let post = reqwest::Method::POST;
    let body = json!({"reason": "stuck"});

    let viewer = app.user("viewer", Some("massive_mobility")).await;
    let (status, _) = app
        .call(post.clone(), &stop, Some(&viewer), Some(&body))
        .await;
    assert_eq!(status, 403);
    let other = app.user("operator", Some("1c_ev_charging")).await;
    let (status, _) = app
        .call(post.clone(), &stop, Some(&other), Some(&body))
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .call(
            post.clone(),
            &corrections,
            Some(&other),
            Some(&json!({"kind": "Refund", "amount": 1, "reason": "x"})),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        app.call(reqwest::Method::GET, &corrections, Some(&other), None)
            .await
            .0,
        404
    );
    let (status, _) = app
        .call(
            post.clone(),
            "/api/cms/sessions/no-such-session/stop",
            None,
            Some(&body),
        )
        .await;
    assert_eq!(status, 401);
    let (status, _) = app
        .post("/api/cms/sessions/no-such-session/stop", &body)
        .await;
    assert_eq!(status, 404);

    // Bad input names its fields; nothing is settled.
    let (status, err) = app.post(&stop, &json!({"meter_stop_wh": 2_999})).await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(common::problem_fields(&err), vec!["reason"]);
    let (status, err) = app
        .post(&stop, &json!({"reason": "x", "meter_stop_wh": 2_999}))
        .await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(common::problem_fields(&err), vec!["meter_stop_wh"]);
    let (status, err) = app
        .post(&stop, &json!({"reason": "x", "meter_stop_wh": "lots"}))
        .await;
    assert!(status == 422 || status == 400, "{status} {err}");
    let (status, err) = app
        .post(&stop, &json!({"reason": "x", "colour": "red"}))
        .await;
    assert!(status == 422 || status == 400, "{status} {err}");
    // A correction of an Active session is refused.
    let (status, err) = app
        .post(
            &corrections,
            &json!({"kind": "Refund", "amount": 1, "reason": "x"}),
        )
        .await;
    assert_eq!(status, 409, "{err}");
    assert_eq!(err["error"]["code"], "session_not_billed");
    assert_eq!(app.session_of(tx).await["status"], "Active");
    assert!(app.debits(&site).await.is_empty());

    // The session's own organization's operator settles it with a final reading.
    let own = app.user("operator", Some("massive_mobility")).await;
    let (status, session) = app
        .call(
            post,
            &stop,
            Some(&own),
            Some(&json!({"reason": "display read", "meter_stop_wh": 4_000})),
        )
        .await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["energy_wh"], 3_000);
    assert_eq!(app.debits(&site).await.len(), 1);
}

async fn a_session_left_open_after_its_connector_went_available_is_closed_provisionally(
    backend: Backend,
) {
    let Some(app) = spawn_with_rules(backend, 1, 0).await else {
        return;
    };
    let site = app.site("500.00").await;
    let (mut cp, tx, session_id, session) = closed_after_available(&app, &site).await;
    assert_eq!(session["status"], "Completed");
    assert_eq!(session["settled_by"], "connector_available");
    assert_eq!(session["meter_stop_wh"], 5_000);
    // 5 kWh × 18.50 × 1.18 = 109.15.
    assert_eq!(money(&session["billed_amount"]), "109.15");
    assert!(anomaly(&session).contains("closed provisionally"));
    // The tag is free again.
    let auth = cp.authorize(&site.id_tag).await.unwrap();
    assert_eq!(
        auth.id_tag_info.status,
        evcms_sim::ocpp::types::AuthorizationStatus::Accepted
    );
    // The Stop arrives late with 6 kWh: 130.98 in all, 21.83 more, once.
    cp.stop_transaction(
        tx,
        6_000,
        minutes_ago(1),
        Some(Reason::EVDisconnected),
        None,
    )
    .await
    .unwrap();
    cp.stop_transaction(
        tx,
        6_000,
        minutes_ago(1),
        Some(Reason::EVDisconnected),
        None,
    )
    .await
    .unwrap();
    let session = app.session_of(tx).await;
    assert_eq!(session["settled_by"], "charger");
    assert_eq!(session["stop_reason"], "EVDisconnected");
    assert_eq!(money(&session["billed_amount"]), "130.98");
    let debits = app.debits(&site).await;
    assert_eq!(debits.len(), 2);
    assert_eq!(debits[0]["reference_id"], json!(session_id));
    assert_eq!(money(&debits[1]["amount"]), "21.83");
    assert_eq!(balance(&app, &site).await, "369.02");
    assert_ledger_consistent(&app, &site).await;
}

async fn a_session_left_open_after_its_charger_rebooted_is_closed_provisionally(backend: Backend) {
    let Some(app) = spawn_with_rules(backend, 1, 0).await else {
        return;
    };
    let site = app.site("500.00").await;
    let (mut cp, tx, _) = charging(&app, &site, 0, 2_000).await;
    // A second session whose charger keeps sending meter values after the reboot stays open.
    let other = app.site("500.00").await;
    let (mut busy, busy_tx, _) = charging(&app, &other, 0, 1_000).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    cp.boot().await.unwrap();
    busy.boot().await.unwrap();
    busy.meter_values(
        1,
        Some(busy_tx),
        vec![Charger::sample(Utc::now(), 1_500, 7000)],
    )
    .await
    .unwrap();
    app.ocpp_flush().await;
    let session = session_until(&app, tx, |s| s["status"] != "Active").await;
    assert_eq!(session["settled_by"], "charger_reboot");
    assert_eq!(session["stop_reason"], "Reboot");
    assert_eq!(session["energy_wh"], 2_000);
    assert_eq!(app.debits(&site).await.len(), 1);
    // Well past the grace period, the session that kept reporting is still running.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(app.session_of(busy_tx).await["status"], "Active");
    assert!(app.debits(&other).await.is_empty());
}

async fn a_late_stop_below_the_provisional_end_bills_nothing_more(backend: Backend) {
    let Some(app) = spawn_with_rules(backend, 1, 0).await else {
        return;
    };
    let site = app.site("500.00").await;
    let (mut cp, tx, _, _) = closed_after_available(&app, &site).await;
    cp.stop_transaction(tx, 4_000, minutes_ago(1), None, None)
        .await
        .unwrap();
    let session = app.session_of(tx).await;
    assert_eq!(session["settled_by"], "charger");
    assert_eq!(session["meter_stop_wh"], 5_000);
    assert_eq!(money(&session["billed_amount"]), "109.15");
    assert!(anomaly(&session).contains("nothing more billed"));
    assert_eq!(app.debits(&site).await.len(), 1);
    assert_ledger_consistent(&app, &site).await;
}

async fn a_session_without_meter_values_is_flagged_but_stays_open(backend: Backend) {
    let Some(app) = spawn_with_rules(backend, 0, 1).await else {
        return;
    };
    let site = app.site("500.00").await;
    let mut cp = app.charger(&site.device_id).await;
    cp.boot().await.unwrap();
    let started = cp
        .start_transaction(1, &site.id_tag, 0, Utc::now())
        .await
        .unwrap();
    let session = session_until(&app, started.transaction_id, |s| {
        s["anomaly"]
            .as_str()
            .is_some_and(|a| a.contains("no meter value for over 1 s"))
    })
    .await;
    assert_eq!(session["status"], "Active");
    // Flagged once, not again every sweep.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let anomaly = app.session_of(started.transaction_id).await["anomaly"].clone();
    assert_eq!(
        anomaly.as_str().unwrap().matches("no meter value").count(),
        1
    );
    // It is still billed normally.
    cp.stop_transaction(started.transaction_id, 1_000, Utc::now(), None, None)
        .await
        .unwrap();
    assert_eq!(
        money(&app.session_of(started.transaction_id).await["billed_amount"]),
        "21.83"
    );
}

async fn a_bill_is_corrected_by_ledger_entries_that_reference_the_session(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("300.00").await;
    let (mut cp, tx, session_id) = charging(&app, &site, 0, 12_000).await;
    cp.stop_transaction(tx, 12_000, minutes_ago(1), None, None)
        .await
        .unwrap();
    // Billed 261.96; balance 38.04.
    let path = format!("/api/cms/sessions/{session_id}/corrections");
    let (status, refund) = app
        .post(
            &path,
            &json!({"kind": "Refund", "amount": 61.96, "reason": "connector fault"}),
        )
        .await;
    assert_eq!(status, 201, "{refund}");
    assert_eq!(refund["kind"], "Refund");
    assert_eq!(money(&refund["amount"]), "61.96");
    assert_eq!(money(&refund["balance_after"]), "100.00");
    assert_eq!(refund["session_id"], json!(session_id));
    assert!(refund["created_by"].as_i64().is_some());
    // More than what is left of the bill (200.00) is refused and changes nothing.
    let (status, err) = app
        .post(
            &path,
            &json!({"kind": "Refund", "amount": 200.01, "reason": "too much"}),
        )
        .await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(common::problem_fields(&err), vec!["amount"]);
    // A charge may not overdraw the wallet.
    let (status, err) = app
        .post(
            &path,
            &json!({"kind": "Charge", "amount": 100.01, "reason": "parking"}),
        )
        .await;
    assert_eq!(status, 409, "{err}");
    assert_eq!(err["error"]["code"], "insufficient_balance");
    let (status, charge) = app
        .post(
            &path,
            &json!({"kind": "Charge", "amount": 10, "reason": "parking"}),
        )
        .await;
    assert_eq!(status, 201, "{charge}");
    assert_eq!(money(&charge["balance_after"]), "90.00");
    // The refund bound grows with the charge: 210.00 left.
    let (status, _) = app
        .post(
            &path,
            &json!({"kind": "Refund", "amount": 210, "reason": "goodwill"}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, err) = app
        .post(
            &path,
            &json!({"kind": "Refund", "amount": 0.01, "reason": "more"}),
        )
        .await;
    assert_eq!(status, 422, "{err}");
    let (status, err) = app
        .post(&path, &json!({"kind": "Gift", "amount": -1}))
        .await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(
        common::problem_fields(&err),
        vec!["kind", "amount", "reason"]
    );

    let (status, list) = app.get(&path).await;
    assert_eq!(status, 200);
    let kinds: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["Refund", "Charge", "Refund"]);
    // The original debit is untouched; each correction is its own ledger entry naming the session.
    let ledger = app.ledger(&site).await;
    let debit = ledger
        .iter()
        .find(|r| r["reference_id"] == json!(session_id))
        .unwrap();
    assert_eq!(money(&debit["amount"]), "261.96");
    let corrections: Vec<&Value> = ledger
        .iter()
        .filter(|r| {
            r["reference_id"]
                .as_str()
                .is_some_and(|r| r.starts_with(&format!("{session_id}:correction:")))
        })
        .collect();
    assert_eq!(corrections.len(), 3);
    assert_eq!(money(&app.session_of(tx).await["billed_amount"]), "261.96");
    assert_eq!(balance(&app, &site).await, "300.00");
    assert_ledger_consistent(&app, &site).await;
}
