//! Process memory and CPU from `/proc`, waiting for an idle machine, and a `cofre
//! server` started as a process of its own.

use std::io::BufRead as _;
use std::path::Path;
use std::time::{Duration, Instant};

use super::env_usize;

/// A `/proc/PID/status` field in KiB (`pid` is a number or `self`).
pub fn status_kib(pid: &str, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Resets the peak RSS (VmHWM) to the current RSS.
pub fn reset_peak(pid: &str) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// User + system CPU seconds of a process (every thread), assuming 100 ticks/s.
pub fn cpu_secs(pid: &str) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = s.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let user: f64 = f.get(11)?.parse().ok()?;
    let sys: f64 = f.get(12)?.parse().ok()?;
    Some((user + sys) / 100.0)
}

/// The CPU seconds of several processes together (those that have gone count 0).
pub fn cpu_secs_of(pids: &[String]) -> f64 {
    pids.iter().filter_map(|p| cpu_secs(p)).sum()
}

/// Busy and total CPU seconds of the whole machine (first line of `/proc/stat`).
pub fn machine_cpu() -> (f64, f64) {
    let s = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let f: Vec<f64> = s
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .take(8)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: f64 = f.iter().sum();
    let idle = f.get(3).unwrap_or(&0.0) + f.get(4).unwrap_or(&0.0);
    ((total - idle) / 100.0, total / 100.0)
}

/// CPU seconds used so far by the machine, the bench and its server processes.
pub struct CpuMark {
    machine: f64,
    own: f64,
    server: f64,
}

impl CpuMark {
    /// Now, for the servers `server_pids` (none: the server's share counts as 0).
    pub fn now(server_pids: &[String]) -> Self {
        Self {
            machine: machine_cpu().0,
            own: cpu_secs("self").unwrap_or(0.0),
            server: cpu_secs_of(server_pids),
        }
    }

    /// (bench, servers, everything else) CPU seconds since `self`.
    pub fn since(&self, server_pids: &[String]) -> (f64, f64, f64) {
        let now = Self::now(server_pids);
        let own = now.own - self.own;
        let server = now.server - self.server;
        let other = (now.machine - self.machine - own - server).max(0.0);
        (own, server, other)
    }
}

/// The bench's name, for its messages (`vault_load`, from `vault_load-HASH`).
pub fn bench_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| Some(p.file_stem()?.to_string_lossy().into_owned()))
        .map(|s| s.rsplit_once('-').map_or(s.clone(), |(a, _)| a.to_owned()))
        .unwrap_or_else(|| "bench".into())
}

/// With `WAIT_IDLE_S` = N > 0, waits up to N seconds for a 2-second window in which
/// the machine is at least 90 % idle.
pub async fn wait_idle() {
    let limit = env_usize("WAIT_IDLE_S", 0);
    if limit == 0 {
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(limit as u64);
    loop {
        let (b0, t0) = machine_cpu();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let (b1, t1) = machine_cpu();
        if (b1 - b0) * 10.0 <= t1 - t0 {
            return;
        }
        if Instant::now() >= deadline {
            eprintln!(
                "{}: the machine is still busy after {limit} s; measuring anyway",
                bench_name()
            );
            return;
        }
    }
}

/// Starts `cofre server` from the binary `bin` on a free loopback port with the
/// benches' cheap account settings (bcrypt cost 10; Argon2id m = 19 MiB, t = 2, p = 1),
/// a 2-hour access token and no practical quota, on the data directory `data`, plus
/// `extra` arguments (`--database …`). Returns the process and the address it logged
/// (`IP:PORT`). Its log is read to the end on a thread (a full pipe would block the
/// server); warnings and errors are passed on.
pub fn spawn_server(
    bin: &std::ffi::OsStr,
    data: &Path,
    extra: &[&str],
) -> (std::process::Child, String) {
    let mut child = std::process::Command::new(bin)
        .arg("server")
        .args(["--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .args(["--bcrypt-cost", "10", "--kdf-memory-kib", "19456"])
        .args(["--kdf-iterations", "2", "--kdf-parallelism", "1"])
        .args(["--access-ttl", "7200", "--quota", "1T", "--max-item", "1T"])
        .args(extra)
        .env("COFRE_LOG", "info")
        .env("COFRE_LOG_FORMAT", "text")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", Path::new(bin).display()));
    let stderr = child.stderr.take().expect("the server's stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if line.contains("cofre server listening") {
                if let Some(a) = line
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("addr="))
                {
                    let _ = tx.send(a.to_owned());
                }
            } else if line.contains("WARN") || line.contains("ERROR") {
                eprintln!("server: {line}");
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(addr) => (child, addr),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server did not log its address");
        }
    }
}
