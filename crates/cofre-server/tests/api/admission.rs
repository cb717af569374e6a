//! Anonymous floods and enumeration: per-address limits of registration and prelogin,
//! logins of existing users ahead of registrations for bcrypt, and what registration
//! and prelogin say about names.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use cofre_core::keys::KdfParams;

use crate::support::*;

/// A client whose connections come from `ip` (any 127.0.0.0/8 address on loopback).
fn client_from(ip: &str) -> reqwest::Client {
    client_from_ip(ip.parse::<IpAddr>().unwrap())
}

/// Posts `body` to `path` with `http`; returns (status, Retry-After seconds, code).
async fn post_with(s: &TestServer, http: &reqwest::Client, path: &str, body: String) -> Answer {
    post_answer(http, &s.url(path), body).await
}

/// A registration body for `name` (keys made once per test, reused: the server only
/// checks their form).
fn register_body(template: &cofre_api::auth::RegisterRequest, name: &str) -> String {
    let mut v = serde_json::to_value(template).unwrap();
    v["username"] = name.into();
    v.to_string()
}

fn prelogin_body(name: &str) -> String {
    serde_json::json!({ "username": name }).to_string()
}

/// Sends `bodies` to `path` all at once from `http`; returns the answers.
async fn flood(
    s: &TestServer,
    http: &reqwest::Client,
    path: &str,
    bodies: Vec<String>,
) -> Vec<(u16, Option<u64>, String)> {
    let jobs = bodies.into_iter().map(|b| post_with(s, http, path, b));
    futures_util::future::join_all(jobs).await
}

fn test_kdf(s: &TestServer) -> KdfParams {
    s.state.config.kdf.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_flood_from_one_address_gets_429_after_the_burst() {
    let s = start(|c| {
        c.registration_burst = 3;
        c.registration_refill_secs = 3600;
    })
    .await;
    let template = registration_request("x", test_kdf(&s));
    let bodies = (0..20)
        .map(|i| register_body(&template, &format!("flood{i}")))
        .collect();
    let answers = flood(&s, &s.http, "/auth/register", bodies).await;
    let ok = answers.iter().filter(|a| a.0 == 200).count();
    assert_eq!(ok, 3, "{answers:?}");
    for (status, retry, c) in answers.iter().filter(|a| a.0 != 200) {
        assert_eq!((*status, c.as_str()), (429, "too_many_requests"));
        // The next attempt is earned within the refill time.
        assert!(retry.is_some_and(|r| (1..=3600).contains(&r)), "{retry:?}");
    }
    assert_eq!(s.state.store.count_users().await.unwrap(), 3);
    // Refused attempts count too: probing taken names costs the same budget.
    let (st, _, c) = post_with(
        &s,
        &s.http,
        "/auth/register",
        register_body(&template, "flood0"),
    )
    .await;
    assert_eq!((st, c.as_str()), (429, "too_many_requests"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prelogin_flood_from_one_address_gets_429_after_the_burst_then_refills() {
    let s = start(|c| {
        c.prelogin_burst = 10;
        c.prelogin_refill_secs = 2;
    })
    .await;
    register(&s, "alice").await;
    let bodies = (0..40)
        .map(|i| prelogin_body(if i % 2 == 0 { "alice" } else { "nobody" }))
        .collect();
    let t = Instant::now();
    let answers = flood(&s, &s.http, "/auth/prelogin", bodies).await;
    let earned = t.elapsed().as_secs() as usize / 2 + 1;
    let ok = answers.iter().filter(|a| a.0 == 200).count();
    // The burst, plus the tokens earned while the flood ran.
    assert!(
        (10..=10 + earned).contains(&ok),
        "{ok} allowed: {answers:?}"
    );
    for (status, retry, c) in answers.iter().filter(|a| a.0 != 200) {
        assert_eq!((*status, c.as_str()), (429, "too_many_requests"));
        assert!(retry.is_some_and(|r| (1..=2).contains(&r)), "{retry:?}");
    }
    // After Retry-After, one more is allowed.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (st, _, _) = post_with(&s, &s.http, "/auth/prelogin", prelogin_body("alice")).await;
    assert_eq!(st, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_address_has_its_own_budget() {
    let s = start(|c| {
        c.registration_burst = 2;
        c.registration_refill_secs = 3600;
        c.prelogin_burst = 2;
        c.prelogin_refill_secs = 3600;
    })
    .await;
    let template = registration_request("x", test_kdf(&s));
    let a = client_from("127.0.0.2");
    let b = client_from("127.0.0.3");
    for i in 0..2 {
        let (st, _, _) = post_with(
            &s,
            &a,
            "/auth/register",
            register_body(&template, &format!("alpha{i}")),
        )
        .await;
        assert_eq!(st, 200);
        let (st, _, _) = post_with(&s, &a, "/auth/prelogin", prelogin_body("alpha0")).await;
        assert_eq!(st, 200);
    }
    let (st, retry, _) =
        post_with(&s, &a, "/auth/register", register_body(&template, "alpha2")).await;
    assert_eq!(st, 429);
    assert!(retry.is_some());
    let (st, _, _) = post_with(&s, &a, "/auth/prelogin", prelogin_body("alpha0")).await;
    assert_eq!(st, 429);
    // Another address is not affected by the first one's flood.
    let (st, _, _) = post_with(&s, &b, "/auth/register", register_body(&template, "bravo0")).await;
    assert_eq!(st, 200);
    let (st, _, _) = post_with(&s, &b, "/auth/prelogin", prelogin_body("alpha0")).await;
    assert_eq!(st, 200);
    assert_eq!(s.state.store.count_users().await.unwrap(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_flood_does_not_starve_an_existing_users_login() {
    // Two bcrypt threads; the registration limit out of the way (many addresses could
    // send this flood).
    let s = start(|c| c.bcrypt_threads = 2).await;
    register(&s, "alice").await;
    let template = registration_request("x", test_kdf(&s));
    let http = s.http.clone();
    let url = s.url("/auth/register");
    let flood: Vec<_> = (0..300)
        .map(|i| {
            let (http, url) = (http.clone(), url.clone());
            let body = register_body(&template, &format!("flood{i}"));
            tokio::spawn(async move {
                http.post(url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    // Let the flood reach the server and fill the queues.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t = Instant::now();
    let l = s
        .client
        .login(
            "alice",
            &cofre_core::secret::Password::new(PASSWORD),
            cofre_client::client::SecondFactor::None,
        )
        .await;
    let took = t.elapsed();
    assert!(
        l.is_ok(),
        "the login failed during the flood: {:?}",
        l.err()
    );
    // 600 queued hashes ahead of it would take well over 10 s on two threads; behind
    // at most one registration hash it takes about one login's time.
    assert!(took < Duration::from_secs(5), "the login took {took:?}");
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for j in flood {
        let st = j.await.unwrap().unwrap();
        *statuses.entry(st).or_default() += 1;
    }
    // Registrations past the lane's queue are refused as busy (503), not queued
    // ahead of logins; every one got an answer.
    assert!(
        statuses.keys().all(|k| [200, 503].contains(k)),
        "{statuses:?}"
    );
    assert!(statuses.get(&503).is_some_and(|n| *n > 0), "{statuses:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_an_invite_only_server_a_taken_name_answers_like_a_free_one() {
    let s = start(|c| c.open_registration = false).await;
    register(&s, "root").await;
    let template = registration_request("x", test_kdf(&s));
    let mut answers = Vec::new();
    for (name, invite) in [
        ("root", None),
        ("newname", None),
        ("root", Some("made-up")),
        ("newname", Some("made-up")),
    ] {
        let mut v = serde_json::to_value(&template).unwrap();
        v["username"] = name.into();
        if let Some(i) = invite {
            v["invite"] = i.into();
        }
        let (st, _, body) = post_raw(&s, "/auth/register", None, &v.to_string()).await;
        answers.push((name, st, body));
    }
    for (name, st, body) in &answers {
        assert_eq!((*st, code(body)), (403, "registration_closed"), "{name}");
        assert_eq!(body, &answers[0].2, "{name}: the same body for every name");
    }
    // With a valid invite, a taken name is refused without spending the invite.
    let admin = login(&s, "root").await.tokens.access_token;
    let invite = s.client.admin_invite(&admin).await.unwrap();
    let mut v = serde_json::to_value(&template).unwrap();
    v["username"] = "root".into();
    v["invite"] = invite.token.expose().into();
    let (st, _, body) = post_raw(&s, "/auth/register", None, &v.to_string()).await;
    assert_eq!((st, code(&body)), (409, "username_taken"));
    v["username"] = "bob".into();
    let (st, _, _) = post_raw(&s, "/auth/register", None, &v.to_string()).await;
    assert_eq!(st, 200);
    assert_eq!(s.state.store.count_users().await.unwrap(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prelogin_kdf_fields_do_not_tell_unknown_names_from_old_accounts() {
    let s = start(|_| {}).await;
    let current = test_kdf(&s);
    let old = KdfParams::Argon2id {
        memory_kib: 20 * 1024,
        iterations: 3,
        parallelism: 1,
    };
    assert_ne!(current, old);
    register(&s, "alice").await;
    let body = serde_json::to_string(&registration_request("oldie", old.clone())).unwrap();
    let (st, _, _) = post_raw(&s, "/auth/register", None, &body).await;
    assert_eq!(st, 200);
    let kdf_of =
        |v: &serde_json::Value| serde_json::from_value::<KdfParams>(v["kdf"].clone()).unwrap();
    let (_, _, oldie) = post_raw(&s, "/auth/prelogin", None, &prelogin_body("oldie")).await;
    assert_eq!(kdf_of(&oldie), old);
    // Unknown names show the old parameters about as often as accounts use them (here
    // one account in two), each name always the same answer.
    let (mut shows_old, mut shows_current) = (0, 0);
    for i in 0..48 {
        let name = format!("ghost{i}");
        let (st, _, a) = post_raw(&s, "/auth/prelogin", None, &prelogin_body(&name)).await;
        assert_eq!(st, 200);
        let (_, _, again) = post_raw(&s, "/auth/prelogin", None, &prelogin_body(&name)).await;
        assert_eq!(a, again, "{name}: deterministic");
        let kdf = kdf_of(&a);
        if kdf == old {
            shows_old += 1;
        } else {
            assert_eq!(kdf, current);
            shows_current += 1;
        }
    }
    // Each count is Binomial(48, 1/2): outside 8..=40 with probability under 1e-6.
    assert!(
        (8..=40).contains(&shows_old),
        "{shows_old} old, {shows_current} current"
    );
}
