//! Failure counters for online-guessing defence, keyed by account or client address.
//! Counters live in the database so every replica sees the same ones.

use sqlx::Row as _;

use super::{Store, StoreResult, optional};

/// A counter's state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counter {
    /// Consecutive failures.
    pub failures: i64,
    /// Locked until this time (0 when not locked).
    pub locked_until: i64,
}

impl Store {
    /// The counter for `key`, if any.
    pub async fn throttle_counter(&self, key: &str) -> StoreResult<Counter> {
        let row = optional(
            sqlx::query("SELECT failures, locked_until FROM throttle WHERE key = $1")
                .bind(key)
                .fetch_one(self.pool())
                .await,
        )?;
        Ok(match row {
            None => Counter::default(),
            Some(r) => Counter {
                failures: r.try_get("failures")?,
                locked_until: r.try_get("locked_until")?,
            },
        })
    }

    /// Adds one failure atomically and returns the new count.
    pub async fn throttle_fail(&self, key: &str, now: i64) -> StoreResult<i64> {
        Ok(sqlx::query(
            "INSERT INTO throttle (key, failures, locked_until, updated_at) VALUES ($1, 1, 0, $2)
             ON CONFLICT (key) DO UPDATE SET failures = throttle.failures + 1, updated_at = $2
             RETURNING failures",
        )
        .bind(key)
        .bind(now)
        .fetch_one(self.pool())
        .await?
        .try_get("failures")?)
    }

    /// Sets the lock time of a counter.
    pub async fn throttle_lock(&self, key: &str, until: i64) -> StoreResult<()> {
        sqlx::query("UPDATE throttle SET locked_until = $1 WHERE key = $2")
            .bind(until)
            .bind(key)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Forgets a counter (after a successful login, or an admin unlock).
    pub async fn throttle_reset(&self, key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM throttle WHERE key = $1")
            .bind(key)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
