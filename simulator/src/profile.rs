//! Charger models the simulator can pretend to be. They are plain data: what a charger of that
//! OEM would put in its BootNotification, plus what the simulation needs (connectors, power).
//! OCPP length limits: vendor and model ≤ 20, serial numbers and meter type ≤ 25, firmware ≤ 50.

#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub vendor: String,
    pub model: String,
    pub serial_number: String,
    pub firmware_version: String,
    pub meter_type: String,
    /// Number of connectors (ids 1..=connectors; 0 is the charger as a whole).
    pub connectors: u32,
    /// Maximum power in kW, used only to pace simulated energy.
    pub power_kw: u32,
}

/// The names accepted by [`Profile::by_name`] (and the CLI's `--profile`).
pub const PROFILE_NAMES: [&str; 3] = ["massive-mobility", "evre", "okaya"];

impl Profile {
    fn new(
        vendor: &str,
        model: &str,
        serial: &str,
        firmware: &str,
        meter: &str,
        connectors: u32,
        power_kw: u32,
    ) -> Self {
        Profile {
            vendor: vendor.into(),
            model: model.into(),
            serial_number: serial.into(),
            firmware_version: firmware.into(),
            meter_type: meter.into(),
            connectors,
            power_kw,
        }
    }

    /// Massive Mobility: a two-connector 60 kW DC fast charger.
    pub fn massive_mobility() -> Self {
        Self::new(
            "Massive Mobility",
            "MM-DC60-2C",
            "MMDC60-2024-000117",
            "MM-FW 3.4.1 (build 2211)",
            "DC Energy Meter DCM-250",
            2,
            60,
        )
    }

    /// EVRE: a single-connector 7 kW AC wallbox.
    pub fn evre() -> Self {
        Self::new(
            "EVRE",
            "EVRE-AC7-W",
            "EVRE-AC7-23-004521",
            "evre-os 1.9.0",
            "AC Meter SDM120",
            1,
            7,
        )
    }

    /// Okaya: a three-connector 22 kW AC charger.
    pub fn okaya() -> Self {
        Self::new(
            "Okaya",
            "OKAYA-AC22-3",
            "OKY22-3-2025-000042",
            "OKAYA 2.0.7",
            "AC Meter SDM630",
            3,
            22,
        )
    }

    /// Looks a profile up by its CLI name ("massive-mobility", "evre", "okaya"), ignoring case
    /// and accepting the OEM's own spelling ("Massive Mobility").
    pub fn by_name(name: &str) -> Option<Self> {
        let key: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        match key.as_str() {
            "massivemobility" | "mm" => Some(Self::massive_mobility()),
            "evre" => Some(Self::evre()),
            "okaya" => Some(Self::okaya()),
            _ => None,
        }
    }
}
