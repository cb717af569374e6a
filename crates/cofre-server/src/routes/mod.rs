//! One module per resource, each with its own router.

pub mod health;
