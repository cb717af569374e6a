//! bcrypt of auth keys on a bounded pool of blocking threads, so that login bursts
//! never stall the async runtime that serves every other request.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
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
    permits: Arc<Permits>,
    cost: u32,
    /// A hash of a random value at the configured cost: unknown users are checked
    /// against it, so they cost the same work as known ones.
    dummy: Arc<String>,
}

impl Hasher {
    /// A hasher with `threads` concurrent jobs at `cost`.
    pub async fn new(cost: u32, threads: usize) -> Result<Self, HashError> {
        let permits = Arc::new(Permits::new(threads.max(1)));
        let random = crate::auth::tokens::random_token().map_err(|_| HashError::Task)?;
        let dummy = run(&permits, move || {
            bcrypt::non_truncating_hash(random.as_bytes(), cost)
        })
        .await??;
        Ok(Self {
            permits,
            cost,
            dummy: Arc::new(dummy),
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
}

impl Hasher {
    /// Jobs waiting for a thread right now (for the metrics).
    pub fn queued(&self) -> usize {
        self.permits.waiting.load(Ordering::Relaxed)
    }

    /// Threads computing bcrypt right now (for the metrics).
    pub fn busy(&self) -> usize {
        self.permits
            .threads
            .saturating_sub(self.permits.sem.available_permits())
    }

    /// Threads in the pool.
    pub fn threads(&self) -> usize {
        self.permits.threads
    }
}

/// The hashing threads' permits, and how many jobs wait for one.
#[derive(Debug)]
struct Permits {
    sem: Semaphore,
    threads: usize,
    waiting: AtomicUsize,
}

impl Permits {
    fn new(threads: usize) -> Self {
        Self {
            sem: Semaphore::new(threads),
            threads,
            waiting: AtomicUsize::new(0),
        }
    }

    /// A thread's permit; counted as waiting until it is granted (or given up).
    async fn acquire(&self) -> Result<tokio::sync::SemaphorePermit<'_>, HashError> {
        struct Waiting<'a>(&'a AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::Relaxed);
            }
        }
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let _waiting = Waiting(&self.waiting);
        self.sem.acquire().await.map_err(|_| HashError::Task)
    }
}

async fn run<T: Send + 'static>(
    permits: &Permits,
    job: impl FnOnce() -> T + Send + 'static,
) -> Result<T, HashError> {
    let _permit = tokio::time::timeout(QUEUE_TIMEOUT, permits.acquire())
        .await
        .map_err(|_| HashError::Busy)??;
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
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn counts_waiting_jobs_and_busy_threads() {
        // One thread at cost 10 (tens of ms a job): three jobs, two of them wait.
        let h = Hasher::new(10, 1).await.unwrap();
        assert_eq!((h.queued(), h.busy(), h.threads()), (0, 0, 1));
        let jobs: Vec<_> = (0..3)
            .map(|_| {
                let h = h.clone();
                tokio::spawn(async move { h.hash("secret").await })
            })
            .collect();
        let mut seen = (0, 0);
        for _ in 0..500 {
            seen = (seen.0.max(h.queued()), seen.1.max(h.busy()));
            if seen == (2, 1) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(seen, (2, 1));
        for j in jobs {
            j.await.unwrap().unwrap();
        }
        assert_eq!((h.queued(), h.busy()), (0, 0));
    }
}
