//! The admin UI, end to end: `tests/ui/e2e.mjs` drives headless Chromium through the real UI
//! against the real server (this test's build of `evcms`) and checks the results through the API.
//!
//! It needs Node 20 and Chromium. Without them the test is skipped with a note, except under
//! `CI=true`, where that is a failure (`.ci/run` installs Chromium).
//!
//! Chargers and sessions come from OCPP, which the UI cannot create: before node starts, this
//! test migrates the server's SQLite file and records in it, with SQL and the library's own
//! session, meter-value and wallet writes, one charger (the script connects it over OCPP's
//! WebSocket once the server runs, since only a live socket makes a charger connected, and checks
//! that the chargers screen shows it) and, at a site of its own, an Active session with a meter
//! value (the script settles it through the sessions screen and corrects its bill) and a session
//! the library's sweep closed provisionally after its connector reported Available.
//!
//! The station images the script uploads through the file input are written here too (two PNGs
//! drawn with the `image` crate, a text file named `.png`, a PNG whose data is broken and one
//! larger than the script's upload limit), in the folder named in `EVCMS_E2E_IMAGES_DIR`.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use common::{ChargerRow, insert_charger};
use evcms::Db;
use evcms::charging::Rules;
use evcms::charging::pricing::{self, Rate};
use evcms::charging::sweep;
use evcms::db::meter_values::{LiveReading, SampleRow};
use evcms::db::{meter_values, sessions, transactions, wallet};
use evcms::domain::enums::{Currency, SessionStatus, WalletTransactionType};
use evcms::domain::session::NewSession;
use evcms::fixed::{Kilowatts, Money};
use evcms_sim::ChargerConfig;
use evcms_sim::station::{Station, StationOptions};

/// The charger recorded before the server starts; the script's point takes it as its device ID.
const CHARGER: &str = "E2E-CP-001";
/// The simulator's station that this test starts when the script asks (a charger that acts on
/// remote commands: starts and stops charges, sends meter values every second).
const SIM_CHARGER: &str = "E2E-SIM-001";

/// The Active session recorded before the server starts, whose Stop never came.
const ACTIVE_SESSION: &str = "e2e-stuck-session-1";
/// A session on the same site whose connector reported Available and no Stop came: closed
/// provisionally before the server starts.
const ABANDONED_SESSION: &str = "e2e-abandoned-session-1";
/// Their site: a point of its own (not the one the script creates), its tariff and customer.
const SITE_CHARGER: &str = "E2E-CP-STUCK";
const SITE_CUSTOMER: &str = "Meera Iyer";
const SITE_TAG: &str = "E2E-STUCK-TAG";
/// The session started at this energy register and its last meter value read [`LAST_READING_WH`].
const METER_START_WH: i64 = 10_000;
const LAST_READING_WH: i64 = 12_500;

/// Creates and migrates the SQLite database at `file` and records [`CHARGER`],
/// [`ACTIVE_SESSION`] and [`ABANDONED_SESSION`] in it.
fn prepare_database(file: &Path) {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(async {
        let url = format!("sqlite://{}?mode=rwc", file.display());
        let db = evcms::Db::connect(&url, 1)
            .await
            .expect("database prepared");
        insert_charger(
            &db,
            &ChargerRow {
                vendor: Some("E2E-Vendor".into()),
                model: Some("E2E-Model".into()),
                firmware_version: Some("1.2.3".into()),
                ..ChargerRow::new(CHARGER)
            },
        )
        .await;
        record_sessions(&db).await;
        db.close().await;
    });
}

fn money(text: &str) -> Money {
    text.parse().expect("an amount")
}

/// The prepared site: a tariff of 18.50 per kWh + 18 %, a station, a point with two connectors,
/// and a customer with 200.00 in the wallet and an id tag.
struct Site {
    rate: Rate,
    tariff_id: i64,
    point_id: i64,
    connectors: [i64; 2],
    customer_id: i64,
}

/// A session started at `started` on connector `number` (1 or 2) of the site at `meter_start_wh`,
/// and one meter value at `reading_wh` sampled at `sampled`, recorded as the OCPP endpoint does
/// (the session's live energy and cost follow the sample).
struct Charging<'a> {
    session_id: &'a str,
    number: usize,
    started: DateTime<Utc>,
    meter_start_wh: i64,
    reading_wh: i64,
    sampled: DateTime<Utc>,
}

/// Records [`ACTIVE_SESSION`] (started 40 minutes ago, last meter value 5 minutes ago) and
/// [`ABANDONED_SESSION`], whose connector reported Available an hour ago after its last meter
/// value, closed provisionally by the library's sweep as the server would after its grace period.
async fn record_sessions(db: &Db) {
    let now = evcms::db::now();
    let site = site(db, now).await;
    start(
        db,
        &site,
        &Charging {
            session_id: ACTIVE_SESSION,
            number: 1,
            started: now - Duration::minutes(40),
            meter_start_wh: METER_START_WH,
            reading_wh: LAST_READING_WH,
            sampled: now - Duration::minutes(5),
        },
    )
    .await;
    start(
        db,
        &site,
        &Charging {
            session_id: ABANDONED_SESSION,
            number: 2,
            started: now - Duration::hours(3),
            meter_start_wh: 50_000,
            reading_wh: 53_000,
            sampled: now - Duration::hours(2),
        },
    )
    .await;
    evcms::on_write!(db, pool => sqlx::query(
        "UPDATE connectors SET status = 'Available', error_code = 'NoError', status_at = $2 WHERE id = $1"
    )
    .bind(site.connectors[1]).bind(now - Duration::hours(1)).execute(pool).await.map(|r| r.rows_affected()))
    .expect("connector Available");
    let rules = Rules {
        min_balance: Money::ZERO,
        close_grace: Some(std::time::Duration::from_secs(600)),
        meter_silence: None,
        guard_margin: None,
    };
    let swept = sweep::sweep(db, &rules, now).await.expect("sweep");
    assert_eq!(
        swept.closed, 1,
        "the abandoned session is closed provisionally"
    );
}

async fn site(db: &Db, now: DateTime<Utc>) -> Site {
    let rate = Rate {
        base_charges: money("18.50"),
        tax: "18.00".parse().expect("tax"),
    };
    let power: Kilowatts = "7.40".parse().expect("power");
    let (tariff_id, point_id, connectors, customer_id) = evcms::on_write!(db, pool => {
        let tariff_id: i64 = sqlx::query_scalar(concat!(
            "INSERT INTO tariffs (tariff_id, tariff_name, currency, base_charges, tax, status, created_by, created_at, updated_at) ",
            "VALUES ('E2E-TRF-STUCK', 'E2E Prepared AC', 'INR', $1, $2, 'Active', 'e2e', $3, $3) RETURNING id"
        ))
        .bind(rate.base_charges).bind(rate.tax).bind(now).fetch_one(pool).await.expect("tariff");
        sqlx::query(concat!(
            "INSERT INTO charging_stations (station_id, station_name, organization, country, status, grid_phase, created_at, updated_at) ",
            "VALUES ('E2E-STN-STUCK', 'E2E Prepared Hub', 'massive_mobility', 'India', 'Active', 'Three Phase', $1, $1)"
        ))
        .bind(now).execute(pool).await.expect("station");
        let point_id: i64 = sqlx::query_scalar(concat!(
            "INSERT INTO charging_points (charging_point_name, station_id, device_id, tariff_id, charger_type, phase, oem_list, max_power, created_at, updated_at) ",
            "VALUES ('E2E Prepared Bay', 'E2E-STN-STUCK', $1, $2, 'AC', 'Phase R', 'EVRE', $3, $4, $4) RETURNING id"
        ))
        .bind(SITE_CHARGER).bind(tariff_id).bind(power).bind(now).fetch_one(pool).await.expect("point");
        let mut connectors = [0; 2];
        for (number, id) in ["1", "2"].into_iter().zip(connectors.iter_mut()) {
            *id = sqlx::query_scalar(concat!(
                "INSERT INTO connectors (charging_point_id, connector_id, connector_type, power, created_at, updated_at) ",
                "VALUES ($1, $2, 'type2', $3, $4, $4) RETURNING id"
            ))
            .bind(point_id).bind(number).bind(power).bind(now).fetch_one(pool).await.expect("connector");
        }
        let customer_id: i64 = sqlx::query_scalar(concat!(
            "INSERT INTO customers (customer_name, phone, email, wallet_balance, created_at, updated_at) ",
            "VALUES ($1, '+919800000042', 'meera@example.com', 0, $2, $2) RETURNING id"
        ))
        .bind(SITE_CUSTOMER).bind(now).fetch_one(pool).await.expect("customer");
        sqlx::query("INSERT INTO id_tags (id_tag, customer_id, created_at, updated_at) VALUES ($1, $2, $3, $3)")
            .bind(SITE_TAG).bind(customer_id).bind(now).execute(pool).await.expect("id tag");
        (tariff_id, point_id, connectors, customer_id)
    });
    let mut tx = db.begin().await.expect("transaction");
    wallet::apply(
        &mut tx,
        customer_id,
        &wallet::LedgerEntry {
            transaction_type: WalletTransactionType::Credit,
            amount: money("200.00"),
            floor: Money::ZERO,
            description: Some("Top-up at counter".into()),
            reference_id: Some("PAY-E2E-STUCK".into()),
        },
        now,
    )
    .await
    .expect("wallet credited")
    .expect("credit accepted");
    tx.commit().await.expect("wallet credit recorded");
    Site {
        rate,
        tariff_id,
        point_id,
        connectors,
        customer_id,
    }
}

async fn start(db: &Db, site: &Site, c: &Charging<'_>) {
    let session = NewSession {
        customer_id: Some(site.customer_id),
        connector_id: Some(site.connectors[c.number - 1]),
        id_tag: Some(SITE_TAG.into()),
        id_tag_status: Some("Accepted".into()),
        meter_start_wh: Some(c.meter_start_wh),
        energy_wh: Some(0),
        tariff_id: Some(site.tariff_id),
        currency: Some(Currency::Inr),
        base_charges: Some(site.rate.base_charges),
        tax: Some(site.rate.tax),
        ..NewSession::started(c.session_id, site.point_id, c.started)
    };
    assert_eq!(session.status, SessionStatus::Active);
    let mut tx = db.begin().await.expect("transaction");
    let id = sessions::insert(&mut tx, &session, c.started)
        .await
        .expect("session");
    transactions::assign_transaction_id(&mut tx, id)
        .await
        .expect("transaction id");
    let connector_number = i32::try_from(c.number).expect("connector number");
    meter_values::insert(
        &mut tx,
        &[SampleRow {
            charge_point_id: SITE_CHARGER.into(),
            connector_number,
            session_id: Some(id),
            sampled_at: c.sampled,
            received_at: c.sampled,
            measurand: "Energy.Active.Import.Register".into(),
            phase: None,
            context: Some("Sample.Periodic".into()),
            location: Some("Outlet".into()),
            unit: Some("Wh".into()),
            value: c.reading_wh.to_string().parse().expect("reading"),
        }],
    )
    .await
    .expect("meter value");
    let energy_wh = c.reading_wh - c.meter_start_wh;
    meter_values::apply_live(
        &mut tx,
        &[LiveReading {
            session_id: id,
            energy_wh,
            running_cost: Some(pricing::billable(energy_wh, site.rate).expect("running cost")),
            sampled_at: c.sampled,
        }],
    )
    .await
    .expect("live reading");
    tx.commit().await.expect("session recorded");
}

/// Writes the files the script uploads as station images into `dir/images`, and returns that
/// folder: `entrance.png` and `bays.png` (640 × 480 gradients), `notes.png` (text, not an image:
/// 415), `broken.png` (a PNG signature then garbage: 422) and `large.png` (noise, about 700 KiB:
/// 413 under the script's 256 KiB limit).
fn write_images(dir: &Path) -> PathBuf {
    let images = dir.join("images");
    std::fs::create_dir(&images).expect("images folder");
    let entrance = image::RgbImage::from_fn(640, 480, |x, y| {
        image::Rgb([15, (110 + y / 4) as u8, (100 + x / 6) as u8])
    });
    entrance
        .save(images.join("entrance.png"))
        .expect("entrance.png");
    let bays = image::RgbImage::from_fn(640, 480, |x, y| {
        image::Rgb([240, (200 - y / 3) as u8, (40 + x / 5) as u8])
    });
    bays.save(images.join("bays.png")).expect("bays.png");
    // Noise does not compress: 480 × 480 × 3 bytes stay about 700 KiB as PNG.
    let mut seed: u32 = 0x2545_f491;
    let large = image::RgbImage::from_fn(480, 480, |_, _| {
        let mut next = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 24) as u8
        };
        image::Rgb([next(), next(), next()])
    });
    large.save(images.join("large.png")).expect("large.png");
    std::fs::write(images.join("notes.png"), "site notes: not an image\n").expect("notes.png");
    let mut broken = b"\x89PNG\r\n\x1a\n".to_vec();
    broken.extend(b"not really a PNG after its signature".repeat(8));
    std::fs::write(images.join("broken.png"), broken).expect("broken.png");
    images
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

fn available(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn an_operator_can_set_up_a_site_and_credit_a_wallet_through_the_ui() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    let missing: Vec<&str> = [
        ("node", available("node", "--version")),
        ("chromium", Path::new(&chromium).exists()),
    ]
    .into_iter()
    .filter(|(_, found)| !found)
    .map(|(name, _)| name)
    .collect();
    if !missing.is_empty() {
        assert!(
            !in_ci(),
            "CI=true and the UI test cannot run: missing {missing:?}"
        );
        eprintln!("skipping the admin UI test: missing {missing:?}");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let database = dir.path().join("evcms.db");
    prepare_database(&database);
    let images = write_images(dir.path());
    let mut node = Command::new("node")
        .args(["--experimental-websocket", "tests/ui/e2e.mjs"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("EVCMS_BIN", env!("CARGO_BIN_EXE_evcms"))
        .env("CHROMIUM", &chromium)
        .env("EVCMS_E2E_DATABASE_FILE", &database)
        .env("EVCMS_E2E_CHARGER", CHARGER)
        .env("EVCMS_E2E_ACTIVE_SESSION", ACTIVE_SESSION)
        .env("EVCMS_E2E_ABANDONED_SESSION", ABANDONED_SESSION)
        .env("EVCMS_E2E_ACTIVE_CUSTOMER", SITE_CUSTOMER)
        .env("EVCMS_E2E_LAST_READING_WH", LAST_READING_WH.to_string())
        .env("EVCMS_E2E_IMAGES_DIR", &images)
        .env("EVCMS_E2E_SIM_CHARGER", SIM_CHARGER)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    let mut stderr_pipe = node.stderr.take().expect("node's stderr");
    let stderr_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr_pipe.read_to_string(&mut text);
        text
    });
    let stdout = run_stations(node.stdout.take().expect("node's stdout"));
    let status = node.wait().expect("node ends");
    let stderr = stderr_reader.join().unwrap_or_default();
    // Each check and the screenshots' paths, seen with `-- --nocapture`.
    println!("{stdout}");
    assert!(status.success(), "the UI check failed:\n{stdout}\n{stderr}");
    let summary = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    assert!(
        summary.ends_with(" 0 failed") && !summary.starts_with("0 passed"),
        "unexpected summary {summary:?}:\n{stdout}"
    );
}

/// Reads the script's output line by line until it ends, and acts on its requests: a line
/// `e2e: start station <ocpp base URL> <charge point id>` starts the simulator's station (strict
/// mode, meter values every second) while the dashboard is open, so that the script sees it come
/// online without a reload; it runs until the script ends. Returns the whole output.
fn run_stations(stdout: impl Read) -> String {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let mut stations: Vec<Station> = Vec::new();
    let mut output = String::new();
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        output.push_str(&line);
        output.push('\n');
        let Some(request) = line.strip_prefix("e2e: start station ") else {
            continue;
        };
        let mut words = request.split_whitespace();
        let (Some(url), Some(id)) = (words.next(), words.next()) else {
            continue;
        };
        let mut config = ChargerConfig::new(url, id);
        config.call_timeout = StdDuration::from_secs(15);
        let options = StationOptions {
            meter_interval: StdDuration::from_secs(1),
            ..Default::default()
        };
        // Started on the runtime without waiting here: the script must keep reading meanwhile.
        let (tx, rx) = std::sync::mpsc::channel();
        runtime.spawn(async move {
            let _ = tx.send(Station::start(config, options).await);
        });
        match rx.recv_timeout(StdDuration::from_secs(20)) {
            Ok(Ok(station)) => stations.push(station),
            Ok(Err(e)) => output.push_str(&format!("station {id} could not start: {e}\n")),
            Err(_) => output.push_str(&format!("station {id} did not boot within 20 s\n")),
        }
    }
    drop(stations);
    runtime.shutdown_timeout(StdDuration::from_secs(2));
    output
}
