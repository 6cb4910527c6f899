//! The vendored OCPP 1.6 schemas and the strictness the simulator adds on top.

use evcms_sim::{Profile, boot_request, schema_names, validate_ocpp16};
use serde_json::json;

#[test]
fn all_56_schemas_are_present_and_compile() {
    let names: Vec<_> = schema_names().collect();
    assert_eq!(names.len(), 56);
    for name in names {
        // Compiling happens on first use; an empty object is valid or invalid, never a panic.
        let _ = validate_ocpp16(name, &json!({}));
    }
}

#[test]
fn valid_boot_notification_response_is_accepted() {
    let payload =
        json!({"status": "Accepted", "currentTime": "2025-01-01T10:00:00Z", "interval": 300});
    assert_eq!(
        validate_ocpp16("BootNotificationResponse", &payload),
        Ok(())
    );
}

#[test]
fn integer_written_as_float_is_rejected() {
    for interval in [json!(300.0), serde_json::from_str("3e2").unwrap()] {
        let payload = json!({"status": "Accepted", "currentTime": "2025-01-01T10:00:00Z", "interval": interval});
        let errors = validate_ocpp16("BootNotificationResponse", &payload).unwrap_err();
        assert!(errors.iter().any(|e| e.contains("/interval")), "{errors:?}");
    }
}

#[test]
fn extra_property_is_rejected() {
    let payload = json!({"status": "Accepted", "currentTime": "2025-01-01T10:00:00Z", "interval": 300, "extra": 1});
    assert!(validate_ocpp16("BootNotificationResponse", &payload).is_err());
}

#[test]
fn null_is_rejected() {
    let payload =
        json!({"status": "Accepted", "currentTime": "2025-01-01T10:00:00Z", "interval": null});
    assert!(validate_ocpp16("BootNotificationResponse", &payload).is_err());
    let payload = json!({"idTagInfo": {"status": "Accepted", "parentIdTag": null}});
    assert!(validate_ocpp16("AuthorizeResponse", &payload).is_err());
}

#[test]
fn date_time_without_offset_is_rejected() {
    let payload = json!({"currentTime": "2025-01-01T10:00:00"});
    assert!(validate_ocpp16("HeartbeatResponse", &payload).is_err());
    let payload = json!({"currentTime": "2025-01-01T10:00:00+02:00"});
    assert_eq!(validate_ocpp16("HeartbeatResponse", &payload), Ok(()));
}

#[test]
fn empty_confirmation_is_an_empty_object() {
    assert_eq!(
        validate_ocpp16("StatusNotificationResponse", &json!({})),
        Ok(())
    );
    assert!(validate_ocpp16("StatusNotificationResponse", &json!([])).is_err());
}

#[test]
fn unknown_schema_name_is_an_error() {
    assert!(validate_ocpp16("NoSuchAction", &json!({})).is_err());
}

fn profiles() -> Vec<Profile> {
    vec![
        Profile::massive_mobility(),
        Profile::evre(),
        Profile::okaya(),
    ]
}

#[test]
fn profiles_respect_ocpp_length_limits() {
    for p in profiles() {
        assert!((1..=20).contains(&p.vendor.len()), "{p:?}");
        assert!((1..=20).contains(&p.model.len()), "{p:?}");
        assert!((1..=25).contains(&p.serial_number.len()), "{p:?}");
        assert!((1..=25).contains(&p.meter_type.len()), "{p:?}");
        assert!((1..=50).contains(&p.firmware_version.len()), "{p:?}");
        assert!(p.connectors >= 1 && p.power_kw >= 1, "{p:?}");
    }
}

#[test]
fn profile_boot_requests_pass_the_boot_notification_schema() {
    for p in profiles() {
        let payload = serde_json::to_value(boot_request(&p)).unwrap();
        assert_eq!(
            validate_ocpp16("BootNotification", &payload),
            Ok(()),
            "{p:?}"
        );
    }
}

#[test]
fn profiles_are_found_by_cli_name_and_oem_name() {
    assert_eq!(
        Profile::by_name("massive-mobility"),
        Some(Profile::massive_mobility())
    );
    assert_eq!(
        Profile::by_name("Massive Mobility"),
        Some(Profile::massive_mobility())
    );
    assert_eq!(Profile::by_name("EVRE"), Some(Profile::evre()));
    assert_eq!(Profile::by_name("okaya"), Some(Profile::okaya()));
    assert_eq!(Profile::by_name("tesla"), None);
}

#[test]
fn sample_meter_value_passes_the_meter_values_schema() {
    let sample = evcms_sim::Charger::sample(chrono::Utc::now(), 1_012_345, 7_000);
    let payload = json!({"connectorId": 1, "transactionId": 7, "meterValue": [sample]});
    assert_eq!(validate_ocpp16("MeterValues", &payload), Ok(()));
}

#[test]
fn default_responses_pass_their_schemas() {
    for name in schema_names().filter(|n| !n.ends_with("Response")) {
        if let Some(reply) = evcms_sim::default_response(name) {
            assert_eq!(
                validate_ocpp16(&format!("{name}Response"), &reply),
                Ok(()),
                "{name}"
            );
        }
    }
}
