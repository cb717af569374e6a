//! Moving a store from SQLite to PostgreSQL (`Store::copy_into`): a server filled
//! through the API is copied into a fresh PostgreSQL database, every table verifies,
//! and a server on the copy serves the same accounts and bytes; the table list matches
//! the live PostgreSQL schema; a destination with data is refused and left as it was;
//! a copy that differs from its source fails the verification, and one that fails it
//! while copying is rolled back; the snapshot a migration starts from writes nothing to
//! the source database, in use or not.
//!
//! These tests need both backends, so they run in the `api_postgres` binary only (the
//! `api` binary says it skips them); there, PostgreSQL must answer under `CI=true`.

use cofre_client::client::SecondFactor;
use cofre_client::vault::{NewItem, Source};
use cofre_core::secret::Password;
use cofre_core::totp::TotpSecret;
use cofre_core::vault::ItemKind;
use cofre_server::store::copy::{TABLES, schema_differences};
use cofre_server::store::{Store, StoreError};
use sqlx::Connection as _;

use crate::support::*;

/// A fresh database, or `None` (having said why) when these tests do not run here.
async fn fresh_db(test: &str) -> Option<FreshDb> {
    if env!("CARGO_CRATE_NAME") != "api_postgres" {
        eprintln!("SKIPPED {test}: runs in the api_postgres test binary (needs PostgreSQL)");
        return None;
    }
    match fresh_postgres("cofre_migrate").await {
        Ok(db) => Some(db),
        Err(why) => unavailable(test, &why),
    }
}

fn unavailable(test: &str, why: &str) -> Option<FreshDb> {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{test} needs PostgreSQL at 127.0.0.1:5432 under CI=true: {why}");
    }
    eprintln!("SKIPPED {test}: no PostgreSQL at 127.0.0.1:5432 ({why})");
    None
}

fn code_at(secret: &TotpSecret, offset_steps: i64) -> String {
    let now = cofre_server::clock::now() + offset_steps * 30;
    secret.code_at(u64::try_from(now).unwrap()).unwrap()
}

/// A SQLite server on a fresh data directory, whichever binary runs.
async fn sqlite_server(dir: &tempfile::TempDir) -> TestServer {
    launch(test_config(dir.path().join("data"))).await
}

async fn put(s: &TestServer, who: &cofre_client::client::LoggedIn, name: &str, body: Vec<u8>) {
    s.client
        .upload(
            &who.tokens.access_token,
            &who.keys,
            NewItem {
                kind: ItemKind::File,
                name: name.into(),
                content_type: "application/octet-stream".into(),
            },
            Source::Bytes(body),
            &|_, _| {},
        )
        .await
        .unwrap();
}

/// Every item `who` can read (own and shared), by id, decrypted.
async fn contents(
    s: &TestServer,
    who: &cofre_client::client::LoggedIn,
) -> std::collections::BTreeMap<String, Vec<u8>> {
    let t = &who.tokens.access_token;
    let mut items = s.client.items(t, &who.keys).await.unwrap();
    items.extend(s.client.shared_with_me(t, &who.keys).await.unwrap());
    let mut out = std::collections::BTreeMap::new();
    for item in items {
        let mut body = Vec::new();
        s.client
            .download(t, &item, &mut body, &|_, _| {})
            .await
            .unwrap();
        out.insert(item.id.clone(), body);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filled_sqlite_store_moves_to_postgresql_and_serves_the_same_data() {
    let Some(db) = fresh_db("a_filled_sqlite_store_moves_to_postgresql").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let s = sqlite_server(&dir).await;
    register(&s, "alice").await;
    register(&s, "bob").await;
    let alice = login(&s, "alice").await;
    let bob = login(&s, "bob").await;
    // TOTP for alice, confirmed with the previous step's code.
    let enrol = s
        .client
        .mfa_enroll(&alice.tokens.access_token)
        .await
        .unwrap();
    let secret = TotpSecret::from_bytes(
        &data_encoding::BASE32_NOPAD
            .decode(enrol.secret_base32.expose().as_bytes())
            .unwrap(),
    )
    .unwrap();
    s.client
        .mfa_confirm(&alice.tokens.access_token, &code_at(&secret, -1))
        .await
        .unwrap();
    // Items of several sizes, a share, a failed login (audit events).
    let big: Vec<u8> = (0..(3u32 << 20) + 5).map(|i| (i % 253) as u8).collect();
    put(&s, &alice, "empty", Vec::new()).await;
    put(&s, &alice, "small", b"a few bytes".to_vec()).await;
    put(&s, &alice, "big", big.clone()).await;
    put(&s, &bob, "bob's", vec![7u8; 70_000]).await;
    let items = s
        .client
        .items(&alice.tokens.access_token, &alice.keys)
        .await
        .unwrap();
    let shared = items.iter().find(|i| i.encoded_size > 1 << 20).unwrap();
    let bob_key = s
        .client
        .public_key(&alice.tokens.access_token, "bob")
        .await
        .unwrap();
    s.client
        .share(
            &alice.tokens.access_token,
            &alice.keys,
            "alice",
            shared,
            &bob_key,
        )
        .await
        .unwrap();
    assert!(
        s.client
            .login(
                "bob",
                &Password::new("not the password at all"),
                SecondFactor::None
            )
            .await
            .is_err()
    );
    let before_alice = contents(&s, &alice).await;
    let before_bob = contents(&s, &bob).await;
    assert_eq!(before_alice.len(), 3);
    assert_eq!(before_bob.len(), 2, "bob's own item and the share");
    let config = (*s.state.config).clone();
    s.stop().await;

    // The copy.
    let src = Store::open_sqlite(&config.database_path()).await.unwrap();
    let dst = Store::open_postgres(&db.url).await.unwrap();
    let report = src.copy_into(&dst).await.unwrap();
    let counts = src.row_counts().await.unwrap();
    for (table, n) in &counts {
        assert_eq!(report.rows(table), *n, "{table}");
    }
    assert_eq!(report.rows("users"), 2);
    assert_eq!(report.rows("items"), 4);
    assert_eq!(report.rows("item_shares"), 1);
    assert_eq!(report.rows("mfa_totp"), 1);
    assert_eq!(report.rows("mfa_recovery_codes"), 10);
    assert!(report.rows("audit_log") >= 6, "{report:?}");
    assert_eq!(src.verify_copy(&dst).await.unwrap(), report);
    match cofre_server::audit::verify(&dst).await.unwrap() {
        cofre_server::audit::Verdict::Intact { rows } => {
            assert_eq!(u64::try_from(rows).unwrap(), report.rows("audit_log"));
        }
        other => panic!("{other:?}"),
    }
    // Copying again into the now filled database is refused.
    let err = src.copy_into(&dst).await.unwrap_err();
    assert!(matches!(err, StoreError::NotEmpty { .. }), "{err}");
    src.close().await;
    dst.close().await;

    // A server on the PostgreSQL copy, with the same data directory (keys, blobs).
    let mut pg = config.clone();
    pg.database_url = Some(db.url.clone());
    let s = launch(pg).await;
    let Err(err) = s
        .client
        .login("alice", &Password::new(PASSWORD), SecondFactor::None)
        .await
    else {
        panic!("alice logged in without her second factor");
    };
    assert_eq!(api_code(&err), cofre_api::ErrorCode::MfaRequired);
    let alice = s
        .client
        .login(
            "alice",
            &Password::new(PASSWORD),
            SecondFactor::Totp(code_at(&secret, 0)),
        )
        .await
        .unwrap();
    let bob = login(&s, "bob").await;
    assert_eq!(contents(&s, &alice).await, before_alice);
    assert_eq!(contents(&s, &bob).await, before_bob);
    assert!(before_alice.values().any(|b| *b == big));
    // New events chain onto the copied ones.
    match cofre_server::audit::verify(&s.state.store).await.unwrap() {
        cofre_server::audit::Verdict::Intact { rows } => {
            assert!(u64::try_from(rows).unwrap() > report.rows("audit_log"));
        }
        other => panic!("{other:?}"),
    }
    s.state.store.close().await;
    s.stop().await;

    // And the blobs into S3 (what `--blobs-to s3://…` does): a server with no data of
    // its own, on PostgreSQL, the bucket and the old key folder, serves every item.
    let Some(moto) = crate::moto::moto() else {
        return;
    };
    let location = moto.bucket("migrated").await;
    let bucket = cofre_server::blobs::BlobLocation::S3(location);
    let src_blobs = cofre_server::blobs::local::LocalBlobs::existing(&config.blobs_path()).unwrap();
    let dst_blobs = cofre_server::blobs::open_blob_store(&bucket, &config.data_dir)
        .await
        .unwrap();
    let src = Store::open_sqlite(&config.database_path()).await.unwrap();
    let ids = src.committed_item_ids().await.unwrap();
    src.close().await;
    let copied =
        cofre_server::blobs::copy::copy_blobs(&src_blobs, dst_blobs.as_ref(), &ids, &|_| {})
            .await
            .unwrap();
    assert_eq!(copied.blobs, 4);
    let fresh = tempfile::tempdir().unwrap();
    let mut scaled = config.clone();
    scaled.data_dir = fresh.path().join("data");
    scaled.database_url = Some(db.url.clone());
    scaled.keys_dir = Some(config.keys_path());
    scaled.blobs = bucket;
    let s = launch(scaled).await;
    let alice = s
        .client
        .login(
            "alice",
            &Password::new(PASSWORD),
            SecondFactor::Totp(code_at(&secret, 1)),
        )
        .await
        .unwrap();
    let bob = login(&s, "bob").await;
    assert_eq!(contents(&s, &alice).await, before_alice);
    assert_eq!(contents(&s, &bob).await, before_bob);
    assert!(
        !scaled_blobs_exist(&fresh.path().join("data")),
        "nothing was read from or written to a local blob folder"
    );
    s.state.store.close().await;
    s.stop().await;
}

/// Whether a data directory holds any blob file.
fn scaled_blobs_exist(data: &std::path::Path) -> bool {
    std::fs::read_dir(data.join("blobs"))
        .map(|mut d| d.next().is_some())
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_table_list_matches_a_freshly_migrated_postgresql_database() {
    let Some(db) = fresh_db("the_table_list_matches_postgresql").await else {
        return;
    };
    let store = Store::open_postgres(&db.url).await.unwrap();
    let live = store.live_schema().await.unwrap();
    assert_eq!(schema_differences(&live), Vec::<String>::new());
    assert_eq!(live.len(), TABLES.len());
    // No identity or serial column: explicit inserts need no sequence moved after them.
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    let generated: Vec<String> = sqlx::query(
        "SELECT table_name::text || '.' || column_name::text AS c FROM information_schema.columns
         WHERE table_schema = current_schema()
           AND (is_identity = 'YES' OR column_default LIKE 'nextval%')",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
    .iter()
    .map(|r| sqlx::Row::try_get(r, "c").unwrap())
    .collect();
    assert!(generated.is_empty(), "{generated:?}");
    let sequences: i64 = sqlx::Row::try_get(
        &sqlx::query("SELECT COUNT(*) AS n FROM information_schema.sequences")
            .fetch_one(&mut conn)
            .await
            .unwrap(),
        "n",
    )
    .unwrap();
    assert_eq!(sequences, 0);
    conn.close().await.ok();
    store.close().await;
}

/// A SQLite store with two accounts and some audit rows, written through a server.
async fn small_source(dir: &tempfile::TempDir) -> Store {
    let s = sqlite_server(dir).await;
    register(&s, "alice").await;
    register(&s, "bob").await;
    login(&s, "alice").await;
    let config = s.state.config.clone();
    s.stop().await;
    Store::open_sqlite(&config.database_path()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_with_data_is_refused_and_left_unchanged() {
    let Some(db) = fresh_db("a_destination_with_data_is_refused").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let src = small_source(&dir).await;
    // Someone else's account already in the destination.
    let other = tempfile::tempdir().unwrap();
    let mut c = test_config(other.path().join("data"));
    c.database_url = Some(db.url.clone());
    let s = launch(c).await;
    register(&s, "carol").await;
    s.state.store.close().await;
    s.stop().await;

    let dst = Store::open_postgres(&db.url).await.unwrap();
    let before = dst.verify_copy(&dst).await.unwrap();
    let err = src.copy_into(&dst).await.unwrap_err();
    assert!(matches!(err, StoreError::NotEmpty { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("destination database is not empty"),
        "{err}"
    );
    assert!(dst.ensure_empty().await.is_err());
    assert_eq!(dst.verify_copy(&dst).await.unwrap(), before, "unchanged");
    assert_eq!(before.rows("users"), 1);
    src.close().await;
    dst.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_that_differs_from_its_source_fails_the_verification() {
    let Some(db) = fresh_db("a_copy_that_differs_fails_the_verification").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let src = small_source(&dir).await;
    let dst = Store::open_postgres(&db.url).await.unwrap();
    src.copy_into(&dst).await.unwrap();
    src.verify_copy(&dst).await.unwrap();

    // One changed field: the digest differs, the counts do not.
    dst.raw_execute("UPDATE users SET locked = 1 WHERE username = 'bob'")
        .await
        .unwrap();
    let err = src.verify_copy(&dst).await.unwrap_err();
    match &err {
        StoreError::Mismatch { table, what, .. } => {
            assert_eq!((*table, *what), ("users", "content digest"));
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().starts_with("verification failed"), "{err}");
    dst.raw_execute("UPDATE users SET locked = 0 WHERE username = 'bob'")
        .await
        .unwrap();
    src.verify_copy(&dst).await.unwrap();

    // One missing row: the count differs.
    dst.raw_execute("DELETE FROM sessions").await.unwrap();
    let err = src.verify_copy(&dst).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Mismatch {
                table: "sessions",
                what: "row count",
                ..
            }
        ),
        "{err}"
    );
    src.close().await;
    dst.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_that_fails_its_verification_is_rolled_back() {
    let Some(db) = fresh_db("a_copy_that_fails_its_verification_is_rolled_back").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let src = small_source(&dir).await;
    let dst = Store::open_postgres(&db.url).await.unwrap();
    // The destination alters what it is given: the rows read back differ.
    dst.raw_execute(
        "CREATE FUNCTION lock_everyone() RETURNS trigger AS $$
         BEGIN NEW.locked := 1; RETURN NEW; END; $$ LANGUAGE plpgsql;
         CREATE TRIGGER lock_everyone BEFORE INSERT ON users
             FOR EACH ROW EXECUTE FUNCTION lock_everyone();",
    )
    .await
    .unwrap();
    let err = src.copy_into(&dst).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Mismatch {
                table: "users",
                what: "content digest",
                ..
            }
        ),
        "{err}"
    );
    // Nothing of the copy stayed.
    dst.ensure_empty().await.unwrap();
    assert_eq!(dst.verify_copy(&dst).await.unwrap().total_rows(), 0);
    // Without the interference, the same copy goes through.
    dst.raw_execute("DROP TRIGGER lock_everyone ON users")
        .await
        .unwrap();
    src.copy_into(&dst).await.unwrap();
    src.verify_copy(&dst).await.unwrap();
    src.close().await;
    dst.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_of_a_database_in_use_writes_nothing_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = sqlite_server(&dir).await;
    register(&s, "alice").await;
    let db = s.state.config.database_path();
    let beside = |suffix: &str| std::path::PathBuf::from(format!("{}{suffix}", db.display()));
    // The server has the database open: its write-ahead log is there.
    assert!(beside("-wal").exists());
    let read = |p: &std::path::Path| std::fs::read(p).unwrap();
    let (before_db, before_wal) = (read(&db), read(&beside("-wal")));
    let out = dir.path().join("snapshot.db");
    cofre_server::store::copy::snapshot_sqlite(&db, &out)
        .await
        .unwrap();
    assert_eq!(read(&db), before_db, "database file unchanged");
    assert_eq!(
        read(&beside("-wal")),
        before_wal,
        "write-ahead log unchanged"
    );
    let copy = Store::open_sqlite(&out).await.unwrap();
    assert_eq!(copy.row_counts().await.unwrap()[0], ("users", 1));
    copy.close().await;
    // Stopped cleanly, the file alone is the database: it is copied as it is.
    s.stop().await;
    assert!(!beside("-wal").exists());
    let before = read(&db);
    let out = dir.path().join("snapshot-2.db");
    cofre_server::store::copy::snapshot_sqlite(&db, &out)
        .await
        .unwrap();
    assert_eq!(read(&out), before);
    assert_eq!(read(&db), before);
    assert!(!beside("-wal").exists() && !beside("-shm").exists());
    // No database there: a clear error.
    let err = cofre_server::store::copy::snapshot_sqlite(&dir.path().join("none.db"), &out)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no such database file"), "{err}");
}
