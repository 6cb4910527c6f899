//! Login rate limiting: failed attempts are counted per account (lowercased e-mail) and per
//! client address in fixed windows; past the limit, logins are refused with 429 until the window
//! ends. Kept in memory, so with several nodes each node counts on its own.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed logins allowed per account per window.
pub const PER_ACCOUNT: u32 = 5;
/// Failed logins allowed per client address per window.
pub const PER_ADDRESS: u32 = 20;
/// The window.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<Key, Window>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Address(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

impl LoginLimiter {
    /// Ok when a login by `email` from `address` may be tried now; otherwise how long to wait.
    pub fn check(&self, email: &str, address: IpAddr, now: Instant) -> Result<(), Duration> {
        let failures = self.lock();
        let blocked = |key: Key, limit: u32| {
            failures
                .get(&key)
                .filter(|w| now.duration_since(w.started) < WINDOW && w.failures >= limit)
                .map(|w| WINDOW.saturating_sub(now.duration_since(w.started)))
        };
        match blocked(Key::Account(email.to_lowercase()), PER_ACCOUNT)
            .into_iter()
            .chain(blocked(Key::Address(address), PER_ADDRESS))
            .max()
        {
            Some(wait) => Err(wait.max(Duration::from_secs(1))),
            None => Ok(()),
        }
    }

    /// Counts a failed login.
    pub fn failed(&self, email: &str, address: IpAddr, now: Instant) {
        let mut failures = self.lock();
        if failures.len() > 100_000 {
            failures.retain(|_, w| now.duration_since(w.started) < WINDOW);
        }
        for key in [Key::Account(email.to_lowercase()), Key::Address(address)] {
            let window = failures.entry(key).or_insert(Window {
                started: now,
                failures: 0,
            });
            if now.duration_since(window.started) >= WINDOW {
                *window = Window {
                    started: now,
                    failures: 0,
                };
            }
            window.failures += 1;
        }
    }

    /// A successful login clears the account's count (not the address's).
    pub fn succeeded(&self, email: &str) {
        self.lock().remove(&Key::Account(email.to_lowercase()));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Window>> {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_locked_after_five_failures_until_the_window_ends() {
        let limiter = LoginLimiter::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..PER_ACCOUNT {
            assert!(limiter.check("A@x.io", ip, t0).is_ok());
            limiter.failed("A@x.io", ip, t0);
        }
        let wait = limiter.check("a@x.io", ip, t0).unwrap_err();
        assert!(wait > Duration::from_secs(14 * 60));
        assert!(limiter.check("other@x.io", ip, t0).is_ok());
        assert!(limiter.check("a@x.io", ip, t0 + WINDOW).is_ok());
    }

    #[test]
    fn an_address_is_locked_after_twenty_failures_over_any_accounts() {
        let limiter = LoginLimiter::default();
        let ip: IpAddr = "10.0.0.2".parse().unwrap();
        let t0 = Instant::now();
        for n in 0..PER_ADDRESS {
            limiter.failed(&format!("user{n}@x.io"), ip, t0);
        }
        assert!(limiter.check("fresh@x.io", ip, t0).is_err());
        assert!(
            limiter
                .check("fresh@x.io", "10.0.0.3".parse().unwrap(), t0)
                .is_ok()
        );
    }
}
