//! A server whose blobs live in S3 (a real S3 service, moto: `tests/shared/moto.rs`):
//! files go up and come back byte for byte, deletion and the cleanup pass leave no
//! object behind, and a bucket that is not there stops the server at start.

use cofre_client::vault::{NewItem, Source};
use cofre_core::vault::ItemKind;
use cofre_server::blobs::BlobLocation;

use crate::moto;
use crate::support::*;

fn bytes(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).rotate_left(9) as u8)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_round_trip_through_s3_and_leave_no_object_behind() {
    let Some(moto) = moto::moto() else { return };
    let location = moto.bucket("cofre").await;
    let s = start(|c| c.blobs = BlobLocation::S3(location.clone())).await;
    register(&s, "alice").await;
    let l = login(&s, "alice").await;
    let t = &l.tokens.access_token;
    let no_progress = |_: u64, _: u64| {};

    // Several upload parts, one of them larger than a multipart chunk.
    let content = bytes((20 << 20) + 4321);
    let new = || NewItem {
        kind: ItemKind::File,
        name: "big.bin".into(),
        content_type: "application/octet-stream".into(),
    };
    let item = s
        .client
        .upload(
            t,
            &l.keys,
            new(),
            Source::Bytes(content.clone()),
            &no_progress,
        )
        .await
        .unwrap();
    let small = s
        .client
        .upload(
            t,
            &l.keys,
            new(),
            Source::Bytes(b"small".to_vec()),
            &no_progress,
        )
        .await
        .unwrap();
    for (id, expected) in [(&item.id, &content), (&small.id, &b"small".to_vec())] {
        let got = s.client.item(t, &l.keys, id).await.unwrap();
        let mut out = Vec::new();
        s.client
            .download(t, &got, &mut out, &no_progress)
            .await
            .unwrap();
        assert!(out == *expected, "item {id} came back different");
    }
    let objects = moto.objects(&location).await;
    assert!(
        objects.contains(&format!("cofre/blobs/{}/complete", item.id)),
        "{objects:?}"
    );
    assert!(
        !objects.iter().any(|o| o.starts_with("cofre/uploads/")),
        "{objects:?}"
    );

    // An abandoned upload and an orphan blob, for the cleanup pass.
    let tok = t.expose().to_owned();
    let abandoned = "ab".repeat(16);
    let (st, _, _) = post_raw(
        &s,
        "/items",
        Some(&tok),
        &format!(r#"{{"id":"{abandoned}","size":5000}}"#),
    )
    .await;
    assert_eq!(st, 201);
    let r = s
        .http
        .put(s.url(&format!("/items/{abandoned}/body?offset=0")))
        .bearer_auth(&tok)
        .body(vec![1u8; 1000])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let orphan = "fe".repeat(16);
    let mut body: &[u8] = b"orphan";
    let blobs = &s.state.blobs;
    let pinned = std::pin::Pin::new(&mut body);
    blobs.write_part(&orphan, 0, pinned, 6, 6).await.unwrap();
    blobs.finish(&orphan).await.unwrap();

    s.client.delete_item(t, &item.id).await.unwrap();
    s.client.delete_item(t, &small.id).await.unwrap();
    let later = cofre_server::clock::now() + s.state.config.upload_expiry_secs + 1;
    let r = cofre_server::cleanup::run_once(&s.state, later)
        .await
        .unwrap();
    assert_eq!((r.expired_uploads, r.orphans), (1, 1));
    assert_eq!(blobs.list().await.unwrap(), vec![]);
    assert_eq!(moto.objects(&location).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_bucket_stops_the_server_at_start() {
    let Some(moto) = moto::moto() else { return };
    let mut location = moto.bucket("").await;
    location.bucket = format!("{}-missing", location.bucket);
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path().join("data"));
    config.blobs = BlobLocation::S3(location.clone());
    let e = cofre_server::app::open(config).await.err().unwrap();
    let shown = e.to_string();
    assert!(
        shown.starts_with("blob store: s3://") && shown.contains(&location.bucket),
        "{shown}"
    );
    assert!(!shown.contains(moto::SECRET), "a credential in {shown}");
}
