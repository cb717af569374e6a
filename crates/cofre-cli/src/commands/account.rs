//! `cofre register`, `login`, `logout`, `whoami`, `passwd`, `recover`.

use anyhow::Context as _;
use cofre_client::agent::AgentSession;
use cofre_client::api::ErrorCode;
use cofre_client::client::SecondFactor;
use cofre_client::core::keys::RecoveryKey;

use crate::cli::{ClientArgs, LoginArgs, LogoutArgs, PasswdArgs, RecoverArgs, RegisterArgs};
use crate::prompt;
use crate::session::State;

/// `cofre register`.
pub async fn register(a: RegisterArgs) -> anyhow::Result<()> {
    let mut state = State::open(&a.client)?;
    let server = state.server(&a.client);
    let (client, _) = State::client(&a.client, &server)?;
    let password = prompt::password(a.password.password_file.as_deref(), "New password", true)?;
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
    let password = prompt::password(a.password.password_file.as_deref(), "Password", false)?;
    let second = match (&a.totp, &a.recovery_code) {
        (Some(c), _) => SecondFactor::Totp(c.clone()),
        (None, Some(r)) => SecondFactor::RecoveryCode(r.clone()),
        (None, None) => SecondFactor::None,
    };
    // This machine's device token for the account: its logins keep a guessing budget
    // of their own while others guess.
    let device = state.device_token(&server, &username)?;
    let logged = match client
        .login_on_device(&username, &password, second, device.as_ref())
        .await
    {
        Err(e) if e.code() == Some(ErrorCode::MfaRequired) => {
            let code = prompt::code(None, "One-time code from your authenticator app")
                .context("this account uses two-factor authentication: pass --totp CODE (or --recovery-code)")?;
            client
                .login_on_device(
                    &username,
                    &password,
                    SecondFactor::Totp(code),
                    device.as_ref(),
                )
                .await?
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
pub async fn whoami(a: ClientArgs) -> anyhow::Result<()> {
    let state = State::open(&a)?;
    let (client, s) = state.session().await?;
    let who = client.whoami(&s.access_token).await?;
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
    let key_text = match &a.recovery_key_file {
        Some(f) => prompt::from_file(f)?,
        None => prompt::hidden("Recovery key")?,
    };
    let key = RecoveryKey::parse(&key_text).context("that is not a recovery key")?;
    let new = prompt::password(a.new_password_file.as_deref(), "New password", true)?;
    client.recover(&a.username, &key, &new).await?;
    state.lock().await?;
    println!(
        "Password reset for {}. Every session was logged out: run `cofre login`.",
        a.username
    );
    Ok(())
}
