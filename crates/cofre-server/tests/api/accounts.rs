//! Register, prelogin, login, refresh, logout, password change and recovery.

use cofre_api::{ErrorCode, Role};
use cofre_client::client::SecondFactor;
use cofre_core::keys::RecoveryKey;
use cofre_core::secret::Password;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_user_is_admin_then_users_and_names_are_case_insensitive() {
    let s = start(|_| {}).await;
    let alice = register(&s, "Alice").await;
    assert_eq!(alice.account.role, Role::Admin);
    assert_eq!(alice.account.username, "alice");
    let bob = register(&s, "bob").await;
    assert_eq!(bob.account.role, Role::User);
    let e = s
        .client
        .register("ALICE", &Password::new(PASSWORD), None)
        .await
        .err()
        .unwrap();
    assert_eq!(api_code(&e), ErrorCode::UsernameTaken);

    // Logging in with another case works and unlocks the same keys.
    let l = s
        .client
        .login("aLiCe", &Password::new(PASSWORD), SecondFactor::None)
        .await
        .unwrap();
    assert_eq!(l.user.username, "alice");
    assert_eq!(l.keys.public_key(), alice.keys.public_key());
    let who = s.client.whoami(&l.tokens.access_token).await.unwrap();
    assert_eq!(who.user.user_id, alice.account.user_id);
    assert_eq!(who.session_id, l.tokens.session_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prelogin_gives_stable_fakes_for_unknown_users() {
    let s = start(|_| {}).await;
    register(&s, "alice").await;
    let real = s.client.prelogin("alice").await.unwrap();
    let fake1 = s.client.prelogin("mallory").await.unwrap();
    let fake2 = s.client.prelogin("MALLORY").await.unwrap();
    let other = s.client.prelogin("trudy").await.unwrap();
    assert_eq!(fake1, fake2, "fakes must be deterministic");
    assert_ne!(fake1.salt, other.salt);
    assert_ne!(fake1.salt, real.salt);
    assert_eq!(fake1.kdf, real.kdf, "same parameters as a real account");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_rotates_and_reuse_revokes_the_whole_session() {
    let s = start(|_| {}).await;
    register(&s, "alice").await;
    let l = login(&s, "alice").await;
    let t1 = l.tokens;
    let t2 = s.client.refresh(&t1.refresh_token).await.unwrap();
    assert_ne!(t2.refresh_token, t1.refresh_token);
    assert_eq!(t2.session_id, t1.session_id);
    s.client.whoami(&t2.access_token).await.unwrap();

    // The first refresh token comes back (stolen copy): the session dies.
    let e = s.client.refresh(&t1.refresh_token).await.err().unwrap();
    assert_eq!(api_code(&e), ErrorCode::InvalidRefreshToken);
    let e = s.client.refresh(&t2.refresh_token).await.err().unwrap();
    assert_eq!(
        api_code(&e),
        ErrorCode::InvalidRefreshToken,
        "the newest token dies too"
    );
    let e = s.client.whoami(&t2.access_token).await.err().unwrap();
    assert_eq!(
        api_code(&e),
        ErrorCode::Unauthorized,
        "and its access tokens"
    );

    // A fresh login is unaffected.
    let l2 = login(&s, "alice").await;
    s.client.whoami(&l2.tokens.access_token).await.unwrap();
    let e = s
        .client
        .refresh(&cofre_api::SecretString::new("not-a-token"))
        .await
        .err()
        .unwrap();
    assert_eq!(api_code(&e), ErrorCode::InvalidRefreshToken);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_and_logout_everywhere() {
    let s = start(|_| {}).await;
    register(&s, "alice").await;
    let a = login(&s, "alice").await.tokens;
    let b = login(&s, "alice").await.tokens;
    let c = login(&s, "alice").await.tokens;
    s.client.logout(&a.access_token).await.unwrap();
    assert_eq!(
        api_code(&s.client.whoami(&a.access_token).await.err().unwrap()),
        ErrorCode::Unauthorized
    );
    assert_eq!(
        api_code(&s.client.refresh(&a.refresh_token).await.err().unwrap()),
        ErrorCode::InvalidRefreshToken
    );
    s.client.whoami(&b.access_token).await.unwrap();
    s.client.logout_all(&b.access_token).await.unwrap();
    for t in [&b, &c] {
        assert_eq!(
            api_code(&s.client.whoami(&t.access_token).await.err().unwrap()),
            ErrorCode::Unauthorized
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_change_rewraps_the_user_key_and_revokes_other_sessions() {
    let s = start(|_| {}).await;
    let reg = register(&s, "alice").await;
    let other = login(&s, "alice").await.tokens;
    let me = login(&s, "alice").await;
    s.client
        .change_password(
            &me.tokens.access_token,
            "alice",
            &Password::new(PASSWORD),
            &Password::new(NEW_PASSWORD),
        )
        .await
        .unwrap();
    // This session lives on; the other one is revoked.
    s.client.whoami(&me.tokens.access_token).await.unwrap();
    assert_eq!(
        api_code(&s.client.whoami(&other.access_token).await.err().unwrap()),
        ErrorCode::Unauthorized
    );
    // The old password no longer works; the new one unlocks the same keys.
    let e = s
        .client
        .login("alice", &Password::new(PASSWORD), SecondFactor::None)
        .await
        .err()
        .unwrap();
    assert_eq!(api_code(&e), ErrorCode::InvalidCredentials);
    let l = s
        .client
        .login("alice", &Password::new(NEW_PASSWORD), SecondFactor::None)
        .await
        .unwrap();
    assert_eq!(l.keys.public_key(), reg.keys.public_key());
    assert_eq!(
        l.keys.user_key().expose_secret_bytes(),
        reg.keys.user_key().expose_secret_bytes()
    );
    // A wrong current password is refused and changes nothing.
    let e = s
        .client
        .change_password(
            &l.tokens.access_token,
            "alice",
            &Password::new(PASSWORD),
            &Password::new("another long passphrase here 9"),
        )
        .await
        .err()
        .unwrap();
    assert!(e.to_string().contains("current password is wrong"), "{e}");
    login_with(&s, "alice", NEW_PASSWORD).await;
}

async fn login_with(s: &TestServer, name: &str, password: &str) {
    s.client
        .login(name, &Password::new(password), SecondFactor::None)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_key_sets_a_new_password_and_keeps_the_keys() {
    let s = start(|_| {}).await;
    let reg = register(&s, "alice").await;
    let session = login(&s, "alice").await.tokens;
    let shown = reg.recovery_key.to_display();
    let typed = RecoveryKey::parse(&shown.to_lowercase()).unwrap();

    // A wrong recovery key gets the login answer.
    let wrong = RecoveryKey::generate().unwrap();
    let e = s
        .client
        .recover("alice", &wrong, &Password::new(NEW_PASSWORD))
        .await
        .err()
        .unwrap();
    assert_eq!(api_code(&e), ErrorCode::InvalidCredentials);

    s.client
        .recover("alice", &typed, &Password::new(NEW_PASSWORD))
        .await
        .unwrap();
    assert_eq!(
        api_code(&s.client.whoami(&session.access_token).await.err().unwrap()),
        ErrorCode::Unauthorized,
        "recovery ends every session"
    );
    let l = s
        .client
        .login("alice", &Password::new(NEW_PASSWORD), SecondFactor::None)
        .await
        .unwrap();
    assert_eq!(l.keys.public_key(), reg.keys.public_key());
    assert_eq!(
        l.keys.user_key().expose_secret_bytes(),
        reg.keys.user_key().expose_secret_bytes()
    );
    // The recovery key still works after that (it wraps the same user key).
    s.client
        .recover("alice", &typed, &Password::new(PASSWORD))
        .await
        .unwrap();
    login(&s, "alice").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weak_passwords_are_refused_by_the_client_with_a_reason() {
    let s = start(|_| {}).await;
    let e = s
        .client
        .register("alice", &Password::new("password1234"), None)
        .await
        .err()
        .unwrap();
    assert!(e.to_string().contains("too easy to guess"), "{e}");
    let e = s
        .client
        .register("alice", &Password::new("short"), None)
        .await
        .err()
        .unwrap();
    assert!(e.to_string().contains("at least 12"), "{e}");
    assert_eq!(s.state.store.count_users().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_registrations_make_exactly_one_admin() {
    let s = start(|_| {}).await;
    let names = ["ann", "ben", "cat", "dan"];
    let regs = futures_join(&s, &names).await;
    let admins = regs.iter().filter(|r| **r == Role::Admin).count();
    assert_eq!(admins, 1, "{regs:?}");
}

async fn futures_join(s: &TestServer, names: &[&str]) -> Vec<Role> {
    let mut tasks = Vec::new();
    for n in names {
        let client = s.client.clone();
        let n = (*n).to_owned();
        tasks.push(tokio::spawn(async move {
            client
                .register(&n, &Password::new(PASSWORD), None)
                .await
                .unwrap()
                .account
                .role
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}
