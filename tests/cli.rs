//! The `evcms` binary itself: start-up errors, help, migrations and graceful shutdown.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

fn evcms() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_evcms"));
    command
        .env_remove("DATABASE_URL")
        .env_remove("EVCMS_BIND")
        .env_remove("EVCMS_ADMIN_PASSWORD")
        .env_remove("EVCMS_ADMIN_EMAIL")
        .env_remove("EVCMS_JWT_SECRET")
        .env_remove("EVCMS_USER_PASSWORD")
        .env("RUST_LOG", "info")
        .env("EVCMS_LOG_FORMAT", "json")
        .env(
            "EVCMS_STORAGE_URL",
            format!(
                "file://{}",
                std::env::temp_dir().join("evcms-cli-files").display()
            ),
        );
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
        "EVCMS_DB_ACQUIRE_TIMEOUT",
        "EVCMS_PUBLIC_DIR",
        "EVCMS_MAX_BODY_BYTES",
        "RUST_LOG",
        "EVCMS_LOG_FORMAT",
        "EVCMS_JWT_SECRET",
        "EVCMS_JWT_TTL",
        "EVCMS_ADMIN_EMAIL",
        "EVCMS_ADMIN_PASSWORD",
        "EVCMS_CORS_ORIGINS",
        "EVCMS_TLS_CERT",
        "EVCMS_TLS_KEY",
        "EVCMS_CHARGER_AUTH_DEFAULT",
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

/// Starts the server on the SQLite file in `dir` and gives its log lines up to the listening line,
/// the address, and the child (to stop).
fn start_server(dir: &std::path::Path) -> (Vec<String>, String, std::process::Child) {
    start_server_as(evcms(), dir)
}

/// [`start_server`] under an open-files limit of `files` (soft and hard: the server cannot raise it).
fn start_server_limited(
    dir: &std::path::Path,
    files: u64,
) -> (Vec<String>, String, std::process::Child) {
    let server = evcms();
    let mut limited = Command::new("prlimit");
    limited
        .arg(format!("--nofile={files}:{files}"))
        .arg(server.get_program())
        .envs(
            server
                .get_envs()
                .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))),
        );
    for (k, v) in server.get_envs() {
        if v.is_none() {
            limited.env_remove(k);
        }
    }
    start_server_as(limited, dir)
}

fn start_server_as(
    mut command: Command,
    dir: &std::path::Path,
) -> (Vec<String>, String, std::process::Child) {
    let mut child = command
        .env(
            "DATABASE_URL",
            format!("sqlite://{}?mode=rwc", dir.join("evcms.db").display()),
        )
        .env("EVCMS_BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    let mut reader = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in reader.by_ref().map_while(Result::ok) {
        let done = line.contains("evcms is listening");
        lines.push(line);
        if done {
            break;
        }
    }
    std::thread::spawn(move || for _ in reader {});
    let listening: serde_json::Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    let addr = listening["fields"]["addr"].as_str().unwrap().to_owned();
    (lines, addr, child)
}

fn stop(mut child: std::process::Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// POST /api/auth/login over a bare TCP connection: the status line's code.
fn login_status(addr: &str, email: &str, password: &str) -> u16 {
    use std::io::{Read, Write};
    let body = serde_json::json!({"email": email, "password": password}).to_string();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST /api/auth/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_fresh_start_prints_the_admin_login_once_and_it_works() {
    let dir = tempfile::tempdir().unwrap();
    let (lines, addr, child) = start_server(dir.path());
    let created: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("created the admin account"))
        .collect();
    assert_eq!(created.len(), 1, "{lines:#?}");
    let message: serde_json::Value = serde_json::from_str(created[0]).unwrap();
    let message = message["fields"]["message"].as_str().unwrap();
    let password = message
        .split("with the password ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the password is in the line");
    assert!(message.contains("admin@evcms.local"), "{message}");
    assert_eq!(login_status(&addr, "admin@evcms.local", password), 200);
    assert_eq!(
        login_status(&addr, "admin@evcms.local", "Wrong-password-1"),
        401
    );
    stop(child);

    // A restart creates no second admin, prints no password, and keeps the same secret.
    let (lines, addr, child) = start_server(dir.path());
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("created the admin account")),
        "{lines:#?}"
    );
    assert_eq!(login_status(&addr, "admin@evcms.local", password), 200);
    stop(child);
}

fn user_cli(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    evcms()
        .env(
            "DATABASE_URL",
            format!("sqlite://{}?mode=rwc", dir.join("evcms.db").display()),
        )
        .arg("user")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn users_are_managed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = user_cli(
        dir.path(),
        &[
            "add",
            "--email",
            "Ops@Example.com",
            "--role",
            "viewer",
            "--organization",
            "1c_ev_charging",
            "--password",
            "Cli-password-123",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("created user ops@example.com (viewer)"));

    let out = user_cli(
        dir.path(),
        &[
            "add",
            "--email",
            "ops@example.com",
            "--password",
            "Cli-password-123",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    let out = user_cli(
        dir.path(),
        &["add", "--email", "weak@example.com", "--password", "short"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 12"));
    let out = user_cli(
        dir.path(),
        &["add", "--email", "x@example.com", "--role", "boss"],
    );
    assert!(!out.status.success());

    let out = user_cli(dir.path(), &["add", "--email", "gen@example.com"]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let generated = stdout
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .unwrap()
        .to_owned();
    assert!(generated.len() >= 12);

    let out = user_cli(dir.path(), &["list"]);
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    // Users made before the first server start: no admin account is generated then.
    for expected in [
        "operator",
        "ops@example.com",
        "1c_ev_charging",
        "gen@example.com",
    ] {
        assert!(listing.contains(expected), "{listing}");
    }
    assert!(!listing.contains("argon2"), "{listing}");

    let out = user_cli(
        dir.path(),
        &["reset-password", "--email", "OPS@example.com"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let new_password = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("password: ").map(str::to_owned))
        .unwrap();
    let out = user_cli(
        dir.path(),
        &["reset-password", "--email", "nobody@example.com"],
    );
    assert!(!out.status.success());

    let (_, addr, child) = start_server(dir.path());
    assert_eq!(login_status(&addr, "ops@example.com", &new_password), 200);
    assert_eq!(
        login_status(&addr, "ops@example.com", "Cli-password-123"),
        401
    );
    assert_eq!(login_status(&addr, "gen@example.com", &generated), 200);
    stop(child);
}

/// Sends `GET /metrics` on a kept-alive connection and reads the answer (see [`read_answer`]).
fn get_metrics(stream: &mut std::net::TcpStream, wait: Duration) -> Option<(String, String)> {
    use std::io::Write;
    write!(stream, "GET /metrics HTTP/1.1\r\nHost: evcms\r\n\r\n").unwrap();
    read_answer(stream, wait)
}

/// One HTTP response: its status line and body, or None when none came within `wait` (the
/// connection is still in the listen queue) or the server closed the connection.
fn read_answer(stream: &mut std::net::TcpStream, wait: Duration) -> Option<(String, String)> {
    use std::io::Read;
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut answer = Vec::new();
    let mut chunk = [0u8; 16384];
    loop {
        let n = stream.read(&mut chunk).ok().filter(|n| *n > 0)?;
        answer.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&answer);
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            continue;
        };
        let length: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .and_then(|v| v.trim().parse().ok())
            })
            .expect("a content-length");
        if body.len() >= length {
            return Some((head.lines().next().unwrap().to_owned(), body.to_owned()));
        }
    }
}

/// Kills the server when a test ends, passed or failed: a server held at its open-files limit
/// may not get as far as a graceful stop.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A reconnect storm can use up the server's open-files limit for a moment: accepting then fails
/// until old sockets close. The server must wait that out, serve the connections that queued
/// meanwhile, and count the failed accepts.
#[test]
fn a_server_out_of_open_files_serves_the_queued_connections_once_files_are_free() {
    let dir = tempfile::tempdir().unwrap();
    let (_, addr, child) = start_server(dir.path());
    let server = KillOnDrop(child);
    let pid = server.0.id().to_string();
    // Leave the server room for a few connections only.
    let open = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count();
    let limit = open + 3;
    let limited = Command::new("prlimit")
        .args(["--pid", &pid, &format!("--nofile={limit}:{limit}")])
        .status()
        .unwrap();
    assert!(limited.success());

    let mut served = Vec::new();
    let mut waiting = loop {
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        match get_metrics(&mut stream, Duration::from_secs(2)) {
            Some((status, _)) => {
                assert!(status.contains(" 200 "), "{status}");
                served.push(stream);
                assert!(served.len() <= limit, "the limit never took effect");
            }
            None => break stream,
        }
    };
    assert!(!served.is_empty(), "not even one connection was served");

    // Files come free: the queued connection is accepted and answered.
    drop(served);
    let (status, metrics) = read_answer(&mut waiting, Duration::from_secs(20))
        .expect("the queued connection is answered");
    assert!(status.contains(" 200 "), "{status}");
    let failures: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("accept_errors_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("the failed accepts are not counted:\n{metrics}"));
    assert!(failures > 0, "{metrics}");
}

/// With every connection slot taken, a new connection waits in the listen queue, leaving the
/// files that are left to the database, and is served as soon as an older connection closes.
#[test]
fn connections_beyond_the_budget_wait_for_a_free_slot() {
    const FILES: u64 = 600;
    let dir = tempfile::tempdir().unwrap();
    let (_, addr, child) = start_server_limited(dir.path(), FILES);
    let _server = KillOnDrop(child);
    let budget = evcms::accept::connection_budget(FILES);
    assert!(
        budget < 500,
        "the limit leaves room for the database: {budget}"
    );

    let mut served = Vec::with_capacity(budget);
    for _ in 0..budget {
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        let (status, _) = get_metrics(&mut stream, Duration::from_secs(10))
            .expect("a connection within the budget is served");
        assert!(status.contains(" 200 "), "{status}");
        served.push(stream);
    }
    let mut waiting = std::net::TcpStream::connect(&addr).unwrap();
    assert!(
        get_metrics(&mut waiting, Duration::from_secs(2)).is_none(),
        "a connection beyond the budget of {budget} was served"
    );

    served.pop();
    let (status, metrics) = read_answer(&mut waiting, Duration::from_secs(20))
        .expect("the waiting connection is served once a slot is free");
    assert!(status.contains(" 200 "), "{status}");
    let counted = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    assert!(counted("accept_budget_waits_total ") > 0, "{metrics}");
    // The files beyond the budget stayed free: accepting never failed for want of one.
    assert_eq!(counted("accept_errors_total "), 0, "{metrics}");
}
