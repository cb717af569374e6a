//! `GET /api/v1/version`: which API version and formats a server speaks, and the
//! capabilities a client may rely on. Clients check it before using a capability that
//! came after the first release of `v1` (docs/API.md, "Versioning").

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The API version this crate describes; every route lives under `/api/` plus it.
pub const API_VERSION: &str = "v1";

/// The version of the binary formats of docs/FORMAT.md the server stores and serves
/// (the header's version byte, section 2.1).
pub const FORMAT_VERSION: u8 = cofre_core::format::VERSION_1;

/// Capability names: each says that a server offers a behaviour added to `v1` after
/// its first release, or one a client may want to check before offering it to a user.
/// A name is never reused for another meaning; a server lists all it supports.
pub mod capability {
    /// Uploads in parts that resume at the received offset
    /// (`GET /items/{id}/upload`, `PUT /items/{id}/body?offset=N`).
    pub const RESUMABLE_UPLOADS: &str = "resumable-uploads";
    /// Downloads honour `Range: bytes=N-` with `206` and `Content-Range`.
    pub const RANGE_DOWNLOADS: &str = "range-downloads";
    /// A new version of an item replaces body and metadata (`POST /items/{id}/replace`).
    pub const ITEM_REPLACE: &str = "item-replace";
    /// The caller's unfinished uploads can be listed and cancelled
    /// (`GET /items/uploads`, `DELETE /items/{id}/upload`).
    pub const UPLOAD_LIST: &str = "upload-list";
    /// Sharing items with other accounts (`/items/{id}/shares`, `/shared`).
    pub const SHARING: &str = "sharing";
    /// A received share can be hidden by its recipient (`DELETE /shared/{id}`).
    pub const SHARE_HIDE: &str = "share-hide";
    /// Key rotation keeps received shares readable through the recipient's re-wrap
    /// statement (docs/FORMAT.md 9.10; `PUT /account/rotation/rewrap`).
    pub const SHARE_REWRAP: &str = "share-rewrap";
    /// TOTP second factor and recovery codes (`/mfa`).
    pub const TOTP: &str = "totp";
    /// Account recovery with the recovery key (`/account/recover`).
    pub const ACCOUNT_RECOVERY: &str = "account-recovery";
    /// Encrypted server backups an administrator can list and start (`/admin/backups`).
    pub const ADMIN_BACKUPS: &str = "admin-backups";
}

/// Every capability this version of the crate defines, in a stable order.
pub const CAPABILITIES: &[&str] = &[
    capability::RESUMABLE_UPLOADS,
    capability::RANGE_DOWNLOADS,
    capability::ITEM_REPLACE,
    capability::UPLOAD_LIST,
    capability::SHARING,
    capability::SHARE_HIDE,
    capability::SHARE_REWRAP,
    capability::TOTP,
    capability::ACCOUNT_RECOVERY,
    capability::ADMIN_BACKUPS,
];

/// The answer of `GET /api/v1/version`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "api": "v1",
    "server": "0.1.0",
    "format": 1,
    "capabilities": ["resumable-uploads", "range-downloads", "item-replace", "upload-list",
        "sharing", "share-hide", "share-rewrap", "totp", "account-recovery", "admin-backups"]
}))]
pub struct VersionInfo {
    /// The API version, `"v1"`: the prefix every route lives under.
    pub api: String,
    /// The server's release (semantic versioning); for people and bug reports, not for
    /// feature checks (use `capabilities`).
    pub server: String,
    /// The version byte of the binary formats (docs/FORMAT.md 2.1) this server's data
    /// is written in.
    pub format: u8,
    /// The capabilities the server offers (see [`capability`]); unknown names are
    /// ignored by clients.
    pub capabilities: Vec<String>,
}

impl VersionInfo {
    /// Whether the server offers `name`.
    pub fn supports(&self, name: &str) -> bool {
        self.capabilities.iter().any(|c| c == name)
    }
}
