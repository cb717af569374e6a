//! What the bench binaries share: their environment knobs, the statistics they report,
//! random input files, CPU and memory readings from `/proc`, a server started as a
//! process of its own ([`process`]) and the request-rate load generator ([`load`]).
//! (A folder, so cargo does not take it for a bench of its own.)

#![allow(dead_code, clippy::indexing_slicing)]

pub mod load;
pub mod process;

use std::io::Write as _;
use std::path::Path;

/// Bytes in a MiB.
pub const MIB: u64 = 1 << 20;

/// An integer knob from the environment, or `default`.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The median (NaN for no values).
pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// The `p` quantile, nearest rank (NaN for no values).
pub fn pct(v: &[f64], p: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    if s.is_empty() {
        return f64::NAN;
    }
    let i = ((s.len() as f64 - 1.0) * p).round() as usize;
    s[i.min(s.len() - 1)]
}

/// The smallest and largest value (infinities for no values).
pub fn range(v: &[f64]) -> (f64, f64) {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (lo, hi)
}

/// Writes `len` random bytes to a new file at `path`, fsynced.
pub fn write_random_file(path: &Path, len: u64) {
    let mut f = std::fs::File::create(path).expect("creating the random file");
    let mut buf = vec![0u8; (8 * MIB) as usize];
    let mut left = len;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        cofre_core::primitives::rand::fill(&mut buf[..n]).expect("random bytes");
        f.write_all(&buf[..n]).expect("writing the random file");
        left -= n as u64;
    }
    f.sync_all().expect("syncing the random file");
}
