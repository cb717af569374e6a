//! `cofre send`, `share`, `unshare`, `shares`, `inbox`, `inbox hide`: sharing items,
//! with every contact's key pinned on first use and every share's signature checked
//! against the pinned key.

use anyhow::{Context as _, bail};
use cofre_client::api::ErrorCode;
use cofre_client::api::vault::UserPublicKey;
use cofre_client::contacts::{Contacts, KeyCheck};
use cofre_client::core::keys::PublicKey;
use cofre_client::core::vault::ItemKind;
use cofre_client::vault::{NewItem, Source, VaultItem, verify_share};

use super::vault::{Vault, open, print_items, resolve, store};
use crate::cli::{ItemArgs, LsArgs, SendArgs, ShareArgs, SharesArgs};
use crate::exit::Problem;

/// The server's report of `user`'s public key; a user that does not exist is said so
/// plainly.
pub(crate) async fn public_key(v: &Vault, user: &str) -> anyhow::Result<UserPublicKey> {
    match v.client.public_key(&v.token, user).await {
        Err(e) if e.code() == Some(ErrorCode::NotFound) => Err(Problem::not_found(format!(
            "there is no user named {user:?} on this server: check the spelling"
        ))),
        other => Ok(other?),
    }
}

/// The server's key for `user`, checked against the pinned one: pinned on first use
/// (with a note to compare fingerprints), refused loudly if it changed.
pub(crate) async fn checked_key(
    v: &Vault,
    contacts: &mut Contacts,
    user: &str,
) -> anyhow::Result<UserPublicKey> {
    let k = public_key(v, user).await?;
    match contacts.check(&v.server, &k.username, &k.public_key) {
        KeyCheck::Known { .. } => {}
        KeyCheck::FirstUse { fingerprint } => {
            contacts.save()?;
            eprintln!(
                "First time with {u}: pinned their key, fingerprint\n    {fingerprint}\n\
                 Compare it with what `cofre contacts show` prints on {u}'s side (in person or \
                 on a call), then run `cofre contacts verify {u}`.",
                u = k.username
            );
        }
        KeyCheck::Changed { pinned, reported } => bail!(
            "WARNING: the public key of {u} has CHANGED.\n  pinned:   {pinned}\n  \
             reported: {reported}\nEither {u} got new keys, or the server is trying to read \
             what you share. Nothing was done. Check the new fingerprint with {u} over another \
             channel, then run `cofre contacts verify {u}`.",
            u = k.username
        ),
    }
    Ok(k)
}

/// The owner's pinned key (pinning it on first use); an error if the server now
/// reports another key.
async fn owner_key(v: &Vault, contacts: &mut Contacts, owner: &str) -> anyhow::Result<PublicKey> {
    Ok(checked_key(v, contacts, owner).await?.public_key)
}

/// The inbox, each item with whether its sender's key is verified; items whose share
/// does not verify (or whose sender's key changed) are left out and described in the
/// returned warnings.
pub(crate) async fn trusted_inbox(
    v: &Vault,
) -> anyhow::Result<(Vec<(VaultItem, bool)>, Vec<String>)> {
    let inbox = v.client.shared_with_me(&v.token, &v.keys).await?;
    if inbox.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let mut contacts = Contacts::load(&v.contacts_path)?;
    let mut good = Vec::new();
    let mut warnings = Vec::new();
    // One key lookup per sender, not per item.
    let mut keys: std::collections::HashMap<String, Result<PublicKey, String>> =
        std::collections::HashMap::new();
    for item in inbox {
        if !keys.contains_key(&item.owner) {
            let k = owner_key(v, &mut contacts, &item.owner)
                .await
                .map_err(|e| e.to_string());
            keys.insert(item.owner.clone(), k);
        }
        let key = match keys.get(&item.owner) {
            Some(Ok(k)) => k.clone(),
            Some(Err(e)) => {
                warnings.push(format!("item {} from {}: {e}", item.id, item.owner));
                continue;
            }
            None => continue,
        };
        match verify_share(&item, &v.username, &v.keys, &key) {
            Ok(()) => {
                let verified = contacts
                    .get(&v.server, &item.owner)
                    .is_some_and(|c| c.verified);
                good.push((item, verified));
            }
            Err(e) => warnings.push(format!("{e}")),
        }
    }
    Ok((good, warnings))
}

/// `cofre send USER FILE|-|--note TEXT`.
pub async fn send(a: SendArgs) -> anyhow::Result<()> {
    let v = open(&a.client).await?;
    let mut contacts = Contacts::load(&v.contacts_path)?;
    // Check the recipient's key before anything is uploaded.
    let recipient = checked_key(&v, &mut contacts, &a.user).await?;
    if recipient.username == v.username {
        bail!("that is you: use `cofre put` or `cofre note`");
    }
    let item = match (&a.note, &a.path) {
        (Some(text), _) => {
            let name = a.name.clone().unwrap_or_else(|| {
                text.lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("note")
                    .trim()
                    .chars()
                    .take(60)
                    .collect()
            });
            let new = NewItem {
                kind: ItemKind::Note,
                name,
                content_type: "text/plain; charset=utf-8".into(),
            };
            store(&v, new, Source::Bytes(text.clone().into_bytes()), None).await?
        }
        (None, Some(path)) if path.as_os_str() == "-" => {
            let new = NewItem {
                kind: ItemKind::File,
                name: a.name.clone().unwrap_or_else(|| "stdin".into()),
                content_type: "application/octet-stream".into(),
            };
            store(&v, new, Source::Unsized(Box::new(std::io::stdin())), None).await?
        }
        (None, Some(path)) => {
            let file =
                std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
            let len = file.metadata()?.len();
            let name = match &a.name {
                Some(n) => n.clone(),
                None => path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .context("the file name is not valid UTF-8: give one with --name")?
                    .to_owned(),
            };
            let new = NewItem {
                kind: ItemKind::File,
                name,
                content_type: "application/octet-stream".into(),
            };
            store(&v, new, Source::Sized(Box::new(file), len), None).await?
        }
        (None, None) => bail!("what to send? a FILE, `-`, or --note TEXT"),
    };
    v.client
        .share(&v.token, &v.keys, &v.username, &item, &recipient)
        .await?;
    println!("Sent {} to {}.", item.id, recipient.username);
    Ok(())
}

/// `cofre share ITEM USER`.
pub async fn share(a: ShareArgs) -> anyhow::Result<()> {
    let v = open(&a.client).await?;
    let items = super::vault::own_items(&v).await?;
    let item = &resolve(&items, &a.item)?.open(&v.keys);
    let mut contacts = Contacts::load(&v.contacts_path)?;
    let recipient = checked_key(&v, &mut contacts, &a.user).await?;
    v.client
        .share(&v.token, &v.keys, &v.username, item, &recipient)
        .await?;
    println!("Shared {} with {}.", item.id, recipient.username);
    Ok(())
}

/// `cofre unshare ITEM USER`.
pub async fn unshare(a: ShareArgs) -> anyhow::Result<()> {
    let v = open(&a.client).await?;
    let items = super::vault::own_items(&v).await?;
    let item = resolve(&items, &a.item)?;
    let user = cofre_client::api::Username::parse(&a.user)
        .map_err(|e| anyhow::anyhow!("{:?}: {e}", a.user))?;
    v.client.unshare(&v.token, &item.id, user.as_str()).await?;
    println!(
        "{} no longer has access to {}. (Anything they already downloaded stays with them.)",
        user.as_str(),
        item.id
    );
    Ok(())
}

/// `cofre inbox`.
pub async fn inbox(a: LsArgs) -> anyhow::Result<()> {
    let v = open(&a.client).await?;
    let (items, warnings) = trusted_inbox(&v).await?;
    let unverified: Vec<String> = items
        .iter()
        .filter(|(_, verified)| !verified)
        .map(|(i, _)| i.owner.clone())
        .collect();
    let items: Vec<VaultItem> = items.into_iter().map(|(i, _)| i).collect();
    print_items(&v, &items, a.json, "Nothing shared with you yet.")?;
    if !a.json && !unverified.is_empty() {
        let mut names = unverified;
        names.sort_unstable();
        names.dedup();
        eprintln!(
            "note: signatures checked against keys pinned on first use; not yet verified in \
             person: {} (`cofre contacts verify USER`)",
            names.join(", ")
        );
    }
    for w in warnings {
        eprintln!("warning: {w}");
    }
    Ok(())
}

/// `cofre inbox hide ITEM`: ITEM is an id or id prefix of anything in the inbox, or the
/// name of an item whose share verified (a name the owner did not sign for is not
/// trusted to pick an item).
pub async fn hide(a: ItemArgs) -> anyhow::Result<()> {
    let v = open(&a.client).await?;
    let (trusted, _) = trusted_inbox(&v).await?;
    let trusted: Vec<VaultItem> = trusted.into_iter().map(|(i, _)| i).collect();
    let id = match resolve(&trusted, &a.item) {
        Ok(item) => item.id.clone(),
        Err(e) => {
            let all = v.client.shared_with_me(&v.token, &v.keys).await?;
            let q = a.item.to_ascii_lowercase();
            let by_id: Vec<&VaultItem> = all
                .iter()
                .filter(|i| i.id == q || (q.len() >= 4 && i.id.starts_with(&q)))
                .collect();
            match by_id.as_slice() {
                [one] => one.id.clone(),
                [] => return Err(e.context("not in your inbox (see `cofre inbox`)")),
                many => bail!(
                    "{:?} matches {} items; use one of their ids:\n  {}",
                    a.item,
                    many.len(),
                    many.iter()
                        .map(|i| i.id.as_str())
                        .collect::<Vec<_>>()
                        .join("\n  ")
                ),
            }
        }
    };
    v.client.hide_shared(&v.token, &id).await?;
    println!("Hidden {id}: it is no longer in your inbox (its owner can share it again).");
    Ok(())
}

/// `cofre shares ITEM [--json]`: who has access to an item of yours.
pub async fn shares(a: SharesArgs) -> anyhow::Result<()> {
    let v = open(&a.client).await?;
    let items = super::vault::own_items(&v).await?;
    let item = resolve(&items, &a.item)?;
    let shares = v.client.shares(&v.token, &item.id).await?;
    if a.json {
        let rows: Vec<serde_json::Value> = shares
            .iter()
            .map(|s| serde_json::json!({"recipient": s.recipient, "shared_at": s.created_at}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if shares.is_empty() {
        println!("{} is shared with nobody.", item.id);
        return Ok(());
    }
    println!("{:<32}  SHARED (UTC)", "RECIPIENT");
    for s in &shares {
        println!("{:<32}  {}", s.recipient, super::vault::date(s.created_at));
    }
    Ok(())
}
