//! MeterValues (and a Stop's transactionData): samples stored through the batch writer, and the
//! running session's live energy and cost (computed by `charging::running`) moved forward.
//!
//! Energy is stored in Wh and power in W whatever unit the charger used (kWh, kW, ...); other
//! measurands keep their unit. Samples are read one by one: one that does not fit the 1.6 schema
//! (an unknown unit, say), is not a number, is signed data or is out of range is skipped and
//! logged; the message is still acknowledged, so the charger does not retry it forever.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rust_ocpp::v1_6::messages::meter_values::MeterValuesResponse;
use rust_ocpp::v1_6::types::{Measurand, SampledValue, UnitOfMeasure, ValueFormat};
use serde::Deserialize;

use super::frame::CallError;
use super::link::{Link, internal};
use super::wire_name;
use crate::charging::guard;
use crate::db;
use crate::db::meter_values::SampleRow;
use crate::db::stored_time;
use crate::events::Fact;
use crate::events::facts::SessionUpdated;
use crate::fixed::Fixed;

/// A MeterValues request whose samples are read one at a time (rust-ocpp's `MeterValuesRequest`
/// would refuse the whole message for one odd sample).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeterValuesPayload {
    pub connector_id: u32,
    #[serde(default)]
    pub transaction_id: Option<i32>,
    pub meter_value: Vec<LooseMeterValue>,
}

/// One `meterValue` element, its samples still unread.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LooseMeterValue {
    pub timestamp: DateTime<Utc>,
    pub sampled_value: Vec<serde_json::Value>,
}

/// The largest sample value stored (`value NUMERIC(18,3)`).
fn max_sample() -> Decimal {
    Decimal::new(999_999_999_999_999, 0)
}

pub async fn meter_values(
    link: &mut Link,
    request: MeterValuesPayload,
) -> Result<MeterValuesResponse, CallError> {
    let live = match request.transaction_id {
        Some(id) => link.transaction(id).await.map_err(internal)?,
        None => None,
    };
    if request.transaction_id.is_some() && live.is_none() {
        tracing::warn!(charger = %link.charge_point_id, transaction_id = request.transaction_id,
            "MeterValues for a transaction this charger does not have; stored against the charger only");
    }
    let samples = Samples::read(
        link,
        request.connector_id,
        &request.meter_value,
        live.as_ref().map(|t| t.session_id),
    );
    let reading = live
        .as_ref()
        .zip(samples.latest_register)
        .and_then(|(session, (sampled_at, register_wh))| session.reading(register_wh, sampled_at));
    let cost = reading.as_ref().and_then(|r| r.running_cost);
    let update = reading
        .as_ref()
        .map(|r| (r.energy_wh, r.running_cost, r.sampled_at));
    // Answered once the batch holding the samples has committed (a CALLERROR if it could not).
    link.hub
        .samples
        .samples(&link.charge_point_id, samples.rows, reading)
        .await?;
    if let (Some(session), Some((energy_wh, running_cost, at))) = (&live, update)
        && link.update_due(session.session_id)
    {
        let charge_point_id = link.charge_point_id.clone();
        let power_w = samples.latest_power_w;
        link.tell(|| {
            Fact::SessionUpdated(SessionUpdated {
                session_id: session.public_id.to_string(),
                id: session.session_id,
                charge_point_id: charge_point_id.to_string(),
                energy_wh,
                power_w,
                running_cost,
                at,
            })
        })
        .await;
    }
    if let (Some(session), Some(cost), Some(transaction_id)) = (live, cost, request.transaction_id)
    {
        let reading = guard::Reading {
            charge_point_id: &link.charge_point_id,
            transaction_id,
            session: &session,
            cost,
        };
        link.guard.reading(&link.hub.commands, reading);
    }
    Ok(MeterValuesResponse {})
}

/// Stores the meter values of a StopTransaction that settles no session of ours, against the
/// charger only; returns once they are committed.
pub async fn store_transaction_data(
    link: &Link,
    connector: u32,
    values: &[LooseMeterValue],
) -> Result<(), CallError> {
    if values.is_empty() {
        return Ok(());
    }
    let rows = transaction_data_rows(link, connector, values);
    link.hub
        .samples
        .samples(&link.charge_point_id, rows, None)
        .await?;
    Ok(())
}

/// The rows of a StopTransaction's meter values, not yet tied to a session: the charging domain
/// stores them with the session it settles, in the same database transaction, so the Stop is
/// acknowledged only when both are committed.
pub fn transaction_data_rows(
    link: &Link,
    connector: u32,
    values: &[LooseMeterValue],
) -> Vec<SampleRow> {
    Samples::read(link, connector, values, None).rows
}

/// The rows read from one message, its latest energy register reading and its latest active
/// import power (W), both of the whole meter (no phase).
struct Samples {
    rows: Vec<SampleRow>,
    latest_register: Option<(DateTime<Utc>, i64)>,
    latest_power_w: Option<i64>,
}

impl Samples {
    fn read(
        link: &Link,
        connector: u32,
        values: &[LooseMeterValue],
        session_id: Option<i64>,
    ) -> Self {
        let received_at = db::now();
        let mut samples = Samples {
            rows: Vec::with_capacity(values.iter().map(|v| v.sampled_value.len()).sum()),
            latest_register: None,
            latest_power_w: None,
        };
        let mut power_at = None;
        for value in values {
            let sampled_at = stored_time(value.timestamp);
            for raw in &value.sampled_value {
                let sampled = match SampledValue::deserialize(raw) {
                    Ok(sampled) => sampled,
                    Err(e) => {
                        tracing::info!(charger = %link.charge_point_id, sample = %raw, error = %e,
                            "skipped a sampled value that does not fit the OCPP 1.6 schema");
                        continue;
                    }
                };
                let Some((measurand, unit, amount)) = normalized(&sampled) else {
                    tracing::info!(charger = %link.charge_point_id, value = %sampled.value,
                        "skipped a sampled value that is not a plain number");
                    continue;
                };
                let amount3 = match Fixed::<3>::round(amount) {
                    Ok(fixed) if amount.abs() <= max_sample() => fixed,
                    _ => {
                        tracing::info!(charger = %link.charge_point_id, value = %sampled.value,
                            "skipped an out-of-range sampled value");
                        continue;
                    }
                };
                if measurand == Measurand::EnergyActiveImportRegister && sampled.phase.is_none() {
                    let wh = amount.round().try_into().unwrap_or(i64::MAX);
                    if samples
                        .latest_register
                        .is_none_or(|(at, _)| sampled_at >= at)
                    {
                        samples.latest_register = Some((sampled_at, wh));
                    }
                }
                if measurand == Measurand::PowerActiveImport
                    && sampled.phase.is_none()
                    && power_at.is_none_or(|at| sampled_at >= at)
                {
                    power_at = Some(sampled_at);
                    samples.latest_power_w = amount.round().try_into().ok();
                }
                samples.rows.push(SampleRow {
                    charge_point_id: link.charge_point_id.clone(),
                    connector_number: i32::try_from(connector).unwrap_or(i32::MAX),
                    session_id,
                    sampled_at,
                    received_at,
                    measurand: wire_name(&measurand),
                    phase: sampled.phase.as_ref().map(wire_name),
                    context: sampled.context.as_ref().map(wire_name),
                    location: sampled.location.as_ref().map(wire_name),
                    unit: unit.map(str::to_owned),
                    value: amount3,
                });
            }
        }
        samples
    }
}

/// The measurand (Energy.Active.Import.Register when absent, as the spec says), the stored unit
/// and the value converted into it; None for signed or non-numeric values.
fn normalized(sampled: &SampledValue) -> Option<(Measurand, Option<&'static str>, Decimal)> {
    if sampled.format == Some(ValueFormat::SignedData) {
        return None;
    }
    let value = Decimal::from_str(sampled.value.trim()).ok()?;
    let measurand = sampled
        .measurand
        .clone()
        .unwrap_or(Measurand::EnergyActiveImportRegister);
    let thousand = Decimal::ONE_THOUSAND;
    let (unit, value) = match &sampled.unit {
        // The spec's default unit is Wh; for energy measurands that is what an absent unit means.
        None if is_energy(&measurand) => (Some("Wh"), value),
        None => (None, value),
        Some(UnitOfMeasure::Wh) => (Some("Wh"), value),
        Some(UnitOfMeasure::KWh) => (Some("Wh"), value.checked_mul(thousand)?),
        Some(UnitOfMeasure::Varh) => (Some("varh"), value),
        Some(UnitOfMeasure::Kvarh) => (Some("varh"), value.checked_mul(thousand)?),
        Some(UnitOfMeasure::W) => (Some("W"), value),
        Some(UnitOfMeasure::Kw) => (Some("W"), value.checked_mul(thousand)?),
        Some(UnitOfMeasure::Var) => (Some("var"), value),
        Some(UnitOfMeasure::Kvar) => (Some("var"), value.checked_mul(thousand)?),
        Some(UnitOfMeasure::Va) => (Some("VA"), value),
        Some(UnitOfMeasure::Kva) => (Some("VA"), value.checked_mul(thousand)?),
        Some(UnitOfMeasure::A) => (Some("A"), value),
        Some(UnitOfMeasure::V) => (Some("V"), value),
        Some(UnitOfMeasure::Celsius) => (Some("Celsius"), value),
        Some(UnitOfMeasure::Fahrenheit) => (Some("Fahrenheit"), value),
        Some(UnitOfMeasure::K) => (Some("K"), value),
        Some(UnitOfMeasure::Percent) => (Some("Percent"), value),
    };
    Some((measurand, unit, value))
}

fn is_energy(measurand: &Measurand) -> bool {
    wire_name(measurand).starts_with("Energy.")
}
