//! The charging domain: how a session opens, runs, is settled and billed, and how an operator
//! corrects it. Every door (OCPP 1.6 today, the REST API, later OCPP 2.0.1) calls these functions
//! with plain inputs; none of them knows a wire type.
//!
//! - [`tag`]: whether an idTag may charge ([`tag::TagVerdict`]).
//! - [`pricing`]: the one billing rule (pure).
//! - [`open`]: a transaction starts: repeated Starts, zombies on the connector, the tag's verdict,
//!   the tariff snapshot, the transaction id.
//! - [`starts`]: many StartTransactions opened together, set-based (a whole network starting).
//! - [`running`]: a running session as metering needs it, and its live energy and cost.
//! - [`settle`]: how a session is settled: energy, amount, the debit through the wallet ledger,
//!   anomalies, and the difference billed when the charger's Stop follows a provisional close.
//! - [`stop`]: the charger's StopTransaction, matched to its session.
//! - [`stops`]: many StopTransactions settled together, set-based (a stop storm).
//! - [`sweep`]: sessions whose Stop never came are closed provisionally; silent ones are flagged.
//! - [`operator`]: an operator settles a stuck session or corrects a bill.

pub mod guard;
pub mod open;
pub mod operator;
pub mod pricing;
pub mod running;
pub mod settle;
pub mod starts;
pub mod stop;
pub mod stops;
pub mod sweep;
pub mod tag;

use std::time::Duration;

use crate::Config;
use crate::fixed::Money;

/// The rules' settings, from the configuration.
#[derive(Debug, Clone)]
pub struct Rules {
    /// The wallet balance a customer needs to start charging.
    pub min_balance: Money,
    /// How long a session may stay open after its connector reported Available (or its charger
    /// rebooted) before it is closed provisionally; None: never.
    pub close_grace: Option<Duration>,
    /// How long a running session may go without a meter value before it is flagged; None: never.
    pub meter_silence: Option<Duration>,
    /// The balance guard's margin; None: the guard is off.
    pub guard_margin: Option<Money>,
}

impl Rules {
    pub fn from_config(config: &Config) -> Self {
        let seconds = |s: u64| (s > 0).then(|| Duration::from_secs(s));
        Self {
            min_balance: config.ocpp_min_balance,
            close_grace: seconds(config.session_close_grace),
            meter_silence: seconds(config.session_meter_silence),
            guard_margin: config.balance_guard.then_some(config.balance_guard_margin),
        }
    }
}

/// Why a charging operation could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum ChargingError {
    /// The charger is not adopted by any live charging point: it cannot charge anyone.
    #[error("no charging point has adopted this charger")]
    NotAdopted,
    /// OCPP 1.6 transaction ids are 32-bit and every one has been given out.
    #[error("transaction ids are exhausted (2^31 - 1)")]
    TransactionIdsExhausted,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A note for a session's `anomaly` column (VARCHAR(255)): cut to fit, on a character boundary.
pub fn fit_note(mut note: String) -> String {
    if note.len() > 255 {
        let mut end = 252;
        while !note.is_char_boundary(end) {
            end -= 1;
        }
        note.truncate(end);
        note.push_str("...");
    }
    note
}
