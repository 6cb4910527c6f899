//! The domain's vocabulary and value types, shared by the REST API and (later) OCPP.

pub mod customer;
pub mod enums;
pub mod organization;
pub mod point;
pub mod session;
pub mod station;
pub mod tariff;
pub mod user;
