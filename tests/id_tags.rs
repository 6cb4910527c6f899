//! `/api/cms/id-tags` and `/api/cms/customers/{id}/id-tags` over HTTP, on SQLite and PostgreSQL.

mod common;

use common::{Backend, TestApp, problem_fields};
use reqwest::StatusCode;
use serde_json::{Value, json};

both_databases!(
    creates_reads_and_lists_a_customers_tags,
    refuses_invalid_tags_listing_every_field,
    a_tag_is_unique_across_customers_in_any_letter_case,
    concurrent_creates_of_one_tag_in_two_cases_give_one_tag,
    only_a_live_customer_gets_tags,
    update_blocks_and_sets_expiry_but_keeps_tag_and_customer,
    delete_removes_the_tag_for_good,
    lists_all_tags_with_filters_sorting_and_pagination,
    deleting_a_customer_deletes_their_tags,
);

fn tags(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id_tag"].as_str().unwrap().to_owned())
        .collect()
}

fn tags_path(customer: &Value) -> String {
    format!("/api/cms/customers/{}/id-tags", customer["id"])
}

async fn creates_reads_and_lists_a_customers_tags(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let asha = app.customer(json!({"customer_name": "Asha Rao"})).await;
    let (status, tag) = app
        .post(&tags_path(&asha), &json!({"id_tag": "04A2B3C4D5E6F7"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{tag}");
    assert_eq!(tag["id_tag"], "04A2B3C4D5E6F7");
    assert_eq!(tag["customer_id"], asha["id"]);
    assert_eq!(tag["customer_name"], "Asha Rao");
    assert_eq!(tag["blocked"], false);
    assert_eq!(tag["expires_at"], Value::Null);
    assert_eq!(tag["created_at"], tag["updated_at"]);
    assert!(tag["id"].as_i64().unwrap() > 0);
    let (status, read) = app.get("/api/cms/id-tags/04A2B3C4D5E6F7").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read, tag);
    // CiString: the path finds the tag in any letter case.
    assert_eq!(app.get("/api/cms/id-tags/04a2b3c4d5e6f7").await.1, tag);
    // Punctuation is allowed, percent-encoded in the path.
    let app_token = app
        .create(
            &tags_path(&asha),
            &json!({"id_tag": "APP:asha#1/x", "blocked": true, "expires_at": "2027-12-31T23:59:59+05:30", "customer_id": asha["id"]}),
        )
        .await;
    assert_eq!(app_token["blocked"], true);
    assert_eq!(
        app_token["expires_at"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
            .to_rfc3339(),
        "2027-12-31T18:29:59+00:00"
    );
    let (status, read) = app.get("/api/cms/id-tags/APP%3Aasha%231%2Fx").await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read, app_token);
    let (status, page) = app.get(&tags_path(&asha)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tags(&page), ["APP:asha#1/x", "04A2B3C4D5E6F7"]);
    assert_eq!(
        page["pagination"],
        json!({"page": 1, "limit": 20, "total": 2, "pages": 1})
    );
    let (_, blocked) = app.get(&format!("{}?blocked=true", tags_path(&asha))).await;
    assert_eq!(tags(&blocked), ["APP:asha#1/x"]);
    let (_, usable) = app
        .get(&format!("{}?blocked=false&search=04a2", tags_path(&asha)))
        .await;
    assert_eq!(tags(&usable), ["04A2B3C4D5E6F7"]);
    let (status, body) = app
        .get(&format!("{}?blocked=yes&sort=phone", tags_path(&asha)))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem_fields(&body), ["blocked", "sort"]);
    // Another customer's list does not show them.
    let ravi = app.customer(json!({"customer_name": "Ravi"})).await;
    assert_eq!(app.get(&tags_path(&ravi)).await.1["pagination"]["total"], 0);
}

async fn refuses_invalid_tags_listing_every_field(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let asha = app.customer(json!({})).await;
    let path = tags_path(&asha);
    for (body, fields) in [
        (json!({"id_tag": "X".repeat(21)}), vec!["id_tag"]),
        (json!({"id_tag": "AB CD"}), vec!["id_tag"]),
        (json!({"id_tag": ""}), vec!["id_tag"]),
        (json!({"id_tag": "   "}), vec!["id_tag"]),
        (json!({"id_tag": "KARTE-Ä"}), vec!["id_tag"]),
        (json!({}), vec!["id_tag"]),
        (
            json!({"id_tag": 42, "blocked": "no", "expires_at": "next year"}),
            vec!["id_tag", "blocked", "expires_at"],
        ),
        (
            json!({"id_tag": "OK", "customer_id": asha["id"].as_i64().unwrap() + 1}),
            vec!["customer_id"],
        ),
        (json!({"id_tag": "OK", "wallet": 1}), vec!["wallet"]),
    ] {
        let (status, err) = app.post(&path, &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {err}");
        assert_eq!(err["error"]["code"], "validation_failed");
        assert_eq!(problem_fields(&err), fields, "{body}");
    }
    let (status, err) = app.post(&path, &json!({"id_tag": "X".repeat(21)})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        err["error"]["details"][0]["problem"]
            .as_str()
            .unwrap()
            .contains("20"),
        "{err}"
    );
    // Exactly 20 characters is fine; surrounding spaces are trimmed like every text field.
    let twenty = app.create(&path, &json!({"id_tag": "Y".repeat(20)})).await;
    assert_eq!(twenty["id_tag"], "Y".repeat(20));
    let trimmed = app.create(&path, &json!({"id_tag": " RFID-1 "})).await;
    assert_eq!(trimmed["id_tag"], "RFID-1");
    assert_eq!(app.get(&path).await.1["pagination"]["total"], 2);
}

async fn a_tag_is_unique_across_customers_in_any_letter_case(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let asha = app.customer(json!({"customer_name": "Asha"})).await;
    let ravi = app.customer(json!({"customer_name": "Ravi"})).await;
    app.create(&tags_path(&asha), &json!({"id_tag": "CARD-AB12"}))
        .await;
    for (owner, tag) in [
        (&ravi, "CARD-AB12"),
        (&ravi, "card-ab12"),
        (&asha, "Card-Ab12"),
    ] {
        let (status, body) = app.post(&tags_path(owner), &json!({"id_tag": tag})).await;
        assert_eq!(status, StatusCode::CONFLICT, "{tag}: {body}");
        assert_eq!(body["error"]["code"], "conflict");
        assert_eq!(problem_fields(&body), ["id_tag"]);
    }
    let (_, all) = app.get("/api/cms/id-tags").await;
    assert_eq!(tags(&all), ["CARD-AB12"]);
    assert_eq!(all["data"][0]["customer_name"], "Asha");
}

async fn concurrent_creates_of_one_tag_in_two_cases_give_one_tag(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let mut customers = Vec::new();
    for _ in 0..8 {
        customers.push(app.customer(json!({})).await);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (i, c) in customers.iter().enumerate() {
        let tag = if i % 2 == 0 { "race-card" } else { "RACE-CARD" };
        let (client, url) = (app.client.clone(), app.url(&tags_path(c)));
        tasks.spawn(async move {
            let body = json!({"id_tag": tag});
            client.post(url).json(&body).send().await.unwrap().status()
        });
    }
    let statuses = tasks.join_all().await;
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, refused), (1, 7), "{statuses:?}");
    assert_eq!(
        app.get("/api/cms/id-tags").await.1["pagination"]["total"],
        1
    );
}

async fn only_a_live_customer_gets_tags(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let gone = app.customer(json!({})).await;
    let path = tags_path(&gone);
    assert_eq!(
        app.delete(&format!("/api/cms/customers/{}", gone["id"]))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    for path in [
        path.as_str(),
        "/api/cms/customers/999999/id-tags",
        "/api/cms/customers/abc/id-tags",
        "/api/cms/customers/0/id-tags",
    ] {
        let (status, body) = app.post(path, &json!({"id_tag": "RFID-9"})).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(body["error"]["code"], "not_found");
        let (status, _) = app.get(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(
        app.get("/api/cms/id-tags").await.1["pagination"]["total"],
        0
    );
}

async fn update_blocks_and_sets_expiry_but_keeps_tag_and_customer(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let asha = app.customer(json!({})).await;
    let ravi = app.customer(json!({})).await;
    let created = app
        .create(&tags_path(&asha), &json!({"id_tag": "RFID-77"}))
        .await;
    let path = "/api/cms/id-tags/rfid-77";
    let (status, blocked) = app
        .put(
            path,
            &json!({"blocked": true, "expires_at": "2027-01-31T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{blocked}");
    assert_eq!(blocked["blocked"], true);
    assert_eq!(blocked["id_tag"], "RFID-77");
    assert_eq!(blocked["customer_id"], asha["id"]);
    assert_eq!(blocked["created_at"], created["created_at"]);
    assert_ne!(blocked["updated_at"], created["updated_at"]);
    assert!(
        blocked["expires_at"]
            .as_str()
            .unwrap()
            .starts_with("2027-01-31T00:00:00")
    );
    // Fields left out keep their value; null clears the expiry.
    let (status, cleared) = app.put(path, &json!({"expires_at": null})).await;
    assert_eq!(status, StatusCode::OK, "{cleared}");
    assert_eq!(cleared["blocked"], true);
    assert_eq!(cleared["expires_at"], Value::Null);
    // Sending the record back unchanged is fine, as a form does.
    let (status, same) = app
        .put(
            path,
            &json!({"id_tag": "RFID-77", "customer_id": asha["id"], "blocked": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{same}");
    assert_eq!(same["blocked"], false);
    // The idTag and the customer cannot change.
    for (body, field) in [
        (json!({"id_tag": "RFID-78"}), "id_tag"),
        (json!({"id_tag": "rfid-77"}), "id_tag"),
        (json!({"customer_id": ravi["id"]}), "customer_id"),
    ] {
        let (status, err) = app.put(path, &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {err}");
        assert_eq!(problem_fields(&err), [field], "{body}");
        assert!(
            err["error"]["details"][0]["problem"]
                .as_str()
                .unwrap()
                .contains("cannot be changed")
        );
    }
    let (status, err) = app
        .put(
            path,
            &json!({"blocked": null, "expires_at": "soon", "note": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_fields(&err), ["note"]);
    let (status, err) = app
        .put(path, &json!({"blocked": 1, "expires_at": "soon"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_fields(&err), ["blocked", "expires_at"]);
    let (_, now) = app.get(path).await;
    assert_eq!(now, same);
    let (status, _) = app
        .put("/api/cms/id-tags/NOPE", &json!({"blocked": true}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn delete_removes_the_tag_for_good(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let asha = app.customer(json!({})).await;
    let ravi = app.customer(json!({})).await;
    app.create(&tags_path(&asha), &json!({"id_tag": "LOST-CARD"}))
        .await;
    let (status, body) = app.delete("/api/cms/id-tags/lost-card").await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(
        app.get("/api/cms/id-tags/LOST-CARD").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.delete("/api/cms/id-tags/LOST-CARD").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get(&tags_path(&asha)).await.1["pagination"]["total"], 0);
    // The card may now be given to someone else.
    let again = app
        .create(&tags_path(&ravi), &json!({"id_tag": "LOST-CARD"}))
        .await;
    assert_eq!(again["customer_id"], ravi["id"]);
}

async fn lists_all_tags_with_filters_sorting_and_pagination(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let asha = app.customer(json!({"customer_name": "Asha Rao"})).await;
    let ravi = app.customer(json!({"customer_name": "Ravi Kumar"})).await;
    for tag in ["A-3", "A-1", "A-2"] {
        app.create(&tags_path(&asha), &json!({"id_tag": tag})).await;
    }
    for tag in ["R-1", "R-2"] {
        app.create(
            &tags_path(&ravi),
            &json!({"id_tag": tag, "blocked": tag == "R-2"}),
        )
        .await;
    }
    let (status, all) = app.get("/api/cms/id-tags").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tags(&all), ["R-2", "R-1", "A-2", "A-1", "A-3"]);
    let list = |query: String| {
        let app = &app;
        async move {
            let (status, page) = app.get(&format!("/api/cms/id-tags?{query}")).await;
            assert_eq!(status, StatusCode::OK, "{query}: {page}");
            tags(&page)
        }
    };
    assert_eq!(
        list(format!("customer_id={}&sort=id_tag", asha["id"])).await,
        ["A-1", "A-2", "A-3"]
    );
    assert_eq!(list("blocked=true".into()).await, ["R-2"]);
    assert_eq!(
        list("blocked=false&sort=-id_tag".into()).await,
        ["R-1", "A-3", "A-2", "A-1"]
    );
    assert_eq!(
        list("search=kumar&sort=id_tag".into()).await,
        ["R-1", "R-2"]
    );
    assert_eq!(list("search=a-".into()).await, ["A-2", "A-1", "A-3"]);
    assert_eq!(
        list("customer_id=999999".into()).await,
        Vec::<String>::new()
    );
    let (_, second) = app.get("/api/cms/id-tags?sort=id_tag&limit=2&page=2").await;
    assert_eq!(tags(&second), ["A-3", "R-1"]);
    assert_eq!(
        second["pagination"],
        json!({"page": 2, "limit": 2, "total": 5, "pages": 3})
    );
    let (status, body) = app.get("/api/cms/id-tags?customer_id=x&page=0").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem_fields(&body), ["customer_id", "page"]);
}

async fn deleting_a_customer_deletes_their_tags(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let asha = app.customer(json!({})).await;
    let ravi = app.customer(json!({})).await;
    app.create(&tags_path(&asha), &json!({"id_tag": "ASHA-1"}))
        .await;
    app.create(&tags_path(&ravi), &json!({"id_tag": "RAVI-1"}))
        .await;
    assert_eq!(
        app.delete(&format!("/api/cms/customers/{}", asha["id"]))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get("/api/cms/id-tags/ASHA-1").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(tags(&app.get("/api/cms/id-tags").await.1), ["RAVI-1"]);
    // The card can be handed to another customer.
    app.create(&tags_path(&ravi), &json!({"id_tag": "asha-1"}))
        .await;
}
