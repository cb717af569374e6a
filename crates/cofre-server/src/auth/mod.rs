//! Authentication: access tokens, auth-key hashing, throttling, device tokens, and the
//! extractors that guard protected routes.

pub mod device;
pub mod extract;
pub mod jwt;
pub mod password;
pub mod throttle;
pub mod tokens;

pub use extract::{AdminSession, AuthSession, EnrollingSession};
