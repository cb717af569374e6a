//! Roles and the admin API: non-admins get 403; lock, unlock, force logout, delete,
//! invites.

use cofre_api::ErrorCode;
use cofre_client::client::SecondFactor;
use cofre_core::secret::Password;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_admins_get_403_on_every_admin_route() {
    let s = start(|_| {}).await;
    register(&s, "root").await;
    let bob = register(&s, "bob").await;
    let t = login(&s, "bob").await.tokens.access_token;
    let id = &bob.account.user_id;
    let routes = [
        ("GET", "/admin/users".to_owned()),
        ("GET", "/admin/audit".to_owned()),
        ("POST", format!("/admin/users/{id}/lock")),
        ("POST", format!("/admin/users/{id}/unlock")),
        ("POST", format!("/admin/users/{id}/logout")),
        ("DELETE", format!("/admin/users/{id}")),
        ("POST", format!("/admin/users/{id}/reset-mfa")),
        ("POST", "/admin/invites".to_owned()),
    ];
    for (method, path) in routes {
        let r = s
            .http
            .request(method.parse().unwrap(), s.url(&path))
            .bearer_auth(t.expose())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{method} {path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(code(&body), "forbidden");
    }
    let (st, _, b) = post_raw(&s, "/admin/users/x/lock", None, "").await;
    assert_eq!((st, code(&b)), (401, "unauthorized"));
    // bob is still there and unlocked.
    assert!(!s.state.store.user_by_id(id).await.unwrap().unwrap().locked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_unlock_force_logout_delete() {
    let s = start(|_| {}).await;
    register(&s, "root").await;
    let bob = register(&s, "bob").await;
    let admin = login(&s, "root").await.tokens.access_token;
    let id = bob.account.user_id.clone();
    let users = s.client.admin_users(&admin).await.unwrap();
    assert_eq!(
        users
            .iter()
            .map(|u| u.username.as_str())
            .collect::<Vec<_>>(),
        ["bob", "root"]
    );

    let bt = login(&s, "bob").await.tokens;
    s.client.admin_lock(&admin, &id).await.unwrap();
    assert_eq!(
        api_code(&s.client.whoami(&bt.access_token).await.err().unwrap()),
        ErrorCode::Unauthorized
    );
    let e = s
        .client
        .login("bob", &Password::new(PASSWORD), SecondFactor::None)
        .await
        .err()
        .unwrap();
    assert_eq!(api_code(&e), ErrorCode::AccountLocked);
    // A wrong password on a locked account gets the same answer as the right one: the
    // lock is no password oracle.
    let e = s
        .client
        .login(
            "bob",
            &Password::new("wrong password but long"),
            SecondFactor::None,
        )
        .await
        .err()
        .unwrap();
    assert_eq!(api_code(&e), ErrorCode::AccountLocked);
    s.client.admin_unlock(&admin, &id).await.unwrap();
    let bt = login(&s, "bob").await.tokens;

    s.client.admin_logout(&admin, &id).await.unwrap();
    assert_eq!(
        api_code(&s.client.whoami(&bt.access_token).await.err().unwrap()),
        ErrorCode::Unauthorized
    );

    s.client.admin_delete(&admin, &id).await.unwrap();
    assert_eq!(
        api_code(&s.client.admin_delete(&admin, &id).await.err().unwrap()),
        ErrorCode::NotFound
    );
    let e = s
        .client
        .login("bob", &Password::new(PASSWORD), SecondFactor::None)
        .await
        .err()
        .unwrap();
    assert_eq!(api_code(&e), ErrorCode::InvalidCredentials);
    // The admin cannot lock themselves out.
    let me = s.client.whoami(&admin).await.unwrap().user.user_id;
    assert_eq!(
        api_code(&s.client.admin_lock(&admin, &me).await.err().unwrap()),
        ErrorCode::Conflict
    );
    // Nor turn their own second factor off without a code, nor delete themselves.
    assert_eq!(
        api_code(&s.client.admin_reset_mfa(&admin, &me).await.err().unwrap()),
        ErrorCode::Conflict
    );
    assert_eq!(
        api_code(&s.client.admin_delete(&admin, &me).await.err().unwrap()),
        ErrorCode::Conflict
    );
    s.client.whoami(&admin).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_registration_needs_a_single_use_invite() {
    let s = start(|c| c.open_registration = false).await;
    // The policy says whether an invite is needed now: not for the first account.
    assert!(!s.client.policy().await.unwrap().invite_required);
    register(&s, "root").await;
    assert!(s.client.policy().await.unwrap().invite_required);
    // The client refuses before deriving anything; the server refuses by itself too.
    let raw = serde_json::to_string(&registration_request(
        "bob",
        s.client.policy().await.unwrap().kdf,
    ))
    .unwrap();
    let (status, _, body) = post_raw(&s, "/auth/register", None, &raw).await;
    assert_eq!(
        (status, code(&body)),
        (403, "registration_closed"),
        "{body}"
    );
    let e = s
        .client
        .register("bob", &Password::new(PASSWORD), None)
        .await
        .err()
        .unwrap();
    assert_eq!(api_code(&e), ErrorCode::RegistrationClosed);
    let e = s
        .client
        .register("bob", &Password::new(PASSWORD), Some("made-up"))
        .await
        .err()
        .unwrap();
    assert_eq!(api_code(&e), ErrorCode::RegistrationClosed);
    let admin = login(&s, "root").await.tokens.access_token;
    let invite = s.client.admin_invite(&admin).await.unwrap();
    s.client
        .register("bob", &Password::new(PASSWORD), Some(invite.token.expose()))
        .await
        .unwrap();
    let e = s
        .client
        .register(
            "carol",
            &Password::new(PASSWORD),
            Some(invite.token.expose()),
        )
        .await
        .err()
        .unwrap();
    assert_eq!(
        api_code(&e),
        ErrorCode::RegistrationClosed,
        "invites are single use"
    );
    assert_eq!(s.state.store.count_users().await.unwrap(), 2);
}
