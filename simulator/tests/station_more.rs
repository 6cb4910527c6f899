//! More station behaviour: firmware and diagnostics over a tiny HTTP server, availability,
//! charging profiles, data transfer, the test's own answers, and the answer delay.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use evcms_sim::ChargerConfig;
use evcms_sim::ServerAnswer;
use evcms_sim::ocpp::types::{ChargePointStatus, DiagnosticsStatus, FirmwareStatus, Reason};
use evcms_sim::station::{Station, StationOptions};
use serde_json::json;
use support::{Connection, Csms, WAIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

async fn station_with(csms: &mut Csms, id: &str, options: StationOptions) -> (Station, Connection) {
    let mut cfg = ChargerConfig::new(&csms.url, id);
    cfg.profile = evcms_sim::Profile::evre();
    let station = Station::start(cfg, options).await.unwrap();
    let mut conn = csms.next_connection().await;
    conn.expect("BootNotification").await;
    (station, conn)
}

/// One HTTP request as the tiny server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    content_type: Option<String>,
    body: String,
}

/// An HTTP/1.1 server good for one request per connection: GET /firmware/* is 200, PUT
/// /upload/* is 201, anything else 404.
async fn http_server() -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let mut buffer = Vec::new();
            let mut chunk = [0u8; 4096];
            let head_end = loop {
                let n = tcp.read(&mut chunk).await.unwrap();
                if n == 0 {
                    break None;
                }
                buffer.extend_from_slice(&chunk[..n]);
                if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                    break Some(i + 4);
                }
            };
            let Some(head_end) = head_end else { continue };
            let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
            let header = |name: &str| {
                head.lines()
                    .find(|l| l.to_ascii_lowercase().starts_with(&format!("{name}:")))
                    .map(|l| l[name.len() + 1..].trim().to_string())
            };
            let length: usize = header("content-length")
                .and_then(|l| l.parse().ok())
                .unwrap_or(0);
            while buffer.len() < head_end + length {
                let n = tcp.read(&mut chunk).await.unwrap();
                if n == 0 {
                    break;
                }
                buffer.extend_from_slice(&chunk[..n]);
            }
            let mut first = head.lines().next().unwrap_or_default().split(' ');
            let method = first.next().unwrap_or_default().to_string();
            let path = first.next().unwrap_or_default().to_string();
            let body = String::from_utf8_lossy(&buffer[head_end..]).to_string();
            let (status, reply) = match (method.as_str(), path.as_str()) {
                ("GET", p) if p.starts_with("/firmware/") => ("200 OK", "FIRMWARE-IMAGE"),
                ("PUT", p) if p.starts_with("/upload/") => ("201 Created", ""),
                _ => ("404 Not Found", "no"),
            };
            record.lock().unwrap().push(Seen {
                method,
                path,
                content_type: header("content-type"),
                body,
            });
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
                reply.len()
            );
            let _ = tcp.write_all(response.as_bytes()).await;
            let _ = tcp.shutdown().await;
        }
    });
    (base, seen)
}

fn in_a_moment() -> String {
    (chrono::Utc::now() + chrono::TimeDelta::milliseconds(300))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[tokio::test]
async fn firmware_is_downloaded_installed_and_booted_and_diagnostics_uploaded() {
    let mut csms = Csms::start().await;
    let (http, seen) = http_server().await;
    let (station, mut conn) = station_with(&mut csms, "CP-T1", StationOptions::default()).await;

    let answer = conn
        .call(
            "UpdateFirmware",
            json!({"location": format!("{http}/firmware/evre-os-2.0.bin"), "retrieveDate": in_a_moment()}),
        )
        .await;
    assert_eq!(answer, json!({}));
    for expected in ["Downloading", "Downloaded", "Installing", "Installed"] {
        assert_eq!(
            conn.expect("FirmwareStatusNotification").await["status"],
            expected
        );
    }
    conn.closed().await;
    let mut again = csms.next_connection().await;
    let boot = again.expect("BootNotification").await;
    assert_eq!(boot["firmwareVersion"], "evre-os-2.0.bin");
    let snapshot = station.wait_for(WAIT, |s| s.boots == 2).await.unwrap();
    assert_eq!(snapshot.firmware_version, "evre-os-2.0.bin");
    assert_eq!(
        snapshot.firmware_statuses,
        [
            FirmwareStatus::Downloading,
            FirmwareStatus::Downloaded,
            FirmwareStatus::Installing,
            FirmwareStatus::Installed
        ]
    );

    // A missing image fails the download and changes nothing else.
    again
        .call(
            "UpdateFirmware",
            json!({"location": format!("{http}/nothing-here.bin"), "retrieveDate": in_a_moment()}),
        )
        .await;
    assert_eq!(
        again.expect("FirmwareStatusNotification").await["status"],
        "Downloading"
    );
    assert_eq!(
        again.expect("FirmwareStatusNotification").await["status"],
        "DownloadFailed"
    );

    let answer = again
        .call(
            "GetDiagnostics",
            json!({"location": format!("{http}/upload/")}),
        )
        .await;
    let file_name = answer["fileName"].as_str().unwrap().to_string();
    assert!(
        file_name.starts_with("diagnostics-CP-T1-") && file_name.ends_with(".log"),
        "{file_name}"
    );
    assert_eq!(
        again.expect("DiagnosticsStatusNotification").await["status"],
        "Uploading"
    );
    assert_eq!(
        again.expect("DiagnosticsStatusNotification").await["status"],
        "Uploaded"
    );
    let put = seen
        .lock()
        .unwrap()
        .iter()
        .find(|s| s.method == "PUT")
        .cloned()
        .unwrap();
    assert_eq!(put.path, format!("/upload/{file_name}"));
    assert_eq!(put.content_type.as_deref(), Some("text/plain"));
    assert!(put.body.contains("EVRE"), "{}", put.body);

    // Not http: the upload fails.
    again
        .call(
            "GetDiagnostics",
            json!({"location": "ftp://example.invalid/logs"}),
        )
        .await;
    assert_eq!(
        again.expect("DiagnosticsStatusNotification").await["status"],
        "Uploading"
    );
    assert_eq!(
        again.expect("DiagnosticsStatusNotification").await["status"],
        "UploadFailed"
    );
    let snapshot = station.snapshot();
    assert_eq!(snapshot.uploaded_diagnostics, [file_name]);
    assert_eq!(
        snapshot.diagnostics_statuses,
        [
            DiagnosticsStatus::Uploading,
            DiagnosticsStatus::Uploaded,
            DiagnosticsStatus::Uploading,
            DiagnosticsStatus::UploadFailed
        ]
    );
    assert!(station.schema_violations().is_empty());
    station.shutdown().await;
    csms.assert_no_violations();
}

#[tokio::test]
async fn availability_is_scheduled_during_a_session_and_unlock_ends_it() {
    let mut csms = Csms::start().await;
    let (station, mut conn) = station_with(&mut csms, "CP-T2", StationOptions::default()).await;
    let tx = station.start_local(1, "TAG-1").await.unwrap();
    let answer = conn
        .call(
            "ChangeAvailability",
            json!({"connectorId": 0, "type": "Inoperative"}),
        )
        .await;
    assert_eq!(answer, json!({"status": "Scheduled"}));
    assert_eq!(
        station.snapshot().connector(1).unwrap().status,
        ChargePointStatus::Charging
    );

    let unlock = conn
        .call("UnlockConnector", json!({"connectorId": 1}))
        .await;
    assert_eq!(unlock, json!({"status": "Unlocked"}));
    let stop = conn.expect("StopTransaction").await;
    assert_eq!(
        (stop["transactionId"].as_i64(), &stop["reason"]),
        (Some(i64::from(tx)), &json!("UnlockCommand"))
    );
    let snapshot = station
        .wait_for(WAIT, |s| {
            s.connector(1).unwrap().status == ChargePointStatus::Unavailable
        })
        .await
        .unwrap();
    assert!(!snapshot.connector(1).unwrap().available);
    assert_eq!(
        snapshot.connector(1).unwrap().stop_reasons,
        [Reason::UnlockCommand]
    );
    let refused = conn
        .call("RemoteStartTransaction", json!({"idTag": "TAG-2"}))
        .await;
    assert_eq!(refused, json!({"status": "Rejected"}));

    let answer = conn
        .call(
            "ChangeAvailability",
            json!({"connectorId": 1, "type": "Operative"}),
        )
        .await;
    assert_eq!(answer, json!({"status": "Accepted"}));
    station
        .wait_for(WAIT, |s| {
            s.connector(1).unwrap().status == ChargePointStatus::Available
        })
        .await
        .unwrap();
    station.shutdown().await;
    csms.assert_no_violations();
}

#[tokio::test]
async fn charging_profiles_are_stored_cleared_and_composed() {
    let mut csms = Csms::start().await;
    let (station, mut conn) = station_with(&mut csms, "CP-T3", StationOptions::default()).await;
    let profile = |id: i32, level: u32, purpose: &str| {
        json!({"chargingProfileId": id, "stackLevel": level, "chargingProfilePurpose": purpose,
               "chargingProfileKind": "Absolute",
               "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}]}})
    };
    let set = |connector: u32, p| json!({"connectorId": connector, "csChargingProfiles": p});
    let tx_profile = conn
        .call("SetChargingProfile", set(1, profile(1, 0, "TxProfile")))
        .await;
    assert_eq!(tx_profile, json!({"status": "Rejected"}));
    assert_eq!(
        conn.call(
            "SetChargingProfile",
            set(1, profile(2, 1, "TxDefaultProfile"))
        )
        .await,
        json!({"status": "Accepted"})
    );
    assert_eq!(
        conn.call(
            "SetChargingProfile",
            set(1, profile(3, 2, "TxDefaultProfile"))
        )
        .await,
        json!({"status": "Accepted"})
    );
    assert_eq!(
        conn.call(
            "SetChargingProfile",
            set(0, profile(4, 0, "ChargePointMaxProfile"))
        )
        .await,
        json!({"status": "Accepted"})
    );

    let composite = conn
        .call(
            "GetCompositeSchedule",
            json!({"connectorId": 1, "duration": 3600}),
        )
        .await;
    assert_eq!(composite["status"], "Accepted");
    assert_eq!(composite["chargingSchedule"]["duration"], 3600);
    assert_eq!(
        composite["chargingSchedule"]["chargingSchedulePeriod"][0]["startPeriod"],
        0
    );
    let none = conn
        .call(
            "GetCompositeSchedule",
            json!({"connectorId": 2, "duration": 60}),
        )
        .await;
    assert_eq!(none, json!({"status": "Rejected"}));

    let cleared = conn.call("ClearChargingProfile", json!({"id": 3})).await;
    assert_eq!(cleared, json!({"status": "Accepted"}));
    let cleared = conn
        .call(
            "ClearChargingProfile",
            json!({"chargingProfilePurpose": "ChargePointMaxProfile"}),
        )
        .await;
    assert_eq!(cleared, json!({"status": "Accepted"}));
    let unknown = conn.call("ClearChargingProfile", json!({"id": 3})).await;
    assert_eq!(unknown, json!({"status": "Unknown"}));
    let ids: Vec<i32> = station
        .snapshot()
        .charging_profiles
        .iter()
        .map(|(_, p)| p.charging_profile_id)
        .collect();
    assert_eq!(ids, [2]);

    // A TxProfile in a remote start is kept for that transaction, and goes with it.
    let answer = conn
        .call(
            "RemoteStartTransaction",
            json!({"idTag": "TAG-1", "chargingProfile": profile(9, 3, "TxProfile")}),
        )
        .await;
    assert_eq!(answer["status"], "Accepted");
    let tx = conn.expect("StartTransaction").await;
    let snapshot = station
        .wait_for(WAIT, |s| {
            s.charging_profiles
                .iter()
                .any(|(_, p)| p.charging_profile_id == 9)
        })
        .await
        .unwrap();
    let (connector, stored) = snapshot
        .charging_profiles
        .iter()
        .find(|(_, p)| p.charging_profile_id == 9)
        .unwrap();
    assert_eq!(*connector, 1);
    assert!(stored.transaction_id.is_some());
    let _ = tx;
    let dt = conn
        .call(
            "DataTransfer",
            json!({"vendorId": "evcms", "messageId": "hello", "data": "x"}),
        )
        .await;
    assert_eq!(dt, json!({"status": "Accepted"}));
    let unknown = conn
        .call("DataTransfer", json!({"vendorId": "unknown"}))
        .await;
    assert_eq!(unknown, json!({"status": "UnknownVendorId"}));
    assert_eq!(
        station.snapshot().data_transfers,
        [json!({"vendorId": "evcms", "messageId": "hello", "data": "x"})]
    );
    station.shutdown().await;
    csms.assert_no_violations();
}

#[tokio::test]
async fn a_test_answerer_overrides_the_station_and_delayed_answers_are_counted() {
    let mut csms = Csms::start().await;
    let options = StationOptions {
        answerer: Some(Arc::new(
            |action: &str, _: &serde_json::Value| match action {
                "RemoteStartTransaction" => {
                    Some(ServerAnswer::Result(json!({"status": "Rejected"})))
                }
                "ClearCache" => Some(ServerAnswer::Ignore),
                _ => None,
            },
        )),
        ..Default::default()
    };
    let mut cfg = ChargerConfig::new(&csms.url, "CP-T4");
    cfg.answer_delay = Duration::from_millis(200);
    let station = Station::start(cfg, options).await.unwrap();
    let mut conn = csms.next_connection().await;
    let refused = conn
        .call("RemoteStartTransaction", json!({"idTag": "TAG-1"}))
        .await;
    assert_eq!(refused, json!({"status": "Rejected"}));
    let ignored = conn.send_call("ClearCache", json!({}));
    assert!(
        tokio::time::timeout(Duration::from_millis(400), ignored)
            .await
            .is_err()
    );
    conn.call("GetLocalListVersion", json!({})).await;
    assert_eq!(station.max_outstanding_server_calls(), 1);
    let both = [
        conn.send_call("ClearCache", json!({})),
        conn.send_call("GetLocalListVersion", json!({})),
    ];
    let [_, version] = both;
    tokio::time::timeout(WAIT, version).await.unwrap().unwrap();
    assert_eq!(
        station.max_outstanding_server_calls(),
        1,
        "an ignored call does not stay outstanding"
    );
    let both = [
        conn.send_call("GetLocalListVersion", json!({})),
        conn.send_call("GetLocalListVersion", json!({})),
    ];
    for reply in both {
        tokio::time::timeout(WAIT, reply).await.unwrap().unwrap();
    }
    assert_eq!(station.max_outstanding_server_calls(), 2);
    assert!(
        station
            .snapshot()
            .connectors
            .iter()
            .all(|c| c.transaction_id.is_none())
    );
    station.shutdown().await;
}

#[tokio::test]
async fn a_pending_boot_is_asked_again_and_a_lost_connection_comes_back() {
    let mut csms = Csms::start().await;
    csms.boot_answers.lock().unwrap().push_back("Pending");
    let cfg = ChargerConfig::new(&csms.url, "CP-T5");
    let lines: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = lines.clone();
    let options = StationOptions {
        log: Some(Arc::new(move |line: &str| {
            sink.lock().unwrap().push(line.to_string())
        })),
        ..Default::default()
    };
    let station = Station::start(cfg, options).await.unwrap();
    let mut conn = csms.next_connection().await;
    conn.expect("BootNotification").await;
    conn.expect("BootNotification").await;
    assert_eq!(station.snapshot().boots, 1);
    assert!(
        lines
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("awaiting adoption"))
    );

    conn.close();
    let mut again = csms.next_connection().await;
    again.expect("BootNotification").await;
    station
        .wait_for(WAIT, |s| s.boots == 2 && s.connected)
        .await
        .unwrap();
    station.shutdown().await;
    csms.assert_no_violations();
}
