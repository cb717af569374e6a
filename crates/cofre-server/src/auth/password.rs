//! bcrypt of auth keys on a bounded pool of blocking threads, so that login bursts
//! never stall the async runtime that serves every other request.
//!
//! Admission: every job names a [`Priority`]. A free thread goes to the oldest job of
//! the highest priority waiting: logins from known devices (a valid device token) and
//! checks inside a session first, then every other login and recovery check, then new
//! accounts' hashes. So a flood of guesses from unknown devices, or of registrations,
//! delays a returning user's login by at most the jobs already running.
//!
//! Registrations also pass their own lane first: at most a quarter of the pool's
//! threads (at least one) hash for new accounts at once, at most
//! [`REGISTRATION_QUEUE_PER_THREAD`] registrations per lane thread wait for it, and a
//! wait ends after [`REGISTRATION_QUEUE_TIMEOUT`]; a registration that cannot get in
//! is refused as busy.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;
use zeroize::Zeroizing;

/// How long a bcrypt job may wait for a free thread before the request is refused.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a registration may wait for its lane before it is refused.
pub const REGISTRATION_QUEUE_TIMEOUT: Duration = Duration::from_secs(5);

/// How many registrations may wait per registration-lane thread; more are refused at
/// once.
pub const REGISTRATION_QUEUE_PER_THREAD: usize = 16;

/// Why hashing or verifying failed (not "wrong key": that is `Ok(false)`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HashError {
    /// Too many logins queued.
    #[error("too many password checks queued")]
    Busy,
    /// The registration lane is full.
    #[error("too many registrations in progress")]
    RegistrationsBusy,
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
    registrations: Arc<Lane>,
    cost: u32,
    /// A hash of a random value at the configured cost: unknown users are checked
    /// against it, so they cost the same work as known ones.
    dummy: Arc<String>,
    /// Verifications started (see [`Hasher::verifications`]).
    verifications: Arc<AtomicU64>,
}

/// The admission lane of registrations: its threads and its bounded queue.
#[derive(Debug)]
struct Lane {
    permits: Semaphore,
    waiting: AtomicUsize,
    max_waiting: usize,
}

impl Hasher {
    /// A hasher with `threads` concurrent jobs at `cost`; registrations may use a
    /// quarter of them (at least one).
    pub async fn new(cost: u32, threads: usize) -> Result<Self, HashError> {
        let threads = threads.max(1);
        let lane = (threads / 4).max(1);
        let registrations = Arc::new(Lane {
            permits: Semaphore::new(lane),
            waiting: AtomicUsize::new(0),
            max_waiting: lane * REGISTRATION_QUEUE_PER_THREAD,
        });
        let permits = Permits::new(threads);
        let random = crate::auth::tokens::random_token().map_err(|_| HashError::Task)?;
        let dummy = run(&permits, Priority::Trusted, move || {
            bcrypt::non_truncating_hash(random.as_bytes(), cost)
        })
        .await??;
        Ok(Self {
            permits,
            registrations,
            cost,
            dummy: Arc::new(dummy),
            verifications: Arc::new(AtomicU64::new(0)),
        })
    }

    /// bcrypt of `secret` (at most 71 bytes; auth keys are 43), started at `priority`.
    pub async fn hash(&self, secret: &str, priority: Priority) -> Result<String, HashError> {
        let secret = Zeroizing::new(secret.to_owned());
        let cost = self.cost;
        run(&self.permits, priority, move || {
            bcrypt::non_truncating_hash(secret.as_bytes(), cost)
        })
        .await?
        .map_err(HashError::from)
    }

    /// bcrypt of a new account's auth key and recovery auth key, admitted through the
    /// registration lane (see the module comment): [`HashError::RegistrationsBusy`]
    /// when the lane's queue is full or the wait is over.
    pub async fn hash_new_account(
        &self,
        auth_key: &str,
        recovery_key: &str,
    ) -> Result<(String, String), HashError> {
        let _lane = self.registrations.enter().await?;
        let auth = self.hash(auth_key, Priority::Registration).await?;
        let recovery = self.hash(recovery_key, Priority::Registration).await?;
        Ok((auth, recovery))
    }

    /// Whether `secret` matches `hash`; with `hash = None`, checks against the dummy
    /// hash and returns false (same work, same answer as a wrong secret). Started at
    /// `priority`.
    pub async fn verify(
        &self,
        secret: &str,
        hash: Option<&str>,
        priority: Priority,
    ) -> Result<bool, HashError> {
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let secret = Zeroizing::new(secret.to_owned());
        let known = hash.is_some();
        let hash = hash.map_or_else(|| self.dummy.as_str().to_owned(), str::to_owned);
        let ok = run(&self.permits, priority, move || {
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

impl Lane {
    /// Waits (boundedly) for a lane thread; the permit is held until dropped.
    async fn enter(&self) -> Result<tokio::sync::SemaphorePermit<'_>, HashError> {
        if let Ok(p) = self.permits.try_acquire() {
            return Ok(p);
        }
        let queued = self.waiting.fetch_add(1, Ordering::AcqRel);
        let _leave = Leave(&self.waiting);
        if queued >= self.max_waiting {
            return Err(HashError::RegistrationsBusy);
        }
        tokio::time::timeout(REGISTRATION_QUEUE_TIMEOUT, self.permits.acquire())
            .await
            .map_err(|_| HashError::RegistrationsBusy)?
            .map_err(|_| HashError::Task)
    }
}

/// Takes a waiter off a lane's count when its wait ends (in any way, cancelled too).
struct Leave<'a>(&'a AtomicUsize);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Hasher {
    /// Jobs waiting for a thread right now (for the metrics).
    pub fn queued(&self) -> usize {
        self.permits.waiting.load(Ordering::Relaxed)
    }

    /// Threads computing bcrypt right now (for the metrics).
    pub fn busy(&self) -> usize {
        self.permits.threads.saturating_sub(self.permits.free())
    }

    /// Threads in the pool.
    pub fn threads(&self) -> usize {
        self.permits.threads
    }
}

/// Whose bcrypt job it is: when threads are scarce, a job of a higher priority is
/// started before any job of a lower one, whatever their arrival order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    /// A client that proved itself before: a login presenting a valid device token, or
    /// a check inside an authenticated session (password change).
    Trusted,
    /// Any other login or recovery check (unknown devices, unknown names).
    Login,
    /// A new account's hashes (behind the registration lane too).
    Registration,
}

/// How many priorities there are (the length of the wait queues).
const PRIORITIES: usize = 3;

/// The hashing threads, handed out by priority: a released thread goes to the oldest
/// waiter of the highest priority waiting, else back to the pool.
#[derive(Debug)]
struct Permits {
    state: std::sync::Mutex<Gate>,
    threads: usize,
    waiting: AtomicUsize,
}

/// The pool's free threads and its waiters, one FIFO per priority.
#[derive(Debug, Default)]
struct Gate {
    free: usize,
    queues: [std::collections::VecDeque<tokio::sync::oneshot::Sender<Permit>>; PRIORITIES],
}

/// One hashing thread, given back to the pool (or to the next waiter) when dropped.
#[derive(Debug)]
struct Permit(Option<Arc<Permits>>);

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(pool) = self.0.take() {
            Permits::release(pool);
        }
    }
}

impl Permits {
    fn new(threads: usize) -> Arc<Self> {
        Arc::new(Self {
            state: std::sync::Mutex::new(Gate {
                free: threads,
                ..Gate::default()
            }),
            threads,
            waiting: AtomicUsize::new(0),
        })
    }

    fn gate(&self) -> std::sync::MutexGuard<'_, Gate> {
        // The lock is never held across a panic point that leaves the gate torn.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Threads not handed out.
    fn free(&self) -> usize {
        self.gate().free
    }

    /// A thread's permit at `priority`; counted as waiting until granted (or given up).
    async fn acquire(self: &Arc<Self>, priority: Priority) -> Result<Permit, HashError> {
        let rx = {
            let mut gate = self.gate();
            let ahead = gate
                .queues
                .iter()
                .take(priority as usize + 1)
                .any(|q| !q.is_empty());
            if gate.free > 0 && !ahead {
                gate.free -= 1;
                return Ok(Permit(Some(self.clone())));
            }
            let (tx, rx) = tokio::sync::oneshot::channel();
            match gate.queues.get_mut(priority as usize) {
                Some(q) => q.push_back(tx),
                None => return Err(HashError::Task),
            }
            rx
        };
        struct Waiting<'a>(&'a AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::Relaxed);
            }
        }
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let _waiting = Waiting(&self.waiting);
        // A waiter that gives up drops its receiver: a permit sent to it meanwhile is
        // dropped with the channel, and so goes to the next waiter.
        rx.await.map_err(|_| HashError::Task)
    }

    /// Hands a released thread to the first live waiter of the highest priority, or
    /// returns it to the pool.
    fn release(pool: Arc<Self>) {
        let mut permit = Permit(Some(pool.clone()));
        let mut gate = pool.gate();
        for q in 0..PRIORITIES {
            while let Some(tx) = gate.queues.get_mut(q).and_then(|q| q.pop_front()) {
                match tx.send(permit) {
                    Ok(()) => return,
                    // That waiter gave up: try the next one.
                    Err(back) => permit = back,
                }
            }
        }
        gate.free += 1;
        // The permit is accounted for in `free`: dropping it must not release again.
        permit.0 = None;
    }
}

async fn run<T: Send + 'static>(
    permits: &Arc<Permits>,
    priority: Priority,
    job: impl FnOnce() -> T + Send + 'static,
) -> Result<T, HashError> {
    let _permit = tokio::time::timeout(QUEUE_TIMEOUT, permits.acquire(priority))
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
        let hash = h.hash("secret", Priority::Login).await.unwrap();
        assert!(
            h.verify("secret", Some(&hash), Priority::Login)
                .await
                .unwrap()
        );
        assert!(
            !h.verify("secreT", Some(&hash), Priority::Login)
                .await
                .unwrap()
        );
        assert!(!h.verify("secret", None, Priority::Login).await.unwrap());
        assert!(
            !h.verify("secret", Some("not a bcrypt hash"), Priority::Login)
                .await
                .unwrap()
        );
        assert_eq!(h.clone().verifications(), 4);
        let (a, r) = h.hash_new_account("one", "two").await.unwrap();
        assert!(h.verify("one", Some(&a), Priority::Login).await.unwrap());
        assert!(h.verify("two", Some(&r), Priority::Login).await.unwrap());
    }

    #[tokio::test]
    async fn the_registration_lane_refuses_past_its_queue() {
        let h = Hasher::new(4, 1).await.unwrap();
        // Hold the only lane thread, fill its queue, then one more is refused at once.
        let held = h.registrations.enter().await.unwrap();
        let mut waiters = Vec::new();
        for _ in 0..REGISTRATION_QUEUE_PER_THREAD {
            let h = h.clone();
            waiters.push(tokio::spawn(async move {
                h.hash_new_account("a", "b").await.map(drop)
            }));
        }
        while h.registrations.waiting.load(Ordering::Acquire) < REGISTRATION_QUEUE_PER_THREAD {
            tokio::task::yield_now().await;
        }
        assert!(matches!(
            h.hash_new_account("a", "b").await,
            Err(HashError::RegistrationsBusy)
        ));
        // Logins do not use the lane: they are not refused.
        assert!(!h.verify("x", None, Priority::Login).await.unwrap());
        drop(held);
        for w in waiters {
            w.await.unwrap().unwrap();
        }
        assert_eq!(h.registrations.waiting.load(Ordering::Acquire), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn counts_waiting_jobs_and_busy_threads() {
        // One thread at cost 10 (tens of ms a job): three jobs, two of them wait.
        let h = Hasher::new(10, 1).await.unwrap();
        assert_eq!((h.queued(), h.busy(), h.threads()), (0, 0, 1));
        let jobs: Vec<_> = (0..3)
            .map(|_| {
                let h = h.clone();
                tokio::spawn(async move { h.hash("secret", Priority::Login).await })
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

    #[tokio::test]
    async fn a_free_thread_goes_to_the_highest_priority_waiting() {
        let pool = Permits::new(1);
        let held = pool.acquire(Priority::Login).await.unwrap();
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut waiters = Vec::new();
        // Lower priorities arrive first; the trusted one last.
        for p in [Priority::Registration, Priority::Login, Priority::Trusted] {
            let (mine, order) = (pool.clone(), order.clone());
            waiters.push(tokio::spawn(async move {
                let _permit = mine.acquire(p).await.unwrap();
                order.lock().unwrap().push(p);
            }));
            while pool.waiting.load(Ordering::Relaxed) < waiters.len() {
                tokio::task::yield_now().await;
            }
        }
        // A waiter that gives up does not take a thread with it.
        let gave_up =
            tokio::time::timeout(Duration::from_millis(10), pool.acquire(Priority::Trusted)).await;
        assert!(gave_up.is_err());
        drop(held);
        for w in waiters {
            w.await.unwrap();
        }
        assert_eq!(
            *order.lock().unwrap(),
            [Priority::Trusted, Priority::Login, Priority::Registration]
        );
        assert_eq!(pool.free(), 1);
    }
}
