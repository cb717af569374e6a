//! Every authenticated request re-reads its session, the account and the MFA policy:
//! a change written through another connection to the same database (as another server
//! process sharing it would) applies to the very next request, although the access
//! token's signature check is remembered after its first use.

use cofre_server::store::settings::MFA_REQUIRED;

use crate::support::*;

/// Status and error code of a GET (code `""` on success).
async fn check(s: &TestServer, path: &str, token: &str) -> (u16, String) {
    let (status, body) = get_raw(s, path, token).await;
    let c = if status < 300 { "" } else { code(&body) };
    (status, c.to_owned())
}

fn ok() -> (u16, String) {
    (200, String::new())
}

fn err(status: u16, code: &str) -> (u16, String) {
    (status, code.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_made_elsewhere_apply_to_the_next_request() {
    let s = start(|_| {}).await;
    register(&s, "root").await;
    let uid = register(&s, "alice").await.account.user_id;
    // Another server process on the same database.
    let other = open_database(&s.state.config).await;
    let now = cofre_server::clock::now();
    let l = login(&s, "alice").await.tokens;
    let t = l.access_token.expose().to_owned();
    assert_eq!(check(&s, "/items/usage", &t).await, ok());
    assert!(s.state.tokens.verified_cached() >= 1);

    // Lock, with the sessions left live: refused; unlocked: accepted again.
    assert!(other.set_locked(&uid, true, now).await.unwrap());
    assert_eq!(
        check(&s, "/items/usage", &t).await,
        err(403, "account_locked")
    );
    assert_eq!(
        check(&s, "/auth/whoami", &t).await,
        err(403, "account_locked")
    );
    assert!(other.set_locked(&uid, false, now).await.unwrap());
    assert_eq!(check(&s, "/items/usage", &t).await, ok());

    // The MFA policy switched on: refused until TOTP is enabled (a pending secret is
    // not enough); whoami stays open and says MFA is off.
    other.set_setting(MFA_REQUIRED, "true").await.unwrap();
    let refused = err(403, "mfa_enrollment_required");
    assert_eq!(check(&s, "/items/usage", &t).await, refused);
    let (st, who) = get_raw(&s, "/auth/whoami", &t).await;
    assert_eq!((st, &who["mfa_enabled"]), (200, &false.into()));
    assert!(other.put_pending_totp(&uid, "sealed", now).await.unwrap());
    assert_eq!(check(&s, "/items/usage", &t).await, refused);
    other.enable_totp(&uid, &[]).await.unwrap();
    assert_eq!(check(&s, "/items/usage", &t).await, ok());
    let (st, who) = get_raw(&s, "/auth/whoami", &t).await;
    assert_eq!((st, &who["mfa_enabled"]), (200, &true.into()));
    // TOTP disabled: refused again; the policy switched off: accepted.
    other.disable_totp(&uid).await.unwrap();
    assert_eq!(check(&s, "/items/usage", &t).await, refused);
    other.set_setting(MFA_REQUIRED, "false").await.unwrap();
    assert_eq!(check(&s, "/items/usage", &t).await, ok());

    // The role is the database's, not the token's: promoted, then demoted.
    let set_role = |role: &str| format!("UPDATE users SET role = '{role}' WHERE id = '{uid}'");
    assert_eq!(check(&s, "/admin/users", &t).await, err(403, "forbidden"));
    assert_eq!(other.raw_execute(&set_role("admin")).await.unwrap(), 1);
    assert_eq!(check(&s, "/admin/users", &t).await, ok());
    let (_, who) = get_raw(&s, "/auth/whoami", &t).await;
    assert_eq!(who["role"], "admin");
    assert_eq!(other.raw_execute(&set_role("user")).await.unwrap(), 1);
    assert_eq!(check(&s, "/admin/users", &t).await, err(403, "forbidden"));

    // The session reaching its absolute expiry.
    let expire = format!(
        "UPDATE sessions SET expires_at = {} WHERE id = '{}'",
        now - 1,
        l.session_id
    );
    assert_eq!(other.raw_execute(&expire).await.unwrap(), 1);
    assert_eq!(
        check(&s, "/items/usage", &t).await,
        err(401, "unauthorized")
    );

    // A session revoked.
    let l = login(&s, "alice").await.tokens;
    let t = l.access_token.expose().to_owned();
    assert_eq!(check(&s, "/items/usage", &t).await, ok());
    assert!(
        other
            .revoke_session(&l.session_id, "test", now)
            .await
            .unwrap()
    );
    assert_eq!(
        check(&s, "/items/usage", &t).await,
        err(401, "unauthorized")
    );
    assert_eq!(
        check(&s, "/auth/whoami", &t).await,
        err(401, "unauthorized")
    );

    // The account deleted.
    let t = login(&s, "alice").await.tokens.access_token;
    let t = t.expose().to_owned();
    assert_eq!(check(&s, "/account/keys", &t).await, ok());
    assert!(other.delete_user(&uid).await.unwrap());
    assert_eq!(
        check(&s, "/items/usage", &t).await,
        err(401, "unauthorized")
    );
    assert_eq!(
        check(&s, "/account/keys", &t).await,
        err(401, "unauthorized")
    );
    // On SQLite every check above was an inline point read (store/point_reads.rs),
    // through connections of their own: none was handed to the pool.
    if let Some(stats) = s.state.store.point_read_stats() {
        assert!(stats.served >= 20 && stats.fell_back == 0, "{stats:?}");
    }
    other.close().await;
}
