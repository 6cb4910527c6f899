//! A network at once: chargers that connect, boot, report, authorize, start and stop all together
//! share the writer's batches (`evcms::ocpp::batcher`), and the handshakes share their credential
//! reads (`evcms::ocpp::identity`). Each charger must still get its own answers, each only once
//! its data is stored, and billing must stay exactly once: a repeated Start gets its first
//! transaction id, a repeated Stop bills nothing more. Real server, real database (both), strict
//! simulated chargers; one charger in four must authenticate with its own key.

mod common;

use std::sync::Arc;

use chrono::Utc;
use common::ocpp::{anomaly, assert_ledger_consistent, balance, money};
use common::{Backend, TestApp};
use evcms_sim::ocpp::types::{
    AuthorizationStatus, ChargePointErrorCode, ChargePointStatus, Reason, RegistrationStatus,
};
use evcms_sim::{Charger, ChargerConfig};
use serde_json::json;
use tokio::sync::Barrier;

both_databases!(
    a_whole_network_at_once_is_set_up_and_billed_exactly_once,
    stops_of_one_wallet_arriving_together_are_debited_in_turn,
    one_tag_starting_on_two_chargers_at_once_is_accepted_once,
    authorizes_arriving_together_are_each_judged_on_their_own_tag
);

const CHARGERS: usize = 32;
const METER_START: i32 = 100_000;

/// What one charger did.
struct Run {
    transaction_id: i32,
    meter_stop: i32,
}

async fn a_whole_network_at_once_is_set_up_and_billed_exactly_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let mut sites = Vec::new();
    let mut configs = Vec::new();
    for n in 0..CHARGERS {
        let site = app.site("100.00").await;
        let mut config = app.charger_config(&site.device_id);
        if n % 4 == 0 {
            let key = format!("storm-key-{n:04}-0123456789");
            app.require_key(&site.device_id, &key).await;
            config.basic_auth_password = Some(key);
        }
        configs.push(config);
        sites.push(site);
    }
    // Every charger waits for the others before each step, so the messages of a step reach
    // evcms together.
    let before = app.metrics_text().await;
    let together = Arc::new(Barrier::new(CHARGERS));
    let mut chargers = tokio::task::JoinSet::new();
    for (n, (config, site)) in configs.into_iter().zip(&sites).enumerate() {
        let tag = site.id_tag.clone();
        chargers.spawn(charge(config, tag, n, together.clone()));
    }
    let mut runs = Vec::new();
    while let Some(run) = chargers.join_next().await {
        runs.push(run.expect("a charger's task panicked"));
    }
    runs.sort_by_key(|(n, _)| *n);

    for ((_, run), site) in runs.iter().zip(&sites) {
        let session = app.session_of(run.transaction_id).await;
        assert_eq!(session["status"], "Completed", "{session}");
        assert_eq!(
            session["energy_wh"],
            json!(i64::from(run.meter_stop - METER_START)),
            "{session}"
        );
        let debits = app.debits(site).await;
        assert_eq!(debits.len(), 1, "one debit per session: {debits:?}");
        assert_eq!(
            money(&debits[0]["amount"]),
            money(&session["billed_amount"]),
            "the debit is the session's bill"
        );
        assert_ledger_consistent(&app, site).await;
    }
    let ids: std::collections::HashSet<i32> = runs.iter().map(|(_, r)| r.transaction_id).collect();
    assert_eq!(ids.len(), CHARGERS, "every transaction has its own id");
    // Every first Start went through the set-based opening.
    assert_counted(
        &app,
        &before,
        "charging_starts_opened_together_total",
        CHARGERS,
    )
    .await;
}

/// One charger's day, each step taken together with the others.
async fn charge(
    config: ChargerConfig,
    tag: String,
    n: usize,
    together: Arc<Barrier>,
) -> (usize, Run) {
    let id = config.id.clone();
    together.wait().await;
    let mut cp = Charger::connect(config)
        .await
        .unwrap_or_else(|e| panic!("{id} could not connect: {e}"));
    let boot = cp.boot().await.expect("BootNotification answered");
    assert_eq!(boot.status, RegistrationStatus::Accepted, "{id}");
    together.wait().await;
    for (connector, status) in [
        (0, ChargePointStatus::Available),
        (1, ChargePointStatus::Preparing),
    ] {
        cp.status(connector, status, ChargePointErrorCode::NoError)
            .await
            .expect("StatusNotification answered");
    }
    let authorized = cp.authorize(&tag).await.expect("Authorize answered");
    assert_eq!(
        authorized.id_tag_info.status,
        AuthorizationStatus::Accepted,
        "{id}"
    );
    together.wait().await;
    let at = Utc::now();
    let start = cp
        .start_transaction(1, &tag, METER_START, at)
        .await
        .expect("StartTransaction answered");
    assert_eq!(
        start.id_tag_info.status,
        AuthorizationStatus::Accepted,
        "{id}"
    );
    // The answer was "lost": the same Start again gets the same transaction.
    let again = cp
        .start_transaction(1, &tag, METER_START, at)
        .await
        .expect("the repeated StartTransaction answered");
    assert_eq!(again.transaction_id, start.transaction_id, "{id}");
    cp.status(
        1,
        ChargePointStatus::Charging,
        ChargePointErrorCode::NoError,
    )
    .await
    .expect("StatusNotification answered");
    let meter_stop = METER_START + 1_000 + i32::try_from(n).unwrap() * 10;
    let sample = Charger::sample(Utc::now(), i64::from(meter_stop - 500), 7_400);
    cp.meter_values(1, Some(start.transaction_id), vec![sample])
        .await
        .expect("MeterValues answered");
    together.wait().await;
    let stopped_at = Utc::now();
    for _ in 0..2 {
        cp.stop_transaction(
            start.transaction_id,
            meter_stop,
            stopped_at,
            Some(Reason::Local),
            Some(&tag),
        )
        .await
        .expect("StopTransaction answered, the repeated one too");
    }
    assert!(
        cp.schema_violations().is_empty(),
        "{id}: {:?}",
        cp.schema_violations()
    );
    (
        n,
        Run {
            transaction_id: start.transaction_id,
            meter_stop,
        },
    )
}

/// Stops arriving together are settled together (`evcms::charging::stops`): a dozen sessions
/// charged to one wallet, stopped in the same instant, are each debited once, in turn, every
/// ledger row carrying the balance after it; the debits that overdraw the wallet say so on
/// their sessions, the others do not.
async fn stops_of_one_wallet_arriving_together_are_debited_in_turn(backend: Backend) {
    const STOPPING: usize = 12;
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let wallet = app.site("50.00").await;
    let customer_id = wallet.customer["id"].as_i64().unwrap();
    let mut chargers = Vec::new();
    for n in 0..STOPPING {
        let site = app.site("0").await;
        let tag = format!("{}-{n}", wallet.id_tag);
        app.id_tag(customer_id, &tag, false, None).await;
        let mut cp = app.charger(&site.device_id).await;
        cp.boot().await.expect("BootNotification answered");
        let start = cp
            .start_transaction(1, &tag, METER_START, Utc::now())
            .await
            .expect("StartTransaction answered");
        assert_eq!(start.id_tag_info.status, AuthorizationStatus::Accepted);
        chargers.push((cp, start.transaction_id, tag));
    }
    let before = app.metrics_text().await;
    let together = Arc::new(Barrier::new(STOPPING));
    let mut stopping = tokio::task::JoinSet::new();
    for (n, (mut cp, transaction_id, tag)) in chargers.into_iter().enumerate() {
        let together = together.clone();
        stopping.spawn(async move {
            // 1.000 to 1.110 kWh: 21.83 to 24.23 each, so the wallet runs dry on the way.
            let meter_stop = METER_START + 1_000 + i32::try_from(n).unwrap() * 10;
            together.wait().await;
            cp.stop_transaction(transaction_id, meter_stop, Utc::now(), None, Some(&tag))
                .await
                .expect("StopTransaction answered");
            assert!(
                cp.schema_violations().is_empty(),
                "{:?}",
                cp.schema_violations()
            );
            (transaction_id, meter_stop)
        });
    }
    let mut billed = 0.0;
    let mut sessions = std::collections::HashMap::new();
    while let Some(stopped) = stopping.join_next().await {
        let (transaction_id, meter_stop) = stopped.expect("a charger's task panicked");
        let session = app.session_of(transaction_id).await;
        assert_eq!(session["status"], "Completed", "{session}");
        assert_eq!(
            session["energy_wh"],
            json!(i64::from(meter_stop - METER_START)),
            "{session}"
        );
        billed += session["billed_amount"].as_f64().unwrap();
        sessions.insert(session["session_id"].as_str().unwrap().to_owned(), session);
    }
    assert_ledger_consistent(&app, &wallet).await;
    assert_eq!(
        balance(&app, &wallet).await,
        format!("{:.2}", 50.0 - billed)
    );
    let debits = app.debits(&wallet).await;
    assert_eq!(debits.len(), STOPPING, "one debit per session: {debits:?}");
    for debit in &debits {
        let session = &sessions[debit["reference_id"].as_str().unwrap()];
        assert_eq!(money(&debit["amount"]), money(&session["billed_amount"]));
        let overdrawn = debit["balance"].as_f64().unwrap() < 0.0;
        assert_eq!(
            anomaly(session).contains("overdrawn"),
            overdrawn,
            "the session says whether its debit overdrew the wallet: {session}"
        );
    }
    // Every Stop went through the set-based settlement.
    assert_counted(
        &app,
        &before,
        "charging_stops_settled_together_total",
        STOPPING,
    )
    .await;
}

/// Counter `name` grew by at least `at_least` since the metrics `before` (at least: the tests
/// running beside this one in the process count too).
async fn assert_counted(app: &TestApp, before: &str, name: &str, at_least: usize) {
    let counter = |metrics: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .map_or(0.0, |v| v.parse().unwrap())
    };
    let grown = counter(&app.metrics_text().await) - counter(before);
    assert!(
        grown >= at_least as f64,
        "{name} grew by {grown}, not {at_least}"
    );
}

/// Starts arriving together are opened together (`evcms::charging::starts`), but never two of
/// one idTag: of two chargers starting with the same tag in the same instant, one is Accepted and
/// the other told ConcurrentTx, for each of eight tags started at once.
async fn one_tag_starting_on_two_chargers_at_once_is_accepted_once(backend: Backend) {
    const TAGS: usize = 8;
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let together = Arc::new(Barrier::new(TAGS * 2));
    let mut starting = tokio::task::JoinSet::new();
    for _ in 0..TAGS {
        let site = app.site("50.00").await;
        let other = app.site("0").await;
        for device_id in [&site.device_id, &other.device_id] {
            let mut cp = app.charger(device_id).await;
            cp.boot().await.expect("BootNotification answered");
            let (tag, together) = (site.id_tag.clone(), together.clone());
            starting.spawn(async move {
                together.wait().await;
                let start = cp
                    .start_transaction(1, &tag, METER_START, Utc::now())
                    .await
                    .expect("StartTransaction answered");
                assert!(
                    cp.schema_violations().is_empty(),
                    "{:?}",
                    cp.schema_violations()
                );
                (tag, start.id_tag_info.status)
            });
        }
    }
    let mut verdicts: std::collections::HashMap<String, Vec<AuthorizationStatus>> =
        std::collections::HashMap::new();
    while let Some(started) = starting.join_next().await {
        let (tag, status) = started.expect("a charger's task panicked");
        verdicts.entry(tag).or_default().push(status);
    }
    for (tag, mut statuses) in verdicts {
        statuses.sort_by_key(|s| format!("{s:?}"));
        assert_eq!(
            statuses,
            vec![
                AuthorizationStatus::Accepted,
                AuthorizationStatus::ConcurrentTx
            ],
            "{tag}"
        );
    }
}

/// Authorizes arriving together are read together (`evcms::ocpp::tag_holders`), and each still
/// gets the verdict on its own tag: known (in any letter case), unknown, blocked, or already
/// charging elsewhere.
async fn authorizes_arriving_together_are_each_judged_on_their_own_tag(backend: Backend) {
    const EACH: usize = 5;
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let mut asked = Vec::new();
    for n in 0..EACH {
        let site = app.site("50.00").await;
        asked.push((site.id_tag.clone(), AuthorizationStatus::Accepted));
        asked.push((site.id_tag.to_lowercase(), AuthorizationStatus::Accepted));
        asked.push((format!("UNKNOWN-{n}"), AuthorizationStatus::Invalid));
        let blocked = common::unique("BLOCKED");
        app.id_tag(site.customer["id"].as_i64().unwrap(), &blocked, true, None)
            .await;
        asked.push((blocked, AuthorizationStatus::Blocked));
        let charging = app.site("50.00").await;
        let mut cp = app.charger(&charging.device_id).await;
        cp.boot().await.expect("BootNotification answered");
        let start = cp
            .start_transaction(1, &charging.id_tag, METER_START, Utc::now())
            .await
            .expect("StartTransaction answered");
        assert_eq!(start.id_tag_info.status, AuthorizationStatus::Accepted);
        asked.push((charging.id_tag, AuthorizationStatus::ConcurrentTx));
    }
    let mut chargers = Vec::new();
    for _ in &asked {
        let site = app.site("0").await;
        let mut cp = app.charger(&site.device_id).await;
        cp.boot().await.expect("BootNotification answered");
        chargers.push(cp);
    }
    let before = app.metrics_text().await;
    let together = Arc::new(Barrier::new(asked.len()));
    let mut authorizing = tokio::task::JoinSet::new();
    for ((tag, expected), mut cp) in asked.iter().cloned().zip(chargers) {
        let together = together.clone();
        authorizing.spawn(async move {
            together.wait().await;
            let answer = cp.authorize(&tag).await.expect("Authorize answered");
            assert!(
                cp.schema_violations().is_empty(),
                "{:?}",
                cp.schema_violations()
            );
            (tag, expected, answer.id_tag_info.status)
        });
    }
    while let Some(answered) = authorizing.join_next().await {
        let (tag, expected, status) = answered.expect("a charger's task panicked");
        assert_eq!(status, expected, "{tag}");
    }
    let read = |metrics: &str, name: &str| -> f64 {
        let series = format!("{name}{{read=\"id_tag_holders\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(series.as_str()))
            .map_or(0.0, |v| v.parse().unwrap())
    };
    let after = app.metrics_text().await;
    let keys = read(&after, "ocpp_grouped_read_keys_total")
        - read(&before, "ocpp_grouped_read_keys_total");
    let reads =
        read(&after, "ocpp_grouped_reads_total") - read(&before, "ocpp_grouped_reads_total");
    // The counters are the process's: tests running beside this one add to them.
    assert!(
        keys >= asked.len() as f64,
        "{keys} grouped keys: not every Authorize was read grouped"
    );
    assert!(
        reads < keys,
        "{keys} Authorizes at once took {reads} reads: none were read together"
    );
}
