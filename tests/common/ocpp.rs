//! OCPP test helpers: a charging site (tariff, station, point, customer with a wallet and an id
//! tag) built through the REST API, and strict simulated chargers connected to the real endpoint.

use std::time::Duration;

use chrono::{DateTime, Utc};
use evcms_sim::{Charger, ChargerConfig};
use serde_json::{Value, json};

use super::{TestApp, unique};

/// Everything one charging session needs.
pub struct Site {
    pub device_id: String,
    pub point: Value,
    pub customer: Value,
    pub id_tag: String,
}

impl Site {
    pub fn customer_path(&self) -> String {
        format!("/api/cms/customers/{}", self.customer["id"])
    }
}

impl TestApp {
    /// `ws://127.0.0.1:PORT/ocpp` (`wss://` when the server terminates TLS).
    pub fn ocpp_url(&self) -> String {
        let url = match self.base_url.strip_prefix("https://") {
            Some(rest) => format!("wss://{rest}"),
            None => self.base_url.replacen("http://", "ws://", 1),
        };
        format!("{url}/ocpp")
    }

    /// Simulator settings for charger `id`: strict (every frame evcms sends is checked against
    /// the official OCPP 1.6 JSON schemas).
    pub fn charger_config(&self, id: &str) -> ChargerConfig {
        let mut config = ChargerConfig::new(self.ocpp_url(), id);
        config.strict = true;
        config.call_timeout = Duration::from_secs(15);
        config
    }

    /// A connected strict charger.
    pub async fn charger(&self, id: &str) -> Charger {
        Charger::connect(self.charger_config(id))
            .await
            .unwrap_or_else(|e| panic!("charger {id} could not connect: {e}"))
    }

    /// A site charging at 18.50 per kWh plus 18 % tax, whose customer holds `balance`.
    pub async fn site(&self, balance: &str) -> Site {
        self.site_with(balance, json!({"base_charges": 18.5, "tax": 18}))
            .await
    }

    pub async fn site_with(&self, balance: &str, tariff: Value) -> Site {
        let tariff = self.tariff(tariff).await;
        let station = self.station(json!({})).await;
        let device_id = unique("CP");
        let point = self
            .point(
                station["station_id"].as_str().unwrap(),
                json!({"device_id": device_id, "tariff_id": tariff["id"], "connectors": [
                    {"connector_id": "1", "connector_type": "type2", "power": 7.4},
                    {"connector_id": "2", "connector_type": "type2", "power": 7.4}
                ]}),
            )
            .await;
        let customer = self.customer(json!({})).await;
        let id_tag = unique("TAG");
        self.id_tag(customer["id"].as_i64().unwrap(), &id_tag, false, None)
            .await;
        if balance != "0" {
            self.create(
                &format!("/api/cms/customers/{}/wallet-transactions", customer["id"]),
                &json!({"transaction_type": "Credit", "amount": balance.parse::<f64>().unwrap()}),
            )
            .await;
        }
        Site {
            device_id,
            point,
            customer,
            id_tag,
        }
    }

    /// Makes charger `device_id` authenticate with `key` (security profile 1), through the REST
    /// API.
    pub async fn require_key(&self, device_id: &str, key: &str) {
        let (status, body) = self
            .put(
                &format!("/api/cms/chargers/{device_id}/security"),
                &json!({"authorization_key": key, "auth_required": true}),
            )
            .await;
        assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    }

    /// Gives customer `customer_id` the id tag `id_tag`, through the REST API.
    pub async fn id_tag(
        &self,
        customer_id: i64,
        id_tag: &str,
        blocked: bool,
        expires_at: Option<DateTime<Utc>>,
    ) {
        let mut body = json!({"id_tag": id_tag, "blocked": blocked});
        if let Some(at) = expires_at {
            body["expires_at"] = json!(at.to_rfc3339());
        }
        self.create(&format!("/api/cms/customers/{customer_id}/id-tags"), &body)
            .await;
    }

    /// The one session of transaction `transaction_id`, through the REST API.
    pub async fn session_of(&self, transaction_id: i32) -> Value {
        let (_, page) = self.get("/api/cms/sessions?limit=100").await;
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["transaction_id"] == json!(transaction_id))
            .cloned()
            .unwrap_or_else(|| panic!("no session for transaction {transaction_id}: {page}"))
    }

    /// The wallet ledger of the site's customer, oldest first.
    pub async fn ledger(&self, site: &Site) -> Vec<Value> {
        let (_, page) = self
            .get(&format!(
                "{}/wallet-transactions?limit=100&sort=created_at",
                site.customer_path()
            ))
            .await;
        page["data"].as_array().cloned().unwrap_or_default()
    }

    /// The Debit rows of the site's customer's ledger.
    pub async fn debits(&self, site: &Site) -> Vec<Value> {
        let mut ledger = self.ledger(site).await;
        ledger.retain(|row| row["transaction_type"] == "Debit");
        ledger
    }

    /// Waits until `check` holds for the JSON at `path`, or fails after a few seconds (for what
    /// is written after a reply, such as a disconnection).
    pub async fn eventually(&self, path: &str, check: impl Fn(&Value) -> bool) -> Value {
        let mut last = Value::Null;
        for _ in 0..100 {
            let (_, body) = self.get(path).await;
            if check(&body) {
                return body;
            }
            last = body;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{path} never reached the expected state; last: {last}");
    }

    /// Waits until every meter sample handed to the batch writer so far is in the database.
    pub async fn ocpp_flush(&self) {
        if let Some(hub) = &self.hub {
            hub.samples.flush().await;
        }
    }

    /// Whether a connection of `charge_point_id` is live.
    pub fn ocpp_connected(&self, charge_point_id: &str) -> bool {
        self.hub
            .as_ref()
            .expect("a server in this process")
            .registry
            .is_connected(charge_point_id)
    }

    /// A column of text from the database, for what the REST API does not show.
    pub async fn texts(&self, sql: &'static str, key: &str) -> Vec<String> {
        self.ocpp_flush().await;
        evcms::on_read!(&self.db, pool => sqlx::query_scalar(sql).bind(key).fetch_all(pool).await)
            .expect("query")
    }

    /// Waits until the scalar `sql` gives satisfies `check`, or fails after a few seconds.
    pub async fn eventually_scalar(
        &self,
        sql: &'static str,
        key: &str,
        check: impl Fn(Option<&str>) -> bool,
    ) -> Option<String> {
        for _ in 0..100 {
            let value = self.scalar_text(sql, key).await;
            if check(value.as_deref()) {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{sql} never reached the expected value");
    }

    /// A scalar from the database, for what the REST API does not show.
    pub async fn scalar_text(&self, sql: &'static str, key: &str) -> Option<String> {
        evcms::on_read!(&self.db, pool => sqlx::query_scalar(sql).bind(key).fetch_optional(pool).await)
            .expect("query")
    }
}

/// `m` minutes before now: a charger's timestamp in the recent past.
pub fn minutes_ago(m: i64) -> DateTime<Utc> {
    Utc::now() - chrono::Duration::minutes(m)
}

/// An amount to the paisa (the harness compares numbers by value; the written scale of amounts is
/// checked by the money tests on the raw text).
pub fn money(v: &Value) -> String {
    format!(
        "{:.2}",
        v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
    )
}

/// A session's anomaly note (empty when it has none).
pub fn anomaly(session: &Value) -> &str {
    session["anomaly"].as_str().unwrap_or_default()
}

/// The site's customer's wallet balance.
pub async fn balance(app: &TestApp, site: &Site) -> String {
    let (_, customer) = app.get(&site.customer_path()).await;
    money(&customer["wallet_balance"])
}

/// The ledger's sum of credits minus debits equals the balance, and every row's balance follows
/// from the one before.
pub async fn assert_ledger_consistent(app: &TestApp, site: &Site) {
    let mut running = 0.0;
    for row in app.ledger(site).await {
        let amount = row["amount"].as_f64().unwrap();
        running += if row["transaction_type"] == "Credit" {
            amount
        } else {
            -amount
        };
        assert_eq!(format!("{running:.2}"), money(&row["balance"]), "{row}");
    }
    assert_eq!(format!("{running:.2}"), balance(app, site).await);
}
