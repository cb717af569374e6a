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
    ] {
        assert!(schemas.contains_key(name), "schema {name} missing");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}
