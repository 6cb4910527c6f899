//! Passwords and charger keys: argon2id hashing (PHC strings), verification off the async
//! threads, the minimum strength of an operator's password, and random secrets.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use ring::rand::{SecureRandom, SystemRandom};

/// The shortest password accepted.
pub const MIN_LENGTH: usize = 12;
/// The longest password accepted (argon2 takes any length; this bounds the work per request).
pub const MAX_LENGTH: usize = 256;

/// Hashes `secret` with argon2id and a random salt; CPU-heavy, so call it through
/// [`hash_blocking`] from async code.
pub fn hash(secret: &str) -> Result<String, argon2::password_hash::Error> {
    let mut salt = [0u8; 16];
    SystemRandom::new()
        .fill(&mut salt)
        .map_err(|_| argon2::password_hash::Error::Crypto)?;
    let salt = SaltString::encode_b64(&salt)?;
    Ok(Argon2::default()
        .hash_password(secret.as_bytes(), &salt)?
        .to_string())
}

/// Whether `secret` matches the PHC string `phc`; an unreadable hash matches nothing.
pub fn verify(secret: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(secret.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// [`hash`] on the blocking thread pool.
pub async fn hash_blocking(secret: String) -> Result<String, String> {
    tokio::task::spawn_blocking(move || hash(&secret).map_err(|e| e.to_string()))
        .await
        .map_err(|e| e.to_string())?
}

/// [`verify`] on the blocking thread pool; `phc` None still spends the time of a verification
/// (against a fixed dummy hash), so an unknown account answers as slowly as a wrong password.
pub async fn verify_blocking(secret: String, phc: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || match phc {
        Some(phc) => verify(&secret, &phc),
        None => {
            let _ = verify(&secret, dummy_hash());
            false
        }
    })
    .await
    .unwrap_or(false)
}

fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash("not a password of anyone").unwrap_or_default())
}

/// Why a password is refused, as a problem sentence for the `password` field; None when it is
/// strong enough. The rules: at least 12 characters (at most 256), at least two kinds of
/// character among lowercase, uppercase, digits and others, not one character repeated, and not
/// the account's e-mail address or its part before the `@`.
pub fn weakness(password: &str, email: &str) -> Option<String> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Some(format!("must be at least {MIN_LENGTH} characters"));
    }
    if length > MAX_LENGTH {
        return Some(format!("must be at most {MAX_LENGTH} characters"));
    }
    let kinds = [
        password.chars().any(|c| c.is_lowercase()),
        password.chars().any(|c| c.is_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ];
    if kinds.iter().filter(|k| **k).count() < 2 {
        return Some(
            "must mix at least two kinds of character: lowercase, uppercase, digits, others"
                .to_owned(),
        );
    }
    let mut chars = password.chars();
    let first = chars.next();
    if chars.all(|c| Some(c) == first) {
        return Some("must not be one character repeated".to_owned());
    }
    let lowered = password.to_lowercase();
    let email = email.trim().to_lowercase();
    let local = email.split('@').next().unwrap_or_default();
    if !email.is_empty() && (lowered == email || lowered == local) {
        return Some("must not be the e-mail address".to_owned());
    }
    None
}

/// `bytes` random bytes from the operating system's generator, base64url without padding.
pub fn random_secret(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    SystemRandom::new()
        .fill(&mut buf)
        .expect("the operating system's random generator works");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// A random password that passes [`weakness`]: 20 base64url characters, with a digit and a
/// letter of each case guaranteed by a fixed suffix of mixed kinds.
pub fn generate() -> String {
    format!("{}-a7K", random_secret(15))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_phc_strings_that_verify() {
        let phc = hash("correct horse 42").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify("correct horse 42", &phc));
        assert!(!verify("correct horse 43", &phc));
        assert!(!verify("correct horse 42", "not a hash"));
    }

    #[test]
    fn weak_passwords_are_named() {
        let email = "asha.rao@example.com";
        assert!(weakness("short1A", email).unwrap().contains("at least 12"));
        assert!(weakness("alllowercaseletters", email).is_some());
        assert!(weakness("111111111111111", email).is_some());
        assert!(weakness("Asha.Rao@example.com", email).is_some());
        assert_eq!(weakness("Correct horse battery", email), None);
        assert_eq!(weakness(&generate(), email), None);
    }
}
