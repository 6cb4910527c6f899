//! Ways to reach someone: e-mail addresses and phone numbers, parsed once at the edge (REST
//! bodies, the CLI, the first admin's settings) into types that cannot hold anything else.
//!
//! Both are stored as TEXT (`sqlx(transparent)`), and read back as stored: what is in the database
//! was parsed on its way in.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The longest e-mail address accepted, in characters.
pub const EMAIL_MAX: usize = 255;
/// The longest phone number accepted as written (with spaces and dashes), in characters.
pub const PHONE_WRITTEN_MAX: usize = 30;

/// Why a text is not an e-mail address or a phone number; `Display` is a problem sentence for the
/// field ("must be ...").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContactError {
    #[error("is required")]
    Empty,
    #[error("must be at most {0} characters")]
    TooLong(usize),
    #[error("must not contain control characters")]
    ControlCharacter,
    #[error("must be an e-mail address such as name@example.com")]
    NotAnEmail,
    #[error("must be a phone number: digits, optionally starting with +")]
    NotAPhone,
    #[error("must have 7 to 15 digits")]
    PhoneDigits,
}

/// Trimmed text of at most `max` characters without control characters (tabs and line breaks
/// aside, as in any free text; the rules of each type then refuse them).
fn plain_text(value: &str, max: usize) -> Result<&str, ContactError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ContactError::Empty);
    }
    if value.chars().count() > max {
        return Err(ContactError::TooLong(max));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(ContactError::ControlCharacter);
    }
    Ok(value)
}

/// An e-mail address: one `@`, a local part, and a domain with a dot; no spaces; at most 255
/// characters. Kept as written (trimmed); [`Email::to_lowercase`] gives the form logins compare.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[serde(try_from = "String", into = "String")]
#[sqlx(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(value: &str) -> Result<Self, ContactError> {
        let value = plain_text(value, EMAIL_MAX)?;
        let valid = match value.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !value.chars().any(char::is_whitespace)
            }
            None => false,
        };
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err(ContactError::NotAnEmail)
        }
    }

    /// The address in lowercase: how accounts are stored and compared.
    pub fn to_lowercase(&self) -> Self {
        Self(self.0.to_lowercase())
    }

    /// The part before the `@`.
    pub fn local_part(&self) -> &str {
        self.0.split('@').next().unwrap_or_default()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number, kept as `+` and 7 to 15 digits (E.164) or 7 to 15 digits; spaces, dashes,
/// dots and brackets between the digits are dropped. At most 30 characters as written.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[serde(try_from = "String", into = "String")]
#[sqlx(transparent)]
pub struct Phone(String);

impl Phone {
    pub fn parse(value: &str) -> Result<Self, ContactError> {
        let value = plain_text(value, PHONE_WRITTEN_MAX)?;
        let (plus, rest) = match value.strip_prefix('+') {
            Some(rest) => ("+", rest),
            None => ("", value),
        };
        let mut digits = String::with_capacity(rest.len());
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(ContactError::NotAPhone),
            }
        }
        if (7..=15).contains(&digits.len()) {
            Ok(Self(format!("{plus}{digits}")))
        } else {
            Err(ContactError::PhoneDigits)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! text_type {
    ($ty:ident) => {
        impl FromStr for $ty {
            type Err = ContactError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $ty {
            type Error = ContactError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl From<$ty> for String {
            fn from(v: $ty) -> String {
                v.0
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl PartialEq<str> for $ty {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
    };
}

text_type!(Email);
text_type!(Phone);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert_eq!(
            Email::parse("  Ops@Evcms.example ").unwrap().as_str(),
            "Ops@Evcms.example"
        );
        for bad in [
            "ops",
            "@evcms.example",
            "ops@localhost",
            "ops@evcms.",
            "ops@.example",
            "o ps@evcms.example",
            "a@b@c.d",
        ] {
            assert_eq!(Email::parse(bad), Err(ContactError::NotAnEmail), "{bad}");
        }
        assert_eq!(Email::parse("   "), Err(ContactError::Empty));
        assert_eq!(
            Email::parse("a@b.c\u{7}"),
            Err(ContactError::ControlCharacter)
        );
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Email::parse(&long), Err(ContactError::TooLong(255)));
    }

    #[test]
    fn an_email_lowercases_for_logins_and_knows_its_local_part() {
        let email: Email = "Asha.Rao@Example.COM".parse().unwrap();
        assert_eq!(email.to_lowercase().as_str(), "asha.rao@example.com");
        assert_eq!(email.local_part(), "Asha.Rao");
    }

    #[test]
    fn phone_numbers_are_normalized_to_e164_digits() {
        assert_eq!(
            Phone::parse("+91 98765-43210").unwrap().as_str(),
            "+919876543210"
        );
        assert_eq!(
            Phone::parse("(080) 2345.6789").unwrap().as_str(),
            "08023456789"
        );
        assert_eq!(Phone::parse("12345"), Err(ContactError::PhoneDigits));
        assert_eq!(
            Phone::parse("1234567890123456"),
            Err(ContactError::PhoneDigits)
        );
        assert_eq!(
            Phone::parse("+91 98765x43210"),
            Err(ContactError::NotAPhone)
        );
        assert_eq!(Phone::parse("++919876543210"), Err(ContactError::NotAPhone));
        assert_eq!(
            Phone::parse(&"1".repeat(31)),
            Err(ContactError::TooLong(30))
        );
    }

    #[test]
    fn serde_parses_and_refuses_like_from_str() {
        let phone: Phone = serde_json::from_str(r#""+91 98450 12345""#).unwrap();
        assert_eq!(serde_json::to_string(&phone).unwrap(), r#""+919845012345""#);
        let err = serde_json::from_str::<Email>(r#""not an address""#).unwrap_err();
        assert!(err.to_string().contains("e-mail address"), "{err}");
        assert_eq!(
            Email::try_from("a@b.co".to_owned()).map(String::from),
            Ok("a@b.co".to_owned())
        );
    }
}
