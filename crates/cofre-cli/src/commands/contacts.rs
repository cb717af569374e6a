//! `cofre contacts list|show|verify`: the pinned public keys of the people you share
//! with, and your own fingerprint to read out to them. `show` fails (exits non-zero)
//! when the server reports another key than the pinned one; `verify --fingerprint`
//! pins a key only if it has the fingerprint the contact gave out of band.

use std::io::IsTerminal as _;

use anyhow::bail;
use cofre_client::contacts::{Contacts, KeyCheck, fingerprint_matches};
use cofre_client::core::vault::fingerprint_text;

use super::vault::open;
use crate::cli::{ContactArgs, ContactsCommand};

/// Runs a `cofre contacts` subcommand.
pub async fn run(cmd: ContactsCommand) -> anyhow::Result<()> {
    match cmd {
        ContactsCommand::List(c) => {
            let v = open(&c.client).await?;
            let contacts = Contacts::load(&v.contacts_path)?;
            let all = contacts.all(&v.server);
            if c.json {
                let rows: Vec<serde_json::Value> = all
                    .iter()
                    .map(|(name, c)| {
                        serde_json::json!({
                            "username": name,
                            "fingerprint": c.fingerprint,
                            "verified": c.verified,
                            "pinned_at": crate::times::rfc3339(c.pinned_at),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
                return Ok(());
            }
            if all.is_empty() {
                println!("No contacts yet: keys are pinned the first time you share with someone.");
            }
            for (name, c) in all {
                let status = if c.verified {
                    "verified"
                } else {
                    "pinned, not verified"
                };
                println!("{name:<32}  {}  ({status})", c.fingerprint);
            }
            Ok(())
        }
        ContactsCommand::Show(a) => show(a).await,
        ContactsCommand::Verify(a) => verify(a).await,
    }
}

async fn show(a: ContactArgs) -> anyhow::Result<()> {
    let v = open(&a.client).await?;
    let Some(user) = &a.user else {
        println!(
            "Your key ({}): {}",
            v.username,
            fingerprint_text(v.keys.public_key())
        );
        return Ok(());
    };
    let contacts = Contacts::load(&v.contacts_path)?;
    let reported = super::sharing::public_key(&v, user).await?;
    match contacts.get(&v.server, &reported.username) {
        None => println!(
            "{}: not pinned yet. The server reports\n    {}",
            reported.username,
            fingerprint_text(&reported.public_key)
        ),
        Some(c) => {
            let status = if c.verified {
                "verified"
            } else {
                "pinned, not verified"
            };
            println!("{}: {}  ({status})", reported.username, c.fingerprint);
            if c.public_key != reported.public_key {
                println!(
                    "WARNING: the server now reports another key:\n    {}",
                    fingerprint_text(&reported.public_key)
                );
                return Err(crate::exit::Problem::of(
                    crate::exit::Failure::Integrity,
                    format!(
                        "{0}'s key CHANGED since you pinned it: {0} rotated their keys, or the \
                     server is handing out another key. Nothing is shared with {0} until \
                     you compare fingerprints with them and run `cofre contacts verify {0}`",
                        reported.username
                    ),
                ));
            }
        }
    }
    Ok(())
}

async fn verify(a: ContactArgs) -> anyhow::Result<()> {
    let Some(user) = &a.user else {
        bail!("whose key? `cofre contacts verify USER`");
    };
    let v = open(&a.client).await?;
    let mut contacts = Contacts::load(&v.contacts_path)?;
    let reported = super::sharing::public_key(&v, user).await?;
    let fp = fingerprint_text(&reported.public_key);
    let before = contacts.check(&v.server, &reported.username, &reported.public_key);
    if let KeyCheck::Changed { pinned, .. } = &before {
        println!("The pinned key was\n    {pinned}");
    }
    println!(
        "{}'s key, as the server reports it:\n    {fp}",
        reported.username
    );
    if let Some(given) = &a.fingerprint {
        if !fingerprint_matches(&reported.public_key, given)? {
            return Err(crate::exit::Problem::of(
                crate::exit::Failure::Integrity,
                format!(
                    "FINGERPRINTS DIFFER: the key the server reports for {0} has the \
                 fingerprint\n    {fp}\nnot the one you were given\n    {1}\n\
                 Either the fingerprint was mistyped or read out wrong, or the server is \
                 handing out a key that is not {0}'s. Nothing was pinned; do not share with \
                 {0} until the fingerprints agree.",
                    reported.username,
                    given.trim()
                ),
            ));
        }
        println!("The fingerprint you were given matches.");
    } else if !a.yes {
        if !std::io::stdin().is_terminal() {
            bail!("not a terminal: compare the fingerprint, then run again with --yes");
        }
        let answer = crate::prompt::line(&format!(
            "Does {} see exactly this on their side (`cofre contacts show`)? [y/N] ",
            reported.username
        ))?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            bail!("not verified: nothing changed");
        }
    }
    contacts.verify(&v.server, &reported.username, &reported.public_key);
    contacts.save()?;
    println!("{} verified.", reported.username);
    Ok(())
}
