//! Listing from the owner copies of item metadata (FORMAT.md 9.12): every write path
//! stores one; a listing reads names without the RSA private key; a vault of items
//! without copies migrates on its first listing (page by page, resumable) and lists
//! correctly meanwhile; a server that swaps, damages, moves or replays copies is caught
//! (the item falls back to the RSA path, which authenticates the item-key box itself,
//! and gets a fresh copy); rotation, password change and recovery keep copies valid.

use cofre_client::client::{LoggedIn, SecondFactor};
use cofre_client::listing::{ListedItem, MetadataSource};
use cofre_client::vault::{NewItem, Source, VaultItem};
use cofre_core::keys::UnlockedKeys;
use cofre_core::secret::Password;
use cofre_core::vault::ItemKind;

use crate::support::*;

fn no_progress(_: u64, _: u64) {}

fn note(name: &str) -> NewItem {
    NewItem {
        kind: ItemKind::Note,
        name: name.into(),
        content_type: "text/plain; charset=utf-8".into(),
    }
}

async fn user(s: &TestServer, name: &str) -> LoggedIn {
    register(s, name).await;
    login(s, name).await
}

async fn store(s: &TestServer, l: &LoggedIn, name: &str) -> VaultItem {
    s.client
        .upload(
            &l.tokens.access_token,
            &l.keys,
            note(name),
            Source::Bytes(name.as_bytes().to_vec()),
            &no_progress,
        )
        .await
        .unwrap()
}

async fn sql(s: &TestServer, q: &str) {
    s.state.store.raw_execute(q).await.unwrap();
}

/// The owner copy of `id` as the server serves it to its owner `l`, or `None`.
async fn stored_copy(s: &TestServer, l: &LoggedIn, id: &str) -> Option<String> {
    let (status, item) = get_raw(s, &format!("/items/{id}"), l.tokens.access_token.expose()).await;
    assert_eq!(status, 200);
    item["owner_metadata"].as_str().map(str::to_owned)
}

/// Keys with the same user key as `keys` but another RSA private key, which unwraps
/// none of the account's item keys: what a listing can do without the real one.
fn without_private_key(keys: &UnlockedKeys) -> UnlockedKeys {
    keys.new_key_pair().unwrap().2
}

/// `(name, source)` of each listed item, sorted by name; an item whose metadata did not
/// authenticate shows as `"<damaged>"`.
fn names(items: &[ListedItem]) -> Vec<(String, MetadataSource)> {
    let mut v: Vec<_> = items
        .iter()
        .map(|i| {
            (
                i.metadata
                    .as_ref()
                    .map_or_else(|_| "<damaged>".to_owned(), |m| m.name.clone()),
                i.source,
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_stores_an_owner_copy_and_listing_needs_no_private_key() {
    let s = start(|_| {}).await;
    let l = user(&s, "alice").await;
    let t = &l.tokens.access_token;
    let a = store(&s, &l, "alpha").await;
    let b = store(&s, &l, "beta").await;
    assert!(stored_copy(&s, &l, &a.id).await.is_some());
    assert!(stored_copy(&s, &l, &b.id).await.is_some());

    // A rename writes a new copy beside the new metadata.
    let before = stored_copy(&s, &l, &b.id).await;
    s.client
        .rename(t, &l.keys, &b, "beta renamed")
        .await
        .unwrap();
    let after = stored_copy(&s, &l, &b.id).await;
    assert!(after.is_some() && after != before);

    // A new version (put --replace, edit) too.
    let checkpoint = cofre_client::resume::UploadCheckpoint::new_version(&a, 11).unwrap();
    s.client
        .upload_file(
            t,
            &l.keys,
            note("alpha v2"),
            Box::new(std::io::Cursor::new(b"new version".to_vec())),
            &checkpoint,
            None,
            &no_progress,
        )
        .await
        .unwrap();

    // Listed with keys whose private key unwraps nothing: every name is there, read
    // from the owner copies.
    let blind = without_private_key(&l.keys);
    let (listed, report) = s.client.list_with_report(t, &blind).await.unwrap();
    assert_eq!(
        names(&listed),
        vec![
            ("alpha v2".to_owned(), MetadataSource::OwnerCopy),
            ("beta renamed".to_owned(), MetadataSource::OwnerCopy),
        ]
    );
    assert_eq!(report.opened_with_rsa, 0);
    assert_eq!(report.from_owner_copy, 2);
    // The sizes and dates are the item-key copy's.
    let full = s.client.items(t, &l.keys).await.unwrap();
    for f in &full {
        let m = &f.content().unwrap().metadata;
        let one = listed.iter().find(|i| i.id == f.id).unwrap();
        assert_eq!(one.content().unwrap(), m);
    }
    // Without the private key an item cannot be opened for its key.
    assert!(listed[0].open(&blind).content().is_err());
    assert!(listed[0].open(&l.keys).content().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_vault_migrates_on_its_first_listing_and_lists_correctly_meanwhile() {
    let s = start(|_| {}).await;
    let l = user(&s, "alice").await;
    let t = &l.tokens.access_token;
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(store(&s, &l, &format!("item {i}")).await.id);
    }
    // Four items as an older client wrote them: no owner copy.
    for id in &ids[..4] {
        sql(
            &s,
            &format!("UPDATE items SET owner_metadata = NULL WHERE id = '{id}'"),
        )
        .await;
    }
    let blind = without_private_key(&l.keys);
    // A mixed vault, listed without the private key: the new items list, the old ones
    // need it (and no copy can be made for them: nothing is stored).
    let (listed, report) = s.client.list_with_report(t, &blind).await.unwrap();
    assert_eq!(report.from_owner_copy, 3);
    assert_eq!(report.opened_with_rsa, 4);
    assert_eq!(report.copies_stored, 0);
    assert_eq!(
        listed.iter().filter(|i| i.metadata.is_err()).count(),
        4,
        "old items need the RSA path"
    );
    for id in &ids[..4] {
        assert!(stored_copy(&s, &l, id).await.is_none());
    }

    // With the keys: every item lists, the old ones through RSA, and get copies.
    let (listed, report) = s.client.list_with_report(t, &l.keys).await.unwrap();
    let expect: Vec<String> = (0..7).map(|i| format!("item {i}")).collect();
    let got: Vec<String> = names(&listed).into_iter().map(|(n, _)| n).collect();
    assert_eq!(got, expect);
    assert_eq!(report.opened_with_rsa, 4);
    assert_eq!(report.copies_stored, 4);
    for id in &ids {
        assert!(stored_copy(&s, &l, id).await.is_some());
    }
    // Migrated: the next listing needs no private key.
    let (listed, report) = s.client.list_with_report(t, &blind).await.unwrap();
    assert_eq!(report.opened_with_rsa, 0);
    assert_eq!(
        names(&listed)
            .into_iter()
            .map(|(n, _)| n)
            .collect::<Vec<_>>(),
        expect
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_made_before_a_concurrent_rename_is_not_stored() {
    let s = start(|_| {}).await;
    let l = user(&s, "alice").await;
    let t = &l.tokens.access_token;
    let a = store(&s, &l, "before").await;
    let raw: cofre_api::vault::Item =
        serde_json::from_value(get_raw(&s, &format!("/items/{}", a.id), t.expose()).await.1)
            .unwrap();
    // A client computes a copy for the item as it was...
    let old_box = cofre_core::format::SealedBox::from_text(&raw.metadata).unwrap();
    let stale = a
        .content()
        .unwrap()
        .metadata
        .seal_owner_copy(&l.keys.vault_meta_key().unwrap(), &a.id, &old_box)
        .unwrap();
    // ...another renames it meanwhile...
    s.client.rename(t, &l.keys, &a, "after").await.unwrap();
    let renamed_copy = stored_copy(&s, &l, &a.id).await;
    // ...and the first one's copy is refused: it names the old metadata.
    let n = s
        .client
        .store_owner_copies(
            t,
            vec![cofre_api::vault::OwnerMetadataCopy {
                id: a.id.clone(),
                metadata: old_box,
                owner_metadata: stale,
            }],
        )
        .await
        .unwrap();
    assert_eq!(n, 0);
    assert_eq!(stored_copy(&s, &l, &a.id).await, renamed_copy);

    // Another account cannot set copies on alice's items.
    let m = user(&s, "mallory").await;
    let raw: cofre_api::vault::Item =
        serde_json::from_value(get_raw(&s, &format!("/items/{}", a.id), t.expose()).await.1)
            .unwrap();
    let boxed = cofre_core::format::SealedBox::from_text(&raw.metadata).unwrap();
    let forged = a
        .content()
        .unwrap()
        .metadata
        .seal_owner_copy(&m.keys.vault_meta_key().unwrap(), &a.id, &boxed)
        .unwrap();
    let n = s
        .client
        .store_owner_copies(
            &m.tokens.access_token,
            vec![cofre_api::vault::OwnerMetadataCopy {
                id: a.id.clone(),
                metadata: boxed,
                owner_metadata: forged,
            }],
        )
        .await
        .unwrap();
    assert_eq!(n, 0);
    assert_eq!(stored_copy(&s, &l, &a.id).await, renamed_copy);
    // Too many copies at once is refused.
    let e = s
        .client
        .store_owner_copies(
            t,
            vec![
                cofre_api::vault::OwnerMetadataCopy {
                    id: a.id.clone(),
                    metadata: cofre_core::format::SealedBox::from_text(&raw.metadata).unwrap(),
                    owner_metadata: cofre_core::format::SealedBox::from_text(&raw.metadata)
                        .unwrap(),
                };
                cofre_api::vault::MAX_OWNER_METADATA_BATCH + 1
            ],
        )
        .await
        .err()
        .unwrap();
    assert_eq!(api_code(&e), cofre_api::ErrorCode::BadRequest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_swaps_replays_or_damages_copies_is_caught() {
    let s = start(|_| {}).await;
    let alice = user(&s, "alice").await;
    let bob = user(&s, "bob").await;
    let t = &alice.tokens.access_token;
    let a = store(&s, &alice, "a-name").await;
    let b = store(&s, &alice, "b-name").await;
    let c = store(&s, &alice, "c-name").await;
    let bobs = store(&s, &bob, "bob's").await;
    let (ca, cb) = (
        stored_copy(&s, &alice, &a.id).await.unwrap(),
        stored_copy(&s, &alice, &b.id).await.unwrap(),
    );
    let c_before_rename = stored_copy(&s, &alice, &c.id).await.unwrap();
    s.client
        .rename(t, &alice.keys, &c, "c-renamed")
        .await
        .unwrap();
    let cbob = stored_copy(&s, &bob, &bobs.id).await.unwrap();

    let expect = vec![
        ("a-name".to_owned(), MetadataSource::OwnerCopy),
        ("b-name".to_owned(), MetadataSource::OwnerCopy),
        ("c-renamed".to_owned(), MetadataSource::OwnerCopy),
    ];
    // Each attack: a's copy and b's swapped; bob's copy on alice's item; c's copy from
    // before its rename (a replay); a flipped byte; garbage.
    let mut flipped = ca.clone().into_bytes();
    let last = flipped.len() - 2;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let attacks: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("swapped between items", vec![(&a.id, &cb), (&b.id, &ca)]),
        ("another account's copy", vec![(&a.id, &cbob)]),
        (
            "replayed from before a rename",
            vec![(&c.id, &c_before_rename)],
        ),
        ("a flipped byte", vec![(&a.id, &flipped)]),
        ("not base64url", vec![(&b.id, "not base64!")]),
    ];
    let blind = without_private_key(&alice.keys);
    for (what, changes) in attacks {
        for (id, value) in &changes {
            sql(
                &s,
                &format!("UPDATE items SET owner_metadata = '{value}' WHERE id = '{id}'"),
            )
            .await;
        }
        // Without the private key, the attacked items do not list under a wrong name:
        // their copy does not authenticate, and the RSA path fails.
        let listed = s.client.list(t, &blind).await.unwrap();
        for (id, _) in &changes {
            let one = listed.iter().find(|i| &i.id == id).unwrap();
            assert!(one.metadata.is_err(), "{what}: {id} listed from a bad copy");
        }
        // With it, every item lists right (the attacked ones through RSA) and gets a
        // good copy back.
        let (listed, report) = s.client.list_with_report(t, &alice.keys).await.unwrap();
        assert_eq!(report.opened_with_rsa, changes.len(), "{what}");
        assert_eq!(report.copies_stored, changes.len(), "{what}");
        let fixed = s.client.list(t, &blind).await.unwrap();
        assert_eq!(names(&fixed), expect, "{what}");
        assert_eq!(
            names(&listed)
                .into_iter()
                .map(|(n, _)| n)
                .collect::<Vec<_>>(),
            vec!["a-name", "b-name", "c-renamed"],
            "{what}"
        );
    }
    // Bob never sees alice's copies, nor she his, through a share.
    let bob_key = s.client.public_key(t, "bob").await.unwrap();
    s.client
        .share(t, &alice.keys, "alice", &a, &bob_key)
        .await
        .unwrap();
    let (_, shared) = get_raw(&s, "/shared", bob.tokens.access_token.expose()).await;
    assert_eq!(shared["items"].as_array().unwrap().len(), 1);
    assert!(shared["items"][0].get("owner_metadata").is_none());
    let (_, one) = get_raw(
        &s,
        &format!("/items/{}", a.id),
        bob.tokens.access_token.expose(),
    )
    .await;
    assert!(one.get("owner_metadata").is_none());
    let (_, own) = get_raw(&s, &format!("/items/{}", a.id), t.expose()).await;
    assert!(own["owner_metadata"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_password_change_and_recovery_keep_listing_without_rsa() {
    let s = start(|_| {}).await;
    let reg = register(&s, "alice").await;
    let alice = login(&s, "alice").await;
    let t = &alice.tokens.access_token;
    store(&s, &alice, "one").await;
    store(&s, &alice, "two").await;
    let expect = vec![
        ("one".to_owned(), MetadataSource::OwnerCopy),
        ("two".to_owned(), MetadataSource::OwnerCopy),
    ];

    let rotated = s
        .client
        .rotate_keys(t, &alice.keys, &alice.account_keys, "alice", &no_progress)
        .await
        .unwrap();
    let after_rotation = login(&s, "alice").await;
    assert!(after_rotation.keys.public_key() == rotated.keys.public_key());
    let t = &after_rotation.tokens.access_token;
    let (listed, report) = s
        .client
        .list_with_report(t, &without_private_key(&after_rotation.keys))
        .await
        .unwrap();
    assert_eq!(names(&listed), expect);
    assert_eq!(report.opened_with_rsa, 0);
    // The rotated key opens them for download; the old one no longer does.
    assert!(listed[0].open(&after_rotation.keys).content().is_ok());
    assert!(listed[0].open(&alice.keys).content().is_err());

    s.client
        .change_password(
            t,
            "alice",
            &Password::new(PASSWORD),
            &Password::new(NEW_PASSWORD),
        )
        .await
        .unwrap();
    let changed = s
        .client
        .login("alice", &Password::new(NEW_PASSWORD), SecondFactor::None)
        .await
        .unwrap();
    let (listed, report) = s
        .client
        .list_with_report(
            &changed.tokens.access_token,
            &without_private_key(&changed.keys),
        )
        .await
        .unwrap();
    assert_eq!(names(&listed), expect);
    assert_eq!(report.opened_with_rsa, 0);

    s.client
        .recover("alice", &reg.recovery_key, &Password::new(PASSWORD))
        .await
        .unwrap();
    let recovered = login(&s, "alice").await;
    let (listed, report) = s
        .client
        .list_with_report(
            &recovered.tokens.access_token,
            &without_private_key(&recovered.keys),
        )
        .await
        .unwrap();
    assert_eq!(names(&listed), expect);
    assert_eq!(report.opened_with_rsa, 0);
}
