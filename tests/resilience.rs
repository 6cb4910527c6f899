//! "Acknowledged means stored", through crashes and outages: what a charger got a CALLRESULT for
//! is in the database after kill -9; a restart lists no charger as connected; during a database
//! outage chargers get CALLERRORs (never a success) and the REST API answers 503 quickly; after
//! it, everything works again without a restart. On SQLite and PostgreSQL.

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use chrono::{DateTime, SubsecRound, Utc};
use common::{Backend, ServerProcess, TestApp, TestDb};
use evcms_sim::ocpp::types::{ChargePointErrorCode, ChargePointStatus};
use evcms_sim::{Charger, Reply, SimError};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

both_databases!(
    what_was_acknowledged_survives_kill_9_and_a_restart_lists_no_charger_connected,
    a_refused_sample_fails_only_its_own_message,
);

/// A MeterValues of one energy register reading at `at`.
fn meter_values(transaction_id: Option<i32>, at: DateTime<Utc>, wh: i64) -> Value {
    json!({"connectorId": 1, "transactionId": transaction_id, "meterValue": [
        {"timestamp": at.to_rfc3339(), "sampledValue": [
            {"value": wh.to_string(), "measurand": "Energy.Active.Import.Register", "unit": "Wh", "context": "Sample.Periodic"}
        ]}
    ]})
}

/// Whole seconds: a time that reads back equal from either database.
fn second(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(0)
}

/// The sample times stored for `charger`.
async fn stored_times(db: &evcms::Db, charger: &str) -> BTreeSet<DateTime<Utc>> {
    let sql = "SELECT sampled_at FROM meter_values WHERE charge_point_id = $1";
    let times: Vec<DateTime<Utc>> =
        evcms::on_read!(db, pool => sqlx::query_scalar(sql).bind(charger).fetch_all(pool).await)
            .expect("meter values");
    times.into_iter().collect()
}

async fn boot(app: &TestApp, id: &str) -> Charger {
    let mut config = app.charger_config(id);
    config.call_timeout = Duration::from_secs(30);
    let mut charger = Charger::connect(config).await.expect("connects");
    charger.boot().await.expect("boot");
    charger
}

/// A charger sends MeterValues one after another until its connection dies, and keeps the
/// times of those that got a CALLRESULT.
async fn send_until_killed(mut charger: Charger, first: DateTime<Utc>) -> BTreeSet<DateTime<Utc>> {
    let mut acknowledged = BTreeSet::new();
    for n in 0..100_000 {
        let at = first + chrono::Duration::seconds(n);
        match charger
            .call_raw("MeterValues", meter_values(None, at, 1000 + n))
            .await
        {
            Ok(Reply::Result(_)) => {
                acknowledged.insert(at);
            }
            Ok(Reply::Error { code, .. }) => panic!("a CALLERROR ({code}) with the database up"),
            Err(_) => break,
        }
    }
    acknowledged
}

async fn what_was_acknowledged_survives_kill_9_and_a_restart_lists_no_charger_connected(
    backend: Backend,
) {
    let Some(db) = TestDb::fresh(backend).await else {
        return;
    };
    let server = ServerProcess::start(&db);
    let app = TestApp::attach(&server, &db).await;
    let site = app.site("500").await;
    let mut charger = boot(&app, &site.device_id).await;
    let start = charger
        .start_transaction(1, &site.id_tag, 1000, Utc::now())
        .await
        .expect("start");
    let transaction_id = start.transaction_id;

    // Other chargers keep MeterValues coming while the adopted one reports and stops.
    let base = second(Utc::now()) - chrono::Duration::days(1);
    let mut senders = Vec::new();
    let mut others = Vec::new();
    for _ in 0..4 {
        let id = common::unique("CP-LOAD");
        let other = boot(&app, &id).await;
        senders.push(tokio::spawn(send_until_killed(other, base)));
        others.push(id);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    charger
        .status(
            1,
            ChargePointStatus::Charging,
            ChargePointErrorCode::NoError,
        )
        .await
        .expect("status");
    let sample_at = second(Utc::now()) - chrono::Duration::minutes(5);
    let reply = charger
        .call_raw(
            "MeterValues",
            meter_values(Some(transaction_id), sample_at, 1500),
        )
        .await
        .unwrap();
    assert!(matches!(reply, Reply::Result(_)), "{reply:?}");
    let end_at = second(Utc::now()) - chrono::Duration::minutes(1);
    let stop = json!({"transactionId": transaction_id, "meterStop": 3000, "timestamp": Utc::now().to_rfc3339(),
        "reason": "Local", "transactionData": [{"timestamp": end_at.to_rfc3339(), "sampledValue": [
            {"value": "3000", "context": "Transaction.End", "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]}]});
    let reply = charger.call_raw("StopTransaction", stop).await.unwrap();
    assert!(matches!(reply, Reply::Result(_)), "{reply:?}");
    let last_at = second(Utc::now());
    let reply = charger
        .call_raw("MeterValues", meter_values(None, last_at, 3000))
        .await
        .unwrap();
    assert!(matches!(reply, Reply::Result(_)), "{reply:?}");
    // Killed the moment the last reply is in, with other chargers' MeterValues in flight.
    server.kill();

    let mut acknowledged_total = 0;
    for (id, sender) in others.iter().zip(senders) {
        let acknowledged = sender.await.unwrap();
        acknowledged_total += acknowledged.len();
        let stored = stored_times(&app.db, id).await;
        let lost: Vec<_> = acknowledged.difference(&stored).collect();
        assert!(
            lost.is_empty(),
            "{id}: {} acknowledged MeterValues not stored: {lost:?}",
            lost.len()
        );
    }
    assert!(acknowledged_total > 0, "the other chargers sent nothing");

    let stored = stored_times(&app.db, &site.device_id).await;
    for at in [sample_at, end_at, last_at] {
        assert!(
            stored.contains(&at),
            "the sample at {at} is lost: {stored:?}"
        );
    }
    let point_id = site.point["id"].as_i64().unwrap();
    let sql = "SELECT status FROM connectors WHERE charging_point_id = $1 AND connector_id = '1'";
    let status: String = evcms::on_read!(&app.db, pool => sqlx::query_scalar(sql).bind(point_id).fetch_one(pool).await)
        .unwrap();
    assert_eq!(status, "Charging");
    let sql = "SELECT status FROM charging_sessions WHERE transaction_id = $1";
    let session: String = evcms::on_read!(&app.db, pool => sqlx::query_scalar(sql).bind(i64::from(transaction_id)).fetch_one(pool).await)
        .unwrap();
    assert_eq!(session, "Completed");
    let sql = "SELECT COUNT(*) FROM meter_values WHERE session_id IS NOT NULL AND context = 'Transaction.End' AND charge_point_id = $1";
    let end_samples: i64 = evcms::on_read!(&app.db, pool => sqlx::query_scalar(sql).bind(&site.device_id).fetch_one(pool).await)
        .unwrap();
    assert_eq!(
        end_samples, 1,
        "the Stop's transactionData is stored with its session"
    );

    // The crash left the rows saying connected; a restart sets them straight.
    let sql = "SELECT COUNT(*) FROM chargers WHERE connected = TRUE";
    let left: i64 =
        evcms::on_read!(&app.db, pool => sqlx::query_scalar(sql).fetch_one(pool).await).unwrap();
    assert_eq!(left, 5, "kill -9 recorded no disconnection");
    drop(app);
    let server = ServerProcess::start(&db);
    let app = TestApp::attach(&server, &db).await;
    let (status, page) = app.get("/api/cms/chargers?connected=true").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["data"], json!([]), "{page}");
    let (_, page) = app.get("/api/cms/chargers?connected=false").await;
    assert_eq!(page["data"].as_array().unwrap().len(), 5, "{page}");
    for charger in page["data"].as_array().unwrap() {
        assert!(!charger["disconnected_at"].is_null(), "{charger}");
    }
    // A charger that comes back is connected again.
    let _charger = boot(&app, &site.device_id).await;
    let (_, page) = app.get("/api/cms/chargers?connected=true").await;
    assert_eq!(page["data"].as_array().unwrap().len(), 1, "{page}");
}

/// A trigger makes the database refuse one kind of sample (Temperature): a real refusal by the
/// real database, of one row among good ones.
async fn refuse_temperature_samples(app: &TestApp) {
    match &app.db {
        evcms::Db::Sqlite { write, .. } => {
            sqlx::raw_sql(concat!(
                "CREATE TRIGGER refuse_temperature BEFORE INSERT ON meter_values ",
                "WHEN NEW.measurand = 'Temperature' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
            ))
            .execute(write)
            .await
            .unwrap();
        }
        evcms::Db::Postgres(pool) => {
            sqlx::raw_sql(concat!(
                "CREATE FUNCTION refuse_temperature() RETURNS trigger AS $$ ",
                "BEGIN RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql; ",
                "CREATE TRIGGER refuse_temperature BEFORE INSERT ON meter_values FOR EACH ROW ",
                "WHEN (NEW.measurand = 'Temperature') EXECUTE FUNCTION refuse_temperature();"
            ))
            .execute(pool)
            .await
            .unwrap();
        }
    }
}

async fn a_refused_sample_fails_only_its_own_message(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    refuse_temperature_samples(&app).await;
    let mut chargers = Vec::new();
    for _ in 0..8 {
        let id = common::unique("CP-BATCH");
        chargers.push((id.clone(), boot(&app, &id).await));
    }
    let at = second(Utc::now());
    // Sent together, so they tend to share a batch; the outcome must be the same either way.
    let sends = chargers
        .into_iter()
        .enumerate()
        .map(|(n, (id, mut charger))| async move {
            let mut message = meter_values(None, at, 1000);
            if n == 3 {
                message["meterValue"][0]["sampledValue"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"value": "21.5", "measurand": "Temperature", "unit": "Celsius"}));
            }
            let reply = charger.call_raw("MeterValues", message).await.unwrap();
            (n, id, reply, charger)
        });
    let replies = futures_join_all(sends).await;
    for (n, id, reply, _) in &replies {
        let stored = stored_times(&app.db, id).await;
        if *n == 3 {
            assert!(
                matches!(reply, Reply::Error { code, .. } if code == "InternalError"),
                "{reply:?}"
            );
            assert!(stored.is_empty(), "none of a refused message is kept");
        } else {
            assert!(matches!(reply, Reply::Result(_)), "{n}: {reply:?}");
            assert_eq!(stored, BTreeSet::from([at]), "{id}");
        }
    }
    // The refused charger's next message, without the bad sample, is stored.
    let (_, id, _, mut charger) = replies.into_iter().nth(3).unwrap();
    let reply = charger
        .call_raw("MeterValues", meter_values(None, at, 1000))
        .await
        .unwrap();
    assert!(matches!(reply, Reply::Result(_)), "{reply:?}");
    assert_eq!(stored_times(&app.db, &id).await, BTreeSet::from([at]));
}

/// `futures::future::join_all` without the crate: each future on a task of its own.
async fn futures_join_all<F, T>(futures: impl IntoIterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

/// A TCP proxy in front of PostgreSQL that the test can cut: during an outage it drops every
/// connection it carries and closes new ones at once, as a database host that went away.
struct Proxy {
    addr: SocketAddr,
    up: watch::Sender<bool>,
}

impl Proxy {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (up, _) = watch::channel(true);
        let state = up.subscribe();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !*state.borrow() {
                    drop(inbound);
                    continue;
                }
                let mut down = state.clone();
                let target = target.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = down.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Self { addr, up }
    }

    fn outage(&self) {
        self.up.send_replace(false);
    }

    fn resume(&self) {
        self.up.send_replace(true);
    }
}

/// `postgres://user@host:port/db` with `host:port` replaced by `addr`, and the `host:port` it had.
fn through(url: &str, addr: SocketAddr) -> (String, String) {
    let (head, rest) = url.split_once('@').expect("a user in the URL");
    let (host, path) = rest.split_once('/').expect("a database in the URL");
    let host = if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:5432")
    };
    (format!("{head}@{addr}/{path}"), host)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_outage_gets_call_errors_and_503_and_recovers_without_a_restart() {
    let Some((mut config, db)) = TestApp::config(Backend::Postgres).await else {
        return;
    };
    let (_, target) = through(&db.url, "127.0.0.1:1".parse().unwrap());
    let proxy = Proxy::start(target).await;
    config.database_url = through(&db.url, proxy.addr).0;
    let app = TestApp::spawn_with(config, db, reqwest::Client::builder).await;
    let site = app.site("500").await;
    let mut charger = boot(&app, &site.device_id).await;
    let transaction_id = charger
        .start_transaction(1, &site.id_tag, 1000, Utc::now())
        .await
        .expect("start")
        .transaction_id;
    let before = second(Utc::now()) - chrono::Duration::minutes(10);
    let reply = charger
        .call_raw(
            "MeterValues",
            meter_values(Some(transaction_id), before, 1200),
        )
        .await
        .unwrap();
    assert!(matches!(reply, Reply::Result(_)), "{reply:?}");
    let leaver = boot(&app, &common::unique("CP-LEAVER")).await;
    let leaver_id = leaver.id().to_owned();

    proxy.outage();
    // A charger that leaves during the outage is recorded as gone once the database is back.
    leaver.close().await.unwrap();
    let during = before + chrono::Duration::minutes(1);
    let asked = Instant::now();
    let reply = charger
        .call_raw(
            "MeterValues",
            meter_values(Some(transaction_id), during, 1400),
        )
        .await
        .unwrap();
    assert!(
        matches!(&reply, Reply::Error { code, .. } if code == "InternalError"),
        "a MeterValues during the outage: {reply:?}"
    );
    assert!(
        asked.elapsed() < Duration::from_secs(20),
        "{:?}",
        asked.elapsed()
    );
    let asked = Instant::now();
    let (status, body) = app.get("/api/cms/chargers").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "database_unavailable", "{body}");
    assert!(
        asked.elapsed() < Duration::from_secs(8),
        "{:?}",
        asked.elapsed()
    );
    let stop = charger
        .stop_transaction(transaction_id, 2000, Utc::now(), None, Some(&site.id_tag))
        .await;
    assert!(
        matches!(&stop, Err(SimError::CallError { code, .. }) if code == "InternalError"),
        "a StopTransaction during the outage: {stop:?}"
    );

    // Load balancers see it: not ready, the database named.
    let (status, ready) = app.get("/api/ready").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    assert_eq!(ready["database"], false, "{ready}");
    // Liveness stays up (no orchestrator restarts the node over the database), saying degraded.
    let (status, health) = app.get("/api/health").await;
    assert_eq!(status, StatusCode::OK, "{health}");
    assert_eq!(health["status"], "degraded", "{health}");

    // One that connects now is turned away: its handshake cannot be checked, nor recorded.
    let newcomer = Charger::connect(app.charger_config(&common::unique("CP-NEW"))).await;
    assert!(
        matches!(
            newcomer,
            Err(SimError::Handshake {
                status: Some(503),
                ..
            })
        ),
        "a connection during the outage: {:?}",
        newcomer.map(|c| c.id().to_owned())
    );

    proxy.resume();
    let recovered = Instant::now();
    loop {
        let (status, body) = app.get("/api/cms/chargers").await;
        if status == StatusCode::OK {
            break;
        }
        assert!(
            recovered.elapsed() < Duration::from_secs(15),
            "still {status} after the outage: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let after = during + chrono::Duration::minutes(1);
    let reply = charger
        .call_raw(
            "MeterValues",
            meter_values(Some(transaction_id), after, 1600),
        )
        .await
        .unwrap();
    assert!(
        matches!(reply, Reply::Result(_)),
        "after the outage: {reply:?}"
    );
    charger
        .stop_transaction(transaction_id, 2000, Utc::now(), None, Some(&site.id_tag))
        .await
        .expect("the Stop, sent again, settles");

    let stored = stored_times(&app.db, &site.device_id).await;
    assert_eq!(
        stored,
        BTreeSet::from([before, after]),
        "only what was acknowledged"
    );
    let session = app.session_of(transaction_id).await;
    assert_eq!(session["status"], "Completed", "{session}");
    assert_eq!(session["energy_wh"], 1000, "{session}");
    let (status, _) = app.get("/api/health").await;
    assert_eq!(status, StatusCode::OK);
    let (status, ready) = app.get("/api/ready").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "ready again without a restart: {ready}"
    );
    let sql = "SELECT connected FROM chargers WHERE charge_point_id = $1";
    let mut connected = true;
    for _ in 0..150 {
        connected = evcms::on_read!(&app.db, pool => sqlx::query_scalar(sql).bind(&leaver_id).fetch_one(pool).await)
            .unwrap();
        if !connected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        !connected,
        "the disconnection during the outage was never recorded"
    );
}

/// SQLite has no server to lose, and a read-only file does not stop root (the tests' user here).
/// Another process holding the write lock is its outage: writes fail with SQLITE_BUSY after the
/// busy timeout, and the charger must get a CALLERROR, then succeed once the lock is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_sqlite_database_gets_call_errors_and_recovers() {
    use sqlx::Connection;
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let mut charger = boot(&app, &common::unique("CP-LOCK")).await;
    let id = charger.id().to_owned();
    let before = second(Utc::now()) - chrono::Duration::minutes(10);
    let reply = charger
        .call_raw("MeterValues", meter_values(None, before, 1000))
        .await
        .unwrap();
    assert!(matches!(reply, Reply::Result(_)), "{reply:?}");

    let url = match &app.db {
        evcms::Db::Sqlite { write, .. } => write.connect_options().get_filename().to_owned(),
        evcms::Db::Postgres(_) => unreachable!(),
    };
    let mut other = sqlx::SqliteConnection::connect(&format!("sqlite://{}", url.display()))
        .await
        .unwrap();
    sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();
    let during = before + chrono::Duration::minutes(1);
    let reply = charger
        .call_raw("MeterValues", meter_values(None, during, 1100))
        .await
        .unwrap();
    assert!(
        matches!(&reply, Reply::Error { code, .. } if code == "InternalError"),
        "a MeterValues while the database is locked: {reply:?}"
    );
    sqlx::raw_sql("ROLLBACK").execute(&mut other).await.unwrap();
    other.close().await.unwrap();

    let after = during + chrono::Duration::minutes(1);
    let reply = charger
        .call_raw("MeterValues", meter_values(None, after, 1200))
        .await
        .unwrap();
    assert!(matches!(reply, Reply::Result(_)), "{reply:?}");
    assert_eq!(
        stored_times(&app.db, &id).await,
        BTreeSet::from([before, after])
    );
}
