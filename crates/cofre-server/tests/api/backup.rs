//! Backups through the library and the admin API: a backup restores into a server
//! where every item decrypts byte for byte; a flipped byte anywhere, a truncated
//! archive, a wrong key, a wrong passphrase and a manifest signed by another key are
//! refused, and a refused restore writes nothing; the admin route runs backups, keeps
//! the retention policy and audits them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cofre_api::ErrorCode;
use cofre_core::backup::BackupKeyFile;
use cofre_core::backup::archive::{self as format, Header, Manifest, TRAILER_LEN, Trailer};
use cofre_core::backup::key_file::public_key_to_pem;
use cofre_core::keys::{KdfParams, PrivateKey};
use cofre_core::secret::Password;
use cofre_server::backup::archive::Archive;
use cofre_server::backup::create::create;
use cofre_server::backup::restore::{restore, verify_with_key};
use cofre_server::backup::{BackupError, fingerprint};
use cofre_server::config::BackupConfig;

use crate::support::*;

fn quiet() -> Arc<dyn Fn(u64) + Send + Sync> {
    Arc::new(|_| {})
}

fn bytes(len: usize, seed: u32) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).rotate_left(seed) as u8)
        .collect()
}

fn fast_kdf() -> KdfParams {
    KdfParams::Argon2id {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    }
}

/// Nothing named after `target` exists next to it (no restore leftovers).
fn nothing_written(target: &Path) {
    assert!(!target.exists(), "{} was written", target.display());
    let name = target.file_name().unwrap().to_string_lossy().into_owned();
    for e in std::fs::read_dir(target.parent().unwrap()).unwrap() {
        let n = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!n.contains(&name), "leftover {n}");
    }
}

/// A backup key pair whose public half is written as PEM to `dir/backup.pub`.
fn backup_key_in(dir: &Path) -> (PrivateKey, PathBuf) {
    let key = PrivateKey::generate().unwrap();
    let pem = dir.join("backup.pub");
    std::fs::write(&pem, public_key_to_pem(key.public_key())).unwrap();
    (key, pem)
}

/// Server backup settings: into `dir`, for `key_file`, keeping the last `keep_last`.
fn backup_settings(
    dir: &Path,
    key_file: &Path,
    every_secs: Option<u64>,
    keep_last: usize,
) -> BackupConfig {
    BackupConfig {
        dir: dir.to_owned(),
        key_file: key_file.to_owned(),
        every_secs,
        keep_last,
        keep_daily: 0,
        keep_weekly: 0,
    }
}

async fn try_restore(archive: &Path, key: &PrivateKey, target: &Path) -> Result<(), BackupError> {
    let a = Archive::open(archive)?;
    a.check_hashes(&|_| {})?;
    restore(a, key, target, false, quiet()).await.map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_restores_byte_for_byte_and_every_damage_is_refused() {
    if sqlite_only("server backups cover the SQLite database only") {
        return;
    }
    let s = start(|_| {}).await;
    let alice = {
        register(&s, "alice").await;
        login(&s, "alice").await
    };
    let bodies = [
        bytes(0, 1),
        bytes(1, 2),
        bytes(70_000, 3),
        bytes(300_000, 4),
    ];
    let mut ids = Vec::new();
    for (i, b) in bodies.iter().enumerate() {
        ids.push(put(&s, &alice, &format!("f{i}"), b.clone()).await);
    }
    let pass = Password::new("backup passphrase for the test");
    let (key_file, backup_key) = BackupKeyFile::generate(&pass, fast_kdf()).unwrap();
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("backups");
    let made = create(
        &s.state.store,
        &s.data,
        backup_key.public_key(),
        &out,
        cofre_server::clock::now(),
        quiet(),
    )
    .await
    .unwrap();
    assert_eq!(made.manifest.counts.items, 4);
    assert_eq!(made.manifest.counts.users, 1);
    let signer = made.signer_fingerprint.clone();
    let file = made.path.clone();
    // Nothing else is left in the folder (no partial file, no work directory).
    let names: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");

    // Verify without and with the key; the key file opens only with its passphrase.
    let archive = Archive::open(&file).unwrap();
    archive.check_signer(&signer).unwrap();
    archive.check_hashes(&|_| {}).unwrap();
    let reopened = BackupKeyFile::parse(&key_file.to_json().unwrap()).unwrap();
    assert!(matches!(
        reopened.open(&Password::new("not the passphrase at all")),
        Err(cofre_core::Error::Decrypt)
    ));
    let private = reopened.open(&pass).unwrap();
    verify_with_key(archive, &private, quiet()).await.unwrap();

    // Restore and serve: every item decrypts byte for byte, the login works.
    let restored = work.path().join("restored");
    let r = restore(
        Archive::open(&file).unwrap(),
        &private,
        &restored,
        false,
        quiet(),
    )
    .await
    .unwrap();
    assert_eq!(r.schema_after, r.schema_before);
    let s2 = start_in(restored.clone(), |_| {}).await;
    let alice2 = login(&s2, "alice").await;
    for (id, body) in ids.iter().zip(&bodies) {
        assert_eq!(&fetch(&s2, &alice2, id).await, body);
    }
    s2.stop().await;

    // Into a non-empty directory: refused without --force, the directory untouched.
    std::fs::write(restored.join("marker"), b"x").unwrap();
    let err = restore(
        Archive::open(&file).unwrap(),
        &private,
        &restored,
        false,
        quiet(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, BackupError::TargetNotEmpty(_)), "{err}");
    assert!(restored.join("marker").exists());
    restore(
        Archive::open(&file).unwrap(),
        &private,
        &restored,
        true,
        quiet(),
    )
    .await
    .unwrap();
    assert!(!restored.join("marker").exists(), "replaced by --force");
    assert!(restored.join("cofre.db").exists());

    // One flipped byte anywhere: refused, and the restore writes nothing.
    let original = std::fs::read(&file).unwrap();
    let len = original.len();
    let (_, header_len) = Header::parse(&original).unwrap();
    let db = made
        .manifest
        .files
        .iter()
        .find(|f| f.path == "cofre.db")
        .unwrap();
    let blob = made
        .manifest
        .files
        .iter()
        .find(|f| f.path.starts_with("blobs/") && f.size > 1000)
        .unwrap();
    let trailer = Trailer::parse(&original[len - TRAILER_LEN..]).unwrap();
    let manifest_at =
        len - TRAILER_LEN - trailer.signature_len as usize - trailer.manifest_len as usize;
    let positions = [
        0,
        1,
        2,
        5,                                        // backup id
        header_len - 1,                           // wrapped key
        header_len,                               // first entry's stream header
        blob.offset as usize + 10,                // a blob's first chunk
        (blob.offset + blob.length) as usize - 1, // a blob's last byte
        db.offset as usize + 30,                  // the database
        (db.offset + db.length / 2) as usize,
        manifest_at, // manifest JSON
        manifest_at + 40,
        len - TRAILER_LEN - 5, // signature
        len - TRAILER_LEN,     // trailer lengths
        len - 1,               // end marker
    ];
    for (n, &pos) in positions.iter().enumerate() {
        let mut damaged = original.clone();
        damaged[pos] ^= 0x01;
        let path = work.path().join(format!("flip-{n}.cbk"));
        std::fs::write(&path, &damaged).unwrap();
        let target = work.path().join(format!("flip-target-{n}"));
        let err = try_restore(&path, &private, &target).await.unwrap_err();
        assert!(
            matches!(
                err,
                BackupError::Malformed { .. }
                    | BackupError::BadSignature { .. }
                    | BackupError::HashMismatch { .. }
            ),
            "byte {pos}: {err}"
        );
        nothing_written(&target);
        // Even skipping the hash check, extraction itself refuses the damage.
        if let Ok(a) = Archive::open(&path) {
            let err = restore(a, &private, &target, false, quiet())
                .await
                .unwrap_err();
            assert!(
                matches!(
                    err,
                    BackupError::HashMismatch { .. } | BackupError::Decrypt { .. }
                ),
                "byte {pos} at restore: {err}"
            );
            nothing_written(&target);
        }
    }

    // Truncated anywhere.
    for cut in [
        len - 1,
        len - TRAILER_LEN,
        manifest_at,
        len / 2,
        header_len,
        10,
        0,
    ] {
        let path = work.path().join(format!("cut-{cut}.cbk"));
        std::fs::write(&path, &original[..cut]).unwrap();
        let target = work.path().join(format!("cut-target-{cut}"));
        let err = try_restore(&path, &private, &target).await.unwrap_err();
        assert!(
            matches!(err, BackupError::Malformed { .. }),
            "cut at {cut}: {err}"
        );
        nothing_written(&target);
    }

    // The wrong backup key.
    let other = PrivateKey::generate().unwrap();
    let target = work.path().join("wrong-key-target");
    let err = try_restore(&file, &other, &target).await.unwrap_err();
    assert!(matches!(err, BackupError::WrongKey), "{err}");
    nothing_written(&target);

    // Signed by another key: the manifest names the other key and verifies under it,
    // so the pinned signer catches it; or it names ours and does not verify.
    let forger = PrivateKey::generate().unwrap();
    let header_bytes = &original[..header_len];
    let body = &original[header_len..manifest_at];
    let json = &original[manifest_at..manifest_at + trailer.manifest_len as usize];
    let mut forged: Manifest = serde_json::from_slice(json).unwrap();
    forged.signer = cofre_core::format::text::encode(forger.public_key().to_spki());
    let forged_json = forged.to_json().unwrap();
    let write_signed = |name: &str, json: &[u8]| -> PathBuf {
        let sig = format::sign_manifest(&forger, header_bytes, json).unwrap();
        let t = Trailer {
            manifest_len: json.len() as u32,
            signature_len: sig.as_bytes().len() as u32,
        };
        let path = work.path().join(name);
        std::fs::write(
            &path,
            [header_bytes, body, json, sig.as_bytes(), &t.encode()].concat(),
        )
        .unwrap();
        path
    };
    let path = write_signed("forged.cbk", &forged_json);
    let a = Archive::open(&path).unwrap();
    let err = a.check_signer(&signer).unwrap_err();
    assert!(matches!(err, BackupError::SignerMismatch { .. }), "{err}");
    assert_eq!(a.signer_fingerprint(), fingerprint(forger.public_key()));
    let path = write_signed("forged-ours.cbk", json);
    let err = Archive::open(&path).unwrap_err();
    assert!(matches!(err, BackupError::BadSignature { .. }), "{err}");

    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_route_runs_backups_keeps_the_policy_and_audits() {
    if sqlite_only("server backups cover the SQLite database only") {
        return;
    }
    let keys = tempfile::tempdir().unwrap();
    let (backup_key, pem) = backup_key_in(keys.path());
    let dir = keys.path().join("backups");
    let settings = backup_settings(&dir, &pem, None, 2);
    let s = start(move |c| c.backup = Some(settings)).await;
    register(&s, "admin").await;
    let admin = login(&s, "admin").await;
    register(&s, "bob").await;
    let bob = login(&s, "bob").await;
    put(&s, &bob, "note", bytes(5000, 7)).await;

    // Not for ordinary accounts.
    let err = s
        .client
        .admin_start_backup(&bob.tokens.access_token)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Forbidden), "{err}");

    let status = s
        .client
        .admin_backups(&admin.tokens.access_token)
        .await
        .unwrap();
    assert!(status.configured && status.last.is_none() && status.backups.is_empty());
    for round in 1..=3 {
        s.client
            .admin_start_backup(&admin.tokens.access_token)
            .await
            .unwrap();
        let st = loop {
            let st = s
                .client
                .admin_backups(&admin.tokens.access_token)
                .await
                .unwrap();
            if !st.running && st.last.is_some() {
                break st;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        let last = st.last.unwrap();
        assert!(last.error.is_none(), "{last:?}");
        assert_eq!(last.trigger, "admin");
        let name = last.file.unwrap();
        assert!(dir.join(&name).exists());
        assert_eq!(st.backups.len(), round.min(2), "retention keeps the last 2");
        assert_eq!(st.backups[0].name, name, "newest first");
        // Each archive opens, verifies and holds both accounts and bob's item.
        let a = Archive::open(&dir.join(&name)).unwrap();
        a.check_hashes(&|_| {}).unwrap();
        assert_eq!((a.manifest.counts.users, a.manifest.counts.items), (2, 1));
        // A second start while one runs is refused (or this one already finished).
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    }
    let audit = s.state.store.audit_rows(0, 1000).await.unwrap();
    let runs = audit
        .iter()
        .filter(|r| r.event == "backup.create" && r.outcome == "ok")
        .count();
    assert_eq!(runs, 3);
    let key = backup_key;
    let newest = s
        .client
        .admin_backups(&admin.tokens.access_token)
        .await
        .unwrap()
        .backups[0]
        .name
        .clone();
    verify_with_key(Archive::open(&dir.join(newest)).unwrap(), &key, quiet())
        .await
        .unwrap();
    s.stop().await;

    // A server without backup settings says so.
    let s = start(|_| {}).await;
    register(&s, "admin").await;
    let admin = login(&s, "admin").await;
    let err = s
        .client
        .admin_start_backup(&admin.tokens.access_token)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::BackupsNotConfigured), "{err}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_backs_up_when_the_newest_backup_is_too_old() {
    if sqlite_only("server backups cover the SQLite database only") {
        return;
    }
    let keys = tempfile::tempdir().unwrap();
    let (_, pem) = backup_key_in(keys.path());
    let dir = keys.path().join("backups");
    let config = |every: u64| {
        let settings = backup_settings(&dir, &pem, Some(every), 3);
        move |c: &mut cofre_server::ServerConfig| c.backup = Some(settings)
    };
    // Too short an interval is refused at start.
    let mut bad = test_config(keys.path().join("unused"));
    config(59)(&mut bad);
    assert!(bad.validate().is_err());

    // No backup yet: the scheduler makes one right away, audited as its own.
    let data = keys.path().join("data");
    let s = start_in(data.clone(), config(3600)).await;
    let count = || {
        std::fs::read_dir(&dir)
            .map(|d| {
                d.filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .file_name()
                        .to_string_lossy()
                        .ends_with(".cbk")
                })
                .count()
            })
            .unwrap_or(0)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while count() == 0 || s.state.backups.is_running() {
        assert!(std::time::Instant::now() < deadline, "no scheduled backup");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let last = s.state.backups.last().unwrap();
    assert_eq!(last.trigger, "schedule");
    assert!(last.error.is_none(), "{last:?}");
    let audit = s.state.store.audit_rows(0, 100).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|r| r.event == "backup.create" && r.actor.is_none() && r.outcome == "ok")
    );
    s.stop().await;

    // Restarted with a recent backup: none is due, none is made.
    let s = start_in(data, config(3600)).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(count(), 1);
    assert!(s.state.backups.last().is_none());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_of_an_older_schema_is_migrated_forward_on_restore() {
    if sqlite_only("server backups cover the SQLite database only") {
        return;
    }
    let s = start(|_| {}).await;
    register(&s, "alice").await;
    let alice = login(&s, "alice").await;
    let id = put(&s, &alice, "old", bytes(2000, 9)).await;
    // Make the database look like it was written before migration 4.
    s.state
        .store
        .raw_execute(
            "DROP TABLE leases; DROP TABLE key_rotations; \
             ALTER TABLE item_shares DROP COLUMN signed_wrapped_key; \
             ALTER TABLE item_shares DROP COLUMN rewrap_signature; \
             ALTER TABLE items DROP COLUMN replacing_size; \
             ALTER TABLE items DROP COLUMN replacing_created_at; \
             ALTER TABLE items DROP COLUMN replacing_expires_at; \
             ALTER TABLE items DROP COLUMN owner_metadata; \
             DELETE FROM schema_migrations WHERE version >= 4",
        )
        .await
        .unwrap();
    let backup_key = PrivateKey::generate().unwrap();
    let work = tempfile::tempdir().unwrap();
    let made = create(
        &s.state.store,
        &s.data,
        backup_key.public_key(),
        &work.path().join("b"),
        cofre_server::clock::now(),
        quiet(),
    )
    .await
    .unwrap();
    assert_eq!(made.manifest.schema_version, 3);
    s.stop().await;
    let target = work.path().join("restored");
    let r = restore(
        Archive::open(&made.path).unwrap(),
        &backup_key,
        &target,
        false,
        quiet(),
    )
    .await
    .unwrap();
    let latest = cofre_server::store::latest_schema_version();
    assert_eq!((r.schema_before, r.schema_after), (3, latest));
    let s2 = start_in(target, |_| {}).await;
    assert_eq!(s2.state.store.schema_version().await.unwrap(), latest);
    let alice2 = login(&s2, "alice").await;
    assert_eq!(fetch(&s2, &alice2, &id).await, bytes(2000, 9));
    s2.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_backup_is_reported_and_audited() {
    if sqlite_only("server backups cover the SQLite database only") {
        return;
    }
    let keys = tempfile::tempdir().unwrap();
    let (_, pem) = backup_key_in(keys.path());
    // The backup folder's place is taken by a file: every run fails.
    let dir = keys.path().join("not-a-folder");
    std::fs::write(&dir, b"x").unwrap();
    let settings = backup_settings(&dir, &pem, None, 2);
    let s = start(move |c| c.backup = Some(settings)).await;
    register(&s, "admin").await;
    let admin = login(&s, "admin").await;
    s.client
        .admin_start_backup(&admin.tokens.access_token)
        .await
        .unwrap();
    let last = loop {
        let st = s
            .client
            .admin_backups(&admin.tokens.access_token)
            .await
            .unwrap();
        if let Some(l) = st.last.filter(|_| !st.running) {
            break l;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(last.file.is_none());
    let st = s
        .client
        .admin_backups(&admin.tokens.access_token)
        .await
        .unwrap();
    assert!(st.folder_error.is_some(), "the broken folder is reported");
    assert!(
        last.error.as_deref().unwrap().contains("not-a-folder"),
        "{last:?}"
    );
    let audit = s.state.store.audit_rows(0, 100).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|r| r.event == "backup.create" && r.outcome == "failed")
    );
    assert_eq!(std::fs::read(&dir).unwrap(), b"x", "nothing overwritten");
    s.stop().await;

    // A server whose backup key file is not a public key does not start.
    let bad = keys.path().join("bad.pub");
    std::fs::write(&bad, "not a key").unwrap();
    let mut config = test_config(keys.path().join("data2"));
    config.backup = Some(backup_settings(&keys.path().join("b2"), &bad, None, 1));
    let err = cofre_server::app::open(config).await.unwrap_err();
    assert!(err.to_string().contains("bad.pub"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgresql_installation_backs_up_once_across_replicas_and_restores() {
    if !on_postgres() {
        eprintln!("SKIPPED here: the api_postgres binary runs this test on PostgreSQL");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let (backup_key, pem) = backup_key_in(work.path());
    let out = work.path().join("backups");
    let settings = backup_settings(&out, &pem, None, 5);
    let s = start({
        let settings = settings.clone();
        move |c| c.backup = Some(settings)
    })
    .await;
    // A second server on the same database and data directory (keys, blobs).
    let database = s.state.config.database_url.clone();
    let b = start_in(s.data.clone(), move |c| {
        c.database_url = database;
        c.backup = Some(settings);
    })
    .await;
    register(&s, "alice").await;
    let alice = login(&b, "alice").await;
    let bodies = [bytes(0, 1), bytes(5000, 2), bytes(300_000, 3)];
    let mut ids = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        ids.push(put(&s, &alice, &format!("f{i}"), body.clone()).await);
    }

    // One backup at a time across both servers: the lease is in the database.
    let claim = s.state.backups.try_start(&s.state.store).await.unwrap();
    let refused = b.state.backups.try_start(&b.state.store).await.unwrap_err();
    assert!(
        matches!(refused, cofre_server::backup::schedule::RunError::Busy),
        "{refused}"
    );
    let made = cofre_server::backup::schedule::run(&s.state, "admin", None)
        .await
        .expect("the backup of the PostgreSQL installation");
    drop(claim);
    let mut free = false;
    for _ in 0..50 {
        if let Ok(c) = b.state.backups.try_start(&b.state.store).await {
            drop(c);
            free = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(free, "the lease is given back after the run");
    assert_eq!(made.manifest.counts.items, 3);
    assert_eq!(made.manifest.counts.users, 1);
    b.stop().await;
    s.stop().await;

    // It restores into an SQLite installation that serves every item byte for byte.
    let restored = work.path().join("restored");
    restore(
        Archive::open(&made.path).unwrap(),
        &backup_key,
        &restored,
        false,
        quiet(),
    )
    .await
    .unwrap();
    let s2 = launch(test_config(restored)).await;
    assert!(s2.state.config.database_url.is_none());
    let alice2 = login(&s2, "alice").await;
    for (id, body) in ids.iter().zip(&bodies) {
        assert_eq!(&fetch(&s2, &alice2, id).await, body);
    }
    assert!(matches!(
        cofre_server::audit::verify(&s2.state.store).await.unwrap(),
        cofre_server::audit::Verdict::Intact { .. }
    ));
    s2.stop().await;
}
