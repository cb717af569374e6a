//! Key rotation: every item key re-wrapped (own and received), every share re-signed,
//! no body re-encrypted, the old key retired; resuming an interrupted rotation; and
//! the server refusing half-done or wrong work.

use cofre_api::ErrorCode;
use cofre_api::rotation::{PendingKeyPair, RewrapBatch, Rewrapped};
use cofre_client::client::LoggedIn;
use cofre_client::vault::{NewItem, Source, verify_share};
use cofre_core::format::WrappedKey;
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
    let mut out = Vec::new();
    s.client
        .download(ta, &inbox[0], &mut out, &no_progress)
        .await
        .unwrap();
    assert_eq!(out, b"hi alice");
    // Bob's copy of alice's share: signed with the new key now, not the old.
    let bob_inbox = s.client.shared_with_me(tb, &bob.keys).await.unwrap();
    verify_share(&bob_inbox[0], "bob", rotated.keys.public_key()).unwrap();
    assert!(verify_share(&bob_inbox[0], "bob", alice.keys.public_key()).is_err());
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
