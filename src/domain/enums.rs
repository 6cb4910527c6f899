//! The closed vocabularies of the roadmap (its SQL comments), each a Rust enum that reads and
//! writes exactly the roadmap's strings in JSON and in the database.

/// Declares an enum stored and sent as fixed strings: serde, sqlx (TEXT in both databases) and the
/// OpenAPI schema all come from the one list of `Variant => "text"` pairs.
macro_rules! string_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        $vis enum $name {
            $( #[serde(rename = $text)] $variant ),+
        }

        impl $name {
            /// Every value, in the order the roadmap lists them.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            /// The value with exactly this text, or a problem that lists the accepted ones.
            pub fn parse(text: &str) -> Result<Self, String> {
                match text {
                    $($text => Ok(Self::$variant),)+
                    _ => Err(format!(
                        "must be one of: {}",
                        Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
                    )),
                }
            }
        }

        // Written by hand: utoipa's derive does not see serde renames that come through a macro.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::SchemaType::new(utoipa::openapi::schema::Type::String))
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::db::types::TextColumn for $name {
            fn to_text(&self) -> String {
                self.as_str().to_owned()
            }
            fn from_text(text: &str) -> Result<Self, String> {
                Self::parse(text)
            }
        }
        $crate::text_column_sqlx!($name);
    };
}
pub(crate) use string_enum;

string_enum! {
    /// Operational state of a charging station.
    pub enum StationStatus { Active => "Active", Inactive => "Inactive", Maintenance => "Maintenance" }
}

string_enum! {
    /// The grid connection of a station.
    pub enum GridPhase { Single => "Single Phase", Three => "Three Phase" }
}

string_enum! {
    /// Current type delivered by a charging point.
    pub enum ChargerType { Ac => "AC", Dc => "DC" }
}

string_enum! {
    /// The supply phase a charging point is wired to.
    pub enum Phase { R => "Phase R", Y => "Phase Y", B => "Phase B" }
}

string_enum! {
    /// The charger manufacturer (the roadmap's `oem_list`).
    pub enum Oem { MassiveMobility => "Massive Mobility", Evre => "EVRE", Okaya => "Okaya" }
}

string_enum! {
    /// The physical plug of a connector.
    pub enum ConnectorType {
        Type2 => "type2", Ccs2 => "ccs2", Type1 => "type1", Gbt => "gbt", Nacs => "nacs", AcSocket => "ac_socket",
    }
}

string_enum! {
    /// Currencies a tariff may be priced in (both have two-digit minor units).
    pub enum Currency { Inr => "INR", Usd => "USD" }
}

string_enum! {
    /// Whether a tariff may be assigned to charging points.
    pub enum TariffStatus { Active => "Active", Inactive => "Inactive" }
}

string_enum! {
    /// Direction of a wallet ledger entry.
    pub enum WalletTransactionType { Credit => "Credit", Debit => "Debit" }
}

string_enum! {
    /// Lifecycle of a charging session.
    pub enum SessionStatus { Active => "Active", Completed => "Completed", Cancelled => "Cancelled" }
}

string_enum! {
    /// A day a station is open (the roadmap's `working_days` entries).
    pub enum Weekday {
        Sunday => "sunday", Monday => "monday", Tuesday => "tuesday", Wednesday => "wednesday",
        Thursday => "thursday", Friday => "friday", Saturday => "saturday",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_the_roadmap_strings() {
        assert_eq!(GridPhase::parse("Three Phase"), Ok(GridPhase::Three));
        assert_eq!(
            serde_json::to_string(&Oem::MassiveMobility).unwrap(),
            "\"Massive Mobility\""
        );
        assert_eq!(
            serde_json::from_str::<ConnectorType>("\"ac_socket\"").unwrap(),
            ConnectorType::AcSocket
        );
    }

    #[test]
    fn the_openapi_schema_lists_the_roadmap_strings() {
        let schema = serde_json::to_value(<GridPhase as utoipa::PartialSchema>::schema()).unwrap();
        assert_eq!(
            schema["enum"],
            serde_json::json!(["Single Phase", "Three Phase"])
        );
    }

    #[test]
    fn an_unknown_value_names_the_accepted_ones() {
        assert_eq!(
            StationStatus::parse("active"),
            Err("must be one of: Active, Inactive, Maintenance".into())
        );
    }
}

string_enum! {
    /// Who closed a charging session. Only the charger's own StopTransaction is final: a session
    /// closed provisionally ([`SettledBy::is_provisional`]) is billed the difference when that
    /// Stop still arrives.
    pub enum SettledBy {
        Charger => "charger",
        NewTransaction => "new_transaction",
        ConnectorAvailable => "connector_available",
        ChargerReboot => "charger_reboot",
        Operator => "operator",
    }
}

impl SettledBy {
    /// Closed without the charger's word on the final meter reading. A new transaction on the
    /// connector is not provisional: its meterStart is the register at the old one's end, and
    /// energy after it belongs to the new session.
    pub fn is_provisional(self) -> bool {
        matches!(
            self,
            Self::ConnectorAvailable | Self::ChargerReboot | Self::Operator
        )
    }
}

string_enum! {
    /// An operator's correction of a settled session's bill: money back, or more owed.
    pub enum CorrectionKind { Refund => "Refund", Charge => "Charge" }
}
