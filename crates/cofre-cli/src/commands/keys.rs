//! `cofre keys rotate`: a new RSA key pair, every item key re-wrapped for it and every
//! share re-signed with it (no item body is re-encrypted), then the old pair retired.

use anyhow::Context as _;
use cofre_client::core::vault::fingerprint_text;

use super::vault::progress_bar;
use crate::cli::ClientArgs;
use crate::session::State;

/// `cofre keys rotate`.
pub async fn rotate(args: ClientArgs) -> anyhow::Result<()> {
    let state = State::open(&args)?;
    let (client, mut session) = state.session().await?;
    let keys = session
        .unlocked_keys()
        .context("the agent's keys do not open; run `cofre login` again")?;
    eprintln!(
        "Generating a new key pair and re-wrapping every item key (bodies stay as they are)..."
    );
    let bar = progress_bar("re-wrapping");
    let b = bar.clone();
    let progress = move |done: u64, all: u64| {
        b.set_length(all);
        b.set_position(done);
    };
    let rotated = client
        .rotate_keys(
            &session.access_token,
            &keys,
            &session.account_keys,
            &session.username,
            &progress,
        )
        .await;
    bar.finish_and_clear();
    let rotated = rotated.context("key rotation (run `cofre keys rotate` again to resume)")?;
    // The agent keeps the session: give it the new key material.
    session.account_keys = rotated.account_keys;
    state.agent.put(session).await?;
    println!(
        "Rotated: {} item keys re-wrapped or shares re-signed; the old key pair is retired \
         and your other sessions were logged out.",
        rotated.rewrapped
    );
    println!(
        "Your new fingerprint: {}\nThe people you share with will be warned that your key \
         changed: read this to them so they can run `cofre contacts verify` for you.",
        fingerprint_text(rotated.keys.public_key())
    );
    Ok(())
}
