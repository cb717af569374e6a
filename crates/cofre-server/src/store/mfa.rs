//! TOTP secrets (sealed with the server's at-rest key), the last accepted time step, and
//! one-time recovery codes (stored as keyed hashes).

use sqlx::Row as _;

use super::{Store, StoreResult, optional};

/// A user's TOTP row.
#[derive(Clone, Debug)]
pub struct TotpRow {
    /// The secret, sealed (text form).
    pub secret_sealed: String,
    /// Confirmed and active.
    pub enabled: bool,
    /// The last accepted step (codes at or below it are replays).
    pub last_step: i64,
}

impl Store {
    /// The TOTP row of a user.
    pub async fn totp(&self, user_id: &str) -> StoreResult<Option<TotpRow>> {
        let row = optional(
            sqlx::query(
                "SELECT secret_sealed, enabled, last_step FROM mfa_totp WHERE user_id = $1",
            )
            .bind(user_id)
            .fetch_one(self.pool())
            .await,
        )?;
        Ok(match row {
            None => None,
            Some(r) => Some(TotpRow {
                secret_sealed: r.try_get("secret_sealed")?,
                enabled: r.try_get::<i64, _>("enabled")? != 0,
                last_step: r.try_get("last_step")?,
            }),
        })
    }

    /// Stores a pending (unconfirmed) secret, replacing any earlier pending one. Refuses
    /// (returns false) when TOTP is already enabled.
    pub async fn put_pending_totp(
        &self,
        user_id: &str,
        sealed: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let r = sqlx::query(
            "INSERT INTO mfa_totp (user_id, secret_sealed, enabled, last_step, created_at)
             VALUES ($1, $2, 0, 0, $3)
             ON CONFLICT (user_id) DO UPDATE SET secret_sealed = $2, last_step = 0, created_at = $3
             WHERE mfa_totp.enabled = 0",
        )
        .bind(user_id)
        .bind(sealed)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Records `step` as used, only if it is newer than the last one. Returns false for
    /// a replayed (or older) step. Atomic, so two requests cannot both use one code.
    pub async fn use_totp_step(&self, user_id: &str, step: i64) -> StoreResult<bool> {
        let r =
            sqlx::query("UPDATE mfa_totp SET last_step = $1 WHERE user_id = $2 AND last_step < $1")
                .bind(step)
                .bind(user_id)
                .execute(self.pool())
                .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Activates a pending secret and replaces the recovery codes, in one transaction.
    pub async fn enable_totp(&self, user_id: &str, code_tags: &[String]) -> StoreResult<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("UPDATE mfa_totp SET enabled = 1 WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        replace_codes(&mut tx, user_id, code_tags).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes TOTP and every recovery code.
    pub async fn disable_totp(&self, user_id: &str) -> StoreResult<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM mfa_totp WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        replace_codes(&mut tx, user_id, &[]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces the recovery codes.
    pub async fn replace_recovery_codes(
        &self,
        user_id: &str,
        code_tags: &[String],
    ) -> StoreResult<()> {
        let mut tx = self.pool().begin().await?;
        replace_codes(&mut tx, user_id, code_tags).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Uses a recovery code once. Returns false if unknown or already used.
    pub async fn use_recovery_code(&self, user_id: &str, tag: &str, now: i64) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE mfa_recovery_codes SET used_at = $1 WHERE user_id = $2 AND tag = $3 AND used_at IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .bind(tag)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Unused recovery codes left.
    pub async fn recovery_codes_left(&self, user_id: &str) -> StoreResult<i64> {
        Ok(sqlx::query(
            "SELECT COUNT(*) AS n FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(user_id)
        .fetch_one(self.pool())
        .await?
        .try_get("n")?)
    }
}

async fn replace_codes(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: &str,
    tags: &[String],
) -> StoreResult<()> {
    sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    for tag in tags {
        sqlx::query("INSERT INTO mfa_recovery_codes (user_id, tag) VALUES ($1, $2)")
            .bind(user_id)
            .bind(tag)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
