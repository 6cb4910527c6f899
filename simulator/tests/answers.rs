//! Answers to server CALLs: the answerer hook, the event after each answer, the answer delay and
//! the count of CALLs in flight.

mod support;

use std::time::Duration;

use evcms_sim::{Charger, ChargerConfig, ServerAnswer};
use serde_json::json;
use support::{Csms, WAIT};

#[tokio::test]
async fn answerer_errors_ignores_and_falls_back_and_events_follow_the_answers() {
    let mut csms = Csms::start().await;
    let mut charger = Charger::connect(ChargerConfig::new(&csms.url, "CP-A1"))
        .await
        .unwrap();
    charger.set_responder(|action, _| (action == "Reset").then(|| json!({"status": "Rejected"})));
    charger.set_answerer(|action, _| match action {
        "ClearCache" => Some(ServerAnswer::Error {
            code: "InternalError".into(),
            description: "cache on fire".into(),
        }),
        "GetLocalListVersion" => Some(ServerAnswer::Ignore),
        _ => None,
    });
    let mut events = charger.server_call_events().unwrap();
    assert!(charger.server_call_events().is_none());
    let mut conn = csms.next_connection().await;

    let error = conn.call_frame("ClearCache", json!({})).await;
    assert_eq!(error[0], 4);
    assert_eq!(error[2], "InternalError");
    let reset = conn.call("Reset", json!({"type": "Hard"})).await;
    assert_eq!(reset, json!({"status": "Rejected"}));
    let ignored = conn.send_call("GetLocalListVersion", json!({}));
    let unlock = conn
        .call("UnlockConnector", json!({"connectorId": 1}))
        .await;
    assert_eq!(unlock, json!({"status": "Unlocked"}));

    let mut seen = Vec::new();
    for _ in 0..4 {
        let event = tokio::time::timeout(WAIT, events.recv())
            .await
            .unwrap()
            .unwrap();
        seen.push((event.action, event.answer));
    }
    assert!(
        matches!(&seen[0], (a, ServerAnswer::Error { code, .. }) if a == "ClearCache" && code == "InternalError"),
        "{seen:?}"
    );
    assert_eq!(
        seen[1],
        (
            "Reset".into(),
            ServerAnswer::Result(json!({"status": "Rejected"}))
        )
    );
    assert_eq!(
        seen[2],
        ("GetLocalListVersion".into(), ServerAnswer::Ignore)
    );
    assert_eq!(
        seen[3],
        ("UnlockConnector".into(), ServerAnswer::Result(unlock))
    );
    let never = tokio::time::timeout(Duration::from_millis(300), ignored).await;
    assert!(never.is_err(), "an ignored CALL got an answer: {never:?}");
    assert_eq!(charger.max_outstanding_server_calls(), 1);
}

#[tokio::test]
async fn delayed_answers_do_not_block_the_reader_and_calls_in_flight_are_counted() {
    let mut csms = Csms::start().await;
    let mut cfg = ChargerConfig::new(&csms.url, "CP-A2");
    cfg.answer_delay = Duration::from_millis(300);
    let mut charger = Charger::connect(cfg).await.unwrap();
    let mut events = charger.server_call_events().unwrap();
    let mut conn = csms.next_connection().await;

    // One at a time, as a well-behaved server sends them.
    let started = tokio::time::Instant::now();
    conn.call("ClearCache", json!({})).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    conn.call("ClearCache", json!({})).await;
    assert_eq!(charger.max_outstanding_server_calls(), 1);

    // Three at once: the reader sees all three before the first answer leaves.
    let replies = [
        conn.send_call("ClearCache", json!({})),
        conn.send_call("ClearCache", json!({})),
        conn.send_call("ClearCache", json!({})),
    ];
    for reply in replies {
        let frame = tokio::time::timeout(WAIT, reply).await.unwrap().unwrap();
        assert_eq!(frame[2], json!({"status": "Accepted"}));
    }
    assert_eq!(charger.max_outstanding_server_calls(), 3);
    for _ in 0..5 {
        let event = tokio::time::timeout(WAIT, events.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(event.action, "ClearCache");
    }
    // The event stream ends with the connection.
    conn.close();
    let end = tokio::time::timeout(WAIT, events.recv()).await.unwrap();
    assert!(end.is_none());
}
