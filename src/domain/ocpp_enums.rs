//! The OCPP 1.6 enums operators choose from in command payloads, named in the API description
//! (`components.schemas`) so the admin UI and scripts read the choices from one place. A test
//! holds each list to the rust-ocpp type that validates the payloads, so neither can drift.

use serde::Serialize;
use utoipa::ToSchema;

/// Reset's `type`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub enum ResetType {
    Soft,
    Hard,
}

/// ChangeAvailability's `type`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub enum AvailabilityType {
    Operative,
    Inoperative,
}

/// TriggerMessage's `requestedMessage`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub enum MessageTrigger {
    BootNotification,
    DiagnosticsStatusNotification,
    FirmwareStatusNotification,
    Heartbeat,
    MeterValues,
    StatusNotification,
}

/// SendLocalList's `updateType`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub enum UpdateType {
    Differential,
    Full,
}

/// A charging profile's `chargingProfilePurpose`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub enum ChargingProfilePurposeType {
    ChargePointMaxProfile,
    TxDefaultProfile,
    TxProfile,
}

#[cfg(test)]
mod tests {
    use rust_ocpp::v1_6::types;
    use serde::de::DeserializeOwned;
    use utoipa::PartialSchema;

    use super::*;

    /// Every value the API names is one rust-ocpp accepts, and the API names as many as it has.
    fn same<Ours: PartialSchema, Theirs: DeserializeOwned>(count: usize) {
        let schema = serde_json::to_value(Ours::schema()).unwrap();
        let values: Vec<String> = serde_json::from_value(schema["enum"].clone()).unwrap();
        assert_eq!(values.len(), count, "{values:?}");
        for value in values {
            serde_json::from_value::<Theirs>(serde_json::Value::String(value.clone()))
                .unwrap_or_else(|_| panic!("{value} is not a value of rust-ocpp's type"));
        }
    }

    #[test]
    fn the_api_names_the_values_rust_ocpp_accepts() {
        same::<ResetType, types::ResetRequestStatus>(2);
        same::<AvailabilityType, types::AvailabilityType>(2);
        same::<MessageTrigger, types::MessageTrigger>(6);
        same::<UpdateType, types::UpdateType>(2);
        same::<ChargingProfilePurposeType, types::ChargingProfilePurposeType>(3);
    }
}
