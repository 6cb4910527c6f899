//! Settings-dependent security: CORS when configured, TLS termination with a certificate made
//! here, and charger HTTP Basic authentication (OCPP security profiles 1 and 2).

mod common;

use std::net::SocketAddr;

use common::{Backend, TestApp};
use evcms::auth::{ChargerAuthConfig, ChargerAuthError, check_charger};
use evcms_sim::ocpp::types::RegistrationStatus;
use evcms_sim::{Charger, SimError};
use reqwest::{Method, StatusCode};
use serde_json::json;

both_databases!(
    cors_answers_only_configured_origins,
    https_is_served_with_the_configured_certificate,
    chargers_authenticate_with_their_key,
    a_charger_with_a_key_connects_over_websocket_only_with_that_key,
    a_charger_charges_over_wss_with_its_key,
);

async fn cors_answers_only_configured_origins(backend: Backend) {
    let Some((mut config, db)) = TestApp::config(backend).await else {
        return;
    };
    config.security.cors_origins = Some("https://ops.example.com, https://noc.example.com".into());
    let app = TestApp::spawn_with(config, db, reqwest::Client::builder).await;
    let preflight = app
        .anonymous
        .request(Method::OPTIONS, app.url("/api/cms/stations"))
        .header("origin", "https://ops.example.com")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://ops.example.com"
    );
    let other = app
        .client
        .get(app.url("/api/cms/stations"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

/// A server terminating TLS with a self-signed certificate made here; its clients trust it.
/// Returns the app, the certificate (PEM) and the folder holding its files.
async fn spawn_tls(
    backend: Backend,
    adjust: impl FnOnce(&mut evcms::Config),
) -> Option<(TestApp, String, tempfile::TempDir)> {
    let (mut config, db) = TestApp::config(backend).await?;
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
    config.security.tls_cert = Some(cert_path);
    config.security.tls_key = Some(key_path);
    adjust(&mut config);
    let root = reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap();
    let app = TestApp::spawn_with(config, db, move || {
        reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(root.clone())
    })
    .await;
    Some((app, cert.cert.pem(), dir))
}

async fn https_is_served_with_the_configured_certificate(backend: Backend) {
    let Some((app, _, _dir)) = spawn_tls(backend, |_| {}).await else {
        return;
    };
    assert!(app.base_url.starts_with("https://"), "{}", app.base_url);
    let (status, health) = app.get("/api/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health["status"], "ok");
    let (status, _) = app.get("/api/cms/stations").await;
    assert_eq!(status, StatusCode::OK, "login and the API work over TLS");
    // A client that does not trust the certificate cannot complete the handshake, and plain
    // HTTP on the TLS port gets no answer.
    let untrusting = reqwest::Client::builder().use_rustls_tls().build().unwrap();
    assert!(untrusting.get(app.url("/api/health")).send().await.is_err());
    let plain = app.base_url.replacen("https://", "http://", 1);
    assert!(reqwest::get(format!("{plain}/api/health")).await.is_err());
}

fn basic(user: &str, password: &str) -> reqwest::header::HeaderMap {
    use base64::Engine;
    let mut headers = reqwest::header::HeaderMap::new();
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    headers.insert("authorization", format!("Basic {encoded}").parse().unwrap());
    headers
}

async fn chargers_authenticate_with_their_key(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let remote: Option<SocketAddr> = Some("10.1.2.3:4567".parse().unwrap());
    let optional = ChargerAuthConfig {
        required_by_default: false,
    };
    let required = ChargerAuthConfig {
        required_by_default: true,
    };
    let none = reqwest::header::HeaderMap::new();
    let key = "k3y-of-CP-1-0123456789";

    // Unknown chargers: the global default decides.
    assert!(
        check_charger(&app.db, &optional, "CP-1", &none, remote)
            .await
            .is_ok()
    );
    assert!(matches!(
        check_charger(&app.db, &required, "CP-1", &none, remote).await,
        Err(ChargerAuthError::MissingCredentials)
    ));
    assert!(matches!(
        check_charger(&app.db, &optional, "CP-1", &basic("CP-1", key), remote).await,
        Err(ChargerAuthError::NoKey)
    ));

    // A key set before the charger ever connected; never echoed.
    let (status, body) = app
        .put(
            "/api/cms/chargers/CP-1/security",
            &json!({"authorization_key": key, "auth_required": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"charge_point_id": "CP-1", "auth_required": true, "effective_auth_required": true, "has_authorization_key": true})
    );
    assert!(!body.to_string().contains(key));
    let stored: String = evcms::on_read!(&app.db, pool => sqlx::query_scalar("SELECT auth_key_hash FROM chargers WHERE charge_point_id = 'CP-1'").fetch_one(pool).await).unwrap();
    assert!(stored.starts_with("$argon2id$"), "stored hashed");

    assert!(
        check_charger(&app.db, &optional, "CP-1", &basic("CP-1", key), remote)
            .await
            .is_ok()
    );
    assert!(
        check_charger(&app.db, &optional, "CP-1", &basic("CP-1", key), remote)
            .await
            .is_ok(),
        "again, from the cache"
    );
    assert!(matches!(
        check_charger(
            &app.db,
            &optional,
            "CP-1",
            &basic("CP-1", "k3y-of-CP-1-0123456780"),
            remote
        )
        .await,
        Err(ChargerAuthError::WrongKey)
    ));
    assert!(matches!(
        check_charger(&app.db, &optional, "CP-1", &basic("CP-2", key), remote).await,
        Err(ChargerAuthError::WrongUser)
    ));
    assert!(
        matches!(
            check_charger(&app.db, &optional, "CP-1", &none, remote).await,
            Err(ChargerAuthError::MissingCredentials)
        ),
        "its own setting overrides the optional default"
    );
    let mut junk = reqwest::header::HeaderMap::new();
    junk.insert("authorization", "Basic ???".parse().unwrap());
    assert!(matches!(
        check_charger(&app.db, &optional, "CP-1", &junk, remote).await,
        Err(ChargerAuthError::MalformedCredentials)
    ));
    let refused = check_charger(&app.db, &optional, "CP-1", &none, remote)
        .await
        .unwrap_err();
    let response = axum::response::IntoResponse::into_response(refused);
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Basic realm=\"evcms\""
    );

    // A new key replaces the old one, even for a cached verification.
    let (status, _) = app
        .put(
            "/api/cms/chargers/CP-1/security",
            &json!({"authorization_key": "a-brand-new-key-0000"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(matches!(
        check_charger(&app.db, &optional, "CP-1", &basic("CP-1", key), remote).await,
        Err(ChargerAuthError::WrongKey)
    ));
    assert!(
        check_charger(
            &app.db,
            &optional,
            "CP-1",
            &basic("CP-1", "a-brand-new-key-0000"),
            remote
        )
        .await
        .is_ok()
    );

    // auth_required false: no credentials pass, but wrong ones are still refused.
    let (status, body) = app
        .put(
            "/api/cms/chargers/CP-1/security",
            &json!({"auth_required": false}),
        )
        .await;
    assert_eq!(
        (status, body["has_authorization_key"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    assert!(
        check_charger(&app.db, &required, "CP-1", &none, remote)
            .await
            .is_ok()
    );
    assert!(
        check_charger(&app.db, &required, "CP-1", &basic("CP-1", key), remote)
            .await
            .is_err()
    );

    // null falls back to the default; a removed key lets no one in with credentials.
    let (status, body) = app
        .put(
            "/api/cms/chargers/CP-1/security",
            &json!({"auth_required": null, "authorization_key": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["has_authorization_key"], false);
    assert_eq!(body["auth_required"], serde_json::Value::Null);
    assert!(
        check_charger(&app.db, &required, "CP-1", &none, remote)
            .await
            .is_err()
    );

    // Keys must be 16 to 40 printable characters; unknown fields are named.
    for bad in [
        json!({"authorization_key": "short"}),
        json!({"authorization_key": "x".repeat(41)}),
        json!({"authorization_key": 5}),
        json!({"auth_required": "yes"}),
        json!({"key": "0123456789abcdef"}),
    ] {
        let (status, body) = app.put("/api/cms/chargers/CP-1/security", &bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
    }
}

/// The handshake status a charger connecting with `password` gets (None: it connected).
async fn handshake_status(app: &TestApp, id: &str, password: Option<&str>) -> Option<u16> {
    let mut config = app.charger_config(id);
    config.basic_auth_password = password.map(str::to_owned);
    match Charger::connect(config).await {
        Ok(charger) => {
            let _ = charger.close().await;
            None
        }
        Err(SimError::Handshake { status, .. }) => status,
        Err(other) => panic!("unexpected error: {other}"),
    }
}

async fn a_charger_with_a_key_connects_over_websocket_only_with_that_key(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let site = app.site("100.00").await;
    let key = "0123456789abcdef-KEY";
    app.require_key(&site.device_id, key).await;
    assert_eq!(
        handshake_status(&app, &site.device_id, None).await,
        Some(401)
    );
    assert_eq!(
        handshake_status(&app, &site.device_id, Some("wrong-password-123")).await,
        Some(401)
    );
    let mut config = app.charger_config(&site.device_id);
    config.basic_auth_password = Some(key.to_owned());
    let mut cp = Charger::connect(config)
        .await
        .expect("the right key connects");
    assert_eq!(
        cp.boot().await.unwrap().status,
        RegistrationStatus::Accepted
    );
    // Another charger, not required to authenticate, connects without credentials but not with
    // wrong ones.
    assert_eq!(handshake_status(&app, "CP-OPEN", None).await, None);
    assert_eq!(
        handshake_status(&app, "CP-OPEN", Some("guessing-a-key-123")).await,
        Some(401)
    );
}

async fn a_charger_charges_over_wss_with_its_key(backend: Backend) {
    let Some((app, cert_pem, _dir)) = spawn_tls(backend, |config| {
        config.security.charger_auth_default = true
    })
    .await
    else {
        return;
    };
    assert!(app.ocpp_url().starts_with("wss://"), "{}", app.ocpp_url());
    let site = app.site("100.00").await;
    let key = "profile-2-key-0123456789";
    app.put(
        &format!("/api/cms/chargers/{}/security", site.device_id),
        &json!({"authorization_key": key}),
    )
    .await;

    let mut charger = app.charger_config(&site.device_id);
    charger.tls_root_pem = Some(cert_pem);
    // Required by the global default: no credentials, no connection.
    match Charger::connect(charger.clone()).await {
        Err(SimError::Handshake { status, .. }) => assert_eq!(status, Some(401)),
        other => panic!("expected 401, got {:?}", other.map(|_| ())),
    }
    charger.basic_auth_password = Some(key.to_owned());
    let plan = evcms_sim::scenario::SessionPlan {
        energy_wh: 2_000,
        id_tag: site.id_tag.clone(),
        connector: 1,
        meter_start_wh: 50_000,
        meter_interval: std::time::Duration::ZERO,
        samples: 2,
        power_kw: None,
    };
    let outcome = evcms_sim::scenario::play_session(charger, &plan, &mut |_| {})
        .await
        .expect("a whole session over wss");
    let session = app.session_of(outcome.transaction_id).await;
    assert_eq!(session["status"], "Completed");
    assert_eq!(session["energy_wh"], 2000);
    // Without trusting the certificate, a charger cannot connect.
    let mut untrusting = app.charger_config(&site.device_id);
    untrusting.basic_auth_password = Some(key.to_owned());
    assert!(Charger::connect(untrusting).await.is_err());
}
