//! Guessing-defence budgets as token buckets, keyed by account, client address, device
//! or session. The buckets live in the database so every replica spends the same ones,
//! and taking a token is one conditional upsert: checking the budget and spending it
//! cannot be split by a concurrent request, on SQLite or on PostgreSQL.
//!
//! A bucket is one number, `full_at_ms`: when it will be full again. With a refill
//! interval `T` and a capacity `C`, an attempt at `now` moves it to
//! `max(full_at_ms, now) + T`, and is allowed only if that stays at most `now + C * T`
//! (a generic cell rate algorithm: no timer, no separate refill step).

use sqlx::Row as _;

use super::{Store, StoreResult, optional};

/// A bucket's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bucket {
    /// Attempts a full bucket allows at once (at least 1).
    pub capacity: i64,
    /// Milliseconds for one attempt to come back (at least 1).
    pub refill_ms: i64,
}

impl Store {
    /// Takes one attempt from the bucket `key` at `now_ms`, atomically. `None`: taken;
    /// `Some(ms)`: the bucket is empty, and one attempt comes back in `ms`.
    pub async fn throttle_take(
        &self,
        key: &str,
        bucket: Bucket,
        now_ms: i64,
    ) -> StoreResult<Option<i64>> {
        let limit = now_ms.saturating_add(bucket.capacity.saturating_mul(bucket.refill_ms));
        let taken = sqlx::query(
            "INSERT INTO throttle (key, full_at_ms) VALUES ($1, $2 + $3)
             ON CONFLICT (key) DO UPDATE
             SET full_at_ms = (CASE WHEN throttle.full_at_ms > $2 THEN throttle.full_at_ms ELSE $2 END) + $3
             WHERE (CASE WHEN throttle.full_at_ms > $2 THEN throttle.full_at_ms ELSE $2 END) + $3 <= $4
             RETURNING full_at_ms",
        )
        .bind(key)
        .bind(now_ms)
        .bind(bucket.refill_ms)
        .bind(limit)
        .fetch_optional(self.pool())
        .await?;
        if taken.is_some() {
            return Ok(None);
        }
        // Refused: how long until the next attempt fits (informative, read after).
        let row = optional(
            sqlx::query("SELECT full_at_ms FROM throttle WHERE key = $1")
                .bind(key)
                .fetch_one(self.pool())
                .await,
        )?;
        let full_at: i64 = match row {
            Some(r) => r.try_get("full_at_ms")?,
            None => now_ms,
        };
        Ok(Some(
            full_at
                .saturating_add(bucket.refill_ms)
                .saturating_sub(limit)
                .max(1),
        ))
    }

    /// Gives back one attempt taken from `key` (the credential was right).
    pub async fn throttle_give_back(&self, key: &str, bucket: Bucket) -> StoreResult<()> {
        sqlx::query("UPDATE throttle SET full_at_ms = full_at_ms - $2 WHERE key = $1")
            .bind(key)
            .bind(bucket.refill_ms)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Refills a bucket completely (an admin unlock).
    pub async fn throttle_reset(&self, key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM throttle WHERE key = $1")
            .bind(key)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
