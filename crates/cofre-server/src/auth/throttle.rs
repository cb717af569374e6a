//! Online-guessing defence: every credential check first reserves one attempt from
//! token buckets in the database, and gives it back when the credential was right.
//!
//! - A login from an unknown device spends from its account's bucket (`account:NAME`,
//!   also for names that have no account) and from its address's (`address:IP`).
//! - A login presenting a valid device token (see [`crate::auth::device`]) spends from
//!   that device's own bucket (`device:ID`) only, so guesses from elsewhere cannot lock
//!   the owner's known devices out.
//! - A recovery-key check spends from its address's bucket only: the recovery key is a
//!   random 256-bit secret, so an account-wide limit would only hand attackers a way to
//!   block recovery.
//! - A check inside a session (current password, MFA codes) spends from the session's
//!   bucket (`session:ID`).
//!
//! Account, device and session buckets hold `account_free_failures` attempts and get one
//! back every `account_refill_secs`; address buckets `address_free_failures` and
//! `address_refill_secs`. When a bucket is empty the request is answered 429 with
//! `Retry-After` (the time until one attempt is back) before any credential is checked.

use crate::config::ServerConfig;
use crate::error::ApiError;
use crate::store::throttle::Bucket;
use crate::store::{Store, StoreResult};

/// The throttling policy.
#[derive(Clone, Debug)]
pub struct Throttle {
    account: Bucket,
    address: Bucket,
    /// Refusals are counted here, by the kind of bucket that was empty.
    metrics: std::sync::Arc<crate::metrics::Metrics>,
}

/// The buckets one attempt spends from.
#[derive(Debug)]
pub struct Keys(Vec<(String, Bucket)>);

/// Attempts reserved by [`Throttle::reserve`]: kept (spent) unless given back with
/// [`Throttle::refund`].
#[derive(Debug)]
#[must_use = "an attempt is spent unless refunded"]
pub struct Reservation(Vec<(String, Bucket)>);

/// A bucket was empty: nothing was spent.
#[derive(Clone, Copy, Debug)]
pub struct Throttled {
    /// Seconds until one attempt is back.
    pub retry_after: i64,
}

impl From<Throttled> for ApiError {
    fn from(t: Throttled) -> Self {
        ApiError::TooManyRequests {
            retry_after: t.retry_after,
        }
    }
}

/// The kind of a bucket key (its prefix), as a metrics label.
fn bucket_kind(key: &str) -> &'static str {
    match key.split_once(':').map(|(kind, _)| kind) {
        Some("account") => "account",
        Some("address") => "address",
        Some("device") => "device",
        Some("session") => "session",
        _ => "other",
    }
}

/// The key of an account's bucket for unknown devices (an admin unlock refills it).
pub fn account_key(name: &str) -> String {
    format!("account:{name}")
}

impl Throttle {
    /// From the settings; refusals are counted in `metrics`.
    pub fn new(c: &ServerConfig, metrics: std::sync::Arc<crate::metrics::Metrics>) -> Self {
        let bucket = |capacity: i64, secs: i64| Bucket {
            capacity: capacity.max(1),
            refill_ms: secs.max(1).saturating_mul(1000),
        };
        Self {
            account: bucket(c.account_free_failures, c.account_refill_secs),
            address: bucket(c.address_free_failures, c.address_refill_secs),
            metrics,
        }
    }

    /// A login of `name` (normalized, or its stand-in) from `address`; `device`: the id
    /// of a device token valid for that account.
    pub fn login(&self, name: &str, address: &str, device: Option<&str>) -> Keys {
        Keys(match device {
            Some(id) => vec![(format!("device:{id}"), self.account)],
            None => vec![
                (account_key(name), self.account),
                (format!("address:{address}"), self.address),
            ],
        })
    }

    /// A recovery-key check from `address`.
    pub fn recovery(&self, address: &str) -> Keys {
        Keys(vec![(format!("address:{address}"), self.address)])
    }

    /// A credential check inside session `session_id`.
    pub fn session(&self, session_id: &str) -> Keys {
        Keys(vec![(format!("session:{session_id}"), self.account)])
    }

    /// Reserves one attempt from every bucket of `keys`. If one is empty, gives back
    /// what was taken and says how long to wait.
    pub async fn reserve(
        &self,
        store: &Store,
        keys: Keys,
    ) -> StoreResult<Result<Reservation, Throttled>> {
        let now = crate::clock::now_millis();
        let mut taken = Vec::with_capacity(keys.0.len());
        for (key, bucket) in keys.0 {
            match store.throttle_take(&key, bucket, now).await {
                Ok(None) => taken.push((key, bucket)),
                Ok(Some(wait_ms)) => {
                    self.metrics.throttled(bucket_kind(&key));
                    self.refund(store, Reservation(taken)).await?;
                    let retry_after = (wait_ms.saturating_add(999) / 1000).max(1);
                    return Ok(Err(Throttled { retry_after }));
                }
                Err(e) => {
                    self.refund(store, Reservation(taken)).await?;
                    return Err(e);
                }
            }
        }
        Ok(Ok(Reservation(taken)))
    }

    /// Gives the attempts back (the credential was right).
    pub async fn refund(&self, store: &Store, r: Reservation) -> StoreResult<()> {
        for (key, bucket) in r.0 {
            store.throttle_give_back(&key, bucket).await?;
        }
        Ok(())
    }
}
