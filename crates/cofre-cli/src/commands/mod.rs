//! One module per group of subcommands.

pub mod account;
pub mod admin;
pub mod mfa;
pub mod server;
pub mod vault;
