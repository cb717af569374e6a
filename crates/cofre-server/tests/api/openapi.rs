//! The served OpenAPI document describes every route, with its method and schemas.

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_lists_every_route() {
    let s = start(|_| {}).await;
    let doc: serde_json::Value = s
        .http
        .get(s.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let expected = [
        ("get", "/policy"),
        ("get", "/auth/jwks"),
        ("post", "/auth/prelogin"),
        ("post", "/auth/register"),
        ("post", "/auth/login"),
        ("post", "/auth/refresh"),
        ("post", "/auth/logout"),
        ("post", "/auth/logout-all"),
        ("get", "/auth/whoami"),
        ("get", "/account/keys"),
        ("post", "/account/password"),
        ("post", "/account/recover/keys"),
        ("post", "/account/recover"),
        ("get", "/mfa"),
        ("post", "/mfa/totp/enroll"),
        ("post", "/mfa/totp/confirm"),
        ("post", "/mfa/totp/disable"),
        ("post", "/mfa/recovery-codes"),
        ("get", "/admin/users"),
        ("post", "/admin/users/{id}/lock"),
        ("post", "/admin/users/{id}/unlock"),
        ("post", "/admin/users/{id}/logout"),
        ("delete", "/admin/users/{id}"),
        ("post", "/admin/users/{id}/reset-mfa"),
        ("post", "/admin/invites"),
        ("put", "/admin/policy"),
        ("get", "/admin/audit"),
        ("get", "/admin/backups"),
        ("post", "/admin/backups"),
        ("post", "/items"),
        ("get", "/items"),
        ("get", "/items/usage"),
        ("get", "/items/{id}"),
        ("delete", "/items/{id}"),
        ("get", "/items/{id}/upload"),
        ("delete", "/items/{id}/upload"),
        ("get", "/items/uploads"),
        ("put", "/items/owner-metadata"),
        ("post", "/items/{id}/replace"),
        ("put", "/items/{id}/body"),
        ("get", "/items/{id}/body"),
        ("post", "/items/{id}/commit"),
        ("put", "/items/{id}/metadata"),
        ("post", "/items/{id}/shares"),
        ("get", "/items/{id}/shares"),
        ("delete", "/items/{id}/shares/{username}"),
        ("get", "/shared"),
        ("delete", "/shared/{id}"),
        ("get", "/users/{username}/public-key"),
        ("get", "/account/rotation"),
        ("post", "/account/rotation"),
        ("put", "/account/rotation/rewrap"),
        ("post", "/account/rotation/finish"),
        ("get", "/account/shares-out"),
        ("get", "/version"),
    ];
    let paths = doc["paths"].as_object().unwrap();
    let mut documented = 0;
    for (p, item) in paths {
        documented += item.as_object().unwrap().len();
        assert!(p.starts_with("/api/v1/"), "{p}");
    }
    assert_eq!(documented, expected.len(), "documented operations");
    for (method, path) in expected {
        let op = &paths[&format!("/api/v1{path}")][method];
        assert!(op.is_object(), "{method} {path} is not documented");
        // Each documented route exists on the server (a wrong method would be 405, an
        // unknown path 404 with code not_found).
        let url = s.url(&path.replace("{id}", "x").replace("{username}", "x"));
        let r = s
            .http
            .request(method.to_uppercase().parse().unwrap(), url)
            .send()
            .await
            .unwrap();
        assert_ne!(r.status(), 405, "{method} {path}");
        let body: serde_json::Value = r.json().await.unwrap_or_default();
        assert!(
            code(&body) != "not_found" || path.contains('{'),
            "{method} {path} is documented but not routed"
        );
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "LoginRequest",
        "LoginResponse",
        "RegisterRequest",
        "ErrorBody",
        "ErrorCode",
        "Policy",
        "Item",
        "ItemPage",
        "CommitItemRequest",
        "OwnerMetadataBatch",
        "OwnerMetadataStored",
    ] {
        assert!(schemas.contains_key(name), "schema {name} missing");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

/// Every schema in `v` (recursively) that is an object names its members, and no body
/// is described as an array of integers; returns the JSON pointers of the offenders.
fn untyped(v: &serde_json::Value, at: &str, bad: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            let ty = m.get("type");
            let is = |t: &str| {
                ty.is_some_and(|x| x == t || x.as_array().is_some_and(|a| a.iter().any(|e| e == t)))
            };
            if is("object")
                && ![
                    "properties",
                    "additionalProperties",
                    "oneOf",
                    "allOf",
                    "anyOf",
                    "$ref",
                ]
                .iter()
                .any(|k| m.contains_key(*k))
            {
                bad.push(format!("{at}: object without members"));
            }
            if is("array")
                && m.get("items")
                    .and_then(|i| i.get("type"))
                    .is_some_and(|t| t == "integer")
            {
                bad.push(format!(
                    "{at}: array of integers (binary bodies are format: binary)"
                ));
            }
            for (k, c) in m {
                untyped(c, &format!("{at}/{k}"), bad);
            }
        }
        serde_json::Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                untyped(c, &format!("{at}/{i}"), bad);
            }
        }
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_schemas_are_complete() {
    let s = start(|_| {}).await;
    let doc: serde_json::Value = s
        .http
        .get(s.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut bad = Vec::new();
    untyped(&doc, "", &mut bad);
    assert!(bad.is_empty(), "untyped schemas: {bad:#?}");
    // The key material and the KDF parameters are described member by member.
    let schemas = &doc["components"]["schemas"];
    let keys = &schemas["AccountKeys"]["properties"];
    for m in [
        "kdf",
        "salt",
        "protected_user_key",
        "recovery_user_key",
        "public_key",
        "protected_private_key",
    ] {
        assert!(keys[m].is_object(), "AccountKeys.{m}");
    }
    let kdf = schemas["KdfParams"].to_string();
    for m in [
        "argon2id",
        "pbkdf2_sha256",
        "memory_kib",
        "iterations",
        "parallelism",
    ] {
        assert!(kdf.contains(m), "KdfParams names {m}: {kdf}");
    }
    // Binary bodies: octet-stream, format binary, with the range headers.
    let body = &doc["paths"]["/api/v1/items/{id}/body"];
    let up = &body["put"]["requestBody"]["content"]["application/octet-stream"]["schema"];
    let down = &body["get"]["responses"]["206"];
    assert_eq!(resolve(&doc, up)["format"], "binary", "{up}");
    assert_eq!(
        resolve(&doc, &down["content"]["application/octet-stream"]["schema"])["format"],
        "binary"
    );
    assert!(down["headers"]["Content-Range"].is_object(), "{down}");
    assert!(
        body["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "Range" && p["in"] == "header")
    );
}

/// Follows a `$ref` into the document's components.
fn resolve<'a>(doc: &'a serde_json::Value, v: &'a serde_json::Value) -> &'a serde_json::Value {
    match v["$ref"].as_str() {
        Some(r) => doc.pointer(r.trim_start_matches('#')).unwrap_or(v),
        None => v,
    }
}

/// `GET /version` needs no login and names the API, the format version and every
/// capability the server offers; the routes a capability names really answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_version_route_names_the_api_format_and_capabilities() {
    use cofre_api::version::{CAPABILITIES, capability};
    let s = start(|_| {}).await;
    let v = s.client.version().await.unwrap();
    assert_eq!(v.api, "v1");
    assert_eq!(v.format, cofre_core::format::VERSION_1);
    assert_eq!(v.server, env!("CARGO_PKG_VERSION"));
    let mut got = v.capabilities.clone();
    got.sort();
    let mut want: Vec<String> = CAPABILITIES.iter().map(|c| (*c).to_owned()).collect();
    want.sort();
    want.dedup();
    assert_eq!(got, want, "every capability once");
    assert!(v.supports(capability::ITEM_REPLACE));
    assert!(!v.supports("no-such-capability"));

    // The documented routes of a few capabilities exist on this server (answer something
    // other than 404 for an unknown route): an empty upload list for a new account.
    let l = {
        register(&s, "alice").await;
        login(&s, "alice").await
    };
    let (status, body) = get_raw(&s, "/items/uploads", l.tokens.access_token.expose()).await;
    assert_eq!(status, 200, "{body}");
    // The answer is exactly the documented shape (unknown members would be refused).
    let raw: serde_json::Value = s
        .http
        .get(s.url("/version"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys: Vec<&str> = raw
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 4, "{raw}");
    for k in ["api", "server", "format", "capabilities"] {
        assert!(keys.contains(&k), "{k} in {raw}");
    }
}
