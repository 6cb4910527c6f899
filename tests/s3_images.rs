//! Station images against a real S3 API: moto's server, started by the test (`.ci/run` installs
//! `moto[server]`; without it the test is skipped, except under CI). A test binary of its own,
//! because the store reads the usual AWS_* environment variables and setting them is only safe
//! while no other test thread runs.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::images::{fetch, files_in, png, upload_raw, uploads_and_shows};
use common::{Backend, TestApp};
use serde_json::json;

/// moto's S3 server on a free port, stopped when dropped.
struct Moto(Child, u16);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_moto() -> Option<Moto> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let child = match child {
        Ok(child) => child,
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("moto_server is needed under CI (pip install 'moto[server]'): {e}")
        }
        Err(e) => {
            eprintln!("skipped: moto_server is not installed ({e}); pip install 'moto[server]'");
            return None;
        }
    };
    let moto = Moto(child, port);
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client
            .get(format!("http://127.0.0.1:{port}/"))
            .send()
            .await
            .is_ok()
        {
            return Some(moto);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("moto_server did not start on port {port}");
}

/// The same round trip as on the local disk, with `EVCMS_STORAGE_URL=s3://bucket/prefix` against a
/// real S3 API: objects land in the bucket, URLs are presigned, and the bucket stays private.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_are_stored_on_s3_and_read_through_presigned_urls() {
    let Some(moto) = start_moto().await else {
        return;
    };
    let endpoint = format!("http://127.0.0.1:{}", moto.1);
    let bucket = "evcms-images";
    // CreateBucket: moto checks no signature.
    let created = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{}", created.status());
    // The AWS_* variables are the documented way to configure the store; this test binary runs
    // only this test with them.
    // SAFETY: set before the server (and any other thread of this test) reads the environment.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
        std::env::set_var("AWS_DEFAULT_REGION", "us-east-1");
        std::env::set_var("AWS_ENDPOINT_URL", &endpoint);
    }
    let Some((mut config, db)) = TestApp::config(Backend::Sqlite).await else {
        return;
    };
    config.storage_url = format!("s3://{bucket}/stations");
    let app = TestApp::spawn_with(config, db, reqwest::Client::builder).await;
    uploads_and_shows(&app).await;

    let station = app.station(json!({})).await;
    let code = station["station_id"].as_str().unwrap();
    let (status, image) = upload_raw(&app, code, png(64, 64), "image/png").await;
    assert_eq!(status, 201, "{image}");
    let url = image["url"].as_str().unwrap();
    assert!(url.starts_with(&endpoint), "{url}");
    assert!(url.contains("X-Amz-Signature"), "a presigned URL: {url}");
    assert!(url.contains("/stations/images/"), "under the prefix: {url}");
    let (status, headers, bytes) = fetch(&app, url).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(image::load_from_memory(&bytes).unwrap().width(), 64);
    // evcms does not serve S3 objects itself, and nothing went to the local folder.
    let key = url
        .split("/stations/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap();
    assert_eq!(fetch(&app, &format!("/files/{key}")).await.0, 404);
    assert_eq!(files_in(app.files_path()), 0);
    // The admin UI may load the presigned images: the content security policy names the store.
    let page = app.anonymous.get(app.url("/")).send().await.unwrap();
    let policy = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        policy.contains(&format!("img-src 'self' data: {endpoint}")),
        "{policy}"
    );
}
