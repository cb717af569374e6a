//! The vault's items: resumable uploads of ciphertext, commit, listing, download with
//! ranges, rename (new sealed metadata) and delete. Every route looks the item up by
//! id *and* owner, so another account's item answers 404 exactly like a missing one.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use cofre_api::vault::{
    BodyOffset, CommitItemRequest, CreateItemRequest, CreateItemResponse, Item, ItemPage,
    ItemsQuery, MAX_OWNER_METADATA_BATCH, OwnerMetadataBatch, OwnerMetadataStored, PendingUpload,
    PendingUploads, ReplaceItemRequest, UpdateMetadataRequest, UploadStatus, Usage,
};
use futures_util::TryStreamExt as _;
use tokio_util::io::{ReaderStream, StreamReader};

use crate::auth::AuthSession;
use crate::blobs::valid_key;
use crate::error::{ApiError, ApiJson};
use crate::state::AppState;
use crate::store::items::{CreateItemError, ItemRow, NewUpload, SealedParts};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/items", get(list).post(create))
        .route("/items/usage", get(usage))
        .route("/items/uploads", get(pending_uploads))
        .route("/items/owner-metadata", put(set_owner_metadata))
        .route("/items/{id}", get(get_item).delete(delete_item))
        .route(
            "/items/{id}/upload",
            get(upload_status).delete(cancel_upload),
        )
        .route("/items/{id}/replace", post(replace))
        .route(
            "/items/{id}/body",
            get(download)
                .put(upload_part)
                .layer(axum::middleware::map_response(close_on_error)),
        )
        .route("/items/{id}/commit", post(commit))
        .route("/items/{id}/metadata", put(set_metadata))
}

/// An upload refused before its body was read (bad token, too large, wrong offset)
/// leaves the rest of the body on the connection: ask the client not to reuse it.
async fn close_on_error(mut resp: Response) -> Response {
    if !resp.status().is_success() {
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}

pub(crate) fn to_item(row: ItemRow) -> Item {
    Item {
        id: row.id,
        owner: row.owner,
        size: row.size,
        created_at: row.created_at,
        updated_at: row.updated_at,
        metadata: row.metadata.unwrap_or_default(),
        wrapped_key: row.wrapped_key.unwrap_or_default(),
        owner_metadata: row.owner_metadata,
        signature: row.signature,
        signed_wrapped_key: row.signed_wrapped_key,
        rewrap_signature: row.rewrap_signature,
    }
}

pub(crate) fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(v)| v)
        .map_err(|e| ApiError::BadRequest(e.body_text()))
}

/// The caller's item `id` in the given state; anything else is 404.
pub(crate) async fn owned(
    app: &AppState,
    s: &AuthSession,
    id: &str,
    committed: bool,
) -> Result<ItemRow, ApiError> {
    if !valid_key(id) {
        return Err(ApiError::NotFound);
    }
    match app.store.item(&s.user.id, id).await? {
        Some(row) if row.committed == committed => {
            if !committed && row.expires_at < crate::clock::now() {
                return Err(ApiError::NotFound);
            }
            Ok(row)
        }
        Some(_) if !committed => Err(ApiError::Conflict("the item is already committed".into())),
        // The caller's own upload that has not been committed: it exists, but is not an
        // item yet (`POST /items` starts an upload, docs/VAULT.md).
        Some(row) if row.expires_at >= crate::clock::now() => Err(ApiError::Conflict(
            "the item's upload is not committed yet".into(),
        )),
        _ => Err(ApiError::NotFound),
    }
}

/// The caller's upload `id` that may be written or committed: a new item's
/// (uncommitted, not expired), or a new version of a committed item (`replacing`).
/// Returns the row and the upload's declared size. Anything else is 404, or 409 for a
/// committed item with no new version on its way.
pub(crate) async fn writable(
    app: &AppState,
    s: &AuthSession,
    id: &str,
) -> Result<(ItemRow, u64), ApiError> {
    if !valid_key(id) {
        return Err(ApiError::NotFound);
    }
    let now = crate::clock::now();
    match app.store.item(&s.user.id, id).await? {
        Some(row) if !row.committed => {
            if row.expires_at < now {
                return Err(ApiError::NotFound);
            }
            let size = row.size;
            Ok((row, size))
        }
        Some(row) => match row.replacing {
            Some(r) if r.expires_at >= now => Ok((row, r.size)),
            _ => Err(ApiError::Conflict("the item is already committed".into())),
        },
        None => Err(ApiError::NotFound),
    }
}

/// A committed item the caller may read: their own, or one shared with them (then
/// with their wrapped key and the owner's signature). Anything else is 404.
async fn readable(app: &AppState, s: &AuthSession, id: &str) -> Result<ItemRow, ApiError> {
    if !valid_key(id) {
        return Err(ApiError::NotFound);
    }
    let pending = match app.store.item(&s.user.id, id).await? {
        Some(row) if row.committed => return Ok(row),
        Some(row) => row.expires_at >= crate::clock::now(),
        None => false,
    };
    match app.store.shared_item(&s.user.id, id).await? {
        Some(row) => Ok(row),
        // The caller's own upload that has not been committed: it exists, but is not an
        // item yet (`POST /items` starts an upload, docs/VAULT.md).
        None if pending => Err(ApiError::Conflict(
            "the item's upload is not committed yet".into(),
        )),
        None => Err(ApiError::NotFound),
    }
}

/// One writer per upload at a time, held while a part is written or committed: in this
/// process a set of busy ids, across servers sharing the database the lease
/// `upload/<id>` (renewed while held; a crashed server's expires after
/// [`UPLOAD_LEASE_SECS`]).
struct Busy {
    set: Arc<Mutex<HashSet<String>>>,
    id: String,
    _lease: Option<crate::lease::Lease>,
}

/// Lifetime of an upload's writer lease without renewal, in seconds.
const UPLOAD_LEASE_SECS: i64 = 60;

impl Busy {
    async fn take(app: &AppState, id: &str) -> Result<Self, ApiError> {
        let busy = || ApiError::Conflict("another request is writing this upload".into());
        {
            let mut set = app
                .uploads_busy
                .lock()
                .map_err(|_| ApiError::internal("upload lock poisoned"))?;
            if !set.insert(id.to_owned()) {
                return Err(busy());
            }
        }
        let mut taken = Self {
            set: app.uploads_busy.clone(),
            id: id.to_owned(),
            _lease: None,
        };
        // On failure `taken` drops and frees the id in the set.
        taken._lease = Some(
            crate::lease::Lease::try_take(
                &app.store,
                &format!("upload/{id}"),
                &app.instance,
                UPLOAD_LEASE_SECS,
            )
            .await?
            .ok_or_else(busy)?,
        );
        Ok(taken)
    }

    /// Gives the upload back before the response goes out: the client's next request
    /// may reach another server, which must find the upload free.
    async fn release(mut self) {
        if let Some(lease) = self._lease.take() {
            lease.release().await;
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        if let Ok(mut set) = self.set.lock() {
            set.remove(&self.id);
        }
    }
}

/// The checks every new upload (a new item or a new version) passes before anything
/// is stored: an encoded size no stream is shorter than, and at most `--max-item`.
/// Returns now, the upload's expiry and the account quota.
fn upload_limits(app: &AppState, size: u64) -> Result<(i64, i64, u64), ApiError> {
    if size < cofre_api::vault::MIN_BODY_LEN {
        return Err(ApiError::BadRequest(
            "size is shorter than any encrypted stream".into(),
        ));
    }
    if size > cofre_api::vault::MAX_BODY_LEN {
        return Err(ApiError::BadRequest(
            "size is larger than 2^63-1 bytes".into(),
        ));
    }
    let max = app.config.max_item_bytes;
    if size > max {
        return Err(ApiError::ItemTooLarge { max });
    }
    let now = crate::clock::now();
    Ok((
        now,
        now + app.config.upload_expiry_secs,
        app.config.quota_bytes,
    ))
}

/// `quota_exceeded` for an upload of `needed` bytes, with the caller's bytes in
/// unfinished uploads (so the message can point at `cofre uploads`).
async fn quota_exceeded(app: &AppState, s: &AuthSession, used: u64, needed: u64) -> ApiError {
    match app.store.pending_bytes(&s.user.id).await {
        Ok(pending) => ApiError::QuotaExceeded {
            used,
            pending,
            quota: app.config.quota_bytes,
            needed,
        },
        Err(e) => e.into(),
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/items",
    tag = "items",
    summary = "Start an upload: a new item id and the body's encoded length",
    request_body = CreateItemRequest,
    responses((status = 201, description = "Created", body = CreateItemResponse), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn create(
    State(app): State<AppState>,
    s: AuthSession,
    ApiJson(req): ApiJson<CreateItemRequest>,
) -> Result<(StatusCode, Json<CreateItemResponse>), ApiError> {
    if !valid_key(&req.id) {
        return Err(ApiError::BadRequest(
            "id must be 32 lowercase hex digits (128 random bits)".into(),
        ));
    }
    let (now, expires_at, quota) = upload_limits(&app, req.size)?;
    match app
        .store
        .create_upload(&NewUpload {
            id: &req.id,
            owner_id: &s.user.id,
            size: req.size,
            now,
            expires_at,
            quota,
        })
        .await
    {
        Ok(()) => {}
        Err(CreateItemError::Taken) => {
            return Err(ApiError::Conflict("this item id is taken".into()));
        }
        Err(CreateItemError::Quota { used }) => {
            return Err(quota_exceeded(&app, &s, used, req.size).await);
        }
        Err(CreateItemError::Store(e)) => return Err(e.into()),
    }
    Ok((
        StatusCode::CREATED,
        Json(CreateItemResponse {
            id: req.id,
            max_part_bytes: app.config.max_part_bytes,
            expires_at,
        }),
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/items/{id}/upload",
    tag = "items",
    summary = "How much of an upload arrived",
    params(("id" = String, Path, description = "Item id")),
    responses((status = 200, description = "OK", body = UploadStatus), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn upload_status(
    State(app): State<AppState>,
    s: AuthSession,
    Path(id): Path<String>,
) -> Result<Json<UploadStatus>, ApiError> {
    let (_, size) = writable(&app, &s, &id).await?;
    Ok(Json(UploadStatus {
        received: app.blobs.upload_len(&id).await?,
        size,
    }))
}

#[utoipa::path(
    put,
    path = "/api/v1/items/{id}/body",
    tag = "items",
    summary = "Write a part of the encoded body at an offset (resumable)",
    params(("id" = String, Path, description = "Item id"), ("offset" = u64, Query, minimum = 0, maximum = 9_223_372_036_854_775_807_u64, description = "Where the part starts (at most the bytes received)")),
    request_body(content = cofre_api::schema::BinaryBody, content_type = "application/octet-stream", description = "The next bytes of the encoded body; may be empty (any Content-Type is accepted and ignored). Content-Length, when sent, is checked against max_part_bytes and the declared size before any byte is read."),
    responses((status = 200, description = "OK", body = UploadStatus), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn upload_part(
    State(app): State<AppState>,
    s: AuthSession,
    Path(id): Path<String>,
    q: Result<Query<BodyOffset>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<UploadStatus>, ApiError> {
    let q = query(q)?;
    if q.offset > cofre_api::vault::MAX_BODY_LEN {
        return Err(ApiError::BadRequest(
            "offset is larger than 2^63-1 bytes".into(),
        ));
    }
    let (_, size) = writable(&app, &s, &id).await?;
    let max_part = app.config.max_part_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_part || q.offset.saturating_add(n) > size) {
        return Err(ApiError::PayloadTooLarge);
    }
    let busy = Busy::take(&app, &id).await?;
    let upload = app.metrics.upload_started();
    let reader = StreamReader::new(body.into_data_stream().map_err(std::io::Error::other));
    let reader = std::pin::pin!(reader);
    let received = app
        .blobs
        .write_part(&id, q.offset, reader, size, max_part)
        .await?;
    upload.finished(received.saturating_sub(q.offset));
    busy.release().await;
    Ok(Json(UploadStatus { received, size }))
}

#[utoipa::path(
    post,
    path = "/api/v1/items/{id}/commit",
    tag = "items",
    summary = "Finish an upload: sealed metadata and wrapped key; the item becomes visible",
    params(("id" = String, Path, description = "Item id")),
    request_body = CommitItemRequest,
    responses((status = 200, description = "OK", body = Item), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn commit(
    State(app): State<AppState>,
    s: AuthSession,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<CommitItemRequest>,
) -> Result<Json<Item>, ApiError> {
    let (row, size) = writable(&app, &s, &id).await?;
    // A client with a stale copy of the account's key (rotated elsewhere) would make
    // an item nobody can open.
    let account = s.account(&app).await?;
    if req.wrapped_key.recipient_key_id() != account.keys.public_key.key_id() {
        return Err(ApiError::BadRequest(
            "the item key is not wrapped for the account's current public key (log in again)"
                .into(),
        ));
    }
    let busy = Busy::take(&app, &id).await?;
    let mut received = app.blobs.upload_len(&id).await?;
    if received == 0 {
        // A commit retried after the blob was finished but before the database said so.
        if let Ok((_, len)) = app.blobs.open(&id, 0).await {
            received = len;
        }
    }
    if received != size {
        return Err(ApiError::UploadIncomplete { received, size });
    }
    let metadata = req.metadata.to_text();
    let wrapped_key = req.wrapped_key.to_text();
    let owner_metadata = req.owner_metadata.as_ref().map(|b| b.to_text());
    let sealed = SealedParts {
        metadata: &metadata,
        wrapped_key: &wrapped_key,
        owner_metadata: owner_metadata.as_deref(),
    };
    let now = crate::clock::now();
    let done = if row.committed {
        // A new version: the body first (readers see the old one or the new one),
        // then size, metadata and key in one statement. A crash in between leaves the
        // new version pending with its body in place: the client's retried commit
        // finds the upload gone and the blob of the new length, and finishes.
        app.blobs.replace(&id).await?;
        app.store
            .commit_replacement(&s.user.id, &id, &sealed, now)
            .await?
    } else {
        app.blobs.finish(&id).await?;
        app.store.commit_item(&s.user.id, &id, &sealed, now).await?
    };
    if !done {
        return Err(ApiError::NotFound);
    }
    busy.release().await;
    let row = app
        .store
        .item(&s.user.id, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(to_item(row)))
}

#[utoipa::path(
    get,
    path = "/api/v1/items",
    tag = "items",
    summary = "The caller's items, oldest first, a page at a time",
    params(("after" = Option<String>, Query, pattern = r"^-?[0-9]{1,18}\.[0-9a-f]{32}$", description = "The previous page's next cursor"), ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Page size (1..=1000, default 200)")),
    responses((status = 200, description = "OK", body = ItemPage), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn list(
    State(app): State<AppState>,
    s: AuthSession,
    q: Result<Query<ItemsQuery>, QueryRejection>,
) -> Result<Json<ItemPage>, ApiError> {
    let q = query(q)?;
    let limit = super::paging::limit(q.limit, 200)?;
    let after = q.after.as_deref().map(super::paging::cursor).transpose()?;
    let rows = app
        .store
        .list_items(
            &s.user.id,
            after.as_ref().map(|(t, id)| (*t, id.as_str())),
            limit,
        )
        .await?;
    let next = if rows.len() == limit as usize {
        rows.last().map(|r| format!("{}.{}", r.created_at, r.id))
    } else {
        None
    };
    Ok(Json(ItemPage {
        items: rows.into_iter().map(to_item).collect(),
        next,
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/items/usage",
    tag = "items",
    summary = "Storage used and the quota",
    responses((status = 200, description = "OK", body = Usage), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn usage(
    State(app): State<AppState>,
    s: AuthSession,
) -> Result<Json<Usage>, ApiError> {
    let (used, items) = app.store.usage(&s.user.id).await?;
    Ok(Json(Usage {
        used,
        quota: app.config.quota_bytes,
        items,
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/items/uploads",
    tag = "items",
    summary = "The caller's unfinished uploads (they count against the quota)",
    responses((status = 200, description = "OK", body = PendingUploads), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn pending_uploads(
    State(app): State<AppState>,
    s: AuthSession,
) -> Result<Json<PendingUploads>, ApiError> {
    let rows = app.store.pending_uploads(&s.user.id).await?;
    let mut uploads = Vec::with_capacity(rows.len());
    for row in rows {
        let (size, created_at, expires_at) = match (row.committed, row.replacing) {
            (true, Some(r)) => (r.size, r.created_at, r.expires_at),
            _ => (row.size, row.created_at, row.expires_at),
        };
        uploads.push(PendingUpload {
            received: app.blobs.upload_len(&row.id).await?,
            replaces: row.committed,
            id: row.id,
            size,
            created_at,
            expires_at,
        });
    }
    uploads.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(Json(PendingUploads { uploads }))
}

#[utoipa::path(
    post,
    path = "/api/v1/items/{id}/replace",
    tag = "items",
    summary = "Start a new version of a committed item (same id, same shares)",
    params(("id" = String, Path, description = "Item id")),
    request_body = ReplaceItemRequest,
    responses((status = 201, description = "Created", body = CreateItemResponse), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn replace(
    State(app): State<AppState>,
    s: AuthSession,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ReplaceItemRequest>,
) -> Result<(StatusCode, Json<CreateItemResponse>), ApiError> {
    if !valid_key(&id) {
        return Err(ApiError::NotFound);
    }
    let (now, expires_at, quota) = upload_limits(&app, req.size)?;
    match app
        .store
        .start_replacement(&NewUpload {
            id: &id,
            owner_id: &s.user.id,
            size: req.size,
            now,
            expires_at,
            quota,
        })
        .await
    {
        Ok(true) => {}
        Ok(false) => return Err(ApiError::NotFound),
        Err(CreateItemError::Taken) => {
            return Err(ApiError::Conflict(
                "a new version of this item is already being uploaded: continue it, or cancel \
                 it (DELETE /items/{id}/upload)"
                    .into(),
            ));
        }
        Err(CreateItemError::Quota { used }) => {
            return Err(quota_exceeded(&app, &s, used, req.size).await);
        }
        Err(CreateItemError::Store(e)) => return Err(e.into()),
    }
    // Bytes a crashed, abandoned earlier version left are not this one's.
    app.blobs.delete_upload(&id).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreateItemResponse {
            id,
            max_part_bytes: app.config.max_part_bytes,
            expires_at,
        }),
    ))
}

#[utoipa::path(
    delete,
    path = "/api/v1/items/{id}/upload",
    tag = "items",
    summary = "Cancel an unfinished upload: a new item's, or a new version's (the item stays)",
    params(("id" = String, Path, description = "Item id")),
    responses((status = 204, description = "Done"), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn cancel_upload(
    State(app): State<AppState>,
    s: AuthSession,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if !valid_key(&id) {
        return Err(ApiError::NotFound);
    }
    match app.store.item(&s.user.id, &id).await? {
        Some(row) if !row.committed => {
            if !app.store.delete_upload(&id).await? {
                return Err(ApiError::NotFound);
            }
            if let Err(e) = app.blobs.delete(&id).await {
                tracing::warn!(error = %e, "could not remove a cancelled upload; cleanup will");
            }
        }
        Some(row) if row.replacing.is_some() => {
            if !app.store.cancel_replacement(&s.user.id, &id).await? {
                return Err(ApiError::NotFound);
            }
            app.blobs.delete_upload(&id).await?;
        }
        _ => return Err(ApiError::NotFound),
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/api/v1/items/{id}",
    tag = "items",
    summary = "One item (the caller's own, or shared with the caller)",
    params(("id" = String, Path, description = "Item id")),
    responses((status = 200, description = "OK", body = Item), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn get_item(
    State(app): State<AppState>,
    s: AuthSession,
    Path(id): Path<String>,
) -> Result<Json<Item>, ApiError> {
    Ok(Json(to_item(readable(&app, &s, &id).await?)))
}

/// The start offset of a `Range: bytes=N-` header (the only form served).
fn range_start(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(v) = headers.get(header::RANGE) else {
        return Ok(None);
    };
    let bad = || ApiError::BadRequest("only Range: bytes=N- is supported".into());
    let v = v.to_str().map_err(|_| bad())?;
    let n = v
        .strip_prefix("bytes=")
        .and_then(|r| r.strip_suffix('-'))
        .ok_or_else(bad)?;
    n.parse::<u64>().map(Some).map_err(|_| bad())
}

#[utoipa::path(
    get,
    path = "/api/v1/items/{id}/body",
    tag = "items",
    summary = "The encoded body (supports Range: bytes=N-)",
    params(("id" = String, Path, description = "Item id"), ("Range" = Option<String>, Header, description = "`bytes=N-`: from byte N to the end (one open-ended range only)")),
    responses(
        (status = 200, description = "The whole encoded body", content_type = "application/octet-stream", body = cofre_api::schema::BinaryBody,
            headers(("Content-Length" = u64, description = "The body's length"), ("Accept-Ranges" = String, description = "`bytes`"))),
        (status = 206, description = "From the requested offset to the end", content_type = "application/octet-stream", body = cofre_api::schema::BinaryBody,
            headers(("Content-Range" = String, description = "`bytes N-LAST/LENGTH`, or `bytes */LENGTH` when N is the length"), ("Content-Length" = u64, description = "LENGTH - N"))),
        (status = "4XX", description = "Error", body = cofre_api::ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub(crate) async fn download(
    State(app): State<AppState>,
    s: AuthSession,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    readable(&app, &s, &id).await?;
    let start = range_start(&headers)?;
    let (reader, len) = app.blobs.open(&id, start.unwrap_or(0)).await?;
    let from = start.unwrap_or(0);
    if from > len {
        return Err(ApiError::BadRequest(format!(
            "range starts past the end ({len} bytes)"
        )));
    }
    let mut resp =
        Body::from_stream(ReaderStream::with_capacity(reader, 256 * 1024)).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len - from));
    if start.is_some() {
        *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
        let range = if len == 0 || from == len {
            format!("bytes */{len}")
        } else {
            format!("bytes {from}-{}/{len}", len - 1)
        };
        if let Ok(v) = HeaderValue::from_str(&range) {
            resp.headers_mut().insert(header::CONTENT_RANGE, v);
        }
    }
    Ok(resp)
}

#[utoipa::path(
    put,
    path = "/api/v1/items/{id}/metadata",
    tag = "items",
    summary = "Replace the sealed metadata (rename)",
    params(("id" = String, Path, description = "Item id")),
    request_body = UpdateMetadataRequest,
    responses((status = 204, description = "Done"), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn set_metadata(
    State(app): State<AppState>,
    s: AuthSession,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UpdateMetadataRequest>,
) -> Result<StatusCode, ApiError> {
    owned(&app, &s, &id, true).await?;
    let owner_metadata = req.owner_metadata.as_ref().map(|b| b.to_text());
    if !app
        .store
        .set_item_metadata(
            &s.user.id,
            &id,
            &req.metadata.to_text(),
            owner_metadata.as_deref(),
            crate::clock::now(),
        )
        .await?
    {
        return Err(ApiError::NotFound);
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    put,
    path = "/api/v1/items/owner-metadata",
    tag = "items",
    summary = "Add owner copies of metadata (FORMAT.md 9.12) to items of the caller's, at most 500 at a time",
    request_body = OwnerMetadataBatch,
    responses((status = 200, description = "The ids whose copy was stored", body = OwnerMetadataStored), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn set_owner_metadata(
    State(app): State<AppState>,
    s: AuthSession,
    ApiJson(req): ApiJson<OwnerMetadataBatch>,
) -> Result<Json<OwnerMetadataStored>, ApiError> {
    if req.items.len() > MAX_OWNER_METADATA_BATCH {
        return Err(ApiError::BadRequest(format!(
            "at most {MAX_OWNER_METADATA_BATCH} owner copies per request"
        )));
    }
    // The server cannot check a copy (it has no key): it stores each only beside the
    // exact metadata box the client made it beside, so a copy computed before a
    // concurrent rename is dropped rather than left stale.
    let texts: Vec<(String, String, String)> = req
        .items
        .iter()
        .filter(|c| valid_key(&c.id))
        .map(|c| {
            (
                c.id.clone(),
                c.metadata.to_text(),
                c.owner_metadata.to_text(),
            )
        })
        .collect();
    let copies: Vec<(&str, &str, &str)> = texts
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
        .collect();
    let stored = app.store.set_owner_metadata(&s.user.id, &copies).await?;
    Ok(Json(OwnerMetadataStored { stored }))
}

#[utoipa::path(
    delete,
    path = "/api/v1/items/{id}",
    tag = "items",
    summary = "Delete an item (or abandon an upload)",
    params(("id" = String, Path, description = "Item id")),
    responses((status = 204, description = "Done"), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn delete_item(
    State(app): State<AppState>,
    s: AuthSession,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if !valid_key(&id) || !app.store.delete_item(&s.user.id, &id).await? {
        return Err(ApiError::NotFound);
    }
    // The row is gone, so the item is; if removing the bytes fails, the cleanup pass
    // removes them later.
    if let Err(e) = app.blobs.delete(&id).await {
        tracing::warn!(error = %e, "could not remove a deleted item's blob; cleanup will");
    }
    Ok(StatusCode::NO_CONTENT)
}
