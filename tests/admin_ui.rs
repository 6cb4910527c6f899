//! The admin UI, end to end: `tests/ui/e2e.mjs` drives headless Chromium through the real UI
//! against the real server (this test's build of `evcms`) and checks the results through the API.
//!
//! It needs Node 20 and Chromium. Without them the test is skipped with a note, except under
//! `CI=true`, where that is a failure (`.ci/run` installs Chromium).
//!
//! Chargers come from OCPP, which the UI cannot create: before node starts, this test migrates
//! the server's SQLite file and records one charger in it with SQL; the script connects it over
//! OCPP's WebSocket once the server runs (only a live socket makes a charger connected) and checks
//! that the chargers screen shows it.

mod common;

use std::path::Path;
use std::process::Command;

use common::{ChargerRow, insert_charger};

/// The charger recorded before the server starts; the script's point takes it as its device ID.
const CHARGER: &str = "E2E-CP-001";

/// Creates and migrates the SQLite database at `file` and records [`CHARGER`] in it.
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
        db.close().await;
    });
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
    let output = Command::new("node")
        .args(["--experimental-websocket", "tests/ui/e2e.mjs"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("EVCMS_BIN", env!("CARGO_BIN_EXE_evcms"))
        .env("CHROMIUM", &chromium)
        .env("EVCMS_E2E_DATABASE_FILE", &database)
        .env("EVCMS_E2E_CHARGER", CHARGER)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the UI check failed:\n{stdout}\n{stderr}"
    );
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
