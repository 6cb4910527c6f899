//! The domain's vocabulary and value types, shared by the REST API and (later) OCPP.

pub mod charger;
pub mod command;
pub mod contact;
pub mod customer;
pub mod enums;
pub mod id_tag;
pub mod meter_reading;
pub mod ocpp_enums;
pub mod organization;
pub mod point;
pub mod refusal;
pub mod session;
pub mod station;
pub mod station_image;
pub mod tariff;
pub mod user;
