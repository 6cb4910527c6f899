//! evcms-sim: a scriptable OCPP 1.6-J charger simulator.
//!
//! The library drives one simulated charger per [`Charger`]: typed helpers for the messages a
//! charger sends, raw frame access for protocol tests, automatic answers to server CALLs, and a
//! strict mode that validates everything the server sends against the official OCPP 1.6 JSON
//! schemas ([`validate_ocpp16`]). The `evcms-sim` binary builds single sessions and load tests
//! on top of it.

mod actions;
mod answer;
mod charger;
mod config;
mod error;
mod frame;
mod handshake;
mod incoming;
mod profile;
mod responder;
mod router;
pub mod scenario;
mod schema;
mod schema_files;
pub mod station;

pub use actions::boot_request;
pub use answer::{ServerAnswer, ServerCallEvent};
pub use charger::Charger;
pub use config::{ChargerConfig, percent_encode};
pub use error::SimError;
pub use frame::{ERROR_CODES_16, MAX_ID_LEN};
pub use handshake::ws_config;
pub use incoming::{Incoming, Reply};
pub use profile::{PROFILE_NAMES, Profile};
pub use responder::default_response;
pub use schema::{schema_names, validate_ocpp16};

/// The rust-ocpp 1.6 types the API uses, re-exported so callers need not depend on rust-ocpp.
pub use rust_ocpp::v1_6 as ocpp;
