//! Sessions and their refresh tokens. A session is one login; its refresh tokens form a
//! chain (each used once). Presenting a used token revokes the session.

use cofre_api::Role;
use sqlx::Row as _;

use super::row::Columns;
use super::settings::MFA_REQUIRED;
use super::{Store, StoreError, StoreResult, optional};

/// A session row.
#[derive(Clone, Debug)]
pub struct Session {
    /// Id (the token's `sid`).
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// Absolute expiry.
    pub expires_at: i64,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
}

/// What looking up a refresh token finds.
#[derive(Clone, Debug)]
pub struct RefreshTokenRow {
    /// Its session.
    pub session: Session,
    /// When it was used (a second use is theft).
    pub used_at: Option<i64>,
}

/// The account of a session, as far as checking a request needs it (the full row,
/// with key material and hashes, is [`super::users::User`]).
#[derive(Clone, Debug)]
pub struct SessionUser {
    /// Id.
    pub id: String,
    /// Normalized username.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Locked by an admin.
    pub locked: bool,
}

/// Everything a request's authentication reads, as of one query: the session, its
/// account, whether that account has TOTP enabled, and the server's MFA policy.
#[derive(Clone, Debug)]
pub struct SessionAuth {
    /// The session.
    pub session: Session,
    /// Its account.
    pub user: SessionUser,
    /// Whether the account has confirmed (enabled) TOTP.
    pub mfa_enabled: bool,
    /// Whether the server requires MFA of every account (the `mfa_required` setting).
    pub mfa_required: bool,
}

/// What [`Store::session_auth`] runs (`$1` the session id, `$2` the policy's key).
const SESSION_AUTH: &str = "SELECT s.id, s.user_id, s.expires_at, s.revoked_at, \
        u.username, u.role, u.locked, \
        COALESCE(t.enabled, 0) AS mfa_enabled, \
        (SELECT value FROM settings WHERE key = $2) AS mfa_required \
     FROM sessions s \
     JOIN users u ON u.id = s.user_id \
     LEFT JOIN mfa_totp t ON t.user_id = s.user_id \
     WHERE s.id = $1";

fn session_auth_from(r: &impl Columns) -> StoreResult<SessionAuth> {
    let role = r.text("role")?;
    let user_id = r.text("user_id")?;
    Ok(SessionAuth {
        user: SessionUser {
            id: user_id.clone(),
            username: r.text("username")?,
            role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt {
                what: "role",
                reason: role.clone(),
            })?,
            locked: r.int("locked")? != 0,
        },
        session: Session {
            id: r.text("id")?,
            user_id,
            expires_at: r.int("expires_at")?,
            revoked_at: r.opt_int("revoked_at")?,
        },
        mfa_enabled: r.int("mfa_enabled")? != 0,
        mfa_required: super::settings::is_true(r.opt_text("mfa_required")?.as_deref()),
    })
}

impl Store {
    /// A session with its account, the account's TOTP state and the MFA policy, in
    /// one round trip (what every authenticated request reads). `None` when there is
    /// no such session (or its account is gone). Nothing here is cached: each call
    /// reads the database as it is now.
    pub async fn session_auth(&self, id: &str) -> StoreResult<Option<SessionAuth>> {
        if let Some(found) = self.point_read(
            SESSION_AUTH,
            rusqlite::named_params! { "$1": id, "$2": MFA_REQUIRED },
            |r| session_auth_from(r),
        ) {
            return found;
        }
        let row = optional(
            sqlx::query(SESSION_AUTH)
                .bind(id)
                .bind(MFA_REQUIRED)
                .fetch_one(self.pool())
                .await,
        )?;
        row.as_ref().map(session_auth_from).transpose()
    }

    /// Creates a session with its first refresh token.
    pub async fn create_session(
        &self,
        session: &Session,
        refresh_hash: &str,
        address: Option<&str>,
        now: i64,
    ) -> StoreResult<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO sessions (id, user_id, created_at, expires_at, address) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&session.id)
        .bind(&session.user_id)
        .bind(now)
        .bind(session.expires_at)
        .bind(address)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(refresh_hash)
        .bind(&session.id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A session by id.
    pub async fn session(&self, id: &str) -> StoreResult<Option<Session>> {
        let row = optional(
            sqlx::query("SELECT id, user_id, expires_at, revoked_at FROM sessions WHERE id = $1")
                .bind(id)
                .fetch_one(self.pool())
                .await,
        )?;
        Ok(match row {
            None => None,
            Some(r) => Some(Session {
                id: r.try_get("id")?,
                user_id: r.try_get("user_id")?,
                expires_at: r.try_get("expires_at")?,
                revoked_at: r.try_get("revoked_at")?,
            }),
        })
    }

    /// A refresh token by its hash, with its session.
    pub async fn refresh_token(&self, hash: &str) -> StoreResult<Option<RefreshTokenRow>> {
        let row = optional(
            sqlx::query(
                "SELECT s.id, s.user_id, s.expires_at, s.revoked_at, t.used_at
                 FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
                 WHERE t.token_hash = $1",
            )
            .bind(hash)
            .fetch_one(self.pool())
            .await,
        )?;
        Ok(match row {
            None => None,
            Some(r) => Some(RefreshTokenRow {
                session: Session {
                    id: r.try_get("id")?,
                    user_id: r.try_get("user_id")?,
                    expires_at: r.try_get("expires_at")?,
                    revoked_at: r.try_get("revoked_at")?,
                },
                used_at: r.try_get("used_at")?,
            }),
        })
    }

    /// Marks `old_hash` used and adds `new_hash` to the same session, atomically. Returns
    /// false (and changes nothing) if the old token was already used: a concurrent or
    /// replayed refresh.
    pub async fn rotate_refresh_token(
        &self,
        session_id: &str,
        old_hash: &str,
        new_hash: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.pool().begin().await?;
        let used = sqlx::query(
            "UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL",
        )
        .bind(now)
        .bind(old_hash)
        .execute(&mut *tx)
        .await?;
        if used.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(new_hash)
        .bind(session_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Revokes one session. Returns whether it was live.
    pub async fn revoke_session(&self, id: &str, reason: &str, now: i64) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE sessions SET revoked_at = $1, revoked_reason = $2 WHERE id = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(reason)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Revokes every live session of a user, except `keep` if given. Returns how many.
    pub async fn revoke_user_sessions(
        &self,
        user_id: &str,
        keep: Option<&str>,
        reason: &str,
        now: i64,
    ) -> StoreResult<u64> {
        let r = sqlx::query(
            "UPDATE sessions SET revoked_at = $1, revoked_reason = $2
             WHERE user_id = $3 AND revoked_at IS NULL AND id <> $4",
        )
        .bind(now)
        .bind(reason)
        .bind(user_id)
        .bind(keep.unwrap_or(""))
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected())
    }
}
