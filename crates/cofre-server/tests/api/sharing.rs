//! Sharing between three accounts: share, read, revoke; who may do what; and a server
//! that forges signatures, swaps wrapped keys or swaps a public key.

use cofre_api::ErrorCode;
use cofre_client::ClientError;
use cofre_client::client::LoggedIn;
use cofre_client::contacts::{Contacts, KeyCheck};
use cofre_client::vault::{NewItem, Source, verify_share};
use cofre_core::vault::ItemKind;

use crate::support::*;

fn no_progress(_: u64, _: u64) {}

async fn user(s: &TestServer, name: &str) -> LoggedIn {
    register(s, name).await;
    login(s, name).await
}

async fn sql(s: &TestServer, q: &str) {
    s.state.store.raw_execute(q).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_read_revoke_between_three_accounts() {
    let s = start(|_| {}).await;
    let alice = user(&s, "alice").await;
    let bob = user(&s, "bob").await;
    let carol = user(&s, "carol").await;
    let (ta, tb, tc) = (
        &alice.tokens.access_token,
        &bob.tokens.access_token,
        &carol.tokens.access_token,
    );
    let body = vec![42u8; 200_000];
    let item = s
        .client
        .upload(
            ta,
            &alice.keys,
            NewItem {
                kind: ItemKind::File,
                name: "plan.txt".into(),
                content_type: "text/plain".into(),
            },
            Source::Bytes(body.clone()),
            &no_progress,
        )
        .await
        .unwrap();
    let bob_key = s.client.public_key(ta, "Bob").await.unwrap();
    assert_eq!(bob_key.username, "bob");
    assert!(bob_key.public_key == *bob.keys.public_key());
    s.client
        .share(ta, &alice.keys, "alice", &item, &bob_key)
        .await
        .unwrap();

    // Bob sees it in his inbox, from alice, signed; and reads it.
    let inbox = s.client.shared_with_me(tb, &bob.keys).await.unwrap();
    assert_eq!(inbox.len(), 1);
    let shared = &inbox[0];
    assert_eq!(
        (shared.id.as_str(), shared.owner.as_str()),
        (item.id.as_str(), "alice")
    );
    assert_eq!(shared.content().unwrap().metadata.name, "plan.txt");
    verify_share(shared, "bob", &bob.keys, alice.keys.public_key()).unwrap();
    // Not from anyone else, and not for anyone else.
    assert!(verify_share(shared, "bob", &bob.keys, carol.keys.public_key()).is_err());
    assert!(verify_share(shared, "carol", &bob.keys, alice.keys.public_key()).is_err());
    let mut out = Vec::new();
    s.client
        .download(tb, shared, &mut out, &no_progress)
        .await
        .unwrap();
    assert_eq!(out, body);
    // His own listing is still his own.
    assert!(s.client.items(tb, &bob.keys).await.unwrap().is_empty());

    // Carol sees nothing and reads nothing.
    assert!(
        s.client
            .shared_with_me(tc, &carol.keys)
            .await
            .unwrap()
            .is_empty()
    );
    for path in [
        format!("/items/{}", item.id),
        format!("/items/{}/body", item.id),
    ] {
        let (st, b) = get_raw(&s, &path, tc.expose()).await;
        assert_eq!((st, code(&b)), (404, "not_found"), "{path}");
    }
    // Bob may read, not change: rename, delete, share, unshare, list shares are 404.
    let routes = [
        ("DELETE", format!("/items/{}", item.id), None),
        ("GET", format!("/items/{}/shares", item.id), None),
        ("DELETE", format!("/items/{}/shares/bob", item.id), None),
        (
            "PUT",
            format!("/items/{}/metadata", item.id),
            Some(format!(
                r#"{{"metadata":"{}"}}"#,
                shared_metadata(&s, tb, &item.id).await
            )),
        ),
    ];
    for (m, path, body) in routes {
        let mut req = s
            .http
            .request(m.parse().unwrap(), s.url(&path))
            .bearer_auth(tb.expose());
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 404, "{m} {path}");
    }
    assert_eq!(
        api_code(
            &s.client
                .share(
                    tb,
                    &bob.keys,
                    "bob",
                    shared,
                    &s.client.public_key(tb, "carol").await.unwrap()
                )
                .await
                .err()
                .unwrap()
        ),
        ErrorCode::NotFound
    );

    // Alice sees the share; bad shares are refused.
    let shares = s.client.shares(ta, &item.id).await.unwrap();
    assert_eq!(
        shares
            .iter()
            .map(|x| x.recipient.as_str())
            .collect::<Vec<_>>(),
        ["bob"]
    );
    let alice_key = s.client.public_key(ta, "alice").await.unwrap();
    assert_eq!(
        api_code(
            &s.client
                .share(ta, &alice.keys, "alice", &item, &alice_key)
                .await
                .err()
                .unwrap()
        ),
        ErrorCode::BadRequest,
        "sharing with yourself"
    );
    let mut wrong = s.client.public_key(ta, "carol").await.unwrap();
    wrong.username = "bob".into(); // carol's key under bob's name
    assert_eq!(
        api_code(
            &s.client
                .share(ta, &alice.keys, "alice", &item, &wrong)
                .await
                .err()
                .unwrap()
        ),
        ErrorCode::BadRequest,
        "a key wrapped for someone else's key"
    );
    let (st, _) = get_raw(&s, "/users/nobody/public-key", ta.expose()).await;
    assert_eq!(st, 404);
    let (st, _) = get_raw(&s, "/users/bob/public-key", "not-a-token").await;
    assert_eq!(st, 401);

    // Revoke: bob loses access at once (what he downloaded stays with him).
    s.client.unshare(ta, &item.id, "bob").await.unwrap();
    assert!(
        s.client
            .shared_with_me(tb, &bob.keys)
            .await
            .unwrap()
            .is_empty()
    );
    let (st, _) = get_raw(&s, &format!("/items/{}/body", item.id), tb.expose()).await;
    assert_eq!(st, 404);
    assert_eq!(
        api_code(&s.client.unshare(ta, &item.id, "bob").await.err().unwrap()),
        ErrorCode::NotFound
    );

    // Deleting the item removes its shares.
    s.client
        .share(ta, &alice.keys, "alice", &item, &bob_key)
        .await
        .unwrap();
    s.client.delete_item(ta, &item.id).await.unwrap();
    assert!(
        s.client
            .shared_with_me(tb, &bob.keys)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn shared_metadata(s: &TestServer, token: &cofre_api::SecretString, id: &str) -> String {
    get_raw(s, &format!("/items/{id}"), token.expose()).await.1["metadata"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_forging_shares_or_swapping_keys_is_caught() {
    let s = start(|_| {}).await;
    let alice = user(&s, "alice").await;
    let bob = user(&s, "bob").await;
    let mallory = user(&s, "mallory").await;
    let (ta, tb) = (&alice.tokens.access_token, &bob.tokens.access_token);
    let new = |name: &str| NewItem {
        kind: ItemKind::Note,
        name: name.into(),
        content_type: "text/plain".into(),
    };
    let a1 = s
        .client
        .upload(
            ta,
            &alice.keys,
            new("one"),
            Source::Bytes(b"1".to_vec()),
            &no_progress,
        )
        .await
        .unwrap();
    let a2 = s
        .client
        .upload(
            ta,
            &alice.keys,
            new("two"),
            Source::Bytes(b"2".to_vec()),
            &no_progress,
        )
        .await
        .unwrap();
    let bob_key = s.client.public_key(ta, "bob").await.unwrap();
    s.client
        .share(ta, &alice.keys, "alice", &a1, &bob_key)
        .await
        .unwrap();
    s.client
        .share(ta, &alice.keys, "alice", &a2, &bob_key)
        .await
        .unwrap();

    // Bob pins alice's key on first use.
    let server = s.base.clone();
    let dir = tempfile::tempdir().unwrap();
    let mut contacts = Contacts::load(&dir.path().join("contacts.json")).unwrap();
    let alice_seen = s.client.public_key(tb, "alice").await.unwrap();
    assert!(matches!(
        contacts.check(&server, "alice", &alice_seen.public_key),
        KeyCheck::FirstUse { .. }
    ));
    let pinned = contacts.get(&server, "alice").unwrap().public_key.clone();

    // 1. The server signs a share with another key (mallory's) in alice's name.
    let inbox = s.client.shared_with_me(tb, &bob.keys).await.unwrap();
    let one = inbox.iter().find(|i| i.id == a1.id).unwrap();
    let wrapped = cofre_core::format::WrappedKey::from_text(&one.wrapped_key).unwrap();
    let forged =
        cofre_core::vault::sign_share(mallory.keys.private_key(), &a1.id, "alice", "bob", &wrapped)
            .unwrap();
    sql(
        &s,
        &format!(
            "UPDATE item_shares SET signature = '{}' WHERE item_id = '{}'",
            forged.to_text(),
            a1.id
        ),
    )
    .await;
    let inbox = s.client.shared_with_me(tb, &bob.keys).await.unwrap();
    let one = inbox.iter().find(|i| i.id == a1.id).unwrap();
    let err = verify_share(one, "bob", &bob.keys, &pinned).unwrap_err();
    assert!(
        matches!(&err, ClientError::Integrity { item, .. } if *item == a1.id),
        "{err}"
    );

    // 2. The server swaps the wrapped keys of two shares: both items fail to open.
    let w2 = get_raw(&s, &format!("/items/{}", a2.id), tb.expose())
        .await
        .1["wrapped_key"]
        .as_str()
        .unwrap()
        .to_owned();
    sql(
        &s,
        &format!(
            "UPDATE item_shares SET wrapped_key = '{w2}' WHERE item_id = '{}'",
            a1.id
        ),
    )
    .await;
    let inbox = s.client.shared_with_me(tb, &bob.keys).await.unwrap();
    let one = inbox.iter().find(|i| i.id == a1.id).unwrap();
    assert!(one.content().is_err());
    assert!(verify_share(one, "bob", &bob.keys, &pinned).is_err());
    let two = inbox.iter().find(|i| i.id == a2.id).unwrap();
    verify_share(two, "bob", &bob.keys, &pinned).unwrap();

    // 3. The server swaps alice's public key for mallory's: the pin catches it.
    let keys_json = serde_json::to_string(&mallory_keys(&s).await).unwrap();
    sql(
        &s,
        &format!("UPDATE users SET keys_json = '{keys_json}' WHERE username = 'alice'"),
    )
    .await;
    let reported = s.client.public_key(tb, "alice").await.unwrap();
    assert!(reported.public_key == *mallory.keys.public_key());
    match contacts.check(&server, "alice", &reported.public_key) {
        KeyCheck::Changed {
            pinned: p,
            reported: r,
        } => assert_ne!(p, r),
        other => panic!("a swapped key was not caught: {other:?}"),
    }
    // A share signed by the swapped-in key does not verify against the pin either.
    assert!(verify_share(two, "bob", &bob.keys, &reported.public_key).is_err());
}

async fn mallory_keys(s: &TestServer) -> cofre_core::keys::AccountKeys {
    s.state
        .store
        .user_by_name("mallory")
        .await
        .unwrap()
        .unwrap()
        .keys
}
