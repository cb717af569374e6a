//! Unfinished uploads: listed for their owner only (`GET /items/uploads`), cancelled
//! with `DELETE /items/{id}`, named by the quota error; and the upload leases a server
//! held when it crashed are given back when it starts again, but never those of
//! another server sharing the database.

use cofre_api::ErrorCode;
use cofre_core::format::stream;
use cofre_core::keys::ItemKey;
use cofre_core::vault::body_context;

use crate::support::*;

/// Starts an upload of a real stream of `len` plaintext bytes under `id` and sends
/// its first `sent` encoded bytes; returns the encoded length.
async fn half_upload(s: &TestServer, token: &str, id: &str, len: usize, sent: usize) -> usize {
    let key = ItemKey::generate().unwrap();
    let plain = vec![7u8; len];
    let body = stream::encrypt_to_vec(key.key(), &body_context(id), &plain).unwrap();
    let (st, _, b) = post_raw(
        s,
        "/items",
        Some(token),
        &format!(r#"{{"id":"{id}","size":{}}}"#, body.len()),
    )
    .await;
    assert_eq!(st, 201, "{b}");
    let r = s
        .http
        .put(s.url(&format!("/items/{id}/body?offset=0")))
        .bearer_auth(token)
        .body(body[..sent].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    body.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_uploads_are_listed_for_their_owner_only_and_cancelled() {
    let s = start(|c| c.quota_bytes = 1 << 20).await;
    register(&s, "alice").await;
    register(&s, "bob").await;
    let alice = login(&s, "alice").await;
    let bob = login(&s, "bob").await;
    let (ta, tb) = (&alice.tokens.access_token, &bob.tokens.access_token);
    assert!(s.client.pending_uploads(ta).await.unwrap().is_empty());

    let id = "a1".repeat(16);
    let size = half_upload(&s, ta.expose(), &id, 300_000, 100_000).await;
    let kept = put(&s, &alice, "done", b"committed".to_vec()).await;
    let list = s.client.pending_uploads(ta).await.unwrap();
    assert_eq!(list.len(), 1, "only the unfinished upload: {list:?}");
    let u = &list[0];
    assert_eq!(
        (u.id.as_str(), u.size, u.received),
        (id.as_str(), size as u64, 100_000)
    );
    assert!(u.expires_at > u.created_at);

    // Bob sees none of it, and cannot touch it: 404 like a missing one.
    assert!(s.client.pending_uploads(tb).await.unwrap().is_empty());
    let e = s.client.cancel_upload(tb, &id).await.unwrap_err();
    assert_eq!(api_code(&e), ErrorCode::NotFound);
    let (st, b) = get_raw(&s, &format!("/items/{id}/upload"), tb.expose()).await;
    assert_eq!((st, code(&b)), (404, "not_found"));
    assert!(s.client.upload_status(tb, &id).await.unwrap().is_none());
    assert_eq!(s.client.pending_uploads(ta).await.unwrap().len(), 1);

    // Over the quota: the error counts the unfinished uploads and names the command.
    let (st, _, b) = post_raw(
        &s,
        "/items",
        Some(ta.expose()),
        &format!(r#"{{"id":"{}","size":{}}}"#, "b2".repeat(16), 900_000),
    )
    .await;
    assert_eq!((st, code(&b)), (413, "quota_exceeded"));
    let msg = b["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains(&format!("{size} of the bytes used are unfinished uploads")),
        "{msg}"
    );
    assert!(msg.contains("cofre uploads"), "{msg}");

    // Cancelled: gone from the list, the quota freed, the committed item untouched.
    let used = s.client.usage(ta).await.unwrap().used;
    s.client.cancel_upload(ta, &id).await.unwrap();
    assert!(s.client.pending_uploads(ta).await.unwrap().is_empty());
    assert_eq!(s.client.usage(ta).await.unwrap().used, used - size as u64);
    assert_eq!(fetch(&s, &alice, &kept).await, b"committed");
    // Without pending uploads the quota message says nothing about them.
    let (st, _, b) = post_raw(
        &s,
        "/items",
        Some(ta.expose()),
        &format!(r#"{{"id":"{}","size":{}}}"#, "c3".repeat(16), 2 << 20),
    )
    .await;
    assert_eq!((st, code(&b)), (413, "quota_exceeded"));
    assert!(
        !b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unfinished")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_server_gives_back_its_own_upload_leases_only() {
    let s = start(|_| {}).await;
    register(&s, "alice").await;
    let alice = login(&s, "alice").await;
    let t = alice.tokens.access_token.expose().to_owned();
    let mine = "d4".repeat(16);
    let theirs = "e5".repeat(16);
    half_upload(&s, &t, &mine, 200_000, 50_000).await;
    half_upload(&s, &t, &theirs, 200_000, 50_000).await;
    // As if this server crashed while writing `mine`, while another server sharing the
    // database is writing `theirs`: both leases outlive this server by ten minutes.
    let now = cofre_server::clock::now();
    let me = s.state.instance.to_string();
    let store = s.state.store.clone();
    assert!(
        store
            .take_lease(&format!("upload/{mine}"), &me, now, now + 600)
            .await
            .unwrap()
    );
    assert!(
        store
            .take_lease(
                &format!("upload/{theirs}"),
                "another-server",
                now,
                now + 600
            )
            .await
            .unwrap()
    );
    let put_at = |s: &TestServer, id: String| {
        let (http, url, t) = (
            s.http.clone(),
            s.url(&format!("/items/{id}/body?offset=50000")),
            t.clone(),
        );
        async move {
            let r = http
                .put(url)
                .bearer_auth(t)
                .body(vec![0u8; 10])
                .send()
                .await
                .unwrap();
            let st = r.status().as_u16();
            (st, r.json::<serde_json::Value>().await.unwrap_or_default())
        }
    };
    let (st, b) = put_at(&s, mine.clone()).await;
    assert_eq!(st, 200, "the same server may write its own upload: {b}");
    assert!(
        store
            .take_lease(&format!("upload/{mine}"), &me, now, now + 600)
            .await
            .unwrap()
    );
    drop(store);

    let data = s.data.clone();
    let dir = s.stop().await;
    let s = start_in(data, |_| {}).await;
    assert_eq!(
        &*s.state.instance,
        me.as_str(),
        "the same identity after a restart"
    );
    let (st, b) = put_at(&s, mine).await;
    assert_eq!(st, 200, "its own lease was given back: {b}");
    let (st, b) = put_at(&s, theirs).await;
    assert_eq!(
        (st, code(&b)),
        (409, "conflict"),
        "another server's lease stays: {b}"
    );
    drop(dir);
}

fn note(name: &str) -> cofre_client::vault::NewItem {
    cofre_client::vault::NewItem {
        kind: cofre_core::vault::ItemKind::Note,
        name: name.to_owned(),
        content_type: "text/plain".into(),
    }
}

fn quiet(_: u64, _: u64) {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_version_keeps_the_id_and_shares_and_counts_against_the_quota() {
    let s = start(|c| c.quota_bytes = 1 << 20).await;
    register(&s, "alice").await;
    register(&s, "bob").await;
    let alice = login(&s, "alice").await;
    let bob = login(&s, "bob").await;
    let (ta, tb) = (&alice.tokens.access_token, &bob.tokens.access_token);
    let id = put(&s, &alice, "memo", b"version one".to_vec()).await;
    let item = s.client.item(ta, &alice.keys, &id).await.unwrap();
    let bob_key = s.client.public_key(ta, "bob").await.unwrap();
    s.client
        .share(ta, &alice.keys, "alice", &item, &bob_key)
        .await
        .unwrap();
    let used_before = s.client.usage(ta).await.unwrap().used;

    // Only the owner may start a new version; only of a committed item.
    let body = r#"{"size":200}"#;
    let (st, _, b) = post_raw(&s, &format!("/items/{id}/replace"), Some(tb.expose()), body).await;
    assert_eq!((st, code(&b)), (404, "not_found"), "bob: {b}");
    let (st, _, b) = post_raw(
        &s,
        &format!("/items/{}/replace", "f".repeat(32)),
        Some(ta.expose()),
        body,
    )
    .await;
    assert_eq!((st, code(&b)), (404, "not_found"));
    // Both versions must fit in the quota.
    let (st, _, b) = post_raw(
        &s,
        &format!("/items/{id}/replace"),
        Some(ta.expose()),
        &format!(r#"{{"size":{}}}"#, 1 << 20),
    )
    .await;
    assert_eq!((st, code(&b)), (413, "quota_exceeded"));

    // Started: pending, listed as a new version, one at a time.
    let (st, _, b) = post_raw(&s, &format!("/items/{id}/replace"), Some(ta.expose()), body).await;
    assert_eq!(st, 201, "{b}");
    let list = s.client.pending_uploads(ta).await.unwrap();
    assert_eq!(list.len(), 1);
    assert!(list[0].replaces && list[0].id == id && list[0].size == 200);
    assert_eq!(s.client.usage(ta).await.unwrap().used, used_before + 200);
    let (st, _, b) = post_raw(&s, &format!("/items/{id}/replace"), Some(ta.expose()), body).await;
    assert_eq!((st, code(&b)), (409, "conflict"), "{b}");
    // Bob cannot cancel it; cancelling it leaves the item as it was.
    let e = s.client.cancel_upload(tb, &id).await.unwrap_err();
    assert_eq!(api_code(&e), ErrorCode::NotFound);
    s.client.cancel_upload(ta, &id).await.unwrap();
    assert!(s.client.pending_uploads(ta).await.unwrap().is_empty());
    assert_eq!(s.client.usage(ta).await.unwrap().used, used_before);
    assert_eq!(fetch(&s, &alice, &id).await, b"version one");
    // A committed item with nothing pending: its upload is not cancellable.
    let e = s.client.cancel_upload(ta, &id).await.unwrap_err();
    assert_eq!(api_code(&e), ErrorCode::NotFound);

    // A whole new version through the client: same id, the owner and bob read it.
    let text = b"version two, which is longer".to_vec();
    let cp = cofre_client::resume::UploadCheckpoint::new_version(&item, text.len() as u64).unwrap();
    assert_ne!(cp.header, {
        // The first version's stream header, from its stored body: a new stream.
        let mut h = [0u8; 20];
        let mut out = Vec::new();
        let resp = s
            .http
            .get(s.url(&format!("/items/{id}/body")))
            .bearer_auth(ta.expose())
            .send()
            .await
            .unwrap();
        out.extend_from_slice(&resp.bytes().await.unwrap());
        h.copy_from_slice(&out[..20]);
        h
    });
    let saved = s
        .client
        .upload_file(
            ta,
            &alice.keys,
            note("memo v2"),
            Box::new(std::io::Cursor::new(text.clone())),
            &cp,
            None,
            &quiet,
        )
        .await
        .unwrap();
    assert_eq!(saved.id, id);
    assert_eq!(fetch(&s, &alice, &id).await, text);
    let shared = s.client.item(tb, &bob.keys, &id).await.unwrap();
    assert_eq!(shared.content().unwrap().metadata.name, "memo v2");
    let mut out = Vec::new();
    s.client
        .download(tb, &shared, &mut out, &quiet)
        .await
        .unwrap();
    assert_eq!(out, text);
    let usage = s.client.usage(ta).await.unwrap();
    assert_eq!(usage.items, 1);
    assert_eq!(
        usage.used, saved.encoded_size,
        "only the new version counts"
    );
    assert!(s.client.pending_uploads(ta).await.unwrap().is_empty());
}
