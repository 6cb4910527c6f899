//! `/api/cms/tariffs` over HTTP, on SQLite and PostgreSQL.

mod common;

use common::{Backend, TestApp, problem_fields};
use reqwest::StatusCode;
use serde_json::json;

both_databases!(
    creates_a_tariff_with_exact_money,
    reports_every_invalid_field_at_once,
    refuses_a_duplicate_live_tariff_id_but_allows_reuse_after_delete,
    update_replaces_only_the_fields_sent,
    update_cannot_change_the_tariff_id,
    lists_with_filters_sorting_and_pagination,
    delete_hides_the_tariff,
    malformed_bodies_get_clear_errors,
);

async fn creates_a_tariff_with_exact_money(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (status, tariff) = app
        .post("/api/cms/tariffs", &json!({"tariff_id": "TRF-1", "tariff_name": " Fast DC ", "currency": "USD", "base_charges": 0.29, "tax": "7.25"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{tariff}");
    assert_eq!(tariff["tariff_name"], "Fast DC");
    assert_eq!(tariff["status"], "Active");
    assert_eq!(tariff["deleted"], false);
    // Exact decimals, always with two places, as JSON numbers.
    let (_, raw) = (
        StatusCode::OK,
        app.client
            .get(app.url("/api/cms/tariffs/TRF-1"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert!(raw.contains(r#""base_charges":0.29,"#), "{raw}");
    assert!(raw.contains(r#""tax":7.25,"#), "{raw}");
    let (status, _) = app.post("/api/cms/tariffs", &json!({"tariff_id": "TRF-2", "tariff_name": "Round", "currency": "INR", "base_charges": 12345678.9, "tax": 0})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, raw) = (
        StatusCode::OK,
        app.client
            .get(app.url("/api/cms/tariffs/TRF-2"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert!(raw.contains(r#""base_charges":12345678.90,"#), "{raw}");
}

async fn reports_every_invalid_field_at_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (status, body) = app
        .post("/api/cms/tariffs", &json!({"tariff_id": "has space", "currency": "EUR", "base_charges": 18.555, "tax": 100.01, "status": "On"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "validation_failed");
    assert_eq!(
        problem_fields(&body),
        [
            "tariff_id",
            "tariff_name",
            "currency",
            "base_charges",
            "tax",
            "status"
        ]
    );
    let (status, body) = app.post("/api/cms/tariffs", &json!({"tariff_id": "T", "tariff_name": "x", "currency": "INR", "base_charges": -1, "tax": true})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_fields(&body), ["base_charges", "tax"]);
    let (status, body) = app.post("/api/cms/tariffs", &json!({"tariff_id": "T", "tariff_name": "x", "currency": "INR", "base_charges": 1, "tax": 1, "price": 2})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_fields(&body), ["price"]);
}

async fn refuses_a_duplicate_live_tariff_id_but_allows_reuse_after_delete(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.tariff(json!({"tariff_id": "TRF-DUP"})).await;
    let (status, body) = app.post("/api/cms/tariffs", &json!({"tariff_id": "TRF-DUP", "tariff_name": "Again", "currency": "INR", "base_charges": 1, "tax": 0})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(problem_fields(&body), ["tariff_id"]);
    assert_eq!(
        app.delete("/api/cms/tariffs/TRF-DUP").await.0,
        StatusCode::NO_CONTENT
    );
    let again = app
        .tariff(json!({"tariff_id": "TRF-DUP", "tariff_name": "Second life"}))
        .await;
    assert_eq!(
        app.get("/api/cms/tariffs/TRF-DUP").await.1["id"],
        again["id"]
    );
}

async fn update_replaces_only_the_fields_sent(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let created = app
        .tariff(json!({"tariff_id": "TRF-U", "created_by": "ops@evcms"}))
        .await;
    let (status, updated) = app
        .put(
            "/api/cms/tariffs/TRF-U",
            &json!({"base_charges": 21, "created_by": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["base_charges"], json!(21.0));
    assert_eq!(updated["tariff_name"], created["tariff_name"]);
    assert_eq!(updated["created_by"], json!(null));
    assert_eq!(updated["created_at"], created["created_at"]);
    assert_ne!(updated["updated_at"], created["updated_at"]);
    let (status, body) = app
        .put("/api/cms/tariffs/TRF-U", &json!({"tariff_name": null}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_fields(&body), ["tariff_name"]);
    assert_eq!(
        app.put("/api/cms/tariffs/NOPE", &json!({"tax": 1})).await.0,
        StatusCode::NOT_FOUND
    );
}

async fn update_cannot_change_the_tariff_id(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.tariff(json!({"tariff_id": "TRF-FIXED"})).await;
    let (status, body) = app
        .put(
            "/api/cms/tariffs/TRF-FIXED",
            &json!({"tariff_id": "TRF-OTHER"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_fields(&body), ["tariff_id"]);
    // Sending the same id back, as a form does, is fine.
    assert_eq!(
        app.put(
            "/api/cms/tariffs/TRF-FIXED",
            &json!({"tariff_id": "TRF-FIXED", "tax": 5})
        )
        .await
        .0,
        StatusCode::OK
    );
}

async fn lists_with_filters_sorting_and_pagination(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for i in 0..25 {
        let currency = if i % 5 == 0 { "USD" } else { "INR" };
        let status = if i % 2 == 0 { "Active" } else { "Inactive" };
        app.tariff(json!({"tariff_id": format!("L-{i:02}"), "tariff_name": format!("Plan {i:02}"), "currency": currency, "status": status, "base_charges": i}))
            .await;
    }
    let (status, page) = app.get("/api/cms/tariffs").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        page["pagination"],
        json!({"page": 1, "limit": 20, "total": 25, "pages": 2})
    );
    // Newest first by default.
    assert_eq!(page["data"][0]["tariff_id"], "L-24");
    let (_, last) = app.get("/api/cms/tariffs?page=2").await;
    assert_eq!(last["data"].as_array().unwrap().len(), 5);
    let (_, beyond) = app.get("/api/cms/tariffs?page=9").await;
    assert_eq!(beyond["data"], json!([]));
    assert_eq!(beyond["pagination"]["total"], 25);
    let (_, capped) = app.get("/api/cms/tariffs?limit=1000").await;
    assert_eq!(capped["pagination"]["limit"], 100);
    let (_, usd) = app
        .get("/api/cms/tariffs?currency=USD&sort=base_charges")
        .await;
    let ids: Vec<_> = usd["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tariff_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["L-00", "L-05", "L-10", "L-15", "L-20"]);
    let (_, active_usd) = app
        .get("/api/cms/tariffs?currency=USD&status=Active&sort=-tariff_id")
        .await;
    let ids: Vec<_> = active_usd["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tariff_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["L-20", "L-10", "L-00"]);
    let (_, found) = app.get("/api/cms/tariffs?search=plan%201").await;
    assert_eq!(found["pagination"]["total"], 10);
    let (_, today) = app
        .get(&format!(
            "/api/cms/tariffs?created_from={}",
            chrono::Utc::now().date_naive()
        ))
        .await;
    assert_eq!(today["pagination"]["total"], 25);
    let (_, none) = app.get("/api/cms/tariffs?created_to=2000-01-01").await;
    assert_eq!(none["pagination"]["total"], 0);
    let (status, body) = app
        .get("/api/cms/tariffs?page=0&limit=-1&sort=price&currency=EUR&created_from=soon")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_query");
    assert_eq!(
        problem_fields(&body),
        ["currency", "created_from", "page", "limit", "sort"]
    );
}

async fn delete_hides_the_tariff(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.tariff(json!({"tariff_id": "TRF-GONE"})).await;
    app.tariff(json!({"tariff_id": "TRF-STAYS"})).await;
    assert_eq!(
        app.delete("/api/cms/tariffs/TRF-GONE").await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get("/api/cms/tariffs/TRF-GONE").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.put("/api/cms/tariffs/TRF-GONE", &json!({"tax": 1}))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.delete("/api/cms/tariffs/TRF-GONE").await.0,
        StatusCode::NOT_FOUND
    );
    let (_, list) = app.get("/api/cms/tariffs").await;
    assert_eq!(list["pagination"]["total"], 1);
    assert_eq!(list["data"][0]["tariff_id"], "TRF-STAYS");
}

async fn malformed_bodies_get_clear_errors(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (status, body) = app
        .post_raw("/api/cms/tariffs", "application/json", "{\"tariff_id\": ")
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed_json"))
    );
    let (status, body) = app.post_raw("/api/cms/tariffs", "text/plain", "{}").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some("unsupported_media_type")
        )
    );
    let (status, body) = app
        .post_raw("/api/cms/tariffs", "application/json", "[1, 2]")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_fields(&body), ["body"]);
    let huge = format!("{{\"tariff_name\": \"{}\"}}", "x".repeat(200_000));
    let (status, body) = app
        .post_raw("/api/cms/tariffs", "application/json", huge)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large"))
    );
}
