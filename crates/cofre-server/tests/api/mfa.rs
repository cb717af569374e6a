//! TOTP: enrolment needs confirmation, login then needs a code, codes cannot be
//! replayed, recovery codes work once, disabling needs a code, the policy is enforced.

use cofre_api::ErrorCode;
use cofre_client::client::SecondFactor;
use cofre_core::secret::Password;
use cofre_core::totp::TotpSecret;

use crate::support::*;

fn secret_of(b32: &str) -> TotpSecret {
    TotpSecret::from_bytes(&data_encoding::BASE32_NOPAD.decode(b32.as_bytes()).unwrap()).unwrap()
}

fn code_at(secret: &TotpSecret, offset_steps: i64) -> String {
    let now = cofre_server::clock::now() + offset_steps * 30;
    secret.code_at(u64::try_from(now).unwrap()).unwrap()
}

async fn login_2fa(
    s: &TestServer,
    second: SecondFactor,
) -> Result<cofre_client::client::LoggedIn, cofre_client::ClientError> {
    s.client
        .login("alice", &Password::new(PASSWORD), second)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_enrol_confirm_login_replay_recovery_codes_disable() {
    let s = start(|_| {}).await;
    register(&s, "alice").await;
    let l = login(&s, "alice").await;
    let other = login(&s, "alice").await.tokens;
    let t = &l.tokens.access_token;

    let enrol = s.client.mfa_enroll(t).await.unwrap();
    assert!(
        enrol
            .otpauth_uri
            .expose()
            .starts_with("otpauth://totp/cofre:alice?")
    );
    let secret = secret_of(enrol.secret_base32.expose());
    // Not active before confirmation: login needs no code yet.
    let st = s.client.mfa_status(t).await.unwrap();
    assert!(!st.enabled && st.pending);
    login(&s, "alice").await;
    // A wrong code does not confirm.
    let wrong = if code_at(&secret, 0) == "000000" {
        "111111"
    } else {
        "000000"
    };
    assert_eq!(
        api_code(&s.client.mfa_confirm(t, wrong).await.err().unwrap()),
        ErrorCode::InvalidMfaCode
    );

    // Confirm with the previous step's code (still in the window), so that the current
    // step stays free for the login below.
    let codes = s
        .client
        .mfa_confirm(t, &code_at(&secret, -1))
        .await
        .unwrap()
        .codes;
    assert_eq!(codes.len(), 10);
    assert!(s.client.mfa_status(t).await.unwrap().enabled);
    // The other session was revoked by the MFA change; this one lives.
    assert_eq!(
        api_code(&s.client.whoami(&other.access_token).await.err().unwrap()),
        ErrorCode::Unauthorized
    );
    s.client.whoami(t).await.unwrap();

    // Login without a code: the password was right, a code is needed.
    assert_eq!(
        api_code(&login_2fa(&s, SecondFactor::None).await.err().unwrap()),
        ErrorCode::MfaRequired
    );
    // Wrong code: the same answer as a wrong password.
    assert_eq!(
        api_code(
            &login_2fa(&s, SecondFactor::Totp(wrong.into()))
                .await
                .err()
                .unwrap()
        ),
        ErrorCode::InvalidCredentials
    );
    let code = code_at(&secret, 0);
    login_2fa(&s, SecondFactor::Totp(code.clone()))
        .await
        .unwrap();
    // The same code again, in its window: a replay.
    assert_eq!(
        api_code(
            &login_2fa(&s, SecondFactor::Totp(code.clone()))
                .await
                .err()
                .unwrap()
        ),
        ErrorCode::InvalidCredentials
    );
    // An older step than the last one used is a replay too.
    assert_eq!(
        api_code(
            &login_2fa(&s, SecondFactor::Totp(code_at(&secret, -1)))
                .await
                .err()
                .unwrap()
        ),
        ErrorCode::InvalidCredentials
    );

    // Recovery codes: each works once, typed in any case with or without the dash.
    let rc = codes[0].expose().to_owned();
    login_2fa(
        &s,
        SecondFactor::RecoveryCode(rc.to_uppercase().replace('-', "")),
    )
    .await
    .unwrap();
    assert_eq!(
        api_code(
            &login_2fa(&s, SecondFactor::RecoveryCode(rc))
                .await
                .err()
                .unwrap()
        ),
        ErrorCode::InvalidCredentials
    );
    let l2 = login_2fa(&s, SecondFactor::RecoveryCode(codes[1].expose().to_owned()))
        .await
        .unwrap();
    assert_eq!(
        s.client
            .mfa_status(&l2.tokens.access_token)
            .await
            .unwrap()
            .recovery_codes_left,
        8
    );

    // Disabling needs a current, unused code.
    assert_eq!(
        api_code(&s.client.mfa_disable(t, &code).await.err().unwrap()),
        ErrorCode::InvalidMfaCode
    );
    s.client.mfa_disable(t, &code_at(&secret, 1)).await.unwrap();
    assert!(!s.client.mfa_status(t).await.unwrap().enabled);
    login(&s, "alice").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mfa_required_policy_blocks_until_enrolled() {
    let s = start(|_| {}).await;
    register(&s, "root").await;
    register(&s, "alice").await;
    let admin = login_as(&s, "root").await;
    s.client.admin_set_mfa_required(&admin, true).await.unwrap();
    assert!(s.client.policy().await.unwrap().mfa_required);
    // From now on the admin too must enrol before using anything else.
    assert_eq!(
        api_code(&s.client.admin_users(&admin).await.err().unwrap()),
        ErrorCode::MfaEnrollmentRequired
    );
    let l = login(&s, "alice").await;
    let t = &l.tokens.access_token;
    assert_eq!(
        api_code(&s.client.account_keys(t).await.err().unwrap()),
        ErrorCode::MfaEnrollmentRequired
    );
    // whoami and the MFA routes stay open so the user can enrol.
    s.client.whoami(t).await.unwrap();
    let enrol = s.client.mfa_enroll(t).await.unwrap();
    let secret = secret_of(enrol.secret_base32.expose());
    s.client.mfa_confirm(t, &code_at(&secret, 0)).await.unwrap();
    s.client.account_keys(t).await.unwrap();
}

async fn login_as(s: &TestServer, name: &str) -> cofre_api::SecretString {
    s.client
        .login(name, &Password::new(PASSWORD), SecondFactor::None)
        .await
        .unwrap()
        .tokens
        .access_token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_reset_turns_mfa_off_after_a_lost_authenticator() {
    let s = start(|_| {}).await;
    register(&s, "root").await;
    register(&s, "alice").await;
    let l = login(&s, "alice").await;
    let enrol = s.client.mfa_enroll(&l.tokens.access_token).await.unwrap();
    let secret = secret_of(enrol.secret_base32.expose());
    s.client
        .mfa_confirm(&l.tokens.access_token, &code_at(&secret, 0))
        .await
        .unwrap();
    assert_eq!(
        api_code(&login_2fa(&s, SecondFactor::None).await.err().unwrap()),
        ErrorCode::MfaRequired
    );

    let admin = login_as(&s, "root").await;
    let alice = s
        .state
        .store
        .user_by_name("alice")
        .await
        .unwrap()
        .unwrap()
        .id;
    s.client.admin_reset_mfa(&admin, &alice).await.unwrap();
    // Her sessions ended; she logs in with the password alone and can enrol again.
    assert_eq!(
        api_code(&s.client.whoami(&l.tokens.access_token).await.err().unwrap()),
        ErrorCode::Unauthorized
    );
    let l = login(&s, "alice").await;
    let st = s.client.mfa_status(&l.tokens.access_token).await.unwrap();
    assert!(!st.enabled && !st.pending && st.recovery_codes_left == 0);
    let audit = s.client.admin_audit(&admin, 0, 1000).await.unwrap();
    assert!(
        audit
            .events
            .iter()
            .any(|e| e.event == "admin.mfa_reset" && e.subject.as_deref() == Some(alice.as_str()))
    );
    assert_eq!(
        api_code(
            &s.client
                .admin_reset_mfa(&admin, "nobody")
                .await
                .err()
                .unwrap()
        ),
        ErrorCode::NotFound
    );
}
