//! What the server leaves on disk: every file is owner-only, a data directory others
//! can read is reported, and the signing key files load in standard tools.

use std::path::{Path, PathBuf};

use cofre_server::config::BackupConfig;

use crate::support::*;

/// Every file and folder under `root`, `root` included.
fn walk(root: &Path) -> Vec<PathBuf> {
    let mut all = vec![root.to_owned()];
    let mut i = 0;
    while let Some(p) = all.get(i).cloned() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                all.push(e.unwrap().path());
            }
        }
        i += 1;
    }
    all
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_file_the_server_writes_is_owner_only() {
    if sqlite_only("the database files are checked in the data directory") {
        return;
    }
    let keys = tempfile::tempdir().unwrap();
    let key = cofre_core::keys::PrivateKey::generate().unwrap();
    let pem = keys.path().join("backup.pub");
    std::fs::write(
        &pem,
        cofre_core::backup::key_file::public_key_to_pem(key.public_key()),
    )
    .unwrap();
    let backups = keys.path().join("backups");
    let settings = BackupConfig {
        dir: backups.clone(),
        key_file: pem,
        every_secs: None,
        keep_last: 2,
        keep_daily: 0,
        keep_weekly: 0,
    };
    let s = start(move |c| c.backup = Some(settings)).await;
    register(&s, "admin").await;
    let admin = login(&s, "admin").await;
    put(&s, &admin, "note", vec![7u8; 5000]).await;
    s.client
        .admin_start_backup(&admin.tokens.access_token)
        .await
        .unwrap();
    loop {
        let st = s
            .client
            .admin_backups(&admin.tokens.access_token)
            .await
            .unwrap();
        if let Some(last) = st.last.filter(|_| !st.running) {
            assert!(last.error.is_none(), "{last:?}");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let data = s.data.clone();
    let mut seen = Vec::new();
    for p in walk(&data).into_iter().chain(walk(&backups)) {
        assert_eq!(
            mode(&p) & 0o077,
            0,
            "{} is {:o}: others can use it",
            p.display(),
            mode(&p)
        );
        seen.push(p);
    }
    // The check looked at what matters: the database, a blob, a backup archive.
    assert!(seen.iter().any(|p| p.ends_with("cofre.db")));
    assert!(
        seen.iter()
            .any(|p| p.starts_with(data.join("blobs")) && p.is_file())
    );
    assert!(seen.iter().any(|p| p.starts_with(&backups) && p.is_file()));
    drop(s);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_directory_others_can_read_is_reported_at_start() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = test_config(data.clone());
    let found = cofre_server::file_modes::check(&config);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].path, data);
    assert_eq!(found[0].mode, 0o755);
    assert!(found[0].to_string().contains(&data.display().to_string()));

    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert!(cofre_server::file_modes::check(&config).is_empty());
}

/// `openssl`, or `None` (with a message) when it is missing outside CI.
fn openssl() -> Option<&'static str> {
    let present = std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if present {
        return Some("openssl");
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "openssl is needed for this test in CI"
    );
    eprintln!("skipped: openssl is not installed");
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_key_files_load_in_openssl_and_old_ones_still_load() {
    let dir = tempfile::tempdir().unwrap();
    let keys_dir = dir.path().join("keys");
    let (keys, _) = cofre_server::secrets::ServerKeys::load_or_create(&keys_dir, 1000).unwrap();
    cofre_server::secrets::rotate_signing_key(&keys_dir, 2000).unwrap();
    let files: Vec<PathBuf> = std::fs::read_dir(keys_dir.join("signing"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 2);
    if let Some(openssl) = openssl() {
        for f in &files {
            let out = std::process::Command::new(openssl)
                .args(["pkey", "-noout", "-in"])
                .arg(f)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}: {}",
                f.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    // A key file an older version wrote (PKCS#8 v2) still loads, with the same id.
    let old = cofre_core::primitives::ed25519::SigningKeyPair::generate().unwrap();
    let kid = cofre_server::secrets::kid_of(old.public_key());
    let path = keys_dir
        .join("signing")
        .join(format!("{:012}-{kid}.p8", 3000));
    {
        use std::io::Write as _;
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        o.open(&path)
            .unwrap()
            .write_all(old.expose_pkcs8())
            .unwrap();
    }
    let (again, _) = cofre_server::secrets::ServerKeys::load_or_create(&keys_dir, 4000).unwrap();
    assert_eq!(again.signing[0].kid, kid);
    assert_eq!(again.signing.len(), 3);
    assert!(again.signing.iter().any(|k| k.kid == keys.signing[0].kid));
}
