//! Administration calls (admin role only).

use cofre_api::SecretString;
use cofre_api::admin::{AdminUser, AuditPage, BackupStatus, Invite, PolicyUpdate};
use reqwest::Method;

use crate::Client;
use crate::error::Result;

impl Client {
    /// Every account.
    pub async fn admin_users(&self, access: &SecretString) -> Result<Vec<AdminUser>> {
        self.call::<(), _>(Method::GET, "/admin/users", Some(access), None)
            .await
    }

    /// Locks an account (and ends its sessions).
    pub async fn admin_lock(&self, access: &SecretString, user_id: &str) -> Result<()> {
        self.call_empty::<()>(
            Method::POST,
            &format!("/admin/users/{user_id}/lock"),
            Some(access),
            None,
        )
        .await
    }

    /// Unlocks an account (and lifts a guessing lockout).
    pub async fn admin_unlock(&self, access: &SecretString, user_id: &str) -> Result<()> {
        self.call_empty::<()>(
            Method::POST,
            &format!("/admin/users/{user_id}/unlock"),
            Some(access),
            None,
        )
        .await
    }

    /// Ends every session of an account.
    pub async fn admin_logout(&self, access: &SecretString, user_id: &str) -> Result<()> {
        self.call_empty::<()>(
            Method::POST,
            &format!("/admin/users/{user_id}/logout"),
            Some(access),
            None,
        )
        .await
    }

    /// Deletes an account.
    pub async fn admin_delete(&self, access: &SecretString, user_id: &str) -> Result<()> {
        self.call_empty::<()>(
            Method::DELETE,
            &format!("/admin/users/{user_id}"),
            Some(access),
            None,
        )
        .await
    }

    /// Turns off an account's TOTP and recovery codes (lost authenticator).
    pub async fn admin_reset_mfa(&self, access: &SecretString, user_id: &str) -> Result<()> {
        self.call_empty::<()>(
            Method::POST,
            &format!("/admin/users/{user_id}/reset-mfa"),
            Some(access),
            None,
        )
        .await
    }

    /// A single-use registration invite.
    pub async fn admin_invite(&self, access: &SecretString) -> Result<Invite> {
        self.call::<(), _>(Method::POST, "/admin/invites", Some(access), None)
            .await
    }

    /// Sets the "MFA required" policy.
    pub async fn admin_set_mfa_required(
        &self,
        access: &SecretString,
        required: bool,
    ) -> Result<()> {
        let req = PolicyUpdate {
            mfa_required: required,
        };
        self.call_empty(Method::PUT, "/admin/policy", Some(access), Some(&req))
            .await
    }

    /// Audit events after `after`.
    pub async fn admin_audit(
        &self,
        access: &SecretString,
        after: i64,
        limit: i64,
    ) -> Result<AuditPage> {
        self.call::<(), _>(
            Method::GET,
            &format!("/admin/audit?after={after}&limit={limit}"),
            Some(access),
            None,
        )
        .await
    }

    /// Audit events after `after` and at or after time `since` (Unix seconds), at most
    /// `limit`, newest first when `newest_first`; each names the accounts involved.
    pub async fn admin_audit_filtered(
        &self,
        access: &SecretString,
        after: i64,
        since: Option<i64>,
        limit: i64,
        newest_first: bool,
    ) -> Result<AuditPage> {
        let mut path = format!("/admin/audit?after={after}&limit={limit}");
        if let Some(t) = since {
            path.push_str(&format!("&since={t}"));
        }
        if newest_first {
            path.push_str("&order=desc");
        }
        self.call::<(), _>(Method::GET, &path, Some(access), None)
            .await
    }

    /// The server's backup status: configuration, last run, archives.
    pub async fn admin_backups(&self, access: &SecretString) -> Result<BackupStatus> {
        self.call::<(), _>(Method::GET, "/admin/backups", Some(access), None)
            .await
    }

    /// Starts a backup on the server (it runs in the background).
    pub async fn admin_start_backup(&self, access: &SecretString) -> Result<BackupStatus> {
        self.call::<(), _>(Method::POST, "/admin/backups", Some(access), None)
            .await
    }
}
