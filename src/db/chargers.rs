//! Chargers as recorded by the OCPP endpoint, read-only here, with the live charging point that
//! adopted each (the one whose `device_id` is the charger's charge point id).

use super::Db;
use super::filter::{self, PageOf, PageRequest, Sort, Where};
use crate::domain::charger::Charger;
use crate::on_read;

/// The columns of [`Charger`] over [`from!`]'s join.
macro_rules! columns {
    () => {
        concat!(
            "ch.id, ch.charge_point_id, ch.vendor, ch.model, ch.charge_point_serial_number, ch.charge_box_serial_number, ",
            "ch.firmware_version, ch.iccid, ch.imsi, ch.meter_type, ch.meter_serial_number, ch.registration_status, ",
            "ch.status, ch.error_code, ch.status_at, ch.firmware_status, ch.diagnostics_status, ch.connected, ch.connected_at, ch.disconnected_at, ch.node_id, ch.last_seen_at, ",
            "ch.last_boot_at, ch.created_at, ch.updated_at, ",
            "cp.id AS charging_point_id, cp.charging_point_name, cp.station_id"
        )
    };
}

/// Chargers with their adopting live point, if any (live device_ids are unique, so at most one).
macro_rules! from {
    () => {
        "chargers ch LEFT JOIN charging_points cp ON cp.device_id = ch.charge_point_id AND cp.deleted = FALSE"
    };
}

/// Filters of the charger list.
#[derive(Debug, Default)]
pub struct ChargerFilter {
    pub connected: Option<bool>,
    pub registration_status: Option<String>,
    pub adopted: Option<bool>,
    pub search: Option<String>,
    /// Only chargers adopted by a point of this organization's stations.
    pub scope: Option<String>,
}

pub async fn list(
    db: &Db,
    f: &ChargerFilter,
    sort: &Sort,
    page: PageRequest,
) -> Result<PageOf<Charger>, sqlx::Error> {
    let mut fixed = Vec::new();
    match f.connected {
        Some(true) => fixed.push("ch.connected = TRUE"),
        Some(false) => fixed.push("ch.connected = FALSE"),
        None => {}
    }
    match f.adopted {
        Some(true) => fixed.push("cp.id IS NOT NULL"),
        Some(false) => fixed.push("cp.id IS NULL"),
        None => {}
    }
    let mut w = Where::new(&fixed);
    w.eq_opt("ch.registration_status", f.registration_status.as_deref())
        .search_opt(
            &[
                "ch.charge_point_id",
                "ch.vendor",
                "ch.model",
                "ch.charge_point_serial_number",
                "ch.charge_box_serial_number",
            ],
            f.search.as_deref(),
        )
        .charger_in_organization("ch.charge_point_id", f.scope.as_deref());
    filter::list(db, columns!(), from!(), &w, sort, page).await
}

/// The charger with exactly this charge point id.
pub async fn find(db: &Db, charge_point_id: &str) -> Result<Option<Charger>, sqlx::Error> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM ",
        from!(),
        " WHERE ch.charge_point_id = $1"
    );
    on_read!(db, pool => sqlx::query_as(sql).bind(charge_point_id).fetch_optional(pool).await)
}
