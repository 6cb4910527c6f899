//! The `evcms` binary itself: start-up errors, help, migrations and graceful shutdown.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

fn evcms() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_evcms"));
    command
        .env_remove("DATABASE_URL")
        .env_remove("EVCMS_BIND")
        .env("RUST_LOG", "info")
        .env("EVCMS_LOG_FORMAT", "json");
    command
}

#[test]
fn an_unreachable_database_is_one_clear_error_line_and_a_failure_exit() {
    let output = evcms()
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/evcms")
        .env("EVCMS_BIND", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("evcms: cannot open the database:"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn an_unknown_database_scheme_is_refused_clearly() {
    let output = evcms()
        .env("DATABASE_URL", "mysql://localhost/evcms")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.trim(),
        "evcms: DATABASE_URL must start with sqlite: or postgres:, got \"mysql\""
    );
}

#[test]
fn help_documents_every_setting_with_its_environment_variable() {
    let output = evcms().arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for setting in [
        "DATABASE_URL",
        "EVCMS_BIND",
        "EVCMS_DB_MAX_CONNECTIONS",
        "EVCMS_PUBLIC_DIR",
        "EVCMS_MAX_BODY_BYTES",
        "RUST_LOG",
        "EVCMS_LOG_FORMAT",
    ] {
        assert!(
            help.contains(setting),
            "--help does not mention {setting}:\n{help}"
        );
    }
    assert!(
        help.contains("[default: sqlite://evcms.db?mode=rwc]"),
        "{help}"
    );
}

#[test]
fn migrate_creates_the_schema_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fresh.db");
    let output = evcms()
        .arg("migrate")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}?mode=rwc", file.display()),
        )
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(file.exists());
}

#[test]
fn sigterm_stops_the_server_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = evcms()
        .env(
            "DATABASE_URL",
            format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("evcms.db").display()
            ),
        )
        .env("EVCMS_BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let listening = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|line| line.contains("evcms is listening"))
        .expect("a listening line");
    let log: serde_json::Value = serde_json::from_str(&listening).unwrap();
    let addr = log["fields"]["addr"].as_str().unwrap().to_owned();
    assert!(
        std::net::TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(2))
            .is_ok()
    );
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status after SIGTERM: {status}");
    assert!(
        lines
            .map_while(Result::ok)
            .any(|line| line.contains("evcms stopped"))
    );
}
