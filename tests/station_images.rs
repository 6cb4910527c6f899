//! Station images over the REST API, on both databases with the local file store (the S3 store
//! is tested in `s3_images.rs`).

mod common;

use std::time::Duration;

use common::images::{fetch, files_in, png, upload_form, upload_raw, uploads_and_shows};
use common::{Backend, TestApp};
use serde_json::json;

both_databases!(
    an_operator_uploads_images_and_the_station_shows_its_cover,
    bad_uploads_get_clear_errors_and_leave_nothing_behind,
    covers_and_order_are_chosen_and_deleted_images_are_purged,
    images_follow_the_stations_organization_and_the_callers_role,
);

async fn an_operator_uploads_images_and_the_station_shows_its_cover(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    uploads_and_shows(&app).await;
}

async fn bad_uploads_get_clear_errors_and_leave_nothing_behind(backend: Backend) {
    let Some((mut config, db)) = TestApp::config(backend).await else {
        return;
    };
    config.max_image_bytes = 200_000;
    config.max_image_pixels = 1_000_000;
    let app = TestApp::spawn_with(config, db, reqwest::Client::builder).await;
    let station = app.station(json!({})).await;
    let code = station["station_id"].as_str().unwrap();

    // Not an image, whatever it claims to be.
    let (status, err) =
        upload_raw(&app, code, b"<svg onload=alert(1)>".to_vec(), "image/png").await;
    assert_eq!(status, 415, "{err}");
    assert_eq!(err["error"]["code"], "unsupported_image");
    let (status, _) = upload_form(&app, code, b"GIF89a......".to_vec(), "photo.jpg").await;
    assert_eq!(status, 415);
    // Too many bytes: 413.
    let (status, err) = upload_raw(&app, code, vec![0xFF; 200_001], "image/jpeg").await;
    assert_eq!(status, 413, "{err}");
    let (status, _) = upload_form(&app, code, vec![0xFF; 200_001], "big.jpg").await;
    assert_eq!(status, 413);
    // More pixels than allowed (1,001,000 > 1,000,000), in a file of a few kilobytes: refused
    // from its header (a forged header is `images.rs`'s unit test).
    let wide = png(1001, 1000);
    assert!(wide.len() < 200_000);
    let (status, err) = upload_raw(&app, code, wide, "image/png").await;
    assert_eq!(status, 422, "{err}");
    assert!(
        err["error"]["details"][0]["problem"]
            .as_str()
            .unwrap()
            .contains("pixels")
    );
    // A broken image.
    let whole = png(50, 50);
    let (status, err) =
        upload_raw(&app, code, whole[..whole.len() / 2].to_vec(), "image/png").await;
    assert_eq!(status, 422, "{err}");
    // No file at all, an empty body, an unknown station.
    let form = reqwest::multipart::Form::new().text("note", "no file");
    let response = app
        .client
        .post(app.url(&format!("/api/cms/stations/{code}/images")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let (status, _) = upload_raw(&app, code, Vec::new(), "image/png").await;
    assert_eq!(status, 422);
    let (status, _) = upload_raw(&app, "NO-SUCH-STATION", png(10, 10), "image/png").await;
    assert_eq!(status, 404);

    let (_, images) = app.get(&format!("/api/cms/stations/{code}/images")).await;
    assert_eq!(images, json!([]));
    assert_eq!(files_in(app.files_path()), 0, "no object left behind");
    // Unknown files are 404, and so is a path that tries to leave the store.
    assert_eq!(fetch(&app, "/files/images/nothing.jpg").await.0, 404);
    assert_eq!(fetch(&app, "/files/../Cargo.toml").await.0, 404);
}

async fn covers_and_order_are_chosen_and_deleted_images_are_purged(backend: Backend) {
    let Some((mut config, db)) = TestApp::config(backend).await else {
        return;
    };
    config.image_purge_after = 1;
    let app = TestApp::spawn_with(config, db, reqwest::Client::builder).await;
    let station = app.station(json!({})).await;
    let code = station["station_id"].as_str().unwrap();
    let mut ids = Vec::new();
    for width in [30, 40, 50] {
        let (status, image) = upload_raw(&app, code, png(width, 20), "image/png").await;
        assert_eq!(status, 201);
        ids.push(image["id"].as_i64().unwrap());
    }
    let path = |id: i64| format!("/api/cms/stations/{code}/images/{id}");
    // The third becomes the cover and moves first.
    let (status, order) = app
        .put(&path(ids[2]), &json!({"is_cover": true, "position": 1}))
        .await;
    assert_eq!(status, 200, "{order}");
    let shown: Vec<(i64, bool)> = order
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["id"].as_i64().unwrap(), i["is_cover"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        shown,
        vec![(ids[2], true), (ids[0], false), (ids[1], false)]
    );
    let (status, err) = app.put(&path(ids[0]), &json!({"is_cover": false})).await;
    assert_eq!(status, 422, "{err}");
    let (status, _) = app.put(&path(ids[0]), &json!({"position": 0})).await;
    assert_eq!(status, 422);
    assert_eq!(
        app.put(&path(999_999), &json!({"position": 1})).await.0,
        404
    );

    // Deleting the cover makes the next image the cover; its file stops being served at once.
    let cover_url = order[0]["url"].as_str().unwrap().to_owned();
    assert_eq!(fetch(&app, &cover_url).await.0, 200);
    let files_before = files_in(app.files_path());
    assert_eq!(files_before, 6);
    assert_eq!(app.delete(&path(ids[2])).await.0, 204);
    assert_eq!(app.delete(&path(ids[2])).await.0, 404);
    assert_eq!(fetch(&app, &cover_url).await.0, 404);
    let (_, shown) = app.get(&format!("/api/cms/stations/{code}")).await;
    assert_eq!(shown["images"][0]["id"], json!(ids[0]));
    assert_eq!(shown["images"][0]["is_cover"], true);
    assert_eq!(shown["images"][0]["position"], 1);
    // The sweep removes the deleted image's two files after the purge delay.
    for _ in 0..100 {
        if files_in(app.files_path()) == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(files_in(app.files_path()), 4);
}

async fn images_follow_the_stations_organization_and_the_callers_role(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // The test station belongs to massive_mobility.
    let station = app.station(json!({})).await;
    let code = station["station_id"].as_str().unwrap();
    let (_, image) = upload_raw(&app, code, png(20, 20), "image/png").await;
    let images = format!("/api/cms/stations/{code}/images");
    let one = format!("{images}/{}", image["id"]);
    let viewer = app.user("viewer", Some("massive_mobility")).await;
    let other = app.user("operator", Some("1c_ev_charging")).await;
    let get = reqwest::Method::GET;
    assert_eq!(
        app.call(get.clone(), &images, Some(&viewer), None).await.0,
        200
    );
    assert_eq!(
        app.call(get.clone(), &images, Some(&other), None).await.0,
        404
    );
    assert_eq!(app.call(get, &images, None, None).await.0, 401);
    let post = |token: &str| {
        app.anonymous
            .post(app.url(&images))
            .bearer_auth(token.to_owned())
            .header("content-type", "image/png")
            .body(png(10, 10))
            .send()
    };
    assert_eq!(post(&viewer).await.unwrap().status(), 403);
    assert_eq!(post(&other).await.unwrap().status(), 404);
    let delete = reqwest::Method::DELETE;
    assert_eq!(
        app.call(delete.clone(), &one, Some(&viewer), None).await.0,
        403
    );
    assert_eq!(app.call(delete, &one, Some(&other), None).await.0, 404);
}
