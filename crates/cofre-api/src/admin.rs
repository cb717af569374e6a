//! Administration: accounts, invites, policy, audit log. Admins never see data or keys.

use serde::{Deserialize, Serialize};

use crate::{Role, SecretString};

/// One account in `GET /api/v1/admin/users`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AdminUser {
    /// Id.
    pub user_id: String,
    /// Username.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Locked by an admin.
    pub locked: bool,
    /// TOTP enabled.
    pub mfa_enabled: bool,
    /// Registration time (Unix seconds).
    pub created_at: i64,
}

/// `POST /api/v1/admin/invites`: a single-use registration invite.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Invite {
    /// The token to give to the invitee.
    pub token: SecretString,
    /// Expiry (Unix seconds).
    pub expires_at: i64,
}

/// `PUT /api/v1/admin/policy`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyUpdate {
    /// Require MFA for every account.
    pub mfa_required: bool,
}

/// One row of the audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEvent {
    /// Position in the chain (1, 2, ...).
    pub seq: i64,
    /// Time (Unix seconds).
    pub at: i64,
    /// What happened, e.g. `login.failed`.
    pub event: String,
    /// Who did it (user id), if known.
    pub actor: Option<String>,
    /// Whom it concerns (user id or username), if anyone.
    pub subject: Option<String>,
    /// Client address.
    pub address: Option<String>,
    /// `ok` or `denied`/`failed`.
    pub outcome: String,
    /// This row's hash (hex), chaining it to the previous one.
    pub hash: String,
    /// The actor's username, when the actor is an existing account (servers before
    /// this field leave it out).
    #[serde(default)]
    pub actor_name: Option<String>,
    /// The subject's username, when the subject is the id of an existing account.
    #[serde(default)]
    pub subject_name: Option<String>,
}

/// `GET /api/v1/admin/audit?after=SEQ&limit=N&since=UNIX&order=asc|desc`.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditPage {
    /// Events in chain order, or newest first with `order=desc`.
    pub events: Vec<AuditEvent>,
}

/// One backup archive in the server's backup folder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BackupFile {
    /// File name.
    pub name: String,
    /// Creation time (Unix seconds).
    pub created_at: i64,
    /// Size in bytes.
    pub bytes: u64,
}

/// The result of a backup run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BackupRun {
    /// Start (Unix seconds).
    pub started_at: i64,
    /// End (Unix seconds).
    pub finished_at: i64,
    /// `schedule` or `admin`.
    pub trigger: String,
    /// The archive written, on success.
    pub file: Option<String>,
    /// Its size in bytes.
    pub bytes: u64,
    /// Why it failed.
    pub error: Option<String>,
}

/// `GET /api/v1/admin/backups` (and the answer to `POST`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BackupStatus {
    /// Whether the server has a backup folder and key.
    pub configured: bool,
    /// Whether a backup is running now.
    pub running: bool,
    /// Seconds between scheduled backups, if scheduled.
    pub every_secs: Option<u64>,
    /// The last run since the server started.
    pub last: Option<BackupRun>,
    /// Archives in the backup folder, newest first.
    pub backups: Vec<BackupFile>,
    /// Why the backup folder could not be listed, if it could not.
    #[serde(default)]
    pub folder_error: Option<String>,
}
