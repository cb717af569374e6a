//! A full disk: the data directory on a small tmpfs, filled up. A write refused for lack
//! of space answers 507 `insufficient_storage`; reads go on; once space is freed, writes
//! work again on their own (no restart), and what was stored is intact.
//!
//! Mounting needs root (CAP_SYS_ADMIN): where it is not permitted the test says so and
//! skips, except under `CI=true`, where it fails. On PostgreSQL only the blob folder is
//! on the tmpfs (the database is elsewhere), and the same checks hold.

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
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(dir.path())
            .output();
        let why = match out {
            Ok(o) if o.status.success() => return Some(Self { dir }),
            Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_owned(),
            Err(e) => e.to_string(),
        };
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("the disk-full test must mount a tmpfs under CI (needs root or CAP_SYS_ADMIN): {why}");
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
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).rotate_left(u32::from(seed)) as u8)
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_disk_refuses_writes_clearly_keeps_reads_and_recovers_without_a_restart() {
    let Some(tmpfs) = Tmpfs::mount("8m") else {
        return;
    };
    let on_sqlite = !on_postgres();
    let s = start_in(tmpfs.path().join("data"), |c| {
        c.max_part_bytes = 4 << 20;
    })
    .await;
    register(&s, "alice").await;
    let alice = login(&s, "alice").await;
    let token = alice.tokens.access_token.expose().to_owned();

    // What is stored before the disk fills, and must come back byte for byte.
    let file_bytes = data(300_000, 3);
    let file_id = upload(&s, &alice, ItemKind::File, "before.bin", file_bytes.clone())
        .await
        .unwrap();
    let note_bytes = b"the safe combination is 12-34-56".to_vec();
    let note_id = upload(&s, &alice, ItemKind::Note, "note", note_bytes.clone())
        .await
        .unwrap();
    // An upload id that later writes can collide with (a transaction that rolls back).
    let taken = new_id();
    let min = stream::encrypted_len(0, stream::MAX_CHUNK_LOG2);
    assert_eq!(create_raw(&s, &token, &taken, min).await.0, 201);

    // The next database write has to grow the write-ahead log (no room kept in it).
    if on_sqlite {
        s.state
            .store
            .raw_execute("PRAGMA wal_checkpoint(TRUNCATE)")
            .await
            .unwrap();
    }
    let filler = tmpfs.path().join("filler");
    assert!(fill(&filler) > 0);

    // A new upload is refused clearly, wherever it meets the full disk: the database
    // (starting it) or the blob folder (its body).
    let id = new_id();
    let size = 1 << 20;
    let (status, body) = create_raw(&s, &token, &id, size).await;
    if status == 201 {
        let (status, body) = put_part_raw(&s, &token, &id, data(size as usize, 9)).await;
        assert_full(status, &body, "an upload's body on a full blob folder");
        // Nothing of the refused part counts as received.
        let (status, body) = get_raw(&s, &format!("/items/{id}/upload"), &token).await;
        assert_eq!((status, body["received"].as_u64()), (200, Some(0)), "{body}");
    } else {
        assert!(on_sqlite, "PostgreSQL is not on the full disk: {status} {body}");
        assert_full(status, &body, "starting an upload on a full database");
    }
    // Through the client library: the same code.
    let refused = upload(&s, &alice, ItemKind::File, "during.bin", data(size as usize, 5))
        .await
        .unwrap_err();
    assert_eq!(api_code(&refused), ErrorCode::InsufficientStorage, "{refused}");

    // Database writes on a full disk (SQLite): a login writes a session; refused
    // clearly, several times over (each failed transaction is one more chance to leave
    // a pooled connection in a bad state).
    let password = Password::new(PASSWORD);
    for _ in 0..10 {
        let r = s
            .client
            .login("alice", &password, cofre_client::client::SecondFactor::None)
            .await;
        if on_sqlite {
            let e = r.err().expect("a login wrote a session on a full disk");
            assert_eq!(api_code(&e), ErrorCode::InsufficientStorage, "{e}");
        } else {
            r.unwrap();
        }
        let (status, body) = create_raw(&s, &token, &new_id(), min).await;
        if on_sqlite {
            assert_full(status, &body, "starting an upload on a full database");
        }
    }

    // Reads go on: the listing, both items byte for byte, the usage.
    let listed = s
        .client
        .items(&alice.tokens.access_token, &alice.keys)
        .await
        .unwrap();
    let mut ids: Vec<_> = listed.iter().map(|i| i.id.clone()).collect();
    ids.sort();
    let mut want = vec![file_id.clone(), note_id.clone()];
    want.sort();
    assert_eq!(ids, want);
    assert_eq!(fetch(&s, &alice, &file_id).await, file_bytes);
    assert_eq!(fetch(&s, &alice, &note_id).await, note_bytes);
    let (status, _) = get_raw(&s, "/items/usage", &token).await;
    assert_eq!(status, 200);

    // Space comes back: writes work again on their own, within seconds.
    std::fs::remove_file(&filler).unwrap();
    let within = Duration::from_secs(5);
    let started = Instant::now();
    let again = soon(within, "a login", || {
        s.client
            .login("alice", &password, cofre_client::client::SecondFactor::None)
    })
    .await;
    // Transactions that roll back (an id that is taken) and then many writes in a row:
    // every pooled connection gets used, none may hold the database locked.
    for _ in 0..4 {
        let (status, body) = create_raw(&s, &token, &taken, min).await;
        assert_eq!(status, 409, "{body}");
    }
    for i in 0..12 {
        let at = Instant::now();
        let l = s
            .client
            .login("alice", &password, cofre_client::client::SecondFactor::None)
            .await
            .unwrap_or_else(|e| panic!("login {i} after space was freed: {e}"));
        assert!(at.elapsed() < Duration::from_secs(2), "login {i} waited on a lock");
        drop(l);
        let (status, body) = create_raw(&s, again.tokens.access_token.expose(), &new_id(), min).await;
        assert_eq!(status, 201, "upload {i} after space was freed: {body}");
    }
    let after_bytes = data(200_000, 7);
    let after_id = upload(&s, &again, ItemKind::File, "after.bin", after_bytes.clone())
        .await
        .unwrap();
    let after_note = upload(&s, &again, ItemKind::Note, "after note", b"back".to_vec())
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "writes took {:?} to come back",
        started.elapsed()
    );

    // Everything stored is intact, byte for byte.
    assert_eq!(fetch(&s, &again, &file_id).await, file_bytes);
    assert_eq!(fetch(&s, &again, &note_id).await, note_bytes);
    assert_eq!(fetch(&s, &again, &after_id).await, after_bytes);
    assert_eq!(fetch(&s, &again, &after_note).await, b"back");
    s.stop().await;
}
