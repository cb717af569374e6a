//! Administration: list, lock, unlock, log out and delete accounts; invites; the MFA
//! policy; the audit log. Admins see account metadata only, never data or keys.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use cofre_api::SecretString;
use cofre_api::admin::{
    AdminUser, AuditEvent, AuditPage, BackupFile, BackupRun, BackupStatus, Invite, PolicyUpdate,
};
use serde::Deserialize;

use crate::audit::Event;
use crate::auth::AdminSession;
use crate::auth::tokens::{random_token, token_hash};
use crate::error::{ApiError, ApiJson};
use crate::state::AppState;
use crate::store::settings::MFA_REQUIRED;

/// How long an invite stays valid.
pub const INVITE_TTL_SECS: i64 = 7 * 24 * 3600;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(users))
        .route("/admin/users/{id}/lock", post(lock))
        .route("/admin/users/{id}/unlock", post(unlock))
        .route("/admin/users/{id}/logout", post(force_logout))
        .route("/admin/users/{id}", delete(delete_user))
        .route("/admin/users/{id}/reset-mfa", post(reset_mfa))
        .route("/admin/invites", post(invite))
        .route("/admin/policy", put(policy))
        .route("/admin/audit", get(audit))
        .route("/admin/backups", get(backups).post(start_backup))
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/users",
    tag = "admin",
    summary = "Every account",
    responses((status = 200, description = "OK", body = Vec<AdminUser>), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn users(
    State(app): State<AppState>,
    _admin: AdminSession,
) -> Result<Json<Vec<AdminUser>>, ApiError> {
    let mut out = Vec::new();
    for u in app.store.list_users().await? {
        let mfa_enabled = app.store.totp(&u.id).await?.is_some_and(|t| t.enabled);
        out.push(AdminUser {
            user_id: u.id,
            username: u.username,
            role: u.role,
            locked: u.locked,
            mfa_enabled,
            created_at: u.created_at,
        });
    }
    Ok(Json(out))
}

async fn admin_event(app: &AppState, admin: &AdminSession, event: &str, subject: &str) {
    app.audit(Event {
        event,
        actor: Some(&admin.0.user.id),
        subject: Some(subject),
        address: Some(&admin.0.address),
        outcome: "ok",
    })
    .await;
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/users/{id}/lock",
    tag = "admin",
    summary = "Lock an account and end its sessions",
    params(("id" = String, Path, description = "Account id")),
    responses((status = 204, description = "Done"), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn lock(
    State(app): State<AppState>,
    admin: AdminSession,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if id == admin.0.user.id {
        return Err(ApiError::Conflict(
            "an admin cannot lock their own account".into(),
        ));
    }
    let now = crate::clock::now();
    if !app.store.set_locked(&id, true, now).await? {
        return Err(ApiError::NotFound);
    }
    app.store
        .revoke_user_sessions(&id, None, "admin_lock", now)
        .await?;
    admin_event(&app, &admin, "admin.lock", &id).await;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/users/{id}/unlock",
    tag = "admin",
    summary = "Unlock an account",
    params(("id" = String, Path, description = "Account id")),
    responses((status = 204, description = "Done"), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn unlock(
    State(app): State<AppState>,
    admin: AdminSession,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let now = crate::clock::now();
    let Some(user) = app.store.user_by_id(&id).await? else {
        return Err(ApiError::NotFound);
    };
    app.store.set_locked(&id, false, now).await?;
    // Also refill the account's guessing budget for unknown devices.
    app.store
        .throttle_reset(&crate::auth::throttle::account_key(&user.username))
        .await?;
    admin_event(&app, &admin, "admin.unlock", &id).await;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/users/{id}/logout",
    tag = "admin",
    summary = "End every session of an account",
    params(("id" = String, Path, description = "Account id")),
    responses((status = 204, description = "Done"), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn force_logout(
    State(app): State<AppState>,
    admin: AdminSession,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if app.store.user_by_id(&id).await?.is_none() {
        return Err(ApiError::NotFound);
    }
    app.store
        .revoke_user_sessions(&id, None, "admin_logout", crate::clock::now())
        .await?;
    admin_event(&app, &admin, "admin.logout", &id).await;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete,
    path = "/api/v1/admin/users/{id}",
    tag = "admin",
    summary = "Delete an account",
    params(("id" = String, Path, description = "Account id")),
    responses((status = 204, description = "Done"), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn delete_user(
    State(app): State<AppState>,
    admin: AdminSession,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if id == admin.0.user.id {
        return Err(ApiError::Conflict(
            "an admin cannot delete their own account".into(),
        ));
    }
    if !app.store.delete_user(&id).await? {
        return Err(ApiError::NotFound);
    }
    admin_event(&app, &admin, "admin.delete", &id).await;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/users/{id}/reset-mfa",
    tag = "admin",
    summary = "Turn off an account's TOTP and recovery codes (lost authenticator); ends its sessions",
    params(("id" = String, Path, description = "Account id")),
    responses((status = 204, description = "Done"), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn reset_mfa(
    State(app): State<AppState>,
    admin: AdminSession,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    // Turning one's own second factor off takes a code (`POST /mfa/totp/disable`): a
    // stolen admin session must not be enough.
    if id == admin.0.user.id {
        return Err(ApiError::Conflict(
            "an admin cannot reset their own MFA: disable it with a code".into(),
        ));
    }
    if app.store.user_by_id(&id).await?.is_none() {
        return Err(ApiError::NotFound);
    }
    app.store.disable_totp(&id).await?;
    app.store
        .revoke_user_sessions(&id, None, "admin_mfa_reset", crate::clock::now())
        .await?;
    admin_event(&app, &admin, "admin.mfa_reset", &id).await;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/invites",
    tag = "admin",
    summary = "A single-use registration invite",
    responses((status = 200, description = "OK", body = Invite), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn invite(
    State(app): State<AppState>,
    admin: AdminSession,
) -> Result<Json<Invite>, ApiError> {
    let now = crate::clock::now();
    let token = random_token().map_err(ApiError::internal)?;
    let expires_at = now + INVITE_TTL_SECS;
    app.store
        .create_invite(&token_hash(&token), &admin.0.user.id, now, expires_at)
        .await?;
    admin_event(&app, &admin, "admin.invite", "-").await;
    Ok(Json(Invite {
        token: SecretString::from(token),
        expires_at,
    }))
}

#[utoipa::path(
    put,
    path = "/api/v1/admin/policy",
    tag = "admin",
    summary = "Set the MFA policy",
    request_body = PolicyUpdate,
    responses((status = 204, description = "Done"), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn policy(
    State(app): State<AppState>,
    admin: AdminSession,
    ApiJson(req): ApiJson<PolicyUpdate>,
) -> Result<StatusCode, ApiError> {
    app.store
        .set_setting(
            MFA_REQUIRED,
            if req.mfa_required { "true" } else { "false" },
        )
        .await?;
    let event = if req.mfa_required {
        "admin.policy.mfa_required"
    } else {
        "admin.policy.mfa_optional"
    };
    admin_event(&app, &admin, event, "-").await;
    Ok(StatusCode::NO_CONTENT)
}

/// Paging and filtering of the audit log.
#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    /// Return rows after this sequence number.
    #[serde(default)]
    pub after: i64,
    /// At most this many (1..=1000, default 100).
    #[serde(default)]
    pub limit: Option<u32>,
    /// Only rows at or after this time (Unix seconds).
    #[serde(default)]
    pub since: Option<i64>,
    /// `asc` (chain order, the default) or `desc` (newest first).
    #[serde(default)]
    pub order: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/audit",
    tag = "admin",
    summary = "Audit events",
    params(("after" = Option<i64>, Query, description = "Events after this sequence number"), ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "At most this many (1..=1000, default 100)"), ("since" = Option<i64>, Query, description = "Events at or after this time (Unix seconds)"), ("order" = Option<String>, Query, pattern = "^(asc|desc)$", description = "`asc` (chain order, default) or `desc` (newest first)")),
    responses((status = 200, description = "OK", body = AuditPage), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn audit(
    State(app): State<AppState>,
    _admin: AdminSession,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AuditPage>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let limit = i64::from(super::paging::limit(q.limit, 100)?);
    let newest_first = match q.order.as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "order must be asc or desc, not {other:?}"
            )));
        }
    };
    let rows = app
        .store
        .audit_listing(
            q.after.max(0),
            q.since.unwrap_or(i64::MIN),
            limit,
            newest_first,
        )
        .await?;
    Ok(Json(AuditPage {
        events: rows
            .into_iter()
            .map(|l| AuditEvent {
                seq: l.row.seq,
                at: l.row.at,
                event: l.row.event,
                actor: l.row.actor,
                subject: l.row.subject,
                address: l.row.address,
                outcome: l.row.outcome,
                hash: l.row.hash,
                actor_name: l.actor_name,
                subject_name: l.subject_name,
            })
            .collect(),
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/backups",
    tag = "admin",
    summary = "Backup status: configuration, the last run, the archives in the backup folder",
    responses((status = 200, description = "OK", body = BackupStatus), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn backups(
    State(app): State<AppState>,
    _admin: AdminSession,
) -> Result<Json<BackupStatus>, ApiError> {
    backup_status(&app).await.map(Json)
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/backups",
    tag = "admin",
    summary = "Start a backup now (it runs in the background; poll GET for the result)",
    responses((status = 202, description = "Started", body = BackupStatus), (status = "4XX", description = "Error: backups_not_configured, backup_running", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn start_backup(
    State(app): State<AppState>,
    admin: AdminSession,
) -> Result<(StatusCode, Json<BackupStatus>), ApiError> {
    use crate::backup::schedule::RunError;
    let guard = app
        .backups
        .try_start(&app.store)
        .await
        .map_err(|e| match e {
            RunError::NotConfigured => ApiError::BackupsNotConfigured,
            RunError::Busy => ApiError::BackupRunning,
            RunError::Store(e) => ApiError::from(e),
        })?;
    let task_app = app.clone();
    let actor = admin.0.user.id.clone();
    tokio::spawn(async move {
        crate::backup::schedule::run(&task_app, "admin", Some(&actor)).await;
        drop(guard);
    });
    Ok((StatusCode::ACCEPTED, Json(backup_status(&app).await?)))
}

async fn backup_status(app: &AppState) -> Result<BackupStatus, ApiError> {
    let settings = app.backups.settings().cloned();
    let mut backups = Vec::new();
    let mut folder_error = None;
    if let Some(s) = &settings {
        let dir = s.dir.clone();
        let listed = tokio::task::spawn_blocking(move || {
            crate::backup::schedule::list(&dir).map(|l| {
                l.into_iter()
                    .map(|b| {
                        let bytes = std::fs::metadata(dir.join(&b.name)).map_or(0, |m| m.len());
                        BackupFile {
                            name: b.name,
                            created_at: b.created_at,
                            bytes,
                        }
                    })
                    .collect::<Vec<_>>()
            })
        })
        .await
        .map_err(ApiError::internal)?;
        match listed {
            Ok(l) => backups = l,
            Err(e) => folder_error = Some(e.to_string()),
        }
    }
    Ok(BackupStatus {
        configured: settings.is_some(),
        running: app.backups.is_running(),
        every_secs: settings.as_ref().and_then(|s| s.every_secs),
        last: app.backups.last().map(|l| BackupRun {
            started_at: l.started_at,
            finished_at: l.finished_at,
            trigger: l.trigger,
            file: l.file,
            bytes: l.bytes,
            error: l.error,
        }),
        backups,
        folder_error,
    })
}
