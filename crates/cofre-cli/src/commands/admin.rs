//! `cofre admin ...`: account administration. Admins never see data or keys.

use std::io::IsTerminal as _;

use cofre_client::Client;
use cofre_client::api::SecretString;

use crate::cli::{
    AdminArgs, AdminAuditArgs, AdminBackupArgs, AdminCommand, AdminDeleteArgs, AdminUserArgs,
    RequireMfaArgs,
};
use crate::session::State;

/// Runs an admin command.
pub async fn run(cmd: AdminCommand) -> anyhow::Result<()> {
    match cmd {
        AdminCommand::Users(a) => users(a).await,
        AdminCommand::Lock(a) => {
            on_user(a, "locked", |c, t, id| {
                Box::pin(async move { c.admin_lock(&t, &id).await })
            })
            .await
        }
        AdminCommand::Unlock(a) => {
            on_user(a, "unlocked", |c, t, id| {
                Box::pin(async move { c.admin_unlock(&t, &id).await })
            })
            .await
        }
        AdminCommand::Logout(a) => {
            on_user(a, "logged out everywhere", |c, t, id| {
                Box::pin(async move { c.admin_logout(&t, &id).await })
            })
            .await
        }
        AdminCommand::Delete(a) => delete(a).await,
        AdminCommand::ResetMfa(a) => {
            on_user(
                a,
                "two-factor authentication turned off, sessions ended",
                |c, t, id| Box::pin(async move { c.admin_reset_mfa(&t, &id).await }),
            )
            .await
        }
        AdminCommand::Invite(a) => invite(a).await,
        AdminCommand::RequireMfa(a) => require_mfa(a).await,
        AdminCommand::Audit(a) => audit(a).await,
        AdminCommand::Backup(a) => backup(a).await,
        AdminCommand::Backups(a) => backups(a).await,
    }
}

async fn users(a: AdminArgs) -> anyhow::Result<()> {
    let state = State::open(&a.client)?;
    let (client, s) = state.session().await?;
    let users = client.admin_users(&s.access_token).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&users)?);
        return Ok(());
    }
    println!(
        "{:<32} {:<6} {:<7} {:<4} id",
        "username", "role", "locked", "mfa"
    );
    for u in users {
        println!(
            "{:<32} {:<6} {:<7} {:<4} {}",
            u.username,
            u.role.as_str(),
            if u.locked { "yes" } else { "no" },
            if u.mfa_enabled { "on" } else { "off" },
            u.user_id
        );
    }
    Ok(())
}

type Action = fn(
    Client,
    SecretString,
    String,
) -> std::pin::Pin<
    Box<dyn std::future::Future<Output = cofre_client::error::Result<()>> + Send>,
>;

async fn on_user(a: AdminUserArgs, done: &str, action: Action) -> anyhow::Result<()> {
    on_confirmed_user(a, done, action, |_| Ok(())).await
}

/// Runs `action` on the account named in `a` once `confirm` (given its normalized
/// name) accepts.
async fn on_confirmed_user(
    a: AdminUserArgs,
    done: &str,
    action: Action,
    confirm: impl FnOnce(&str) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let state = State::open(&a.client)?;
    let (client, s) = state.session().await?;
    let name = cofre_client::api::Username::parse(&a.username)?;
    let user = client
        .admin_users(&s.access_token)
        .await?
        .into_iter()
        .find(|u| u.username == name.as_str())
        .ok_or_else(|| {
            crate::exit::Problem::not_found(format!(
                "there is no account named {name} (see `cofre admin users`)"
            ))
        })?;
    confirm(name.as_str())?;
    action(client, s.access_token.clone(), user.user_id).await?;
    println!("{name}: {done}.");
    Ok(())
}

/// `cofre admin delete`: the username typed again, or `--yes`.
async fn delete(a: AdminDeleteArgs) -> anyhow::Result<()> {
    let yes = a.yes;
    // Refused before anything is asked of the server when nobody can confirm.
    if !yes && !std::io::stdin().is_terminal() {
        return Err(crate::exit::Problem::usage(format!(
            "refusing to delete {} without confirmation: standard input is not a terminal; \
             run it again with --yes to delete the account and all of its data",
            a.username
        )));
    }
    let target = AdminUserArgs {
        username: a.username,
        client: a.client,
    };
    on_confirmed_user(
        target,
        "deleted",
        |c, t, id| Box::pin(async move { c.admin_delete(&t, &id).await }),
        |name| {
            if yes {
                return Ok(());
            }
            let typed = crate::prompt::line(&format!(
                "This deletes the account {name} and everything in it, for good.\n\
                 Type the username again to confirm: "
            ))?;
            let same =
                cofre_client::api::Username::parse(typed.trim()).is_ok_and(|t| t.as_str() == name);
            if !same {
                anyhow::bail!("that is not {name}: nothing was deleted");
            }
            Ok(())
        },
    )
    .await
}

async fn invite(a: AdminArgs) -> anyhow::Result<()> {
    let state = State::open(&a.client)?;
    let (client, s) = state.session().await?;
    let inv = client.admin_invite(&s.access_token).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&inv)?);
    } else {
        println!("Invite (single use, valid 7 days): {}", inv.token.expose());
        println!(
            "The invitee runs: cofre register USERNAME --invite {}",
            inv.token.expose()
        );
    }
    Ok(())
}

async fn require_mfa(a: RequireMfaArgs) -> anyhow::Result<()> {
    let state = State::open(&a.client)?;
    let (client, s) = state.session().await?;
    let on = a.state == "on";
    client.admin_set_mfa_required(&s.access_token, on).await?;
    println!(
        "{}",
        if on {
            "MFA is now required: accounts without it can only enrol until they have it."
        } else {
            "MFA is now optional."
        }
    );
    Ok(())
}

async fn audit(a: AdminAuditArgs) -> anyhow::Result<()> {
    let state = State::open(&a.client)?;
    let (client, s) = state.session().await?;
    let page = client
        .admin_audit_filtered(&s.access_token, a.after, a.since, a.limit, !a.oldest_first)
        .await?;
    if a.json {
        let rows: Vec<serde_json::Value> = page
            .events
            .iter()
            .map(|e| {
                serde_json::json!({
                    "seq": e.seq,
                    "at": crate::times::rfc3339(e.at),
                    "event": e.event,
                    "outcome": e.outcome,
                    "actor": e.actor_name.as_ref().or(e.actor.as_ref()),
                    "actor_id": e.actor,
                    "subject": e.subject_name.as_ref().or(e.subject.as_ref()),
                    "subject_id": e.subject_name.as_ref().and(e.subject.as_ref()),
                    "address": e.address,
                    "hash": e.hash,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if page.events.is_empty() {
        println!("No audit events match.");
        return Ok(());
    }
    println!(
        "{:>6}  {:<20}  {:<24}  {:<9}  {:<16}  {:<16}  FROM",
        "SEQ", "TIME (UTC)", "EVENT", "OUTCOME", "ACTOR", "SUBJECT"
    );
    for e in page.events {
        println!(
            "{:>6}  {:<20}  {:<24}  {:<9}  {:<16}  {:<16}  {}",
            e.seq,
            crate::times::rfc3339(e.at),
            e.event,
            e.outcome,
            e.actor_name.or(e.actor).as_deref().unwrap_or("-"),
            e.subject_name.or(e.subject).as_deref().unwrap_or("-"),
            e.address.as_deref().unwrap_or("-"),
        );
    }
    Ok(())
}

async fn backup(a: AdminBackupArgs) -> anyhow::Result<()> {
    let state = State::open(&a.client)?;
    let (client, s) = state.session().await?;
    let started = client.admin_start_backup(&s.access_token).await?;
    if !a.wait {
        println!("Backup started; `cofre admin backups` shows its result.");
        return Ok(());
    }
    let previous = started.last.as_ref().map(|l| l.started_at);
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        let st = client.admin_backups(&s.access_token).await?;
        let Some(last) = st
            .last
            .filter(|l| !st.running && Some(l.started_at) != previous)
        else {
            continue;
        };
        if let Some(err) = last.error {
            anyhow::bail!("the backup failed: {err}");
        }
        println!(
            "Backup written: {} ({} bytes)",
            last.file.unwrap_or_default(),
            last.bytes
        );
        return Ok(());
    }
}

async fn backups(a: AdminArgs) -> anyhow::Result<()> {
    let state = State::open(&a.client)?;
    let (client, s) = state.session().await?;
    let st = client.admin_backups(&s.access_token).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&st)?);
        return Ok(());
    }
    if !st.configured {
        println!("Backups are not configured on this server (--backup-dir and --backup-key).");
        return Ok(());
    }
    match st.every_secs {
        Some(s) => println!(
            "Scheduled every {s} s{}",
            if st.running {
                "; one is running now"
            } else {
                ""
            }
        ),
        None => println!(
            "Not scheduled (on request only){}",
            if st.running {
                "; one is running now"
            } else {
                ""
            }
        ),
    }
    if let Some(l) = &st.last {
        match &l.error {
            None => println!(
                "Last run ({}): wrote {} ({} bytes)",
                l.trigger,
                l.file.as_deref().unwrap_or("?"),
                l.bytes
            ),
            Some(e) => println!("Last run ({}): FAILED: {e}", l.trigger),
        }
    }
    if let Some(e) = &st.folder_error {
        println!("The backup folder cannot be listed: {e}");
    }
    for b in &st.backups {
        println!("{:<48} {:>14} bytes", b.name, b.bytes);
    }
    Ok(())
}
