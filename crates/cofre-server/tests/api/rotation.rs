//! Key rotation: every item key re-wrapped (own and received), every share re-signed,
//! no body re-encrypted, the old key retired; resuming an interrupted rotation; the
//! server refusing half-done or wrong work; received shares that survive the
//! recipient's rotations (FORMAT.md 9.10) while a server substituting any part of them
//! is caught; and a recipient hiding a share.

use cofre_api::ErrorCode;
use cofre_api::rotation::{PendingKeyPair, RewrapBatch, Rewrapped, RewrappedShare};
use cofre_client::ClientError;
use cofre_client::client::LoggedIn;
use cofre_client::vault::{NewItem, Source, verify_share};
use cofre_core::format::{Signature, WrappedKey};
use cofre_core::keys::ItemKey;
use cofre_core::vault::ItemKind;

use crate::support::*;

fn no_progress(_: u64, _: u64) {}

async fn user(s: &TestServer, name: &str) -> LoggedIn {
    register(s, name).await;
    login(s, name).await
}

fn note(name: &str) -> NewItem {
    NewItem {
        kind: ItemKind::Note,
        name: name.into(),
        content_type: "text/plain".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_rewraps_everything_and_retires_the_old_key() {
    let s = start(|_| {}).await;
    let alice = user(&s, "alice").await;
    let bob = user(&s, "bob").await;
    let (ta, tb) = (&alice.tokens.access_token, &bob.tokens.access_token);
    let mut own = Vec::new();
    for i in 0..5 {
        own.push(
            s.client
                .upload(
                    ta,
                    &alice.keys,
                    note(&format!("n{i}")),
                    Source::Bytes(vec![i; 70_000]),
                    &no_progress,
                )
                .await
                .unwrap(),
        );
    }
    let bob_key = s.client.public_key(ta, "bob").await.unwrap();
    s.client
        .share(ta, &alice.keys, "alice", &own[0], &bob_key)
        .await
        .unwrap();
    let from_bob = s
        .client
        .upload(
            tb,
            &bob.keys,
            note("from bob"),
            Source::Bytes(b"hi alice".to_vec()),
            &no_progress,
        )
        .await
        .unwrap();
    let alice_key = s.client.public_key(tb, "alice").await.unwrap();
    s.client
        .share(tb, &bob.keys, "bob", &from_bob, &alice_key)
        .await
        .unwrap();
    let blob = |id: &str| std::fs::read(s.data.join("blobs").join(&id[..2]).join(id)).unwrap();
    let bodies_before: Vec<Vec<u8>> = own.iter().map(|i| blob(&i.id)).collect();
    // A second session of alice's, which the rotation ends.
    let other = login(&s, "alice").await;

    let seen = std::sync::Mutex::new(0u64);
    let progress = |d: u64, _: u64| *seen.lock().unwrap() = d;
    let rotated = s
        .client
        .rotate_keys(ta, &alice.keys, &alice.account_keys, "alice", &progress)
        .await
        .unwrap();
    // 5 own + 1 received + 1 outgoing signature.
    assert_eq!(rotated.rewrapped, 7);
    assert_eq!(*seen.lock().unwrap(), 7);
    assert!(rotated.keys.public_key() != alice.keys.public_key());
    assert!(rotated.account_keys.public_key == *rotated.keys.public_key());

    // Everything opens with the new key, nothing with the old; no body changed.
    let items = s.client.items(ta, &rotated.keys).await.unwrap();
    assert_eq!(items.len(), 5);
    assert!(items.iter().all(|i| i.opened.is_ok()));
    assert!(
        s.client
            .items(ta, &alice.keys)
            .await
            .unwrap()
            .iter()
            .all(|i| i.opened.is_err())
    );
    let after: Vec<Vec<u8>> = own.iter().map(|i| blob(&i.id)).collect();
    assert_eq!(after, bodies_before, "no body was re-encrypted");
    let inbox = s.client.shared_with_me(ta, &rotated.keys).await.unwrap();
    assert_eq!(inbox.len(), 1);
    // The share alice received still verifies, through her statement of the re-wrap.
    verify_share(&inbox[0], "alice", &rotated.keys, bob.keys.public_key()).unwrap();
    let mut out = Vec::new();
    s.client
        .download(ta, &inbox[0], &mut out, &no_progress)
        .await
        .unwrap();
    assert_eq!(out, b"hi alice");
    // Bob's copy of alice's share: signed with the new key now, not the old.
    let bob_inbox = s.client.shared_with_me(tb, &bob.keys).await.unwrap();
    verify_share(&bob_inbox[0], "bob", &bob.keys, rotated.keys.public_key()).unwrap();
    assert!(verify_share(&bob_inbox[0], "bob", &bob.keys, alice.keys.public_key()).is_err());
    // The server publishes the new key; the password still unlocks (the user key did
    // not change); the other session is over.
    let published = s.client.public_key(tb, "alice").await.unwrap();
    assert!(published.public_key == *rotated.keys.public_key());
    let again = login(&s, "alice").await;
    assert!(again.keys.public_key() == rotated.keys.public_key());
    assert_eq!(
        api_code(
            &s.client
                .whoami(&other.tokens.access_token)
                .await
                .err()
                .unwrap()
        ),
        ErrorCode::Unauthorized
    );
    // A client still holding the old key cannot make items nobody could open.
    let stale = s
        .client
        .upload(
            ta,
            &alice.keys,
            note("stale"),
            Source::Bytes(b"x".to_vec()),
            &no_progress,
        )
        .await
        .err()
        .unwrap();
    assert_eq!(api_code(&stale), ErrorCode::BadRequest);
    assert_eq!(s.client.items(ta, &rotated.keys).await.unwrap().len(), 5);
    // Nothing pending any more.
    let (_, st) = get_raw(&s, "/account/rotation", again.tokens.access_token.expose()).await;
    assert!(st["pending"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_rotation_resumes_and_bad_work_is_refused() {
    let s = start(|_| {}).await;
    let carol = user(&s, "carol").await;
    let t = &carol.tokens.access_token;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            s.client
                .upload(
                    t,
                    &carol.keys,
                    note(&format!("c{i}")),
                    Source::Bytes(vec![i]),
                    &no_progress,
                )
                .await
                .unwrap(),
        );
    }
    let put = |path: &str, body: String| {
        let s = &s;
        let path = path.to_owned();
        async move {
            let r = s
                .http
                .put(s.url(&path))
                .bearer_auth(t.expose())
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let st = r.status().as_u16();
            (st, r.json::<serde_json::Value>().await.unwrap_or_default())
        }
    };
    // No rotation yet: rewrap and finish are conflicts.
    let (st, b) = put("/account/rotation/rewrap", "{}".into()).await;
    assert_eq!((st, code(&b)), (409, "conflict"));
    // Start one by hand, as an interrupted client would have.
    let (public_key, protected_private_key, new) = carol.keys.new_key_pair().unwrap();
    let start_body = serde_json::to_string(&PendingKeyPair {
        public_key: public_key.clone(),
        protected_private_key,
    })
    .unwrap();
    let (st, _, _) = post_raw(&s, "/account/rotation", Some(t.expose()), &start_body).await;
    assert_eq!(st, 201);
    let (st, _, b) = post_raw(&s, "/account/rotation", Some(t.expose()), &start_body).await;
    assert_eq!((st, code(&b)), (409, "conflict"), "one rotation at a time");
    // A key wrapped for the OLD key is refused; so is finishing with work left.
    let key0 = ItemKey::unwrap(
        &WrappedKey::from_text(&ids[0].wrapped_key).unwrap(),
        carol.keys.private_key(),
        &ids[0].id,
    )
    .unwrap();
    let old_wrap = key0
        .wrap_for(&[carol.keys.public_key()], &ids[0].id)
        .unwrap()
        .pop()
        .unwrap();
    let bad = RewrapBatch {
        items: vec![Rewrapped {
            item_id: ids[0].id.clone(),
            wrapped_key: old_wrap,
        }],
        ..RewrapBatch::default()
    };
    let (st, b) = put(
        "/account/rotation/rewrap",
        serde_json::to_string(&bad).unwrap(),
    )
    .await;
    assert_eq!((st, code(&b)), (400, "bad_request"));
    // One item done by hand, then the interruption.
    let good = RewrapBatch {
        items: vec![Rewrapped {
            item_id: ids[0].id.clone(),
            wrapped_key: key0
                .wrap_for(&[&public_key], &ids[0].id)
                .unwrap()
                .pop()
                .unwrap(),
        }],
        ..RewrapBatch::default()
    };
    let (st, _) = put(
        "/account/rotation/rewrap",
        serde_json::to_string(&good).unwrap(),
    )
    .await;
    assert_eq!(st, 204);
    let (st, _, b) = post_raw(&s, "/account/rotation/finish", Some(t.expose()), "").await;
    assert_eq!((st, code(&b)), (409, "conflict"), "{b}");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("2 item key"),
        "{b}"
    );

    // The client resumes with the pending pair and does only what is left.
    let rotated = s
        .client
        .rotate_keys(t, &carol.keys, &carol.account_keys, "carol", &no_progress)
        .await
        .unwrap();
    assert_eq!(rotated.rewrapped, 2);
    assert!(rotated.keys.public_key() == new.public_key());
    let items = s.client.items(t, &rotated.keys).await.unwrap();
    assert!(items.iter().all(|i| i.opened.is_ok()) && items.len() == 3);
}

/// Bob's share of `id` as `GET /shared` serves it.
async fn shared_entry(
    s: &TestServer,
    token: &cofre_api::SecretString,
    id: &str,
) -> serde_json::Value {
    let (_, page) = get_raw(s, "/shared", token.expose()).await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("{id} in {page}"))
}

/// A re-wrap statement must cover the wrapped key the owner signs as stored when it
/// arrives: one made before the owner shared the item again (a race between the
/// owner's share and the recipient's rotation), or one over another key, is not
/// recorded, and the share stays on the recipient's old key for the rotation's next
/// round, which then gets it right.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_or_wrong_rewrap_statement_is_not_recorded() {
    let s = start(|_| {}).await;
    let alice = user(&s, "alice").await;
    let bob = user(&s, "bob").await;
    let (ta, tb) = (&alice.tokens.access_token, &bob.tokens.access_token);
    let bob_key = s.client.public_key(ta, "bob").await.unwrap();
    let item = s
        .client
        .upload(
            ta,
            &alice.keys,
            note("n"),
            Source::Bytes(b"hello bob".to_vec()),
            &no_progress,
        )
        .await
        .unwrap();
    s.client
        .share(ta, &alice.keys, "alice", &item, &bob_key)
        .await
        .unwrap();
    // Bob's rotation, started by hand, prepares the re-wrap of the share he holds.
    let (public_key, protected_private_key, new) = bob.keys.new_key_pair().unwrap();
    let body = serde_json::to_string(&PendingKeyPair {
        public_key,
        protected_private_key,
    })
    .unwrap();
    let (st, _, _) = post_raw(&s, "/account/rotation", Some(tb.expose()), &body).await;
    assert_eq!(st, 201);
    let w0_text = shared_entry(&s, tb, &item.id).await["wrapped_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let w0 = WrappedKey::from_text(&w0_text).unwrap();
    let key = ItemKey::unwrap(&w0, bob.keys.private_key(), &item.id).unwrap();
    let w1 = key
        .wrap_for(&[new.public_key()], &item.id)
        .unwrap()
        .pop()
        .unwrap();
    let sign = |original: &WrappedKey| {
        cofre_core::vault::sign_share_rewrap(
            new.private_key(),
            &item.id,
            "alice",
            "bob",
            original,
            &w1,
        )
        .unwrap()
    };
    let send = |statement: Signature| {
        let batch = RewrapBatch {
            received: vec![RewrappedShare {
                item_id: item.id.clone(),
                wrapped_key: w1.clone(),
                rewrap_signature: statement,
            }],
            ..RewrapBatch::default()
        };
        let s = &s;
        async move {
            s.http
                .put(s.url("/account/rotation/rewrap"))
                .bearer_auth(tb.expose())
                .json(&batch)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // By the pending key, but over another original: not recorded.
    assert_eq!(send(sign(&w1)).await, 204);
    let e = shared_entry(&s, tb, &item.id).await;
    assert_eq!(e["wrapped_key"], w0_text.as_str(), "{e}");
    assert!(e["rewrap_signature"].is_null(), "{e}");

    // Alice shares the item with bob again (a new wrap, a new signature) before bob's
    // statement over the first wrap arrives: it is stale, and not recorded.
    let statement = sign(&w0);
    s.client
        .share(ta, &alice.keys, "alice", &item, &bob_key)
        .await
        .unwrap();
    let again = shared_entry(&s, tb, &item.id).await["wrapped_key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(again, w0_text);
    assert_eq!(send(statement).await, 204);
    let e = shared_entry(&s, tb, &item.id).await;
    assert_eq!(e["wrapped_key"], again.as_str(), "{e}");
    assert!(
        e["rewrap_signature"].is_null() && e["signed_wrapped_key"].is_null(),
        "{e}"
    );

    // The rotation, resumed by the client, re-wraps what alice signs now: the share
    // verifies and opens under bob's new key.
    let rotated = s
        .client
        .rotate_keys(tb, &bob.keys, &bob.account_keys, "bob", &no_progress)
        .await
        .unwrap();
    let it = s.client.item(tb, &rotated.keys, &item.id).await.unwrap();
    verify_share(&it, "bob", &rotated.keys, alice.keys.public_key()).unwrap();
    let mut out = Vec::new();
    s.client
        .download(tb, &it, &mut out, &no_progress)
        .await
        .unwrap();
    assert_eq!(out, b"hello bob");
}

async fn sql(s: &TestServer, q: &str) {
    assert_eq!(s.state.store.raw_execute(q).await.unwrap(), 1, "{q}");
}

/// One column of bob's share of `id`, as `GET /shared` serves it.
async fn shared_field(
    s: &TestServer,
    token: &cofre_api::SecretString,
    id: &str,
    f: &str,
) -> String {
    let (_, page) = get_raw(s, "/shared", token.expose()).await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .and_then(|i| i[f].as_str())
        .unwrap_or_else(|| panic!("{f} of {id} in {page}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn received_shares_survive_the_recipients_rotations_and_tampering_is_caught() {
    let s = start(|_| {}).await;
    let alice = user(&s, "alice").await;
    let bob = user(&s, "bob").await;
    let carol = user(&s, "carol").await;
    let (ta, tb) = (&alice.tokens.access_token, &bob.tokens.access_token);
    let bob_key = s.client.public_key(ta, "bob").await.unwrap();
    let mut ids = Vec::new();
    for i in 0..4u8 {
        let item = s
            .client
            .upload(
                ta,
                &alice.keys,
                note(&format!("for bob {i}")),
                Source::Bytes(vec![i; 1000 + usize::from(i)]),
                &no_progress,
            )
            .await
            .unwrap();
        s.client
            .share(ta, &alice.keys, "alice", &item, &bob_key)
            .await
            .unwrap();
        ids.push(item.id);
    }
    let alice_pub = alice.keys.public_key().clone();
    // Before bob rotates, the server hands bob a wrapped key of its own making for the
    // last share (wrapped for bob's key: anyone can do that).
    let forged_key = ItemKey::generate().unwrap();
    let forged = forged_key
        .wrap_for(&[bob.keys.public_key()], &ids[3])
        .unwrap()
        .pop()
        .unwrap();
    sql(
        &s,
        &format!(
            "UPDATE item_shares SET wrapped_key = '{}' WHERE item_id = '{}'",
            forged.to_text(),
            ids[3]
        ),
    )
    .await;

    // Bob rotates: every share he received is still in his inbox, verified, and opens.
    let r1 = s
        .client
        .rotate_keys(tb, &bob.keys, &bob.account_keys, "bob", &no_progress)
        .await
        .unwrap();
    let inbox = check_inbox(&s, tb, &ids, &r1.keys, &alice_pub).await;
    let first = inbox.iter().find(|x| x.id == ids[0]).unwrap();
    assert!(first.signed_wrapped_key.is_some() && first.rewrap_signature.is_some());
    let original = shared_field(&s, tb, &ids[0], "signed_wrapped_key").await;

    // The server substitutes a part of a re-wrapped share: each is caught.
    let w1 = shared_field(&s, tb, &ids[1], "wrapped_key").await;
    let sw1 = shared_field(&s, tb, &ids[1], "signed_wrapped_key").await;
    let rw1 = shared_field(&s, tb, &ids[1], "rewrap_signature").await;
    let own_make = forged_key
        .wrap_for(&[r1.keys.public_key()], &ids[0])
        .unwrap()
        .pop()
        .unwrap()
        .to_text();
    let fresh_original = {
        let k = ItemKey::unwrap(
            &WrappedKey::from_text(&first.wrapped_key).unwrap(),
            r1.keys.private_key(),
            &ids[0],
        )
        .unwrap();
        k.wrap_for(&[bob.keys.public_key()], &ids[0])
            .unwrap()
            .pop()
            .unwrap()
            .to_text()
    };
    let current = shared_field(&s, tb, &ids[0], "wrapped_key").await;
    let statement = shared_field(&s, tb, &ids[0], "rewrap_signature").await;
    for (what, set) in [
        (
            "a wrapped key of the server's",
            format!("wrapped_key = '{own_make}'"),
        ),
        (
            "another share's wrapped key",
            format!("wrapped_key = '{w1}'"),
        ),
        (
            "another share's re-wrap signature",
            format!("rewrap_signature = '{rw1}'"),
        ),
        (
            "another share's signed key",
            format!("signed_wrapped_key = '{sw1}'"),
        ),
        (
            "another wrap of the same key as the signed one",
            format!("signed_wrapped_key = '{fresh_original}'"),
        ),
        (
            "the current key claimed as the signed one",
            format!("signed_wrapped_key = '{current}'"),
        ),
        (
            "no re-wrap record",
            "signed_wrapped_key = NULL, rewrap_signature = NULL".to_owned(),
        ),
        (
            "half a re-wrap record",
            "rewrap_signature = NULL".to_owned(),
        ),
    ] {
        sql(
            &s,
            &format!("UPDATE item_shares SET {set} WHERE item_id = '{}'", ids[0]),
        )
        .await;
        let inbox = s.client.shared_with_me(tb, &r1.keys).await.unwrap();
        let item = inbox.iter().find(|x| x.id == ids[0]).unwrap();
        let err = verify_share(item, "bob", &r1.keys, &alice_pub).unwrap_err();
        assert!(
            matches!(&err, ClientError::Integrity { item, .. } if *item == ids[0]),
            "{what}: {err}"
        );
        sql(
            &s,
            &format!(
                "UPDATE item_shares SET wrapped_key = '{current}', \
                 signed_wrapped_key = '{original}', rewrap_signature = '{statement}' \
                 WHERE item_id = '{}'",
                ids[0]
            ),
        )
        .await;
        let item = s.client.item(tb, &r1.keys, &ids[0]).await.unwrap();
        verify_share(&item, "bob", &r1.keys, &alice_pub).unwrap();
    }
    // Checked with bob's old key (or the server's word for his key), the statement
    // is not his.
    assert!(verify_share(first, "bob", &bob.keys, &alice_pub).is_err());

    // Bob rotates again: the original stays the original, and everything still opens.
    let r2 = s
        .client
        .rotate_keys(tb, &r1.keys, &r1.account_keys, "bob", &no_progress)
        .await
        .unwrap();
    assert_eq!(
        shared_field(&s, tb, &ids[0], "signed_wrapped_key").await,
        original
    );
    let inbox = check_inbox(&s, tb, &ids, &r2.keys, &alice_pub).await;
    let first = inbox.iter().find(|x| x.id == ids[0]).unwrap();
    assert!(verify_share(first, "bob", &r1.keys, &alice_pub).is_err());

    // Bob hides the share the server made up: it leaves his inbox, audited. Only the
    // recipient can hide a share, once.
    let tc = &carol.tokens.access_token;
    for t in [ta, tc] {
        let (st, b) = delete_raw(&s, &format!("/shared/{}", ids[0]), t).await;
        assert_eq!((st, code(&b)), (404, "not_found"));
    }
    s.client.hide_shared(tb, &ids[3]).await.unwrap();
    assert_eq!(
        api_code(&s.client.hide_shared(tb, &ids[3]).await.unwrap_err()),
        ErrorCode::NotFound
    );
    let (st, b) = delete_raw(&s, "/shared/not-an-id", tb).await;
    assert_eq!((st, code(&b)), (404, "not_found"));
    let inbox = s.client.shared_with_me(tb, &r2.keys).await.unwrap();
    assert_eq!(inbox.len(), 3);
    assert!(inbox.iter().all(|i| i.id != ids[3]));
    let hidden = s
        .state
        .store
        .audit_rows(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.event == "item.hide" && r.outcome == "ok")
        .count();
    assert_eq!(hidden, 1);
    // The owner's item itself is untouched.
    assert_eq!(s.client.items(ta, &alice.keys).await.unwrap().len(), 4);

    // The owner rotates after: she re-signs over the original key (which the server
    // hands her), after checking her old signature over it. A server that slips in a
    // wrapped key of its own making for her to sign is named, and nothing is signed.
    let genuine = shared_field(&s, tb, &ids[2], "signed_wrapped_key").await;
    sql(
        &s,
        &format!(
            "UPDATE item_shares SET signed_wrapped_key = '{own_make}' WHERE item_id = '{}'",
            ids[2]
        ),
    )
    .await;
    let err = s
        .client
        .rotate_keys(ta, &alice.keys, &alice.account_keys, "alice", &no_progress)
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains(&ids[2]), "{err}");
    let (_, out) = get_raw(&s, "/account/shares-out", ta.expose()).await;
    let theirs = out["shares"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["item_id"] == ids[2].as_str())
        .unwrap()
        .clone();
    assert!(
        Signature::from_text(theirs["signature"].as_str().unwrap())
            .unwrap()
            .signer_key_id()
            == alice_pub.key_id(),
        "the tampered share was not re-signed"
    );
    // Undone, the rotation resumes and finishes; bob's shares verify with her new key.
    sql(
        &s,
        &format!(
            "UPDATE item_shares SET signed_wrapped_key = '{genuine}' WHERE item_id = '{}'",
            ids[2]
        ),
    )
    .await;
    let ra = s
        .client
        .rotate_keys(ta, &alice.keys, &alice.account_keys, "alice", &no_progress)
        .await
        .unwrap();
    check3(&s, tb, &ids, &r2.keys, ra.keys.public_key()).await;
    let inbox = s.client.shared_with_me(tb, &r2.keys).await.unwrap();
    assert!(
        inbox
            .iter()
            .all(|i| verify_share(i, "bob", &r2.keys, &alice_pub).is_err()),
        "signed by her retired key no more"
    );
    s.stop().await;
}

/// Bob's inbox with `keys`: his first three shares verify with `owner` and open to their
/// bodies (one at a time and listed); the fourth, a wrapped key the server made up,
/// is caught.
async fn check_inbox(
    s: &TestServer,
    tb: &cofre_api::SecretString,
    ids: &[String],
    keys: &cofre_core::keys::UnlockedKeys,
    owner: &cofre_core::keys::PublicKey,
) -> Vec<cofre_client::vault::VaultItem> {
    let inbox = s.client.shared_with_me(tb, keys).await.unwrap();
    for id in ids.iter().take(3) {
        let item = inbox.iter().find(|x| x.id == *id).unwrap();
        verify_share(item, "bob", keys, owner).unwrap();
    }
    check3(s, tb, ids, keys, owner).await;
    let bad = inbox.iter().find(|x| x.id == ids[3]).unwrap();
    let err = verify_share(bad, "bob", keys, owner).unwrap_err();
    assert!(
        matches!(&err, ClientError::Integrity { item, .. } if *item == ids[3]),
        "{err}"
    );
    inbox
}

/// Bob's first three shares verify with `owner` and `keys` and open to their bodies.
async fn check3(
    s: &TestServer,
    tb: &cofre_api::SecretString,
    ids: &[String],
    keys: &cofre_core::keys::UnlockedKeys,
    owner: &cofre_core::keys::PublicKey,
) {
    for (i, id) in ids.iter().take(3).enumerate() {
        let item = s.client.item(tb, keys, id).await.unwrap();
        verify_share(&item, "bob", keys, owner).unwrap();
        let mut out = Vec::new();
        s.client
            .download(tb, &item, &mut out, &no_progress)
            .await
            .unwrap();
        assert_eq!(out, vec![i as u8; 1000 + i]);
    }
}

async fn delete_raw(
    s: &TestServer,
    path: &str,
    token: &cofre_api::SecretString,
) -> (u16, serde_json::Value) {
    let r = s
        .http
        .delete(s.url(path))
        .bearer_auth(token.expose())
        .send()
        .await
        .unwrap();
    let st = r.status().as_u16();
    (st, r.json().await.unwrap_or_default())
}
