//! The OpenAPI document is a contract the running server keeps (docs/API.md, "The
//! contract is tested"). One real server on a loopback port with a real database, and
//! schemathesis, a property-based API tester (PyPI, pinned, installed on first use into
//! `target/test-tools/schemathesis-venv`): it reads `GET /api/v1/openapi.json` and
//! sends generated requests (examples, boundary cases, random data, and stateful
//! sequences following the links it infers) to every operation with all of its checks,
//! authenticated with real access tokens. Any failure fails this test: a 5xx, a status,
//! content type, header or body the document does not declare, a request the schema
//! forbids that is accepted, one it allows that is refused, an ignored
//! `Authorization`, a resource another user can reach, one that is gone right after it
//! was created. `schemathesis.toml` beside this file says where, and why, a check is
//! adapted.
//!
//! Without python3 or PyPI the test says so and passes, except under `CI=true`, where
//! it fails.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "../api/support.rs"]
#[allow(dead_code)]
mod support;
#[path = "../shared/venv.rs"]
mod venv;

mod schemathesis;

use crate::support::*;

/// The accounts a run authenticates as: an administrator (the first account) and a
/// user.
pub struct Accounts {
    /// The administrator's access token.
    pub admin_token: String,
    /// The user's access token.
    pub user_token: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_keeps_the_contract_of_its_openapi_document() {
    let Some(tester) = schemathesis::installed() else {
        return;
    };
    let s = start(|_| {}).await;
    register(&s, "admin").await;
    let admin = login(&s, "admin").await;
    register(&s, "alice").await;
    let alice = login(&s, "alice").await;
    let accounts = Accounts {
        admin_token: admin.tokens.access_token.expose().to_owned(),
        user_token: alice.tokens.access_token.expose().to_owned(),
    };
    schemathesis::run(&tester, &s, &accounts).await;
}
