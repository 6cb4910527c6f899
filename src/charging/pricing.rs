//! The pricing rule: what a session's energy costs under its tariff snapshot.
//!
//! amount = round(energy_kWh × base_charges × (1 + tax / 100)), computed exactly in decimal and
//! rounded once, at the end, to the currency's minor unit (paisa, cent), half away from zero.
//! Rounding once means a session is never a paisa off from the price an operator computes by hand
//! from the same tariff; rounding the net price and the tax separately can be.

use rust_decimal::Decimal;

use crate::fixed::{FixedError, Money, Percent};

/// A tariff as snapshotted into a session when it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Price per kWh before tax.
    pub base_charges: Money,
    /// Tax in percent, added on top.
    pub tax: Percent,
}

/// The energy a session delivered, from the charger's meter register readings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Energy {
    pub wh: i64,
    /// The register went backwards (a meter reset or replacement): nothing is billed for the
    /// reading and an operator should look at the session.
    pub register_went_backwards: bool,
}

/// Energy between two register readings in Wh; never negative.
pub fn energy(meter_start_wh: i64, meter_stop_wh: i64) -> Energy {
    let delta = meter_stop_wh - meter_start_wh;
    Energy {
        wh: delta.max(0),
        register_went_backwards: delta < 0,
    }
}

/// The amount to bill for `energy_wh` at `rate` (see the module rule).
pub fn price(energy_wh: i64, rate: Rate) -> Result<Money, FixedError> {
    let kwh = Decimal::new(energy_wh.max(0), 3);
    let net = kwh
        .checked_mul(rate.base_charges.decimal())
        .ok_or(FixedError::TooLarge)?;
    let with_tax = net
        .checked_mul(Decimal::ONE + rate.tax.decimal() / Decimal::ONE_HUNDRED)
        .ok_or(FixedError::TooLarge)?;
    Money::round(with_tax)
}

/// [`price`], refused when the amount exceeds what a session's bill and the wallet hold
/// (99,999,999.99): a reading that absurd is a meter fault to flag, not a bill to send.
pub fn billable(energy_wh: i64, rate: Rate) -> Result<Money, FixedError> {
    let amount = price(energy_wh, rate)?;
    if amount.to_minor() > crate::domain::customer::wallet_ceiling().to_minor() {
        return Err(FixedError::TooLarge);
    }
    Ok(amount)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(base: &str, tax: &str) -> Rate {
        Rate {
            base_charges: base.parse().unwrap(),
            tax: tax.parse().unwrap(),
        }
    }

    fn priced(wh: i64, base: &str, tax: &str) -> String {
        price(wh, rate(base, tax)).unwrap().to_string()
    }

    #[test]
    fn twelve_kwh_at_eighteen_fifty_plus_eighteen_percent() {
        // 12 kWh × 18.50 = 222.00; + 18 % = 261.96.
        assert_eq!(priced(12_000, "18.50", "18.00"), "261.96");
    }

    #[test]
    fn rounds_once_half_away_from_zero() {
        // 1 Wh × 18.50 = 0.0185; × 1.18 = 0.02183 → 0.02.
        assert_eq!(priced(1, "18.50", "18.00"), "0.02");
        // 0.333 kWh × 15.00 = 4.995 exactly → 5.00 (half away from zero).
        assert_eq!(priced(333, "15.00", "0.00"), "5.00");
        // 10.001 kWh × 9.99 × 1.05 = 104.9054895 → 104.91.
        assert_eq!(priced(10_001, "9.99", "5.00"), "104.91");
        // 1 Wh × 15.00 = 0.015; × 1.50 = 0.0225 → 0.02. Rounding the net (0.02) and the tax
        // (0.0075 → 0.01) apart would bill 0.03.
        assert_eq!(priced(1, "15.00", "50.00"), "0.02");
        // 0.1 kWh × 0.05 = 0.005 → 0.01, a half paisa rounded up.
        assert_eq!(priced(100, "0.05", "0.00"), "0.01");
    }

    #[test]
    fn zero_energy_and_free_tariffs_cost_nothing() {
        assert_eq!(priced(0, "18.50", "18.00"), "0.00");
        assert_eq!(priced(50_000, "0.00", "18.00"), "0.00");
    }

    #[test]
    fn a_register_that_went_backwards_is_flagged_and_bills_nothing() {
        let e = energy(5_000, 1_200);
        assert_eq!(
            e,
            Energy {
                wh: 0,
                register_went_backwards: true
            }
        );
        assert_eq!(priced(e.wh, "18.50", "18.00"), "0.00");
        assert_eq!(
            energy(1_000_000, 1_012_345),
            Energy {
                wh: 12_345,
                register_went_backwards: false
            }
        );
    }

    #[test]
    fn the_largest_meter_reading_prices_but_is_not_billable() {
        // i32::MAX Wh (the largest meterStop) at the largest tariff fits a Money...
        let r = rate("99999999.99", "100.00");
        assert!(price(i32::MAX as i64, r).unwrap().to_minor() > 0);
        // ...but not a bill: that is refused (and the session flagged), never stored.
        assert_eq!(billable(i32::MAX as i64, r), Err(FixedError::TooLarge));
        assert_eq!(
            billable(12_000, rate("18.50", "18.00"))
                .unwrap()
                .to_string(),
            "261.96"
        );
    }
}
