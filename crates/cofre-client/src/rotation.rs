//! Key rotation on the client: a new RSA key pair (sealed under the same user key),
//! every item key the account holds re-wrapped for it, every share it made re-signed
//! with it, then the old pair retired. No item body is re-encrypted. Interrupted, it
//! resumes: the pending pair is kept on the server and finished work is skipped.

use cofre_api::SecretString;
use cofre_api::rotation::{
    OutgoingPage, OutgoingShare, PendingKeyPair, Resigned, RewrapBatch, Rewrapped, RotationDone,
    RotationStatus,
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
    Received(Rewrapped),
    Signature(Resigned),
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
            for (list, own_list) in [(&own, true), (&received, false)] {
                let results: Vec<_> = list.par_iter().filter_map(rewrap).collect();
                for r in results {
                    match r {
                        Ok(r) if own_list => work.push(Work::Own(r)),
                        Ok(r) => work.push(Work::Received(r)),
                        Err(id) => failed.push(id),
                    }
                }
            }
            let signed: Vec<_> = outgoing
                .par_iter()
                .filter(|o| {
                    Signature::from_text(&o.signature).map_or(true, |s| s.signer_key_id() != new_id)
                })
                .map(|o| {
                    WrappedKey::from_text(&o.wrapped_key)
                        .and_then(|w| {
                            cofre_core::vault::sign_share(
                                new.private_key(),
                                &o.item_id,
                                me,
                                &o.recipient,
                                &w,
                            )
                        })
                        .map(|signature| Resigned {
                            item_id: o.item_id.clone(),
                            recipient: o.recipient.clone(),
                            signature,
                        })
                        .map_err(|_| o.item_id.clone())
                })
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
                        "{} item(s) could not be re-wrapped (damaged or not for this key): {}; \
                         the rotation stays pending — delete or check them, then run it again",
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
