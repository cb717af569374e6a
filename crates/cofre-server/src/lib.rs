//! The cofre server: the HTTP API (axum on tokio).
//!
//! It stores only ciphertext, wrapped keys and the minimum plaintext it needs; it never
//! sees a password, a user key or an item key. Every cryptographic operation it needs
//! comes from [`cofre_core`].
//!
//! - [`config`]: the settings and the data directory.
//! - [`app`]: the router and shared state; [`serve`] runs it until shutdown.
//! - [`error`]: the one API error type, rendered as `{"error":{"code","message"}}`.
//! - [`routes`]: one module per resource.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod app;
pub mod config;
pub mod error;
pub mod routes;

pub use app::serve;
pub use config::ServerConfig;
