//! `/api/cms/stations` over HTTP, on SQLite and PostgreSQL.

mod common;

use common::{Backend, TestApp, problem_fields};
use reqwest::StatusCode;
use serde_json::{Value, json};

both_databases!(
    creates_and_reads_a_station_with_every_field,
    reports_every_invalid_station_field_at_once,
    coordinates_and_hours_come_in_pairs,
    station_id_is_never_reused_even_after_delete,
    update_replaces_only_the_fields_sent_and_keeps_the_station_id,
    lists_stations_with_filters_sorting_and_pagination,
    delete_hides_the_station,
    a_station_with_points_cannot_be_deleted,
    unknown_fields_are_refused,
);

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["station_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn creates_and_reads_a_station_with_every_field(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let created = app
        .station(json!({
            "station_id": "STN-FULL", "station_name": " Indiranagar ", "organization": "1c_ev_charging",
            "address": "100 Feet Road", "state": "Karnataka", "pincode": "560 038",
            "latitude": 12.97160000, "longitude": "77.64120001", "status": "Maintenance", "grid_phase": "Single Phase",
            "working_days": ["friday", "monday", "monday"], "opening_time": "08:30", "closing_time": "22:00:15",
            "contact_person": "Ravi", "contact_number": "+91 98765-43210", "email": "ravi@example.com"
        }))
        .await;
    assert_eq!(created["station_name"], "Indiranagar");
    assert_eq!(created["working_days"], json!(["monday", "friday"]));
    assert_eq!(created["opening_time"], "08:30:00");
    assert_eq!(created["closing_time"], "22:00:15");
    assert_eq!(created["contact_number"], "+919876543210");
    assert_eq!(created["deleted"], false);
    assert!(created["id"].as_i64().unwrap() > 0);
    let (status, got) = app.get("/api/cms/stations/STN-FULL").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, created);
    let raw = app
        .client
        .get(app.url("/api/cms/stations/STN-FULL"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(raw.contains(r#""latitude":12.97160000,"#), "{raw}");
    assert!(raw.contains(r#""longitude":77.64120001,"#), "{raw}");
    // Optional fields may be left out.
    let bare = app.station(json!({"city": null})).await;
    assert_eq!(bare["working_days"], json!([]));
    assert_eq!(bare["latitude"], Value::Null);
    assert_eq!(
        app.get("/api/cms/stations/NOPE").await.0,
        StatusCode::NOT_FOUND
    );
}

async fn reports_every_invalid_station_field_at_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (status, body) = app
        .post(
            "/api/cms/stations",
            &json!({
                "station_id": "bad id", "organization": "acme", "country": "India", "pincode": "56#",
                "latitude": 91, "longitude": 10, "status": "Open", "grid_phase": "Two Phase",
                "working_days": ["monday", "funday"], "opening_time": "25:00", "closing_time": "22:00",
                "contact_number": "12", "email": "nope"
            }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "validation_failed");
    assert_eq!(
        problem_fields(&body),
        [
            "station_id",
            "station_name",
            "organization",
            "pincode",
            "latitude",
            "status",
            "grid_phase",
            "working_days",
            "opening_time",
            "contact_number",
            "email"
        ]
    );
    let org = &body["error"]["details"][2]["problem"];
    assert!(
        org.as_str().unwrap().contains("massive_mobility")
            && org.as_str().unwrap().contains("1c_ev_charging"),
        "{org}"
    );
    let (status, body) = app
        .post(
            "/api/cms/stations",
            &json!({"station_id": "S", "station_name": "x", "organization": "massive_mobility", "country": "India",
                "status": "Active", "grid_phase": "Three Phase", "longitude": -180.5, "latitude": -90, "working_days": "monday"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_fields(&body), ["longitude", "working_days"]);
}

async fn coordinates_and_hours_come_in_pairs(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let base = json!({"station_id": "S", "station_name": "x", "organization": "massive_mobility", "country": "India",
        "status": "Active", "grid_phase": "Three Phase"});
    let with = |extra: Value| {
        let mut body = base.clone();
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let (status, body) = app
        .post(
            "/api/cms/stations",
            &with(json!({"latitude": 12.9, "closing_time": "20:00"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_fields(&body), ["longitude", "opening_time"]);
    let (status, body) = app
        .post(
            "/api/cms/stations",
            &with(json!({"longitude": 77.6, "opening_time": "06:00"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_fields(&body), ["latitude", "closing_time"]);
    // Clearing one of a pair on update is refused too.
    let station = app
        .station(json!({"latitude": 12.9, "longitude": 77.6}))
        .await;
    let path = format!(
        "/api/cms/stations/{}",
        station["station_id"].as_str().unwrap()
    );
    let (status, body) = app.put(&path, &json!({"latitude": null})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_fields(&body), ["latitude"]);
    let (status, body) = app
        .put(&path, &json!({"latitude": null, "longitude": null}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["latitude"], Value::Null);
}

async fn station_id_is_never_reused_even_after_delete(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.station(json!({"station_id": "STN-ONCE"})).await;
    let (status, body) = app
        .post("/api/cms/stations", &json!({"station_id": "STN-ONCE", "station_name": "Again", "organization": "massive_mobility",
            "country": "India", "status": "Active", "grid_phase": "Three Phase"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(problem_fields(&body), ["station_id"]);
    assert_eq!(
        app.delete("/api/cms/stations/STN-ONCE").await.0,
        StatusCode::NO_CONTENT
    );
    let (status, body) = app
        .post("/api/cms/stations", &json!({"station_id": "STN-ONCE", "station_name": "Again", "organization": "massive_mobility",
            "country": "India", "status": "Active", "grid_phase": "Three Phase"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(problem_fields(&body), ["station_id"]);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("possibly deleted")
    );
}

async fn update_replaces_only_the_fields_sent_and_keeps_the_station_id(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let created = app
        .station(json!({"station_id": "STN-U", "email": "a@example.com", "working_days": ["monday"], "opening_time": "09:00", "closing_time": "18:00"}))
        .await;
    let (status, updated) = app
        .put(
            "/api/cms/stations/STN-U",
            &json!({"station_name": "Renamed", "email": null, "status": "Inactive", "working_days": ["sunday", "saturday"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["station_name"], "Renamed");
    assert_eq!(updated["email"], Value::Null);
    assert_eq!(updated["status"], "Inactive");
    assert_eq!(updated["working_days"], json!(["sunday", "saturday"]));
    assert_eq!(updated["city"], created["city"]);
    assert_eq!(updated["opening_time"], "09:00:00");
    assert_eq!(updated["created_at"], created["created_at"]);
    assert_ne!(updated["updated_at"], created["updated_at"]);
    let (status, body) = app
        .put("/api/cms/stations/STN-U", &json!({"station_id": "STN-V"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_fields(&body), ["station_id"]);
    assert_eq!(
        app.put(
            "/api/cms/stations/STN-U",
            &json!({"station_id": "STN-U", "city": "Mysuru"})
        )
        .await
        .0,
        StatusCode::OK
    );
    let (status, body) = app
        .put("/api/cms/stations/STN-U", &json!({"organization": "acme"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_fields(&body), ["organization"]);
    assert_eq!(
        app.put("/api/cms/stations/NOPE", &json!({"city": "x"}))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

async fn lists_stations_with_filters_sorting_and_pagination(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for i in 0..25 {
        let city = if i % 5 == 0 { "Mysuru" } else { "Bengaluru" };
        let status = if i % 2 == 0 { "Active" } else { "Inactive" };
        let org = if i < 3 {
            "1c_ev_charging"
        } else {
            "massive_mobility"
        };
        let grid = if i % 3 == 0 {
            "Single Phase"
        } else {
            "Three Phase"
        };
        let state = if i == 7 { "Kerala" } else { "Karnataka" };
        let country = if i == 8 { "Nepal" } else { "India" };
        app.station(json!({"station_id": format!("L-{i:02}"), "station_name": format!("Hub {:02}", 24 - i), "city": city,
            "status": status, "organization": org, "grid_phase": grid, "state": state, "country": country,
            "contact_person": if i == 11 { "Meena Iyer" } else { "Ravi" }}))
            .await;
    }
    let (status, page) = app.get("/api/cms/stations").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        page["pagination"],
        json!({"page": 1, "limit": 20, "total": 25, "pages": 2})
    );
    assert_eq!(page["data"][0]["station_id"], "L-24");
    let (_, last) = app.get("/api/cms/stations?page=2").await;
    assert_eq!(last["data"].as_array().unwrap().len(), 5);
    let (_, beyond) = app.get("/api/cms/stations?page=9").await;
    assert_eq!(beyond["data"], json!([]));
    assert_eq!(beyond["pagination"]["total"], 25);
    let (_, capped) = app.get("/api/cms/stations?limit=1000").await;
    assert_eq!(capped["pagination"]["limit"], 100);
    assert_eq!(capped["data"].as_array().unwrap().len(), 25);
    let (_, mysuru) = app
        .get("/api/cms/stations?city=mYSURU&sort=station_id")
        .await;
    assert_eq!(ids(&mysuru), ["L-00", "L-05", "L-10", "L-15", "L-20"]);
    let (_, active) = app
        .get("/api/cms/stations?city=Mysuru&status=Active&sort=-station_id")
        .await;
    assert_eq!(ids(&active), ["L-20", "L-10", "L-00"]);
    let (_, org) = app
        .get("/api/cms/stations?organization=1c_ev_charging&sort=station_name")
        .await;
    assert_eq!(ids(&org), ["L-02", "L-01", "L-00"]);
    let (_, single) = app.get("/api/cms/stations?grid_phase=Single%20Phase").await;
    assert_eq!(single["pagination"]["total"], 9);
    let (_, kerala) = app.get("/api/cms/stations?state=kerala").await;
    assert_eq!(ids(&kerala), ["L-07"]);
    let (_, nepal) = app.get("/api/cms/stations?country=NEPAL").await;
    assert_eq!(ids(&nepal), ["L-08"]);
    let (_, by_name) = app.get("/api/cms/stations?search=hub%2000").await;
    assert_eq!(ids(&by_name), ["L-24"]);
    let (_, by_person) = app.get("/api/cms/stations?search=meena").await;
    assert_eq!(ids(&by_person), ["L-11"]);
    let (_, by_code) = app.get("/api/cms/stations?search=l-1").await;
    assert_eq!(by_code["pagination"]["total"], 10);
    let (_, by_city) = app
        .get("/api/cms/stations?search=mysu&sort=-city&limit=2")
        .await;
    assert_eq!(by_city["pagination"]["total"], 5);
    let (_, cities) = app.get("/api/cms/stations?sort=city&limit=1").await;
    assert_eq!(cities["data"][0]["city"], "Bengaluru");
    let (_, today) = app
        .get(&format!(
            "/api/cms/stations?created_from={}&created_to={}",
            chrono::Utc::now().date_naive(),
            chrono::Utc::now().date_naive()
        ))
        .await;
    assert_eq!(today["pagination"]["total"], 25);
    let (_, none) = app.get("/api/cms/stations?created_to=2000-01-01").await;
    assert_eq!(none["pagination"]["total"], 0);
    let (status, body) = app
        .get("/api/cms/stations?page=0&limit=0&sort=price&status=Open&grid_phase=x&created_from=soon")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_query");
    assert_eq!(
        problem_fields(&body),
        [
            "status",
            "grid_phase",
            "created_from",
            "page",
            "limit",
            "sort"
        ]
    );
}

async fn delete_hides_the_station(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.station(json!({"station_id": "STN-GONE"})).await;
    app.station(json!({"station_id": "STN-STAYS"})).await;
    assert_eq!(
        app.delete("/api/cms/stations/STN-GONE").await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get("/api/cms/stations/STN-GONE").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.put("/api/cms/stations/STN-GONE", &json!({"city": "x"}))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.delete("/api/cms/stations/STN-GONE").await.0,
        StatusCode::NOT_FOUND
    );
    let (_, list) = app.get("/api/cms/stations").await;
    assert_eq!(list["pagination"]["total"], 1);
    assert_eq!(list["data"][0]["station_id"], "STN-STAYS");
    // A deleted station takes no new points.
    let (status, body) = app
        .post("/api/cms/points", &json!({"charging_point_name": "Bay", "station_id": "STN-GONE", "charger_type": "AC",
            "phase": "Phase R", "oem_list": "EVRE", "connectors": [{"connector_id": "1", "connector_type": "type2", "power": 7}]}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_fields(&body), ["station_id"]);
}

async fn a_station_with_points_cannot_be_deleted(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.station(json!({"station_id": "STN-BUSY"})).await;
    let point = app.point("STN-BUSY", json!({})).await;
    app.point("STN-BUSY", json!({})).await;
    let (status, body) = app.delete("/api/cms/stations/STN-BUSY").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(
        body["error"]["message"],
        "the station has 2 charging point(s); delete or move them first"
    );
    // Move one away, delete the other: then the station can go.
    app.station(json!({"station_id": "STN-OTHER"})).await;
    let (status, moved) = app
        .put(
            &format!("/api/cms/points/{}", point["id"]),
            &json!({"station_id": "STN-OTHER"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["station_id"], "STN-OTHER");
    let (_, rest) = app.get("/api/cms/points?station_id=STN-BUSY").await;
    assert_eq!(rest["pagination"]["total"], 1);
    let (status, body) = app.delete("/api/cms/stations/STN-BUSY").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("has 1 charging point(s)")
    );
    assert_eq!(
        app.delete(&format!("/api/cms/points/{}", rest["data"][0]["id"]))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete("/api/cms/stations/STN-BUSY").await.0,
        StatusCode::NO_CONTENT
    );
}

async fn unknown_fields_are_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (status, body) = app
        .post(
            "/api/cms/stations",
            &json!({"station_id": "S", "station_name": "x", "organization": "massive_mobility",
            "country": "India", "status": "Active", "grid_phase": "Three Phase", "capacity": 4}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_fields(&body), ["capacity"]);
    app.station(json!({"station_id": "STN-K"})).await;
    let (status, body) = app
        .put("/api/cms/stations/STN-K", &json!({"deleted": true}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_fields(&body), ["deleted"]);
    let (status, body) = app
        .post_raw("/api/cms/stations", "application/json", "[]")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_fields(&body), ["body"]);
}
