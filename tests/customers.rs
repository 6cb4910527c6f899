//! `/api/cms/customers` over HTTP, on SQLite and PostgreSQL. The wallet is in tests/wallet.rs;
//! deleting a customer with an active session is in tests/sessions.rs (it needs session fixtures).

mod common;

use common::{Backend, TestApp, problem_fields};
use reqwest::StatusCode;
use serde_json::{Value, json};

both_databases!(
    creates_a_customer_with_a_normalized_phone_and_an_empty_wallet,
    reports_every_invalid_field_at_once,
    refuses_input_that_sets_the_wallet_balance,
    refuses_a_duplicate_live_phone_but_allows_reuse_after_delete,
    update_replaces_only_the_fields_sent,
    update_refuses_a_phone_taken_by_another_customer,
    unknown_and_malformed_ids_are_not_found,
    lists_with_search_dates_sorting_and_pagination,
    delete_hides_the_customer,
);

async fn raw(app: &TestApp, path: &str) -> String {
    app.client
        .get(app.url(path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn names(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["customer_name"].as_str().unwrap().to_owned())
        .collect()
}

async fn creates_a_customer_with_a_normalized_phone_and_an_empty_wallet(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (status, customer) = app
        .post(
            "/api/cms/customers",
            &json!({"customer_name": "  Asha Rao ", "phone": "+91 98765-43210", "email": "asha@example.com", "default_vehicle": "Nexon EV"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{customer}");
    assert_eq!(customer["customer_name"], "Asha Rao");
    assert_eq!(customer["phone"], "+919876543210");
    assert_eq!(customer["email"], "asha@example.com");
    assert_eq!(customer["default_vehicle"], "Nexon EV");
    assert_eq!(customer["deleted"], false);
    assert_eq!(customer["created_at"], customer["updated_at"]);
    let id = customer["id"].as_i64().unwrap();
    let (status, fetched) = app.get(&format!("/api/cms/customers/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched, customer);
    let text = raw(&app, &format!("/api/cms/customers/{id}")).await;
    assert!(text.contains(r#""wallet_balance":0.00,"#), "{text}");
    // Optional fields may be left out.
    let minimal = app
        .customer(json!({"customer_name": "Ravi", "email": null}))
        .await;
    assert_eq!(minimal["email"], Value::Null);
    assert_eq!(minimal["default_vehicle"], Value::Null);
}

async fn reports_every_invalid_field_at_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (status, body) = app
        .post(
            "/api/cms/customers",
            &json!({"phone": "98x76", "email": "asha@", "default_vehicle": "v".repeat(256)}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "validation_failed");
    assert_eq!(
        problem_fields(&body),
        ["customer_name", "phone", "email", "default_vehicle"]
    );
    let (status, body) = app
        .post(
            "/api/cms/customers",
            &json!({"customer_name": "   ", "phone": "12345", "email": 7}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_fields(&body), ["customer_name", "phone", "email"]);
    let (status, body) = app
        .post(
            "/api/cms/customers",
            &json!({"customer_name": "x".repeat(256), "phone": true}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_fields(&body), ["customer_name", "phone"]);
    let (status, body) = app.post("/api/cms/customers", &json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_fields(&body), ["customer_name", "phone"]);
    let (_, list) = app.get("/api/cms/customers").await;
    assert_eq!(list["pagination"]["total"], 0);
}

async fn refuses_input_that_sets_the_wallet_balance(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (status, body) = app
        .post(
            "/api/cms/customers",
            &json!({"customer_name": "Asha", "phone": "+919800000001", "wallet_balance": 1000}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(problem_fields(&body), ["wallet_balance"]);
    let customer = app.customer(json!({})).await;
    let path = format!("/api/cms/customers/{}", customer["id"]);
    let (status, body) = app.put(&path, &json!({"wallet_balance": 1000})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_fields(&body), ["wallet_balance"]);
    assert_eq!(app.get(&path).await.1["wallet_balance"], json!(0.0));
}

async fn refuses_a_duplicate_live_phone_but_allows_reuse_after_delete(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let first = app.customer(json!({"phone": "+91 99000 11111"})).await;
    // The same number written differently is the same phone.
    let (status, body) = app
        .post(
            "/api/cms/customers",
            &json!({"customer_name": "Other", "phone": "+91-99000-11111"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "conflict");
    assert_eq!(problem_fields(&body), ["phone"]);
    let path = format!("/api/cms/customers/{}", first["id"]);
    assert_eq!(app.delete(&path).await.0, StatusCode::NO_CONTENT);
    let second = app
        .customer(json!({"customer_name": "Second life", "phone": "+919900011111"}))
        .await;
    assert_ne!(second["id"], first["id"]);
    assert_eq!(second["phone"], "+919900011111");
}

async fn update_replaces_only_the_fields_sent(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let created = app
        .customer(json!({"email": "old@example.com", "default_vehicle": "Kona"}))
        .await;
    let path = format!("/api/cms/customers/{}", created["id"]);
    let (status, updated) = app
        .put(
            &path,
            &json!({"email": "new@example.com", "default_vehicle": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["email"], "new@example.com");
    assert_eq!(updated["default_vehicle"], Value::Null);
    assert_eq!(updated["customer_name"], created["customer_name"]);
    assert_eq!(updated["phone"], created["phone"]);
    assert_eq!(updated["created_at"], created["created_at"]);
    assert_ne!(updated["updated_at"], created["updated_at"]);
    assert_eq!(app.get(&path).await.1, updated);
    // Sending the whole record back, as a form does, is fine.
    let (status, same) = app
        .put(
            &path,
            &json!({"customer_name": "Asha R", "phone": updated["phone"], "email": updated["email"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{same}");
    assert_eq!(same["customer_name"], "Asha R");
    let (status, body) = app
        .put(&path, &json!({"customer_name": null, "email": "bad"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_fields(&body), ["customer_name", "email"]);
    let (status, body) = app.put(&path, &json!({"nickname": "A"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_fields(&body), ["nickname"]);
    assert_eq!(app.get(&path).await.1["customer_name"], "Asha R");
}

async fn update_refuses_a_phone_taken_by_another_customer(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let taken = app.customer(json!({})).await;
    let other = app.customer(json!({})).await;
    let path = format!("/api/cms/customers/{}", other["id"]);
    let (status, body) = app.put(&path, &json!({"phone": taken["phone"]})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(problem_fields(&body), ["phone"]);
    assert_eq!(app.get(&path).await.1["phone"], other["phone"]);
}

async fn unknown_and_malformed_ids_are_not_found(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for id in ["999", "abc", "0", "-1", "1.5"] {
        let path = format!("/api/cms/customers/{id}");
        let (status, body) = app.get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(body["error"]["code"], "not_found");
        assert_eq!(
            app.put(&path, &json!({"customer_name": "x"})).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(app.delete(&path).await.0, StatusCode::NOT_FOUND);
    }
}

async fn lists_with_search_dates_sorting_and_pagination(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for i in 0..23 {
        let email = if i % 4 == 0 {
            json!(format!("fleet{i}@Acme.example"))
        } else {
            Value::Null
        };
        app.customer(json!({"customer_name": format!("Driver {i:02}"), "phone": format!("+91 70000 100{i:02}"), "email": email}))
            .await;
    }
    let (status, page) = app.get("/api/cms/customers").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        page["pagination"],
        json!({"page": 1, "limit": 20, "total": 23, "pages": 2})
    );
    // Newest first by default.
    assert_eq!(page["data"][0]["customer_name"], "Driver 22");
    let (_, last) = app.get("/api/cms/customers?page=2").await;
    assert_eq!(names(&last), ["Driver 02", "Driver 01", "Driver 00"]);
    let (_, beyond) = app.get("/api/cms/customers?page=5").await;
    assert_eq!(beyond["data"], json!([]));
    let (_, capped) = app.get("/api/cms/customers?limit=500").await;
    assert_eq!(capped["pagination"]["limit"], 100);
    assert_eq!(capped["data"].as_array().unwrap().len(), 23);
    let (_, small) = app
        .get("/api/cms/customers?limit=5&page=2&sort=customer_name")
        .await;
    assert_eq!(
        names(&small),
        [
            "Driver 05",
            "Driver 06",
            "Driver 07",
            "Driver 08",
            "Driver 09"
        ]
    );
    assert_eq!(small["pagination"]["pages"], 5);
    let (_, by_name) = app
        .get("/api/cms/customers?sort=-customer_name&limit=2")
        .await;
    assert_eq!(names(&by_name), ["Driver 22", "Driver 21"]);
    // Search: name (any case), e-mail, and phone as stored or as people write it.
    let (_, found) = app.get("/api/cms/customers?search=DRIVER%201").await;
    assert_eq!(found["pagination"]["total"], 10);
    let (_, found) = app.get("/api/cms/customers?search=acme").await;
    assert_eq!(found["pagination"]["total"], 6);
    let (_, found) = app.get("/api/cms/customers?search=%2B917000010007").await;
    assert_eq!(names(&found), ["Driver 07"]);
    let (_, found) = app.get("/api/cms/customers?search=70000%20100-07").await;
    assert_eq!(names(&found), ["Driver 07"]);
    let (_, found) = app.get("/api/cms/customers?search=100%25").await;
    assert_eq!(found["pagination"]["total"], 0);
    // Dates.
    let today = chrono::Utc::now().date_naive();
    let (_, all) = app
        .get(&format!(
            "/api/cms/customers?created_from={today}&created_to={today}"
        ))
        .await;
    assert_eq!(all["pagination"]["total"], 23);
    let (_, none) = app.get("/api/cms/customers?created_to=2000-01-01").await;
    assert_eq!(none["pagination"]["total"], 0);
    let (_, none) = app.get("/api/cms/customers?created_from=2999-01-01").await;
    assert_eq!(none["pagination"]["total"], 0);
    // Sorting by wallet balance.
    let rich = &capped["data"][3];
    let richer = &capped["data"][7];
    for (customer, amount) in [(rich, json!(50)), (richer, json!(75.5))] {
        let (status, body) = app
            .post(
                &format!("/api/cms/customers/{}/wallet-transactions", customer["id"]),
                &json!({"transaction_type": "Credit", "amount": amount}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (_, by_balance) = app
        .get("/api/cms/customers?sort=-wallet_balance&limit=3")
        .await;
    assert_eq!(by_balance["data"][0]["id"], richer["id"]);
    assert_eq!(by_balance["data"][0]["wallet_balance"], json!(75.5));
    assert_eq!(by_balance["data"][1]["id"], rich["id"]);
    assert_eq!(by_balance["data"][2]["wallet_balance"], json!(0.0));
    let (_, ascending) = app
        .get("/api/cms/customers?sort=wallet_balance&page=2")
        .await;
    assert_eq!(ascending["data"][0]["wallet_balance"], json!(0.0));
    assert_eq!(ascending["data"][1]["id"], rich["id"]);
    assert_eq!(ascending["data"][2]["id"], richer["id"]);
    let (status, body) = app
        .get("/api/cms/customers?page=x&limit=0&sort=phone&created_from=soon&created_to=2026-13-01")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_query");
    assert_eq!(
        problem_fields(&body),
        ["created_from", "created_to", "page", "limit", "sort"]
    );
}

async fn delete_hides_the_customer(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let gone = app.customer(json!({"customer_name": "Gone"})).await;
    app.customer(json!({"customer_name": "Stays"})).await;
    let path = format!("/api/cms/customers/{}", gone["id"]);
    assert_eq!(app.delete(&path).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&path).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        app.put(&path, &json!({"customer_name": "Back"})).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.delete(&path).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get(&format!("{path}/wallet-transactions")).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, _) = app
        .post(
            &format!("{path}/wallet-transactions"),
            &json!({"transaction_type": "Credit", "amount": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = app.get("/api/cms/customers").await;
    assert_eq!(names(&list), ["Stays"]);
    let (_, searched) = app.get("/api/cms/customers?search=gone").await;
    assert_eq!(searched["pagination"]["total"], 0);
}
