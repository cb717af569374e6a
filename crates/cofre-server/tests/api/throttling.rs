//! Online guessing: failures lock the account (429 + Retry-After) even for the right
//! password, the lock expires, success resets; unknown users look like known ones.

use cofre_api::ErrorCode;
use cofre_client::client::SecondFactor;
use cofre_core::secret::Password;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockout_kicks_in_expires_and_resets() {
    let s = start(|c| {
        c.account_free_failures = 3;
        c.lockout_base_secs = 2;
    })
    .await;
    register(&s, "alice").await;
    let wrong = Password::new("definitely not the password");
    for _ in 0..2 {
        let e = s
            .client
            .login("alice", &wrong, SecondFactor::None)
            .await
            .err()
            .unwrap();
        assert_eq!(api_code(&e), ErrorCode::InvalidCredentials);
    }
    // The third failure locks the account.
    let e = s
        .client
        .login("alice", &wrong, SecondFactor::None)
        .await
        .err()
        .unwrap();
    assert_eq!(api_code(&e), ErrorCode::InvalidCredentials);
    // Now even the right password gets 429, with Retry-After.
    let e = s
        .client
        .login("alice", &Password::new(PASSWORD), SecondFactor::None)
        .await
        .err()
        .unwrap();
    match &e {
        cofre_client::ClientError::Api {
            status,
            code,
            retry_after,
            ..
        } => {
            assert_eq!((*status, *code), (429, ErrorCode::TooManyRequests));
            let r = retry_after.expect("Retry-After header");
            assert!((1..=2).contains(&r), "retry after {r}");
        }
        other => panic!("{other}"),
    }
    // The lock expires.
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    login(&s, "alice").await;
    // Success reset the counter: two failures do not lock.
    for _ in 0..2 {
        let e = s
            .client
            .login("alice", &wrong, SecondFactor::None)
            .await
            .err()
            .unwrap();
        assert_eq!(api_code(&e), ErrorCode::InvalidCredentials);
    }
    login(&s, "alice").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_address_counter_stops_spraying_across_accounts() {
    let s = start(|c| {
        c.address_free_failures = 4;
        c.lockout_base_secs = 60;
    })
    .await;
    register(&s, "alice").await;
    let body = |user: &str| {
        format!(
            r#"{{"username":"{user}","auth_key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}"#
        )
    };
    for i in 0..4 {
        let (st, _, b) = post_raw(&s, "/auth/login", None, &body(&format!("user{i}"))).await;
        assert_eq!((st, code(&b)), (401, "invalid_credentials"));
    }
    // The address is now locked, whichever account it tries, alice included.
    let (st, h, b) = post_raw(&s, "/auth/login", None, &body("alice")).await;
    assert_eq!((st, code(&b)), (429, "too_many_requests"));
    assert!(h.get("retry-after").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_user_is_indistinguishable_from_a_wrong_password() {
    let s = start(|_| {}).await;
    register(&s, "alice").await;
    let key = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
    let (st1, _, b1) = post_raw(
        &s,
        "/auth/login",
        None,
        &format!(r#"{{"username":"alice","auth_key":"{key}"}}"#),
    )
    .await;
    let (st2, _, b2) = post_raw(
        &s,
        "/auth/login",
        None,
        &format!(r#"{{"username":"nobody","auth_key":"{key}"}}"#),
    )
    .await;
    let (st3, _, b3) = post_raw(
        &s,
        "/auth/login",
        None,
        r#"{"username":"alice","auth_key":"not-even-base64!"}"#,
    )
    .await;
    assert_eq!(st1, 401);
    assert_eq!((st1, &b1), (st2, &b2));
    assert_eq!((st1, &b1), (st3, &b3));
}

/// A failed login from `xff` (as an `X-Forwarded-For` header).
async fn login_via(s: &TestServer, user: &str, xff: &str) -> (u16, String) {
    let resp = s
        .http
        .post(s.url("/auth/login"))
        .header("content-type", "application/json")
        .header("x-forwarded-for", xff)
        .body(format!(
            r#"{{"username":"{user}","auth_key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}"#
        ))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body: serde_json::Value = resp.json().await.unwrap_or_default();
    (status, code(&body).to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
    // Behind a trusted proxy (this test is the proxy, on loopback), each forwarded
    // client has its own counter, and the audit log names it.
    let s = start(|c| {
        c.address_free_failures = 3;
        c.lockout_base_secs = 60;
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    for i in 0..3 {
        let got = login_via(&s, &format!("user{i}"), "198.51.100.7").await;
        assert_eq!(got, (401, "invalid_credentials".into()));
    }
    let got = login_via(&s, "user9", "198.51.100.7").await;
    assert_eq!(
        got,
        (429, "too_many_requests".into()),
        "that client is locked"
    );
    let got = login_via(&s, "user9", "198.51.100.8").await;
    assert_eq!(got, (401, "invalid_credentials".into()), "another is not");
    // A client prepending a hop of its choice is still itself.
    let got = login_via(&s, "user9", "203.0.113.1, 198.51.100.7").await;
    assert_eq!(got.0, 429);
    let rows = s.state.store.audit_rows(0, 100).await.unwrap();
    assert!(
        rows.iter()
            .any(|r| r.address.as_deref() == Some("198.51.100.8")),
        "the audit log records the forwarded address"
    );

    // Without a trusted proxy the header is ignored: changing it evades nothing.
    let s = start(|c| {
        c.address_free_failures = 3;
        c.lockout_base_secs = 60;
    })
    .await;
    for i in 0..3 {
        let got = login_via(&s, &format!("user{i}"), &format!("198.51.100.{i}")).await;
        assert_eq!(got, (401, "invalid_credentials".into()));
    }
    let got = login_via(&s, "user9", "198.51.100.99").await;
    assert_eq!(got, (429, "too_many_requests".into()));
}
