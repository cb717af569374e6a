//! Per-address rate limits for anonymous routes (registration, prelogin): an
//! in-process keyed token bucket, with no database write per request.
//!
//! Each client address has a bucket of `burst` tokens that refills one token every
//! `refill` interval; a request takes a token or is refused with the time until the
//! next one. IPv6 clients are keyed by their /64 (one subscriber's usual allocation),
//! so rotating addresses inside it does not buy new buckets.
//!
//! Memory is bounded: a bucket that has refilled to `burst` is the same as no bucket,
//! so such buckets are dropped at each sweep (once a minute, and at most once a second
//! while the map is at its key cap). When the map is still at its cap after a sweep, new
//! addresses share one overflow bucket: a flood from very many addresses then slows
//! newcomers instead of growing memory or bypassing the limit.
//!
//! The buckets live in one server process: with several replicas each keeps its own
//! (see docs/ACCOUNTS.md for why that is acceptable).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many addresses are tracked before new ones share the overflow bucket.
pub const MAX_KEYS: usize = 100_000;

/// How often full buckets are swept out.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// How often, at most, a map at its cap is swept (a sweep walks every key).
const SWEEP_WHEN_FULL_EVERY: Duration = Duration::from_secs(1);

/// A keyed token-bucket limiter.
#[derive(Debug)]
pub struct RateLimiter {
    burst: f64,
    refill: Duration,
    max_keys: usize,
    inner: Mutex<Buckets>,
}

#[derive(Debug)]
struct Buckets {
    map: HashMap<Key, Bucket>,
    overflow: Bucket,
    last_sweep: Instant,
}

/// A bucket: tokens left as of `at`.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// A client address as a limiter key: IPv4 whole, IPv6 by /64, anything else (no
/// connection info) as its text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Ip(IpAddr),
    Other(String),
}

impl Key {
    fn of(addr: &str) -> Self {
        match addr.parse::<IpAddr>() {
            Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::Ip(IpAddr::V4(v4)),
                None => {
                    let prefix = u128::from(v6) & (u128::MAX << 64);
                    Self::Ip(IpAddr::V6(prefix.into()))
                }
            },
            Ok(v4) => Self::Ip(v4),
            Err(_) => Self::Other(addr.to_owned()),
        }
    }
}

impl RateLimiter {
    /// `burst` requests at once, then one per `refill`, per address.
    pub fn new(burst: u32, refill: Duration) -> Self {
        Self::with_max_keys(burst, refill, MAX_KEYS)
    }

    /// Like [`RateLimiter::new`], tracking at most `max_keys` addresses (a map at its
    /// cap is swept at most once a second; new addresses meanwhile share the overflow
    /// bucket).
    pub fn with_max_keys(burst: u32, refill: Duration, max_keys: usize) -> Self {
        let now = Instant::now();
        let burst = f64::from(burst.max(1));
        Self {
            burst,
            refill: refill.max(Duration::from_millis(1)),
            max_keys: max_keys.max(1),
            inner: Mutex::new(Buckets {
                map: HashMap::new(),
                overflow: Bucket {
                    tokens: burst,
                    at: now,
                },
                last_sweep: now,
            }),
        }
    }

    /// Takes a token for `addr`: `Ok` if allowed, else the whole seconds (at least 1)
    /// until the next token.
    pub fn check(&self, addr: &str) -> Result<(), u64> {
        self.check_at(addr, Instant::now())
    }

    fn check_at(&self, addr: &str, now: Instant) -> Result<(), u64> {
        let key = Key::of(addr);
        let mut g = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (burst, refill) = (self.burst, self.refill);
        let since = now.saturating_duration_since(g.last_sweep);
        if since >= SWEEP_EVERY
            || (since >= SWEEP_WHEN_FULL_EVERY
                && g.map.len() >= self.max_keys
                && !g.map.contains_key(&key))
        {
            g.map
                .retain(|_, b| refilled(*b, now, burst, refill).tokens < burst);
            g.last_sweep = now;
        }
        let full = Bucket {
            tokens: burst,
            at: now,
        };
        let bucket = if g.map.len() < self.max_keys || g.map.contains_key(&key) {
            g.map.entry(key).or_insert(full)
        } else {
            &mut g.overflow
        };
        let mut b = refilled(*bucket, now, burst, refill);
        let answer = if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let wait = refill.as_secs_f64() * (1.0 - b.tokens);
            // Whole seconds for Retry-After, rounded up; at least 1.
            Err(wait.ceil().max(1.0) as u64)
        };
        *bucket = b;
        answer
    }

    /// How many addresses have a bucket now (for tests).
    pub fn tracked(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .map
            .len()
    }
}

/// `b` with the tokens earned since its time added (capped at `burst`).
fn refilled(b: Bucket, now: Instant, burst: f64, refill: Duration) -> Bucket {
    let earned = now.saturating_duration_since(b.at).as_secs_f64() / refill.as_secs_f64();
    Bucket {
        tokens: (b.tokens + earned).min(burst),
        at: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill_per_address() {
        let l = RateLimiter::new(3, Duration::from_secs(10));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(l.check_at("198.51.100.1", t0), Ok(()));
        }
        assert_eq!(l.check_at("198.51.100.1", t0), Err(10));
        // Another address has its own bucket.
        assert_eq!(l.check_at("198.51.100.2", t0), Ok(()));
        // 5 s later: 5 s to go; 10 s later: one token.
        assert_eq!(
            l.check_at("198.51.100.1", t0 + Duration::from_secs(5)),
            Err(5)
        );
        assert_eq!(
            l.check_at("198.51.100.1", t0 + Duration::from_secs(10)),
            Ok(())
        );
        assert_eq!(
            l.check_at("198.51.100.1", t0 + Duration::from_secs(10)),
            Err(10)
        );
    }

    #[test]
    fn ipv6_is_keyed_by_its_64_and_mapped_ipv4_as_ipv4() {
        let l = RateLimiter::new(1, Duration::from_secs(60));
        let t0 = Instant::now();
        assert_eq!(l.check_at("2001:db8:1:2::1", t0), Ok(()));
        assert!(l.check_at("2001:db8:1:2:ffff::9", t0).is_err());
        assert_eq!(l.check_at("2001:db8:1:3::1", t0), Ok(()));
        assert_eq!(l.check_at("203.0.113.5", t0), Ok(()));
        assert!(l.check_at("::ffff:203.0.113.5", t0).is_err());
    }

    #[test]
    fn memory_is_bounded_and_overflow_is_still_limited() {
        let l = RateLimiter::with_max_keys(2, Duration::from_secs(60), 10);
        let t0 = Instant::now();
        for i in 0..10 {
            assert_eq!(l.check_at(&format!("10.0.0.{i}"), t0), Ok(()));
        }
        assert_eq!(l.tracked(), 10);
        // The map is full of half-spent buckets: newcomers share the overflow bucket.
        assert_eq!(l.check_at("10.0.1.1", t0), Ok(()));
        assert_eq!(l.check_at("10.0.1.2", t0), Ok(()));
        assert!(l.check_at("10.0.1.3", t0).is_err());
        assert_eq!(l.tracked(), 10);
        // Once the buckets have refilled, they are swept and newcomers get their own.
        let later = t0 + Duration::from_secs(120);
        assert_eq!(l.check_at("10.0.2.1", later), Ok(()));
        assert_eq!(l.tracked(), 1);
    }
}
