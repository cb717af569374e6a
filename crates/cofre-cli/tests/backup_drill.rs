//! The restore drill, through the real binaries: fill a server (two accounts with
//! TOTP, notes, files including one of 64 MiB, a share, a sent note), back it up with
//! `cofre backup create` while a writer keeps adding items, verify it, wipe the data
//! directory, restore it with `cofre backup restore`, start a server on it, and every
//! user logs in with TOTP and every item decrypts byte for byte as before.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use support::{Cli, FAST, cli, contents, enable_mfa, random_file, totp_code as code, write};

/// `cofre` with only these arguments (the backup commands take no server).
fn local(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_cofre"))
        .args(args)
        .env_remove("COFRE_BACKUP_PASSPHRASE_FILE")
        .env_remove("COFRE_BACKUP_SIGNER")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn local_ok(args: &[&str]) -> String {
    let out = local(args);
    assert!(
        out.status.success(),
        "cofre {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn local_fails(args: &[&str]) -> String {
    let out = local(args);
    assert!(!out.status.success(), "cofre {args:?} should have failed");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn fill_back_up_under_writes_wipe_restore_and_everything_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = support::start(&data, FAST);
    let pw = write(dir.path(), "pw", "correct horse battery staple 7");
    let pp = write(dir.path(), "pp", "a long backup passphrase, kept offline");
    let (alice, bob) = (
        cli(&server, dir.path(), "alice"),
        cli(&server, dir.path(), "bob"),
    );
    alice.ok(&["register", "alice", "--password-file", &pw]);
    bob.ok(&["register", "bob", "--password-file", &pw]);
    alice.ok(&["login", "alice", "--password-file", &pw]);
    bob.ok(&["login", "bob", "--password-file", &pw]);
    let alice_totp = enable_mfa(&alice);
    let bob_totp = enable_mfa(&bob);

    // Content: notes, an empty file, a 64 MiB file, a share, a sent note.
    alice.ok(&["note", "alice's first note"]);
    let empty = dir.path().join("empty.bin");
    std::fs::write(&empty, b"").unwrap();
    alice.ok(&["put", empty.to_str().unwrap()]);
    let big = dir.path().join("big.bin");
    random_file(&big, (64 << 20) + 12_345, 0x9e37_79b9_7f4a_7c15);
    alice.ok(&["put", big.to_str().unwrap()]);
    let small = dir.path().join("report.txt");
    std::fs::write(&small, b"quarterly numbers\n").unwrap();
    bob.ok(&["put", small.to_str().unwrap()]);
    alice.ok(&["share", "big.bin", "bob"]);
    alice.ok(&["send", "bob", "--note", "dinner at eight"]);
    let before_alice = contents(&alice, dir.path());
    let before_bob = contents(&bob, dir.path());
    assert_eq!(
        before_alice.len(),
        4,
        "note, empty file, big file, the note she sent"
    );
    assert_eq!(before_bob.len(), 3, "bob's file, the share, the sent note");

    // Keys: the backup key pair, and the server's signer fingerprint to pin.
    let kp = dir.path().join("backup");
    let out = local_ok(&[
        "backup",
        "keygen",
        "--out",
        kp.to_str().unwrap(),
        "--passphrase-file",
        &pp,
    ]);
    assert!(out.contains("fingerprint"), "{out}");
    let (key, public) = (dir.path().join("backup.key"), dir.path().join("backup.pub"));
    assert!(
        std::fs::read_to_string(&public)
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "private key file is owner-only");
    }
    // The key file does not hold the private key in the clear.
    let key_text = std::fs::read_to_string(&key).unwrap();
    assert!(!key_text.contains("PRIVATE KEY"));

    // A writer keeps adding notes while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let (server_url, config, socket) = (
            bob.server.clone(),
            bob.config.to_owned(),
            bob.socket.clone(),
        );
        std::thread::spawn(move || {
            let w = Cli {
                server: server_url,
                config: Box::leak(config.into_boxed_path()),
                socket,
            };
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) || n < 3 {
                w.ok(&["note", &format!("written during the backup {n}")]);
                n += 1;
            }
            n
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    let backups = dir.path().join("backups");
    let out = local_ok(&[
        "backup",
        "create",
        "--data",
        data.to_str().unwrap(),
        "--backup-key",
        public.to_str().unwrap(),
        "--out",
        backups.to_str().unwrap(),
    ]);
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().unwrap();
    assert!(out.contains("Backup written"), "{out}");
    let file = std::fs::read_dir(&backups)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "cbk"))
        .unwrap();
    let file_s = file.to_str().unwrap().to_owned();
    let signer = local_ok(&["backup", "signer", "--data", data.to_str().unwrap()]);
    let signer = signer.trim().to_owned();
    assert!(out.contains(&signer), "create names the signer: {out}");

    // Verify: structure and hashes without the key, then everything with it.
    let out = local_ok(&["backup", "verify", &file_s, "--signer", &signer]);
    assert!(out.contains("Signed by the expected key"), "{out}");
    let with_key = [
        "backup",
        "verify",
        &file_s,
        "--key",
        key.to_str().unwrap(),
        "--passphrase-file",
        &pp,
    ];
    // Decrypting needs the signer pinned (or --any-signer).
    let err = local_fails(&with_key);
    assert!(err.contains("--signer"), "{err}");
    let out = local_ok(&[&with_key[..], &["--signer", &signer]].concat());
    assert!(out.contains("integrity check"), "{out}");
    let listing = local_ok(&["backup", "list", backups.to_str().unwrap()]);
    assert!(
        listing.contains(file.file_name().unwrap().to_str().unwrap()),
        "{listing}"
    );
    // The wrong passphrase and the wrong signer are refused.
    let bad_pp = write(dir.path(), "bad-pp", "not the passphrase at all");
    let err = local_fails(&[
        "backup",
        "verify",
        &file_s,
        "--key",
        key.to_str().unwrap(),
        "--passphrase-file",
        &bad_pp,
        "--signer",
        &signer,
    ]);
    assert!(err.contains("wrong passphrase"), "{err}");
    let err = local_fails(&[
        "backup",
        "verify",
        &file_s,
        "--signer",
        "aaaa bbbb cccc dddd eeee ffff gggg hhhh",
    ]);
    assert!(err.contains("not by the expected"), "{err}");

    // Disaster: the server and its data are gone.
    drop(server);
    std::fs::remove_dir_all(&data).unwrap();
    let restored = dir.path().join("restored");
    let restore = |extra: &[&str]| {
        let mut args = vec![
            "backup",
            "restore",
            &file_s,
            "--key",
            key.to_str().unwrap(),
            "--passphrase-file",
            &pp,
            "--data",
            restored.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        local(&args)
    };
    // Restore needs the signer pinned (or an explicit --any-signer).
    let out = restore(&[]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&signer),
        "says which key signed"
    );
    assert!(!restored.exists(), "a refused restore writes nothing");
    let out = restore(&["--signer", &signer]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A new server on the restored directory: both log in with TOTP, everything is back.
    let server = support::start(&restored, FAST);
    let (alice, bob) = (
        cli(&server, dir.path(), "alice"),
        cli(&server, dir.path(), "bob"),
    );
    let err = alice.fails(&["login", "alice", "--password-file", &pw]);
    assert!(err.contains("--totp"), "MFA is still on: {err}");
    alice.ok(&[
        "login",
        "alice",
        "--password-file",
        &pw,
        "--totp",
        &code(&alice_totp, 0),
    ]);
    bob.ok(&[
        "login",
        "bob",
        "--password-file",
        &pw,
        "--totp",
        &code(&bob_totp, 0),
    ]);
    let after_alice = contents(&alice, dir.path());
    assert_eq!(after_alice, before_alice, "alice's items byte for byte");
    let after_bob = contents(&bob, dir.path());
    for (id, body) in &before_bob {
        assert_eq!(after_bob.get(id), Some(body), "bob's item {id}");
    }
    // The big file is the original, byte for byte.
    assert!(
        after_alice
            .values()
            .any(|b| *b == std::fs::read(&big).unwrap())
    );
    // Notes written during the backup: those in it are whole, none is half there.
    let during: Vec<_> = after_bob
        .iter()
        .filter(|(id, _)| !before_bob.contains_key(*id))
        .collect();
    assert!(
        during.len() <= written,
        "{} restored, {written} written",
        during.len()
    );
    for (_, body) in &during {
        assert!(String::from_utf8_lossy(body).starts_with("written during the backup"));
    }
    // The audit log came back intact too.
    let out = alice.ok(&["admin", "audit"]);
    assert!(out.contains("mfa.enable"), "{out}");
}
