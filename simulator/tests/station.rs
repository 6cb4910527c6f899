//! The simulated station against a fake CSMS: each CSMS-initiated call is answered first, then
//! acted on the way a real OCPP 1.6 charger would.

mod support;

use std::time::Duration;

use evcms_sim::ChargerConfig;
use evcms_sim::ocpp::types::{AuthorizationStatus, ChargePointStatus, Reason};
use evcms_sim::station::{Station, StationOptions, StationSnapshot};
use serde_json::json;
use support::{Connection, Csms, WAIT};

async fn station(csms: &mut Csms, id: &str) -> (Station, Connection) {
    let cfg = ChargerConfig::new(&csms.url, id);
    let options = StationOptions {
        meter_interval: Duration::from_millis(200),
        ..Default::default()
    };
    let station = Station::start(cfg, options).await.unwrap();
    let mut conn = csms.next_connection().await;
    conn.expect("BootNotification").await;
    (station, conn)
}

fn status_of(s: &StationSnapshot, connector: u32) -> ChargePointStatus {
    s.connector(connector).unwrap().status.clone()
}

async fn finish(station: Station, csms: &Csms) {
    assert!(
        station.schema_violations().is_empty(),
        "{:?}",
        station.schema_violations()
    );
    station.shutdown().await;
    csms.assert_no_violations();
}

#[tokio::test]
async fn remote_start_is_answered_before_the_start_transaction_and_remote_stop_ends_it() {
    let mut csms = Csms::start().await;
    let (station, mut conn) = station(&mut csms, "CP-S1").await;
    for connector in 0..=2 {
        let status = conn.expect("StatusNotification").await;
        assert_eq!(status["connectorId"], connector);
        assert_eq!(status["status"], "Available");
    }

    let answer = conn
        .call(
            "RemoteStartTransaction",
            json!({"idTag": "TAG-1", "connectorId": 2}),
        )
        .await;
    assert_eq!(answer, json!({"status": "Accepted"}));
    let preparing = conn.expect("StatusNotification").await;
    assert_eq!(preparing["status"], "Preparing");
    let start = conn.expect("StartTransaction").await;
    assert_eq!(start["connectorId"], 2);
    assert_eq!(start["idTag"], "TAG-1");
    let log = conn.log.lock().unwrap().clone();
    let reply = log.iter().position(|l| l == "reply:srv-1").unwrap();
    let started = log
        .iter()
        .position(|l| l == "call:StartTransaction")
        .unwrap();
    assert!(reply < started, "{log:?}");
    let charging = conn.expect("StatusNotification").await;
    assert_eq!(charging["status"], "Charging");

    let snapshot = station
        .wait_for(WAIT, |s| s.connector(2).unwrap().transaction_id.is_some())
        .await
        .unwrap();
    let tx = snapshot.connector(2).unwrap().transaction_id.unwrap();
    let meter = conn.expect("MeterValues").await;
    assert_eq!(meter["transactionId"], tx);

    // A busy connector and an unknown transaction are refused.
    let busy = conn
        .call(
            "RemoteStartTransaction",
            json!({"idTag": "TAG-2", "connectorId": 2}),
        )
        .await;
    assert_eq!(busy, json!({"status": "Rejected"}));
    let unknown = conn
        .call("RemoteStopTransaction", json!({"transactionId": tx + 1000}))
        .await;
    assert_eq!(unknown, json!({"status": "Rejected"}));

    let stop = conn
        .call("RemoteStopTransaction", json!({"transactionId": tx}))
        .await;
    assert_eq!(stop, json!({"status": "Accepted"}));
    let stopped = conn.expect("StopTransaction").await;
    assert_eq!(stopped["transactionId"], tx);
    assert_eq!(stopped["reason"], "Remote");
    assert!(stopped["meterStop"].as_i64() >= start["meterStart"].as_i64());
    let snapshot = station
        .wait_for(WAIT, |s| status_of(s, 2) == ChargePointStatus::Available)
        .await
        .unwrap();
    assert_eq!(
        snapshot.connector(2).unwrap().stop_reasons,
        [Reason::Remote]
    );
    finish(station, &csms).await;
}

#[tokio::test]
async fn reset_stops_the_session_reconnects_and_boots_again() {
    let mut csms = Csms::start().await;
    let (station, mut conn) = station(&mut csms, "CP-S2").await;
    let tx = station.start_local(1, "TAG-1").await.unwrap();
    assert_eq!(conn.expect("StartTransaction").await["idTag"], "TAG-1");

    let answer = conn.call("Reset", json!({"type": "Soft"})).await;
    assert_eq!(answer, json!({"status": "Accepted"}));
    let stop = conn.expect("StopTransaction").await;
    assert_eq!(stop["transactionId"], tx);
    assert_eq!(stop["reason"], "SoftReset");
    conn.closed().await;

    let mut again = csms.next_connection().await;
    again.expect("BootNotification").await;
    again.expect("StatusNotification").await;
    let snapshot = station
        .wait_for(WAIT, |s| s.boots == 2 && s.connected)
        .await
        .unwrap();
    assert_eq!(
        snapshot.connector(1).unwrap().stop_reasons,
        [Reason::SoftReset]
    );
    // The register survives the reboot.
    assert!(snapshot.connector(1).unwrap().meter_wh >= stop["meterStop"].as_i64().unwrap());
    assert_eq!(station.server_calls()[0].0, "Reset");
    finish(station, &csms).await;
}

#[tokio::test]
async fn local_list_full_then_differential_then_offline_authorization() {
    let mut csms = Csms::start().await;
    let (station, mut conn) = station(&mut csms, "CP-S3").await;
    let version = conn.call("GetLocalListVersion", json!({})).await;
    assert_eq!(version, json!({"listVersion": 0}));
    let full = conn
        .call(
            "SendLocalList",
            json!({"listVersion": 3, "updateType": "Full", "localAuthorizationList": [
                {"idTag": "GOOD", "idTagInfo": {"status": "Accepted"}},
                {"idTag": "GONE", "idTagInfo": {"status": "Accepted"}},
                {"idTag": "BAD", "idTagInfo": {"status": "Blocked"}},
            ]}),
        )
        .await;
    assert_eq!(full, json!({"status": "Accepted"}));
    let stale = conn
        .call(
            "SendLocalList",
            json!({"listVersion": 3, "updateType": "Differential", "localAuthorizationList": []}),
        )
        .await;
    assert_eq!(stale, json!({"status": "VersionMismatch"}));
    let diff = conn
        .call(
            "SendLocalList",
            json!({"listVersion": 4, "updateType": "Differential", "localAuthorizationList": [
                {"idTag": "GONE"},
                {"idTag": "NEW", "idTagInfo": {"status": "Accepted"}},
            ]}),
        )
        .await;
    assert_eq!(diff, json!({"status": "Accepted"}));
    let too_many: Vec<_> = (0..21)
        .map(|i| json!({"idTag": format!("T{i}"), "idTagInfo": {"status": "Accepted"}}))
        .collect();
    let failed = conn
        .call(
            "SendLocalList",
            json!({"listVersion": 9, "updateType": "Full", "localAuthorizationList": too_many}),
        )
        .await;
    assert_eq!(failed, json!({"status": "Failed"}));
    let version = conn.call("GetLocalListVersion", json!({})).await;
    assert_eq!(version, json!({"listVersion": 4}));
    let snapshot = station.snapshot();
    let tags: Vec<_> = snapshot.local_list.keys().cloned().collect();
    assert_eq!(tags, ["BAD", "GOOD", "NEW"]);

    // Online, Authorize goes to the server.
    assert_eq!(
        station.authorize("ANYONE").await.unwrap(),
        AuthorizationStatus::Accepted
    );
    station.go_offline().await;
    conn.closed().await;
    assert!(!station.snapshot().connected);
    assert_eq!(
        station.authorize("GOOD").await.unwrap(),
        AuthorizationStatus::Accepted
    );
    assert_eq!(
        station.authorize("NEW").await.unwrap(),
        AuthorizationStatus::Accepted
    );
    assert_eq!(
        station.authorize("BAD").await.unwrap(),
        AuthorizationStatus::Blocked
    );
    assert_eq!(
        station.authorize("GONE").await.unwrap(),
        AuthorizationStatus::Invalid
    );
    assert_eq!(
        station.authorize("ANYONE").await.unwrap(),
        AuthorizationStatus::Invalid
    );

    station.go_online().await.unwrap();
    let mut again = csms.next_connection().await;
    again.expect("BootNotification").await;
    assert_eq!(station.snapshot().boots, 2);
    assert_eq!(station.server_calls().len(), 6);
    finish(station, &csms).await;
}

#[tokio::test]
async fn get_and_change_configuration_follow_the_rules() {
    let mut csms = Csms::start().await;
    let (station, mut conn) = station(&mut csms, "CP-S4").await;
    let all = conn.call("GetConfiguration", json!({})).await;
    let keys: Vec<&str> = all["configurationKey"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["key"].as_str().unwrap())
        .collect();
    for key in [
        "HeartbeatInterval",
        "MeterValueSampleInterval",
        "LocalAuthListMaxLength",
        "MM_DcMaxCurrentA",
    ] {
        assert!(keys.contains(&key), "{key} missing from {keys:?}");
    }
    assert!(!keys.contains(&"AuthorizationKey"));

    let some = conn
        .call(
            "GetConfiguration",
            json!({"key": ["HeartbeatInterval", "Nope", "AuthorizationKey"]}),
        )
        .await;
    assert_eq!(
        some,
        json!({"configurationKey": [{"key": "HeartbeatInterval", "readonly": false, "value": "60"}], "unknownKey": ["Nope"]})
    );
    let change = |key: &str, value: &str| json!({"key": key, "value": value});
    let cases = [
        (change("HeartbeatInterval", "1"), "Accepted"),
        (change("NumberOfConnectors", "5"), "Rejected"),
        (change("MeterValueSampleInterval", "soon"), "Rejected"),
        (change("NoSuchKey", "1"), "NotSupported"),
        (change("WebSocketPingInterval", "10"), "RebootRequired"),
        (
            change("AuthorizationKey", "0123456789abcdef0123"),
            "Accepted",
        ),
    ];
    for (request, expected) in cases {
        let answer = conn.call("ChangeConfiguration", request.clone()).await;
        assert_eq!(answer, json!({"status": expected}), "{request}");
    }
    // The new heartbeat interval takes effect.
    conn.expect("Heartbeat").await;
    let snapshot = station.snapshot();
    assert_eq!(
        snapshot.config_value("AuthorizationKey"),
        Some("0123456789abcdef0123")
    );
    let again = conn
        .call("GetConfiguration", json!({"key": ["AuthorizationKey"]}))
        .await;
    assert_eq!(again, json!({"configurationKey": []}));
    finish(station, &csms).await;
}

#[tokio::test]
async fn a_reservation_is_used_by_the_start_of_its_tag() {
    let mut csms = Csms::start().await;
    let (station, mut conn) = station(&mut csms, "CP-S5").await;
    let expiry = (chrono::Utc::now() + chrono::TimeDelta::minutes(10))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let reserve = |connector: u32, id: i32| json!({"connectorId": connector, "expiryDate": expiry, "idTag": "RES-TAG", "reservationId": id});
    assert_eq!(
        conn.call("ReserveNow", reserve(0, 7)).await,
        json!({"status": "Rejected"})
    );
    assert_eq!(
        conn.call("ReserveNow", reserve(1, 7)).await,
        json!({"status": "Accepted"})
    );
    assert_eq!(
        conn.call("ReserveNow", reserve(1, 8)).await,
        json!({"status": "Occupied"})
    );
    station
        .wait_for(WAIT, |s| status_of(s, 1) == ChargePointStatus::Reserved)
        .await
        .unwrap();
    // Someone else cannot take it.
    let other = conn
        .call(
            "RemoteStartTransaction",
            json!({"idTag": "OTHER", "connectorId": 1}),
        )
        .await;
    assert_eq!(other, json!({"status": "Rejected"}));
    assert!(station.start_local(1, "OTHER").await.is_err());

    assert_eq!(
        conn.call("CancelReservation", json!({"reservationId": 99}))
            .await,
        json!({"status": "Rejected"})
    );
    let tx = station.start_local(1, "RES-TAG").await.unwrap();
    let start = conn.expect("StartTransaction").await;
    assert_eq!(start["reservationId"], 7);
    let snapshot = station.snapshot();
    let connector = snapshot.connector(1).unwrap();
    assert_eq!(connector.transaction_id, Some(tx));
    assert_eq!(connector.reservation, None);
    assert_eq!(
        conn.call("CancelReservation", json!({"reservationId": 7}))
            .await,
        json!({"status": "Rejected"})
    );
    station.stop_local(1).await.unwrap();
    assert_eq!(conn.expect("StopTransaction").await["reason"], "Local");
    finish(station, &csms).await;
}

#[tokio::test]
async fn triggered_messages_follow_their_answer() {
    let mut csms = Csms::start().await;
    let (station, mut conn) = station(&mut csms, "CP-S6").await;
    conn.expect("StatusNotification").await;
    let trigger = |what: &str| json!({"requestedMessage": what});
    assert_eq!(
        conn.call("TriggerMessage", trigger("Heartbeat")).await,
        json!({"status": "Accepted"})
    );
    conn.expect("Heartbeat").await;
    let status = conn
        .call(
            "TriggerMessage",
            json!({"requestedMessage": "StatusNotification", "connectorId": 2}),
        )
        .await;
    assert_eq!(status, json!({"status": "Accepted"}));
    let reported = conn.expect("StatusNotification").await;
    assert_eq!(reported["connectorId"], 2);
    conn.call("TriggerMessage", trigger("MeterValues")).await;
    let values = conn.expect("MeterValues").await;
    assert_eq!(
        values["meterValue"][0]["sampledValue"][0]["context"],
        "Trigger"
    );
    conn.call("TriggerMessage", trigger("FirmwareStatusNotification"))
        .await;
    assert_eq!(
        conn.expect("FirmwareStatusNotification").await["status"],
        "Idle"
    );
    conn.call("TriggerMessage", trigger("DiagnosticsStatusNotification"))
        .await;
    assert_eq!(
        conn.expect("DiagnosticsStatusNotification").await["status"],
        "Idle"
    );
    conn.call("TriggerMessage", trigger("BootNotification"))
        .await;
    conn.expect("BootNotification").await;
    let unknown = conn
        .call(
            "TriggerMessage",
            json!({"requestedMessage": "Heartbeat", "connectorId": 9}),
        )
        .await;
    assert_eq!(unknown, json!({"status": "Rejected"}));
    finish(station, &csms).await;
}
