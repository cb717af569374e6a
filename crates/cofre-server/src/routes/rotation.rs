//! Key rotation of the caller's RSA key pair: start (the new pair, pending), the
//! caller's outgoing shares (to re-sign), batches of re-wrapped item keys and new
//! signatures, and finish (nothing left on the old key; the new pair becomes the
//! account's; other sessions end).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use cofre_api::rotation::{
    OutgoingPage, OutgoingShare, PendingKeyPair, RewrapBatch, RotationDone, RotationStatus,
};
use cofre_api::vault::ItemsQuery;
use cofre_core::format::{SealedBox, Signature, WrappedKey};
use cofre_core::keys::PublicKey;

use super::items::query;
use crate::auth::AuthSession;
use crate::error::{ApiError, ApiJson};
use crate::state::AppState;
use crate::store::rotation::PendingRow;

/// Most entries in one rewrap batch.
const MAX_BATCH: usize = 1000;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account/rotation", get(status).post(start))
        .route("/account/rotation/rewrap", put(rewrap))
        .route("/account/rotation/finish", post(finish))
        .route("/account/shares-out", get(outgoing))
}

/// The pending pair, parsed (a stored value that does not parse is corruption).
fn parse_pending(p: &PendingRow) -> Result<PendingKeyPair, ApiError> {
    Ok(PendingKeyPair {
        public_key: PublicKey::from_text(&p.public_key).map_err(ApiError::internal)?,
        protected_private_key: SealedBox::from_text(&p.protected_private_key)
            .map_err(ApiError::internal)?,
    })
}

async fn pending(app: &AppState, s: &AuthSession) -> Result<PendingKeyPair, ApiError> {
    let p = app
        .store
        .pending_rotation(&s.user.id)
        .await?
        .ok_or_else(|| ApiError::Conflict("no key rotation in progress".into()))?;
    parse_pending(&p)
}

#[utoipa::path(
    get,
    path = "/api/v1/account/rotation",
    tag = "account",
    summary = "The key rotation in progress, if any",
    responses((status = 200, description = "OK", body = RotationStatus), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn status(
    State(app): State<AppState>,
    s: AuthSession,
) -> Result<Json<RotationStatus>, ApiError> {
    let p = app.store.pending_rotation(&s.user.id).await?;
    Ok(Json(RotationStatus {
        pending: p.as_ref().map(parse_pending).transpose()?,
    }))
}

#[utoipa::path(
    post,
    path = "/api/v1/account/rotation",
    tag = "account",
    summary = "Start a key rotation with a new key pair (pending until finished)",
    request_body = PendingKeyPair,
    responses((status = 201, description = "Started"), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn start(
    State(app): State<AppState>,
    s: AuthSession,
    ApiJson(req): ApiJson<PendingKeyPair>,
) -> Result<StatusCode, ApiError> {
    if req.public_key == s.account(&app).await?.keys.public_key {
        return Err(ApiError::BadRequest("that is the current key".into()));
    }
    let row = PendingRow {
        public_key: req.public_key.to_text(),
        protected_private_key: req.protected_private_key.to_text(),
    };
    if !app
        .store
        .start_rotation(&s.user.id, &row, crate::clock::now())
        .await?
    {
        return Err(ApiError::Conflict(
            "a key rotation is already in progress: resume it".into(),
        ));
    }
    app.audit_self(&s, "account.key_rotation.start", "ok").await;
    Ok(StatusCode::CREATED)
}

#[utoipa::path(
    get,
    path = "/api/v1/account/shares-out",
    tag = "account",
    summary = "The shares the caller made (to re-sign them in a key rotation)",
    params(("after" = Option<String>, Query, pattern = r"^-?[0-9]{1,18}\.[0-9a-f]{32}\..*$", description = "The previous page's next cursor"), ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Page size (1..=1000, default 200)")),
    responses((status = 200, description = "OK", body = OutgoingPage), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn outgoing(
    State(app): State<AppState>,
    s: AuthSession,
    q: Result<Query<ItemsQuery>, QueryRejection>,
) -> Result<Json<OutgoingPage>, ApiError> {
    let q = query(q)?;
    let limit = super::paging::limit(q.limit, 200)?;
    let after = q
        .after
        .as_deref()
        .map(super::paging::share_cursor)
        .transpose()?;
    let rows = app
        .store
        .outgoing_shares(
            &s.user.id,
            after.as_ref().map(|(t, i, w)| (*t, i.as_str(), w.as_str())),
            limit,
        )
        .await?;
    let next = if rows.len() == limit as usize {
        rows.last()
            .map(|r| format!("{}.{}.{}", r.created_at, r.item_id, r.recipient))
    } else {
        None
    };
    Ok(Json(OutgoingPage {
        shares: rows
            .into_iter()
            .map(|r| OutgoingShare {
                item_id: r.item_id,
                recipient: r.recipient,
                wrapped_key: r.wrapped_key,
                signature: r.signature,
            })
            .collect(),
        next,
    }))
}

#[utoipa::path(
    put,
    path = "/api/v1/account/rotation/rewrap",
    tag = "account",
    summary = "Store a batch of item keys re-wrapped for the new key (received ones with the re-wrap signature), and re-signed shares",
    request_body = RewrapBatch,
    responses((status = 204, description = "Stored"), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn rewrap(
    State(app): State<AppState>,
    s: AuthSession,
    ApiJson(req): ApiJson<RewrapBatch>,
) -> Result<StatusCode, ApiError> {
    let new = pending(&app, &s).await?.public_key;
    if req.items.len() + req.received.len() + req.signatures.len() > MAX_BATCH {
        return Err(ApiError::BadRequest(format!(
            "at most {MAX_BATCH} entries per batch"
        )));
    }
    let id = new.key_id();
    let for_new = |w: &WrappedKey| w.recipient_key_id() == id;
    if !req.items.iter().all(|r| for_new(&r.wrapped_key))
        || !req
            .received
            .iter()
            .all(|r| for_new(&r.wrapped_key) && r.rewrap_signature.signer_key_id() == id)
        || !req
            .signatures
            .iter()
            .all(|r| r.signature.signer_key_id() == id)
    {
        return Err(ApiError::BadRequest(
            "every key must be wrapped for, and every signature made by, the pending key".into(),
        ));
    }
    // Items deleted or unshared meanwhile are skipped: nothing to re-wrap.
    for r in &req.items {
        app.store
            .set_own_item_key(&s.user.id, &r.item_id, &r.wrapped_key.to_text())
            .await?;
    }
    // A received share's statement must cover the wrapped key the owner signed as
    // stored now: one made before the owner shared the item again (or a wrong one) is
    // skipped, and the share stays on the old key for the client's next round.
    for r in &req.received {
        let Some((owner, original)) = app
            .store
            .received_share_original(&s.user.id, &r.item_id)
            .await?
        else {
            continue;
        };
        let covers = WrappedKey::from_text(&original).is_ok_and(|o| {
            cofre_core::vault::verify_share_rewrap(
                &r.rewrap_signature,
                &new,
                &r.item_id,
                &owner,
                &s.user.username,
                &o,
                &r.wrapped_key,
            )
            .is_ok()
        });
        if covers {
            app.store
                .set_received_key(
                    &s.user.id,
                    &r.item_id,
                    &original,
                    &r.wrapped_key.to_text(),
                    &r.rewrap_signature.to_text(),
                )
                .await?;
        }
    }
    for r in &req.signatures {
        let Some(recipient) = app.store.user_by_name(&r.recipient).await? else {
            continue;
        };
        app.store
            .set_share_signature(
                &s.user.id,
                &r.item_id,
                &recipient.id,
                &r.signature.to_text(),
            )
            .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/v1/account/rotation/finish",
    tag = "account",
    summary = "Finish the key rotation: the new key pair replaces the old one",
    responses((status = 200, description = "Done", body = RotationDone), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn finish(
    State(app): State<AppState>,
    s: AuthSession,
) -> Result<Json<RotationDone>, ApiError> {
    let new = pending(&app, &s).await?;
    let id = new.public_key.key_id();
    let (keys, sigs) = app.store.rotation_material(&s.user.id).await?;
    let old_keys = keys
        .iter()
        .filter(|t| WrappedKey::from_text(t).map_or(true, |w| w.recipient_key_id() != id))
        .count();
    let old_sigs = sigs
        .iter()
        .filter(|t| Signature::from_text(t).map_or(true, |g| g.signer_key_id() != id))
        .count();
    if old_keys + old_sigs > 0 {
        return Err(ApiError::Conflict(format!(
            "{old_keys} item key(s) and {old_sigs} share signature(s) are still on the old key: \
             re-wrap them, then finish"
        )));
    }
    let mut account = s.account(&app).await?.keys;
    account.public_key = new.public_key;
    account.protected_private_key = new.protected_private_key;
    let now = crate::clock::now();
    app.store.finish_rotation(&s.user.id, &account, now).await?;
    app.store
        .revoke_user_sessions(&s.user.id, Some(&s.session_id), "key_rotation", now)
        .await?;
    app.audit_self(&s, "account.key_rotation", "ok").await;
    Ok(Json(RotationDone { keys: account }))
}
