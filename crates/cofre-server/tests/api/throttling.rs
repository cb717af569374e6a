//! Online guessing: every attempt is paid for before any credential is checked, so
//! concurrent guesses (from one address or many, passwords, TOTP codes or MFA recovery
//! codes) are bounded by the budget; the budget decays; a device token keeps the owner's
//! own budget; recovery stays open; an admin-locked account answers the same for any
//! password; unknown users look like known ones.

use std::net::{IpAddr, Ipv4Addr};

use cofre_api::ErrorCode;
use cofre_client::client::SecondFactor;
use cofre_core::keys::MasterKey;
use cofre_core::secret::Password;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_address_counter_stops_spraying_across_accounts() {
    let s = start(|c| {
        c.address_free_failures = 4;
        c.address_refill_secs = 60;
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
        c.address_refill_secs = 60;
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
        c.address_refill_secs = 60;
    })
    .await;
    for i in 0..3 {
        let got = login_via(&s, &format!("user{i}"), &format!("198.51.100.{i}")).await;
        assert_eq!(got, (401, "invalid_credentials".into()));
    }
    let got = login_via(&s, "user9", "198.51.100.99").await;
    assert_eq!(got, (429, "too_many_requests".into()));
}

/// A well-formed auth key that is nobody's.
pub const WRONG_KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// The auth key `password` gives for `name` (what a client sends).
pub async fn auth_key_of(s: &TestServer, name: &str, password: &str) -> String {
    let pre = s.client.prelogin(name).await.unwrap();
    let master = MasterKey::derive(&Password::new(password), &pre.salt, &pre.kdf).unwrap();
    master.auth_key().unwrap().to_text().to_string()
}

/// A login body.
pub fn login_body(user: &str, key: &str, extra: &str) -> String {
    format!(r#"{{"username":"{user}","auth_key":"{key}"{extra}}}"#)
}

/// An HTTP client whose connections come from `127.0.0.n`.
pub fn client_from(n: u8) -> reqwest::Client {
    client_from_ip(IpAddr::V4(Ipv4Addr::new(127, 0, 0, n)))
}

/// Sends every (client, server base URL, body) login at once; the answers in order.
pub async fn storm(requests: Vec<(reqwest::Client, String, String)>) -> Vec<Answer> {
    let mut set = tokio::task::JoinSet::new();
    for (i, (client, base, body)) in requests.into_iter().enumerate() {
        set.spawn(async move {
            let url = format!("{base}/api/v1/auth/login");
            (i, post_answer(&client, &url, body).await)
        });
    }
    let mut out: Vec<(usize, Answer)> = set.join_all().await;
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, a)| a).collect()
}

/// Checks a storm's answers against a budget of `budget` attempts and `evaluated`
/// verifications: only 200, 401 and 429 (with `Retry-After`); at most `budget`
/// failures, plus one per success (a right credential gives its attempt back); the
/// hash was checked exactly for the answers that were not 429. Returns the successes.
pub fn check_storm(answers: &[Answer], budget: usize, evaluated: u64) -> usize {
    let ok = answers.iter().filter(|a| a.0 == 200).count();
    let failed = answers.iter().filter(|a| a.0 == 401).count();
    let throttled = answers.iter().filter(|a| a.0 == 429).count();
    assert_eq!(ok + failed + throttled, answers.len(), "{answers:?}");
    assert!(
        failed <= budget,
        "{failed} wrong guesses evaluated, budget {budget}"
    );
    assert!(ok <= 1, "{ok} logins");
    for a in answers.iter().filter(|a| a.0 == 429) {
        assert_eq!(a.2, "too_many_requests");
        assert!(
            a.1.is_some_and(|r| r >= 1),
            "429 without Retry-After: {a:?}"
        );
    }
    for a in answers.iter().filter(|a| a.0 == 401) {
        assert_eq!(a.2, "invalid_credentials");
    }
    assert_eq!(
        evaluated,
        u64::try_from(ok + failed).unwrap(),
        "bcrypt ran exactly for the attempts within budget"
    );
    assert!(evaluated <= u64::try_from(budget + ok).unwrap());
    ok
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_guesses_from_one_address_are_bounded_by_the_budget() {
    let s = start(|c| {
        c.account_free_failures = 5;
        c.address_free_failures = 1000;
    })
    .await;
    register(&s, "alice").await;
    let right = auth_key_of(&s, "alice", PASSWORD).await;
    // 120 wrong guesses and the right password in the middle of them.
    let mut reqs: Vec<_> = (0..120)
        .map(|_| {
            (
                s.http.clone(),
                s.base.clone(),
                login_body("alice", WRONG_KEY, ""),
            )
        })
        .collect();
    reqs.insert(
        60,
        (
            s.http.clone(),
            s.base.clone(),
            login_body("alice", &right, ""),
        ),
    );
    let before = s.state.hasher.verifications();
    let answers = storm(reqs).await;
    let ok = check_storm(&answers, 5, s.state.hasher.verifications() - before);
    assert_eq!(
        ok == 1,
        answers[60].0 == 200,
        "only the right password can log in"
    );
    assert!(answers.iter().filter(|a| a.0 == 429).count() >= 114);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_guesses_from_many_addresses_are_bounded_by_the_account_budget() {
    let s = start(|c| {
        c.account_free_failures = 5;
        c.address_free_failures = 3;
    })
    .await;
    register(&s, "alice").await;
    let right = auth_key_of(&s, "alice", PASSWORD).await;
    // 120 guesses from 120 addresses (127.0.0.2 to 127.0.0.121), the right password
    // from yet another one among them.
    let mut reqs: Vec<_> = (2..122u8)
        .map(|n| {
            (
                client_from(n),
                s.base.clone(),
                login_body("alice", WRONG_KEY, ""),
            )
        })
        .collect();
    reqs.insert(
        60,
        (
            client_from(200),
            s.base.clone(),
            login_body("alice", &right, ""),
        ),
    );
    let before = s.state.hasher.verifications();
    let answers = storm(reqs).await;
    let ok = check_storm(&answers, 5, s.state.hasher.verifications() - before);
    assert_eq!(ok == 1, answers[60].0 == 200);
}

/// Registers `name`, turns TOTP on; returns the secret and the recovery codes.
async fn with_totp(s: &TestServer, name: &str) -> (cofre_core::totp::TotpSecret, Vec<String>) {
    register(s, name).await;
    let l = login(s, name).await;
    let t = &l.tokens.access_token;
    let enrol = s.client.mfa_enroll(t).await.unwrap();
    let secret = cofre_core::totp::TotpSecret::from_bytes(
        &data_encoding::BASE32_NOPAD
            .decode(enrol.secret_base32.expose().as_bytes())
            .unwrap(),
    )
    .unwrap();
    // The previous step's code (still accepted) confirms: the current one stays unused.
    let prev = u64::try_from(cofre_server::clock::now() - 30).unwrap();
    let codes = s
        .client
        .mfa_confirm(t, &secret.code_at(prev).unwrap())
        .await
        .unwrap()
        .codes;
    (
        secret,
        codes.iter().map(|c| c.expose().to_owned()).collect(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_totp_and_recovery_code_guesses_are_bounded_by_the_budget() {
    let s = start(|c| {
        c.account_free_failures = 5;
        c.address_free_failures = 1000;
    })
    .await;
    for (name, use_recovery) in [("alice", false), ("bob", true)] {
        let (secret, codes) = with_totp(&s, name).await;
        let right = auth_key_of(&s, name, PASSWORD).await;
        let now = u64::try_from(cofre_server::clock::now()).unwrap();
        let valid: Vec<String> = [now - 30, now, now + 30]
            .iter()
            .map(|t| secret.code_at(*t).unwrap())
            .collect();
        let field = if use_recovery {
            "mfa_recovery_code"
        } else {
            "totp"
        };
        // 100 wrong codes with the right password, and one right code among them.
        let mut reqs: Vec<_> = (0..110u32)
            .map(|i| {
                if use_recovery {
                    format!("aaaa-{i:04}")
                } else {
                    format!("{:06}", 100_000 + i)
                }
            })
            .filter(|guess| !valid.contains(guess))
            .take(100)
            .map(|guess| {
                let extra = format!(r#","{field}":"{guess}""#);
                (
                    s.http.clone(),
                    s.base.clone(),
                    login_body(name, &right, &extra),
                )
            })
            .collect();
        let good = if use_recovery {
            codes[0].clone()
        } else {
            valid[1].clone()
        };
        let extra = format!(r#","{field}":"{good}""#);
        reqs.insert(
            50,
            (
                s.http.clone(),
                s.base.clone(),
                login_body(name, &right, &extra),
            ),
        );
        let before = s.state.hasher.verifications();
        let answers = storm(reqs).await;
        let ok = check_storm(&answers, 5, s.state.hasher.verifications() - before);
        assert_eq!(ok == 1, answers[50].0 == 200, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_budget_refills_so_spaced_failures_never_lock_but_a_burst_does() {
    let s = start(|c| {
        c.account_free_failures = 2;
        c.account_refill_secs = 1;
        c.address_free_failures = 1000;
    })
    .await;
    register(&s, "alice").await;
    let right = auth_key_of(&s, "alice", PASSWORD).await;
    let wrong = login_body("alice", WRONG_KEY, "");
    // One failure a little more often than one per refill: never throttled (with
    // counters that never decay, the second failure would lock).
    for i in 0..4 {
        let (st, _, b) = post_raw(&s, "/auth/login", None, &wrong).await;
        assert_eq!((st, code(&b)), (401, "invalid_credentials"), "attempt {i}");
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    }
    // A burst: the full budget of two, then 429 until one attempt is back.
    for _ in 0..2 {
        let (st, _, _) = post_raw(&s, "/auth/login", None, &wrong).await;
        assert_eq!(st, 401);
    }
    let (st, h, b) = post_raw(&s, "/auth/login", None, &login_body("alice", &right, "")).await;
    assert_eq!(
        (st, code(&b)),
        (429, "too_many_requests"),
        "even the right password"
    );
    let r: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert_eq!(r, 1, "one attempt comes back within a second");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (st, _, _) = post_raw(&s, "/auth/login", None, &login_body("alice", &right, "")).await;
    assert_eq!(st, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_token_keeps_the_owner_in_while_others_exhaust_the_account() {
    let s = start(|c| {
        c.account_free_failures = 3;
        c.address_free_failures = 10;
    })
    .await;
    register(&s, "alice").await;
    register(&s, "bob").await;
    let owner = login(&s, "alice").await;
    let token = owner.device_token.clone().expect("a device token");
    // Guesses from ten other addresses use up the account's budget for unknown devices.
    let reqs: Vec<_> = (2..12u8)
        .map(|n| {
            (
                client_from(n),
                s.base.clone(),
                login_body("alice", WRONG_KEY, ""),
            )
        })
        .collect();
    let answers = storm(reqs).await;
    assert_eq!(answers.iter().filter(|a| a.0 == 401).count(), 3);
    // The owner without the token is throttled like everyone else ...
    let pw = Password::new(PASSWORD);
    let e = s
        .client
        .login("alice", &pw, SecondFactor::None)
        .await
        .err()
        .unwrap();
    assert_eq!(api_code(&e), ErrorCode::TooManyRequests);
    // ... and with it logs in, and keeps the same token.
    let again = s
        .client
        .login_on_device("alice", &pw, SecondFactor::None, Some(&token))
        .await
        .unwrap();
    assert_eq!(again.device_token.unwrap().expose(), token.expose());
    // A forged token, or alice's token on bob's account, counts as an unknown device.
    let forged = format!(r#","device_token":"{}x""#, token.expose());
    let right = auth_key_of(&s, "alice", PASSWORD).await;
    let (st, _, _) = post_raw(
        &s,
        "/auth/login",
        None,
        &login_body("alice", &right, &forged),
    )
    .await;
    assert_eq!(st, 429);
    let theirs = format!(r#","device_token":"{}""#, token.expose());
    let bob = login(&s, "bob").await;
    assert_ne!(bob.device_token.unwrap().expose(), token.expose());
    for _ in 0..3 {
        post_raw(
            &s,
            "/auth/login",
            None,
            &login_body("bob", WRONG_KEY, &theirs),
        )
        .await;
    }
    let e = s
        .client
        .login("bob", &pw, SecondFactor::None)
        .await
        .err()
        .unwrap();
    assert_eq!(
        api_code(&e),
        ErrorCode::TooManyRequests,
        "bob's own budget was spent"
    );
    // Guessing with the token spends that device's budget only.
    let with_token = format!(r#","device_token":"{}""#, token.expose());
    for i in 0..3 {
        let (st, _, _) = post_raw(
            &s,
            "/auth/login",
            None,
            &login_body("alice", WRONG_KEY, &with_token),
        )
        .await;
        assert_eq!(st, 401, "attempt {i}");
    }
    let (st, h, _) = post_raw(
        &s,
        "/auth/login",
        None,
        &login_body("alice", &right, &with_token),
    )
    .await;
    assert_eq!(st, 429);
    assert!(h.get("retry-after").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_stays_open_for_the_owner_while_others_guess() {
    let s = start(|c| {
        c.account_free_failures = 3;
        c.address_free_failures = 3;
    })
    .await;
    let reg = register(&s, "alice").await;
    // Passwords and recovery keys guessed from other addresses.
    let reqs: Vec<_> = (2..12u8)
        .map(|n| {
            (
                client_from(n),
                s.base.clone(),
                login_body("alice", WRONG_KEY, ""),
            )
        })
        .collect();
    storm(reqs).await;
    for n in 2..6u8 {
        let r = client_from(n)
            .post(s.url("/account/recover/keys"))
            .header("content-type", "application/json")
            .body(format!(
                r#"{{"username":"alice","recovery_auth_key":"{WRONG_KEY}"}}"#
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401);
    }
    // The account is throttled for unknown devices, but its owner can still recover.
    let e = login_err(&s, "alice").await;
    assert_eq!(api_code(&e), ErrorCode::TooManyRequests);
    s.client
        .recover("alice", &reg.recovery_key, &Password::new(NEW_PASSWORD))
        .await
        .unwrap();
}

async fn login_err(s: &TestServer, name: &str) -> cofre_client::ClientError {
    s.client
        .login(name, &Password::new(PASSWORD), SecondFactor::None)
        .await
        .err()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_locked_account_answers_the_same_for_any_password() {
    let s = start(|_| {}).await;
    register(&s, "root").await;
    let root = login(&s, "root").await;
    let alice = register(&s, "alice").await;
    s.client
        .admin_lock(&root.tokens.access_token, &alice.account.user_id)
        .await
        .unwrap();
    let right = auth_key_of(&s, "alice", PASSWORD).await;
    let (st1, _, b1) = post_raw(&s, "/auth/login", None, &login_body("alice", &right, "")).await;
    let (st2, _, b2) = post_raw(&s, "/auth/login", None, &login_body("alice", WRONG_KEY, "")).await;
    assert_eq!((st1, code(&b1)), (403, "account_locked"));
    assert_eq!(
        (st1, &b1),
        (st2, &b2),
        "the answer says nothing about the password"
    );
    // The same for the recovery key.
    let rk = alice.recovery_key.auth_key().unwrap().to_text().to_string();
    let body = |k: &str| format!(r#"{{"username":"alice","recovery_auth_key":"{k}"}}"#);
    let (st1, _, b1) = post_raw(&s, "/account/recover/keys", None, &body(&rk)).await;
    let (st2, _, b2) = post_raw(&s, "/account/recover/keys", None, &body(WRONG_KEY)).await;
    assert_eq!((st1, code(&b1)), (403, "account_locked"));
    assert_eq!((st1, &b1), (st2, &b2));
}
