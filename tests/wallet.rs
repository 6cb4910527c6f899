//! The prepaid wallet ledger over HTTP (and through `db::wallet::apply`), on SQLite and PostgreSQL.

mod common;

use common::{Backend, TestApp, problem_fields};
use evcms::db::wallet::{LedgerEntry, WalletRefusal, apply};
use evcms::domain::enums::WalletTransactionType;
use evcms::fixed::Money;
use reqwest::StatusCode;
use serde_json::{Value, json};

both_databases!(
    credits_and_debits_update_the_balance_and_every_ledger_row_carries_it,
    a_debit_over_the_balance_is_refused_and_nothing_is_written,
    a_reference_is_applied_once_per_direction,
    concurrent_uses_of_one_reference_apply_it_once,
    concurrent_debits_never_overdraw_the_wallet,
    tenths_add_up_exactly,
    reports_every_invalid_field_at_once,
    a_credit_beyond_the_maximum_balance_is_refused,
    lists_the_ledger_with_filters_sorting_and_pagination,
    unknown_customers_have_no_wallet,
    billing_may_debit_down_to_a_lower_floor_and_credits_ignore_it,
);

async fn money_text(app: &TestApp, path: &str, field: &str) -> String {
    let text = app
        .client
        .get(app.url(path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let start = text.find(&format!("\"{field}\":")).expect(field) + field.len() + 3;
    text[start..].split([',', '}']).next().unwrap().to_owned()
}

async fn customer_with(app: &TestApp, balance: &str) -> (String, String) {
    let customer = app.customer(json!({})).await;
    let path = format!("/api/cms/customers/{}", customer["id"]);
    if balance != "0" {
        credit(
            app,
            &path,
            json!({"transaction_type": "Credit", "amount": balance}),
        )
        .await;
    }
    let ledger = format!("{path}/wallet-transactions");
    (path, ledger)
}

async fn credit(app: &TestApp, customer_path: &str, body: Value) -> Value {
    app.create(&format!("{customer_path}/wallet-transactions"), &body)
        .await
}

fn rows(page: &Value) -> &Vec<Value> {
    page["data"].as_array().unwrap()
}

async fn credits_and_debits_update_the_balance_and_every_ledger_row_carries_it(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (path, ledger) = customer_with(&app, "0").await;
    let (status, row) = app
        .post(
            &ledger,
            &json!({"transaction_type": "Credit", "amount": 500, "description": " Top-up ", "reference_id": "PAY-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{row}");
    assert_eq!(row["transaction_type"], "Credit");
    assert_eq!(row["amount"], json!(500.0));
    assert_eq!(row["balance"], json!(500.0));
    assert_eq!(row["description"], "Top-up");
    assert_eq!(row["reference_id"], "PAY-1");
    assert_eq!(row["customer_id"], app.get(&path).await.1["id"]);
    let row = app
        .create(
            &ledger,
            &json!({"transaction_type": "Debit", "amount": "120.75"}),
        )
        .await;
    assert_eq!(row["balance"], json!(379.25));
    assert_eq!(row["reference_id"], Value::Null);
    app.create(
        &ledger,
        &json!({"transaction_type": "Credit", "amount": 0.01}),
    )
    .await;
    assert_eq!(money_text(&app, &path, "wallet_balance").await, "379.26");
    let (_, page) = app.get(&format!("{ledger}?sort=created_at")).await;
    let balances: Vec<_> = rows(&page).iter().map(|r| r["balance"].clone()).collect();
    assert_eq!(balances, [json!(500.0), json!(379.25), json!(379.26)]);
    let text = app
        .client
        .get(app.url(&ledger))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(r#""amount":0.01,"balance":379.26,"#),
        "{text}"
    );
    assert!(
        text.contains(r#""amount":120.75,"balance":379.25,"#),
        "{text}"
    );
    // The balance can be debited to exactly zero.
    app.create(
        &ledger,
        &json!({"transaction_type": "Debit", "amount": 379.26}),
    )
    .await;
    assert_eq!(money_text(&app, &path, "wallet_balance").await, "0.00");
}

async fn a_debit_over_the_balance_is_refused_and_nothing_is_written(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (path, ledger) = customer_with(&app, "10.50").await;
    let before = app.get(&path).await.1;
    let (status, body) = app
        .post(
            &ledger,
            &json!({"transaction_type": "Debit", "amount": 10.51, "reference_id": "MAN-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "insufficient_balance");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("10.50"),
        "{body}"
    );
    assert_eq!(app.get(&path).await.1, before);
    let (_, page) = app.get(&ledger).await;
    assert_eq!(page["pagination"]["total"], 1);
    // The refused reference was not used up.
    app.create(
        &ledger,
        &json!({"transaction_type": "Debit", "amount": 10.5, "reference_id": "MAN-1"}),
    )
    .await;
    assert_eq!(money_text(&app, &path, "wallet_balance").await, "0.00");
    let (status, _) = app
        .post(
            &ledger,
            &json!({"transaction_type": "Debit", "amount": 0.01}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

async fn a_reference_is_applied_once_per_direction(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (path, ledger) = customer_with(&app, "0").await;
    let top_up = json!({"transaction_type": "Credit", "amount": 200, "reference_id": "PAY-42"});
    app.create(&ledger, &top_up).await;
    let (status, body) = app.post(&ledger, &top_up).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(problem_fields(&body), ["reference_id"]);
    assert_eq!(money_text(&app, &path, "wallet_balance").await, "200.00");
    assert_eq!(app.get(&ledger).await.1["pagination"]["total"], 1);
    // The same reference may be used once the other way (a refund of that payment)...
    app.create(
        &ledger,
        &json!({"transaction_type": "Debit", "amount": 50, "reference_id": "PAY-42"}),
    )
    .await;
    // ...and by another customer.
    let (other, other_ledger) = customer_with(&app, "0").await;
    app.create(&other_ledger, &top_up).await;
    assert_eq!(money_text(&app, &other, "wallet_balance").await, "200.00");
    assert_eq!(money_text(&app, &path, "wallet_balance").await, "150.00");
}

async fn concurrent_uses_of_one_reference_apply_it_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (path, ledger) = customer_with(&app, "0").await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (client, url) = (app.client.clone(), app.url(&ledger));
        tasks.spawn(async move {
            let body =
                json!({"transaction_type": "Credit", "amount": 25, "reference_id": "PAY-RACE"});
            let response = client.post(url).json(&body).send().await.unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        });
    }
    let mut created = 0;
    while let Some(result) = tasks.join_next().await {
        let (status, body) = result.unwrap();
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => assert_eq!(problem_fields(&body), ["reference_id"]),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(money_text(&app, &path, "wallet_balance").await, "25.00");
    assert_eq!(app.get(&ledger).await.1["pagination"]["total"], 1);
}

async fn concurrent_debits_never_overdraw_the_wallet(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (path, ledger) = customer_with(&app, "100.00").await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let (client, url) = (app.client.clone(), app.url(&ledger));
        tasks.spawn(async move {
            let body = json!({"transaction_type": "Debit", "amount": "10.00", "description": format!("debit {i}")});
            let response = client.post(url).json(&body).send().await.unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        });
    }
    let (mut created, mut refused) = (0, 0);
    while let Some(result) = tasks.join_next().await {
        let (status, body) = result.unwrap();
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => {
                assert_eq!(body["error"]["code"], "insufficient_balance");
                refused += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!((created, refused), (10, 10));
    assert_eq!(money_text(&app, &path, "wallet_balance").await, "0.00");
    let (_, page) = app
        .get(&format!("{ledger}?transaction_type=Debit&limit=100"))
        .await;
    let debits = rows(&page);
    assert_eq!(debits.len(), 10);
    // Each debit saw the balance the one before it left, and the ledger lists them (newest first)
    // in the order the balance changed: 0.00, 10.00, ..., 90.00.
    let balances: Vec<i64> = debits
        .iter()
        .map(|r| (r["balance"].as_f64().unwrap() * 100.0).round() as i64)
        .collect();
    assert_eq!(balances, (0..10).map(|i| i * 1000).collect::<Vec<_>>());
    let last = debits
        .iter()
        .max_by_key(|r| r["id"].as_i64().unwrap())
        .unwrap();
    assert_eq!(last["balance"], app.get(&path).await.1["wallet_balance"]);
}

async fn tenths_add_up_exactly(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (path, ledger) = customer_with(&app, "0").await;
    for _ in 0..10 {
        app.create(
            &ledger,
            &json!({"transaction_type": "Credit", "amount": 0.1}),
        )
        .await;
    }
    assert_eq!(money_text(&app, &path, "wallet_balance").await, "1.00");
    for _ in 0..3 {
        app.create(
            &ledger,
            &json!({"transaction_type": "Debit", "amount": 0.1}),
        )
        .await;
    }
    assert_eq!(money_text(&app, &path, "wallet_balance").await, "0.70");
    assert_eq!(
        money_text(&app, &format!("{ledger}?limit=1"), "balance").await,
        "0.70"
    );
}

async fn reports_every_invalid_field_at_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (path, ledger) = customer_with(&app, "5").await;
    let (status, body) = app
        .post(
            &ledger,
            &json!({"transaction_type": "Refund", "amount": 1.005, "description": "d".repeat(1001), "reference_id": "r".repeat(256)}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        problem_fields(&body),
        ["transaction_type", "amount", "description", "reference_id"]
    );
    let (status, body) = app.post(&ledger, &json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_fields(&body), ["transaction_type", "amount"]);
    for amount in [
        json!(0),
        json!(-5),
        json!(100_000_000),
        json!("ten"),
        json!(true),
    ] {
        let (status, body) = app
            .post(
                &ledger,
                &json!({"transaction_type": "Credit", "amount": amount}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{amount}: {body}");
        assert_eq!(problem_fields(&body), ["amount"]);
    }
    let (status, body) = app
        .post(
            &ledger,
            &json!({"transaction_type": "Credit", "amount": 1, "balance": 1000}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_fields(&body), ["balance"]);
    let (status, _) = app.post_raw(&ledger, "text/plain", "{}").await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(money_text(&app, &path, "wallet_balance").await, "5.00");
    assert_eq!(app.get(&ledger).await.1["pagination"]["total"], 1);
}

async fn a_credit_beyond_the_maximum_balance_is_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (path, ledger) = customer_with(&app, "99999999.99").await;
    let (status, body) = app
        .post(
            &ledger,
            &json!({"transaction_type": "Credit", "amount": 0.01}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(problem_fields(&body), ["amount"]);
    assert_eq!(
        money_text(&app, &path, "wallet_balance").await,
        "99999999.99"
    );
    app.create(
        &ledger,
        &json!({"transaction_type": "Debit", "amount": 99999999.99}),
    )
    .await;
    assert_eq!(money_text(&app, &path, "wallet_balance").await, "0.00");
}

async fn lists_the_ledger_with_filters_sorting_and_pagination(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, ledger) = customer_with(&app, "0").await;
    let (_, other_ledger) = customer_with(&app, "0").await;
    app.create(
        &other_ledger,
        &json!({"transaction_type": "Credit", "amount": 7}),
    )
    .await;
    for i in 1..=12 {
        app.create(
            &ledger,
            &json!({"transaction_type": "Credit", "amount": i * 10, "description": format!("top-up {i}")}),
        )
        .await;
        if i % 3 == 0 {
            app.create(&ledger, &json!({"transaction_type": "Debit", "amount": i}))
                .await;
        }
    }
    let (status, page) = app.get(&ledger).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        page["pagination"],
        json!({"page": 1, "limit": 20, "total": 16, "pages": 1})
    );
    // Newest first: the debit of 12 after the credit of 120.
    assert_eq!(rows(&page)[0]["amount"], json!(12.0));
    assert_eq!(rows(&page)[1]["amount"], json!(120.0));
    let (_, debits) = app.get(&format!("{ledger}?transaction_type=Debit")).await;
    assert_eq!(debits["pagination"]["total"], 4);
    assert!(
        rows(&debits)
            .iter()
            .all(|r| r["transaction_type"] == "Debit")
    );
    let (_, by_amount) = app
        .get(&format!("{ledger}?sort=-amount&limit=3&page=2"))
        .await;
    let amounts: Vec<_> = rows(&by_amount)
        .iter()
        .map(|r| r["amount"].clone())
        .collect();
    assert_eq!(amounts, [json!(90.0), json!(80.0), json!(70.0)]);
    assert_eq!(by_amount["pagination"]["pages"], 6);
    let (_, smallest) = app.get(&format!("{ledger}?sort=amount&limit=1")).await;
    assert_eq!(rows(&smallest)[0]["amount"], json!(3.0));
    let today = chrono::Utc::now().date_naive();
    let (_, all) = app
        .get(&format!("{ledger}?created_from={today}&created_to={today}"))
        .await;
    assert_eq!(all["pagination"]["total"], 16);
    let (_, none) = app.get(&format!("{ledger}?created_to=2000-01-01")).await;
    assert_eq!(none["pagination"]["total"], 0);
    let (status, body) = app
        .get(&format!(
            "{ledger}?transaction_type=Refund&created_from=x&sort=balance&page=0"
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        problem_fields(&body),
        ["transaction_type", "created_from", "page", "sort"]
    );
    let (_, other) = app.get(&other_ledger).await;
    assert_eq!(other["pagination"]["total"], 1);
}

async fn unknown_customers_have_no_wallet(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for id in ["4242", "abc", "0"] {
        let ledger = format!("/api/cms/customers/{id}/wallet-transactions");
        assert_eq!(app.get(&ledger).await.0, StatusCode::NOT_FOUND, "{id}");
        let (status, body) = app
            .post(&ledger, &json!({"transaction_type": "Credit", "amount": 1}))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{id}: {body}");
    }
}

async fn billing_may_debit_down_to_a_lower_floor_and_credits_ignore_it(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let customer = app.customer(json!({})).await;
    let id = customer["id"].as_i64().unwrap();
    let money = |s: &str| s.parse::<Money>().unwrap();
    let entry = |t, amount: &str, floor: &str, reference: Option<&str>| LedgerEntry {
        transaction_type: t,
        amount: money(amount),
        floor: money(floor),
        description: Some("session".into()),
        reference_id: reference.map(str::to_owned),
    };
    let mut tx = app.db.begin().await.unwrap();
    let debit = entry(WalletTransactionType::Debit, "30.00", "-50.00", Some("S-1"));
    let row = apply(&mut tx, id, &debit, evcms::db::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.balance, money("-30.00"));
    let refused = apply(
        &mut tx,
        id,
        &entry(WalletTransactionType::Debit, "20.01", "-50.00", None),
        evcms::db::now(),
    )
    .await
    .unwrap();
    assert_eq!(
        refused.map(|_| ()),
        Err(WalletRefusal::InsufficientFunds {
            balance: money("-30.00")
        })
    );
    // A credit is never refused for leaving the wallet below a floor.
    let credit = entry(WalletTransactionType::Credit, "10.00", "0.00", None);
    let row = apply(&mut tx, id, &credit, evcms::db::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.balance, money("-20.00"));
    assert_eq!(
        apply(&mut tx, id, &debit, evcms::db::now())
            .await
            .unwrap()
            .map(|_| ()),
        Err(WalletRefusal::DuplicateReference)
    );
    assert_eq!(
        apply(&mut tx, id + 1000, &credit, evcms::db::now())
            .await
            .unwrap()
            .map(|_| ()),
        Err(WalletRefusal::NotFound)
    );
    tx.commit().await.unwrap();
    let (_, stored) = app.get(&format!("/api/cms/customers/{id}")).await;
    assert_eq!(stored["wallet_balance"], json!(-20.0));
}
