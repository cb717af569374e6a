//! Single-use registration invites, stored as hashes of their tokens.

use super::{Store, StoreResult};

impl Store {
    /// Stores a new invite.
    pub async fn create_invite(
        &self,
        token_hash: &str,
        created_by: &str,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO invites (token_hash, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(created_by)
        .bind(now)
        .bind(expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Whether an invite exists, is unused and unexpired (without using it).
    pub async fn invite_usable(&self, token_hash: &str, now: i64) -> StoreResult<bool> {
        let row = sqlx::query(
            "SELECT 1 AS ok FROM invites WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.is_some())
    }

    /// Uses an invite once. Returns false if unknown, expired or already used.
    pub async fn use_invite(
        &self,
        token_hash: &str,
        username: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE invites SET used_at = $1, used_by = $2
             WHERE token_hash = $3 AND used_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(username)
        .bind(token_hash)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }
}
