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

/// A random id for this server process, naming it as a lease holder.
pub fn instance_id() -> String {
    crate::auth::tokens::random_id().unwrap_or_else(|_| format!("pid-{}", std::process::id()))
}
