//! The vault: items (notes and files) as the server sees them, ciphertext only.
//!
//! An upload is three steps: `POST /items` declares a new random id and the body's
//! encoded length; `PUT /items/{id}/body?offset=N` sends the encoded stream in parts
//! (resumable: `GET /items/{id}/upload` says how much arrived); `POST
//! /items/{id}/commit` adds the sealed metadata and the wrapped item key and makes the
//! item visible. Until then it is listed nowhere, and an abandoned upload is removed
//! by the server's cleanup.

use cofre_core::format::{SealedBox, Signature, WrappedKey};
use cofre_core::keys::PublicKey;
use serde::{Deserialize, Serialize};

/// `POST /api/v1/items`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateItemRequest {
    /// The new item's id: 32 lowercase hex digits (128 random bits) chosen by the
    /// client, which binds the item key, metadata and body to it before uploading.
    #[schema(pattern = "^[0-9a-f]{32}$")]
    pub id: String,
    /// Encoded length of the body stream, in bytes (what the upload will send): at
    /// least [`MIN_BODY_LEN`], at most 2^63−1 (and the server's `max_item_bytes`).
    #[schema(minimum = 84, maximum = 9_223_372_036_854_775_807_u64)]
    #[serde(deserialize_with = "crate::json::integral_u64")]
    pub size: u64,
}

/// `POST /api/v1/items/{id}/replace`: start a new version of a committed item. Its
/// body goes up like any upload's (`PUT /items/{id}/body`, `GET /items/{id}/upload`),
/// under the same id and item key with a new stream; its commit (`POST
/// /items/{id}/commit`) replaces body, size, metadata and wrapped key together, so
/// the id and every share stay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceItemRequest {
    /// Encoded length of the new body stream, in bytes (as in [`CreateItemRequest`]).
    #[schema(minimum = 84, maximum = 9_223_372_036_854_775_807_u64)]
    #[serde(deserialize_with = "crate::json::integral_u64")]
    pub size: u64,
}

/// The shortest encoded body a stream can have (an empty plaintext written with any
/// chunk size, docs/FORMAT.md 8.3): the smallest `size` an upload may declare.
pub const MIN_BODY_LEN: u64 = 84;

/// The largest `size` an upload may declare (the database stores sizes as signed
/// 64-bit integers); a server's `max_item_bytes` is usually far smaller.
pub const MAX_BODY_LEN: u64 = i64::MAX as u64;

/// The answer to `POST /api/v1/items`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CreateItemResponse {
    /// The item's id.
    pub id: String,
    /// Largest body part the server accepts in one `PUT`, in bytes.
    pub max_part_bytes: u64,
    /// When an upload not committed by then is removed (Unix seconds).
    pub expires_at: i64,
}

/// `GET /api/v1/items/{id}/upload` and the answer to each `PUT .../body`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UploadStatus {
    /// Bytes stored so far (send the next part at this offset).
    pub received: u64,
    /// The declared encoded length.
    pub size: u64,
}

/// Query of `PUT /api/v1/items/{id}/body`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodyOffset {
    /// Where this part starts: at most the bytes received so far (a smaller offset
    /// replaces what was after it, to resume after an interrupted part).
    pub offset: u64,
}

/// `POST /api/v1/items/{id}/commit`.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommitItemRequest {
    /// The metadata sealed under the item key (context `cofre/v1/item-meta/` || id).
    #[schema(value_type = String)]
    pub metadata: SealedBox,
    /// The item key wrapped for the owner (context `cofre/v1/item-key/` || id).
    #[schema(value_type = String)]
    pub wrapped_key: WrappedKey,
    /// The owner's copy of the same metadata, sealed under the owner's vault metadata
    /// key beside `metadata` (FORMAT.md 9.12), so that listing needs no RSA. Optional:
    /// without it the item has no owner copy until its owner's client adds one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub owner_metadata: Option<SealedBox>,
}

/// `PUT /api/v1/items/{id}/metadata` (rename).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMetadataRequest {
    /// The new sealed metadata.
    #[schema(value_type = String)]
    pub metadata: SealedBox,
    /// The owner's copy of the new metadata (FORMAT.md 9.12). Without it the item's
    /// owner copy is removed (the old one was made beside the old metadata).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub owner_metadata: Option<SealedBox>,
}

/// One owner copy in `PUT /api/v1/items/owner-metadata`.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnerMetadataCopy {
    /// The item's id (an item of the caller's).
    pub id: String,
    /// The item's sealed metadata the copy was made beside, as the caller read it:
    /// the copy is stored only if the item still has exactly this metadata.
    #[schema(value_type = String)]
    pub metadata: SealedBox,
    /// The owner's copy (FORMAT.md 9.12).
    #[schema(value_type = String)]
    pub owner_metadata: SealedBox,
}

/// `PUT /api/v1/items/owner-metadata`: add owner copies to items that lack them (a
/// vault written before owner copies existed), at most
/// [`MAX_OWNER_METADATA_BATCH`] at a time.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnerMetadataBatch {
    /// The copies (at most [`MAX_OWNER_METADATA_BATCH`]).
    #[schema(max_items = 500)]
    pub items: Vec<OwnerMetadataCopy>,
}

/// The answer to `PUT /api/v1/items/owner-metadata`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OwnerMetadataStored {
    /// The ids whose copy was stored; the others are not the caller's committed items
    /// or their metadata changed since the caller read it.
    pub stored: Vec<String>,
}

/// Most owner copies one `PUT /api/v1/items/owner-metadata` takes.
pub const MAX_OWNER_METADATA_BATCH: usize = 500;

/// An item as stored: ids, sizes and times in the clear; everything else sealed.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Item {
    /// Id.
    pub id: String,
    /// The owner's username.
    pub owner: String,
    /// Encoded length of the body stream.
    pub size: u64,
    /// Server time of the commit (Unix seconds).
    pub created_at: i64,
    /// Server time of the last change (Unix seconds).
    pub updated_at: i64,
    /// Sealed metadata, base64url, passed through as stored (the client parses and
    /// authenticates it, so one damaged item cannot break a listing).
    pub metadata: String,
    /// The item key wrapped for the caller, base64url, as stored.
    pub wrapped_key: String,
    /// On the caller's own items: the owner's copy of the metadata (FORMAT.md 9.12),
    /// base64url, as stored; absent on items that have none yet and on items shared
    /// with the caller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_metadata: Option<String>,
    /// For an item shared with the caller: the owner's signature over the share
    /// (verify it with the owner's pinned key). Absent on the caller's own items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// For an item shared with the caller who rotated its keys since: the wrapped key
    /// the owner's signature covers (FORMAT.md 9.10), base64url, as stored; `null`
    /// otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_wrapped_key: Option<String>,
    /// With `signed_wrapped_key`: the caller's own signature stating that it re-wrapped
    /// that key as `wrapped_key` (verify it with the caller's own current public key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewrap_signature: Option<String>,
}

/// Query of `GET /api/v1/items`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemsQuery {
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// Page size (1..=1000, default 200).
    pub limit: Option<u32>,
}

/// A page of `GET /api/v1/items`, oldest first.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ItemPage {
    /// The items.
    pub items: Vec<Item>,
    /// Cursor of the next page; absent on the last page.
    pub next: Option<String>,
}

/// `GET /api/v1/items/usage`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Usage {
    /// Encoded bytes stored (and reserved by uploads in progress).
    pub used: u64,
    /// The quota in bytes.
    pub quota: u64,
    /// Committed items.
    pub items: u64,
}

/// One unfinished upload of the caller's, in `GET /api/v1/items/uploads`. It counts
/// against the quota until it is committed, cancelled (`DELETE
/// /api/v1/items/{id}/upload`) or removed by the server when it expires.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PendingUpload {
    /// The upload's item id.
    pub id: String,
    /// Whether it is a new version of a committed item (cancelling it leaves the
    /// item as it is) rather than a new item.
    #[serde(default)]
    pub replaces: bool,
    /// The declared encoded length (what it reserves of the quota).
    pub size: u64,
    /// Bytes received so far.
    pub received: u64,
    /// When the upload started (Unix seconds).
    pub created_at: i64,
    /// When the server removes it if it is not committed (Unix seconds).
    pub expires_at: i64,
}

/// `GET /api/v1/items/uploads`: the caller's unfinished uploads, oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PendingUploads {
    /// The uploads.
    pub uploads: Vec<PendingUpload>,
}

/// `POST /api/v1/items/{id}/shares`: give another account read access.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareRequest {
    /// The recipient's username.
    pub recipient: String,
    /// The item key wrapped for the recipient's public key (context
    /// `cofre/v1/item-key/` || id).
    #[schema(value_type = String)]
    pub wrapped_key: WrappedKey,
    /// The owner's signature over the share (FORMAT.md 9.9).
    #[schema(value_type = String)]
    pub signature: Signature,
}

/// One recipient of an item, in `GET /api/v1/items/{id}/shares`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ShareInfo {
    /// The recipient's username.
    pub recipient: String,
    /// When it was shared (Unix seconds).
    pub created_at: i64,
}

/// `GET /api/v1/users/{username}/public-key`.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserPublicKey {
    /// The normalized username.
    pub username: String,
    /// The account's RSA public key (SPKI). Pin its fingerprint: the server could lie.
    #[schema(value_type = String)]
    pub public_key: PublicKey,
}

#[cfg(test)]
mod tests {
    use cofre_core::format::stream;

    /// The batch limit the OpenAPI document declares is the one the server enforces.
    #[test]
    fn the_declared_batch_limit_is_the_enforced_one() {
        let schema =
            serde_json::to_value(<super::OwnerMetadataBatch as utoipa::PartialSchema>::schema())
                .unwrap();
        assert_eq!(
            schema["properties"]["items"]["maxItems"],
            super::MAX_OWNER_METADATA_BATCH
        );
    }

    /// The bounds the OpenAPI document declares for `size` are the format's.
    #[test]
    fn the_declared_body_bounds_are_the_formats() {
        for log2 in stream::MIN_CHUNK_LOG2..=stream::MAX_CHUNK_LOG2 {
            assert_eq!(stream::encrypted_len(0, log2), super::MIN_BODY_LEN);
        }
        assert_eq!(super::MAX_BODY_LEN, 9_223_372_036_854_775_807);
    }
}
