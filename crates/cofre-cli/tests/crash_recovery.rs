//! SIGKILL the server in the middle of concurrent uploads, restart it, run the cleanup
//! pass: every item is either complete and decrypts to its original bytes, or absent,
//! and no blob or upload is left that belongs to no item.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::{Cli, FAST, write};

fn data(len: usize, seed: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 31 + seed) % 253) as u8).collect()
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn sigkill_during_uploads_leaves_complete_items_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let config = dir.path().join("client");
    let socket = dir.path().join("run").join("agent.sock");
    let pw = write(dir.path(), "pw", "correct horse battery staple 7");
    let mut server = support::start(&data_dir, FAST);
    let cli = Cli {
        server: format!("http://127.0.0.1:{}", server.port),
        config: &config,
        socket: socket.clone(),
    };
    cli.ok(&["register", "alice", "--password-file", &pw]);
    cli.ok(&["login", "alice", "--password-file", &pw]);

    // Four uploads at once: small ones that finish, a big one that cannot.
    let sizes = [100_000usize, 1 << 20, 5 << 20, 96 << 20];
    let mut originals = Vec::new();
    let mut puts = Vec::new();
    for (i, &len) in sizes.iter().enumerate() {
        let path = dir.path().join(format!("file{i}.bin"));
        let bytes = data(len, i);
        std::fs::write(&path, &bytes).unwrap();
        originals.push((format!("file{i}.bin"), bytes));
        puts.push(
            std::process::Command::new(env!("CARGO_BIN_EXE_cofre"))
                .args([
                    "put",
                    path.to_str().unwrap(),
                    "--server",
                    &cli.server,
                    "--config-dir",
                ])
                .arg(&config)
                .env("COFRE_AGENT_SOCKET", &socket)
                .env_remove("XDG_RUNTIME_DIR")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        );
    }
    // Kill the server as soon as the big upload has passed 16 MiB.
    let uploads = data_dir.join("blobs").join("uploads");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let biggest = files(&uploads)
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .max()
            .unwrap_or(0);
        if biggest > 16 << 20 {
            break;
        }
        assert!(Instant::now() < deadline, "the big upload never got going");
        std::thread::sleep(Duration::from_millis(2));
    }
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    for mut p in puts {
        let _ = p.kill();
        let _ = p.wait();
    }

    // Cleanup, with the server down, then start again on the same data.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cofre"))
        .args(["server", "cleanup", "--uploads-older-than", "0", "--data"])
        .arg(&data_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("cleanup: removed"));
    let server = support::start(&data_dir, FAST);
    let cli = Cli {
        server: format!("http://127.0.0.1:{}", server.port),
        config: &config,
        socket,
    };
    cli.ok(&["login", "alice", "--password-file", &pw]);
    let listed: serde_json::Value = serde_json::from_str(&cli.ok(&["ls", "--json"])).unwrap();
    let listed = listed.as_array().unwrap();
    let mut ids = Vec::new();
    for row in listed {
        assert!(
            row.get("error").is_none(),
            "damaged item after the crash: {row}"
        );
        let name = row["name"].as_str().unwrap();
        let (_, bytes) = originals.iter().find(|(n, _)| n == name).unwrap();
        let id = row["id"].as_str().unwrap();
        let got = cli.run(&["get", id, "-o", "-"]);
        assert!(got.status.success(), "{name}");
        assert!(got.stdout == *bytes, "{name} differs after the crash");
        ids.push(id.to_owned());
    }
    assert!(
        !listed.iter().any(|r| r["name"] == "file3.bin"),
        "the 96 MiB upload was cut at ~16 MiB, yet it is listed"
    );
    // Nothing stored belongs to no item: every blob is a listed item, no uploads left.
    assert!(files(&uploads).is_empty(), "{:?}", files(&uploads));
    for f in files(&data_dir.join("blobs")) {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        assert!(ids.contains(&name), "orphan blob {}", f.display());
    }
    eprintln!(
        "after the crash: {} of {} items complete, the rest absent",
        ids.len(),
        sizes.len()
    );
}
