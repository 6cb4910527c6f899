//! The harness of the integration tests: starts the real evcms on 127.0.0.1 with a random port
//! against a fresh database, and talks to it over HTTP.
//!
//! Every behaviour test is an `async fn(Backend)` run on both databases by [`both_databases!`].
//! PostgreSQL comes from `EVCMS_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`);
//! each test gets a database of its own, dropped when the test ends. When PostgreSQL cannot be
//! reached the PostgreSQL tests are skipped with a note, except under `CI=true`, where that is a
//! failure.
#![allow(dead_code)]

pub mod images;
pub mod ocpp;
pub mod sse;

use std::sync::atomic::{AtomicU32, Ordering};

use evcms::{App, Config, Db};
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::{AssertSqlSafe, Connection, PgConnection};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each listed `async fn(Backend)` as two tests, `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! both_databases {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name($crate::common::Backend::Sqlite).await } )+
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name($crate::common::Backend::Postgres).await } )+
        }
    };
}

/// The admin account every test app starts with.
pub const ADMIN_EMAIL: &str = "admin@evcms.local";
pub const ADMIN_PASSWORD: &str = "Test-admin-password-1";
/// The password of the users made by [`TestApp::user`].
pub const USER_PASSWORD: &str = "Test-user-password-1";

/// A running evcms and HTTP clients for it. `client` (and so `get`, `post`, `put`, `delete`,
/// `send_method`, `post_raw`) sends the admin's token ([`TestApp::token`]); `anonymous` sends
/// none, and [`TestApp::call`] sends the token it is given, or none.
pub struct TestApp {
    pub base_url: String,
    pub client: reqwest::Client,
    pub anonymous: reqwest::Client,
    pub db: Db,
    /// The OCPP endpoint's live state (connections, sample writer); None for a server running
    /// as a separate process ([`TestApp::attach`]).
    pub hub: Option<std::sync::Arc<evcms::ocpp::Hub>>,
    /// A token of the admin account ([`ADMIN_EMAIL`], [`ADMIN_PASSWORD`]).
    pub token: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    _sqlite_dir: Option<tempfile::TempDir>,
    /// The local file store (station images) of this test (none for a server process attached).
    pub files_dir: Option<tempfile::TempDir>,
    /// Where `/metrics` is served when `EVCMS_METRICS_BIND` puts it off the main port.
    pub metrics_addr: Option<std::net::SocketAddr>,
    postgres_db: Option<(String, String)>,
}

/// A fresh database for one test: its URL, and what must live until the test ends.
pub struct TestDb {
    pub url: String,
    /// A folder of its own for the local file store.
    pub files_dir: Option<tempfile::TempDir>,
    sqlite_dir: Option<tempfile::TempDir>,
    postgres_db: Option<(String, String)>,
}

fn admin_postgres_url() -> String {
    std::env::var("EVCMS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

static NEXT_DB: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    /// A fresh database of `backend`; None when PostgreSQL is unreachable outside CI.
    pub async fn fresh(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("evcms.db").display()
                );
                Some(Self {
                    url,
                    files_dir: Some(tempfile::tempdir().expect("temp dir")),
                    sqlite_dir: Some(dir),
                    postgres_db: None,
                })
            }
            Backend::Postgres => {
                let admin = admin_postgres_url();
                let mut conn = match PgConnection::connect(&admin).await {
                    Ok(conn) => conn,
                    Err(err) if !in_ci() => {
                        eprintln!("skipping a PostgreSQL test: cannot reach {admin}: {err}");
                        return None;
                    }
                    Err(err) => panic!("CI=true and PostgreSQL at {admin} is unreachable: {err}"),
                };
                let name = format!(
                    "evcms_test_{}_{}",
                    std::process::id(),
                    NEXT_DB.fetch_add(1, Ordering::Relaxed)
                );
                sqlx::query(AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await
                .unwrap();
                sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                let base = admin
                    .rsplit_once('/')
                    .map(|(base, _)| base.to_owned())
                    .unwrap_or(admin.clone());
                Some(Self {
                    url: format!("{base}/{name}"),
                    files_dir: Some(tempfile::tempdir().expect("temp dir")),
                    sqlite_dir: None,
                    postgres_db: Some((admin, name)),
                })
            }
        }
    }
}

impl TestApp {
    /// Starts evcms on a fresh database of `backend`, signed in as admin; None when PostgreSQL is
    /// unreachable outside CI.
    pub async fn spawn(backend: Backend) -> Option<Self> {
        let (config, db) = Self::config(backend).await?;
        Some(Self::spawn_with(config, db, reqwest::Client::builder).await)
    }

    /// The configuration [`TestApp::spawn`] uses, on a fresh database, to adjust before
    /// [`TestApp::spawn_with`].
    pub async fn config(backend: Backend) -> Option<(Config, TestDb)> {
        let db = TestDb::fresh(backend).await?;
        let mut config = Config::for_database(db.url.clone());
        config.bind = "127.0.0.1:0".parse().unwrap();
        config.public_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/public").into();
        config.db_max_connections = 4;
        config.security.admin_password = Some(ADMIN_PASSWORD.to_owned());
        if let Some(files) = &db.files_dir {
            config.storage_url = format!("file://{}", files.path().display());
        }
        Some((config, db))
    }

    /// Starts evcms with `config` on `db`, talking to it through clients made by `client`
    /// (`https://` when TLS is configured), and signs in as admin.
    pub async fn spawn_with(
        config: Config,
        mut db: TestDb,
        client: impl Fn() -> reqwest::ClientBuilder,
    ) -> Self {
        let app = App::build(&config).await.expect("evcms starts");
        let addr = app.local_addr().unwrap();
        let metrics_addr = app.metrics_addr();
        let hub = app.ocpp().clone();
        let scheme = if app.serves_tls() { "https" } else { "http" };
        let app_db = app.db().clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            app.run(async {
                let _ = rx.await;
            })
            .await
            .expect("server runs");
        });
        let mut test_app = Self {
            base_url: format!("{scheme}://{addr}"),
            client: client().build().unwrap(),
            anonymous: client().build().unwrap(),
            db: app_db,
            hub: Some(hub),
            token: String::new(),
            shutdown: Some(tx),
            server: Some(server),
            _sqlite_dir: db.sqlite_dir.take(),
            files_dir: db.files_dir.take(),
            metrics_addr,
            postgres_db: db.postgres_db.take(),
        };
        test_app.sign_in(client).await;
        test_app
    }

    /// Talks to an evcms started as a process ([`ServerProcess`]) on `db`, signed in as admin.
    /// The database stays `db`'s: it outlives this handle, so a test can restart the server.
    pub async fn attach(server: &ServerProcess, db: &TestDb) -> Self {
        let app_db = Db::connect(&db.url, 2)
            .await
            .expect("the test opens the database");
        let mut test_app = Self {
            base_url: format!("http://{}", server.addr),
            client: reqwest::Client::new(),
            anonymous: reqwest::Client::new(),
            db: app_db,
            hub: None,
            token: String::new(),
            shutdown: None,
            server: None,
            _sqlite_dir: None,
            files_dir: None,
            metrics_addr: None,
            postgres_db: None,
        };
        test_app.sign_in(reqwest::Client::builder).await;
        test_app
    }

    async fn sign_in(&mut self, client: impl Fn() -> reqwest::ClientBuilder) {
        let test_app = self;
        test_app.token = test_app.login_token(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {}", test_app.token).parse().unwrap(),
        );
        test_app.client = client().default_headers(headers).build().unwrap();
    }

    /// The folder of this server's local file store.
    pub fn files_path(&self) -> &std::path::Path {
        self.files_dir
            .as_ref()
            .expect("an in-process server has a file store of its own")
            .path()
    }

    /// POST /api/auth/login: the status and answer.
    pub async fn login(&self, email: &str, password: &str) -> (StatusCode, Value) {
        self.call(
            reqwest::Method::POST,
            "/api/auth/login",
            None,
            Some(&serde_json::json!({"email": email, "password": password})),
        )
        .await
    }

    /// A token for `email` and `password`, which must be right.
    pub async fn login_token(&self, email: &str, password: &str) -> String {
        let (status, body) = self.login(email, password).await;
        assert_eq!(status, StatusCode::OK, "login as {email}: {body}");
        body["token"].as_str().expect("a token").to_owned()
    }

    /// Creates a user with `role` (`admin`, `operator`, `viewer`) bound to `organization` (None
    /// = all), password [`USER_PASSWORD`], and gives a token of it.
    pub async fn user(&self, role: &str, organization: Option<&str>) -> String {
        let email = format!("{}@example.com", unique(role).to_lowercase());
        self.create(
            "/api/cms/users",
            &serde_json::json!({"email": email, "name": role, "role": role, "organization": organization, "password": USER_PASSWORD}),
        )
        .await;
        self.login_token(&email, USER_PASSWORD).await
    }

    /// Any request, with `token` as bearer (or none) and `body` as JSON (or none).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.anonymous.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send(request).await
    }

    /// `GET /metrics` on the public port, checked to be Prometheus text.
    pub async fn metrics_text(&self) -> String {
        let response = self
            .anonymous
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        response.text().await.unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = request.send().await.expect("request is answered");
        let status = response.status();
        let text = response.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .map(numbers_by_value)
                .unwrap_or(Value::String(text))
        };
        (status, body)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.client.get(self.url(path))).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send(self.client.post(self.url(path)).json(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send(self.client.put(self.url(path)).json(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.client.delete(self.url(path))).await
    }

    /// A request with no body and any method.
    pub async fn send_method(&self, method: reqwest::Method, path: &str) -> (StatusCode, Value) {
        self.send(self.client.request(method, self.url(path))).await
    }

    /// POST with a raw body and content type, for malformed input.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, Value) {
        self.send(
            self.client
                .post(self.url(path))
                .header("content-type", content_type)
                .body(body),
        )
        .await
    }

    /// POSTs `body` and asserts it was created (201), giving the created record.
    pub async fn create(&self, path: &str, body: &Value) -> Value {
        let (status, created) = self.post(path, body).await;
        assert_eq!(status, StatusCode::CREATED, "POST {path} {body}: {created}");
        created
    }

    /// A tariff with sensible defaults, overridden by `fields`.
    pub async fn tariff(&self, fields: Value) -> Value {
        let body = with(
            json_object(serde_json::json!({
                "tariff_id": unique("TRF"), "tariff_name": "Standard AC", "currency": "INR", "base_charges": 18.5, "tax": 18
            })),
            fields,
        );
        self.create("/api/cms/tariffs", &body).await
    }

    /// A station with sensible defaults, overridden by `fields`.
    pub async fn station(&self, fields: Value) -> Value {
        let body = with(
            json_object(serde_json::json!({
                "station_id": unique("STN"), "station_name": "Koramangala Hub", "organization": "massive_mobility",
                "country": "India", "city": "Bengaluru", "status": "Active", "grid_phase": "Three Phase"
            })),
            fields,
        );
        self.create("/api/cms/stations", &body).await
    }

    /// A charging point with one connector at `station_id`, overridden by `fields`.
    pub async fn point(&self, station_id: &str, fields: Value) -> Value {
        let body = with(
            json_object(serde_json::json!({
                "charging_point_name": "Bay 1", "station_id": station_id, "charger_type": "AC", "phase": "Phase R",
                "oem_list": "EVRE", "max_power": 7.4,
                "connectors": [{"connector_id": "1", "connector_type": "type2", "power": 7.4}]
            })),
            fields,
        );
        self.create("/api/cms/points", &body).await
    }

    /// A customer with a unique phone number, overridden by `fields`.
    pub async fn customer(&self, fields: Value) -> Value {
        let phone = format!("+9198{:08}", NEXT_PHONE.fetch_add(1, Ordering::Relaxed));
        let body = with(
            json_object(serde_json::json!({ "customer_name": "Asha Rao", "phone": phone })),
            fields,
        );
        self.create("/api/cms/customers", &body).await
    }
}

/// Makes numbers compare by value, as `json!(18.5)` does. rust-ocpp turns on serde_json's
/// `arbitrary_precision`, under which a parsed `18.50` keeps its literal and differs from
/// `json!(18.5)`. Tests of the exact written form (two decimals) read the raw body text instead.
pub fn numbers_by_value(value: Value) -> Value {
    match value {
        Value::Number(n) if !(n.is_i64() || n.is_u64()) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or(Value::Number(n)),
        Value::Array(items) => Value::Array(items.into_iter().map(numbers_by_value).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, numbers_by_value(v)))
                .collect(),
        ),
        other => other,
    }
}

static NEXT_PHONE: AtomicU32 = AtomicU32::new(10_000_000);
static NEXT_CODE: AtomicU32 = AtomicU32::new(1);

/// A code unique within this test run: `STN-7`.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", NEXT_CODE.fetch_add(1, Ordering::Relaxed))
}

fn json_object(value: Value) -> serde_json::Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => unreachable!("defaults are objects"),
    }
}

/// `defaults` with the fields of `overrides` replaced (a `null` override removes the field).
pub fn with(mut defaults: serde_json::Map<String, Value>, overrides: Value) -> Value {
    if let Value::Object(fields) = overrides {
        for (key, value) in fields {
            if value.is_null() {
                defaults.remove(&key);
            } else {
                defaults.insert(key, value);
            }
        }
    }
    Value::Object(defaults)
}

/// The `field`s named in a 4xx error body's details.
pub fn problem_fields(body: &Value) -> Vec<String> {
    body["error"]["details"]
        .as_array()
        .map(|d| {
            d.iter()
                .map(|p| p["field"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
        if let Some((admin, name)) = self.postgres_db.take() {
            drop_postgres_database(admin, name);
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.postgres_db.take() {
            drop_postgres_database(admin, name);
        }
    }
}

fn drop_postgres_database(admin: String, name: String) {
    // Drop runs outside async; a thread of its own may block on the clean-up.
    let _ = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            if let Ok(mut conn) = PgConnection::connect(&admin).await {
                let _ = sqlx::query(AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await;
            }
        });
    })
    .join();
}

/// The real `evcms` binary running as a child process on a test database, for what only a
/// process can show (kill -9). Killed when dropped.
pub struct ServerProcess {
    child: std::process::Child,
    /// `127.0.0.1:PORT`, read from its "listening" log line.
    pub addr: String,
}

impl ServerProcess {
    /// Starts `evcms` on `db` with the test admin password and waits until it listens.
    pub fn start(db: &TestDb) -> Self {
        Self::start_with(db, &[])
    }

    /// [`ServerProcess::start`] with more settings (`EVCMS_NODE_ID`...).
    pub fn start_with(db: &TestDb, settings: &[(&str, &str)]) -> Self {
        use std::io::{BufRead, BufReader};
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_evcms"))
            .env("DATABASE_URL", &db.url)
            .env("EVCMS_BIND", "127.0.0.1:0")
            .env("EVCMS_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env(
                "EVCMS_PUBLIC_DIR",
                concat!(env!("CARGO_MANIFEST_DIR"), "/public"),
            )
            .env("EVCMS_DB_MAX_CONNECTIONS", "4")
            .env(
                "EVCMS_STORAGE_URL",
                match &db.files_dir {
                    Some(files) => format!("file://{}", files.path().display()),
                    None => format!(
                        "file://{}",
                        std::env::temp_dir().join("evcms-test-files").display()
                    ),
                },
            )
            .env("RUST_LOG", "info")
            .env("EVCMS_LOG_FORMAT", "json")
            .env_remove("EVCMS_ADMIN_EMAIL")
            .env_remove("EVCMS_JWT_SECRET")
            .envs(settings.iter().copied())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("evcms starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let listening = lines
            .by_ref()
            .map_while(Result::ok)
            .find(|line| line.contains("evcms is listening"))
            .expect("evcms says it is listening");
        // Keep reading, or a full pipe would stall the server's logging.
        std::thread::spawn(move || for _ in lines {});
        let log: Value = serde_json::from_str(&listening).unwrap();
        let addr = log["fields"]["addr"].as_str().unwrap().to_owned();
        Self { child, addr }
    }

    /// SIGKILL: no shutdown, no flush, no goodbye to chargers.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("the killed server is reaped");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `chargers` row as the OCPP endpoint records it, for tests that read chargers; fill the rest
/// with `..ChargerRow::new("CP-1")`.
#[derive(Debug, Clone)]
pub struct ChargerRow {
    pub charge_point_id: String,
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub charge_point_serial_number: Option<String>,
    pub firmware_version: Option<String>,
    pub registration_status: Option<String>,
    pub status: Option<String>,
    pub error_code: Option<String>,
    pub connected: bool,
    pub last_seen_at: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl ChargerRow {
    /// A connected, accepted charger seen now.
    pub fn new(charge_point_id: &str) -> Self {
        let now = evcms::db::now();
        Self {
            charge_point_id: charge_point_id.to_owned(),
            vendor: Some("EVRE".into()),
            model: Some("AC-22".into()),
            charge_point_serial_number: None,
            firmware_version: Some("1.0.0".into()),
            registration_status: Some("Accepted".into()),
            status: Some("Available".into()),
            error_code: Some("NoError".into()),
            connected: true,
            last_seen_at: Some(now),
            created_at: now,
        }
    }
}

/// Inserts a charger row with SQL (booleans and timestamps bound from Rust, so both dialects
/// store them their own way); gives its id.
pub async fn insert_charger(db: &Db, c: &ChargerRow) -> i64 {
    let sql = concat!(
        "INSERT INTO chargers (charge_point_id, vendor, model, charge_point_serial_number, firmware_version, ",
        "registration_status, status, error_code, connected, connected_at, last_seen_at, last_boot_at, created_at, updated_at) ",
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $12) RETURNING id"
    );
    let connected_at = c.connected.then_some(c.created_at);
    evcms::on_write!(db, pool => sqlx::query_scalar(sql)
        .bind(&c.charge_point_id).bind(&c.vendor).bind(&c.model).bind(&c.charge_point_serial_number)
        .bind(&c.firmware_version).bind(&c.registration_status).bind(&c.status).bind(&c.error_code)
        .bind(c.connected).bind(connected_at).bind(c.last_seen_at).bind(c.created_at)
        .fetch_one(pool).await)
    .expect("charger row inserted")
}
