//! Key rotation on the client: a new RSA key pair (sealed under the same user key),
//! every item key the account holds re-wrapped for it, every share it made re-signed
//! with it, then the old pair retired. No item body is re-encrypted. Interrupted, it
//! resumes: the pending pair is kept on the server and finished work is skipped.
//!
//! Shares survive both sides' rotations (docs/FORMAT.md 9.10). A share received is
//! re-wrapped with a statement signed by the new key, binding the wrapped key its owner
//! signed to the new one; a share made is re-signed over the wrapped key its recipient
//! was first given, after checking that the old key signed it (so a wrapped key the
//! server made up is never endorsed).

use cofre_api::SecretString;
use cofre_api::rotation::{
    OutgoingPage, OutgoingShare, PendingKeyPair, Resigned, RewrapBatch, Rewrapped, RewrappedShare,
    RotationDone, RotationStatus,
};
use cofre_api::vault::Item;
use cofre_core::format::{Signature, WrappedKey};
use cofre_core::keys::{AccountKeys, ItemKey, UnlockedKeys};
use rayon::prelude::*;
use reqwest::Method;

use crate::Client;
use crate::error::{ClientError, Result};
use crate::vault::Progress;

/// Entries per rewrap request.
const BATCH: usize = 400;
/// Rounds of re-wrapping before giving up (items keep arriving, or some cannot be
/// re-wrapped).
const ROUNDS: usize = 4;

/// What a finished rotation leaves.
pub struct Rotated {
    /// The account's key material with the new pair.
    pub account_keys: AccountKeys,
    /// The unlocked keys with the new private key.
    pub keys: UnlockedKeys,
    /// Item keys re-wrapped and shares re-signed.
    pub rewrapped: usize,
}

enum Work {
    Own(Rewrapped),
    Received(RewrappedShare),
    Signature(Resigned),
}

/// Re-wraps a share the account received for the `new` key pair, with the re-wrap
/// statement (FORMAT.md 9.10); `None` when it is on the new key already. Checked first:
/// the owner's signature must be a signature; a share re-wrapped before must carry a
/// statement that verifies under the `old` key (the account's current one) over the
/// wrapped key the owner signed and the one served now; one never re-wrapped must not
/// claim a signed key. An `Err` names the item.
fn rewrap_received(
    item: &Item,
    me: &str,
    old: &UnlockedKeys,
    new: &UnlockedKeys,
) -> Option<std::result::Result<RewrappedShare, String>> {
    let current = match WrappedKey::from_text(&item.wrapped_key) {
        Ok(w) if w.recipient_key_id() == new.public_key().key_id() => return None,
        Ok(w) => w,
        Err(_) => return Some(Err(item.id.clone())),
    };
    let done = (|| -> std::result::Result<RewrappedShare, cofre_core::Error> {
        Signature::from_text(item.signature.as_deref().unwrap_or_default())?;
        let original = match (&item.signed_wrapped_key, &item.rewrap_signature) {
            (Some(original), Some(statement)) => {
                let original = WrappedKey::from_text(original)?;
                cofre_core::vault::verify_share_rewrap(
                    &Signature::from_text(statement)?,
                    old.public_key(),
                    &item.id,
                    &item.owner,
                    me,
                    &original,
                    &current,
                )?;
                original
            }
            (None, None) => current.clone(),
            _ => return Err(cofre_core::Error::BadSignature),
        };
        let wrapped_key = ItemKey::unwrap(&current, old.private_key(), &item.id)?
            .wrap_for(&[new.public_key()], &item.id)?
            .pop()
            .ok_or(cofre_core::Error::Usage("no wrapped key"))?;
        let rewrap_signature = cofre_core::vault::sign_share_rewrap(
            new.private_key(),
            &item.id,
            &item.owner,
            me,
            &original,
            &wrapped_key,
        )?;
        Ok(RewrappedShare {
            item_id: item.id.clone(),
            wrapped_key,
            rewrap_signature,
        })
    })();
    Some(done.map_err(|_| item.id.clone()))
}

/// Re-signs a share the account made with the `new` key, over the wrapped key its
/// signature covers, after checking that the `old` key (the account's current one)
/// made that signature; `None` when it is signed by the new key already. An `Err`
/// names the item.
fn resign_outgoing(
    share: &OutgoingShare,
    me: &str,
    old: &UnlockedKeys,
    new: &UnlockedKeys,
) -> Option<std::result::Result<Resigned, String>> {
    let existing = match Signature::from_text(&share.signature) {
        Ok(s) if s.signer_key_id() == new.public_key().key_id() => return None,
        Ok(s) => s,
        Err(_) => return Some(Err(share.item_id.clone())),
    };
    let done = WrappedKey::from_text(&share.wrapped_key).and_then(|w| {
        cofre_core::vault::verify_share(
            &existing,
            old.public_key(),
            &share.item_id,
            me,
            &share.recipient,
            &w,
        )?;
        cofre_core::vault::sign_share(new.private_key(), &share.item_id, me, &share.recipient, &w)
    });
    Some(
        done.map(|signature| Resigned {
            item_id: share.item_id.clone(),
            recipient: share.recipient.clone(),
            signature,
        })
        .map_err(|_| share.item_id.clone()),
    )
}

impl Client {
    async fn outgoing_shares(&self, access: &SecretString) -> Result<Vec<OutgoingShare>> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut path = "/account/shares-out?limit=1000".to_owned();
            if let Some(a) = &after {
                path.push_str("&after=");
                path.push_str(a);
            }
            let page: OutgoingPage = self
                .call::<(), _>(Method::GET, &path, Some(access), None)
                .await?;
            all.extend(page.shares);
            match page.next {
                Some(n) => after = Some(n),
                None => return Ok(all),
            }
        }
    }

    /// Rotates the account's key pair (or resumes a rotation in progress). `me` is the
    /// account's username (it is in the share signatures). Other sessions end.
    pub async fn rotate_keys(
        &self,
        access: &SecretString,
        keys: &UnlockedKeys,
        account: &AccountKeys,
        me: &str,
        progress: Progress<'_>,
    ) -> Result<Rotated> {
        let st: RotationStatus = self
            .call::<(), _>(Method::GET, "/account/rotation", Some(access), None)
            .await?;
        let new = match st.pending {
            Some(p) => {
                let mut a = account.clone();
                a.public_key = p.public_key;
                a.protected_private_key = p.protected_private_key;
                UnlockedKeys::from_user_key(keys.user_key().clone(), &a)?
            }
            None => {
                let (public_key, protected_private_key, unlocked) = keys.new_key_pair()?;
                let req = PendingKeyPair {
                    public_key,
                    protected_private_key,
                };
                self.call_empty(Method::POST, "/account/rotation", Some(access), Some(&req))
                    .await?;
                unlocked
            }
        };
        let new_id = new.public_key().key_id();
        let mut rewrapped = 0;
        for _ in 0..ROUNDS {
            let own = self.raw_pages(access, "/items").await?;
            let received = self.raw_pages(access, "/shared").await?;
            let outgoing = self.outgoing_shares(access).await?;
            let mut failed = Vec::new();
            let rewrap = |item: &Item| -> Option<std::result::Result<Rewrapped, String>> {
                let w = match WrappedKey::from_text(&item.wrapped_key) {
                    Ok(w) if w.recipient_key_id() == new_id => return None,
                    Ok(w) => w,
                    Err(_) => return Some(Err(item.id.clone())),
                };
                let done = ItemKey::unwrap(&w, keys.private_key(), &item.id)
                    .and_then(|k| k.wrap_for(&[new.public_key()], &item.id))
                    .ok()
                    .and_then(|mut v| v.pop());
                Some(
                    done.map(|wrapped_key| Rewrapped {
                        item_id: item.id.clone(),
                        wrapped_key,
                    })
                    .ok_or_else(|| item.id.clone()),
                )
            };
            // RSA on all cores.
            let mut work: Vec<Work> = Vec::new();
            let results: Vec<_> = own.par_iter().filter_map(rewrap).collect();
            for r in results {
                match r {
                    Ok(r) => work.push(Work::Own(r)),
                    Err(id) => failed.push(id),
                }
            }
            let results: Vec<_> = received
                .par_iter()
                .filter_map(|i| rewrap_received(i, me, keys, &new))
                .collect();
            for r in results {
                match r {
                    Ok(r) => work.push(Work::Received(r)),
                    Err(id) => failed.push(id),
                }
            }
            let signed: Vec<_> = outgoing
                .par_iter()
                .filter_map(|o| resign_outgoing(o, me, keys, &new))
                .collect();
            for s in signed {
                match s {
                    Ok(s) => work.push(Work::Signature(s)),
                    Err(id) => failed.push(id),
                }
            }
            let total = work.len() as u64;
            let mut done = 0u64;
            let mut batch = RewrapBatch::default();
            let mut iter = work.into_iter().peekable();
            while let Some(w) = iter.next() {
                match w {
                    Work::Own(r) => batch.items.push(r),
                    Work::Received(r) => batch.received.push(r),
                    Work::Signature(s) => batch.signatures.push(s),
                }
                let n = batch.items.len() + batch.received.len() + batch.signatures.len();
                if n == BATCH || iter.peek().is_none() {
                    self.call_empty(
                        Method::PUT,
                        "/account/rotation/rewrap",
                        Some(access),
                        Some(&batch),
                    )
                    .await?;
                    done += n as u64;
                    rewrapped += n;
                    progress(done, total);
                    batch = RewrapBatch::default();
                }
            }
            match self
                .call::<(), RotationDone>(
                    Method::POST,
                    "/account/rotation/finish",
                    Some(access),
                    None,
                )
                .await
            {
                Ok(d) => {
                    return Ok(Rotated {
                        account_keys: d.keys,
                        keys: new,
                        rewrapped,
                    });
                }
                Err(e) if e.code() == Some(cofre_api::ErrorCode::Conflict) && failed.is_empty() => {
                    // New items arrived meanwhile: another round.
                }
                Err(e) if e.code() == Some(cofre_api::ErrorCode::Conflict) => {
                    failed.sort();
                    failed.dedup();
                    return Err(ClientError::Usage(format!(
                        "{} item(s) could not be re-wrapped or re-signed (damaged, not for this \
                         key, or a share not signed by it): {}; the rotation stays pending — \
                         delete, unshare or hide them (items shared with you), then run it \
                         again",
                        failed.len(),
                        failed.join(", ")
                    )));
                }
                Err(e) => return Err(e),
            }
        }
        Err(ClientError::Usage(
            "items keep arriving faster than the rotation re-wraps them: run it again".into(),
        ))
    }
}
