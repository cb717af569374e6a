//! Sharing: the owner gives another account read access to an item (the item key
//! wrapped for them, and the owner's signature over the share), lists and revokes
//! shares; recipients list what is shared with them and hide what they no longer want;
//! anyone signed in can look up an account's public key (clients pin it: the server's
//! answer is not trusted alone).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use cofre_api::Username;
use cofre_api::vault::{ItemPage, ItemsQuery, ShareInfo, ShareRequest, UserPublicKey};

use super::items::{owned, query, to_item};
use crate::audit::Event;
use crate::auth::AuthSession;
use crate::blobs::valid_key;
use crate::error::{ApiError, ApiJson};
use crate::state::AppState;
use crate::store::shares::NewShare;
use crate::store::users::User;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/items/{id}/shares", post(share).get(list_shares))
        .route("/items/{id}/shares/{username}", delete(unshare))
        .route("/shared", get(shared_with_me))
        .route("/shared/{id}", delete(hide))
        .route("/users/{username}/public-key", get(public_key))
}

/// An account by (normalized) username; 404 for invalid or unknown names.
async fn account(app: &AppState, raw: &str) -> Result<User, ApiError> {
    let name = Username::parse(raw).map_err(|_| ApiError::NotFound)?;
    app.store
        .user_by_name(name.as_str())
        .await?
        .ok_or(ApiError::NotFound)
}

#[utoipa::path(
    post,
    path = "/api/v1/items/{id}/shares",
    tag = "sharing",
    summary = "Share an item: the key wrapped for the recipient, signed by the owner",
    params(("id" = String, Path, description = "Item id")),
    request_body = ShareRequest,
    responses((status = 204, description = "Shared"), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn share(
    State(app): State<AppState>,
    s: AuthSession,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ShareRequest>,
) -> Result<StatusCode, ApiError> {
    owned(&app, &s, &id, true).await?;
    let recipient = account(&app, &req.recipient).await?;
    if recipient.id == s.user.id {
        return Err(ApiError::BadRequest(
            "you cannot share an item with yourself".into(),
        ));
    }
    // The server cannot check the cryptography, but it can refuse a key wrapped for a
    // key the recipient does not have (a client with a stale copy of it).
    if req.wrapped_key.recipient_key_id() != recipient.keys.public_key.key_id() {
        return Err(ApiError::BadRequest(
            "the wrapped key is not for the recipient's current public key".into(),
        ));
    }
    app.store
        .put_share(&NewShare {
            item_id: &id,
            recipient_id: &recipient.id,
            wrapped_key: &req.wrapped_key.to_text(),
            signature: &req.signature.to_text(),
            now: crate::clock::now(),
        })
        .await?;
    app.audit(Event {
        event: "item.share",
        actor: Some(&s.user.id),
        subject: Some(&recipient.id),
        address: Some(&s.address),
        outcome: "ok",
    })
    .await;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/api/v1/items/{id}/shares",
    tag = "sharing",
    summary = "Who an item is shared with (owner only)",
    params(("id" = String, Path, description = "Item id")),
    responses((status = 200, description = "OK", body = Vec<ShareInfo>), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn list_shares(
    State(app): State<AppState>,
    s: AuthSession,
    Path(id): Path<String>,
) -> Result<Json<Vec<ShareInfo>>, ApiError> {
    owned(&app, &s, &id, true).await?;
    Ok(Json(
        app.store
            .shares_of(&id)
            .await?
            .into_iter()
            .map(|r| ShareInfo {
                recipient: r.recipient,
                created_at: r.created_at,
            })
            .collect(),
    ))
}

#[utoipa::path(
    delete,
    path = "/api/v1/items/{id}/shares/{username}",
    tag = "sharing",
    summary = "Revoke a share (what was already downloaded cannot be taken back)",
    params(("id" = String, Path, description = "Item id"), ("username" = String, Path, description = "Recipient")),
    responses((status = 204, description = "Revoked"), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn unshare(
    State(app): State<AppState>,
    s: AuthSession,
    Path((id, username)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    owned(&app, &s, &id, true).await?;
    let recipient = account(&app, &username).await?;
    if !app.store.delete_share(&id, &recipient.id).await? {
        return Err(ApiError::NotFound);
    }
    app.audit(Event {
        event: "item.unshare",
        actor: Some(&s.user.id),
        subject: Some(&recipient.id),
        address: Some(&s.address),
        outcome: "ok",
    })
    .await;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/api/v1/shared",
    tag = "sharing",
    summary = "Items shared with the caller (the inbox), oldest share first",
    params(("after" = Option<String>, Query, pattern = r"^-?[0-9]{1,18}\.[0-9a-f]{32}$", description = "The previous page's next cursor"), ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Page size (1..=1000, default 200)")),
    responses((status = 200, description = "OK", body = ItemPage), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn shared_with_me(
    State(app): State<AppState>,
    s: AuthSession,
    q: Result<Query<ItemsQuery>, QueryRejection>,
) -> Result<Json<ItemPage>, ApiError> {
    let q = query(q)?;
    let limit = super::paging::limit(q.limit, 200)?;
    let after = q.after.as_deref().map(super::paging::cursor).transpose()?;
    let rows = app
        .store
        .shared_items(
            &s.user.id,
            after.as_ref().map(|(t, id)| (*t, id.as_str())),
            limit,
        )
        .await?;
    let next = if rows.len() == limit as usize {
        rows.last().map(|(t, r)| format!("{t}.{}", r.id))
    } else {
        None
    };
    Ok(Json(ItemPage {
        items: rows.into_iter().map(|(_, r)| to_item(r)).collect(),
        next,
    }))
}

#[utoipa::path(
    delete,
    path = "/api/v1/shared/{id}",
    tag = "sharing",
    summary = "Hide an item shared with the caller: the caller's share of it is removed",
    params(("id" = String, Path, description = "Item id")),
    responses((status = 204, description = "Hidden"), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn hide(
    State(app): State<AppState>,
    s: AuthSession,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if !valid_key(&id) {
        return Err(ApiError::NotFound);
    }
    let item = app
        .store
        .shared_item(&s.user.id, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !app.store.delete_share(&id, &s.user.id).await? {
        return Err(ApiError::NotFound);
    }
    app.audit(Event {
        event: "item.hide",
        actor: Some(&s.user.id),
        subject: Some(&item.owner_id),
        address: Some(&s.address),
        outcome: "ok",
    })
    .await;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/api/v1/users/{username}/public-key",
    tag = "sharing",
    summary = "An account's public key, to share with it (pin its fingerprint)",
    params(("username" = String, Path, description = "Username")),
    responses((status = 200, description = "OK", body = UserPublicKey), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn public_key(
    State(app): State<AppState>,
    _s: AuthSession,
    Path(username): Path<String>,
) -> Result<Json<UserPublicKey>, ApiError> {
    let user = account(&app, &username).await?;
    Ok(Json(UserPublicKey {
        username: user.username,
        public_key: user.keys.public_key,
    }))
}
