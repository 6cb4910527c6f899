//! `/api/cms/points` over HTTP, on SQLite and PostgreSQL.

mod common;

use common::{Backend, TestApp, problem_fields};
use reqwest::StatusCode;
use serde_json::{Value, json};

both_databases!(
    creates_a_point_with_its_connectors,
    reports_connector_problems_by_path,
    refuses_unknown_stations_and_unusable_tariffs,
    a_tariff_in_use_cannot_be_deleted_or_deactivated,
    device_ids_are_unique_among_live_points,
    update_merges_fields_and_replaces_connectors,
    removing_a_connector_with_an_active_session_is_refused,
    delete_hides_the_point_and_is_refused_while_charging,
    lists_points_with_filters_sorting_and_pagination,
    non_numeric_ids_and_unknown_fields,
);

fn names(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["charging_point_name"].as_str().unwrap().to_owned())
        .collect()
}

fn connector_ids(point: &Value) -> Vec<String> {
    point["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["connector_id"].as_str().unwrap().to_owned())
        .collect()
}

/// Records an `Active` session on `point_id`/`connector` (a `connectors.id`) straight in the
/// database, as the OCPP side would.
async fn start_session(app: &TestApp, point_id: i64, connector: i64) {
    let now = evcms::db::now();
    let sql = "INSERT INTO charging_sessions (session_id, charging_point_id, connector_id, start_time, status, created_at, updated_at) VALUES ($1, $2, $3, $4, 'Active', $4, $4)";
    let session = common::unique("SES");
    evcms::on_write!(&app.db, pool => {
        sqlx::query(sql).bind(&session).bind(point_id).bind(connector).bind(now).execute(pool).await.map(|_| ())
    })
    .unwrap();
}

async fn creates_a_point_with_its_connectors(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.station(json!({"station_id": "STN-P"})).await;
    let tariff = app.tariff(json!({})).await;
    let point = app
        .point(
            "STN-P",
            json!({"charging_point_name": " DC Fast ", "device_id": "CP*01@blr.in", "tariff_id": tariff["id"],
                "charger_type": "DC", "phase": "Phase B", "oem_list": "Massive Mobility", "max_power": 60,
                "connectors": [{"connector_id": 2, "connector_type": "ccs2", "power": "60"},
                               {"connector_id": "1", "connector_type": "gbt", "power": 30.5}]}),
        )
        .await;
    assert_eq!(point["charging_point_name"], "DC Fast");
    assert_eq!(point["station_id"], "STN-P");
    assert_eq!(point["device_id"], "CP*01@blr.in");
    assert_eq!(point["tariff_id"], tariff["id"]);
    // Lists show names without another request.
    assert_eq!(point["tariff_name"], tariff["tariff_name"]);
    assert_eq!(point["station_name"], "Koramangala Hub");
    assert_eq!(point["oem_list"], "Massive Mobility");
    assert_eq!(point["deleted"], false);
    assert_eq!(connector_ids(&point), ["1", "2"]);
    let first = &point["connectors"][0];
    assert_eq!(first["connector_type"], "gbt");
    assert_eq!(first["power"], json!(30.5));
    assert_eq!(first["status"], Value::Null);
    assert_eq!(first["error_code"], Value::Null);
    assert_eq!(first["status_at"], Value::Null);
    assert!(first["id"].as_i64().unwrap() > 0);
    assert!(first.get("charging_point_id").is_none());
    let (status, got) = app.get(&format!("/api/cms/points/{}", point["id"])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, point);
    let raw = app
        .client
        .get(app.url(&format!("/api/cms/points/{}", point["id"])))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(raw.contains(r#""max_power":60.00,"#), "{raw}");
    // Without max_power, tariff or device id.
    let plain = app
        .point(
            "STN-P",
            json!({"max_power": null, "connectors": [{"connector_id": 3, "connector_type": "ac_socket", "power": 3.3}]}),
        )
        .await;
    assert_eq!(plain["max_power"], Value::Null);
    assert_eq!(plain["tariff_id"], Value::Null);
    assert_eq!(plain["tariff_name"], Value::Null);
    assert_eq!(plain["device_id"], Value::Null);
    assert_eq!(
        app.get("/api/cms/points/999999").await.0,
        StatusCode::NOT_FOUND
    );
}

async fn reports_connector_problems_by_path(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.station(json!({"station_id": "STN-C"})).await;
    let body = |connectors: Value| {
        json!({"charging_point_name": "Bay", "station_id": "STN-C", "charger_type": "AC", "phase": "Phase R",
            "oem_list": "EVRE", "max_power": 22, "connectors": connectors})
    };
    let c = |id: Value, power: Value| json!({"connector_id": id, "connector_type": "type2", "power": power});
    for connectors in [
        json!([]),
        json!([
            c(json!(1), json!(7)),
            c(json!(2), json!(7)),
            c(json!(3), json!(7)),
            c(json!(1), json!(7))
        ]),
    ] {
        let (status, problems) = app.post("/api/cms/points", &body(connectors)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem_fields(&problems), ["connectors"]);
    }
    let (status, problems) = app
        .post(
            "/api/cms/points",
            &body(json!([
                c(json!("1"), json!(7)),
                c(json!("1"), json!(22.5)),
                {"connector_id": 4, "connector_type": "plug", "power": 0}
            ])),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problems}");
    assert_eq!(
        problem_fields(&problems),
        [
            "connectors[1].connector_id",
            "connectors[1].power",
            "connectors[2].connector_id",
            "connectors[2].connector_type",
            "connectors[2].power"
        ]
    );
    assert!(
        problems["error"]["details"][1]["problem"]
            .as_str()
            .unwrap()
            .contains("max_power")
    );
    let (status, problems) = app
        .post(
            "/api/cms/points",
            &body(json!([{"connector_type": "type2", "power": true}])),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        problem_fields(&problems),
        ["connectors[0].connector_id", "connectors[0].power"]
    );
    // Every point-level problem at once, with the nested ones.
    let (status, problems) = app
        .post(
            "/api/cms/points",
            &json!({"device_id": "has space", "tariff_id": -1, "charger_type": "AB", "phase": "R", "oem_list": "Acme",
                "max_power": 100000, "connectors": [c(json!(1), json!(7)), c(json!(2), json!(-1))]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        problem_fields(&problems),
        [
            "charging_point_name",
            "station_id",
            "device_id",
            "tariff_id",
            "charger_type",
            "phase",
            "oem_list",
            "max_power",
            "connectors[1].power"
        ]
    );
    let (status, problems) = app
        .post(
            "/api/cms/points",
            &body(
                json!([{"connector_id": "1", "connector_type": "type2", "power": 7, "volts": 230}]),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_fields(&problems), ["connectors[0].volts"]);
    let (status, problems) = app.post("/api/cms/points", &body(Value::Null)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_fields(&problems), ["connectors"]);
}

async fn refuses_unknown_stations_and_unusable_tariffs(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.station(json!({"station_id": "STN-T"})).await;
    let inactive = app.tariff(json!({"status": "Inactive"})).await;
    let deleted = app.tariff(json!({})).await;
    assert_eq!(
        app.delete(&format!(
            "/api/cms/tariffs/{}",
            deleted["tariff_id"].as_str().unwrap()
        ))
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    let body = |station: &str, tariff: &Value| {
        json!({"charging_point_name": "Bay", "station_id": station, "tariff_id": tariff, "charger_type": "AC",
            "phase": "Phase R", "oem_list": "EVRE", "connectors": [{"connector_id": "1", "connector_type": "type2", "power": 7}]})
    };
    let (status, problems) = app
        .post("/api/cms/points", &body("STN-NONE", &inactive["id"]))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_fields(&problems), ["station_id", "tariff_id"]);
    for tariff in [&deleted["id"], &json!(987654)] {
        let (status, problems) = app.post("/api/cms/points", &body("STN-T", tariff)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem_fields(&problems), ["tariff_id"]);
    }
    // Nothing was written by the refused requests.
    assert_eq!(app.get("/api/cms/points").await.1["pagination"]["total"], 0);
    // The same checks on update.
    let point = app.point("STN-T", json!({})).await;
    let path = format!("/api/cms/points/{}", point["id"]);
    let (status, problems) = app
        .put(
            &path,
            &json!({"tariff_id": inactive["id"], "station_id": "STN-NONE"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_fields(&problems), ["station_id", "tariff_id"]);
}

async fn a_tariff_in_use_cannot_be_deleted_or_deactivated(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.station(json!({"station_id": "STN-TU"})).await;
    app.tariff(json!({"tariff_id": "TRF-USED"})).await;
    let tariff = app.get("/api/cms/tariffs/TRF-USED").await.1;
    let point = app
        .point("STN-TU", json!({"tariff_id": tariff["id"]}))
        .await;
    let (_, by_tariff) = app
        .get(&format!("/api/cms/points?tariff_id={}", tariff["id"]))
        .await;
    assert_eq!(by_tariff["pagination"]["total"], 1);
    assert_eq!(
        app.delete("/api/cms/tariffs/TRF-USED").await.0,
        StatusCode::CONFLICT
    );
    assert_eq!(
        app.put("/api/cms/tariffs/TRF-USED", &json!({"status": "Inactive"}))
            .await
            .0,
        StatusCode::CONFLICT
    );
    // Unassigned, the tariff is free to go.
    let (status, updated) = app
        .put(
            &format!("/api/cms/points/{}", point["id"]),
            &json!({"tariff_id": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["tariff_id"], Value::Null);
    assert_eq!(
        app.delete("/api/cms/tariffs/TRF-USED").await.0,
        StatusCode::NO_CONTENT
    );
}

async fn device_ids_are_unique_among_live_points(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.station(json!({"station_id": "STN-D"})).await;
    let first = app.point("STN-D", json!({"device_id": "CP-DUP"})).await;
    let (status, body) = app
        .post(
            "/api/cms/points",
            &json!({"charging_point_name": "Bay 2", "station_id": "STN-D", "device_id": "CP-DUP",
            "charger_type": "AC", "phase": "Phase R", "oem_list": "EVRE",
            "connectors": [{"connector_id": "1", "connector_type": "type2", "power": 7}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(problem_fields(&body), ["device_id"]);
    let other = app.point("STN-D", json!({"device_id": "CP-OTHER"})).await;
    let (status, body) = app
        .put(
            &format!("/api/cms/points/{}", other["id"]),
            &json!({"device_id": "CP-DUP"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(problem_fields(&body), ["device_id"]);
    assert_eq!(
        app.delete(&format!("/api/cms/points/{}", first["id"]))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let again = app.point("STN-D", json!({"device_id": "CP-DUP"})).await;
    assert_ne!(again["id"], first["id"]);
}

async fn update_merges_fields_and_replaces_connectors(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.station(json!({"station_id": "STN-R"})).await;
    let point = app
        .point(
            "STN-R",
            json!({"max_power": 22, "connectors": [
                {"connector_id": "1", "connector_type": "type2", "power": 22},
                {"connector_id": "2", "connector_type": "type2", "power": 11}]}),
        )
        .await;
    let path = format!("/api/cms/points/{}", point["id"]);
    let id_of = |p: &Value, n: &str| {
        p["connectors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["connector_id"] == n)
            .map(|c| c["id"].clone())
            .unwrap()
    };
    // Fields only: connectors stay as they are.
    let (status, renamed) = app
        .put(
            &path,
            &json!({"charging_point_name": "Renamed", "phase": "Phase Y"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["charging_point_name"], "Renamed");
    assert_eq!(renamed["phase"], "Phase Y");
    assert_eq!(renamed["charger_type"], point["charger_type"]);
    assert_eq!(renamed["connectors"], point["connectors"]);
    assert_eq!(renamed["created_at"], point["created_at"]);
    // Lowering max_power below a kept connector's power is refused.
    let (status, body) = app.put(&path, &json!({"max_power": 11})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_fields(&body), ["connectors[0].power"]);
    // Replace: 1 stays (changed), 2 goes, 3 arrives.
    let (status, replaced) = app
        .put(
            &path,
            &json!({"connectors": [
                {"connector_id": "3", "connector_type": "ac_socket", "power": 3.3},
                {"connector_id": 1, "connector_type": "type1", "power": 7.4}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(connector_ids(&replaced), ["1", "3"]);
    assert_eq!(id_of(&replaced, "1"), id_of(&point, "1"));
    assert_eq!(replaced["connectors"][0]["connector_type"], "type1");
    assert_eq!(replaced["connectors"][0]["power"], json!(7.4));
    // The removed connector is kept, hidden.
    let removed = id_of(&point, "2").as_i64().unwrap();
    let hidden: bool = evcms::on_read!(&app.db, pool => sqlx::query_scalar("SELECT deleted FROM connectors WHERE id = $1").bind(removed).fetch_one(pool).await).unwrap();
    assert!(hidden);
    assert_eq!(app.get(&path).await.1, replaced);
    // Re-adding connector 2 revives the same row.
    let (status, readded) = app
        .put(
            &path,
            &json!({"connectors": [
                {"connector_id": "1", "connector_type": "type1", "power": 7.4},
                {"connector_id": "2", "connector_type": "ccs2", "power": 20}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{readded}");
    assert_eq!(connector_ids(&readded), ["1", "2"]);
    assert_eq!(id_of(&readded, "2").as_i64().unwrap(), removed);
    assert_eq!(readded["connectors"][1]["connector_type"], "ccs2");
    // Problems on update name the nested path too.
    let (status, body) = app
        .put(
            &path,
            &json!({"connectors": [{"connector_id": "1", "connector_type": "type1", "power": 7},
                {"connector_id": "2", "connector_type": "ccs2", "power": 50}]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_fields(&body), ["connectors[1].power"]);
    assert_eq!(
        app.put("/api/cms/points/999999", &json!({"phase": "Phase R"}))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

async fn removing_a_connector_with_an_active_session_is_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.station(json!({"station_id": "STN-AS"})).await;
    let point = app
        .point(
            "STN-AS",
            json!({"connectors": [
                {"connector_id": "1", "connector_type": "type2", "power": 7},
                {"connector_id": "2", "connector_type": "type2", "power": 7}]}),
        )
        .await;
    let busy = point["connectors"][1]["id"].as_i64().unwrap();
    start_session(&app, point["id"].as_i64().unwrap(), busy).await;
    let path = format!("/api/cms/points/{}", point["id"]);
    let (status, body) = app
        .put(
            &path,
            &json!({"connectors": [{"connector_id": "1", "connector_type": "type2", "power": 7}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(app.get(&path).await.1["connectors"], point["connectors"]);
    // Removing the idle one is fine.
    let (status, body) = app
        .put(
            &path,
            &json!({"connectors": [{"connector_id": "2", "connector_type": "type2", "power": 7}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(connector_ids(&body), ["2"]);
}

async fn delete_hides_the_point_and_is_refused_while_charging(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.station(json!({"station_id": "STN-DEL"})).await;
    let gone = app
        .point("STN-DEL", json!({"charging_point_name": "Gone"}))
        .await;
    let stays = app
        .point("STN-DEL", json!({"charging_point_name": "Stays"}))
        .await;
    let path = format!("/api/cms/points/{}", gone["id"]);
    assert_eq!(app.delete(&path).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&path).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        app.put(&path, &json!({"phase": "Phase R"})).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.delete(&path).await.0, StatusCode::NOT_FOUND);
    let (_, list) = app.get("/api/cms/points").await;
    assert_eq!(names(&list), ["Stays"]);
    let live: i64 = evcms::on_read!(&app.db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM connectors WHERE charging_point_id = $1 AND deleted = FALSE").bind(gone["id"].as_i64().unwrap()).fetch_one(pool).await).unwrap();
    assert_eq!(live, 0);
    // A point with an active session stays.
    start_session(
        &app,
        stays["id"].as_i64().unwrap(),
        stays["connectors"][0]["id"].as_i64().unwrap(),
    )
    .await;
    let (status, body) = app
        .delete(&format!("/api/cms/points/{}", stays["id"]))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(
        app.get(&format!("/api/cms/points/{}", stays["id"])).await.0,
        StatusCode::OK
    );
}

async fn lists_points_with_filters_sorting_and_pagination(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.station(json!({"station_id": "STN-A"})).await;
    app.station(json!({"station_id": "STN-B"})).await;
    let tariff = app.tariff(json!({})).await;
    for i in 0..25 {
        let station = if i % 5 == 0 { "STN-B" } else { "STN-A" };
        let oem = ["Massive Mobility", "EVRE", "Okaya"][i % 3];
        let connectors: Vec<Value> = (1..=(i % 3 + 1))
            .map(|n| json!({"connector_id": n, "connector_type": "type2", "power": 1}))
            .collect();
        app.point(
            station,
            json!({"charging_point_name": format!("Bay {i:02}"), "charger_type": if i % 2 == 0 { "AC" } else { "DC" },
                "phase": if i == 7 { "Phase Y" } else { "Phase R" }, "oem_list": oem, "max_power": 100 - i,
                "device_id": format!("DEV-{i:02}"), "tariff_id": if i < 4 { tariff["id"].clone() } else { Value::Null },
                "connectors": connectors}),
        )
        .await;
    }
    let (status, page) = app.get("/api/cms/points").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        page["pagination"],
        json!({"page": 1, "limit": 20, "total": 25, "pages": 2})
    );
    assert_eq!(page["data"][0]["charging_point_name"], "Bay 24");
    // Every listed point carries its own connectors.
    for p in page["data"].as_array().unwrap() {
        let i: usize = p["charging_point_name"].as_str().unwrap()[4..]
            .parse()
            .unwrap();
        assert_eq!(p["connectors"].as_array().unwrap().len(), i % 3 + 1, "{p}");
    }
    let (_, last) = app.get("/api/cms/points?page=2").await;
    assert_eq!(last["data"].as_array().unwrap().len(), 5);
    let (_, beyond) = app.get("/api/cms/points?page=3").await;
    assert_eq!(beyond["data"], json!([]));
    let (_, capped) = app.get("/api/cms/points?limit=101").await;
    assert_eq!(capped["pagination"]["limit"], 100);
    let (_, b) = app
        .get("/api/cms/points?station_id=STN-B&sort=charging_point_name")
        .await;
    assert_eq!(
        names(&b),
        ["Bay 00", "Bay 05", "Bay 10", "Bay 15", "Bay 20"]
    );
    let (_, b_ac) = app
        .get("/api/cms/points?station_id=STN-B&charger_type=AC&sort=-charging_point_name")
        .await;
    assert_eq!(names(&b_ac), ["Bay 20", "Bay 10", "Bay 00"]);
    let (_, y) = app.get("/api/cms/points?phase=Phase%20Y").await;
    assert_eq!(names(&y), ["Bay 07"]);
    let (_, okaya) = app.get("/api/cms/points?oem_list=Okaya").await;
    assert_eq!(okaya["pagination"]["total"], 8);
    let (_, priced) = app
        .get(&format!(
            "/api/cms/points?tariff_id={}&sort=max_power",
            tariff["id"]
        ))
        .await;
    assert_eq!(names(&priced), ["Bay 03", "Bay 02", "Bay 01", "Bay 00"]);
    let (_, strongest) = app.get("/api/cms/points?sort=-max_power&limit=2").await;
    assert_eq!(names(&strongest), ["Bay 00", "Bay 01"]);
    let (_, by_device) = app.get("/api/cms/points?search=dev-1").await;
    assert_eq!(by_device["pagination"]["total"], 10);
    let (_, by_name) = app.get("/api/cms/points?search=bay%2024").await;
    assert_eq!(names(&by_name), ["Bay 24"]);
    let (_, today) = app
        .get(&format!(
            "/api/cms/points?created_from={}",
            chrono::Utc::now().date_naive()
        ))
        .await;
    assert_eq!(today["pagination"]["total"], 25);
    let (_, none) = app.get("/api/cms/points?created_to=2000-01-01").await;
    assert_eq!(none["pagination"]["total"], 0);
    assert_eq!(none["data"], json!([]));
    let (status, body) = app
        .get("/api/cms/points?page=x&limit=0&sort=power&charger_type=XC&phase=R&oem_list=Acme&tariff_id=abc&created_to=later")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        problem_fields(&body),
        [
            "charger_type",
            "phase",
            "oem_list",
            "tariff_id",
            "created_to",
            "page",
            "limit",
            "sort"
        ]
    );
}

async fn non_numeric_ids_and_unknown_fields(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for path in [
        "/api/cms/points/abc",
        "/api/cms/points/-1",
        "/api/cms/points/0",
    ] {
        assert_eq!(app.get(path).await.0, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(app.delete(path).await.0, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            app.put(path, &json!({"phase": "Phase R"})).await.0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    app.station(json!({"station_id": "STN-X"})).await;
    let (status, body) = app
        .post(
            "/api/cms/points",
            &json!({"charging_point_name": "Bay", "station_id": "STN-X", "charger_type": "AC",
            "phase": "Phase R", "oem_list": "EVRE", "colour": "red",
            "connectors": [{"connector_id": "1", "connector_type": "type2", "power": 7}]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_fields(&body), ["colour"]);
    let point = app.point("STN-X", json!({})).await;
    let (status, body) = app
        .put(
            &format!("/api/cms/points/{}", point["id"]),
            &json!({"id": 5}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_fields(&body), ["id"]);
}
