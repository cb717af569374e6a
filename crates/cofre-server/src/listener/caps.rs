//! Connection caps: how many connections the server holds at once, in all and per
//! client address. A connection over a cap is closed as soon as it is accepted, so
//! it never waits in the kernel's backlog and never slows the connections already
//! accepted.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use crate::config::IpNet;

/// The open connections, counted in all and per direct TCP peer address.
#[derive(Debug)]
pub(crate) struct Caps {
    max_total: usize,
    max_per_address: usize,
    /// Peers the per-address cap does not apply to (trusted reverse proxies carry
    /// many clients' connections); they still count towards the global cap.
    exempt: Vec<IpNet>,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The server holds its maximum number of connections.
    Total,
    /// This address holds its maximum number of connections.
    Address,
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
pub(crate) struct Permit {
    caps: Arc<Caps>,
    addr: IpAddr,
}

impl Caps {
    /// Caps of `max_total` connections in all and `max_per_address` per address.
    pub(crate) fn new(max_total: usize, max_per_address: usize, exempt: Vec<IpNet>) -> Arc<Self> {
        Arc::new(Self {
            max_total,
            max_per_address,
            exempt,
            open: Mutex::default(),
        })
    }

    /// Takes a place for a connection from `addr`, or says which cap is full.
    pub(crate) fn admit(self: &Arc<Self>, addr: IpAddr) -> Result<Permit, Refused> {
        let addr = canonical(addr);
        let capped = !self.exempt.iter().any(|n| n.contains(addr));
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.total >= self.max_total {
            return Err(Refused::Total);
        }
        let here = open.by_address.get(&addr).copied().unwrap_or(0);
        if capped && here >= self.max_per_address {
            return Err(Refused::Address);
        }
        open.total += 1;
        open.by_address.insert(addr, here + 1);
        Ok(Permit {
            caps: Arc::clone(self),
            addr,
        })
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut open = self
            .caps
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.by_address.get_mut(&self.addr) {
            *n -= 1;
            if *n == 0 {
                open.by_address.remove(&self.addr);
            }
        }
    }
}

/// An IPv4 address mapped into IPv6 counts as the IPv4 address.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn caps_count_per_address_and_in_all_and_free_on_drop() {
        let caps = Caps::new(3, 2, Vec::new());
        let a1 = caps.admit(ip("10.0.0.1")).unwrap();
        let _a2 = caps.admit(ip("10.0.0.1")).unwrap();
        assert_eq!(caps.admit(ip("10.0.0.1")).unwrap_err(), Refused::Address);
        assert_eq!(
            caps.admit(ip("::ffff:10.0.0.1")).unwrap_err(),
            Refused::Address
        );
        let _b = caps.admit(ip("10.0.0.2")).unwrap();
        assert_eq!(caps.admit(ip("10.0.0.3")).unwrap_err(), Refused::Total);
        drop(a1);
        let _a3 = caps.admit(ip("10.0.0.1")).unwrap();
        // A refused address leaves no entry behind; freed places are counted back.
        let open = caps.open.lock().unwrap();
        assert!(!open.by_address.contains_key(&ip("10.0.0.3")));
        assert_eq!((open.total, open.by_address[&ip("10.0.0.1")]), (3, 2));
    }

    #[test]
    fn trusted_proxies_are_not_capped_per_address() {
        let caps = Caps::new(10, 1, vec!["10.1.0.0/16".parse().unwrap()]);
        let _p1 = caps.admit(ip("10.1.2.3")).unwrap();
        let _p2 = caps.admit(ip("10.1.2.3")).unwrap();
        let _c = caps.admit(ip("10.2.0.1")).unwrap();
        assert_eq!(caps.admit(ip("10.2.0.1")).unwrap_err(), Refused::Address);
    }
}
