//! Passwords and charger keys: argon2id hashing (PHC strings), bounded and off the async
//! threads, the minimum strength of an operator's password, and random secrets.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine;
use ring::rand::{SecureRandom, SystemRandom};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The shortest password accepted.
pub const MIN_LENGTH: usize = 12;
/// The longest password accepted (argon2 takes any length; this bounds the work per request).
pub const MAX_LENGTH: usize = 256;

/// Hashes `secret` with argon2id and a random salt; CPU-heavy, so call it through
/// [`hash_blocking`] from async code.
pub fn hash(secret: &str) -> Result<String, argon2::password_hash::Error> {
    hash_with(secret, &mut Vec::new())
}

/// Whether `secret` matches the PHC string `phc`; an unreadable hash matches nothing.
pub fn verify(secret: &str, phc: &str) -> bool {
    verify_with(secret, phc, &mut Vec::new())
}

/// [`hash`] in `memory`, the argon2 work area (grown to the parameters' size if smaller).
fn hash_with(
    secret: &str,
    memory: &mut Vec<Block>,
) -> Result<String, argon2::password_hash::Error> {
    let mut salt = [0u8; 16];
    SystemRandom::new()
        .fill(&mut salt)
        .map_err(|_| argon2::password_hash::Error::Crypto)?;
    let salt = SaltString::encode_b64(&salt)?;
    let argon2 = Argon2::default();
    let params = argon2.params().clone();
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.as_salt().decode_b64(&mut salt_bytes)?;
    let output = Output::init_with(
        params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN),
        |out| {
            argon2
                .hash_password_into_with_memory(
                    secret.as_bytes(),
                    salt_bytes,
                    out,
                    work_area(memory, &params),
                )
                .map_err(Into::into)
        },
    )?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::default().into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// [`verify`] in `memory`: what `argon2`'s own verification does (the parameters, salt and
/// algorithm of the PHC string, a constant-time comparison), without allocating its 19 MiB work
/// area each time.
fn verify_with(secret: &str, phc: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    let Ok(version) = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map(Option::unwrap_or_default)
    else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let computed = Output::init_with(expected.len(), |out| {
        argon2
            .hash_password_into_with_memory(
                secret.as_bytes(),
                salt_bytes,
                out,
                work_area(memory, &params),
            )
            .map_err(Into::into)
    });
    // `Output`'s equality is constant-time.
    computed.is_ok_and(|computed| computed == expected)
}

/// The first `params.block_count()` blocks of `memory`, grown to that if smaller.
fn work_area<'m>(memory: &'m mut Vec<Block>, params: &Params) -> &'m mut [Block] {
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    &mut memory[..blocks]
}

/// Why a password could not be hashed or checked now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// Every hashing slot stayed taken for [`QUEUE_WAIT`]: the server is saturated with password
    /// work; the caller should answer 503 and let the client retry.
    #[error("too many password checks at once; try again shortly")]
    Busy,
    #[error("cannot hash the password: {0}")]
    Failed(String),
}

/// How long a request waits for a hashing slot before it is answered [`HashError::Busy`].
pub const QUEUE_WAIT: Duration = Duration::from_secs(10);

/// Password hashing and verification, bounded process-wide. Each argon2id run needs a 19 MiB
/// work area and a core for tens of milliseconds: unbounded, a flood of failed logins (or charger
/// handshakes) runs hundreds at once and the memory grows by gigabytes. So a run needs a slot:
/// one per core, each owning a work area that is reused from run to run (no 19 MiB allocation per
/// login for the allocator to keep); the rest wait in a FIFO queue, at most [`QUEUE_WAIT`].
struct Slots {
    permits: Arc<Semaphore>,
    /// The work areas of the slots not in use.
    work_areas: Mutex<Vec<Vec<Block>>>,
}

fn slots() -> &'static Slots {
    static SLOTS: OnceLock<Slots> = OnceLock::new();
    SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Slots {
            permits: Arc::new(Semaphore::new(cores)),
            work_areas: Mutex::new(Vec::with_capacity(cores)),
        }
    })
}

/// A hashing slot: the right to run argon2 now, and the work area to run it in.
#[derive(Debug)]
pub struct Slot {
    work_area: Vec<Block>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Slot {
    /// Hands the work area to the next run.
    fn drop(&mut self) {
        let work_area = std::mem::take(&mut self.work_area);
        if !work_area.is_empty() {
            let mut free = slots()
                .work_areas
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            free.push(work_area);
        }
    }
}

/// Waits (at most [`QUEUE_WAIT`]) for a hashing slot. Take it before the last cheap checks (the
/// login limiter) so that requests queued behind a flood see the failures counted meanwhile.
pub async fn slot() -> Result<Slot, HashError> {
    let slots = slots();
    match tokio::time::timeout(QUEUE_WAIT, slots.permits.clone().acquire_owned()).await {
        Ok(Ok(permit)) => {
            let work_area = slots
                .work_areas
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop()
                .unwrap_or_default();
            Ok(Slot {
                work_area,
                _permit: permit,
            })
        }
        Ok(Err(_closed)) => Err(HashError::Failed("the hashing slots are closed".to_owned())),
        Err(_elapsed) => Err(HashError::Busy),
    }
}

/// Runs `work` with the slot's work area on the blocking thread pool; the slot is freed when it
/// is done.
async fn run_in<T: Send + 'static>(
    mut slot: Slot,
    work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
) -> Result<T, HashError> {
    tokio::task::spawn_blocking(move || work(&mut slot.work_area))
        .await
        .map_err(|e| HashError::Failed(e.to_string()))
}

/// [`hash`] on the blocking thread pool, in a hashing slot.
pub async fn hash_blocking(secret: String) -> Result<String, HashError> {
    let slot = slot().await?;
    run_in(slot, move |memory| hash_with(&secret, memory))
        .await?
        .map_err(|e| HashError::Failed(e.to_string()))
}

/// [`verify`] on the blocking thread pool, in a hashing slot; `phc` None still spends the time of
/// a verification (against a fixed dummy hash), so an unknown account answers as slowly as a
/// wrong password.
pub async fn verify_blocking(secret: String, phc: Option<String>) -> Result<bool, HashError> {
    let slot = slot().await?;
    verify_in(slot, secret, phc).await
}

/// [`verify_blocking`] in a slot already taken with [`slot`].
pub async fn verify_in(slot: Slot, secret: String, phc: Option<String>) -> Result<bool, HashError> {
    run_in(slot, move |memory| match phc {
        Some(phc) => verify_with(&secret, &phc, memory),
        None => {
            let _ = verify_with(&secret, dummy_hash(), memory);
            false
        }
    })
    .await
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
    fn a_reused_work_area_hashes_and_verifies_like_argon2_itself() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let mut memory = Vec::new();
        let phc = hash_with("correct horse 42", &mut memory).unwrap();
        assert_eq!(memory.len(), Params::DEFAULT_M_COST as usize);
        let parsed = PasswordHash::new(&phc).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse 42", &parsed)
                .is_ok()
        );
        assert!(verify_with("correct horse 42", &phc, &mut memory));
        assert!(!verify_with("correct horse 43", &phc, &mut memory));
        // A hash of other parameters, made by argon2 itself, in the same (larger) work area.
        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        let small = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(1024, 1, 1, None).unwrap(),
        );
        let other = small
            .hash_password(b"pass phrase", &salt)
            .unwrap()
            .to_string();
        assert!(verify_with("pass phrase", &other, &mut memory));
        assert!(!verify_with("pass phrasE", &other, &mut memory));
        assert!(!verify_with(
            "pass phrase",
            "$argon2id$v=19$m=1024,t=1,p=1$bad",
            &mut memory
        ));
    }

    #[tokio::test]
    async fn slots_are_one_per_core_and_reuse_their_work_areas() {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let held: Vec<Slot> = futures_util::future::join_all((0..cores).map(|_| slot()))
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(slots().permits.available_permits(), 0);
        drop(held);
        assert!(verify_blocking("x".into(), None).await.is_ok());
        assert!(slots().work_areas.lock().unwrap().len() <= cores);
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
