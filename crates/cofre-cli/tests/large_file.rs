//! A file over 256 MiB through the real binaries, in constant memory: `cofre put`,
//! `cofre get`, the server, each with its peak resident memory under 100 MiB, and the
//! bytes identical at the end.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::io::{Read as _, Write as _};
use std::process::{Command, Stdio};

use support::{Cli, FAST, wait_sampling_rss, write};

const LEN: u64 = (256 << 20) + 12_345;
const LIMIT: u64 = 100 << 20;

fn block(i: u64) -> Vec<u8> {
    (0..1u64 << 20)
        .map(|j| ((i * 7919 + j * 31) % 251) as u8)
        .collect()
}

#[test]
fn a_256_mib_file_round_trips_in_constant_memory() {
    let dir = tempfile::tempdir().unwrap();
    let server = support::start(&dir.path().join("data"), FAST);
    let config = dir.path().join("client");
    let cli = Cli {
        server: format!("http://127.0.0.1:{}", server.port),
        config: &config,
        socket: dir.path().join("run").join("agent.sock"),
    };
    let pw = write(dir.path(), "pw", "correct horse battery staple 7");
    cli.ok(&["register", "alice", "--password-file", &pw]);
    cli.ok(&["login", "alice", "--password-file", &pw]);

    let src = dir.path().join("big.bin");
    let mut f = std::fs::File::create(&src).unwrap();
    let mut left = LEN;
    let mut i = 0;
    while left > 0 {
        let b = block(i);
        let n = left.min(b.len() as u64) as usize;
        f.write_all(&b[..n]).unwrap();
        left -= n as u64;
        i += 1;
    }
    drop(f);

    let run = |args: &[&str]| {
        let child = Command::new(env!("CARGO_BIN_EXE_cofre"))
            .args(args)
            .arg("--server")
            .arg(&cli.server)
            .arg("--config-dir")
            .arg(&config)
            .env("COFRE_AGENT_SOCKET", &cli.socket)
            .env_remove("XDG_RUNTIME_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (out, peak) = wait_sampling_rss(child);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        peak
    };
    let put_peak = run(&["put", src.to_str().unwrap()]);
    let dst = dir.path().join("copy.bin");
    let get_peak = run(&["get", "big.bin", "-o", dst.to_str().unwrap()]);
    let server_peak = support::peak_rss(server.child.id()).unwrap();
    eprintln!(
        "peak RSS for {} MiB: put {} MiB, get {} MiB, server {} MiB",
        LEN >> 20,
        put_peak >> 20,
        get_peak >> 20,
        server_peak >> 20
    );
    assert!(put_peak < LIMIT, "cofre put peaked at {put_peak} bytes");
    assert!(get_peak < LIMIT, "cofre get peaked at {get_peak} bytes");
    assert!(
        server_peak < LIMIT,
        "the server peaked at {server_peak} bytes"
    );

    // Identical, compared a block at a time.
    assert_eq!(std::fs::metadata(&dst).unwrap().len(), LEN);
    let (mut a, mut b) = (
        std::fs::File::open(&src).unwrap(),
        std::fs::File::open(&dst).unwrap(),
    );
    let (mut x, mut y) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let n = a.read(&mut x).unwrap();
        let mut m = 0;
        while m < n {
            let k = b.read(&mut y[m..n]).unwrap();
            assert!(k > 0, "copy is short");
            m += k;
        }
        assert!(x[..n] == y[..n], "the copy differs");
        if n == 0 {
            break;
        }
    }
}
