//! A storm's large batches are written another way than a single message's rows (on
//! PostgreSQL through COPY, from `evcms::db::copy::WORTH_COPYING` rows, and joined to their
//! tables as arrays, from more than `evcms::db::ROWS_PER_STATEMENT`): what either way stores
//! must read back the same, whatever the text holds. Real database, both.

mod common;

use chrono::{DateTime, TimeZone, Utc};
use common::{Backend, TestApp, numbers_by_value, unique};
use evcms::db::copy::WORTH_COPYING;
use evcms::db::filter::{PageRequest, Sort};
use evcms::db::meter_values::{self, SampleRow};
use evcms::db::ocpp_messages::{self, MessageFilter, MessageRow};
use evcms::db::transactions::{self, Settlement, many};
use evcms::db::wallet::{self, LedgerEntry, LedgerFilter};
use evcms::db::{meter_values_read, sessions};
use evcms::domain::enums::{Currency, SessionStatus, SettledBy, WalletTransactionType};
use evcms::domain::session::NewSession;
use evcms::fixed::Money;
use serde_json::Value;

both_databases!(
    logged_frames_read_back_alike_however_many_are_written,
    sessions_and_their_samples_read_back_alike_however_many_are_written,
    ledger_rows_read_back_alike_however_many_are_written,
    sessions_close_alike_however_many_close_together,
    wallets_debited_alike_however_many_together
);

/// Text that COPY's format reads specially (tab, newline, carriage return, backslash, its NULL
/// marker), and text that is merely unusual.
const AWKWARD: &str =
    "tab\there, line\nbreak, return\r, back\\slash, \\N, quote' \"double\", ünïcödé ✓";
/// The same for columns of 30 characters at most.
const AWKWARD_SHORT: &str = "tab\t nl\n cr\r bs\\ \\N ü ✓";
const MANY: usize = WORTH_COPYING + 36;

fn at(micros: u32) -> DateTime<Utc> {
    // Nanoseconds beyond the microsecond: both ways must keep the same microsecond.
    Utc.timestamp_opt(1_780_000_000, micros * 1_000 + 999)
        .unwrap()
}

fn page() -> PageRequest {
    PageRequest {
        page: 1,
        limit: 1_000,
    }
}

/// `value` without the fields that tell rows apart.
fn without(mut value: Value, fields: &[&str]) -> Value {
    for field in fields {
        value.as_object_mut().expect("an object").remove(*field);
    }
    value
}

async fn logged_frames_read_back_alike_however_many_are_written(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let frames = |charger: &str, n: usize| -> Vec<MessageRow> {
        (0..n)
            .map(|i| MessageRow {
                charge_point_id: charger.into(),
                direction: if i % 2 == 0 { "in" } else { "out" },
                message_type: if i % 2 == 0 { 2 } else { 3 },
                message_id: (i % 2 == 0).then(|| AWKWARD.to_owned()),
                action: (i % 2 == 0).then(|| "DataTransfer".to_owned()),
                payload: format!("[2,\"{i}\",\"DataTransfer\",{{\"data\":\"{AWKWARD}\"}}]"),
                at: at(1),
            })
            .collect()
    };
    let one = unique("LOG-ONE");
    let many = unique("LOG-MANY");
    let mut tx = app.db.begin().await.expect("transaction");
    for frame in frames(&one, 2) {
        ocpp_messages::insert(&mut tx, &[frame])
            .await
            .expect("one frame");
    }
    ocpp_messages::insert(&mut tx, &frames(&many, MANY))
        .await
        .expect("many frames");
    tx.commit().await.expect("commit");

    let read = |charger: String| {
        let db = app.db.clone();
        async move {
            let sort = Sort::new("id", false, "id");
            ocpp_messages::list(&db, &charger, &MessageFilter::default(), &sort, page())
                .await
                .expect("log")
                .rows
        }
    };
    let singles = read(one).await;
    let batch = read(many).await;
    assert_eq!(singles.len(), 2);
    assert_eq!(batch.len(), MANY);
    for (i, row) in batch.iter().enumerate() {
        let single = &singles[i % 2];
        let fields = ["id", "charge_point_id", "payload"];
        assert_eq!(
            without(serde_json::to_value(row).unwrap(), &fields),
            without(serde_json::to_value(single).unwrap(), &fields),
        );
        assert_eq!(
            row.payload,
            format!("[2,\"{i}\",\"DataTransfer\",{{\"data\":\"{AWKWARD}\"}}]")
        );
    }
}

fn new_session(point_id: i64, customer_id: i64) -> NewSession {
    NewSession {
        customer_id: Some(customer_id),
        id_tag: Some(AWKWARD.chars().take(20).collect()),
        meter_start_wh: Some(123_456),
        id_tag_status: Some("Accepted".into()),
        anomaly: Some(AWKWARD.into()),
        currency: Some(Currency::Inr),
        base_charges: Some("18.50".parse().unwrap()),
        tax: Some("18.00".parse().unwrap()),
        ..NewSession::started(unique("S"), point_id, at(2))
    }
}

fn sample(charger: &str, session_id: i64, n: usize) -> SampleRow {
    SampleRow {
        charge_point_id: charger.into(),
        connector_number: 1,
        session_id: Some(session_id),
        sampled_at: at(3),
        received_at: at(4),
        measurand: "Energy.Active.Import.Register".into(),
        phase: n.is_multiple_of(2).then(|| "L1".to_owned()),
        context: Some(AWKWARD_SHORT.into()),
        location: None,
        unit: Some("Wh".into()),
        value: "123456.789".parse().unwrap(),
    }
}

async fn sessions_and_their_samples_read_back_alike_however_many_are_written(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("0").await;
    let point_id = site.point["id"].as_i64().unwrap();
    let customer_id = site.customer["id"].as_i64().unwrap();
    let single = new_session(point_id, customer_id);
    let batch: Vec<NewSession> = (0..MANY)
        .map(|_| new_session(point_id, customer_id))
        .collect();
    let now = at(5);

    let mut tx = app.db.begin().await.expect("transaction");
    let single_ids = many::insert_sessions(&mut tx, &[&single], now)
        .await
        .expect("one session");
    let batch_ids = many::insert_sessions(&mut tx, &batch.iter().collect::<Vec<_>>(), now)
        .await
        .expect("many sessions");
    let single_id = single_ids[&single.session_id];
    meter_values::insert(&mut tx, &[sample(&site.device_id, single_id, 0)])
        .await
        .expect("one sample");
    meter_values::insert(&mut tx, &[sample(&site.device_id, single_id, 1)])
        .await
        .expect("one sample");
    let samples: Vec<SampleRow> = batch
        .iter()
        .enumerate()
        .map(|(n, s)| sample(&site.device_id, batch_ids[&s.session_id], n))
        .collect();
    meter_values::insert(&mut tx, &samples)
        .await
        .expect("many samples");
    tx.commit().await.expect("commit");

    let read_session = |session_id: String| {
        let db = app.db.clone();
        async move {
            let found = sessions::find(&db, &session_id).await.expect("session");
            serde_json::to_value(found.expect("the session is stored")).unwrap()
        }
    };
    let tells_apart = ["id", "session_id", "transaction_id"];
    let expected = without(read_session(single.session_id.clone()).await, &tells_apart);
    assert_eq!(expected["status"], SessionStatus::Active.as_str());
    assert_eq!(expected["anomaly"], AWKWARD);
    let single_samples = meter_values_read::list_of_session(&app.db, single_id, None, page())
        .await
        .expect("samples")
        .rows;
    assert_eq!(single_samples.len(), 2);
    for (n, s) in batch.iter().enumerate() {
        let record_id = batch_ids[&s.session_id];
        let stored = read_session(s.session_id.clone()).await;
        assert_eq!(
            stored["transaction_id"], record_id,
            "numbered by its record"
        );
        assert_eq!(without(stored, &tells_apart), expected);
        let samples = meter_values_read::list_of_session(&app.db, record_id, None, page())
            .await
            .expect("samples")
            .rows;
        assert_eq!(samples.len(), 1);
        assert_eq!(
            without(serde_json::to_value(&samples[0]).unwrap(), &["id"]),
            without(
                serde_json::to_value(&single_samples[n % 2]).unwrap(),
                &["id"]
            ),
        );
    }
}

async fn ledger_rows_read_back_alike_however_many_are_written(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("0").await;
    let customer_id = site.customer["id"].as_i64().unwrap();
    let entries: Vec<LedgerEntry> = (0..=MANY)
        .map(|n| LedgerEntry {
            transaction_type: WalletTransactionType::Credit,
            amount: "1.25".parse().unwrap(),
            floor: "0".parse().unwrap(),
            description: Some(AWKWARD.into()),
            reference_id: Some(format!("bulk-{n}")),
        })
        .collect();
    let mut tx = app.db.begin().await.expect("transaction");
    let first = wallet::apply_many(&mut tx, &[(customer_id, &entries[0])])
        .await
        .expect("one entry");
    let rest: Vec<(i64, &LedgerEntry)> = entries[1..].iter().map(|e| (customer_id, e)).collect();
    let after = wallet::apply_many(&mut tx, &rest)
        .await
        .expect("many entries");
    tx.commit().await.expect("commit");
    assert!(first[0].is_ok());
    assert!(after.iter().all(Result::is_ok), "{after:?}");

    let sort = Sort::new("id", false, "id");
    let rows = wallet::list(
        &app.db,
        customer_id,
        &LedgerFilter::default(),
        &sort,
        page(),
    )
    .await
    .expect("ledger")
    .rows;
    assert_eq!(rows.len(), MANY + 1);
    let tells_apart = ["id", "balance", "reference_id", "created_at"];
    let expected = without(serde_json::to_value(&rows[0]).unwrap(), &tells_apart);
    assert_eq!(expected["description"], AWKWARD);
    for (n, row) in rows.iter().enumerate() {
        // Each credit of 1.25 raised the balance it records.
        let credits = i64::try_from(n + 1).unwrap();
        assert_eq!(row.balance, Money::from_minor(125 * credits), "{row:?}");
        let row = serde_json::to_value(row).unwrap();
        assert_eq!(row["reference_id"], format!("bulk-{n}"));
        assert_eq!(without(row, &tells_apart), expected);
    }
}

fn settlement(n: usize) -> Settlement {
    Settlement {
        status: SessionStatus::Completed,
        end_time: at(6),
        meter_stop_wh: 200_000,
        energy_wh: 76_544,
        billed_amount: Some("123.45".parse().unwrap()),
        stop_reason: Some("Local".into()),
        anomaly: n.is_multiple_of(2).then(|| AWKWARD.to_owned()),
        settled_by: SettledBy::Charger,
        settled_by_user_id: None,
        settle_note: Some(AWKWARD.into()),
    }
}

/// One session closed alone and many closed together (locked by their transaction ids and their
/// chargers' points first, as a stop storm does) read back alike, and the live readings of many
/// move their sessions forward like one's.
async fn sessions_close_alike_however_many_close_together(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("0").await;
    let point_id = site.point["id"].as_i64().unwrap();
    let customer_id = site.customer["id"].as_i64().unwrap();
    let sessions: Vec<NewSession> = (0..=MANY)
        .map(|_| new_session(point_id, customer_id))
        .collect();
    let now = at(5);
    let mut tx = app.db.begin().await.expect("transaction");
    let ids = many::insert_sessions(&mut tx, &sessions.iter().collect::<Vec<_>>(), now)
        .await
        .expect("sessions");
    tx.commit().await.expect("commit");
    let record_ids: Vec<i64> = sessions.iter().map(|s| ids[&s.session_id]).collect();

    let readings = |ids: &[i64]| -> Vec<meter_values::LiveReading> {
        ids.iter()
            .map(|id| meter_values::LiveReading {
                session_id: *id,
                energy_wh: 5_000,
                running_cost: Some("7.25".parse().unwrap()),
                sampled_at: at(5),
            })
            .collect()
    };
    let mut tx = app.db.begin().await.expect("transaction");
    meter_values::apply_live(&mut tx, &readings(&record_ids[..1]))
        .await
        .expect("one reading");
    meter_values::apply_live(&mut tx, &readings(&record_ids[1..]))
        .await
        .expect("many readings");
    tx.commit().await.expect("commit");
    let read = |session_id: String| {
        let db = app.db.clone();
        async move {
            let found = sessions::find(&db, &session_id).await.expect("session");
            serde_json::to_value(found.expect("the session is stored")).unwrap()
        }
    };
    let tells_apart = ["id", "session_id", "transaction_id"];
    let live = without(read(sessions[0].session_id.clone()).await, &tells_apart);
    assert_eq!(
        numbers_by_value(live.clone())["energy_consumed"],
        serde_json::json!(5.0),
        "{live}"
    );
    for s in &sessions[1..] {
        assert_eq!(
            without(read(s.session_id.clone()).await, &tells_apart),
            live
        );
    }

    let charger = site.device_id.as_str();
    let mut tx = app.db.begin().await.expect("transaction");
    let points = transactions::lock_points_of(&mut tx, &vec![charger; MANY + 1])
        .await
        .expect("points");
    assert_eq!(points.get(charger), Some(&point_id));
    // Sessions are numbered by their record (see `many::insert_sessions`).
    let locked = transactions::lock_by_transactions(&mut tx, &record_ids)
        .await
        .expect("sessions");
    assert_eq!(locked.len(), MANY + 1);
    assert!(record_ids.iter().all(|id| locked[id].id == *id));
    let settlements: Vec<Settlement> = (0..=MANY).map(settlement).collect();
    let closing: Vec<(i64, &Settlement)> = record_ids.iter().copied().zip(&settlements).collect();
    transactions::settle_many(&mut tx, &closing[..2], now)
        .await
        .expect("two sessions");
    transactions::settle_many(&mut tx, &closing[2..], now)
        .await
        .expect("many sessions");
    tx.commit().await.expect("commit");
    let expected = [
        without(read(sessions[0].session_id.clone()).await, &tells_apart),
        without(read(sessions[1].session_id.clone()).await, &tells_apart),
    ];
    assert_eq!(expected[0]["status"], SessionStatus::Completed.as_str());
    assert_eq!(expected[0]["anomaly"], format!("{AWKWARD}; {AWKWARD}"));
    assert_eq!(expected[1]["anomaly"], AWKWARD);
    for (n, s) in sessions.iter().enumerate().skip(2) {
        let stored = without(read(s.session_id.clone()).await, &tells_apart);
        assert_eq!(stored, expected[n % 2], "session {n}");
    }
}

/// Entries on many wallets applied together (their balances locked, read and written as one
/// batch) follow the ledger's rule as on one wallet.
async fn wallets_debited_alike_however_many_together(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let mut customers = Vec::with_capacity(MANY);
    for n in 0..MANY {
        let created = app
            .customer(serde_json::json!({ "customer_name": format!("Bulk {n}") }))
            .await;
        customers.push(created["id"].as_i64().expect("a customer id"));
    }
    let entry = |transaction_type, reference: String, amount: &str| LedgerEntry {
        transaction_type,
        amount: amount.parse().unwrap(),
        floor: "0".parse().unwrap(),
        description: Some(AWKWARD.into()),
        reference_id: Some(reference),
    };
    // Each wallet credited 10.00, then debited 4.00, then refused a debit of 7.50.
    use WalletTransactionType::{Credit, Debit};
    let entries: Vec<(i64, LedgerEntry)> = customers
        .iter()
        .flat_map(|c| {
            [
                (*c, entry(Credit, format!("a-{c}"), "10.00")),
                (*c, entry(Debit, format!("b-{c}"), "4.00")),
                (*c, entry(Debit, format!("c-{c}"), "7.50")),
            ]
        })
        .collect();
    let batch: Vec<(i64, &LedgerEntry)> = entries.iter().map(|(c, e)| (*c, e)).collect();
    let mut tx = app.db.begin().await.expect("transaction");
    let applied = wallet::apply_many(&mut tx, &batch).await.expect("entries");
    tx.commit().await.expect("commit");
    for each in applied.chunks(3) {
        assert_eq!(each[0], Ok("10.00".parse().unwrap()));
        assert_eq!(each[1], Ok("6.00".parse().unwrap()));
        assert_eq!(
            each[2],
            Err(wallet::WalletRefusal::InsufficientFunds {
                balance: "6.00".parse().unwrap()
            })
        );
    }
    for c in &customers {
        let (_, customer) = app.get(&format!("/api/cms/customers/{c}")).await;
        assert_eq!(
            numbers_by_value(customer.clone())["wallet_balance"],
            serde_json::json!(6.0),
            "{customer}"
        );
    }
}
