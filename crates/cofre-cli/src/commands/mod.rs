//! One module per group of subcommands.

pub mod account;
pub mod admin;
pub mod backup;
pub mod contacts;
pub mod docs;
pub mod keys;
pub mod mfa;
pub mod migrate;
pub mod server;
pub mod sharing;
pub mod uploads;
pub mod vault;
