//! Station image helpers: pictures made in the test, uploads raw and as multipart, and the whole
//! upload-and-show round trip that the local and the S3 store must both pass.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use serde_json::{Value, json};

use super::TestApp;

/// A photo-like JPEG of `width` × `height` carrying an EXIF segment with a GPS position.
pub fn jpeg_with_gps(width: u32, height: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x * 7 % 256) as u8, (y * 3 % 256) as u8, 140])
    });
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(img)
        .write_to(&mut out, ImageFormat::Jpeg)
        .unwrap();
    let plain = out.into_inner();
    // APP1 "Exif" right after the SOI marker, with a recognisable GPS text inside.
    let payload = b"Exif\0\0MM\0*\0\0\0\x08GPSLatitude 12.9716N GPSLongitude 77.5946E";
    let len = (payload.len() + 2) as u16;
    let mut with_exif = vec![0xFF, 0xD8, 0xFF, 0xE1];
    with_exif.extend_from_slice(&len.to_be_bytes());
    with_exif.extend_from_slice(payload);
    with_exif.extend_from_slice(&plain[2..]);
    with_exif
}

pub fn png(width: u32, height: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(width, height, |x, _| Rgb([(x % 256) as u8, 20, 200]));
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(img)
        .write_to(&mut out, ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

/// POSTs `bytes` as the raw body with `content_type`.
pub async fn upload_raw(
    app: &TestApp,
    station: &str,
    bytes: Vec<u8>,
    content_type: &str,
) -> (reqwest::StatusCode, Value) {
    let response = app
        .client
        .post(app.url(&format!("/api/cms/stations/{station}/images")))
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// POSTs `bytes` as a multipart part `file` named `name`.
pub async fn upload_form(
    app: &TestApp,
    station: &str,
    bytes: Vec<u8>,
    name: &str,
) -> (reqwest::StatusCode, Value) {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
    );
    let response = app
        .client
        .post(app.url(&format!("/api/cms/stations/{station}/images")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// GETs `url` (a path of evcms, or a full presigned URL) without a token.
pub async fn fetch(
    app: &TestApp,
    url: &str,
) -> (reqwest::StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let full = if url.starts_with('/') {
        app.url(url)
    } else {
        url.to_owned()
    };
    let response = app.anonymous.get(full).send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

pub fn files_in(dir: &std::path::Path) -> usize {
    fn walk(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| {
                        let path = e.path();
                        if path.is_dir() { walk(&path) } else { 1 }
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    walk(dir)
}

/// The whole round trip, for any store: upload (multipart and raw), cover, list, read back.
pub async fn uploads_and_shows(app: &TestApp) {
    let station = app.station(json!({})).await;
    let code = station["station_id"].as_str().unwrap();
    assert!(station["image_url"].is_null());

    let (status, first) =
        upload_form(app, code, jpeg_with_gps(800, 600), "../../etc/passwd.png").await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["content_type"], "image/jpeg");
    assert_eq!(
        (first["width"].as_i64(), first["height"].as_i64()),
        (Some(800), Some(600))
    );
    assert_eq!(
        (
            first["thumbnail_width"].as_i64(),
            first["thumbnail_height"].as_i64()
        ),
        (Some(320), Some(240))
    );
    assert_eq!(first["is_cover"], true);
    assert_eq!(first["position"], 1);
    assert_eq!(first["checksum"].as_str().unwrap().len(), 64);
    assert!(first.get("object_key").is_none());

    let (status, second) = upload_raw(app, code, png(100, 40), "application/octet-stream").await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(second["content_type"], "image/png");
    assert_eq!(second["is_cover"], false);
    assert_eq!(second["position"], 2);

    // The image as served: the right type, no metadata, cacheable; the checksum is of these bytes.
    let (status, headers, bytes) = fetch(app, first["url"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/jpeg");
    assert!(!bytes.windows(4).any(|w| w == b"Exif"));
    assert!(!bytes.windows(11).any(|w| w == b"GPSLatitude"));
    let decoded = image::load_from_memory(&bytes).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (800, 600));
    let (status, _, thumb) = fetch(app, first["thumbnail_url"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(image::load_from_memory(&thumb).unwrap().width(), 320);
    assert_eq!(bytes.len() as i64, first["size_bytes"].as_i64().unwrap());

    let (status, shown) = app.get(&format!("/api/cms/stations/{code}")).await;
    assert_eq!(status, 200);
    assert_eq!(shown["images"].as_array().unwrap().len(), 2);
    assert_eq!(shown["images"][0]["id"], first["id"]);
    let cover_path = |url: &Value| url.as_str().unwrap().split('?').next().unwrap().to_owned();
    assert_eq!(cover_path(&shown["image_url"]), cover_path(&first["url"]));
    let (_, list) = app.get("/api/cms/stations?limit=100").await;
    let listed = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["station_id"] == json!(code))
        .unwrap()
        .clone();
    assert_eq!(
        cover_path(&listed["thumbnail_url"]),
        cover_path(&first["thumbnail_url"])
    );
    assert!(listed.get("images").is_none());
    let (status, images) = app.get(&format!("/api/cms/stations/{code}/images")).await;
    assert_eq!(status, 200);
    assert_eq!(images.as_array().unwrap().len(), 2);
}
