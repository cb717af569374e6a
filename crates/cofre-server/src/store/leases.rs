//! Leases: at most one holder per named job across every server sharing the database.

use super::{Store, StoreResult};

impl Store {
    /// Takes (or renews) the lease `name` for `holder` until `until`, if it is free,
    /// expired at `now`, or already held by `holder`. Returns whether `holder` holds
    /// it. One statement: two servers asking at once cannot both get it.
    pub async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: i64,
        until: i64,
    ) -> StoreResult<bool> {
        let row = super::optional(
            sqlx::query(
                "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO UPDATE SET holder = $2, expires_at = $3
                 WHERE leases.expires_at <= $4 OR leases.holder = $2
                 RETURNING holder",
            )
            .bind(name)
            .bind(holder)
            .bind(until)
            .bind(now)
            .fetch_one(self.pool())
            .await,
        )?;
        Ok(row.is_some())
    }

    /// Gives the lease `name` back, if `holder` holds it.
    pub async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Gives back every lease `holder` holds; returns how many. Called at start with
    /// this server's own stable id (see [`crate::lease::Instance`]): what it finds was
    /// left by its previous life, which crashed.
    pub async fn release_leases_of(&self, holder: &str) -> StoreResult<u64> {
        let r = sqlx::query("DELETE FROM leases WHERE holder = $1")
            .bind(holder)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected())
    }
}
