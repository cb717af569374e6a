//! Transfers that really resume: `cofre put` killed outright (SIGKILL) continues
//! from what the server has when run again; a server killed in the middle of an
//! upload and restarted does not lock the upload out (`409`); unfinished uploads are
//! listed and cancelled with `cofre uploads`, and the quota error points at them;
//! `cofre get` stopped by a signal continues from the ciphertext it kept, verified
//! chunk by chunk, and leaves no plaintext. Real processes, real signals.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::io::{BufRead as _, BufReader};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::{Cli, FAST, Server, write};

/// Starts the server on `listen` (so a restart keeps the address clients know).
fn start_at(data: &Path, listen: &str, extra: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cofre"))
        .args(["server", "--listen", listen])
        .arg("--data")
        .arg(data)
        .args(FAST)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, log) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let port = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = log
            .recv_timeout(left)
            .expect("server did not report its listening address");
        if line.contains("cofre server listening") {
            let addr = line.split("addr=").nth(1).unwrap();
            let addr = addr.split_whitespace().next().unwrap();
            break addr.rsplit(':').next().unwrap().parse().unwrap();
        }
    };
    Server { child, port, log }
}

/// A server and a logged-in `alice`.
fn setup<'a>(dir: &'a Path, extra: &[&str]) -> (Server, Cli<'a>) {
    let server = start_at(&dir.join("data"), "127.0.0.1:0", extra);
    let cli = support::cli(&server, dir, "alice");
    let pw = write(dir, "pw", "correct horse battery staple 7");
    cli.ok(&["register", "alice", "--password-file", &pw]);
    cli.ok(&["login", "alice", "--password-file", &pw]);
    (server, cli)
}

/// `cofre ARGS` started in the background.
fn spawn(cli: &Cli<'_>, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_cofre"))
        .args(args)
        .arg("--server")
        .arg(&cli.server)
        .arg("--config-dir")
        .arg(cli.config)
        .env("COFRE_AGENT_SOCKET", &cli.socket)
        .env_remove("XDG_RUNTIME_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn kill(pid: u32, signal: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{signal} {pid}");
}

/// Waits until `ready()` or fails after a minute.
fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Bytes the server holds of unfinished uploads (its upload folder).
fn upload_bytes(data: &Path) -> u64 {
    std::fs::read_dir(data.join("blobs").join("uploads"))
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// `cofre uploads --json`.
fn pending(cli: &Cli<'_>) -> Vec<serde_json::Value> {
    serde_json::from_str(&cli.ok(&["uploads", "--json"])).unwrap()
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

fn get_bytes(cli: &Cli<'_>, item: &str, dir: &Path) -> Vec<u8> {
    let p = dir.join(format!("check-{item}"));
    let _ = std::fs::remove_file(&p);
    cli.ok(&["get", item, "-o", p.to_str().unwrap()]);
    let b = std::fs::read(&p).unwrap();
    std::fs::remove_file(&p).unwrap();
    b
}

#[test]
fn a_killed_put_continues_from_what_the_server_has() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (_server, cli) = setup(dir.path(), &[]);
    let big = dir.path().join("big.bin");
    support::random_file(&big, 96 << 20, 11);

    let child = spawn(&cli, &["put", big.to_str().unwrap()]);
    // Two parts (8 MiB each) stored, then SIGKILL: nothing can be cleaned up.
    wait_for("two parts stored", || upload_bytes(&data) >= 17 << 20);
    kill(child.id(), "KILL");
    let _ = child.wait_with_output().unwrap();

    let before = pending(&cli);
    assert_eq!(before.len(), 1, "{before:?}");
    let id = before[0]["id"].as_str().unwrap().to_owned();
    let received = before[0]["received"].as_u64().unwrap();
    assert!(received >= 16 << 20, "{before:?}");

    // The state kept for the next run: owner-only, and no key in the clear (the item
    // key and stream header are a sealed box under the user key).
    let states = files_in(&cli.config.join("uploads"));
    assert_eq!(states.len(), 1, "{states:?}");
    let mode = std::fs::metadata(&states[0]).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&states[0]).unwrap()).unwrap();
    assert_eq!(saved["id"], id.as_str());
    let sealed = saved["checkpoint"].as_str().unwrap();
    assert!(sealed.starts_with("AQEB"), "a sealed box: {sealed}");
    let keys: Vec<&String> = saved.as_object().unwrap().keys().collect();
    assert!(
        !keys
            .iter()
            .any(|k| k.contains("key") || k.contains("header")),
        "{keys:?}"
    );

    // The same command again: it says it resumes, the server never went back to
    // zero, and the item keeps the upload's id.
    let out = cli.run(&["put", big.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("resuming upload of"), "{stderr}");
    assert!(stderr.contains(" MiB of "), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with(&id), "{stdout}");
    assert!(pending(&cli).is_empty());
    assert!(files_in(&cli.config.join("uploads")).is_empty());
    assert_eq!(
        get_bytes(&cli, &id, dir.path()),
        std::fs::read(&big).unwrap(),
        "byte for byte"
    );

    // A file changed since its interrupted upload starts over, and the stale upload
    // is cancelled rather than left holding quota.
    let child = spawn(&cli, &["put", big.to_str().unwrap(), "--name", "second"]);
    wait_for("a part stored", || upload_bytes(&data) >= 9 << 20);
    kill(child.id(), "KILL");
    let _ = child.wait_with_output().unwrap();
    let stale = pending(&cli)[0]["id"].as_str().unwrap().to_owned();
    support::random_file(&big, 3 << 20, 12);
    let out = cli.run(&["put", big.to_str().unwrap(), "--name", "second"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("changed since"), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&stale));
    assert!(pending(&cli).is_empty(), "the stale upload was cancelled");
    assert_eq!(
        get_bytes(&cli, "second", dir.path()),
        std::fs::read(&big).unwrap()
    );
}

#[test]
fn a_server_killed_mid_upload_and_restarted_does_not_lock_the_upload_out() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (mut server, cli) = setup(dir.path(), &[]);
    let listen = format!("127.0.0.1:{}", server.port);
    let big = dir.path().join("big.bin");
    support::random_file(&big, 64 << 20, 21);

    let child = spawn(&cli, &["put", big.to_str().unwrap()]);
    // SIGKILL the server while a part is on the wire: its lease on the upload stays
    // in the database.
    wait_for("a part in flight", || upload_bytes(&data) > 9 << 20);
    kill(server.child.id(), "KILL");
    let _ = server.child.wait();
    std::thread::sleep(Duration::from_millis(500));
    server = start_at(&data, &listen, &[]);

    // The running `put` retries until the server is back, and finishes.
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("another request"), "{stderr}");
    let id = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(
        get_bytes(&cli, &id, dir.path()),
        std::fs::read(&big).unwrap()
    );

    // Killed together: server and client. Restarted, the same `put` continues.
    let child = spawn(&cli, &["put", big.to_str().unwrap(), "--name", "again"]);
    wait_for("a part in flight", || upload_bytes(&data) > 9 << 20);
    kill(server.child.id(), "KILL");
    kill(child.id(), "KILL");
    let _ = server.child.wait();
    let _ = child.wait_with_output();
    let _server = start_at(&data, &listen, &[]);
    let out = cli.run(&["put", big.to_str().unwrap(), "--name", "again"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("resuming upload of"), "{stderr}");
    assert!(!stderr.contains("another request"), "{stderr}");
    assert_eq!(
        get_bytes(&cli, "again", dir.path()),
        std::fs::read(&big).unwrap()
    );
}

#[test]
fn unfinished_uploads_are_listed_cancelled_and_named_by_the_quota_error() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (_server, cli) = setup(dir.path(), &["--quota", "40M"]);
    assert!(cli.ok(&["uploads"]).contains("No unfinished uploads"));
    let big = dir.path().join("big.bin");
    support::random_file(&big, 32 << 20, 31);
    let child = spawn(&cli, &["put", big.to_str().unwrap()]);
    wait_for("a part stored", || upload_bytes(&data) >= 9 << 20);
    kill(child.id(), "KILL");
    let _ = child.wait_with_output().unwrap();

    // Nothing is listed as stored, but the quota is taken: the error says by what.
    assert!(cli.ok(&["ls"]).contains("No items yet"));
    let other = dir.path().join("other.bin");
    support::random_file(&other, 16 << 20, 32);
    let err = cli.fails(&["put", other.to_str().unwrap()]);
    assert!(err.contains("quota"), "{err}");
    assert!(err.contains("unfinished uploads"), "{err}");
    assert!(err.contains("cofre uploads"), "{err}");

    let table = cli.ok(&["uploads"]);
    let rows = pending(&cli);
    assert_eq!(rows.len(), 1);
    let id = rows[0]["id"].as_str().unwrap();
    assert!(table.contains(id), "{table}");
    assert!(table.contains("32.0 MiB"), "{table}");
    assert!(rows[0]["received"].as_u64().unwrap() >= 8 << 20);
    assert!(rows[0]["expires_at"].as_i64() > rows[0]["created_at"].as_i64());

    // Cancelling by an unknown id changes nothing; by prefix it works.
    let err = cli.fails(&["uploads", "cancel", "ffffffffffffffff"]);
    assert!(err.contains("no unfinished upload"), "{err}");
    let out = cli.ok(&["uploads", "cancel", &id[..8]]);
    assert!(out.contains(id), "{out}");
    assert!(pending(&cli).is_empty());
    assert_eq!(upload_bytes(&data), 0, "the parts are gone");
    assert!(files_in(&cli.config.join("uploads")).is_empty());
    cli.ok(&["put", other.to_str().unwrap()]);

    // --all cancels every one.
    cli.ok(&["rm", "other.bin"]);
    for seed in [41, 42] {
        let f = dir.path().join(format!("f{seed}.bin"));
        support::random_file(&f, 12 << 20, seed);
        let before = upload_bytes(&data);
        let child = spawn(&cli, &["put", f.to_str().unwrap()]);
        wait_for("the upload started", || upload_bytes(&data) > before);
        kill(child.id(), "KILL");
        let _ = child.wait_with_output().unwrap();
    }
    assert_eq!(pending(&cli).len(), 2);
    cli.ok(&["uploads", "cancel", "--all"]);
    assert!(pending(&cli).is_empty());
}

/// Our temporary download files (plaintext) in `dir`.
fn temps(dir: &Path) -> Vec<PathBuf> {
    files_in(dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(".cofre-download-"))
        })
        .collect()
}

#[test]
fn an_interrupted_get_continues_from_kept_ciphertext_and_leaves_no_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, cli) = setup(dir.path(), &[]);
    let big = dir.path().join("big.bin");
    support::random_file(&big, 64 << 20, 51);
    cli.ok(&["put", big.to_str().unwrap()]);
    let original = std::fs::read(&big).unwrap();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let target = out_dir.join("copy.bin");
    let kept_dir = cli.config.join("downloads");

    // Ctrl-C in the middle: the plaintext goes, the ciphertext received stays.
    let child = spawn(&cli, &["get", "big.bin", "-o", target.to_str().unwrap()]);
    wait_for("16 MiB downloaded", || {
        temps(&out_dir)
            .iter()
            .any(|p| std::fs::metadata(p).is_ok_and(|m| m.len() >= 16 << 20))
    });
    kill(child.id(), "INT");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert_eq!(temps(&out_dir), Vec::<PathBuf>::new());
    assert!(!target.exists());
    let kept = files_in(&kept_dir);
    assert_eq!(kept.len(), 1, "{kept:?}");
    let meta = std::fs::metadata(&kept[0]).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert!(meta.len() >= 16 << 20);
    // Ciphertext: no 64-byte run of the plaintext appears in it.
    let kept_bytes = std::fs::read(&kept[0]).unwrap();
    let probe = &original[(1 << 20)..(1 << 20) + 64];
    assert!(!kept_bytes.windows(64).any(|w| w == probe));

    // Again: it continues, and the file is the original byte for byte.
    let out = cli.run(&["get", "big.bin", "-o", target.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("resuming download of"), "{stderr}");
    assert_eq!(std::fs::read(&target).unwrap(), original);
    assert!(files_in(&kept_dir).is_empty(), "kept ciphertext removed");
    std::fs::remove_file(&target).unwrap();

    // SIGKILL this time; then the kept ciphertext is damaged: the next run notices
    // (every chunk is verified), starts over, and still saves the right bytes.
    let child = spawn(&cli, &["get", "big.bin", "-o", target.to_str().unwrap()]);
    wait_for("16 MiB downloaded", || {
        files_in(&kept_dir)
            .iter()
            .any(|p| std::fs::metadata(p).is_ok_and(|m| m.len() >= 16 << 20))
    });
    kill(child.id(), "KILL");
    let _ = child.wait_with_output();
    let kept = files_in(&kept_dir);
    let mut bytes = std::fs::read(&kept[0]).unwrap();
    bytes[5 << 20] ^= 1;
    std::fs::write(&kept[0], &bytes).unwrap();
    let out = cli.run(&["get", "big.bin", "-o", target.to_str().unwrap(), "--force"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("does not verify"), "{stderr}");
    assert_eq!(std::fs::read(&target).unwrap(), original);
    assert!(files_in(&kept_dir).is_empty());
}
