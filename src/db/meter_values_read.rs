//! Reading the meter values of a charging session (the OCPP endpoint writes them, in
//! `db::meter_values` in batches).

use super::Db;
use super::filter::{self, PageOf, PageRequest, Sort, Where};
use crate::domain::meter_reading::MeterReading;

/// The columns of [`MeterReading`].
macro_rules! columns {
    () => {
        "id, charge_point_id, connector_number, sampled_at, received_at, measurand, phase, context, location, unit, value"
    };
}

/// The meter values of session record `session`, in the order they were sampled (ties by id),
/// optionally of one measurand only.
pub async fn list_of_session(
    db: &Db,
    session: i64,
    measurand: Option<&str>,
    page: PageRequest,
) -> Result<PageOf<MeterReading>, sqlx::Error> {
    let mut w = Where::new(&[]);
    w.compare("session_id", "=", session)
        .eq_opt("measurand", measurand);
    let sort = Sort::new("sampled_at", false, "id");
    filter::list(db, columns!(), "meter_values", &w, &sort, page).await
}
