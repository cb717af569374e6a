//! On SQLite the hot point reads (a request's session check, one item, one item read
//! through a share) run inline on their own read-only connections. They must answer
//! exactly as the sqlx pool does and see every commit made elsewhere
//! (`session_checks.rs` covers that through the server). That a locked database is
//! handed to the pool without waiting is tested in `store/point_reads.rs` (a WAL
//! database, which the server always has, does not lock readers out).

use cofre_client::vault::{NewItem, Source};
use cofre_core::vault::ItemKind;
use cofre_server::store::Store;

use crate::support::*;

/// Every point read of `store` and of the same database without the inline path, side
/// by side (Debug forms: the rows have no `PartialEq`).
async fn both(store: &Store, pool: &Store, sid: &str, owner: &str, id: &str) -> [String; 2] {
    let mut out = [String::new(), String::new()];
    for (s, o) in [store, pool].into_iter().zip(out.iter_mut()) {
        *o = format!(
            "{:?} | {:?} | {:?}",
            s.session_auth(sid).await.unwrap(),
            s.item(owner, id).await.unwrap(),
            s.shared_item(owner, id).await.unwrap(),
        );
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn point_reads_answer_as_the_pool_does() {
    if sqlite_only("the inline point-read path exists on SQLite only") {
        return;
    }
    let s = start(|_| {}).await;
    register(&s, "root").await;
    for name in ["alice", "bob", "carol"] {
        register(&s, name).await;
    }
    let (alice, bob) = (login(&s, "alice").await, login(&s, "bob").await);
    let ta = &alice.tokens.access_token;
    let item = s
        .client
        .upload(
            ta,
            &alice.keys,
            NewItem {
                kind: ItemKind::Note,
                name: "plan".into(),
                content_type: "text/plain".into(),
            },
            Source::Bytes(b"meet at noon".to_vec()),
            &|_, _| {},
        )
        .await
        .unwrap();
    let bob_key = s.client.public_key(ta, "bob").await.unwrap();
    s.client
        .share(ta, &alice.keys, "alice", &item, &bob_key)
        .await
        .unwrap();
    let (alice_sid, bob_sid) = (&alice.tokens.session_id, &bob.tokens.session_id);
    let (alice_id, bob_id) = (&alice.user.user_id, &bob.user.user_id);
    let carol_id = s
        .state
        .store
        .user_by_name("carol")
        .await
        .unwrap()
        .unwrap()
        .id;

    let store = open_database(&s.state.config).await;
    let pool = open_database(&s.state.config).await.without_point_reads();
    assert!(pool.point_read_stats().is_none());
    let before = store.point_read_stats().unwrap();
    let missing = "0".repeat(32);
    // (session, account asking, item) with what each lookup must find.
    let cases = [
        // Alice's own item: hers, not shared with herself.
        (alice_sid, alice_id, &item.id, [true, true, false]),
        // Bob: not his, shared with him.
        (bob_sid, bob_id, &item.id, [true, false, true]),
        // Carol: neither.
        (bob_sid, &carol_id, &item.id, [true, false, false]),
        // No such item, no such session.
        (alice_sid, alice_id, &missing, [true, false, false]),
        (&missing, alice_id, &missing, [false, false, false]),
    ];
    for (sid, owner, id, found) in cases {
        let [inline, pooled] = both(&store, &pool, sid, owner, id).await;
        assert_eq!(inline, pooled, "for {owner} reading {id}");
        let some: Vec<bool> = inline.split(" | ").map(|p| p.starts_with("Some")).collect();
        assert_eq!(some, found, "for {owner} reading {id}: {inline}");
    }
    // The shared read carries Bob's wrapped key and Alice's signature, not hers.
    let shared = store.shared_item(bob_id, &item.id).await.unwrap().unwrap();
    let own = store.item(alice_id, &item.id).await.unwrap().unwrap();
    assert!(shared.signature.is_some() && own.signature.is_none());
    assert_ne!(shared.wrapped_key, own.wrapped_key);
    assert_eq!(shared.owner, "alice");

    // All of it was answered inline: 3 reads per case, plus the two just above.
    let after = store.point_read_stats().unwrap();
    assert_eq!(after.served - before.served, 3 * 5 + 2);
    assert_eq!(after.fell_back, before.fell_back);
    // And the server's own store answered its requests inline too.
    let server = s.state.store.point_read_stats().unwrap();
    assert!(server.served > 0 && server.fell_back == 0, "{server:?}");

    // A clean stop leaves no write-ahead log behind: the read-only connections close
    // before the pool's last one, which checkpoints the log and removes it.
    store.close().await;
    pool.close().await;
    let db = s.state.config.database_path();
    let wal = std::path::PathBuf::from(format!("{}-wal", db.display()));
    assert!(wal.exists());
    let _dir = s.stop().await;
    assert!(db.exists());
    assert!(!wal.exists(), "the write-ahead log outlived the server");
}
