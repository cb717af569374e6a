//! Key rotation: a new RSA key pair for an account, with every item key it holds
//! re-wrapped (no item body is re-encrypted) and every share it made re-signed.
//!
//! `POST /account/rotation` registers the new public key and its sealed private key
//! as pending; `PUT /account/rotation/rewrap` stores re-wrapped keys and new share
//! signatures in batches (resumable: the client skips what is already done);
//! `POST /account/rotation/finish` checks nothing is left on the old key, makes the new
//! pair the account's, retires the old one and ends the account's other sessions.

use cofre_core::format::{SealedBox, Signature, WrappedKey};
use cofre_core::keys::{AccountKeys, PublicKey};
use serde::{Deserialize, Serialize};

/// `POST /api/v1/account/rotation`, and the pending rotation in [`RotationStatus`].
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PendingKeyPair {
    /// The new RSA public key (SPKI).
    #[schema(value_type = String)]
    pub public_key: PublicKey,
    /// The new PKCS#8 private key sealed under the user key (context
    /// `cofre/v1/private-key`).
    #[schema(value_type = String)]
    pub protected_private_key: SealedBox,
}

/// `GET /api/v1/account/rotation`.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RotationStatus {
    /// The rotation in progress, if any.
    pub pending: Option<PendingKeyPair>,
}

/// One share the caller made, in `GET /api/v1/account/shares-out`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OutgoingShare {
    /// The item.
    pub item_id: String,
    /// The recipient's username.
    pub recipient: String,
    /// The item key wrapped for the recipient that the caller's signature covers (text
    /// form, as stored): the original one, even after the recipient re-wrapped it for
    /// a new key of theirs (FORMAT.md 9.10).
    pub wrapped_key: String,
    /// The caller's signature over the share (text form, as stored).
    pub signature: String,
}

/// A page of the caller's outgoing shares.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OutgoingPage {
    /// The shares.
    pub shares: Vec<OutgoingShare>,
    /// Cursor of the next page.
    pub next: Option<String>,
}

/// An item key re-wrapped for the new public key.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rewrapped {
    /// The item.
    pub item_id: String,
    /// The item key wrapped for the pending public key.
    #[schema(value_type = String)]
    pub wrapped_key: WrappedKey,
}

/// The item key of a share the caller received, re-wrapped for the new public key,
/// with the caller's statement of the re-wrap (FORMAT.md 9.10).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RewrappedShare {
    /// The item.
    pub item_id: String,
    /// The item key wrapped for the pending public key.
    #[schema(value_type = String)]
    pub wrapped_key: WrappedKey,
    /// Made with the pending private key (context `cofre/v1/share-rewrap`) over the
    /// item id, owner, recipient, the wrapped key the owner signed (the share's
    /// `signed_wrapped_key`, or its current `wrapped_key` when that is not set yet) and
    /// this `wrapped_key`.
    #[schema(value_type = String)]
    pub rewrap_signature: Signature,
}

/// A share re-signed with the new private key.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Resigned {
    /// The item.
    pub item_id: String,
    /// The recipient's username.
    pub recipient: String,
    /// The new signature (same message, new key).
    #[schema(value_type = String)]
    pub signature: Signature,
}

/// `PUT /api/v1/account/rotation/rewrap`: one batch (at most 1000 entries in all).
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RewrapBatch {
    /// The caller's own items.
    #[serde(default)]
    pub items: Vec<Rewrapped>,
    /// Items shared with the caller.
    #[serde(default)]
    pub received: Vec<RewrappedShare>,
    /// Shares the caller made.
    #[serde(default)]
    pub signatures: Vec<Resigned>,
}

/// The answer to `POST /api/v1/account/rotation/finish`.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RotationDone {
    /// The account's key material, with the new key pair.
    #[schema(value_type = crate::schema::AccountKeysSchema)]
    pub keys: AccountKeys,
}
