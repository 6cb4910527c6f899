//! What every client meets first: the OpenAPI document, the health check, the UI, and the JSON
//! answers for unknown routes and methods.

mod common;

use common::{Backend, TestApp};
use reqwest::StatusCode;
use serde_json::Value;

both_databases!(
    organizations_of_the_roadmap_are_there,
    health_reports_the_database,
    unknown_routes_and_methods_answer_json_errors,
    the_admin_ui_is_served_at_the_root,
    blank_body_text_is_refused_and_blank_query_parameters_are_absent,
    a_path_with_a_control_character_names_nothing
);

/// Every route of the roadmap, plus our extensions, must be in the OpenAPI document.
const ROUTES: &[(&str, &str)] = &[
    ("get", "/api/cms/organizations"),
    ("get", "/api/cms/stations"),
    ("post", "/api/cms/stations"),
    ("get", "/api/cms/stations/{stationId}"),
    ("put", "/api/cms/stations/{stationId}"),
    ("delete", "/api/cms/stations/{stationId}"),
    ("get", "/api/cms/points"),
    ("post", "/api/cms/points"),
    ("get", "/api/cms/points/{pointId}"),
    ("put", "/api/cms/points/{pointId}"),
    ("delete", "/api/cms/points/{pointId}"),
    ("get", "/api/cms/customers"),
    ("post", "/api/cms/customers"),
    ("get", "/api/cms/customers/{customerId}"),
    ("put", "/api/cms/customers/{customerId}"),
    ("delete", "/api/cms/customers/{customerId}"),
    ("get", "/api/cms/customers/{customerId}/wallet-transactions"),
    (
        "post",
        "/api/cms/customers/{customerId}/wallet-transactions",
    ),
    ("get", "/api/cms/sessions"),
    ("get", "/api/cms/sessions/{sessionId}"),
    ("get", "/api/cms/sessions/{sessionId}/meter-values"),
    ("get", "/api/cms/customers/{customerId}/id-tags"),
    ("post", "/api/cms/customers/{customerId}/id-tags"),
    ("get", "/api/cms/id-tags"),
    ("get", "/api/cms/id-tags/{idTag}"),
    ("put", "/api/cms/id-tags/{idTag}"),
    ("delete", "/api/cms/id-tags/{idTag}"),
    ("get", "/api/cms/chargers"),
    ("get", "/api/cms/chargers/{chargePointId}"),
    ("get", "/api/cms/tariffs"),
    ("post", "/api/cms/tariffs"),
    ("get", "/api/cms/tariffs/{tariffId}"),
    ("put", "/api/cms/tariffs/{tariffId}"),
    ("delete", "/api/cms/tariffs/{tariffId}"),
    ("post", "/api/cms/organizations"),
    ("get", "/api/cms/users"),
    ("post", "/api/cms/users"),
    ("get", "/api/cms/users/{userId}"),
    ("put", "/api/cms/users/{userId}"),
    ("delete", "/api/cms/users/{userId}"),
    ("put", "/api/cms/chargers/{chargePointId}/security"),
    ("get", "/api/cms/events"),
    ("post", "/api/auth/login"),
    ("post", "/api/auth/refresh"),
    ("post", "/api/auth/logout"),
    ("get", "/api/auth/me"),
    ("put", "/api/auth/password"),
    (
        "post",
        "/api/cms/chargers/{chargePointId}/commands/{action}",
    ),
    ("get", "/api/cms/chargers/{chargePointId}/commands"),
    ("get", "/api/cms/commands/{id}"),
    ("get", "/api/cms/chargers/{chargePointId}/reservations"),
    ("get", "/api/cms/chargers/{chargePointId}/local-list"),
    ("get", "/api/cms/chargers/{chargePointId}/charging-profiles"),
    ("get", "/api/cms/chargers/{chargePointId}/configuration"),
    ("get", "/api/cms/chargers/{chargePointId}/firmware-updates"),
    ("get", "/api/cms/chargers/{chargePointId}/diagnostics"),
    ("get", "/api/cms/diagnostics/{id}/file"),
    ("get", "/api/cms/firmware"),
    ("post", "/api/cms/firmware"),
    ("get", "/api/cms/dashboard"),
    ("get", "/api/cms/dashboard/daily"),
    ("get", "/api/cms/dashboard/hourly"),
];

#[tokio::test]
async fn the_openapi_document_lists_every_route_and_resolves_every_reference() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (status, doc) = app.get("/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for (method, path) in ROUTES {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is missing from the OpenAPI document"
        );
    }
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let responses = operation["responses"]
                .as_object()
                .unwrap_or_else(|| panic!("{method} {path} has no responses"));
            assert!(
                responses.keys().any(|code| code.starts_with('2')),
                "{method} {path} documents no success answer"
            );
            if method != "get" || path.contains('{') {
                assert!(
                    responses.keys().any(|code| code.starts_with('4')),
                    "{method} {path} documents no error answer"
                );
            }
        }
    }
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for reference in refs {
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external reference {reference}"));
        assert!(
            doc.pointer(pointer).is_some(),
            "{reference} does not resolve"
        );
    }
}

#[tokio::test]
async fn protected_operations_declare_the_bearer_and_its_answers_and_text_is_never_blank() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (_, doc) = app.get("/api/openapi.json").await;
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    for (method, path) in ROUTES {
        let operation = &doc["paths"][path][method];
        let protected = *path != "/api/auth/login";
        assert_eq!(
            operation["security"].is_array(),
            protected,
            "{method} {path}: security"
        );
        assert_eq!(
            operation["responses"]["401"].is_object(),
            protected || *path == "/api/auth/login",
            "{method} {path}: 401"
        );
        if path.starts_with("/api/cms/") {
            assert!(
                operation["responses"]["403"].is_object(),
                "{method} {path}: 403"
            );
        }
    }
    // Without a token, every protected operation answers the 401 it declares.
    let response = app
        .anonymous
        .get(app.url("/api/cms/tariffs"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let customer = &doc["components"]["schemas"]["CustomerInput"]["properties"];
    assert_eq!(customer["email"]["minLength"], 1);
    assert_eq!(customer["default_vehicle"]["pattern"], "\\S");
    let sort = doc["paths"]["/api/cms/customers"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "sort")
        .unwrap();
    assert_eq!(sort["allowEmptyValue"], true);
}

fn collect_refs(value: &Value, refs: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                refs.push(r.clone());
            }
            map.values().for_each(|v| collect_refs(v, refs));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, refs)),
        _ => {}
    }
}

async fn organizations_of_the_roadmap_are_there(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (status, body) = app.get("/api/cms/organizations").await;
    assert_eq!(status, StatusCode::OK);
    let codes: Vec<_> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["1c_ev_charging", "massive_mobility"]);
}

async fn health_reports_the_database(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (status, body) = app.get("/api/health").await;
    assert_eq!(status, StatusCode::OK);
    let expected = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(
        body,
        serde_json::json!({"status": "ok", "database": expected, "database_reachable": true})
    );
}

async fn unknown_routes_and_methods_answer_json_errors(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (status, body) = app.get("/api/cms/nothing-here").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, body) = app
        .post("/api/cms/nothing-here", &serde_json::json!({}))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, body) = app
        .send_method(reqwest::Method::PATCH, "/api/cms/tariffs")
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
    );
}

async fn the_admin_ui_is_served_at_the_root(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let response = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(response.text().await.unwrap().contains("evcms"));
}

async fn blank_body_text_is_refused_and_blank_query_parameters_are_absent(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (status, body) = app
        .post(
            "/api/cms/customers",
            &serde_json::json!({"customer_name": "Asha Rao", "phone": "+91 98450 12345", "email": "", "default_vehicle": "  "}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(common::problem_fields(&body), ["email", "default_vehicle"]);
    let (status, body) = app
        .post(
            "/api/cms/customers",
            &serde_json::json!({"customer_name": "Asha Rao", "phone": "+91 98450 12345", "email": null}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = app.get("/api/cms/customers?sort=&search=").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["pagination"]["total"], 1);
    let (status, body) = app.get("/api/cms/customers?search=a%00b").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(common::problem_fields(&body), ["search"]);
}

async fn a_path_with_a_control_character_names_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for path in [
        "/api/cms/id-tags/A%00B",
        "/api/cms/tariffs/T%00",
        "/api/cms/chargers/CP%01",
    ] {
        let (status, body) = app.get(path).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found")),
            "{path}"
        );
    }
}
