//! Server-wide settings: changed at run time by admins (the MFA policy), or recorded
//! once (the check value of the server keys).

use sqlx::Row as _;

use super::{Store, StoreResult, optional};

/// Settings key of the "MFA required for every account" policy.
pub const MFA_REQUIRED: &str = "mfa_required";

impl Store {
    /// A setting's value.
    pub async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        let row = optional(
            sqlx::query("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_one(self.pool())
                .await,
        )?;
        Ok(match row {
            None => None,
            Some(r) => Some(r.try_get("value")?),
        })
    }

    /// Sets a setting.
    pub async fn set_setting(&self, key: &str, value: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = $2",
        )
        .bind(key)
        .bind(value)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Sets a setting unless it is set already (the first writer wins).
    pub async fn set_setting_once(&self, key: &str, value: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(value)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Whether every account must use MFA.
    pub async fn mfa_required(&self) -> StoreResult<bool> {
        Ok(is_true(self.setting(MFA_REQUIRED).await?.as_deref()))
    }
}

/// How a boolean setting reads: on only when set to exactly `true`.
pub(crate) fn is_true(value: Option<&str>) -> bool {
    value == Some("true")
}
