//! Several evcms nodes on one PostgreSQL: three real `evcms` processes on one fresh database,
//! strict simulated chargers spread over them, each node driven over its own HTTP port.
//!
//! - A command sent through a node that does not hold the charger reaches it and comes back; an
//!   event on one node is seen on every node; login failures count across nodes.
//! - A node killed with SIGKILL: its chargers are shown offline by the others within the node
//!   timeout; a charger that moves to another node and replays its Start, MeterValues and Stop gets
//!   one session and one debit.
//!
//! PostgreSQL only: SQLite runs one node.

mod common;

use std::time::{Duration, Instant};

use chrono::{SubsecRound, Utc};
use common::ocpp::{Site, money};
use common::sse::Subscriber;
use common::{Backend, ServerProcess, TestApp, TestDb};
use evcms_sim::ocpp::types::{ChargePointErrorCode, ChargePointStatus};
use evcms_sim::station::{Station, StationOptions};
use evcms_sim::{Charger, Reply};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Heartbeat and timeout of the test nodes (seconds): a dead node is noticed within a few seconds.
const HEARTBEAT: &str = "1";
const NODE_TIMEOUT: u64 = 3;

/// One evcms process and a signed-in client of it.
struct Node {
    id: String,
    server: Option<ServerProcess>,
    app: TestApp,
}

impl Node {
    /// SIGKILL: no goodbye to chargers, no release of its rows.
    fn kill(&mut self) {
        if let Some(server) = self.server.take() {
            server.kill();
        }
    }
}

/// `count` nodes, `evcms-1`... on `db`.
async fn start_nodes(db: &TestDb, count: usize) -> Vec<Node> {
    let timeout = NODE_TIMEOUT.to_string();
    let mut nodes = Vec::new();
    for n in 1..=count {
        let id = format!("evcms-{n}");
        let server = ServerProcess::start_with(
            db,
            &[
                ("EVCMS_NODE_ID", &id),
                ("EVCMS_NODE_HEARTBEAT", HEARTBEAT),
                ("EVCMS_NODE_TIMEOUT", &timeout),
                ("EVCMS_OCPP_CALL_TIMEOUT", "5"),
            ],
        );
        let app = TestApp::attach(&server, db).await;
        nodes.push(Node {
            id,
            server: Some(server),
            app,
        });
    }
    nodes
}

async fn fresh_database() -> Option<TestDb> {
    TestDb::fresh(Backend::Postgres).await
}

/// Waits until the gauge `name` on `app`'s `/metrics` reads `value`.
async fn gauge_reaches(app: &TestApp, name: &str, value: f64) {
    let mut last = String::new();
    for _ in 0..200 {
        let text = app.metrics_text().await;
        let reading = text
            .lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok());
        if reading == Some(value) {
            return;
        }
        last = format!("{reading:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{name} never read {value}; last {last}");
}

async fn command(node: &Node, cp: &str, action: &str, body: Value) -> (StatusCode, Value) {
    node.app
        .post(&format!("/api/cms/chargers/{cp}/commands/{action}"), &body)
        .await
}

/// A command sent through `node` that the charger must answer: its record.
async fn answered(node: &Node, cp: &str, action: &str, body: Value) -> Value {
    let (status, record) = command(node, cp, action, body.clone()).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{action} {body} via {}: {record}",
        node.id
    );
    assert_eq!(record["status"], "Answered", "{record}");
    record
}

/// The charger as `node` lists it, once `check` holds (within `wait`).
async fn charger_when(
    node: &Node,
    cp: &str,
    wait: Duration,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + wait;
    loop {
        let (status, charger) = node.app.get(&format!("/api/cms/chargers/{cp}")).await;
        if status == StatusCode::OK && check(&charger) {
            return charger;
        }
        assert!(
            Instant::now() < deadline,
            "{cp} via {} never reached the expected state within {wait:?}: {charger}",
            node.id
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The relay columns of command `id` (not in the REST API).
async fn relay_of(app: &TestApp, id: i64) -> (Option<String>, Option<String>) {
    let sql = "SELECT relay_node, relay_state FROM charger_commands WHERE id = $1";
    match &app.db {
        evcms::Db::Postgres(pool) => sqlx::query_as(sql).bind(id).fetch_one(pool).await.unwrap(),
        evcms::Db::Sqlite { .. } => unreachable!("several nodes run on PostgreSQL"),
    }
}

/// Every customer's ledger adds up: the last row's balance is the wallet's, and the amounts sum
/// to it.
async fn ledger_adds_up(app: &TestApp, site: &Site) {
    let ledger = app.ledger(site).await;
    let (_, customer) = app.get(&site.customer_path()).await;
    let last = ledger.last().expect("a ledger row");
    assert_eq!(money(&last["balance"]), money(&customer["wallet_balance"]));
    let sum: f64 = ledger
        .iter()
        .map(|row| {
            let amount = row["amount"].as_f64().unwrap();
            if row["transaction_type"] == "Debit" {
                -amount.abs()
            } else {
                amount
            }
        })
        .sum();
    assert_eq!(
        format!("{sum:.2}"),
        money(&customer["wallet_balance"]),
        "{ledger:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_events_and_login_limits_cross_nodes() {
    let Some(db) = fresh_database().await else {
        return;
    };
    let nodes = start_nodes(&db, 3).await;
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);
    let site = a.app.site("500").await;
    let cp = site.device_id.clone();

    // Subscribers on B and C; A learns that others listen before its charger arrives.
    let mut on_b = Subscriber::open(&b.app, &b.app.token, None).await;
    let mut on_c = Subscriber::open(&c.app, &c.app.token, None).await;
    gauge_reaches(&a.app, "cluster_other_nodes_with_event_subscribers", 2.0).await;

    let options = StationOptions {
        meter_interval: Duration::from_millis(300),
        ..Default::default()
    };
    let station = Station::start(a.app.charger_config(&cp), options)
        .await
        .expect("the station starts on node A");
    on_b.about("charger.connected", &cp).await;
    on_c.about("charger.connected", &cp).await;
    let listed = charger_when(c, &cp, Duration::from_secs(10), |ch| {
        ch["connected"] == true
    })
    .await;
    assert_eq!(listed["node_id"], a.id, "{listed}");

    // A charge started through B and stopped through C, the charger being on A.
    let record = answered(
        b,
        &cp,
        "RemoteStartTransaction",
        json!({"connectorId": 1, "idTag": site.id_tag}),
    )
    .await;
    assert_eq!(record["response"]["status"], "Accepted");
    let id = record["id"].as_i64().unwrap();
    assert_eq!(
        relay_of(&b.app, id).await,
        (Some(a.id.clone()), Some("done".into()))
    );
    let started = on_c.about("session.started", &cp).await;
    let snapshot = station
        .wait_for(Duration::from_secs(20), |s| {
            s.connectors[0].transaction_id.is_some() && s.connectors[0].meter_wh > 0
        })
        .await
        .expect("the station charges");
    let transaction_id = snapshot.connectors[0].transaction_id.unwrap();
    assert_eq!(
        started.data["transaction_id"],
        json!(transaction_id),
        "{:?}",
        started.data
    );

    let config = answered(
        c,
        &cp,
        "GetConfiguration",
        json!({"key": ["HeartbeatInterval"]}),
    )
    .await;
    assert!(
        config["response"]["configurationKey"].is_array(),
        "{config}"
    );
    let session = c.app.session_of(transaction_id).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    answered(
        c,
        &cp,
        "RemoteStopTransaction",
        json!({"sessionId": session["session_id"]}),
    )
    .await;
    on_b.about("session.stopped", &cp).await;
    station
        .wait_for(Duration::from_secs(20), |s| {
            s.connectors[0].transaction_id.is_none()
        })
        .await
        .expect("the station stops");
    let debits = b.app.debits(&site).await;
    assert_eq!(debits.len(), 1, "{debits:?}");
    ledger_adds_up(&b.app, &site).await;
    assert!(
        station.schema_violations().is_empty(),
        "{:?}",
        station.schema_violations()
    );

    // The command answered events of B's commands reach A's subscribers too.
    let mut on_a = Subscriber::open(&a.app, &a.app.token, None).await;
    gauge_reaches(&b.app, "cluster_other_nodes_with_event_subscribers", 2.0).await;
    let record = answered(b, &cp, "ClearCache", json!({})).await;
    on_a.until("command.answered of ClearCache", |e| {
        e.event == "command.answered" && e.data["id"] == record["id"]
    })
    .await;

    // A charger connected nowhere: a clean 409 from any node, and nothing relayed.
    let gone = common::unique("CP-GONE");
    let mut charger = Charger::connect(c.app.charger_config(&gone)).await.unwrap();
    charger.boot().await.unwrap();
    charger.close().await.unwrap();
    charger_when(a, &gone, Duration::from_secs(10), |ch| {
        ch["connected"] == false
    })
    .await;
    let (status, body) = command(a, &gone, "ClearCache", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "charger_offline", "{body}");

    // Five failed logins for one account, spread over the nodes: the sixth is refused anywhere.
    let email = "someone@example.com";
    for node in [a, b, c, a, b] {
        let (status, _) = node.app.login(email, "Wrong password 1").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    for node in [c, a] {
        let (status, body) = node.app.login(email, "Wrong password 1").await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    }
    drop(nodes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_nodes_chargers_go_offline_and_a_moved_charger_is_billed_once() {
    let Some(db) = fresh_database().await else {
        return;
    };
    let mut nodes = start_nodes(&db, 3).await;
    let site = nodes[0].app.site("500").await;
    let cp = site.device_id.clone();

    // On A: the charging charger, and one that will not come back. On B: one that stays.
    let mut charging = Charger::connect(nodes[0].app.charger_config(&cp))
        .await
        .unwrap();
    charging.boot().await.unwrap();
    let started_at = Utc::now().trunc_subsecs(0) - chrono::Duration::minutes(10);
    let start = charging
        .start_transaction(1, &site.id_tag, 1000, started_at)
        .await
        .expect("start");
    let transaction_id = start.transaction_id;
    charging
        .status(
            1,
            ChargePointStatus::Charging,
            ChargePointErrorCode::NoError,
        )
        .await
        .unwrap();
    let sample_at = started_at + chrono::Duration::minutes(5);
    let sample = json!({"connectorId": 1, "transactionId": transaction_id, "meterValue": [
        {"timestamp": sample_at.to_rfc3339(), "sampledValue": [
            {"value": "1800", "measurand": "Energy.Active.Import.Register", "unit": "Wh", "context": "Sample.Periodic"}]}]});
    let reply = charging
        .call_raw("MeterValues", sample.clone())
        .await
        .unwrap();
    assert!(matches!(reply, Reply::Result(_)), "{reply:?}");
    let stranded = common::unique("CP-STRANDED");
    let mut left_behind = Charger::connect(nodes[0].app.charger_config(&stranded))
        .await
        .unwrap();
    left_behind.boot().await.unwrap();
    let staying = common::unique("CP-STAYING");
    let mut stays = Charger::connect(nodes[1].app.charger_config(&staying))
        .await
        .unwrap();
    stays.boot().await.unwrap();
    charger_when(&nodes[2], &stranded, Duration::from_secs(10), |ch| {
        ch["connected"] == true
    })
    .await;

    let killed_at = Instant::now();
    nodes[0].kill();
    let (b, c) = (&nodes[1], &nodes[2]);
    // A command for a charger of the dead node: a clean error once A is presumed dead (or at
    // once, when it already is), never a wait for the full timeout.
    let (status, body) = command(c, &stranded, "ClearCache", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "charger_offline", "{body}");
    // Shown offline by the others once A's heartbeat lapses (plus one sweep of theirs).
    let offline = charger_when(c, &stranded, Duration::from_secs(NODE_TIMEOUT + 7), |ch| {
        ch["connected"] == false
    })
    .await;
    assert!(offline["node_id"].is_null(), "{offline}");
    let noticed = killed_at.elapsed();
    assert!(
        noticed >= Duration::from_secs(NODE_TIMEOUT - 1),
        "swept before A's heartbeat lapsed: {noticed:?}"
    );
    let kept = charger_when(c, &staying, Duration::from_secs(1), |_| true).await;
    assert_eq!(
        kept["connected"], true,
        "a live node's charger was swept: {kept}"
    );
    assert_eq!(kept["node_id"], b.id);

    // What A acknowledged before it died is stored: the sample, the session.
    let stored: i64 = match &c.app.db {
        evcms::Db::Postgres(pool) => sqlx::query_scalar(
            "SELECT COUNT(*) FROM meter_values WHERE charge_point_id = $1 AND sampled_at = $2",
        )
        .bind(&cp)
        .bind(sample_at)
        .fetch_one(pool)
        .await
        .unwrap(),
        evcms::Db::Sqlite { .. } => unreachable!("several nodes run on PostgreSQL"),
    };
    assert_eq!(stored, 1, "the sample A acknowledged is stored");
    assert_eq!(c.app.session_of(transaction_id).await["status"], "Active");

    // The charging charger moves to B and replays everything A may not have answered.
    drop(charging);
    let mut moved = Charger::connect(b.app.charger_config(&cp)).await.unwrap();
    moved.boot().await.unwrap();
    let again = moved
        .start_transaction(1, &site.id_tag, 1000, started_at)
        .await
        .expect("the replayed start");
    assert_eq!(
        again.transaction_id, transaction_id,
        "the replayed Start is the same transaction"
    );
    let reply = moved.call_raw("MeterValues", sample).await.unwrap();
    assert!(matches!(reply, Reply::Result(_)), "{reply:?}");
    let stop = json!({"transactionId": transaction_id, "meterStop": 3000,
        "timestamp": (started_at + chrono::Duration::minutes(9)).to_rfc3339(), "reason": "Local"});
    for _ in 0..2 {
        let reply = moved
            .call_raw("StopTransaction", stop.clone())
            .await
            .unwrap();
        assert!(matches!(reply, Reply::Result(_)), "{reply:?}");
    }
    let listed = charger_when(c, &cp, Duration::from_secs(5), |ch| ch["connected"] == true).await;
    assert_eq!(listed["node_id"], b.id);

    let (_, page) = c.app.get("/api/cms/sessions?limit=100").await;
    let sessions: Vec<&Value> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["transaction_id"] == json!(transaction_id))
        .collect();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert_eq!(sessions[0]["status"], "Completed", "{:?}", sessions[0]);
    assert_eq!(sessions[0]["energy_wh"], json!(2000), "{:?}", sessions[0]);
    let debits = c.app.debits(&site).await;
    assert_eq!(debits.len(), 1, "{debits:?}");
    ledger_adds_up(&c.app, &site).await;
    drop(stays);
    drop(left_behind);
}
