//! `GET /metrics`: never open by default, refused without the token, served on its own
//! listener when asked; an attack shows in the counters with exactly its numbers, and
//! no label carries a route's ids, a username or a token.

use std::collections::BTreeMap;

use cofre_api::{ErrorCode, SecretString};
use cofre_client::client::SecondFactor;
use cofre_core::secret::Password;

use crate::support::*;

const TOKEN: &str = "test-metrics-token-0123456789";

/// One sample line of the text exposition.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// The samples of an exposition (comments skipped). Label values here never hold a
/// quote or a backslash, so a split on `",` is enough.
fn samples(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|line| {
            let (head, value) = line.rsplit_once(' ').expect("name and value");
            let value: f64 = value.parse().expect("a number");
            let (name, labels) = match head.split_once('{') {
                None => (head.to_owned(), BTreeMap::new()),
                Some((name, rest)) => {
                    let inner = rest.strip_suffix('}').expect("closing brace");
                    let labels = inner
                        .split("\",")
                        .filter(|p| !p.is_empty())
                        .map(|pair| {
                            let (k, v) = pair.split_once("=\"").expect("key=\"value\"");
                            (k.to_owned(), v.trim_end_matches('"').to_owned())
                        })
                        .collect();
                    (name.to_owned(), labels)
                }
            };
            Sample {
                name,
                labels,
                value,
            }
        })
        .collect()
}

/// The sum of the samples named `name` whose labels include all of `with`.
fn value(all: &[Sample], name: &str, with: &[(&str, &str)]) -> f64 {
    all.iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            with.iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

/// `GET url` with an optional bearer token: status, content type, body.
async fn scrape_url(s: &TestServer, url: &str, token: Option<&str>) -> (u16, String, String) {
    let mut req = s.http.get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, ctype, resp.text().await.unwrap())
}

/// The metrics of `s`, through the main listener with the token.
async fn scrape(s: &TestServer) -> Vec<Sample> {
    let (status, ctype, text) = scrape_url(s, &format!("{}/metrics", s.base), Some(TOKEN)).await;
    assert_eq!(status, 200, "{text}");
    assert!(ctype.starts_with("application/openmetrics-text"), "{ctype}");
    samples(&text)
}

fn with_token(c: &mut cofre_server::ServerConfig) {
    c.metrics_token = Some(SecretString::new(TOKEN));
}

/// The address of `s`'s own metrics listener (bound when its server task starts).
async fn metrics_addr(s: &TestServer) -> std::net::SocketAddr {
    for _ in 0..250 {
        if let Some(a) = s.state.metrics.listen_addr() {
            return a;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the metrics listener never bound");
}

fn error_code(body: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    code(&v).to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_not_served_by_default() {
    let s = start(|_| {}).await;
    let url = format!("{}/metrics", s.base);
    for token in [None, Some(TOKEN), Some("")] {
        let (status, _, body) = scrape_url(&s, &url, token).await;
        assert_eq!((status, error_code(&body).as_str()), (404, "not_found"));
    }
    assert!(s.state.metrics.listen_addr().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_the_token_on_the_main_listener() {
    let s = start(with_token).await;
    let url = format!("{}/metrics", s.base);
    for token in [
        None,
        Some(""),
        Some("test-metrics-token-012345678"),
        Some("x"),
    ] {
        let (status, _, body) = scrape_url(&s, &url, token).await;
        assert_eq!(
            (status, error_code(&body).as_str()),
            (401, "unauthorized"),
            "{token:?}"
        );
        assert!(!body.contains("cofre_"), "{body}");
    }
    // Another scheme with the right token is refused too.
    let resp = s
        .http
        .get(&url)
        .header("authorization", format!("Basic {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let all = scrape(&s).await;
    assert!(value(&all, "cofre_hash_threads", &[]) >= 1.0);
    assert!(value(&all, "cofre_db_pool_max_connections", &[]) >= 1.0);
    assert_eq!(value(&all, "cofre_hash_queue_waiting", &[]), 0.0);
    // The refused scrapes above were counted under the route template.
    assert_eq!(
        value(
            &all,
            "cofre_http_requests_total",
            &[("route", "/metrics"), ("status", "401")]
        ),
        5.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_on_their_own_listener_per_server() {
    let s = start(|c| c.metrics_listen = Some("127.0.0.1:0".parse().unwrap())).await;
    let other = start(|c| c.metrics_listen = Some("127.0.0.1:0".parse().unwrap())).await;
    let (a, b) = (metrics_addr(&s).await, metrics_addr(&other).await);
    // Not on the main listener (no token set), and nothing but /metrics on its own.
    let (status, _, _) = scrape_url(&s, &format!("{}/metrics", s.base), None).await;
    assert_eq!(status, 404);
    let (status, _, body) = scrape_url(&s, &format!("http://{a}/api/v1/policy"), None).await;
    assert_eq!((status, error_code(&body).as_str()), (404, "not_found"));
    // Wrong logins on one server show on its metrics only.
    register(&s, "alice").await;
    let wrong = Password::new("definitely not the password");
    for _ in 0..3 {
        let e = s
            .client
            .login("alice", &wrong, SecondFactor::None)
            .await
            .err()
            .unwrap();
        assert_eq!(api_code(&e), ErrorCode::InvalidCredentials);
    }
    let (status, ctype, text) = scrape_url(&s, &format!("http://{a}/metrics"), None).await;
    assert_eq!(status, 200, "{text}");
    assert!(ctype.starts_with("application/openmetrics-text"), "{ctype}");
    let mine = samples(&text);
    assert_eq!(
        value(
            &mine,
            "cofre_logins_total",
            &[("outcome", "bad_credentials")]
        ),
        3.0
    );
    let (_, _, text) = scrape_url(&other, &format!("http://{b}/metrics"), None).await;
    let theirs = samples(&text);
    assert_eq!(value(&theirs, "cofre_logins_total", &[]), 0.0, "{text}");
    assert_eq!(value(&theirs, "cofre_registrations_total", &[]), 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_listener_asks_for_the_token_when_one_is_set() {
    let s = start(|c| {
        with_token(c);
        c.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let url = format!("http://{}/metrics", metrics_addr(&s).await);
    let (status, _, body) = scrape_url(&s, &url, None).await;
    assert_eq!((status, error_code(&body).as_str()), (401, "unauthorized"));
    let (status, _, _) = scrape_url(&s, &url, Some(TOKEN)).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attack_shows_in_the_counters_and_labels_leak_nothing() {
    // Budgets above the attack's size: every guess is checked and counted as such.
    let s = start(|c| {
        with_token(c);
        c.account_free_failures = 100;
        c.address_free_failures = 100;
    })
    .await;
    let before = scrape(&s).await;
    assert_eq!(value(&before, "cofre_logins_total", &[]), 0.0);
    assert_eq!(value(&before, "cofre_uploads_in_flight", &[]), 0.0);

    register(&s, "alice").await;
    register(&s, "bob").await;
    let taken = s
        .client
        .register("alice", &Password::new(PASSWORD), None)
        .await
        .err()
        .unwrap();
    assert_eq!(api_code(&taken), ErrorCode::UsernameTaken);
    let (status, _, _) = post_raw(&s, "/auth/register", None, "{}").await;
    assert_eq!(status, 400);

    let wrong = Password::new("definitely not the password");
    for _ in 0..10 {
        let e = s
            .client
            .login("alice", &wrong, SecondFactor::None)
            .await
            .err()
            .unwrap();
        assert_eq!(api_code(&e), ErrorCode::InvalidCredentials);
    }
    let bob = login(&s, "bob").await;
    let body = vec![7u8; 100_000];
    let id = put(&s, &bob, "notes.bin", body.clone()).await;
    assert_eq!(fetch(&s, &bob, &id).await, body);
    let item = s
        .client
        .item(&bob.tokens.access_token, &bob.keys, &id)
        .await
        .unwrap();

    let (status, _, text) = scrape_url(&s, &format!("{}/metrics", s.base), Some(TOKEN)).await;
    assert_eq!(status, 200);
    let all = samples(&text);
    let logins = |outcome| value(&all, "cofre_logins_total", &[("outcome", outcome)]);
    assert_eq!(logins("bad_credentials"), 10.0, "{text}");
    assert_eq!(logins("ok"), 1.0);
    assert_eq!(value(&all, "cofre_logins_total", &[]), 11.0);
    let regs = |outcome| value(&all, "cofre_registrations_total", &[("outcome", outcome)]);
    assert_eq!(
        (regs("ok"), regs("taken"), regs("invalid")),
        (2.0, 1.0, 1.0)
    );
    assert_eq!(value(&all, "cofre_throttled_total", &[]), 0.0);
    // The same attack in the audit log's counters.
    assert_eq!(
        value(
            &all,
            "cofre_audit_events_total",
            &[("event", "login"), ("outcome", "failed")]
        ),
        10.0
    );
    assert_eq!(
        value(
            &all,
            "cofre_audit_events_total",
            &[("event", "register"), ("outcome", "ok")]
        ),
        2.0
    );
    // Requests by route template and status, with the API error code.
    assert_eq!(
        value(
            &all,
            "cofre_http_requests_total",
            &[
                ("route", "/api/v1/auth/login"),
                ("method", "POST"),
                ("status", "401"),
                ("code", "invalid_credentials")
            ]
        ),
        10.0
    );
    assert_eq!(
        value(
            &all,
            "cofre_http_request_duration_seconds_count",
            &[("route", "/api/v1/auth/login"), ("status", "401")]
        ),
        10.0
    );
    assert!(
        value(
            &all,
            "cofre_http_request_duration_seconds_sum",
            &[("route", "/api/v1/auth/login")]
        ) > 0.0
    );
    // The upload: its bytes, no part in flight any more, the body route by template.
    assert_eq!(
        value(&all, "cofre_upload_bytes_total", &[]),
        item.encoded_size as f64
    );
    assert!(item.encoded_size > 100_000);
    assert_eq!(
        value(&all, "cofre_upload_parts_total", &[("outcome", "ok")]),
        value(
            &all,
            "cofre_http_requests_total",
            &[("route", "/api/v1/items/{id}/body"), ("method", "PUT")]
        )
    );
    assert!(value(&all, "cofre_upload_parts_total", &[("outcome", "ok")]) >= 1.0);
    assert_eq!(
        value(&all, "cofre_upload_parts_total", &[("outcome", "failed")]),
        0.0
    );
    assert_eq!(value(&all, "cofre_uploads_in_flight", &[]), 0.0);
    assert!(
        value(
            &all,
            "cofre_http_requests_total",
            &[
                ("route", "/api/v1/items/{id}"),
                ("method", "GET"),
                ("status", "200")
            ]
        ) >= 1.0
    );
    // A path that matches no route is counted as unmatched, never by its path.
    let (status, _) = get_raw(&s, &format!("/no-such-route/{id}"), "x").await;
    assert_eq!(status, 404);
    let (_, _, text) = scrape_url(&s, &format!("{}/metrics", s.base), Some(TOKEN)).await;
    let all = samples(&text);
    assert_eq!(
        value(
            &all,
            "cofre_http_requests_total",
            &[("route", "unmatched"), ("status", "404")]
        ),
        1.0
    );
    // No label carries an id, a username, a token or a raw path.
    let secrets = [
        id.as_str(),
        "alice",
        "bob",
        "no-such-route",
        TOKEN,
        bob.tokens.access_token.expose(),
        bob.tokens.refresh_token.expose(),
        bob.tokens.session_id.as_str(),
        bob.user.user_id.as_str(),
    ];
    for sample in &all {
        for v in sample.labels.values() {
            for secret in secrets {
                assert!(!v.contains(secret), "{sample:?} carries {secret}");
            }
        }
        if let Some(route) = sample.labels.get("route") {
            assert!(route == "unmatched" || route.starts_with('/'), "{sample:?}");
            let longest_hex_run = route
                .split(|c: char| !c.is_ascii_hexdigit())
                .map(str::len)
                .max()
                .unwrap_or(0);
            assert!(longest_hex_run < 16, "an id in {sample:?}");
        }
    }
    for secret in secrets {
        assert!(!text.contains(secret), "the exposition carries {secret}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_logins_are_counted() {
    let s = start(|c| {
        with_token(c);
        c.account_free_failures = 2;
        c.account_refill_secs = 3600;
    })
    .await;
    register(&s, "carol").await;
    let wrong = Password::new("definitely not the password");
    let mut refused = 0.0;
    for _ in 0..5 {
        let e = s
            .client
            .login("carol", &wrong, SecondFactor::None)
            .await
            .err()
            .unwrap();
        if api_code(&e) == ErrorCode::TooManyRequests {
            refused += 1.0;
        }
    }
    assert!(refused >= 1.0, "the lockout never answered 429");
    let all = scrape(&s).await;
    assert_eq!(
        value(&all, "cofre_logins_total", &[("outcome", "throttled")]),
        refused
    );
    assert_eq!(
        value(
            &all,
            "cofre_logins_total",
            &[("outcome", "bad_credentials")]
        ),
        5.0 - refused
    );
    // Each refusal is counted once under the limit that refused it.
    assert_eq!(value(&all, "cofre_throttled_total", &[]), refused);
    assert_eq!(
        value(&all, "cofre_throttled_total", &[("reason", "account")]),
        refused
    );
    assert_eq!(
        value(
            &all,
            "cofre_http_requests_total",
            &[
                ("route", "/api/v1/auth/login"),
                ("status", "429"),
                ("code", "too_many_requests")
            ]
        ),
        refused
    );
}
