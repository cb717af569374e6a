//! Accounts: credentials (bcrypt hashes), public key material, role, lock flag.

use cofre_api::Role;
use cofre_core::keys::AccountKeys;
use sqlx::Row as _;
use sqlx::any::AnyRow;

use super::{Store, StoreError, StoreResult, is_unique_violation, optional};

/// An account row.
#[derive(Clone, Debug)]
pub struct User {
    /// Id (random, hex).
    pub id: String,
    /// Normalized username.
    pub username: String,
    /// bcrypt of the auth key.
    pub auth_hash: String,
    /// bcrypt of the recovery auth key.
    pub recovery_hash: String,
    /// Public keys and ciphertext.
    pub keys: AccountKeys,
    /// Role.
    pub role: Role,
    /// Locked by an admin.
    pub locked: bool,
    /// Creation time.
    pub created_at: i64,
}

/// What registration inserts.
pub struct NewUser<'a> {
    /// Id.
    pub id: &'a str,
    /// Normalized username.
    pub username: &'a str,
    /// bcrypt of the auth key.
    pub auth_hash: &'a str,
    /// bcrypt of the recovery auth key.
    pub recovery_hash: &'a str,
    /// Key material.
    pub keys: &'a AccountKeys,
    /// Role; `None`: admin if this is the first account, user otherwise.
    pub role: Option<Role>,
}

/// Why an insert failed.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    /// The username exists.
    #[error("username taken")]
    Taken,
    /// Anything else.
    #[error(transparent)]
    Store(#[from] StoreError),
}

const COLUMNS: &str = "id, username, auth_hash, recovery_hash, keys_json, role, locked, created_at";

fn from_row(row: &AnyRow) -> StoreResult<User> {
    let keys_json: String = row.try_get("keys_json")?;
    let keys = serde_json::from_str(&keys_json).map_err(|e| StoreError::Corrupt {
        what: "account keys",
        reason: e.to_string(),
    })?;
    let role: String = row.try_get("role")?;
    Ok(User {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        auth_hash: row.try_get("auth_hash")?,
        recovery_hash: row.try_get("recovery_hash")?,
        keys,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt {
            what: "role",
            reason: role.clone(),
        })?,
        locked: row.try_get::<i64, _>("locked")? != 0,
        created_at: row.try_get("created_at")?,
    })
}

/// The PostgreSQL advisory lock key that serializes account creation (`"cofre"` and 1).
const REGISTRATION_LOCK: i64 = 0x636f_6672_6501;

impl Store {
    /// Inserts an account. If `role` is `None`, the first account ever becomes admin
    /// and later ones users (decided inside the insert, so two concurrent first
    /// registrations cannot both become admin).
    /// Returns the role stored.
    pub async fn create_user(&self, u: &NewUser<'_>, now: i64) -> Result<Role, CreateUserError> {
        let keys_json = serde_json::to_string(u.keys).map_err(|e| StoreError::Corrupt {
            what: "account keys",
            reason: e.to_string(),
        })?;
        // The "first account" test and the insert are one statement, and on PostgreSQL
        // that is not enough: under READ COMMITTED, concurrent first registrations each
        // see a table without the others' uncommitted rows, and all became admin. So
        // there the insert runs under a transaction-scoped advisory lock, taken by every
        // registration: the next one's statement starts after the previous committed,
        // and sees its row. SQLite has one writer at a time anyway.
        let mut tx = self.pool().begin().await.map_err(StoreError::from)?;
        if self.backend() == super::Backend::Postgres {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT pg_advisory_xact_lock({REGISTRATION_LOCK})"
            )))
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        }
        let r = sqlx::query(
            "INSERT INTO users (id, username, auth_hash, recovery_hash, keys_json, role, locked, created_at, updated_at)
             SELECT $1, $2, $3, $4, $5,
                    COALESCE($6, CASE WHEN EXISTS (SELECT 1 FROM users) THEN 'user' ELSE 'admin' END),
                    0, $7, $7
             RETURNING role",
        )
        .bind(u.id)
        .bind(u.username)
        .bind(u.auth_hash)
        .bind(u.recovery_hash)
        .bind(keys_json)
        .bind(u.role.map(Role::as_str))
        .bind(now)
        .fetch_one(&mut *tx)
        .await;
        match r {
            Ok(row) => {
                let role: String = row.try_get("role").map_err(StoreError::from)?;
                tx.commit().await.map_err(StoreError::from)?;
                Role::parse(&role).ok_or_else(|| {
                    CreateUserError::Store(StoreError::Corrupt {
                        what: "role",
                        reason: role,
                    })
                })
            }
            Err(e) if is_unique_violation(&e) => Err(CreateUserError::Taken),
            Err(e) => Err(StoreError::from(e).into()),
        }
    }

    /// The KDF parameter sets accounts use, as JSON text, with how many accounts use
    /// each (the same set may come back as several texts: compare them parsed).
    pub async fn kdf_counts(&self) -> StoreResult<Vec<(String, i64)>> {
        let sql = match self.backend() {
            super::Backend::Sqlite => {
                "SELECT json_extract(keys_json, '$.kdf') AS kdf, COUNT(*) AS n
                 FROM users GROUP BY 1"
            }
            super::Backend::Postgres => {
                "SELECT (keys_json::jsonb -> 'kdf')::text AS kdf, COUNT(*) AS n
                 FROM users GROUP BY 1"
            }
        };
        let rows = sqlx::query(sql).fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| Ok((r.try_get("kdf")?, r.try_get("n")?)))
            .collect()
    }

    /// How many accounts exist.
    pub async fn count_users(&self) -> StoreResult<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(self.pool())
            .await?
            .try_get("n")?)
    }

    /// An account by normalized username.
    pub async fn user_by_name(&self, username: &str) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE username = $1");
        let row = optional(
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(username)
                .fetch_one(self.pool())
                .await,
        )?;
        row.as_ref().map(from_row).transpose()
    }

    /// An account by id.
    pub async fn user_by_id(&self, id: &str) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
        let row = optional(
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_one(self.pool())
                .await,
        )?;
        row.as_ref().map(from_row).transpose()
    }

    /// Every account, by username.
    pub async fn list_users(&self) -> StoreResult<Vec<User>> {
        let sql = format!("SELECT {COLUMNS} FROM users ORDER BY username");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(from_row)
            .collect()
    }

    /// Replaces the password material: auth hash and the account keys (new salt, KDF
    /// parameters and password-wrapped user key). Returns whether the account exists.
    pub async fn set_password(
        &self,
        user_id: &str,
        auth_hash: &str,
        keys: &AccountKeys,
        now: i64,
    ) -> StoreResult<bool> {
        let keys_json = serde_json::to_string(keys).map_err(|e| StoreError::Corrupt {
            what: "account keys",
            reason: e.to_string(),
        })?;
        let r = sqlx::query(
            "UPDATE users SET auth_hash = $1, keys_json = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(auth_hash)
        .bind(keys_json)
        .bind(now)
        .bind(user_id)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Locks or unlocks an account. Returns whether it exists.
    pub async fn set_locked(&self, user_id: &str, locked: bool, now: i64) -> StoreResult<bool> {
        let r = sqlx::query("UPDATE users SET locked = $1, updated_at = $2 WHERE id = $3")
            .bind(i64::from(locked))
            .bind(now)
            .bind(user_id)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Deletes an account and (by cascade) its sessions, tokens and MFA data.
    pub async fn delete_user(&self, user_id: &str) -> StoreResult<bool> {
        let r = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(user_id)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() == 1)
    }
}
