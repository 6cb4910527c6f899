//! The live event stream (`GET /api/cms/events`) end to end: a strict simulated station connects,
//! boots, reports its connectors, is told to start and stop a charge, and every step reaches the
//! subscribers of its organization as server-sent events, read here as the admin UI reads them (a
//! streamed response body with the bearer header). Both databases.

mod common;

use std::time::Duration;

use common::ocpp::Site;
use common::sse::{Sse, Subscriber, WAIT};
use common::{Backend, TestApp};
use evcms::events::Fact;
use evcms::events::facts::ChargerConnection;
use evcms_sim::station::{Station, StationOptions};
use reqwest::StatusCode;
use serde_json::{Value, json};

both_databases!(
    a_stations_life_is_streamed_to_its_organization_only,
    last_event_id_resumes_or_asks_for_a_resync,
    a_subscriber_that_falls_behind_is_told_to_resync,
    the_stream_needs_a_token_and_any_role_may_read_it,
);

async fn start_station(app: &TestApp, site: &Site) -> Station {
    let options = StationOptions {
        meter_interval: Duration::from_millis(300),
        ..Default::default()
    };
    Station::start(app.charger_config(&site.device_id), options)
        .await
        .unwrap_or_else(|e| panic!("the station could not start: {e}"))
}

fn is_rfc3339(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok())
}

async fn a_stations_life_is_streamed_to_its_organization_only(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("500").await;
    let cp = site.device_id.clone();
    let point_id = site.point["id"].as_i64().unwrap();
    let customer_id = site.customer["id"].as_i64().unwrap();
    let mut admin = Subscriber::open(&app, &app.token, None).await;
    let colleague = app.user("viewer", Some("massive_mobility")).await;
    let mut colleague = Subscriber::open(&app, &colleague, None).await;
    let stranger = app.user("viewer", Some("1c_ev_charging")).await;
    let mut stranger = Subscriber::open(&app, &stranger, None).await;

    let station = start_station(&app, &site).await;
    let connected = admin.about("charger.connected", &cp).await;
    assert!(is_rfc3339(&connected.data["at"]), "{connected:?}");
    let booted = admin.about("charger.booted", &cp).await;
    assert_eq!(booted.data["registration_status"], "Accepted");
    assert!(booted.data["vendor"].is_string() && booted.data["model"].is_string());
    assert_eq!(booted.data["point_id"], point_id);
    let status = admin
        .until("connector 1 Available", |e| {
            e.event == "connector.status"
                && e.data["connector_number"] == 1
                && e.data["status"] == "Available"
        })
        .await;
    assert_eq!(status.data["point_id"], point_id);
    assert_eq!(status.data["error_code"], "NoError");
    assert!(
        connected.id < booted.id && booted.id < status.id,
        "ids grow"
    );

    // An operator starts a charge: the command's answer, the session, its progress.
    let (code, record) = app
        .post(
            &format!("/api/cms/chargers/{cp}/commands/RemoteStartTransaction"),
            &json!({"connectorId": 1, "idTag": site.id_tag}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{record}");
    // The charger's StartTransaction may come before the command's answer is recorded.
    let answered = admin.seen_or_next("command.answered", &cp).await;
    assert_eq!(answered.data["id"], record["id"]);
    assert_eq!(answered.data["action"], "RemoteStartTransaction");
    assert_eq!(answered.data["status"], "Answered");
    assert_eq!(answered.data["response_status"], "Accepted");
    let started = admin.seen_or_next("session.started", &cp).await;
    let session_id = started.data["session_id"].as_str().unwrap().to_owned();
    assert_eq!(started.data["point_id"], point_id);
    assert_eq!(started.data["connector_number"], 1);
    assert_eq!(started.data["customer_id"], customer_id);
    assert_eq!(started.data["id_tag"], site.id_tag.as_str());
    assert_eq!(started.data["status"], "Active");
    let (code, session) = app.get(&format!("/api/cms/sessions/{session_id}")).await;
    assert_eq!(
        code,
        StatusCode::OK,
        "the event names the session as the API does"
    );
    assert_eq!(session["id"], started.data["id"]);
    admin
        .seen_or_until("connector 1 Charging", |e| {
            e.event == "connector.status" && e.data["status"] == "Charging"
        })
        .await;
    let updated = admin
        .seen_or_until("an update with energy", |e| {
            e.event == "session.updated" && e.data["energy_wh"].as_i64().unwrap_or(0) > 0
        })
        .await;
    assert_eq!(updated.data["session_id"], session_id.as_str());
    assert_eq!(updated.data["charge_point_id"], cp.as_str());
    assert!(
        updated.data["running_cost"].as_f64().unwrap() > 0.0,
        "{updated:?}"
    );
    assert!(updated.data["power_w"].as_i64().unwrap() > 0, "{updated:?}");
    // Meter values come every 300 ms; the updates of one session at most every 5 s.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let (code, record) = app
        .post(
            &format!("/api/cms/chargers/{cp}/commands/RemoteStopTransaction"),
            &json!({"sessionId": session_id}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{record}");
    let stopped = admin.about("session.stopped", &cp).await;
    let updates: Vec<std::time::Instant> = admin
        .seen
        .iter()
        .zip(&admin.arrivals)
        .filter(|(e, _)| e.event == "session.updated")
        .map(|(_, at)| *at)
        .collect();
    for pair in updates.windows(2) {
        assert!(
            pair[1] - pair[0] > Duration::from_millis(4500),
            "at most one update every 5 s: {:#?}",
            admin.seen
        );
    }
    let (_, session) = app.get(&format!("/api/cms/sessions/{session_id}")).await;
    assert_eq!(session["status"], "Completed");
    assert_eq!(stopped.data["session_id"], session_id.as_str());
    assert_eq!(stopped.data["status"], "Completed");
    assert_eq!(stopped.data["stop_reason"], "Remote");
    assert_eq!(stopped.data["energy_wh"], session["energy_wh"]);
    assert_eq!(stopped.data["billed_amount"], session["billed_amount"]);
    assert!(stopped.data["billed_amount"].as_f64().unwrap() > 0.0);
    assert_eq!(stopped.data["customer_id"], customer_id);
    assert_eq!(stopped.data["settled_by"], "charger");
    assert_eq!(
        app.debits(&site).await[0]["amount"],
        stopped.data["billed_amount"]
    );

    // A user of the station's organization sees the same.
    let seen = colleague.about("session.stopped", &cp).await;
    assert_eq!(seen.id, stopped.id);
    assert_eq!(seen.data, stopped.data);

    // A charger no point has adopted is for users of no organization only.
    let stray = common::unique("STRAY");
    let _stray = app.charger(&stray).await;
    admin.about("charger.connected", &stray).await;

    // The stranger's organization gets a charger too: its events come after all of the above,
    // and are the first and only ones the stranger sees.
    let other = app.station(json!({"organization": "1c_ev_charging"})).await;
    let theirs = common::unique("CP");
    app.point(
        other["station_id"].as_str().unwrap(),
        json!({"device_id": theirs}),
    )
    .await;
    let _theirs = app.charger(&theirs).await;
    let first = stranger
        .next_within(WAIT)
        .await
        .expect("the stranger's own charger");
    assert_eq!(
        (first.event.as_str(), &first.data["charge_point_id"]),
        ("charger.connected", &json!(theirs))
    );
    admin.about("charger.connected", &theirs).await;

    // The station leaves: the last event, after the stray's and the stranger's, which the
    // colleague never saw.
    station.shutdown().await;
    admin.about("charger.disconnected", &cp).await;
    colleague.about("charger.disconnected", &cp).await;
    let leaked: Vec<&Sse> = colleague
        .seen
        .iter()
        .filter(|e| e.data["charge_point_id"] != cp.as_str())
        .collect();
    assert!(leaked.is_empty(), "other chargers' events: {leaked:#?}");
}

async fn last_event_id_resumes_or_asks_for_a_resync(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let mut first = Subscriber::open(&app, &app.token, None).await;
    let (a, b) = (common::unique("CP"), common::unique("CP"));
    let _a = app.charger(&a).await;
    let event_a = first.about("charger.connected", &a).await;
    let _b = app.charger(&b).await;
    let event_b = first.about("charger.connected", &b).await;

    // Reconnecting after A gets B first, then what comes next.
    let after_a = event_a.id.unwrap().to_string();
    let mut resumed = Subscriber::open(&app, &app.token, Some(&after_a)).await;
    let missed = resumed.next_within(WAIT).await.expect("the event missed");
    assert_eq!((missed.id, missed.data), (event_b.id, event_b.data));
    let c = common::unique("CP");
    let _c = app.charger(&c).await;
    let next = resumed.next_within(WAIT).await.expect("the next event");
    assert_eq!(next.data["charge_point_id"], c.as_str());

    // An id that is no longer kept (or never was) asks for a resync first.
    for stale in ["1", "99999999999999999"] {
        let mut late = Subscriber::open(&app, &app.token, Some(stale)).await;
        let resync = late.next_within(WAIT).await.expect("a resync");
        assert_eq!(resync.event, "resync");
        assert_eq!(resync.id, None);
        assert_eq!(resync.data, json!({"reason": "resume"}));
    }

    // With nobody listening nothing is kept: a resume across that gap asks for a resync too.
    let last = next.id.unwrap().to_string();
    drop((first, resumed));
    let d = common::unique("CP");
    let _d = app.charger(&d).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut back = Subscriber::open(&app, &app.token, Some(&last)).await;
    let resync = back.next_within(WAIT).await.expect("a resync");
    assert_eq!(resync.data, json!({"reason": "resume"}));
}

async fn a_subscriber_that_falls_behind_is_told_to_resync(backend: Backend) {
    let Some((mut config, db)) = TestApp::config(backend).await else {
        return;
    };
    config.events_buffer = 4;
    let app = TestApp::spawn_with(config, db, reqwest::Client::builder).await;
    let mut subscriber = Subscriber::open(&app, &app.token, None).await;
    let bus = app.hub.as_ref().unwrap().events.clone();
    // Far faster than any subscriber reads: the publisher never waits for it.
    let began = std::time::Instant::now();
    for n in 0..5_000 {
        bus.publish(None, || {
            Fact::ChargerConnected(ChargerConnection {
                charge_point_id: format!("FLOOD-{n}"),
                at: chrono::Utc::now(),
            })
        });
    }
    let publishing = began.elapsed();
    assert!(publishing < Duration::from_secs(2), "{publishing:?}");
    let resync = subscriber.until("a resync", |e| e.event == "resync").await;
    assert_eq!(resync.data, json!({"reason": "lagged"}));
    assert_eq!(resync.id, None);
    // It goes on from the newest event (what was still queued is older than what the refetch
    // reads), told again only when it falls behind again.
    while subscriber
        .next_within(Duration::from_millis(500))
        .await
        .is_some()
    {}
    bus.publish(None, || {
        Fact::ChargerConnected(ChargerConnection {
            charge_point_id: "AFTER".to_owned(),
            at: chrono::Utc::now(),
        })
    });
    subscriber
        .until("the event after the flood", |e| {
            e.data["charge_point_id"] == "AFTER"
        })
        .await;
    let resyncs = subscriber
        .seen
        .iter()
        .filter(|e| e.event == "resync")
        .count();
    assert!(resyncs < subscriber.seen.len() / 2, "{resyncs} resyncs");

    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains(r#"events_resyncs_total{reason="lagged"}"#),
        "{metrics}"
    );
    assert!(metrics.contains("events_subscribers"), "{metrics}");
}

async fn the_stream_needs_a_token_and_any_role_may_read_it(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let response = app
        .anonymous
        .get(app.url("/api/cms/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = app
        .anonymous
        .get(app.url("/api/cms/events"))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let viewer = app.user("viewer", None).await;
    let mut subscriber = Subscriber::open(&app, &viewer, None).await;
    let cp = common::unique("CP");
    let _charger = app.charger(&cp).await;
    subscriber.about("charger.connected", &cp).await;

    // The OpenAPI description documents the stream.
    let (_, doc) = app.get("/api/openapi.json").await;
    let operation = &doc["paths"]["/api/cms/events"]["get"];
    assert_eq!(operation["tags"], json!(["events"]));
    assert!(
        operation["responses"]["200"]["content"]["text/event-stream"].is_object(),
        "{operation}"
    );
    for schema in ["EventSessionStopped", "EventResync", "EventConnectorStatus"] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "{schema} in the description"
        );
    }
}
