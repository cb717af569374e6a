//! Leases held by this server: a named right, recorded in the database, that at most one
//! server sharing the database holds at a time ([`crate::store::leases`]). A [`Lease`]
//! renews itself in the background while it is held and is given back when dropped; a
//! server that dies leaves a lease that expires after its time-to-live.

use std::time::Duration;

use crate::store::{Store, StoreResult};

/// A lease this server holds. [`Lease::release`] gives it back before returning;
/// dropping it stops the renewal and gives it back in the background.
#[derive(Debug)]
pub struct Lease {
    store: Store,
    name: String,
    holder: String,
    renew: tokio::task::JoinHandle<()>,
    released: bool,
}

impl Lease {
    /// Takes the lease `name` for `holder` for `ttl_secs` seconds, renewed every third
    /// of that while held; `None` when another holder has it.
    pub async fn try_take(
        store: &Store,
        name: &str,
        holder: &str,
        ttl_secs: i64,
    ) -> StoreResult<Option<Self>> {
        let now = crate::clock::now();
        if !store.take_lease(name, holder, now, now + ttl_secs).await? {
            return Ok(None);
        }
        let every = Duration::from_secs(u64::try_from(ttl_secs / 3).unwrap_or(1).max(1));
        let (s, n, h) = (store.clone(), name.to_owned(), holder.to_owned());
        let renew = tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let now = crate::clock::now();
                match s.take_lease(&n, &h, now, now + ttl_secs).await {
                    Ok(true) => {}
                    Ok(false) => tracing::error!(lease = %n, "a lease was taken by another server"),
                    Err(e) => tracing::warn!(lease = %n, error = %e, "could not renew a lease"),
                }
            }
        });
        Ok(Some(Self {
            store: store.clone(),
            name: name.to_owned(),
            holder: holder.to_owned(),
            renew,
            released: false,
        }))
    }

    /// Gives the lease back now, so another server can take it as soon as this returns
    /// (a failure is logged: the lease then expires by itself).
    pub async fn release(mut self) {
        self.renew.abort();
        self.released = true;
        if let Err(e) = self.store.release_lease(&self.name, &self.holder).await {
            tracing::warn!(lease = %self.name, error = %e, "could not give a lease back; it expires by itself");
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renew.abort();
        if self.released {
            return;
        }
        let (store, name, holder) = (
            self.store.clone(),
            std::mem::take(&mut self.name),
            std::mem::take(&mut self.holder),
        );
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = store.release_lease(&name, &holder).await {
                    tracing::warn!(lease = %name, error = %e, "could not give a lease back; it expires by itself");
                }
            });
        }
    }
}

/// This server's identity as a lease holder: stable across restarts on the same data
/// directory, so that a server restarted after a crash can give back the leases its
/// previous life held (uploads it was writing) instead of leaving clients to wait for
/// them to expire.
///
/// The identity is one of the slots `DATA/instances/<n>` (a file holding a random id),
/// claimed with an exclusive advisory lock held as long as this value lives: a server
/// takes the lowest slot no live process holds. A crashed server's lock dies with it,
/// so its successor takes the same slot and the same id; two live servers sharing a
/// data directory (SQLite replicas) hold two slots, and servers on their own data
/// directories (PostgreSQL replicas) have ids of their own, so none ever releases
/// another live server's leases.
#[derive(Debug)]
pub struct Instance {
    /// The holder id written into leases.
    pub id: String,
    _lock: std::fs::File,
}

/// Most slots tried before giving up (as many live servers on one data directory).
const MAX_SLOTS: u32 = 64;

impl Instance {
    /// Claims the lowest free slot under `data_dir/instances`, creating it (and its
    /// random id) when new.
    pub fn claim(data_dir: &std::path::Path) -> std::io::Result<Self> {
        use std::io::{Read as _, Write as _};
        use std::os::unix::fs::OpenOptionsExt as _;
        let dir = data_dir.join("instances");
        let mut b = std::fs::DirBuilder::new();
        std::os::unix::fs::DirBuilderExt::mode(b.recursive(true), 0o700);
        b.create(&dir)?;
        for slot in 0..MAX_SLOTS {
            let path = dir.join(slot.to_string());
            let mut file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(&path)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => continue,
                Err(std::fs::TryLockError::Error(e)) => return Err(e),
            }
            let mut id = String::new();
            file.read_to_string(&mut id)?;
            let id = id.trim().to_owned();
            let valid = id.len() >= 16
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            let id = if valid {
                id
            } else {
                let fresh = crate::auth::tokens::random_id()
                    .map_err(|e| std::io::Error::other(e.to_string()))?;
                file.set_len(0)?;
                file.write_all(fresh.as_bytes())?;
                file.sync_all()?;
                fresh
            };
            return Ok(Self { id, _lock: file });
        }
        Err(std::io::Error::other(format!(
            "{MAX_SLOTS} servers already hold the instance slots in {}",
            dir.display()
        )))
    }
}
