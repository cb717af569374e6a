//! The cofre server: the HTTP API (axum on tokio).
//!
//! It stores only ciphertext, wrapped keys and the minimum plaintext it needs; it never
//! sees a password, a user key or an item key. Every cryptographic operation it needs
//! comes from [`cofre_core`]; request and response types from [`cofre_api`].
//!
//! - [`config`]: the settings and the data directory.
//! - [`app`]: opening the state, the router; [`serve`] runs it until shutdown.
//! - [`state`]: what handlers share.
//! - [`error`]: the one API error type, rendered as `{"error":{"code","message"}}`;
//!   `json_errors` rewrites any other error answer into that shape.
//! - [`listener`]: the accept loop: read timeouts and connection caps, plain or TLS.
//! - [`auth`]: access tokens, bcrypt pool, throttling, the session extractors.
//! - [`routes`]: one module per resource.
//! - [`store`]: the database (SQLite by default), one module per table group.
//! - [`blobs`]: item bodies (ciphertext) behind the blob-store trait; a local folder or
//!   S3-compatible object storage.
//! - [`backup`]: encrypted, signed backups: create, verify, restore, schedule, retention.
//! - [`cleanup`]: the pass that removes abandoned uploads and orphaned blobs.
//! - [`lease`]: rights that one server at a time holds among those sharing a database.
//! - [`secrets`]: the server's own key files.
//! - [`file_modes`]: owner-only files, and the warning about folders others can use.
//! - [`audit`]: the hash-chained audit log.
//! - [`disk_full`]: recognising and reporting a full file system (507).
//! - [`metrics`]: operational metrics and `GET /metrics`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod app;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod blobs;
pub mod cleanup;
pub mod clock;
pub mod config;
pub mod disk_full;
pub mod error;
pub mod file_modes;
mod json_errors;
pub mod lease;
pub mod listener;
pub mod metrics;
pub mod routes;
pub mod secrets;
pub mod state;
pub mod store;

pub use app::serve;
pub use config::ServerConfig;
