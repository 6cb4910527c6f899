//! Id tags: the OCPP idTag (an RFID card's UID or an app token) that charges to a customer's
//! wallet. A customer may have several.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// Most characters of an idTag (OCPP 1.6 `IdToken`, a CiString20).
pub const MAX_ID_TAG: usize = 20;

/// An id tag as shown, with its customer's name.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct IdTag {
    pub id: i64,
    /// The OCPP idTag: 1 to 20 printable ASCII characters without spaces, unique across all
    /// customers regardless of letter case.
    #[schema(example = "04A2B3C4D5E6F7")]
    pub id_tag: String,
    pub customer_id: i64,
    pub customer_name: String,
    /// A blocked tag is refused when a charger asks to authorize it.
    pub blocked: bool,
    /// After this time the tag is refused as expired; null when it never expires.
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An id tag's stored fields, validated.
#[derive(Debug, Clone)]
pub struct IdTagFields {
    pub id_tag: String,
    pub customer_id: i64,
    pub blocked: bool,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Whether `text` is an OCPP idTag: 1 to 20 printable ASCII characters, no spaces.
pub fn check_id_tag(text: &str) -> Result<(), String> {
    if !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("may contain only printable ASCII characters, without spaces".to_owned());
    }
    if text.is_empty() || text.len() > MAX_ID_TAG {
        return Err(format!("must be 1 to {MAX_ID_TAG} characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_tag_is_1_to_20_printable_ascii_characters() {
        assert!(check_id_tag("04A2B3C4D5E6F7").is_ok());
        assert!(check_id_tag("APP:asha-01#x").is_ok());
        assert!(check_id_tag(&"X".repeat(20)).is_ok());
        for bad in ["", "AB CD", "TAB\tX", "ÄBC", "\u{7f}", &"X".repeat(21)] {
            assert!(check_id_tag(bad).is_err(), "{bad:?}");
        }
    }
}
