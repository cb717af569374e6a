//! Online-guessing defence: per-account and per-address failure counters with
//! exponential lockouts.
//!
//! After `free` failures on a key, each further failure locks that key for
//! `base * 2^(failures - free)` seconds (at most `max`). While any key of a request is
//! locked, the request is answered 429 with `Retry-After` before any credential is
//! checked. A successful login resets the account's counter (not the address's, so one
//! good account cannot launder guesses against others).

use crate::config::ServerConfig;
use crate::store::{Store, StoreResult};

/// The throttling policy.
#[derive(Clone, Debug)]
pub struct Throttle {
    account_free: i64,
    address_free: i64,
    base: i64,
    max: i64,
}

/// The counter keys of one login attempt.
pub struct Keys {
    /// `account:<normalized username>` (also for unknown usernames).
    pub account: String,
    /// `address:<ip>`.
    pub address: String,
}

impl Keys {
    /// Keys for a username (normalized if valid, lower-cased otherwise) and address.
    pub fn new(username: &str, address: &str) -> Self {
        Self {
            account: format!("account:{username}"),
            address: format!("address:{address}"),
        }
    }
}

impl Throttle {
    /// From the settings.
    pub fn new(c: &ServerConfig) -> Self {
        Self {
            account_free: c.account_free_failures,
            address_free: c.address_free_failures,
            base: c.lockout_base_secs,
            max: c.lockout_max_secs,
        }
    }

    /// Seconds to wait if either key is locked, else `None`.
    pub async fn retry_after(
        &self,
        store: &Store,
        keys: &Keys,
        now: i64,
    ) -> StoreResult<Option<i64>> {
        let a = store.throttle_counter(&keys.account).await?;
        let b = store.throttle_counter(&keys.address).await?;
        let until = a.locked_until.max(b.locked_until);
        Ok((until > now).then_some(until - now))
    }

    /// Records a failure on both keys, locking those past their free failures. Returns
    /// whether the account key is now locked (for the audit log).
    pub async fn fail(&self, store: &Store, keys: &Keys, now: i64) -> StoreResult<bool> {
        let mut account_locked = false;
        for (key, free) in [
            (&keys.account, self.account_free),
            (&keys.address, self.address_free),
        ] {
            let n = store.throttle_fail(key, now).await?;
            if n >= free {
                let exp = u32::try_from((n - free).clamp(0, 30)).unwrap_or(30);
                let secs = self.base.saturating_mul(1_i64 << exp).min(self.max);
                store.throttle_lock(key, now + secs).await?;
                if key == &keys.account {
                    account_locked = true;
                }
            }
        }
        Ok(account_locked)
    }

    /// Clears the account's counter after a successful login.
    pub async fn succeed(&self, store: &Store, keys: &Keys) -> StoreResult<()> {
        store.throttle_reset(&keys.account).await
    }
}
