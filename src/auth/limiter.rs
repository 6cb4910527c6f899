//! Login rate limiting: failed attempts are counted per account (lowercased e-mail) and per
//! client address in fixed windows; past the limit, logins are refused with 429 until the window
//! ends. On SQLite (one node) they are counted in memory; on PostgreSQL in the `login_failures`
//! table, so every node counts the same failures and adding nodes does not multiply the guesses
//! allowed.

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

/// Where failures are counted.
#[derive(Debug)]
pub enum LoginLimiter {
    /// This process alone.
    Memory(MemoryLimiter),
    /// Every node on this PostgreSQL.
    Shared(sqlx::PgPool),
}

impl LoginLimiter {
    /// Shared on PostgreSQL, in memory on SQLite.
    pub fn for_database(db: &crate::db::Db) -> Self {
        match db {
            crate::db::Db::Postgres(pool) => Self::Shared(pool.clone()),
            crate::db::Db::Sqlite { .. } => Self::Memory(MemoryLimiter::default()),
        }
    }

    /// Ok when a login by `email` from `address` may be tried now; otherwise how long to wait.
    pub async fn check(
        &self,
        email: &str,
        address: IpAddr,
    ) -> Result<Result<(), Duration>, sqlx::Error> {
        match self {
            Self::Memory(memory) => Ok(memory.check(email, address, Instant::now())),
            Self::Shared(pool) => shared::check(pool, email, address).await,
        }
    }

    /// Counts a failed login.
    pub async fn failed(&self, email: &str, address: IpAddr) {
        match self {
            Self::Memory(memory) => memory.failed(email, address, Instant::now()),
            Self::Shared(pool) => {
                if let Err(e) = shared::failed(pool, email, address).await {
                    tracing::warn!(error = %e, "could not count a failed login");
                }
            }
        }
    }

    /// A successful login clears the account's count (not the address's).
    pub async fn succeeded(&self, email: &str) {
        match self {
            Self::Memory(memory) => memory.succeeded(email),
            Self::Shared(pool) => {
                if let Err(e) = shared::succeeded(pool, email).await {
                    tracing::warn!(error = %e, "could not clear an account's failed logins");
                }
            }
        }
    }
}

/// Forgets the shared windows that ended (from a node's periodic chores).
pub async fn forget_old(pool: &sqlx::PgPool) {
    if let Err(e) = shared::forget_old(pool).await {
        tracing::warn!(error = %e, "could not forget old failed logins");
    }
}

/// The counts in PostgreSQL, timed by its clock.
mod shared {
    use std::net::IpAddr;
    use std::time::Duration;

    use sqlx::PgPool;

    use super::{PER_ACCOUNT, PER_ADDRESS, WINDOW};

    fn keys(email: &str, address: IpAddr) -> [String; 2] {
        [
            format!("account:{}", email.to_lowercase()),
            format!("address:{address}"),
        ]
    }

    pub async fn check(
        pool: &PgPool,
        email: &str,
        address: IpAddr,
    ) -> Result<Result<(), Duration>, sqlx::Error> {
        let [account, address] = keys(email, address);
        let sql = concat!(
            "SELECT key, failures, EXTRACT(EPOCH FROM window_started_at + make_interval(secs => $3) - now())::float8 ",
            "FROM login_failures WHERE key IN ($1, $2) AND window_started_at > now() - make_interval(secs => $3)"
        );
        let rows: Vec<(String, i32, f64)> = sqlx::query_as(sql)
            .bind(&account)
            .bind(&address)
            .bind(WINDOW.as_secs_f64())
            .fetch_all(pool)
            .await?;
        let wait = rows
            .iter()
            .filter(|(key, failures, _)| {
                let limit = if *key == account {
                    PER_ACCOUNT
                } else {
                    PER_ADDRESS
                };
                u32::try_from(*failures).unwrap_or(0) >= limit
            })
            .map(|(_, _, left)| Duration::from_secs_f64(left.max(1.0)))
            .max();
        Ok(match wait {
            Some(wait) => Err(wait),
            None => Ok(()),
        })
    }

    pub async fn failed(pool: &PgPool, email: &str, address: IpAddr) -> Result<(), sqlx::Error> {
        let [account, address] = keys(email, address);
        let sql = concat!(
            "INSERT INTO login_failures (key, window_started_at, failures) VALUES ($1, now(), 1), ($2, now(), 1) ",
            "ON CONFLICT (key) DO UPDATE SET ",
            "failures = CASE WHEN login_failures.window_started_at <= now() - make_interval(secs => $3) THEN 1 ",
            "ELSE login_failures.failures + 1 END, ",
            "window_started_at = CASE WHEN login_failures.window_started_at <= now() - make_interval(secs => $3) ",
            "THEN now() ELSE login_failures.window_started_at END"
        );
        sqlx::query(sql)
            .bind(account)
            .bind(address)
            .bind(WINDOW.as_secs_f64())
            .execute(pool)
            .await?;
        Ok(())
    }

    pub async fn succeeded(pool: &PgPool, email: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM login_failures WHERE key = $1")
            .bind(format!("account:{}", email.to_lowercase()))
            .execute(pool)
            .await?;
        Ok(())
    }

    pub async fn forget_old(pool: &PgPool) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM login_failures WHERE window_started_at <= now() - make_interval(secs => $1)")
            .bind(WINDOW.as_secs_f64())
            .execute(pool)
            .await?;
        Ok(())
    }
}

/// The counts of one process.
#[derive(Debug, Default)]
pub struct MemoryLimiter {
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

impl MemoryLimiter {
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
        let limiter = MemoryLimiter::default();
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
        let limiter = MemoryLimiter::default();
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
