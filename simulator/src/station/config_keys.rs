//! The configuration keys a station holds (the OCPP 1.6 Core, Local Auth List, Reservation and
//! Smart Charging keys, plus a vendor key or two per OEM) and the GetConfiguration /
//! ChangeConfiguration rules a real charger applies to them.

use std::time::Duration;

use super::snapshot::ConfigKey;
use crate::profile::Profile;

/// What a value must look like; a value that does not fit is Rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Integer,
    Boolean,
    Text,
}

#[derive(Debug, Clone)]
struct Entry {
    key: &'static str,
    value: Option<String>,
    kind: Kind,
    readonly: bool,
    /// Set by the server, never read back (a secret).
    write_only: bool,
    /// A change is stored but only takes effect after a reboot.
    needs_reboot: bool,
}

impl Entry {
    fn view(&self) -> ConfigKey {
        ConfigKey {
            key: self.key.to_string(),
            value: self.value.clone(),
            readonly: self.readonly,
        }
    }
}

/// How a ChangeConfiguration ended, as the OCPP status names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChangeOutcome {
    Accepted,
    Rejected,
    RebootRequired,
    NotSupported,
}

impl ChangeOutcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ChangeOutcome::Accepted => "Accepted",
            ChangeOutcome::Rejected => "Rejected",
            ChangeOutcome::RebootRequired => "RebootRequired",
            ChangeOutcome::NotSupported => "NotSupported",
        }
    }
}

pub(crate) const HEARTBEAT_INTERVAL: &str = "HeartbeatInterval";
pub(crate) const METER_VALUE_SAMPLE_INTERVAL: &str = "MeterValueSampleInterval";
pub(crate) const LOCAL_AUTHORIZE_OFFLINE: &str = "LocalAuthorizeOffline";
pub(crate) const LOCAL_PRE_AUTHORIZE: &str = "LocalPreAuthorize";
pub(crate) const LOCAL_AUTH_LIST_ENABLED: &str = "LocalAuthListEnabled";
pub(crate) const LOCAL_AUTH_LIST_MAX_LENGTH: &str = "LocalAuthListMaxLength";
pub(crate) const SEND_LOCAL_LIST_MAX_LENGTH: &str = "SendLocalListMaxLength";
pub(crate) const AUTHORIZE_REMOTE_TX_REQUESTS: &str = "AuthorizeRemoteTxRequests";
pub(crate) const CHARGE_PROFILE_MAX_STACK_LEVEL: &str = "ChargeProfileMaxStackLevel";
pub(crate) const AUTHORIZATION_KEY: &str = "AuthorizationKey";

#[derive(Debug, Clone)]
pub(crate) struct Configuration {
    entries: Vec<Entry>,
    /// A sub-second MeterValueSampleInterval from the station options (tests run fast), until
    /// the server changes the key; OCPP itself counts in whole seconds.
    meter_interval_override: Option<Duration>,
}

impl Configuration {
    /// The keys of a charger of this profile. `meter_interval` is the initial
    /// MeterValueSampleInterval; below a second it is kept in milliseconds internally (see
    /// [`Configuration::meter_interval`]) and reported as 1 s.
    pub(crate) fn for_profile(profile: &Profile, meter_interval: Duration) -> Self {
        let int = |key, value: u64, readonly| Entry {
            key,
            value: Some(value.to_string()),
            kind: Kind::Integer,
            readonly,
            write_only: false,
            needs_reboot: false,
        };
        let flag = |key, value: bool| Entry {
            key,
            value: Some(value.to_string()),
            kind: Kind::Boolean,
            readonly: false,
            write_only: false,
            needs_reboot: false,
        };
        let text = |key, value: &str, readonly| Entry {
            key,
            value: Some(value.to_string()),
            kind: Kind::Text,
            readonly,
            write_only: false,
            needs_reboot: false,
        };
        let meter_seconds = meter_interval.as_secs().max(1);
        let mut entries = vec![
            int(HEARTBEAT_INTERVAL, 60, false),
            int(METER_VALUE_SAMPLE_INTERVAL, meter_seconds, false),
            int("ConnectionTimeOut", 60, false),
            flag(LOCAL_AUTHORIZE_OFFLINE, true),
            flag(LOCAL_PRE_AUTHORIZE, false),
            flag(LOCAL_AUTH_LIST_ENABLED, true),
            int(LOCAL_AUTH_LIST_MAX_LENGTH, 100, true),
            int(SEND_LOCAL_LIST_MAX_LENGTH, 20, true),
            flag(AUTHORIZE_REMOTE_TX_REQUESTS, false),
            int("NumberOfConnectors", u64::from(profile.connectors), true),
            text(
                "SupportedFeatureProfiles",
                "Core,FirmwareManagement,LocalAuthListManagement,Reservation,SmartCharging,RemoteTrigger",
                true,
            ),
            int(CHARGE_PROFILE_MAX_STACK_LEVEL, 8, true),
            text(
                "MeterValuesSampledData",
                "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage,SoC",
                false,
            ),
            Entry {
                kind: Kind::Boolean,
                ..text("ReserveConnectorZeroSupported", "false", true)
            },
            int("ClockAlignedDataInterval", 0, false),
            flag("StopTransactionOnEVSideDisconnect", true),
            // Changing how often the socket is pinged means reopening it: a real charger asks
            // for a reboot.
            Entry {
                needs_reboot: true,
                ..int("WebSocketPingInterval", 30, false)
            },
            Entry {
                value: None,
                write_only: true,
                ..text(AUTHORIZATION_KEY, "", false)
            },
        ];
        entries.extend(vendor_keys(profile));
        Configuration {
            entries,
            meter_interval_override: (meter_interval.subsec_nanos() != 0).then_some(meter_interval),
        }
    }

    /// The live MeterValueSampleInterval; zero means no periodic samples.
    pub(crate) fn meter_interval(&self) -> Duration {
        self.meter_interval_override.unwrap_or_else(|| {
            Duration::from_secs(self.integer(METER_VALUE_SAMPLE_INTERVAL).unwrap_or(0))
        })
    }

    /// The live HeartbeatInterval; zero means no heartbeats.
    pub(crate) fn heartbeat_interval(&self) -> Duration {
        Duration::from_secs(self.integer(HEARTBEAT_INTERVAL).unwrap_or(0))
    }

    /// What the server's BootNotification answer says, as a real charger adopts it.
    pub(crate) fn set_heartbeat_interval(&mut self, seconds: u64) {
        if let Some(entry) = self
            .entries
            .iter_mut()
            .find(|e| e.key == HEARTBEAT_INTERVAL)
        {
            entry.value = Some(seconds.to_string());
        }
    }

    fn find(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }

    pub(crate) fn value(&self, key: &str) -> Option<&str> {
        self.find(key).and_then(|e| e.value.as_deref())
    }

    pub(crate) fn flag(&self, key: &str) -> bool {
        self.value(key)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    pub(crate) fn integer(&self, key: &str) -> Option<u64> {
        self.value(key).and_then(|v| v.parse().ok())
    }

    /// GetConfiguration: the readable keys asked for (all when `keys` is empty), and the names
    /// the station does not know.
    pub(crate) fn get(&self, keys: &[String]) -> (Vec<ConfigKey>, Vec<String>) {
        let shown = Entry::view;
        if keys.is_empty() {
            let known = self.entries.iter().filter(|e| !e.write_only).map(shown);
            return (known.collect(), Vec::new());
        }
        let mut known = Vec::new();
        let mut unknown = Vec::new();
        for key in keys {
            match self.find(key) {
                // A secret exists but is never read back.
                Some(e) if e.write_only => {}
                Some(e) => known.push(shown(e)),
                None => unknown.push(key.clone()),
            }
        }
        (known, unknown)
    }

    pub(crate) fn change(&mut self, key: &str, value: &str) -> ChangeOutcome {
        let Some(entry) = self.entries.iter_mut().find(|e| e.key == key) else {
            return ChangeOutcome::NotSupported;
        };
        if entry.readonly {
            return ChangeOutcome::Rejected;
        }
        let fits = match entry.kind {
            Kind::Integer => value.trim().parse::<u32>().is_ok(),
            Kind::Boolean => {
                value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false")
            }
            Kind::Text => true,
        };
        if !fits {
            return ChangeOutcome::Rejected;
        }
        entry.value = Some(match entry.kind {
            Kind::Integer => value.trim().to_string(),
            Kind::Boolean => value.to_ascii_lowercase(),
            Kind::Text => value.to_string(),
        });
        let needs_reboot = entry.needs_reboot;
        if key == METER_VALUE_SAMPLE_INTERVAL {
            self.meter_interval_override = None;
        }
        if needs_reboot {
            ChangeOutcome::RebootRequired
        } else {
            ChangeOutcome::Accepted
        }
    }

    /// Every key with its value, secrets included (the test's view).
    pub(crate) fn all(&self) -> Vec<ConfigKey> {
        self.entries.iter().map(Entry::view).collect()
    }
}

fn vendor_keys(profile: &Profile) -> Vec<Entry> {
    let vendor = |key, value: &str, kind| Entry {
        key,
        value: Some(value.to_string()),
        kind,
        readonly: false,
        write_only: false,
        needs_reboot: false,
    };
    match profile.vendor.as_str() {
        "Massive Mobility" => vec![
            vendor("MM_DcMaxCurrentA", "150", Kind::Integer),
            vendor("MM_CableCoolingEnabled", "true", Kind::Boolean),
        ],
        "EVRE" => vec![vendor("EVRE_LedBrightness", "80", Kind::Integer)],
        "Okaya" => vec![
            vendor("OKAYA_LoadBalancingMode", "Static", Kind::Text),
            vendor("OKAYA_PhaseRotation", "RST", Kind::Text),
        ],
        _ => Vec::new(),
    }
}
