//! `cofre register`, `login`, `logout`, `whoami`, `passwd`, `recover`.

use anyhow::Context as _;
use cofre_client::agent::AgentSession;
use cofre_client::api::{ErrorCode, SecretString};
use cofre_client::client::{LoggedIn, PreparedLogin, SecondFactor};
use cofre_client::core::keys::RecoveryKey;

use crate::cli::{
    ClientArgs, JsonArgs, LoginArgs, LogoutArgs, PasswdArgs, RecoverArgs, RegisterArgs,
};
use crate::exit::{Failure, Problem};
use crate::session::State;
use crate::{code, prompt};

/// `cofre register`: the cheap checks first (the username, the server answers and
/// accepts registrations, the password's length and strength), then the expensive key
/// derivation and generation.
pub async fn register(a: RegisterArgs) -> anyhow::Result<()> {
    let mut state = State::open(&a.client)?;
    let server = state.server(&a.client);
    let (client, _) = State::client(&a.client, &server)?;
    crate::plain_http::warn(&server);
    let policy = client
        .registration_policy(&a.username, a.invite.as_deref())
        .await?;
    let password = prompt::password(a.password.password_file.as_deref(), "New password", true)?;
    cofre_client::password::check(&password, &policy, &[&a.username])?;
    eprintln!("Creating your keys (this takes a moment)...");
    let reg = client
        .register(&a.username, &password, a.invite.as_deref())
        .await?;
    state.remember(&server, &reg.account.username)?;
    println!(
        "Registered {} on {server}{}.",
        reg.account.username,
        if reg.account.role == cofre_client::api::Role::Admin {
            " as administrator (first account)"
        } else {
            ""
        }
    );
    print_recovery_key(&reg.recovery_key);
    Ok(())
}

/// Shows the recovery key once, with what losing it means.
pub fn print_recovery_key(key: &RecoveryKey) {
    println!();
    println!("Your recovery key (shown only this once):");
    println!();
    println!("    {}", key.to_display().as_str());
    println!();
    println!("Write it down and keep it somewhere safe, away from this computer. It is the only");
    println!("way back into your account if you forget your password. If you lose both the");
    println!("password and this key, nobody (not the server's operator, not us) can recover");
    println!("your data.");
}

/// `cofre login`.
pub async fn login(a: LoginArgs) -> anyhow::Result<()> {
    let mut state = State::open(&a.client)?;
    let server = state.server(&a.client);
    let username = a
        .username
        .clone()
        .or_else(|| state.config.username.clone())
        .context("which user? `cofre login USERNAME`")?;
    let (client, ca_pem) = State::client(&a.client, &server)?;
    // A malformed code is refused before anything is derived or sent.
    let second = match (&a.totp, &a.recovery_code) {
        (Some(c), _) => SecondFactor::Totp(code::totp(c)?),
        (None, Some(r)) => SecondFactor::RecoveryCode(code::recovery(r)?),
        (None, None) => SecondFactor::None,
    };
    crate::plain_http::warn(&server);
    let password = prompt::password(a.password.password_file.as_deref(), "Password", false)?;
    // This machine's device token for the account: its logins keep a guessing budget
    // of their own while others guess.
    let device = state.device_token(&server, &username)?;
    let prepared = client.prepare_login(&username, &password).await?;
    let logged = match client
        .submit_login(&prepared, second, device.as_ref())
        .await
    {
        Err(e) if e.code() == Some(ErrorCode::MfaRequired) => {
            second_factor(&client, &prepared, device.as_ref()).await?
        }
        other => other?,
    };
    state.remember(&server, &logged.user.username)?;
    if let Some(token) = &logged.device_token {
        state.remember_device(&server, &logged.user.username, token)?;
    }
    let mut session = AgentSession::new(
        &server,
        &logged.user.username,
        &logged.tokens,
        &logged.keys,
        logged.account_keys.clone(),
    );
    session.ca_pem = ca_pem;
    state.unlock(session, a.idle).await?;
    println!(
        "Logged in as {} on {server}; unlocked until `cofre lock` or {} minutes without a command.",
        logged.user.username,
        a.idle.div_ceil(60)
    );
    Ok(())
}

/// How many times a person may type the one-time code after the password was accepted.
const CODE_TRIES: usize = 3;

/// The password was accepted and the server asks for a second factor: asks for the code
/// only (again after a wrong or malformed one), never for the password.
async fn second_factor(
    client: &cofre_client::Client,
    prepared: &PreparedLogin,
    device: Option<&SecretString>,
) -> anyhow::Result<LoggedIn> {
    let mut tries = 0;
    loop {
        tries += 1;
        let typed = prompt::code(
            None,
            "One-time code from your authenticator app (or a recovery code)",
        )
        .map_err(|_| {
            Problem::of(
                Failure::AuthFailed,
                "this account uses two-factor authentication: pass --totp CODE (or \
                 --recovery-code CODE)",
            )
        })?;
        let code = match code::any(&typed) {
            Ok(c) => c,
            Err(e) if tries < CODE_TRIES => {
                eprintln!("{e}");
                continue;
            }
            Err(e) => return Err(e),
        };
        match client.submit_login(prepared, code.into(), device).await {
            Err(e) if e.code() == Some(ErrorCode::InvalidCredentials) && tries < CODE_TRIES => {
                eprintln!("That code is wrong or was already used (your password was accepted).");
            }
            other => return Ok(other?),
        }
    }
}

/// `cofre lock`.
pub async fn lock(a: ClientArgs) -> anyhow::Result<()> {
    State::open(&a)?.lock().await?;
    println!("Locked: the session and keys are forgotten. `cofre unlock` to continue.");
    Ok(())
}

/// `cofre logout`.
pub async fn logout(a: LogoutArgs) -> anyhow::Result<()> {
    let state = State::open(&a.client)?;
    let (client, s) = state.session().await?;
    let r = if a.all {
        client.logout_all(&s.access_token).await
    } else {
        client.logout(&s.access_token).await
    };
    state.lock().await?;
    r?;
    println!(
        "{}",
        if a.all {
            "Logged out everywhere."
        } else {
            "Logged out."
        }
    );
    Ok(())
}

/// `cofre whoami`.
pub async fn whoami(a: JsonArgs) -> anyhow::Result<()> {
    let state = State::open(&a.client)?;
    let (client, s) = state.session().await?;
    let who = client.whoami(&s.access_token).await?;
    if a.json {
        let out = serde_json::json!({
            "username": who.user.username,
            "user_id": who.user.user_id,
            "role": who.user.role.as_str(),
            "mfa_enabled": who.user.mfa_enabled,
            "server": s.server,
            "session_id": who.session_id,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "{} ({}) on {}; two-factor authentication {}",
        who.user.username,
        who.user.role.as_str(),
        s.server,
        if who.user.mfa_enabled { "on" } else { "off" }
    );
    Ok(())
}

/// `cofre passwd`.
pub async fn passwd(a: PasswdArgs) -> anyhow::Result<()> {
    let state = State::open(&a.client)?;
    let (client, s) = state.session().await?;
    crate::plain_http::warn(&s.server);
    let current = prompt::password(a.password_file.as_deref(), "Current password", false)?;
    let new = prompt::password(a.new_password_file.as_deref(), "New password", true)?;
    eprintln!("Re-wrapping your user key under the new password...");
    client
        .change_password(&s.access_token, &s.username, &current, &new)
        .await?;
    println!("Password changed. Your other sessions were logged out; this one stays.");
    Ok(())
}

/// `cofre recover`.
pub async fn recover(a: RecoverArgs) -> anyhow::Result<()> {
    let state = State::open(&a.client)?;
    let server = state.server(&a.client);
    let (client, _) = State::client(&a.client, &server)?;
    crate::plain_http::warn(&server);
    let key_text = match &a.recovery_key_file {
        Some(f) => prompt::from_file(f)?,
        None => prompt::hidden("Recovery key")?,
    };
    let key = RecoveryKey::parse(&key_text)
        .map_err(|_| Problem::usage("that is not a recovery key (nothing was sent)"))?;
    let new = prompt::password(a.new_password_file.as_deref(), "New password", true)?;
    client.recover(&a.username, &key, &new).await?;
    state.lock().await?;
    println!(
        "Password reset for {}. Every session was logged out: run `cofre login`.",
        a.username
    );
    Ok(())
}
