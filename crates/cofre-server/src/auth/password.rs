//! bcrypt of auth keys on a bounded pool of blocking threads, so that login bursts
//! never stall the async runtime that serves every other request.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;
use zeroize::Zeroizing;

/// How long a bcrypt job may wait for a free thread before the request is refused.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(30);

/// Why hashing or verifying failed (not "wrong key": that is `Ok(false)`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HashError {
    /// Too many logins queued.
    #[error("too many password checks queued")]
    Busy,
    /// bcrypt failed (malformed stored hash, or input too long).
    #[error("bcrypt: {0}")]
    Bcrypt(#[from] bcrypt::BcryptError),
    /// The blocking task panicked or was cancelled.
    #[error("bcrypt task failed")]
    Task,
}

/// Runs bcrypt with bounded concurrency.
#[derive(Clone, Debug)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    cost: u32,
    /// A hash of a random value at the configured cost: unknown users are checked
    /// against it, so they cost the same work as known ones.
    dummy: Arc<String>,
    /// Verifications started (see [`Hasher::verifications`]).
    verifications: Arc<AtomicU64>,
}

impl Hasher {
    /// A hasher with `threads` concurrent jobs at `cost`.
    pub async fn new(cost: u32, threads: usize) -> Result<Self, HashError> {
        let permits = Arc::new(Semaphore::new(threads.max(1)));
        let random = crate::auth::tokens::random_token().map_err(|_| HashError::Task)?;
        let dummy = run(&permits, move || {
            bcrypt::non_truncating_hash(random.as_bytes(), cost)
        })
        .await??;
        Ok(Self {
            permits,
            cost,
            dummy: Arc::new(dummy),
            verifications: Arc::new(AtomicU64::new(0)),
        })
    }

    /// bcrypt of `secret` (at most 71 bytes; auth keys are 43).
    pub async fn hash(&self, secret: &str) -> Result<String, HashError> {
        let secret = Zeroizing::new(secret.to_owned());
        let cost = self.cost;
        run(&self.permits, move || {
            bcrypt::non_truncating_hash(secret.as_bytes(), cost)
        })
        .await?
        .map_err(HashError::from)
    }

    /// Whether `secret` matches `hash`; with `hash = None`, checks against the dummy
    /// hash and returns false (same work, same answer as a wrong secret).
    pub async fn verify(&self, secret: &str, hash: Option<&str>) -> Result<bool, HashError> {
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let secret = Zeroizing::new(secret.to_owned());
        let known = hash.is_some();
        let hash = hash.map_or_else(|| self.dummy.as_str().to_owned(), str::to_owned);
        let ok = run(&self.permits, move || {
            bcrypt::non_truncating_verify(secret.as_bytes(), &hash)
        })
        .await?
        .unwrap_or(false);
        Ok(ok && known)
    }

    /// How many verifications this hasher has started (shared by its clones): what
    /// guessing has cost, and what the throttle must bound.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }
}

async fn run<T: Send + 'static>(
    permits: &Semaphore,
    job: impl FnOnce() -> T + Send + 'static,
) -> Result<T, HashError> {
    let _permit = tokio::time::timeout(QUEUE_TIMEOUT, permits.acquire())
        .await
        .map_err(|_| HashError::Busy)?
        .map_err(|_| HashError::Task)?;
    tokio::task::spawn_blocking(job)
        .await
        .map_err(|_| HashError::Task)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn verifies_and_refuses() {
        // Cost 4 (bcrypt's minimum) keeps the unit test fast; the server refuses < 10.
        let h = Hasher::new(4, 2).await.unwrap();
        let hash = h.hash("secret").await.unwrap();
        assert!(h.verify("secret", Some(&hash)).await.unwrap());
        assert!(!h.verify("secreT", Some(&hash)).await.unwrap());
        assert!(!h.verify("secret", None).await.unwrap());
        assert!(!h.verify("secret", Some("not a bcrypt hash")).await.unwrap());
        assert_eq!(h.clone().verifications(), 4);
    }
}
