//! Keeping the agent's secrets out of core dumps and swap.
//!
//! - [`no_core_dumps`]: RLIMIT_CORE set to 0 (soft and hard, so it cannot be raised
//!   again), and on Linux `PR_SET_DUMPABLE` 0, which also stops other processes of the
//!   same user from attaching a debugger or reading `/proc/PID/mem`.
//! - [`Locked`]: the pages holding the held session's secrets (the user key, the
//!   access token, the refresh token) locked in RAM with `mlock`, so they are never
//!   written to swap. Only those pages are locked, not the whole process: locking
//!   everything (`mlockall`) would count the binary and the runtime against
//!   RLIMIT_MEMLOCK and make later allocations fail. Copies that exist only briefly
//!   while a request is parsed or answered (zeroized afterwards) are not locked.

/// Turns core dumps off for this process.
pub(crate) fn no_core_dumps() -> std::io::Result<()> {
    use rustix::process::{Resource, Rlimit, setrlimit};
    setrlimit(
        Resource::Core,
        Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    )?;
    #[cfg(target_os = "linux")]
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)?;
    Ok(())
}

/// Locks on the pages of some secret buffers, released together on drop (`mlock`
/// does not count: releasing one lock of a page releases every lock on it, so the
/// locks of one set of buffers are dropped before another set is taken).
#[derive(Default)]
pub(crate) struct Locked {
    _guards: Vec<region::LockGuard>,
}

impl Locked {
    /// Locks every non-empty buffer in `secrets`; on the first failure (typically
    /// RLIMIT_MEMLOCK, or a system without `mlock`) releases what it took and says why.
    pub(crate) fn lock(secrets: &[&[u8]]) -> Result<Self, region::Error> {
        let mut guards = Vec::with_capacity(secrets.len());
        for s in secrets.iter().filter(|s| !s.is_empty()) {
            guards.push(region::lock(s.as_ptr(), s.len())?);
        }
        Ok(Self { _guards: guards })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn core_dumps_go_off_and_secrets_lock() {
        let secret = vec![7u8; 10_000];
        // A system may refuse (RLIMIT_MEMLOCK 0): the agent then warns.
        if let Ok(l) = Locked::lock(&[&secret, &[]]) {
            assert_eq!(l._guards.len(), 1);
        }
        no_core_dumps().unwrap();
        let core = rustix::process::getrlimit(rustix::process::Resource::Core);
        assert_eq!((core.current, core.maximum), (Some(0), Some(0)));
    }
}
