//! The vault through the client library and raw HTTP: round trips at every size
//! boundary, another account's items, tampering by the server, resumable uploads,
//! bad input, quota and the cleanup pass.

use std::io::Read as _;

use cofre_api::ErrorCode;
use cofre_api::vault::Item;
use cofre_client::client::LoggedIn;
use cofre_client::vault::{NewItem, Source, VaultItem};
use cofre_core::format::stream;
use cofre_core::keys::ItemKey;
use cofre_core::vault::{ItemKind, ItemMetadata, body_context};

use crate::support::*;

const CHUNK: usize = 1 << stream::DEFAULT_CHUNK_LOG2;

fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u32)
                .wrapping_mul(2_654_435_761)
                .rotate_left(seed as u32) as u8
        })
        .collect()
}

fn file(name: &str) -> NewItem {
    NewItem {
        kind: ItemKind::File,
        name: name.to_owned(),
        content_type: "application/octet-stream".into(),
    }
}

fn no_progress(_: u64, _: u64) {}

async fn put(s: &TestServer, l: &LoggedIn, name: &str, bytes: Vec<u8>) -> VaultItem {
    s.client
        .upload(
            &l.tokens.access_token,
            &l.keys,
            file(name),
            Source::Bytes(bytes),
            &no_progress,
        )
        .await
        .unwrap()
}

async fn fetch(
    s: &TestServer,
    l: &LoggedIn,
    id: &str,
) -> Result<Vec<u8>, cofre_client::ClientError> {
    let item = s.client.item(&l.tokens.access_token, &l.keys, id).await?;
    let mut out = Vec::new();
    s.client
        .download(&l.tokens.access_token, &item, &mut out, &no_progress)
        .await?;
    Ok(out)
}

async fn user(s: &TestServer, name: &str) -> LoggedIn {
    register(s, name).await;
    login(s, name).await
}

fn blob_path(s: &TestServer, id: &str) -> std::path::PathBuf {
    s.data.join("blobs").join(&id[..2]).join(id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trips_at_every_size_boundary_through_all_three_sources() {
    let s = start(|_| {}).await;
    let l = user(&s, "alice").await;
    let t = &l.tokens.access_token;
    let part = 128 * CHUNK;
    let sizes = [
        0,
        1,
        CHUNK - 1,
        CHUNK,
        CHUNK + 1,
        part,
        part + 1,
        2 * part + 12_345,
    ];
    let mut ids = Vec::new();
    for (n, &len) in sizes.iter().enumerate() {
        let bytes = data(len, n as u8);
        let source = match n % 3 {
            0 => Source::Bytes(bytes.clone()),
            1 => Source::Sized(Box::new(std::io::Cursor::new(bytes.clone())), len as u64),
            _ => Source::Unsized(Box::new(std::io::Cursor::new(bytes.clone()))),
        };
        let item = s
            .client
            .upload(t, &l.keys, file(&format!("f{len}")), source, &no_progress)
            .await
            .unwrap();
        assert_eq!(item.encoded_size, stream::encrypted_len(len as u64, 16));
        assert_eq!(fetch(&s, &l, &item.id).await.unwrap(), bytes, "size {len}");
        ids.push((item.id, len));
    }
    // The listing opens every item: names and plaintext sizes.
    let items = s.client.items(t, &l.keys).await.unwrap();
    assert_eq!(items.len(), sizes.len());
    for item in &items {
        let meta = &item.content().unwrap().metadata;
        let (_, len) = ids.iter().find(|(id, _)| *id == item.id).unwrap();
        assert_eq!(meta.name, format!("f{len}"));
        assert_eq!(meta.size, *len as u64);
        assert_eq!(item.owner, "alice");
    }
    // Paging: every item exactly once.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = s.client.items_page(t, after.as_deref(), 3).await.unwrap();
        seen.extend(page.items.into_iter().map(|i| i.id));
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    // (Oldest first; items of the same second by id.)
    assert_eq!(seen, items.iter().map(|i| i.id.clone()).collect::<Vec<_>>());
    // Rename keeps the body; delete removes the row and the blob.
    let (id, _) = &ids[1];
    let item = s.client.item(t, &l.keys, id).await.unwrap();
    s.client
        .rename(t, &l.keys, &item, "renamed.txt")
        .await
        .unwrap();
    let item = s.client.item(t, &l.keys, id).await.unwrap();
    assert_eq!(item.content().unwrap().metadata.name, "renamed.txt");
    assert_eq!(fetch(&s, &l, id).await.unwrap(), data(1, 1));
    assert!(blob_path(&s, id).exists());
    s.client.delete_item(t, id).await.unwrap();
    assert!(!blob_path(&s, id).exists());
    assert_eq!(
        api_code(&s.client.item(t, &l.keys, id).await.err().unwrap()),
        ErrorCode::NotFound
    );
    let usage = s.client.usage(t).await.unwrap();
    assert_eq!(usage.items, sizes.len() as u64 - 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_accounts_items_answer_404_on_every_route() {
    let s = start(|_| {}).await;
    let alice = user(&s, "alice").await;
    let bob = user(&s, "bob").await;
    let item = put(&s, &alice, "secret.txt", b"for alice only".to_vec()).await;
    // An upload of alice's in progress, too.
    let (status, _, _) = post_raw(
        &s,
        "/items",
        Some(alice.tokens.access_token.expose()),
        &format!(r#"{{"id":"{}","size":1000}}"#, "ab".repeat(16)),
    )
    .await;
    assert_eq!(status, 201);
    let bob_t = bob.tokens.access_token.expose();
    for id in [item.id.as_str(), &"ab".repeat(16)] {
        let routes = [
            ("GET", format!("/items/{id}"), None),
            ("GET", format!("/items/{id}/body"), None),
            ("GET", format!("/items/{id}/upload"), None),
            (
                "PUT",
                format!("/items/{id}/body?offset=0"),
                Some("xx".to_owned()),
            ),
            (
                "POST",
                format!("/items/{id}/commit"),
                Some(format!(
                    r#"{{"metadata":"{}","wrapped_key":"{}"}}"#,
                    item.content()
                        .unwrap()
                        .metadata
                        .seal(&item.content().unwrap().key, id)
                        .unwrap()
                        .to_text(),
                    item.content()
                        .unwrap()
                        .key
                        .wrap_for(&[bob.keys.public_key()], id)
                        .unwrap()[0]
                        .to_text()
                )),
            ),
            (
                "PUT",
                format!("/items/{id}/metadata"),
                Some(format!(
                    r#"{{"metadata":"{}"}}"#,
                    item.content()
                        .unwrap()
                        .metadata
                        .seal(&item.content().unwrap().key, id)
                        .unwrap()
                        .to_text()
                )),
            ),
            ("DELETE", format!("/items/{id}"), None),
        ];
        for (method, path, body) in routes {
            let mut req = s
                .http
                .request(method.parse().unwrap(), s.url(&path))
                .bearer_auth(bob_t);
            if let Some(b) = body {
                let ct = if path.contains("/body") {
                    "application/octet-stream"
                } else {
                    "application/json"
                };
                req = req.header("content-type", ct).body(b);
            }
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            let body: serde_json::Value = r.json().await.unwrap_or_default();
            assert_eq!((status, code(&body)), (404, "not_found"), "{method} {path}");
        }
    }
    // Bob's listing is empty; alice's item is intact.
    assert!(
        s.client
            .items(&bob.tokens.access_token, &bob.keys)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        fetch(&s, &alice, &item.id).await.unwrap(),
        b"for alice only"
    );
    // Without a token: 401.
    let r = s
        .http
        .get(s.url(&format!("/items/{}", item.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

async fn raw_item(s: &TestServer, token: &str, id: &str) -> Item {
    serde_json::from_value(get_raw(s, &format!("/items/{id}"), token).await.1).unwrap()
}

async fn sql(s: &TestServer, q: &str) {
    s.state.store.raw_execute(q).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_swaps_or_damages_data_is_caught_and_names_the_item() {
    let s = start(|_| {}).await;
    let l = user(&s, "alice").await;
    let t = &l.tokens.access_token;
    let a = put(&s, &l, "a.bin", data(3 * CHUNK + 5, 1)).await;
    let b = put(&s, &l, "b.bin", data(3 * CHUNK + 5, 2)).await;
    let c = put(&s, &l, "c.bin", data(10, 3)).await;
    let (ia, ib) = (
        raw_item(&s, t.expose(), &a.id).await,
        raw_item(&s, t.expose(), &b.id).await,
    );

    let integrity = |e: cofre_client::ClientError, id: &str| {
        let text = e.to_string();
        assert!(
            matches!(&e, cofre_client::ClientError::Integrity { item, .. } if item == id),
            "{text}"
        );
        assert!(text.contains(id), "{text}");
    };
    // Another item's metadata, or its wrapped key, under a's id.
    for (col, value, restore) in [
        ("metadata", &ib.metadata, &ia.metadata),
        ("wrapped_key", &ib.wrapped_key, &ia.wrapped_key),
    ] {
        sql(
            &s,
            &format!("UPDATE items SET {col} = '{value}' WHERE id = '{}'", a.id),
        )
        .await;
        let item = s.client.item(t, &l.keys, &a.id).await.unwrap();
        integrity(item.content().err().unwrap(), &a.id);
        // The rest of the vault still lists and opens.
        let all = s.client.items(t, &l.keys).await.unwrap();
        assert_eq!(all.iter().filter(|i| i.opened.is_ok()).count(), 2, "{col}");
        sql(
            &s,
            &format!("UPDATE items SET {col} = '{restore}' WHERE id = '{}'", a.id),
        )
        .await;
    }
    // Garbage instead of ciphertext.
    sql(
        &s,
        &format!(
            "UPDATE items SET metadata = 'not base64!' WHERE id = '{}'",
            a.id
        ),
    )
    .await;
    integrity(
        s.client
            .item(t, &l.keys, &a.id)
            .await
            .unwrap()
            .content()
            .err()
            .unwrap(),
        &a.id,
    );
    sql(
        &s,
        &format!(
            "UPDATE items SET metadata = '{}' WHERE id = '{}'",
            ia.metadata, a.id
        ),
    )
    .await;
    assert_eq!(fetch(&s, &l, &a.id).await.unwrap(), data(3 * CHUNK + 5, 1));

    let original = std::fs::read(blob_path(&s, &a.id)).unwrap();
    let full = CHUNK + stream::CHUNK_OVERHEAD;
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("b's body", std::fs::read(blob_path(&s, &b.id)).unwrap()),
        ("c's body", std::fs::read(blob_path(&s, &c.id)).unwrap()),
        (
            "truncated at a chunk boundary",
            original[..20 + 2 * full].to_vec(),
        ),
        (
            "truncated inside a chunk",
            original[..original.len() - 7].to_vec(),
        ),
        (
            "a chunk appended",
            [&original[..], &original[20..20 + full]].concat(),
        ),
        (
            "chunks 0 and 1 swapped",
            [
                &original[..20],
                &original[20 + full..20 + 2 * full],
                &original[20..20 + full],
                &original[20 + 2 * full..],
            ]
            .concat(),
        ),
    ];
    for at in [0, 5, 20, 20 + full - 1, 20 + full + 100, original.len() - 1] {
        let mut bad = original.clone();
        bad[at] ^= 0x01;
        cases.push(("one flipped bit", bad));
    }
    for (what, bytes) in cases {
        std::fs::write(blob_path(&s, &a.id), &bytes).unwrap();
        sql(
            &s,
            &format!(
                "UPDATE items SET size = {} WHERE id = '{}'",
                bytes.len(),
                a.id
            ),
        )
        .await;
        let item = s.client.item(t, &l.keys, &a.id).await.unwrap();
        let mut out = Vec::new();
        let err = s
            .client
            .download(t, &item, &mut out, &no_progress)
            .await
            .err()
            .unwrap_or_else(|| panic!("{what}: accepted"));
        integrity(err, &a.id);
        // Whatever was released is an authenticated prefix of the real plaintext.
        assert!(data(3 * CHUNK + 5, 1).starts_with(&out), "{what}");
    }
    // The other items are untouched.
    assert_eq!(fetch(&s, &l, &b.id).await.unwrap(), data(3 * CHUNK + 5, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_uploads_resume_and_bad_input_leaves_stored_data_untouched() {
    let s = start(|c| {
        c.quota_bytes = 4 << 20;
        c.max_item_bytes = 3 << 20;
    })
    .await;
    let l = user(&s, "alice").await;
    let tok = l.tokens.access_token.expose().to_owned();
    let keep = put(&s, &l, "keep.txt", b"stays as it is".to_vec()).await;

    // A real stream for an id we choose.
    let id = "0123456789abcdef0123456789abcdef".to_owned();
    let key = ItemKey::generate().unwrap();
    let plain = data(200_000, 7);
    let body = stream::encrypt_to_vec(key.key(), &body_context(&id), &plain).unwrap();
    let n = body.len();
    let put_part = |offset: usize, bytes: Vec<u8>| {
        let s = &s;
        let tok = tok.clone();
        let id = id.clone();
        async move {
            // A server refusing a large body early may close the connection while the
            // client still sends it: then there is no status (0).
            match s
                .http
                .put(s.url(&format!("/items/{id}/body?offset={offset}")))
                .bearer_auth(tok)
                .body(bytes)
                .send()
                .await
            {
                Ok(r) => {
                    let st = r.status().as_u16();
                    // A refused part asks the client to drop the connection, whose
                    // unread body would otherwise break the next request on it.
                    if st >= 400 {
                        assert_eq!(r.headers()["connection"], "close");
                    }
                    (st, r.json::<serde_json::Value>().await.unwrap_or_default())
                }
                Err(e) if e.is_request() || e.is_body() => (0, serde_json::Value::Null),
                Err(e) => panic!("{e}"),
            }
        }
    };
    let create = |body: String| {
        let s = &s;
        let tok = tok.clone();
        async move { post_raw(s, "/items", Some(&tok), &body).await }
    };
    // Bad creates.
    for (body, status, want) in [
        (r#"{"id":"XYZ","size":1000}"#.to_owned(), 400, "bad_request"),
        (format!(r#"{{"id":"{id}","size":10}}"#), 400, "bad_request"),
        (
            format!(r#"{{"id":"{id}","size":{}}}"#, 3 << 21),
            413,
            "item_too_large",
        ),
        (format!(r#"{{"id":"{id}"}}"#), 400, "bad_request"),
        (format!(r#"{{"id":"{id}","size":-5}}"#), 400, "bad_request"),
    ] {
        let (st, _, b) = create(body.clone()).await;
        assert_eq!((st, code(&b)), (status, want), "{body}");
    }
    let (st, _, _) = create(format!(r#"{{"id":"{id}","size":{n}}}"#)).await;
    assert_eq!(st, 201);
    // Same id again: conflict.
    let (st, _, b) = create(format!(r#"{{"id":"{id}","size":{n}}}"#)).await;
    assert_eq!((st, code(&b)), (409, "conflict"));
    // Quota: 4 MiB, and this upload reserved ~200 kB; a 3 MiB + 1 MiB one does not fit.
    let (st, _, b) = create(format!(
        r#"{{"id":"{}","size":{}}}"#,
        "cd".repeat(16),
        3 << 20
    ))
    .await;
    assert_eq!(st, 201, "{b}");
    let (st, _, b) = create(format!(
        r#"{{"id":"{}","size":{}}}"#,
        "ef".repeat(16),
        1 << 20
    ))
    .await;
    assert_eq!((st, code(&b)), (413, "quota_exceeded"));
    // A part past what arrived; a part beyond the declared size.
    let (st, b) = put_part(10, body[10..100].to_vec()).await;
    assert_eq!((st, code(&b)), (409, "upload_offset_mismatch"));
    let (st, b) = put_part(0, [&body[..], b"extra"].concat()).await;
    assert!(
        (st, code(&b)) == (413, "payload_too_large") || st == 0,
        "{st} {b}"
    );
    let (_, status) = get_raw(&s, &format!("/items/{id}/upload"), &tok).await;
    assert_eq!(
        status["received"].as_u64(),
        Some(0),
        "the refused part left nothing"
    );
    // Half, then an interrupted rewrite from an earlier offset, then the rest.
    let (st, b) = put_part(0, body[..n / 2].to_vec()).await;
    assert_eq!((st, b["received"].as_u64()), (200, Some((n / 2) as u64)));
    let (st, _, b) = post_raw(&s, &format!("/items/{id}/commit"), Some(&tok), "{}").await;
    assert_eq!(
        (st, code(&b)),
        (400, "bad_request"),
        "commit without fields"
    );
    let sealed = ItemMetadata {
        kind: ItemKind::File,
        name: "raw.bin".into(),
        content_type: "application/octet-stream".into(),
        size: plain.len() as u64,
        created: 1,
        modified: 1,
    }
    .seal(&key, &id)
    .unwrap();
    let wrapped = key
        .wrap_for(&[l.keys.public_key()], &id)
        .unwrap()
        .pop()
        .unwrap();
    let commit_body = format!(
        r#"{{"metadata":"{}","wrapped_key":"{}"}}"#,
        sealed.to_text(),
        wrapped.to_text()
    );
    let (st, _, b) = post_raw(&s, &format!("/items/{id}/commit"), Some(&tok), &commit_body).await;
    assert_eq!((st, code(&b)), (409, "upload_incomplete"));
    // Not ciphertext at all: refused by the format check.
    let (st, _, b) = post_raw(
        &s,
        &format!("/items/{id}/commit"),
        Some(&tok),
        r#"{"metadata":"AAAA","wrapped_key":"AAAA"}"#,
    )
    .await;
    assert_eq!((st, code(&b)), (400, "bad_request"));
    let (st, b) = put_part(n / 4, body[n / 4..n / 3].to_vec()).await;
    assert_eq!((st, b["received"].as_u64()), (200, Some((n / 3) as u64)));
    let (_, status) = get_raw(&s, &format!("/items/{id}/upload"), &tok).await;
    assert_eq!(status["received"].as_u64(), Some((n / 3) as u64));
    let (st, _) = put_part(n / 3, body[n / 3..].to_vec()).await;
    assert_eq!(st, 200);
    // Not listed until committed.
    assert_eq!(
        s.client
            .items(&l.tokens.access_token, &l.keys)
            .await
            .unwrap()
            .len(),
        1
    );
    let (st, _, b) = post_raw(&s, &format!("/items/{id}/commit"), Some(&tok), &commit_body).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(fetch(&s, &l, &id).await.unwrap(), plain);
    // No more parts after the commit.
    let (st, b) = put_part(0, body.clone()).await;
    assert_eq!((st, code(&b)), (409, "conflict"));
    // Ranges: the tail of the body from an offset.
    let r = s
        .http
        .get(s.url(&format!("/items/{id}/body")))
        .bearer_auth(&tok)
        .header("range", "bytes=1000-")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.bytes().await.unwrap().as_ref(), &body[1000..]);
    for bad in [
        "bytes=0-10",
        "items=0-",
        "bytes=x-",
        &format!("bytes={}-", n + 1),
    ] {
        let r = s
            .http
            .get(s.url(&format!("/items/{id}/body")))
            .bearer_auth(&tok)
            .header("range", bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{bad}");
    }
    // Bad listing queries.
    for q in ["?limit=x", "?after=nonsense", "?after=1.XYZ", "?color=red"] {
        let (st, b) = get_raw(&s, &format!("/items{q}"), &tok).await;
        assert_eq!((st, code(&b)), (400, "bad_request"), "{q}");
    }
    // The first item never changed.
    assert_eq!(fetch(&s, &l, &keep.id).await.unwrap(), b"stays as it is");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_removes_abandoned_uploads_and_orphans_but_nothing_committed() {
    let s = start(|_| {}).await;
    let l = user(&s, "alice").await;
    let tok = l.tokens.access_token.expose().to_owned();
    let kept = put(&s, &l, "kept.txt", b"kept".to_vec()).await;
    let id = "aa".repeat(16);
    let (st, _, _) = post_raw(
        &s,
        "/items",
        Some(&tok),
        &format!(r#"{{"id":"{id}","size":5000}}"#),
    )
    .await;
    assert_eq!(st, 201);
    let r = s
        .http
        .put(s.url(&format!("/items/{id}/body?offset=0")))
        .bearer_auth(&tok)
        .body(vec![0u8; 1000])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let upload = s.data.join("blobs/uploads").join(&id);
    assert!(upload.exists());
    // An orphan blob (as a crash between the blob store and the database leaves).
    let orphan = s.data.join("blobs/ff").join("ff".repeat(16));
    std::fs::create_dir_all(orphan.parent().unwrap()).unwrap();
    std::fs::write(&orphan, b"orphan").unwrap();

    // Before expiry: only the orphan goes.
    let now = cofre_server::clock::now();
    let r = cofre_server::cleanup::run_once(&s.state, now)
        .await
        .unwrap();
    assert_eq!((r.expired_uploads, r.orphans), (0, 1));
    assert!(!orphan.exists() && upload.exists());
    // After expiry: the upload goes, row and bytes.
    let later = now + s.state.config.upload_expiry_secs + 1;
    let r = cofre_server::cleanup::run_once(&s.state, later)
        .await
        .unwrap();
    assert_eq!((r.expired_uploads, r.orphans), (1, 0));
    assert!(!upload.exists());
    let (st, _) = get_raw(&s, &format!("/items/{id}/upload"), &tok).await;
    assert_eq!(st, 404);
    // The committed item is untouched.
    assert_eq!(fetch(&s, &l, &kept.id).await.unwrap(), b"kept");
    let mut f = std::fs::File::open(blob_path(&s, &kept.id)).unwrap();
    let mut buf = Vec::new();
    f.read_to_end(&mut buf).unwrap();
    assert_eq!(buf.len() as u64, kept.encoded_size);
}

/// A TCP proxy in front of the server that cuts the connection once after a number of
/// bytes in each direction, and remembers whether a ranged request went through.
struct CuttingProxy {
    url: String,
    cuts: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    ranged: std::sync::Arc<std::sync::atomic::AtomicBool>,
    up_after: std::sync::Arc<std::sync::atomic::AtomicI64>,
    down_after: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

impl CuttingProxy {
    async fn start(target: &str) -> Self {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let target = target.trim_start_matches("http://").to_owned();
        let cuts = Arc::new(AtomicUsize::new(0));
        let ranged = Arc::new(AtomicBool::new(false));
        let up_after = Arc::new(AtomicI64::new(i64::MAX));
        let down_after = Arc::new(AtomicI64::new(i64::MAX));
        let (c, r, u, d) = (
            cuts.clone(),
            ranged.clone(),
            up_after.clone(),
            down_after.clone(),
        );
        tokio::spawn(async move {
            loop {
                let (client, _) = listener.accept().await.unwrap();
                let server = tokio::net::TcpStream::connect(&target).await.unwrap();
                let (c, r, u, d) = (c.clone(), r.clone(), u.clone(), d.clone());
                tokio::spawn(async move {
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    // Copies one direction, counting down its budget; a budget crossing
                    // zero cuts the connection (both directions) once.
                    async fn pump(
                        from: &mut tokio::net::tcp::OwnedReadHalf,
                        to: &mut tokio::net::tcp::OwnedWriteHalf,
                        budget: &AtomicI64,
                        cuts: &AtomicUsize,
                        ranged: Option<&AtomicBool>,
                    ) {
                        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
                        let mut buf = vec![0u8; 64 * 1024];
                        loop {
                            let n = match from.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => n,
                            };
                            if let Some(flag) = ranged
                                && String::from_utf8_lossy(&buf[..n])
                                    .to_ascii_lowercase()
                                    .contains("range: bytes=")
                            {
                                flag.store(true, Ordering::SeqCst);
                            }
                            let left = budget.fetch_sub(n as i64, Ordering::SeqCst);
                            if left > 0 && left <= n as i64 {
                                cuts.fetch_add(1, Ordering::SeqCst);
                                return;
                            }
                            if to.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    }
                    tokio::select! {
                        () = pump(&mut cr, &mut sw, &u, &c, Some(&r)) => {}
                        () = pump(&mut sr, &mut cw, &d, &c, None) => {}
                    }
                });
            }
        });
        Self {
            url,
            cuts,
            ranged,
            up_after,
            down_after,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_and_downloads_resume_after_the_connection_drops() {
    use std::sync::atomic::Ordering;
    let s = start(|_| {}).await;
    let l = user(&s, "alice").await;
    let proxy = CuttingProxy::start(&s.base).await;
    let client = cofre_client::Client::new(&proxy.url).unwrap();
    let t = &l.tokens.access_token;
    let bytes = data(20 << 20, 9);

    // The connection dies in the middle of the second part (8 MiB parts).
    proxy.up_after.store(12 << 20, Ordering::SeqCst);
    let item = client
        .upload(
            t,
            &l.keys,
            file("big.bin"),
            Source::Bytes(bytes.clone()),
            &no_progress,
        )
        .await
        .unwrap();
    assert_eq!(
        proxy.cuts.load(Ordering::SeqCst),
        1,
        "the upload was cut once"
    );

    // And the download dies after 5 MiB; it resumes with a range from the last
    // verified chunk.
    proxy.down_after.store(5 << 20, Ordering::SeqCst);
    let opened = client.item(t, &l.keys, &item.id).await.unwrap();
    let mut out = Vec::new();
    let n = client
        .download(t, &opened, &mut out, &no_progress)
        .await
        .unwrap();
    assert_eq!(
        proxy.cuts.load(Ordering::SeqCst),
        2,
        "the download was cut once"
    );
    assert!(
        proxy.ranged.load(Ordering::SeqCst),
        "resumed with a Range request"
    );
    assert_eq!(n, bytes.len() as u64);
    assert!(out == bytes, "resumed download differs");
    // Directly from the server, too.
    assert!(fetch(&s, &l, &item.id).await.unwrap() == bytes);
}
