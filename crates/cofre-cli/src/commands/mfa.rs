//! `cofre mfa enable|confirm|disable|status|recovery-codes`.

use std::io::IsTerminal as _;

use cofre_client::api::mfa::RecoveryCodes;

use crate::cli::{CodeArgs, JsonArgs, MfaEnableArgs};
use crate::prompt;
use crate::session::State;

fn print_codes(codes: &RecoveryCodes) {
    println!("Recovery codes (each works once, instead of a one-time code; shown only now):");
    println!();
    for c in &codes.codes {
        println!("    {}", c.expose());
    }
    println!();
    println!("Keep them somewhere safe, apart from your phone.");
}

/// Draws `text` as a QR code with Unicode half blocks (two rows per line).
fn qr(text: &str) -> anyhow::Result<String> {
    let code = qrcode::QrCode::new(text.as_bytes())?;
    Ok(code
        .render::<qrcode::render::unicode::Dense1x2>()
        .dark_color(qrcode::render::unicode::Dense1x2::Light)
        .light_color(qrcode::render::unicode::Dense1x2::Dark)
        .build())
}

/// `cofre mfa enable`: starts enrolment, shows the QR code, and on a terminal asks for
/// the code that confirms it.
pub async fn enable(a: MfaEnableArgs) -> anyhow::Result<()> {
    let state = State::open(&a.client)?;
    let (client, s) = state.session().await?;
    let e = client.mfa_enroll(&s.access_token).await?;
    println!("Scan this with your authenticator app:");
    if !a.no_qr {
        println!("{}", qr(e.otpauth_uri.expose())?);
    }
    println!("or enter this key by hand: {}", e.secret_base32.expose());
    println!("({})", e.otpauth_uri.expose());
    if !std::io::stdin().is_terminal() {
        println!("Then confirm with: cofre mfa confirm --code CODE");
        return Ok(());
    }
    let code = crate::code::totp(&prompt::code(None, "Code shown by the app")?)?;
    let codes = client.mfa_confirm(&s.access_token, &code).await?;
    println!("Two-factor authentication is on. Your other sessions were logged out.");
    print_codes(&codes);
    Ok(())
}

/// `cofre mfa confirm`.
pub async fn confirm(a: CodeArgs) -> anyhow::Result<()> {
    let state = State::open(&a.client)?;
    let (client, s) = state.session().await?;
    let code = crate::code::totp(&prompt::code(a.code.as_deref(), "Code shown by the app")?)?;
    let codes = client.mfa_confirm(&s.access_token, &code).await?;
    println!("Two-factor authentication is on. Your other sessions were logged out.");
    print_codes(&codes);
    Ok(())
}

/// `cofre mfa disable`.
pub async fn disable(a: CodeArgs) -> anyhow::Result<()> {
    let state = State::open(&a.client)?;
    let (client, s) = state.session().await?;
    let code = crate::code::totp(&prompt::code(a.code.as_deref(), "Current one-time code")?)?;
    client.mfa_disable(&s.access_token, &code).await?;
    println!("Two-factor authentication is off. Your other sessions were logged out.");
    Ok(())
}

/// `cofre mfa status`.
pub async fn status(a: JsonArgs) -> anyhow::Result<()> {
    let state = State::open(&a.client)?;
    let (client, s) = state.session().await?;
    let st = client.mfa_status(&s.access_token).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&st)?);
        return Ok(());
    }
    if st.enabled {
        println!(
            "Two-factor authentication: on ({} recovery codes left)",
            st.recovery_codes_left
        );
    } else if st.pending {
        println!("Two-factor authentication: off (an enrolment waits for `cofre mfa confirm`)");
    } else {
        println!("Two-factor authentication: off (turn it on with `cofre mfa enable`)");
    }
    Ok(())
}

/// `cofre mfa recovery-codes`.
pub async fn recovery_codes(a: CodeArgs) -> anyhow::Result<()> {
    let state = State::open(&a.client)?;
    let (client, s) = state.session().await?;
    let code = crate::code::totp(&prompt::code(a.code.as_deref(), "Current one-time code")?)?;
    let codes = client.mfa_recovery_codes(&s.access_token, &code).await?;
    println!("The old recovery codes no longer work.");
    print_codes(&codes);
    Ok(())
}
