//! Command-line arguments and the small value parsers they need (durations, energy, rates).

use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use evcms_sim::{ChargerConfig, PROFILE_NAMES, Profile};

#[derive(Debug, Parser)]
#[command(
    name = "evcms-sim",
    version,
    about = "OCPP 1.6-J charger simulator for evcms"
)]
pub struct Cli {
    /// Base URL of the CSMS OCPP endpoint; the charger id is appended as `/{id}`.
    #[arg(long, global = true, default_value = "ws://localhost:8080/ocpp")]
    pub url: String,
    /// Charge point id (session and run modes).
    #[arg(long, global = true, default_value = "CP-1")]
    pub id: String,
    /// Charger model: massive-mobility, evre or okaya.
    #[arg(long, global = true, default_value = "massive-mobility", value_parser = parse_profile)]
    pub profile: Profile,
    /// HTTP Basic password (security profile 1; the user is the charger id).
    #[arg(long, global = true)]
    pub password: Option<String>,
    /// Do not validate the server's frames against the OCPP 1.6 schemas.
    #[arg(long, global = true)]
    pub lenient: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// One charging session: boot, status, authorize, start, meter values, stop.
    Session(SessionArgs),
    /// Many chargers at once: boot, status, periodic meter values and heartbeats.
    Load(LoadArgs),
    /// Keep chargers connected and idle, answering every CSMS command (charging when started
    /// remotely) until Ctrl-C.
    Run(RunArgs),
    /// A whole network at once: every charger connects in the same instant, boots and (with
    /// `--setup full`) starts a transaction, then optionally drops and resumes, and stops within
    /// a second. A table per phase at the end.
    Storm(StormArgs),
    /// A bare CSMS stand-in: answers every charger CALL at once with a schema-valid confirmation
    /// and stores nothing. The physical limit of this machine, to compare a CSMS with.
    Respond(RespondArgs),
}

#[derive(Debug, Clone, Args)]
pub struct StormArgs {
    /// Number of chargers, all connecting at the same instant.
    #[arg(long, default_value_t = 1000)]
    pub chargers: u32,
    /// Charger ids are `{prefix}{n:05}`; id tags `{prefix}TAG{n}`.
    #[arg(long, default_value = "LOAD-")]
    pub id_prefix: String,
    /// The first charger's number `n` (several processes share one numbering).
    #[arg(long, default_value_t = 0)]
    pub first: u32,
    /// What each charger does after connecting: `boot` (BootNotification only) or `full`
    /// (BootNotification, StatusNotification for connectors 0 and 1, Authorize, StartTransaction).
    #[arg(long, default_value = "full", value_parser = ["boot", "full"])]
    pub setup: String,
    /// How long the fleet stays up between phases, sending MeterValues (in its transaction).
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    pub hold: Duration,
    /// Time between MeterValues of one charger during holds.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub meter_interval: Duration,
    /// After the first hold, every charger drops its connection at once and reconnects at
    /// once: BootNotification, StatusNotification Charging, MeterValues of its running
    /// transaction (a network outage or a CSMS restart).
    #[arg(long)]
    pub resume: bool,
    /// At the end, every charger sends StopTransaction within `--stop-window` (needs `--setup full`).
    #[arg(long)]
    pub stop: bool,
    /// The window the Stops are spread over.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub stop_window: Duration,
    /// How long a phase waits for its slowest charger before going on without it.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub phase_timeout: Duration,
    /// A WebSocket handshake that takes longer than this fails.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub handshake_timeout: Duration,
    /// Spread connections over this many loopback source addresses (127.0.0.1, .2, ...).
    #[arg(long, default_value_t = 1)]
    pub source_ips: u8,
}

#[derive(Debug, Args)]
pub struct RespondArgs {
    /// Address to listen on; chargers connect to `ws://{bind}/ocpp/{id}`.
    #[arg(long, default_value = "127.0.0.1:9000")]
    pub bind: std::net::SocketAddr,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Number of chargers; ids are `{id}`, `{id}-2`, `{id}-3`, ...
    #[arg(long, default_value_t = 1)]
    pub chargers: u32,
    /// Initial MeterValueSampleInterval while charging (e.g. 10s, 500ms).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub meter_interval: Duration,
    /// Charging power in kW (default: the profile's).
    #[arg(long)]
    pub power_kw: Option<u32>,
}

#[derive(Debug, Args)]
pub struct SessionArgs {
    /// Energy to charge in kWh (up to 3 decimals: 12.345 is 12345 Wh).
    #[arg(long, value_parser = parse_kwh_as_wh)]
    pub kwh: u32,
    /// The id tag presented by the driver.
    #[arg(long, default_value = "CUST-TAG-1")]
    pub id_tag: String,
    /// Connector to charge on.
    #[arg(long, default_value_t = 1)]
    pub connector: u32,
    /// Real time between meter values (e.g. 1s, 500ms).
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub meter_interval: Duration,
    /// Number of meter values sent during the session.
    #[arg(long, default_value_t = 5)]
    pub samples: u32,
    /// Charging power in kW (default: the profile's).
    #[arg(long)]
    pub power_kw: Option<u32>,
    /// Do not wait between meter values.
    #[arg(long)]
    pub speedup: bool,
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Number of chargers. One process can hold about 19,000 (open-files limit 20,000).
    #[arg(long, default_value_t = 1000)]
    pub chargers: u32,
    /// Time between MeterValues of one charger.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub meter_interval: Duration,
    /// Time between Heartbeats of one charger.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub heartbeat_interval: Duration,
    /// How long to run after the ramp-up.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub duration: Duration,
    /// New connections per second, e.g. 500/s.
    #[arg(long, default_value = "500/s", value_parser = parse_rate)]
    pub ramp: u32,
    /// Charger ids are `{prefix}{n:05}`.
    #[arg(long, default_value = "LOAD-")]
    pub id_prefix: String,
    /// The first charger's number `n`: several processes (or several evcms nodes) share one
    /// numbering, e.g. `--first 6000 --chargers 6000` for LOAD-06000 to LOAD-11999.
    #[arg(long, default_value_t = 0)]
    pub first: u32,
    /// Each charger also runs a transaction (id tag `{prefix}TAG{n}`), stopped at the end.
    #[arg(long)]
    pub sessions: bool,
    /// Spread connections over this many loopback source addresses (127.0.0.1, .2, ...), to
    /// get past about 28k ephemeral ports per address pair. Only for a loopback server.
    #[arg(long, default_value_t = 1)]
    pub source_ips: u8,
}

impl Cli {
    pub fn charger_config(&self, id: &str) -> ChargerConfig {
        let mut cfg = ChargerConfig::new(self.url.clone(), id);
        cfg.profile = self.profile.clone();
        cfg.basic_auth_password = self.password.clone();
        cfg.strict = !self.lenient;
        cfg
    }
}

fn parse_profile(s: &str) -> Result<Profile, String> {
    Profile::by_name(s).ok_or_else(|| format!("unknown profile; one of {PROFILE_NAMES:?}"))
}

/// `12`, `12.5`, `12.345` kWh to Wh, exactly (no float rounding).
pub fn parse_kwh_as_wh(s: &str) -> Result<u32, String> {
    let (whole, fraction) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() && fraction.is_empty()
        || fraction.len() > 3
        || !whole
            .chars()
            .chain(fraction.chars())
            .all(|c| c.is_ascii_digit())
    {
        return Err("expected kWh with at most 3 decimals, e.g. 12.345".into());
    }
    let whole: u32 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|e| format!("{e}"))?
    };
    let fraction: u32 = format!("{fraction:0<3}")
        .parse()
        .map_err(|e| format!("{e}"))?;
    whole
        .checked_mul(1000)
        .and_then(|wh| wh.checked_add(fraction))
        .filter(|wh| *wh > 0 && *wh <= i32::MAX as u32 / 2)
        .ok_or_else(|| "energy must be above 0 and fit a meter register".into())
}

/// `500ms`, `10s`, `2m`, `1h`; a bare number is seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: u64 = number.parse().map_err(|_| format!("bad duration {s:?}"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "" | "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "h" => Ok(Duration::from_secs(n * 3600)),
        _ => Err(format!("bad duration unit in {s:?} (ms, s, m, h)")),
    }
}

/// `500/s` or `500`: a positive rate per second.
fn parse_rate(s: &str) -> Result<u32, String> {
    let n = s.strip_suffix("/s").unwrap_or(s);
    n.parse::<u32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("bad rate {s:?}, e.g. 500/s"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kwh_parses_exactly() {
        assert_eq!(parse_kwh_as_wh("12.345"), Ok(12_345));
        assert_eq!(parse_kwh_as_wh("12"), Ok(12_000));
        assert_eq!(parse_kwh_as_wh("0.5"), Ok(500));
        assert_eq!(parse_kwh_as_wh(".25"), Ok(250));
        assert!(parse_kwh_as_wh("1.2345").is_err());
        assert!(parse_kwh_as_wh("0").is_err());
        assert!(parse_kwh_as_wh("-1").is_err());
        assert!(parse_kwh_as_wh("1e3").is_err());
    }

    #[test]
    fn durations_and_rates_parse() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("10x").is_err());
        assert_eq!(parse_rate("500/s"), Ok(500));
        assert!(parse_rate("0/s").is_err());
    }
}
