//! A full disk: the data directory on a small tmpfs, filled up. A write refused for lack
//! of space answers 507 `insufficient_storage`; reads go on; once space is freed, writes
//! work again on their own (no restart), and what was stored is intact.
//!
//! Two cases: the blob folder's file system fills (both backends; the database is
//! elsewhere), and the data directory's fills with the SQLite database in it.
//! Mounting needs root (CAP_SYS_ADMIN): where it is not permitted the tests say so and
//! skip, except under `CI=true`, where they fail.

use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use cofre_api::ErrorCode;
use cofre_client::client::LoggedIn;
use cofre_client::vault::{NewItem, Source};
use cofre_core::format::stream;
use cofre_core::secret::Password;
use cofre_core::vault::ItemKind;

use crate::support::*;

/// A tmpfs mounted on a temporary folder for one test; unmounted when dropped, also when
/// the test panics.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (as `mount -o size=` reads it). `None`, having said why,
    /// where mounting is not permitted; under `CI=true` that fails the test instead.
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output();
        let why = match out {
            Ok(o) if o.status.success() => return Some(Self { dir }),
            Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_owned(),
            Err(e) => e.to_string(),
        };
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!(
                "the disk-full test must mount a tmpfs under CI (needs root or CAP_SYS_ADMIN): {why}"
            );
        }
        eprintln!(
            "SKIPPED disk_full: mounting a tmpfs is not permitted here (needs root or CAP_SYS_ADMIN): {why}"
        );
        None
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: the server may still hold files open while it shuts down.
        let _ = std::process::Command::new("umount")
            .arg("--lazy")
            .arg(self.dir.path())
            .status();
    }
}

/// Writes `path` until the file system is full; returns the bytes written.
fn fill(path: &Path) -> u64 {
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0x5a_u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        match f.write(&chunk) {
            Ok(0) => break,
            Ok(n) => total += n as u64,
            Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
            Err(e) => panic!("filling {}: {e}", path.display()),
        }
    }
    total
}

fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u32)
                .wrapping_mul(2_654_435_761)
                .rotate_left(u32::from(seed)) as u8
        })
        .collect()
}

async fn upload(
    s: &TestServer,
    l: &LoggedIn,
    kind: ItemKind,
    name: &str,
    bytes: Vec<u8>,
) -> Result<String, cofre_client::ClientError> {
    let item = NewItem {
        kind,
        name: name.to_owned(),
        content_type: "application/octet-stream".into(),
    };
    s.client
        .upload(
            &l.tokens.access_token,
            &l.keys,
            item,
            Source::Bytes(bytes),
            &|_, _| {},
        )
        .await
        .map(|i| i.id)
}

fn new_id() -> String {
    data_encoding::HEXLOWER.encode(&cofre_core::primitives::rand::array::<16>().unwrap())
}

/// Starts an upload of `size` bytes under `id` by raw HTTP; returns (status, body).
async fn create_raw(s: &TestServer, token: &str, id: &str, size: u64) -> (u16, serde_json::Value) {
    let (status, _, body) = post_raw(
        s,
        "/items",
        Some(token),
        &serde_json::json!({ "id": id, "size": size }).to_string(),
    )
    .await;
    (status, body)
}

/// Sends `bytes` as the part at offset 0 of upload `id`; returns (status, body).
async fn put_part_raw(
    s: &TestServer,
    token: &str,
    id: &str,
    bytes: Vec<u8>,
) -> (u16, serde_json::Value) {
    let resp = s
        .http
        .put(s.url(&format!("/items/{id}/body?offset=0")))
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_default())
}

fn assert_full(status: u16, body: &serde_json::Value, what: &str) {
    assert_eq!(
        (status, code(body)),
        (507, "insufficient_storage"),
        "{what}: {body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("full")),
        "{what}: {body}"
    );
}

/// Retries `attempt` until it succeeds, for at most `within`; panics with the last error.
async fn soon<T, E: std::fmt::Debug, F: std::future::Future<Output = Result<T, E>>>(
    within: Duration,
    what: &str,
    mut attempt: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        match attempt().await {
            Ok(v) => return v,
            Err(e) if Instant::now() >= deadline => {
                panic!("{what}: still failing {within:?} after space was freed: {e:?}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// What a test stores before the disk fills: a file and a note, with their plaintexts.
struct Stored {
    file: (String, Vec<u8>),
    note: (String, Vec<u8>),
}

async fn store_some(s: &TestServer, l: &LoggedIn) -> Stored {
    let file = data(300_000, 3);
    let file_id = upload(s, l, ItemKind::File, "before.bin", file.clone())
        .await
        .unwrap();
    let note = b"the safe combination is 12-34-56".to_vec();
    let note_id = upload(s, l, ItemKind::Note, "note", note.clone())
        .await
        .unwrap();
    Stored {
        file: (file_id, file),
        note: (note_id, note),
    }
}

/// The listing and both items, byte for byte, and the usage: reads that must work
/// whether the disk is full or not.
async fn check_reads(s: &TestServer, l: &LoggedIn, stored: &Stored) {
    let listed = s
        .client
        .items(&l.tokens.access_token, &l.keys)
        .await
        .unwrap();
    let mut ids: Vec<_> = listed.iter().map(|i| i.id.clone()).collect();
    ids.sort();
    let mut want = vec![stored.file.0.clone(), stored.note.0.clone()];
    want.sort();
    assert_eq!(ids, want);
    assert_eq!(fetch(s, l, &stored.file.0).await, stored.file.1);
    assert_eq!(fetch(s, l, &stored.note.0).await, stored.note.1);
    let (status, _) = get_raw(s, "/items/usage", l.tokens.access_token.expose()).await;
    assert_eq!(status, 200);
}

async fn login_again(s: &TestServer) -> Result<LoggedIn, cofre_client::ClientError> {
    s.client
        .login(
            "alice",
            &Password::new(PASSWORD),
            cofre_client::client::SecondFactor::None,
        )
        .await
}

/// After space was freed: new uploads (a file and a note) work and read back, and the
/// items stored before are intact.
async fn check_writes_are_back(s: &TestServer, l: &LoggedIn, stored: &Stored) {
    let file = data(200_000, 7);
    let file_id = upload(s, l, ItemKind::File, "after.bin", file.clone())
        .await
        .unwrap();
    let note_id = upload(s, l, ItemKind::Note, "after note", b"back".to_vec())
        .await
        .unwrap();
    assert_eq!(fetch(s, l, &file_id).await, file);
    assert_eq!(fetch(s, l, &note_id).await, b"back");
    assert_eq!(fetch(s, l, &stored.file.0).await, stored.file.1);
    assert_eq!(fetch(s, l, &stored.note.0).await, stored.note.1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_blob_folder_refuses_uploads_with_507_and_recovers_at_once() {
    let Some(tmpfs) = Tmpfs::mount("4m") else {
        return;
    };
    let blobs = tmpfs.path().join("blobs");
    let s = start(|c| c.blobs = cofre_server::blobs::BlobLocation::Folder(blobs.clone())).await;
    register(&s, "alice").await;
    let alice = login(&s, "alice").await;
    let token = alice.tokens.access_token.expose().to_owned();
    let stored = store_some(&s, &alice).await;
    let filler = tmpfs.path().join("filler");
    assert!(fill(&filler) > 0);

    // Parts of every size are refused clearly, and nothing of them counts as received:
    // a small one (written in one go, whose failure shows only when flushed) and a
    // large one.
    for size in [20_000usize, 1 << 20] {
        let id = new_id();
        let (status, body) = create_raw(&s, &token, &id, size as u64).await;
        assert_eq!(status, 201, "{body}");
        let (status, body) = put_part_raw(&s, &token, &id, data(size, 9)).await;
        assert_full(status, &body, &format!("a part of {size} bytes"));
        let (status, body) = get_raw(&s, &format!("/items/{id}/upload"), &token).await;
        assert_eq!(
            (status, body["received"].as_u64()),
            (200, Some(0)),
            "{body}"
        );
    }
    let refused = upload(&s, &alice, ItemKind::File, "during.bin", data(50_000, 5))
        .await
        .unwrap_err();
    assert_eq!(
        api_code(&refused),
        ErrorCode::InsufficientStorage,
        "{refused}"
    );

    // The database is not full: logging in works, and so do reads.
    let again = login_again(&s).await.unwrap();
    check_reads(&s, &again, &stored).await;
    let listed = s
        .client
        .items(&alice.tokens.access_token, &alice.keys)
        .await
        .unwrap();
    assert_eq!(listed.len(), 2, "a refused upload became an item");

    std::fs::remove_file(&filler).unwrap();
    check_writes_are_back(&s, &again, &stored).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_database_disk_refuses_writes_with_507_keeps_reads_and_recovers_without_a_restart() {
    if sqlite_only("the SQLite database is the one in the data directory") {
        return;
    }
    let Some(tmpfs) = Tmpfs::mount("8m") else {
        return;
    };
    let s = start_in(tmpfs.path().join("data"), |_| {}).await;
    register(&s, "alice").await;
    let alice = login(&s, "alice").await;
    let token = alice.tokens.access_token.expose().to_owned();
    let stored = store_some(&s, &alice).await;
    // An upload id that later writes collide with (a transaction that rolls back).
    let taken = new_id();
    let min = stream::encrypted_len(0, stream::MAX_CHUNK_LOG2);
    assert_eq!(create_raw(&s, &token, &taken, min).await.0, 201);

    // The next database write has to grow the write-ahead log (no room kept in it).
    s.state
        .store
        .raw_execute("PRAGMA wal_checkpoint(TRUNCATE)")
        .await
        .unwrap();
    let filler = tmpfs.path().join("filler");
    assert!(fill(&filler) > 0);

    // Writes are refused clearly, several times over: each failed transaction is one
    // more chance to leave a pooled connection in a bad state. A login writes a session.
    for _ in 0..8 {
        let e = login_again(&s)
            .await
            .err()
            .expect("a login wrote a session on a full disk");
        assert_eq!(api_code(&e), ErrorCode::InsufficientStorage, "{e}");
        let (status, body) = create_raw(&s, &token, &new_id(), min).await;
        assert_full(status, &body, "starting an upload on a full database");
    }
    let refused = upload(&s, &alice, ItemKind::File, "during.bin", data(50_000, 5))
        .await
        .unwrap_err();
    assert_eq!(
        api_code(&refused),
        ErrorCode::InsufficientStorage,
        "{refused}"
    );
    // Reads go on with the session already open.
    check_reads(&s, &alice, &stored).await;

    // Space comes back: writes work again on their own, within seconds.
    std::fs::remove_file(&filler).unwrap();
    let again = soon(Duration::from_secs(5), "a login", || login_again(&s)).await;
    // Transactions that roll back (an id that is taken), then many writes in a row:
    // every pooled connection gets used, and none may hold the database locked.
    for _ in 0..4 {
        let (status, body) = create_raw(&s, &token, &taken, min).await;
        assert_eq!(status, 409, "{body}");
    }
    for i in 0..12 {
        let at = Instant::now();
        login_again(&s)
            .await
            .unwrap_or_else(|e| panic!("login {i} after space was freed: {e}"));
        // Well under SQLite's 5-second wait for a lock.
        assert!(
            at.elapsed() < Duration::from_secs(4),
            "login {i} waited on a lock"
        );
        let (status, body) = create_raw(&s, &token, &new_id(), min).await;
        assert_eq!(status, 201, "upload {i} after space was freed: {body}");
    }
    check_writes_are_back(&s, &again, &stored).await;
    s.stop().await;
}
