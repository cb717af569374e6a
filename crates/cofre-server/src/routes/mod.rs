//! One module per resource, each with its own router.

pub mod account;
pub mod admin;
pub mod auth;
pub mod health;
pub mod items;
pub mod mfa;
pub mod openapi;
pub mod paging;
pub mod rotation;
pub mod shares;
pub mod version;
