//! Starting the real `cofre` binary as a server for a test.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running server process, killed on drop.
pub struct Server {
    pub child: Child,
    pub port: u16,
    /// Every line the server wrote to stderr, collected by a reader thread.
    pub log: mpsc::Receiver<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the server on port 0 and learns the port it bound from its own log line,
/// so no other process can take the port between choosing and binding it.
pub fn start(data: &std::path::Path, extra: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cofre"))
        .args(["server", "--listen", "127.0.0.1:0"])
        .arg("--data")
        .arg(data)
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

/// Fast server settings (the lowest accepted costs) so the test stays quick; every
/// client here is 127.0.0.1, so the per-address limits of registration and prelogin are
/// raised (they are tested in the server's API tests).
pub const FAST: &[&str] = &[
    "--bcrypt-cost",
    "10",
    "--registration-burst",
    "1000",
    "--prelogin-burst",
    "1000",
    "--kdf-memory-kib",
    "19456",
    "--kdf-iterations",
    "2",
    "--kdf-parallelism",
    "1",
];

/// The `cofre` binary as a client of one server, with its own config and agent.
pub struct Cli<'a> {
    pub server: String,
    pub config: &'a Path,
    pub socket: std::path::PathBuf,
}

impl Cli<'_> {
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with_stdin(args, None)
    }

    /// Runs with `input` on standard input (or none).
    pub fn run_with_stdin(&self, args: &[&str], input: Option<&[u8]>) -> Output {
        use std::io::Write as _;
        let mut child = Command::new(env!("CARGO_BIN_EXE_cofre"))
            .args(args)
            .arg("--server")
            .arg(&self.server)
            .arg("--config-dir")
            .arg(self.config)
            .env("COFRE_AGENT_SOCKET", &self.socket)
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("COFRE_PASSWORD_FILE")
            .env_remove("COFRE_TOTP")
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(bytes) = input {
            let mut stdin = child.stdin.take().unwrap();
            let bytes = bytes.to_vec();
            std::thread::spawn(move || {
                let _ = stdin.write_all(&bytes);
            });
        }
        child.wait_with_output().unwrap()
    }

    /// Runs and requires success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "cofre {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs and requires failure; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "cofre {args:?} should have failed");
        String::from_utf8(out.stderr).unwrap()
    }
}

/// Writes `text` and a newline to `dir/name`; returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, format!("{text}\n")).unwrap();
    p.to_str().unwrap().to_owned()
}

/// Peak resident memory (VmHWM, bytes) of a running process, from /proc (Linux).
pub fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Waits for `child`, sampling its peak memory until it exits; returns its output and
/// the last peak seen.
pub fn wait_sampling_rss(mut child: Child) -> (Output, u64) {
    let mut peak = 0;
    loop {
        if let Some(p) = peak_rss(child.id()) {
            peak = peak.max(p);
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    (child.wait_with_output().unwrap(), peak)
}

/// A client of `server` with its own config folder and agent socket under `dir`.
pub fn cli<'a>(server: &Server, dir: &'a Path, name: &str) -> Cli<'a> {
    Cli {
        server: format!("http://127.0.0.1:{}", server.port),
        config: Box::leak(dir.join(name).into_boxed_path()),
        socket: dir.join(format!("run-{name}")).join("agent.sock"),
    }
}

/// The TOTP code of `secret` `offset_steps` 30-second steps from now.
pub fn totp_code(secret: &cofre_client::core::totp::TotpSecret, offset_steps: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    secret
        .code_at((i64::try_from(now).unwrap() + offset_steps * 30) as u64)
        .unwrap()
}

/// Enables TOTP for the logged-in `c` (confirmed with the previous step's code) and
/// returns the secret.
pub fn enable_mfa(c: &Cli<'_>) -> cofre_client::core::totp::TotpSecret {
    let out = c.ok(&["mfa", "enable"]);
    let b32 = out
        .lines()
        .find_map(|l| l.strip_prefix("or enter this key by hand: "))
        .unwrap()
        .trim()
        .to_owned();
    let secret = cofre_client::core::totp::TotpSecret::from_bytes(
        &data_encoding::BASE32_NOPAD.decode(b32.as_bytes()).unwrap(),
    )
    .unwrap();
    c.ok(&["mfa", "confirm", "--code", &totp_code(&secret, -1)]);
    secret
}

/// Every item the account can read (`ls --json`, then `get` each into `tmp`): id ->
/// bytes.
pub fn contents(c: &Cli<'_>, tmp: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let rows: Vec<serde_json::Value> = serde_json::from_str(&c.ok(&["ls", "--json"])).unwrap();
    let mut out = std::collections::BTreeMap::new();
    for r in rows {
        assert!(r.get("error").is_none(), "item does not open: {r}");
        let id = r["id"].as_str().unwrap().to_owned();
        let path = tmp.join(format!("get-{id}"));
        let _ = std::fs::remove_file(&path);
        c.ok(&["get", &id, "-o", path.to_str().unwrap()]);
        out.insert(id, std::fs::read(&path).unwrap());
        std::fs::remove_file(&path).unwrap();
    }
    out
}

/// Writes `len` pseudo-random bytes (xorshift from `seed`) to `path`.
pub fn random_file(path: &Path, len: usize, seed: u64) {
    let mut state = seed;
    let mut buf = Vec::with_capacity(len);
    while buf.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        buf.extend_from_slice(&state.to_le_bytes());
    }
    buf.truncate(len);
    std::fs::write(path, buf).unwrap();
}
