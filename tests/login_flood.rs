//! Nobody can exhaust the server's memory with failed logins: password verification runs in a
//! bounded number of slots, so a flood queues instead of running hundreds of 19 MiB argon2
//! computations at once. Alone in its file, so no other test shares the process's memory.

mod common;

use std::net::{IpAddr, Ipv4Addr};

use common::{Backend, TestApp};
use reqwest::StatusCode;
use serde_json::json;

/// The process's resident memory, in KiB, from `/proc/self/status`.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line")
}

/// How many addresses the flood comes from, and logins per address (the limit per address, so
/// every one of them reaches the password check).
const ADDRESSES: u8 = 10;
const PER_ADDRESS: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_failed_logins_leaves_memory_bounded() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    // Warm up: the first verification builds the dummy hash and the blocking pool's first thread.
    let (status, _) = app.login("nobody@example.com", "Wrong password 1").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let before = rss_kib();

    let mut floods = Vec::new();
    for a in 0..ADDRESSES {
        // Each client speaks from its own loopback address, 127.0.1.a.
        let client = reqwest::Client::builder()
            .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 1, a + 1)))
            .build()
            .unwrap();
        for n in 0..PER_ADDRESS {
            let client = client.clone();
            let url = app.url("/api/auth/login");
            floods.push(tokio::spawn(async move {
                let body = json!({"email": format!("user{a}-{n}@example.com"), "password": "Wrong password 1"});
                let response = client.post(url).json(&body).send().await.unwrap();
                let retry_after = response.headers().get("retry-after").cloned();
                (response.status(), retry_after)
            }));
        }
    }
    let mut refused = 0;
    for flood in floods {
        let (status, retry_after) = flood.await.unwrap();
        match status {
            StatusCode::UNAUTHORIZED => refused += 1,
            // Saturated: the answer says when to come back.
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS => {
                assert!(retry_after.is_some(), "{status} without Retry-After")
            }
            other => panic!("unexpected answer {other} to a failed login"),
        }
    }
    assert!(refused > 0, "no login was checked at all");
    let grown_mib = rss_kib().saturating_sub(before) / 1024;
    eprintln!("memory grew by {grown_mib} MiB during the flood");
    // Unbounded, 200 concurrent argon2id runs need about 200 × 19 MiB = 3.8 GiB; bounded to a
    // slot per core they need a few tens of MiB. The bound leaves room for allocator slack.
    assert!(
        grown_mib < 300,
        "memory grew by {grown_mib} MiB during {} failed logins",
        usize::from(ADDRESSES) * PER_ADDRESS
    );
}
