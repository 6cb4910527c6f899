//! Authentication and authorization over HTTP: tokens, roles, organization scope, rate limits,
//! admin user management and the security headers.

mod common;

use common::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, TestApp, USER_PASSWORD, unique};
use evcms::auth::token::{Claims, TokenKey};
use evcms::domain::user::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

both_databases!(
    every_cms_route_refuses_a_request_without_a_token,
    login_refresh_me_and_logout,
    expired_tampered_and_foreign_tokens_are_refused,
    viewers_read_operators_write_admins_manage_users,
    an_organization_bound_user_sees_only_its_organization,
    sessions_of_another_organization_are_not_found,
    admins_manage_users_and_changes_revoke_tokens,
    the_last_admin_cannot_be_removed,
    failed_logins_are_rate_limited,
    passwords_must_be_strong,
    admins_add_organizations,
    security_headers_and_no_cors_by_default,
);

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

/// Every operation of the OpenAPI document under /api/cms, with its path parameters filled in.
async fn cms_operations(app: &TestApp) -> Vec<(Method, String)> {
    let (_, doc) = app.get("/api/openapi.json").await;
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/api/cms") {
            continue;
        }
        let concrete: String = path
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    "1"
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in item.as_object().unwrap().keys() {
            operations.push((method.to_uppercase().parse().unwrap(), concrete.clone()));
        }
    }
    operations
}

async fn every_cms_route_refuses_a_request_without_a_token(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let operations = cms_operations(&app).await;
    assert!(operations.len() >= 30, "{operations:?}");
    for (method, path) in operations
        .into_iter()
        .chain([(Method::GET, "/api/cms/no-such-route".to_owned())])
    {
        let (status, body) = app
            .call(method.clone(), &path, None, Some(&json!({})))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {body}");
        assert_eq!(code(&body), "unauthorized");
        let (status, _) = app
            .call(method.clone(), &path, Some("not-a-token"), None)
            .await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{method} {path} with junk"
        );
    }
    let response = app
        .anonymous
        .get(app.url("/api/cms/stations"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer realm=\"evcms\""
    );
    for path in ["/api/auth/me", "/api/auth/refresh", "/api/auth/logout"] {
        let method = if path.ends_with("me") {
            Method::GET
        } else {
            Method::POST
        };
        let (status, _) = app.call(method, path, None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
    // What stays public: health, the OpenAPI document, the UI, login.
    for path in ["/api/health", "/api/openapi.json", "/"] {
        let (status, _) = app.call(Method::GET, path, None, None).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
}

async fn login_refresh_me_and_logout(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (status, login) = app.login("ADMIN@evcms.local", ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{login}");
    assert_eq!(login["token_type"], "Bearer");
    assert_eq!(login["expires_in"], 3600);
    assert_eq!(login["user"]["email"], ADMIN_EMAIL);
    assert_eq!(login["user"]["role"], "admin");
    assert!(login["user"].get("password_hash").is_none());
    assert!(!login.to_string().contains("argon2"));
    let token = login["token"].as_str().unwrap();

    let (status, me) = app
        .call(Method::GET, "/api/auth/me", Some(token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], ADMIN_EMAIL);
    assert!(me["last_login_at"].is_string());

    let (status, refreshed) = app
        .call(Method::POST, "/api/auth/refresh", Some(token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let fresh = refreshed["token"].as_str().unwrap();
    assert_ne!(fresh, token);
    let (status, _) = app
        .call(Method::GET, "/api/cms/stations", Some(fresh), None)
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, wrong) = app.login(ADMIN_EMAIL, "Wrong-password-123").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(code(&wrong), "invalid_credentials");
    let (status, unknown) = app.login("nobody@example.com", ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        unknown, wrong,
        "an unknown account answers like a wrong password"
    );

    // Logout signs out every token of the user.
    let (status, _) = app
        .call(Method::POST, "/api/auth/logout", Some(fresh), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for t in [token, fresh, app.token.as_str()] {
        let (status, _) = app
            .call(Method::GET, "/api/cms/stations", Some(t), None)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, _) = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
}

async fn jwt_secret(app: &TestApp) -> String {
    evcms::on_read!(&app.db, pool => sqlx::query_scalar("SELECT value FROM settings WHERE key = 'jwt_secret'").fetch_one(pool).await).unwrap()
}

async fn expired_tampered_and_foreign_tokens_are_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let now = chrono::Utc::now().timestamp();
    let claims = |exp: i64| Claims {
        sub: "1".into(),
        role: Role::Admin,
        org: None,
        iat: now - 7200,
        exp,
        jti: "test".into(),
        tv: 0,
    };
    let key = TokenKey::new(jwt_secret(&app).await.as_bytes());
    let valid = key.sign(&claims(now + 600));
    let (status, _) = app
        .call(Method::GET, "/api/cms/stations", Some(&valid), None)
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a token signed with the stored secret works"
    );

    let expired = key.sign(&claims(now - 1));
    let foreign = TokenKey::new(b"some other secret of 32 bytes or more").sign(&claims(now + 600));
    let mut tampered = app.token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let mut parts: Vec<&str> = app.token.split('.').collect();
    let forged_payload = base64_url(&serde_json::to_vec(&claims(now + 600)).unwrap());
    parts[1] = &forged_payload;
    let forged = parts.join(".");
    for (what, token) in [
        ("expired", expired),
        ("foreign", foreign),
        ("tampered", tampered),
        ("forged", forged),
    ] {
        let (status, body) = app
            .call(Method::GET, "/api/cms/stations", Some(&token), None)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
        let (status, _) = app
            .call(Method::POST, "/api/auth/refresh", Some(&token), None)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what} refresh");
    }
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

async fn viewers_read_operators_write_admins_manage_users(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let station = app.station(json!({})).await;
    let path = format!(
        "/api/cms/stations/{}",
        station["station_id"].as_str().unwrap()
    );
    let viewer = app.user("viewer", None).await;
    let operator = app.user("operator", None).await;
    let new_station = || json!({"station_id": unique("STN"), "station_name": "X", "organization": "massive_mobility", "country": "India", "status": "Active", "grid_phase": "Three Phase"});

    for read in [
        "/api/cms/stations",
        path.as_str(),
        "/api/cms/points",
        "/api/cms/sessions",
        "/api/cms/tariffs",
        "/api/cms/customers",
        "/api/cms/organizations",
    ] {
        let (status, _) = app.call(Method::GET, read, Some(&viewer), None).await;
        assert_eq!(status, StatusCode::OK, "viewer GET {read}");
    }
    for (method, target, body) in [
        (Method::POST, "/api/cms/stations", new_station()),
        (Method::PUT, path.as_str(), json!({"station_name": "Y"})),
        (Method::DELETE, path.as_str(), json!({})),
        (
            Method::POST,
            "/api/cms/customers",
            json!({"customer_name": "A", "phone": "+919812345670"}),
        ),
        (
            Method::PUT,
            "/api/cms/chargers/CP-1/security",
            json!({"auth_required": true}),
        ),
        (Method::GET, "/api/cms/users", json!({})),
    ] {
        let (status, body) = app
            .call(method.clone(), target, Some(&viewer), Some(&body))
            .await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "viewer {method} {target}: {body}"
        );
        assert_eq!(code(&body), "forbidden");
    }
    let (status, _) = app
        .call(
            Method::POST,
            "/api/cms/stations",
            Some(&operator),
            Some(&new_station()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = app
        .call(
            Method::PUT,
            &path,
            Some(&operator),
            Some(&json!({"station_name": "Renamed"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    for (method, target) in [
        (Method::GET, "/api/cms/users"),
        (Method::POST, "/api/cms/users"),
        (Method::GET, "/api/cms/users/1"),
        (Method::POST, "/api/cms/organizations"),
    ] {
        let (status, _) = app
            .call(method.clone(), target, Some(&operator), Some(&json!({})))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "operator {method} {target}");
    }
    let (status, users) = app.get("/api/cms/users").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(users["pagination"]["total"], 3);
    assert!(!users.to_string().contains("password"));
}

async fn an_organization_bound_user_sees_only_its_organization(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let mine = app.station(json!({"organization": "1c_ev_charging"})).await;
    let theirs = app
        .station(json!({"organization": "massive_mobility"}))
        .await;
    let mine_id = mine["station_id"].as_str().unwrap();
    let theirs_id = theirs["station_id"].as_str().unwrap();
    let my_point = app.point(mine_id, json!({"device_id": "CP-MINE"})).await;
    let their_point = app
        .point(theirs_id, json!({"device_id": "CP-THEIRS"}))
        .await;
    let operator = app.user("operator", Some("1c_ev_charging")).await;
    let call = |method: Method, path: String, body: Option<Value>| {
        let operator = operator.clone();
        let app = &app;
        async move {
            app.call(method, &path, Some(&operator), body.as_ref())
                .await
        }
    };

    let (_, stations) = call(Method::GET, "/api/cms/stations".into(), None).await;
    assert_eq!(stations["pagination"]["total"], 1);
    assert_eq!(stations["data"][0]["station_id"], mine_id);
    let (_, filtered) = call(
        Method::GET,
        "/api/cms/stations?organization=massive_mobility".into(),
        None,
    )
    .await;
    assert_eq!(filtered["pagination"]["total"], 0);
    let (_, points) = call(Method::GET, "/api/cms/points".into(), None).await;
    assert_eq!(points["pagination"]["total"], 1);
    assert_eq!(points["data"][0]["id"], my_point["id"]);
    let (_, organizations) = call(Method::GET, "/api/cms/organizations".into(), None).await;
    assert_eq!(
        organizations,
        json!([{"code": "1c_ev_charging", "name": "1C EV Charging", "created_at": "2026-01-01T00:00:00Z"}])
    );

    // Another organization's rows answer exactly like missing ones.
    let (status, missing) = call(Method::GET, "/api/cms/stations/NO-SUCH".into(), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, hidden) = call(Method::GET, format!("/api/cms/stations/{theirs_id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(hidden["error"]["code"], missing["error"]["code"]);
    assert!(!hidden.to_string().contains("massive"));
    for (method, body) in [
        (Method::PUT, Some(json!({"station_name": "Mine now"}))),
        (Method::DELETE, None),
    ] {
        let (status, _) = call(method, format!("/api/cms/stations/{theirs_id}"), body).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let their_point_path = format!("/api/cms/points/{}", their_point["id"]);
    for (method, body) in [
        (Method::GET, None),
        (
            Method::PUT,
            Some(json!({"charging_point_name": "Mine now"})),
        ),
        (Method::DELETE, None),
    ] {
        let (status, _) = call(method, their_point_path.clone(), body).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let (status, _) = app.get(&their_point_path).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the point is still there for the admin"
    );

    // Creating in another organization is refused like naming one that does not exist.
    let (status, body) = call(Method::POST, "/api/cms/stations".into(), Some(json!({"station_id": unique("STN"), "station_name": "X", "organization": "massive_mobility", "country": "India", "status": "Active", "grid_phase": "Three Phase"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["details"][0]["field"], "organization");
    let (status, body) = call(
        Method::PUT,
        format!("/api/cms/stations/{mine_id}"),
        Some(json!({"organization": "massive_mobility"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let point = json!({"charging_point_name": "Bay", "station_id": theirs_id, "charger_type": "AC", "phase": "Phase R", "oem_list": "EVRE", "connectors": [{"connector_id": "1", "connector_type": "type2", "power": 7.4}]});
    let (status, body) = call(Method::POST, "/api/cms/points".into(), Some(point)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["details"][0]["field"], "station_id");
    let (status, _) = call(
        Method::PUT,
        format!("/api/cms/points/{}", my_point["id"]),
        Some(json!({"station_id": theirs_id})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Charger credentials follow the point whose device the charger is.
    let (status, _) = call(
        Method::PUT,
        "/api/cms/chargers/CP-THEIRS/security".into(),
        Some(json!({"auth_required": true})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(
        Method::PUT,
        "/api/cms/chargers/CP-UNKNOWN/security".into(),
        Some(json!({"auth_required": true})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = call(
        Method::PUT,
        "/api/cms/chargers/CP-MINE/security".into(),
        Some(json!({"auth_required": true})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The user's own organization still works in full.
    let (status, _) = call(
        Method::PUT,
        format!("/api/cms/stations/{mine_id}"),
        Some(json!({"station_name": "Renamed"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(
        Method::GET,
        format!("/api/cms/points/{}", my_point["id"]),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

async fn sessions_of_another_organization_are_not_found(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let mut ids = Vec::new();
    for organization in ["1c_ev_charging", "massive_mobility"] {
        let station = app.station(json!({"organization": organization})).await;
        let point = app
            .point(station["station_id"].as_str().unwrap(), json!({}))
            .await;
        let session_id = unique("SES");
        let session = evcms::domain::session::NewSession::started(
            session_id.clone(),
            point["id"].as_i64().unwrap(),
            evcms::db::now(),
        );
        let mut tx = app.db.begin().await.unwrap();
        evcms::db::sessions::insert(&mut tx, &session, evcms::db::now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        ids.push(session_id);
    }
    let viewer = app.user("viewer", Some("1c_ev_charging")).await;
    let (_, list) = app
        .call(Method::GET, "/api/cms/sessions", Some(&viewer), None)
        .await;
    assert_eq!(list["pagination"]["total"], 1);
    assert_eq!(list["data"][0]["session_id"], ids[0].as_str());
    let (status, _) = app
        .call(
            Method::GET,
            &format!("/api/cms/sessions/{}", ids[0]),
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .call(
            Method::GET,
            &format!("/api/cms/sessions/{}", ids[1]),
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, all) = app.get("/api/cms/sessions").await;
    assert_eq!(all["pagination"]["total"], 2);
}

async fn admins_manage_users_and_changes_revoke_tokens(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let created = app
        .create("/api/cms/users", &json!({"email": "Ravi@Example.com", "name": "Ravi", "role": "operator", "organization": "massive_mobility", "password": USER_PASSWORD}))
        .await;
    assert_eq!(created["email"], "ravi@example.com");
    assert_eq!(created["active"], true);
    assert!(created.get("password").is_none() && created.get("password_hash").is_none());
    let path = format!("/api/cms/users/{}", created["id"]);
    let (status, dup) = app.post("/api/cms/users", &json!({"email": "RAVI@example.com", "name": "Ravi 2", "role": "viewer", "password": USER_PASSWORD})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{dup}");
    let (status, bad) = app.post("/api/cms/users", &json!({"email": "x@example.com", "name": "X", "role": "admin", "organization": "massive_mobility", "password": USER_PASSWORD})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad["error"]["details"][0]["field"], "organization");

    let token = app.login_token("ravi@example.com", USER_PASSWORD).await;
    let (status, _) = app
        .call(Method::GET, "/api/cms/stations", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    // A name change keeps the sessions; a role change ends them.
    let (status, _) = app.put(&path, &json!({"name": "Ravi K"})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .call(Method::GET, "/api/cms/stations", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, changed) = app.put(&path, &json!({"role": "viewer"})).await;
    assert_eq!(
        (status, changed["role"].as_str()),
        (StatusCode::OK, Some("viewer"))
    );
    let (status, _) = app
        .call(Method::GET, "/api/cms/stations", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Deactivation: no login, no tokens.
    let token = app.login_token("ravi@example.com", USER_PASSWORD).await;
    let (status, _) = app.put(&path, &json!({"active": false})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .call(Method::GET, "/api/cms/stations", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.login("ravi@example.com", USER_PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A password reset by the admin.
    let (status, _) = app
        .put(
            &path,
            &json!({"active": true, "password": "Another-password-2"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.login("ravi@example.com", USER_PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let token = app
        .login_token("ravi@example.com", "Another-password-2")
        .await;

    // The user changes their own password.
    let (status, body) = app
        .call(
            Method::PUT,
            "/api/auth/password",
            Some(&token),
            Some(&json!({"current_password": "wrong", "new_password": "Third-password-33"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = app.call(Method::PUT, "/api/auth/password", Some(&token), Some(&json!({"current_password": "Another-password-2", "new_password": "Third-password-33"}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = app
        .call(Method::GET, "/api/auth/me", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old token is revoked");
    let (status, _) = app
        .call(
            Method::GET,
            "/api/auth/me",
            Some(body["token"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "the new token works");

    let (status, list) = app.get("/api/cms/users?role=viewer&search=ravi").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["pagination"]["total"], 1);
    let (status, _) = app.delete(&path).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.login("ravi@example.com", "Third-password-33").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.get("/api/cms/users/abc").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn the_last_admin_cannot_be_removed(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, me) = app.get("/api/auth/me").await;
    let path = format!("/api/cms/users/{}", me["id"]);
    for change in [json!({"role": "operator"}), json!({"active": false})] {
        let (status, body) = app.put(&path, &change).await;
        assert_eq!(status, StatusCode::CONFLICT, "{change}: {body}");
    }
    let (status, _) = app.delete(&path).await;
    assert_eq!(status, StatusCode::CONFLICT);
    app.user("admin", None).await;
    let (status, _) = app.put(&path, &json!({"role": "operator"})).await;
    assert_eq!(status, StatusCode::OK);
}

async fn failed_logins_are_rate_limited(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for _ in 0..5 {
        let (status, _) = app.login(ADMIN_EMAIL, "Wrong-password-123").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let response = app
        .anonymous
        .post(app.url("/api/auth/login"))
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 800 && wait <= 900, "{wait}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(code(&body), "too_many_attempts");
    // Tokens already issued keep working; another account from the same address may still try.
    let (status, _) = app.get("/api/cms/stations").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.login("someone@example.com", "Wrong-password-123").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Twenty failures from one address lock the address.
    for n in 0..14 {
        let (status, _) = app
            .login(&format!("user{n}@example.com"), "Wrong-password-123")
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, _) = app.login("fresh@example.com", "Wrong-password-123").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

async fn passwords_must_be_strong(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for weak in [
        "short-1A",
        "onlylowercaseletters",
        "weak@example.com",
        "aaaaaaaaaaaaaaaa",
    ] {
        let (status, body) = app
            .post("/api/cms/users", &json!({"email": "weak@example.com", "name": "W", "role": "viewer", "password": weak}))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{weak}");
        assert_eq!(
            body["error"]["details"][0]["field"], "password",
            "{weak}: {body}"
        );
    }
    let (status, body) = app
        .post(
            "/api/cms/users",
            &json!({"email": "weak@example.com", "name": "W", "role": "viewer"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["details"][0]["field"], "password");
    // Bodies over the limit are refused on the login route too.
    let (status, _) = app
        .call(
            Method::POST,
            "/api/auth/login",
            None,
            Some(&json!({"email": "x".repeat(70_000), "password": "y"})),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

async fn admins_add_organizations(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let created = app
        .create(
            "/api/cms/organizations",
            &json!({"code": "green_volt", "name": "Green Volt"}),
        )
        .await;
    assert_eq!(created["code"], "green_volt");
    let (status, _) = app
        .post(
            "/api/cms/organizations",
            &json!({"code": "green_volt", "name": "Again"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = app
        .post(
            "/api/cms/organizations",
            &json!({"code": "bad code", "name": "X"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    app.station(json!({"organization": "green_volt"})).await;
    let token = app.user("operator", Some("green_volt")).await;
    let (_, stations) = app
        .call(Method::GET, "/api/cms/stations", Some(&token), None)
        .await;
    assert_eq!(stations["pagination"]["total"], 1);
}

async fn security_headers_and_no_cors_by_default(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for path in ["/", "/api/health", "/api/cms/stations"] {
        let response = app
            .client
            .get(app.url(path))
            .header("origin", "https://evil.example")
            .send()
            .await
            .unwrap();
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("default-src 'self'")
        );
        assert!(
            headers.get("access-control-allow-origin").is_none(),
            "{path}"
        );
    }
    let response = app
        .anonymous
        .post(app.url("/api/auth/login"))
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store");
}
