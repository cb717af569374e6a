//! Bad input gets a 4xx with a stable code and changes nothing.

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_huge_and_invalid_requests_are_refused_and_change_nothing() {
    let s = start(|c| c.max_body_bytes = 64 * 1024).await;
    register(&s, "alice").await;
    let users_before = s.state.store.count_users().await.unwrap();

    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("/auth/register", "{not json".into(), 400, "bad_request"),
        ("/auth/register", "[]".into(), 400, "bad_request"),
        (
            "/auth/register",
            r#"{"username":"bob"}"#.into(),
            400,
            "bad_request",
        ),
        (
            "/auth/login",
            r#"{"username":"alice","auth_key":"x","extra":1}"#.into(),
            400,
            "bad_request",
        ),
        (
            "/auth/prelogin",
            r#"{"username":42}"#.into(),
            400,
            "bad_request",
        ),
        (
            "/auth/login",
            format!(
                r#"{{"username":"{}","auth_key":"x"}}"#,
                "a".repeat(100 * 1024)
            ),
            413,
            "payload_too_large",
        ),
        ("/auth/refresh", "".into(), 400, "bad_request"),
    ];
    for (path, body, status, c) in &cases {
        let (st, _, b) = post_raw(&s, path, None, body).await;
        assert_eq!(
            (st, code(&b)),
            (*status, *c),
            "{path} {}",
            &body[..body.len().min(60)]
        );
        assert!(
            b["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }

    // Not JSON at all.
    let r = s
        .http
        .post(s.url("/auth/login"))
        .body("username=alice")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let b: serde_json::Value = r.json().await.unwrap();
    assert_eq!(code(&b), "unsupported_media_type");

    // Bad usernames, with a real registration body.
    let good = serde_json::to_value(registration_body(&s).await).unwrap();
    for name in ["ab", "has space", "émile", "-dash", &"x".repeat(40), "a/b"] {
        let mut body = good.clone();
        body["username"] = name.into();
        let (st, _, b) = post_raw(&s, "/auth/register", None, &body.to_string()).await;
        assert_eq!((st, code(&b)), (400, "invalid_username"), "{name}");
    }
    // Garbage in a key field.
    let mut body = good.clone();
    body["auth_key"] = "not base64 at all".into();
    let (st, _, b) = post_raw(&s, "/auth/register", None, &body.to_string()).await;
    assert_eq!((st, code(&b)), (400, "bad_request"));
    let mut body = good.clone();
    body["keys"]["public_key"] = "AAAA".into();
    let (st, _, b) = post_raw(&s, "/auth/register", None, &body.to_string()).await;
    assert_eq!((st, code(&b)), (400, "bad_request"));
    // Weak KDF parameters are refused by the server too.
    let mut body = good.clone();
    body["keys"]["kdf"] = serde_json::json!({"alg":"pbkdf2_sha256","iterations":1000});
    let (st, _, b) = post_raw(&s, "/auth/register", None, &body.to_string()).await;
    assert_eq!((st, code(&b)), (400, "bad_request"));
    // The taken name, differently cased.
    let mut body = good.clone();
    body["username"] = "ALICE".into();
    let (st, _, b) = post_raw(&s, "/auth/register", None, &body.to_string()).await;
    assert_eq!((st, code(&b)), (409, "username_taken"));

    // Unknown routes and wrong methods.
    let r = s.http.get(s.url("/no/such/thing")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = s.http.get(s.url("/auth/login")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    let b: serde_json::Value = r.json().await.unwrap();
    assert_eq!(code(&b), "method_not_allowed");

    // A junk "username" is refused like any failed login and stored nowhere in full.
    let junk = "Z".repeat(10_000);
    let (st, _, b) = post_raw(
        &s,
        "/auth/login",
        None,
        &format!(r#"{{"username":"{junk}","auth_key":"x"}}"#),
    )
    .await;
    assert_eq!((st, code(&b)), (401, "invalid_credentials"));
    let rows = s.state.store.audit_rows(0, 1000).await.unwrap();
    assert!(rows.iter().any(|r| {
        r.subject
            .as_deref()
            .is_some_and(|x| x.starts_with("invalid:"))
    }));
    assert!(
        rows.iter()
            .all(|r| r.subject.as_deref().map_or(0, str::len) <= 64)
    );

    // A malformed query string gets a JSON error too.
    let admin = login(&s, "alice").await.tokens.access_token;
    let (st, b) = get_raw(&s, "/admin/audit?after=soon", admin.expose()).await;
    assert_eq!((st, code(&b)), (400, "bad_request"));

    assert_eq!(s.state.store.count_users().await.unwrap(), users_before);
    // And the stored account still works.
    login(&s, "alice").await;
}

/// A valid registration body for "bob", built by the client library's key code.
async fn registration_body(s: &TestServer) -> cofre_api::auth::RegisterRequest {
    let policy = s.client.policy().await.unwrap();
    crate::support::registration_request("bob", policy.kdf)
}

/// Every 4xx, whichever layer refuses the request (a handler, an extractor's
/// rejection — `Path`, `Query`, `Json`, the body limit —, a fallback), is the JSON
/// error shape with a stable code; none is plain text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_error_on_every_route_family_is_json_with_a_code() {
    let s = start(|c| c.max_body_bytes = 64 * 1024).await;
    register(&s, "alice").await;
    let l = login(&s, "alice").await;
    let token = l.tokens.access_token.expose().to_owned();
    let huge = "x".repeat(200 * 1024);
    let json = "application/json";
    // (method, path under /api/v1 or absolute, content type, body)
    let cases: Vec<(&str, String, &str, String)> = vec![
        ("POST", "/auth/login".into(), json, "{not json".into()),
        ("POST", "/auth/login".into(), "text/plain", "{}".into()),
        (
            "POST",
            "/auth/login".into(),
            json,
            r#"{"username":1}"#.into(),
        ),
        ("POST", "/auth/register".into(), json, huge.clone()),
        ("POST", "/auth/prelogin".into(), "", "{}".into()),
        ("POST", "/auth/refresh".into(), json, "[]".into()),
        ("GET", "/items?limit=many".into(), "", String::new()),
        ("GET", "/items/%FF".into(), "", String::new()),
        ("GET", "/items/%FF/upload".into(), "", String::new()),
        (
            "PUT",
            "/items/%FF/body?offset=x".into(),
            "application/octet-stream",
            "abc".into(),
        ),
        ("PUT", "/items/abc/metadata".into(), json, "{".into()),
        ("POST", "/items/%FF/commit".into(), json, "{}".into()),
        ("POST", "/items".into(), json, huge.clone()),
        ("POST", "/items/%FF/shares".into(), json, "{}".into()),
        ("DELETE", "/items/%FF/shares/%FF".into(), "", String::new()),
        ("GET", "/users/%FF/public-key".into(), "", String::new()),
        ("POST", "/account/password".into(), "text/plain", "x".into()),
        ("PUT", "/account/rotation/rewrap".into(), json, "{".into()),
        ("POST", "/mfa/totp/confirm".into(), json, "{".into()),
        ("POST", "/admin/users/%FF/lock".into(), "", String::new()),
        ("DELETE", "/admin/users/%FF".into(), "", String::new()),
        ("GET", "/admin/audit?after=abc".into(), "", String::new()),
        ("PUT", "/admin/policy".into(), json, "{".into()),
        ("GET", "/no/such/route".into(), "", String::new()),
        ("DELETE", "/auth/login".into(), "", String::new()),
        ("PATCH", "/items".into(), "", String::new()),
        ("GET", "abs:/nothing-here".into(), "", String::new()),
        ("POST", "abs:/healthz".into(), "", String::new()),
    ];
    for (method, path, content_type, body) in cases {
        let url = match path.strip_prefix("abs:") {
            Some(p) => format!("{}{p}", s.base),
            None => s.url(&path),
        };
        let mut req = s
            .http
            .request(method.parse().unwrap(), url)
            .bearer_auth(&token)
            .body(body);
        if !content_type.is_empty() {
            req = req.header("content-type", content_type);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = resp.text().await.unwrap();
        assert!(
            (400..500).contains(&status),
            "{method} {path}: {status} {text}"
        );
        assert!(
            ct.starts_with("application/json"),
            "{method} {path}: {status} answered {ct:?}: {text}"
        );
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(
            v["error"]["code"].as_str().is_some_and(|c| !c.is_empty()),
            "{method} {path}: {text}"
        );
    }
}
