//! Authentication: access tokens, auth-key hashing, throttling, device tokens,
//! per-address limits of the anonymous routes, and the extractors that guard protected
//! routes.

pub mod device;
pub mod extract;
pub mod fake_kdf;
pub mod jwt;
pub mod password;
pub mod rate_limit;
pub mod throttle;
pub mod tokens;

pub use extract::{AdminSession, AuthSession, EnrollingSession};
