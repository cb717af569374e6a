//! Vault throughput, small-item request rate and listing a large vault.
//!
//! `cargo bench -p cofre-server --bench vault_load` starts a server on loopback with
//! cheap account settings (bcrypt cost 10; Argon2id m = 19 MiB, t = 2, p = 1: logins
//! are not what is measured here), registers one account, logs in, and measures, in
//! one run:
//!
//! 1. uploading a file (`Source::Sized`, default 1 GiB of random bytes in a temporary
//!    directory) and downloading it into a file (fsynced, as `cofre get` does), next
//!    to the references measured in the same rounds: the same bytes sent as plain HTTP
//!    parts of the same size to the same server and fetched back into a file (no
//!    encryption: the transport and the server's storage alone), and `openssl enc
//!    -aes-256-cbc` followed by `openssl dgst -sha256 -mac HMAC` (the crypto alone, one
//!    core; skipped when `openssl` is not installed). Each client operation runs in a
//!    new process of this bench (it logs in, then measures), so the client's peak RSS
//!    is its own, as for a `cofre put` or `cofre get`; the server's is read from its
//!    process (`/proc/PID/status` VmHWM, both reset through `/proc/PID/clear_refs`
//!    before each operation);
//! 2. requests per second for `GET /api/v1/items/{id}` and `GET /api/v1/items/{id}/body`
//!    of a 1 KiB note, next to `GET /healthz` (the reference: no token check, no
//!    database), `GET /readyz` (one query) and `GET /api/v1/auth/whoami` (the token
//!    check alone), with the same load generator: `LOAD_TASKS` tasks sharing one
//!    keep-alive HTTP client, a 1 s warm-up, then `LOAD_SECS` counted;
//! 3. a vault of `VAULT_ITEMS` items inserted straight into the database in one
//!    transaction (each with its own item key, wrapped key and sealed metadata, so the
//!    client can open any of them): the latency of the first page of 200, and of a
//!    page 90 % of the way through (reached by following the `next` cursors); walking
//!    every page; the client's time to open one page of 200 (one RSA-OAEP unwrap per
//!    item) on one core and on all cores; `Client::items` on the whole vault (every item
//!    key unwrapped, what `cofre ls` ran before owner copies); and `Client::list` (what
//!    `cofre ls` runs now, FORMAT.md 9.12): its first run, which migrates the vault
//!    (the rows are inserted without owner copies), then three runs on the migrated
//!    vault.
//!
//! The server: with `COFRE_BIN` set to a `cofre` binary (`cargo build --release -p
//! cofre-cli`), it runs as its own process (`cofre server`), so its memory and CPU
//! are measured apart from the load generator's; otherwise it runs inside this process
//! and its figures include the bench's own. `scripts/bench-vault.sh` does the former.
//!
//! Only `cargo bench` runs it: without the `--bench` argument (`cargo test
//! --all-targets`) it does nothing.
//!
//! Environment: `VAULT_FILE_MIB` (default 1024), `VAULT_ROUNDS` (3) file rounds,
//! `LOAD_SECS` (5), `LOAD_TASKS` (64), `LOAD_ROUNDS` (3), `LATENCY_PROBES` (100)
//! sequential requests per endpoint before the load, `VAULT_ITEMS` (100000),
//! `LIST_PROBES` (50) requests per page latency series, `VAULT_LS_FULL` (1; 0 skips
//! opening the whole vault), `WAIT_IDLE_S` (0; N > 0 waits up to N s before each
//! measurement for the machine to be 90 % idle), `COFRE_BIN`. `VAULT_FILE_MIB`,
//! `LOAD_SECS` or `VAULT_ITEMS` = 0 skips that part. (A `VAULT_NODELAY` switch
//! compared the server with and without `TCP_NODELAY` before the server set it; see
//! docs/BENCHMARKS.md.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::load::{Rate, load};
use common::process::{CpuMark, cpu_secs, reset_peak, spawn_server, status_kib, wait_idle};
use common::{MIB, env_usize, median, pct, range, write_random_file};
use std::io::{Read as _, Write as _};
use std::path::Path;
use std::time::Instant;

use cofre_api::vault::{Item, ItemPage};
use cofre_client::Client;
use cofre_client::client::{LoggedIn, SecondFactor};
use cofre_client::vault::{NewItem, Source, open_item};
use cofre_core::format::stream;
use cofre_core::keys::{ItemKey, KdfParams, UnlockedKeys};
use cofre_core::primitives::rand;
use cofre_core::secret::Password;
use cofre_core::vault::{ItemKind, ItemMetadata};
use cofre_server::ServerConfig;
use cofre_server::store::Store;

const PASSWORD: &str = "correct horse battery staple 7";
const USER: &str = "bench";
/// The client's part: 128 chunks of 64 KiB of plaintext.
const PART: u64 = 128 * (1 << stream::DEFAULT_CHUNK_LOG2);

fn no_progress(_: u64, _: u64) {}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

// --- The server ----------------------------------------------------------------------

struct Server {
    base: String,
    data: std::path::PathBuf,
    store: Store,
    /// The server's own process, when it runs apart.
    child: Option<std::process::Child>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Server {
    fn pid(&self) -> Option<String> {
        self.child.as_ref().map(|c| c.id().to_string())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

async fn start_server(data: &Path) -> Server {
    if let Some(bin) = std::env::var_os("COFRE_BIN") {
        let (child, addr) = spawn_server(&bin, data, &[]);
        // The bench's own connection to the server's database (WAL: both can use it).
        let store = Store::open_sqlite(&data.join("cofre.db")).await.unwrap();
        Server {
            base: format!("http://{addr}"),
            data: data.to_owned(),
            store,
            child: Some(child),
            stop: None,
        }
    } else {
        let mut config = ServerConfig::new(data.to_owned(), "127.0.0.1:0".parse().unwrap());
        config.bcrypt_cost = 10;
        config.kdf = KdfParams::Argon2id {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        };
        config.access_ttl_secs = 7200;
        config.quota_bytes = 1 << 40;
        config.max_item_bytes = 1 << 40;
        let (state, _) = cofre_server::app::open(config.clone()).await.unwrap();
        let store = state.store.clone();
        let listener = cofre_server::app::bind(&config).await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(cofre_server::serve(listener, state, async {
            let _ = rx.await;
        }));
        Server {
            base,
            data: data.to_owned(),
            store,
            child: None,
            stop: Some(tx),
        }
    }
}

// --- 1. Files ----------------------------------------------------------------------

/// One measured operation: seconds, and RSS before and at the peak (KiB).
#[derive(Clone, Copy, Default)]
struct Run {
    secs: f64,
    /// CPU seconds the rest of the machine used meanwhile.
    other_cpu: f64,
    /// CPU seconds of the measuring process and of the server.
    client_cpu: f64,
    server_cpu: f64,
    client_base: u64,
    client_peak: u64,
    server_base: Option<u64>,
    server_peak: Option<u64>,
}

/// Flushes dirty pages (untimed), resets the peaks of this process and of the server's
/// (`pid`), then times `f`.
async fn measured<T>(pid: Option<&str>, f: impl Future<Output = T>) -> (T, Run) {
    let _ = std::process::Command::new("sync").status();
    wait_idle().await;
    let pid = pid.map(str::to_owned);
    let own = reset_peak("self");
    let server = pid.as_deref().is_none_or(reset_peak);
    if !(own && server) {
        eprintln!(
            "vault_load: cannot reset peak RSS through /proc/PID/clear_refs: peaks are since start"
        );
    }
    let client_base = status_kib("self", "VmRSS").unwrap_or(0);
    let server_base = pid.as_deref().and_then(|p| status_kib(p, "VmRSS"));
    let mark = CpuMark::now(pid.as_slice());
    let t = Instant::now();
    let out = f.await;
    let secs = t.elapsed().as_secs_f64();
    let (client_cpu, server_cpu, other_cpu) = mark.since(pid.as_slice());
    let run = Run {
        secs,
        other_cpu,
        client_cpu,
        server_cpu,
        client_base,
        client_peak: status_kib("self", "VmHWM").unwrap_or(0),
        server_base,
        server_peak: pid.as_deref().and_then(|p| status_kib(p, "VmHWM")),
    };
    (out, run)
}

fn same_contents(a: &Path, b: &Path) -> bool {
    let (mut fa, mut fb) = (
        std::fs::File::open(a).unwrap(),
        std::fs::File::open(b).unwrap(),
    );
    if fa.metadata().unwrap().len() != fb.metadata().unwrap().len() {
        return false;
    }
    let (mut ba, mut bb) = (vec![0u8; MIB as usize], vec![0u8; MIB as usize]);
    loop {
        let n = fa.read(&mut ba).unwrap();
        if n == 0 {
            return true;
        }
        fb.read_exact(&mut bb[..n]).unwrap();
        if ba[..n] != bb[..n] {
            return false;
        }
    }
}

fn new_id() -> String {
    data_encoding::HEXLOWER.encode(&rand::array::<16>().unwrap())
}

/// The reference upload: the file's bytes as they are, in parts of the client's part
/// size, through the same routes (create, parts, commit with borrowed texts).
async fn raw_upload(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    path: &Path,
    texts: &(String, String),
) -> String {
    let id = new_id();
    let len = std::fs::metadata(path).unwrap().len();
    let r = http
        .post(format!("{base}/api/v1/items"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "id": id, "size": len }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let mut f = std::fs::File::open(path).unwrap();
    let mut offset = 0u64;
    while offset < len {
        let n = PART.min(len - offset) as usize;
        let mut part = vec![0u8; n];
        f.read_exact(&mut part).unwrap();
        let r = http
            .put(format!("{base}/api/v1/items/{id}/body?offset={offset}"))
            .bearer_auth(token)
            .header("content-type", "application/octet-stream")
            .body(part)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        offset += n as u64;
    }
    let r = http
        .post(format!("{base}/api/v1/items/{id}/commit"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "metadata": texts.0, "wrapped_key": texts.1 }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    id
}

/// The reference download: the stored bytes into a file, fsynced.
async fn raw_download(http: &reqwest::Client, base: &str, token: &str, id: &str, out: &Path) {
    let mut f = std::fs::File::create(out).unwrap();
    let mut r = http
        .get(format!("{base}/api/v1/items/{id}/body"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    while let Some(b) = r.chunk().await.unwrap() {
        f.write_all(&b).unwrap();
    }
    f.sync_all().unwrap();
}

fn openssl_available() -> bool {
    std::process::Command::new("openssl")
        .arg("version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn openssl(args: &[&str]) {
    let st = std::process::Command::new("openssl")
        .args(args)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "openssl {args:?} failed");
}

struct FileResults {
    rows: Vec<(&'static str, Vec<Run>)>,
    len: u64,
}

impl FileResults {
    fn get(&self, name: &str) -> &[Run] {
        &self.rows.iter().find(|(n, _)| *n == name).unwrap().1
    }
}

/// What a child process is asked to do.
struct ChildOp<'a> {
    op: &'a str,
    base: &'a str,
    server_pid: &'a str,
    id: &'a str,
    path: &'a Path,
    texts: &'a (String, String),
}

/// Runs one client operation in a new process of this bench (fresh memory, like a
/// `cofre put` or `cofre get`), which logs in, measures and reports.
fn child_op(c: &ChildOp<'_>) -> (String, Run) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .env("VAULT_CHILD", c.op)
        .env("VAULT_BASE", c.base)
        .env("VAULT_SERVER_PID", c.server_pid)
        .env("VAULT_ID", c.id)
        .env("VAULT_PATH", c.path)
        .env("VAULT_METADATA", &c.texts.0)
        .env("VAULT_WRAPPED_KEY", &c.texts.1)
        .stderr(std::process::Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "child {} failed", c.op);
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .expect("no result from the child");
    let f: Vec<&str> = line.split_whitespace().collect();
    let num = |i: usize| f[i].parse::<f64>().unwrap();
    let run = Run {
        secs: num(0),
        other_cpu: num(1),
        client_base: num(2) as u64,
        client_peak: num(3) as u64,
        server_base: Some(num(4) as u64),
        server_peak: Some(num(5) as u64),
        client_cpu: num(6),
        server_cpu: num(7),
    };
    (f[8].to_owned(), run)
}

/// The child's side of [`child_op`]: prints `RESULT secs other_cpu client_base
/// client_peak server_base server_peak client_cpu server_cpu item_id`.
async fn child_main(op: &str) {
    let var = |k: &str| std::env::var(k).unwrap();
    let (base, server_pid, id) = (var("VAULT_BASE"), var("VAULT_SERVER_PID"), var("VAULT_ID"));
    let path = std::path::PathBuf::from(var("VAULT_PATH"));
    let texts = (var("VAULT_METADATA"), var("VAULT_WRAPPED_KEY"));
    let client = Client::new(&base).unwrap();
    let l = client
        .login(USER, &Password::new(PASSWORD), SecondFactor::None)
        .await
        .unwrap();
    let token = &l.tokens.access_token;
    let http = reqwest::Client::new();
    let pid = Some(server_pid.as_str());
    let (id, run) = match op {
        "cofre-upload" => {
            let file = std::fs::File::open(&path).unwrap();
            let len = file.metadata().unwrap().len();
            measured(pid, async {
                client
                    .upload(
                        token,
                        &l.keys,
                        NewItem {
                            kind: ItemKind::File,
                            name: "plain.bin".into(),
                            content_type: "application/octet-stream".into(),
                        },
                        Source::Sized(Box::new(file), len),
                        &no_progress,
                    )
                    .await
                    .unwrap()
                    .id
            })
            .await
        }
        "cofre-download" => {
            let item = client.item(token, &l.keys, &id).await.unwrap();
            measured(pid, async {
                // As `cofre get` does: into a file, fsynced at the end.
                let mut f = std::fs::File::create(&path).unwrap();
                let n = client
                    .download(token, &item, &mut f, &no_progress)
                    .await
                    .unwrap();
                f.sync_all().unwrap();
                assert_eq!(n, item.content().unwrap().metadata.size);
                id.clone()
            })
            .await
        }
        "plain-upload" => {
            measured(pid, raw_upload(&http, &base, token.expose(), &path, &texts)).await
        }
        "plain-download" => {
            measured(pid, async {
                raw_download(&http, &base, token.expose(), &id, &path).await;
                id.clone()
            })
            .await
        }
        _ => panic!("unknown child operation {op}"),
    };
    println!(
        "RESULT {} {} {} {} {} {} {} {} {id}",
        run.secs,
        run.other_cpu,
        run.client_base,
        run.client_peak,
        run.server_base.unwrap_or(0),
        run.server_peak.unwrap_or(0),
        run.client_cpu,
        run.server_cpu,
    );
}

async fn files(
    srv: &Server,
    client: &Client,
    l: &LoggedIn,
    texts: &(String, String),
) -> FileResults {
    let size_mib = env_usize("VAULT_FILE_MIB", 1024) as u64;
    let rounds = env_usize("VAULT_ROUNDS", 3).max(1);
    let len = size_mib * MIB;
    let token = &l.tokens.access_token;
    let base = &srv.base;
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("plain");
    let out = work.path().join("out");
    let enc = work.path().join("openssl.enc");
    eprintln!("vault_load: writing a {size_mib} MiB random file");
    write_random_file(&src, len);
    let with_openssl = openssl_available();
    if !with_openssl {
        eprintln!("vault_load: openssl not found: skipping the openssl reference");
    }
    let hex = |b: &[u8]| data_encoding::HEXLOWER.encode(b);
    let key = hex(&rand::array::<32>().unwrap());
    let iv = hex(&rand::array::<16>().unwrap());
    let mac = hex(&rand::array::<32>().unwrap());
    let (srcs, outs, encs) = (
        src.to_str().unwrap(),
        out.to_str().unwrap(),
        enc.to_str().unwrap(),
    );
    let names = [
        "cofre upload",
        "cofre download",
        "plain HTTP upload",
        "plain HTTP download",
        "openssl enc + hmac",
        "openssl hmac + enc -d",
    ];
    let mut rows: Vec<(&'static str, Vec<Run>)> = names.iter().map(|n| (*n, Vec::new())).collect();
    // The server's process: its own, or this one when it runs inside the bench.
    let server_pid = srv.pid().unwrap_or_else(|| std::process::id().to_string());
    let child = |op: &str, id: &str, path: &Path| {
        child_op(&ChildOp {
            op,
            base,
            server_pid: &server_pid,
            id,
            path,
            texts,
        })
    };
    for round in 0..rounds {
        eprintln!("vault_load: file round {}/{rounds}", round + 1);
        // cofre, through the client library, in a process of its own.
        let (id, up) = child("cofre-upload", "", &src);
        let (_, down) = child("cofre-download", &id, &out);
        if round == 0 {
            assert!(same_contents(&src, &out), "cofre round trip differs");
        }
        std::fs::remove_file(&out).unwrap();
        client.delete_item(token, &id).await.unwrap();
        rows[0].1.push(up);
        rows[1].1.push(down);

        // The same bytes, as they are, through the same server.
        let (id, up) = child("plain-upload", "", &src);
        let (_, down) = child("plain-download", &id, &out);
        if round == 0 {
            assert!(same_contents(&src, &out), "plain round trip differs");
        }
        std::fs::remove_file(&out).unwrap();
        client.delete_item(token, &id).await.unwrap();
        rows[2].1.push(up);
        rows[3].1.push(down);

        // The crypto alone: encrypt then MAC the ciphertext; MAC then decrypt.
        if with_openssl {
            let cbc = ["enc", "-aes-256-cbc", "-K", &key, "-iv", &iv];
            let dgst = ["dgst", "-sha256", "-mac", "HMAC", "-macopt"];
            let hexkey = format!("hexkey:{mac}");
            let ((), e) = measured(srv.pid().as_deref(), async {
                openssl(&[&cbc[..], &["-in", srcs, "-out", encs]].concat());
                openssl(&[&dgst[..], &[&hexkey, encs]].concat());
            })
            .await;
            let ((), d) = measured(srv.pid().as_deref(), async {
                openssl(&[&dgst[..], &[&hexkey, encs]].concat());
                openssl(&[&cbc[..], &["-d", "-in", encs, "-out", outs]].concat());
            })
            .await;
            if round == 0 {
                assert!(same_contents(&src, &out), "openssl round trip differs");
            }
            std::fs::remove_file(&out).unwrap();
            std::fs::remove_file(&enc).unwrap();
            rows[4].1.push(e);
            rows[5].1.push(d);
        }
    }
    rows.retain(|(_, v)| !v.is_empty());
    FileResults { rows, len }
}

fn print_files(r: &FileResults, separate: bool) {
    let mbs = |s: f64| r.len as f64 / 1e6 / s;
    let secs = |name: &str| r.get(name).iter().map(|x| x.secs).collect::<Vec<_>>();
    println!(
        "### 1. A {} MiB file, {} rounds",
        r.len / MIB,
        r.rows[0].1.len()
    );
    println!();
    let server = if separate {
        "server process"
    } else {
        "bench process, server inside"
    };
    println!(
        "| operation | median s | MB/s | client process: peak RSS MiB (before) | {server}: peak RSS MiB (before) | CPU s, client / server | cofre ÷ reference, throughput (per-round range) |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (name, runs) in &r.rows {
        let s = median(&runs.iter().map(|x| x.secs).collect::<Vec<_>>());
        let cpeak = runs.iter().map(|x| x.client_peak).max().unwrap_or(0);
        let cbase = runs.iter().map(|x| x.client_base).max().unwrap_or(0);
        let speak = runs.iter().filter_map(|x| x.server_peak).max();
        let sbase = runs.iter().filter_map(|x| x.server_base).max();
        let ratio = |reference: &str, cofre: &str| {
            let (c, t) = (secs(cofre), secs(reference));
            let per: Vec<f64> = c.iter().zip(&t).map(|(c, t)| t / c).collect();
            let (lo, hi) = range(&per);
            format!("{:.2} ({lo:.2}–{hi:.2})", median(&t) / median(&c))
        };
        let vs = match *name {
            "plain HTTP upload" => ratio(name, "cofre upload"),
            "plain HTTP download" => ratio(name, "cofre download"),
            "openssl enc + hmac" => ratio(name, "cofre upload"),
            "openssl hmac + enc -d" => ratio(name, "cofre download"),
            _ => "—".into(),
        };
        let client = format!("{:.1} ({:.1})", mib(cpeak), mib(cbase));
        let server = match (speak, sbase) {
            (Some(p), Some(b)) => format!("{:.1} ({:.1})", mib(p), mib(b)),
            _ => "—".into(),
        };
        let cpu = format!(
            "{:.2} / {:.2}",
            median(&runs.iter().map(|x| x.client_cpu).collect::<Vec<_>>()),
            median(&runs.iter().map(|x| x.server_cpu).collect::<Vec<_>>())
        );
        if name.starts_with("openssl") {
            // Child processes of the bench: neither peak nor CPU column is theirs.
            println!("| {name} | {s:.2} | {:.0} | — | — | — | {vs} |", mbs(s));
        } else {
            println!(
                "| {name} | {s:.2} | {:.0} | {client} | {server} | {cpu} | {vs} |",
                mbs(s)
            );
        }
    }
    println!();
    println!(
        "Seconds per round (in brackets: CPU seconds used meanwhile by other processes, the openssl children included):"
    );
    println!();
    for (name, runs) in &r.rows {
        let per: Vec<String> = runs
            .iter()
            .map(|x| format!("{:.2} ({:.1})", x.secs, x.other_cpu))
            .collect();
        println!("- {name}: {}", per.join(", "));
    }
    println!();
}

// --- 2. Request rate ---------------------------------------------------------------

async fn rates(srv: &Server, l: &LoggedIn, note: &str) {
    let secs = env_usize("LOAD_SECS", 5) as f64;
    let tasks = env_usize("LOAD_TASKS", 64).max(1);
    let rounds = env_usize("LOAD_ROUNDS", 3).max(1);
    let token = l.tokens.access_token.expose();
    let base = &srv.base;
    let pid = srv.pid();
    let endpoints = [
        ("`GET /healthz` (reference)", format!("{base}/healthz")),
        ("`GET /readyz` (one query)", format!("{base}/readyz")),
        (
            "`GET /api/v1/auth/whoami` (token check)",
            format!("{base}/api/v1/auth/whoami"),
        ),
        (
            "`GET /api/v1/items/{id}`",
            format!("{base}/api/v1/items/{note}"),
        ),
        (
            "`GET /api/v1/items/{id}/body` (1 KiB note)",
            format!("{base}/api/v1/items/{note}/body"),
        ),
    ];
    let http = reqwest::Client::new();
    // One request at a time first: the latency without queueing.
    let probes = env_usize("LATENCY_PROBES", 100).max(1);
    let mut latency = Vec::new();
    for (_, url) in &endpoints {
        let mut v = Vec::new();
        for _ in 0..probes {
            v.push(timed_get(&http, url, token).await.0);
        }
        latency.push((median(&v), pct(&v, 0.9)));
    }
    let mut results: Vec<Vec<Rate>> = endpoints.iter().map(|_| Vec::new()).collect();
    for round in 0..rounds {
        eprintln!("vault_load: request-rate round {}/{rounds}", round + 1);
        for (i, (_, url)) in endpoints.iter().enumerate() {
            wait_idle().await;
            let urls = std::slice::from_ref(url);
            results[i].push(load(&http, urls, token, tasks, secs, pid.as_slice()).await);
        }
    }
    println!(
        "### 2. Requests per second, {tasks} tasks, {secs} s each after 1 s of warm-up, {rounds} rounds interleaved"
    );
    println!();
    println!(
        "| endpoint | median req/s | ÷ `/healthz` (per-round range) | server CPU (cores) | server CPU µs per request | load generator CPU (cores) | other processes (cores) | one at a time: median / p90 latency ({probes} requests) |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let reference: Vec<f64> = results[0].iter().map(|r| r.rps).collect();
    for (((name, _), rs), lat) in endpoints.iter().zip(&results).zip(&latency) {
        let rps: Vec<f64> = rs.iter().map(|r| r.rps).collect();
        let per: Vec<f64> = rps.iter().zip(&reference).map(|(a, b)| a / b).collect();
        let (lo, hi) = range(&per);
        let per: Vec<f64> = rs
            .iter()
            .filter_map(|r| r.server_cpu.map(|c| c * 1e6 / r.rps))
            .collect();
        let per_request = if per.is_empty() {
            "—".to_owned()
        } else {
            format!("{:.0}", median(&per))
        };
        let cores = |f: &dyn Fn(&Rate) -> Option<f64>| {
            let v: Vec<f64> = rs.iter().filter_map(f).collect();
            if v.is_empty() {
                "—".to_owned()
            } else {
                format!("{:.2}", median(&v))
            }
        };
        println!(
            "| {name} | {:.0} | {:.2} ({lo:.2}–{hi:.2}) | {} | {} | {} | {} | {:.2} / {:.2} ms |",
            median(&rps),
            median(&rps) / median(&reference),
            cores(&|r| r.server_cpu),
            per_request,
            cores(&|r| Some(r.client_cpu)),
            cores(&|r| Some(r.other_cpu)),
            lat.0,
            lat.1,
        );
    }
    println!();
    breakdown(srv, token, note).await;
}

/// Wall and CPU microseconds per call of `f`, run `n` times one after the other.
async fn per_call(n: usize, mut f: impl AsyncFnMut()) -> (f64, f64) {
    let c0 = cpu_secs("self").unwrap_or(0.0);
    let t = Instant::now();
    for _ in 0..n {
        f().await;
    }
    let wall = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    let cpu = (cpu_secs("self").unwrap_or(0.0) - c0) * 1e6 / n as f64;
    (wall, cpu)
}

/// The pieces of an authenticated item request, each alone and one call at a time, in
/// this process: the token check with the server's keys, and each query the request
/// makes, through a store on the server's database.
async fn breakdown(srv: &Server, token: &str, note: &str) {
    let n = 5000;
    let now = cofre_server::clock::now();
    let (keys, _) = cofre_server::secrets::ServerKeys::load_or_create(
        &cofre_server::secrets::default_keys_dir(&srv.data),
        now,
    )
    .unwrap();
    let tokens = cofre_server::auth::jwt::TokenKeys::new(&keys, "cofre", "cofre-api", 7200)
        .expect("the server's token keys");
    let claims = tokens.verify_uncached(token).unwrap();
    let store = &srv.store;
    let rows = [
        (
            "access token: JWT decode + EdDSA verify",
            per_call(n, async || {
                tokens.verify_uncached(token).unwrap();
            })
            .await,
        ),
        (
            "access token seen before (verified-token cache, `exp`/`nbf` checked)",
            per_call(n, async || {
                tokens.verify(token).unwrap();
            })
            .await,
        ),
        (
            "`SELECT 1` (what `/readyz` runs)",
            per_call(n, async || {
                assert!(store.ping().await);
            })
            .await,
        ),
        (
            "session + account + TOTP state + MFA policy (one query)",
            per_call(n, async || {
                store.session_auth(&claims.sid).await.unwrap().unwrap();
            })
            .await,
        ),
        (
            "item by id and owner",
            per_call(n, async || {
                store.item(&claims.sub, note).await.unwrap().unwrap();
            })
            .await,
        ),
    ];
    println!(
        "Server work per authenticated item request, each piece alone ({n} calls one after the other, in the bench process, on the server's keys and database):"
    );
    println!();
    println!("| piece | µs per call (wall) | µs CPU per call |");
    println!("| --- | ---: | ---: |");
    for (name, (wall, cpu)) in rows {
        println!("| {name} | {wall:.1} | {cpu:.1} |");
    }
    println!();
}

// --- 3. A large vault ----------------------------------------------------------------

/// `count` items with their own keys, as SQL value tuples, on every core.
fn make_rows(count: usize, owner: &str, keys: &UnlockedKeys, start_time: i64) -> Vec<String> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = count.div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let from = t * per;
                    let to = ((t + 1) * per).min(count);
                    (from..to)
                        .map(|k| {
                            let id = new_id();
                            let key = ItemKey::generate().unwrap();
                            // Four items per second of server time: ties on the time exercise
                            // the cursor's id tie-break.
                            let t = start_time + (k / 4) as i64;
                            let size = 1000 + (k as u64 * 7919) % 100_000;
                            let meta = ItemMetadata {
                                kind: ItemKind::File,
                                name: format!("file-{k:06}.bin"),
                                content_type: "application/octet-stream".into(),
                                size,
                                created: t,
                                modified: t,
                            }
                            .seal(&key, &id)
                            .unwrap()
                            .to_text();
                            let wrapped =
                                key.wrap_for(&[keys.public_key()], &id).unwrap()[0].to_text();
                            let encoded = stream::encrypted_len(size, stream::DEFAULT_CHUNK_LOG2);
                            format!(
                                "('{id}','{owner}',1,{encoded},'{meta}','{wrapped}',{t},{t},{t})"
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

/// One GET: milliseconds until the whole body arrived, and the body.
async fn timed_get(http: &reqwest::Client, url: &str, token: &str) -> (f64, Vec<u8>) {
    let t = Instant::now();
    let r = http.get(url).bearer_auth(token).send().await.unwrap();
    assert!(r.status().is_success(), "{url}: {}", r.status());
    let b = r.bytes().await.unwrap();
    (t.elapsed().as_secs_f64() * 1000.0, b.to_vec())
}

fn open_all(items: &[Item], keys: &UnlockedKeys, threads: usize) -> usize {
    let per = items.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(per)
            .map(|c| {
                s.spawn(move || {
                    c.iter()
                        .filter(|i| open_item((*i).clone(), keys).opened.is_ok())
                        .count()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    })
}

async fn large_vault(srv: &Server, client: &Client, l: &LoggedIn) {
    let count = env_usize("VAULT_ITEMS", 100_000);
    let probes = env_usize("LIST_PROBES", 50).max(1);
    let token = l.tokens.access_token.expose();
    let owner = srv.store.user_by_name(USER).await.unwrap().unwrap().id;
    assert!(owner.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    let now = cofre_server::clock::now();
    eprintln!("vault_load: sealing {count} items");
    let t = Instant::now();
    let rows = make_rows(count, &owner, &l.keys, now - count as i64);
    let sealing = t.elapsed().as_secs_f64();
    let mut sql = String::from("BEGIN;\n");
    for chunk in rows.chunks(1000) {
        sql.push_str(
            "INSERT INTO items (id, owner_id, committed, size, metadata, wrapped_key, \
             created_at, updated_at, expires_at) VALUES ",
        );
        sql.push_str(&chunk.join(","));
        sql.push_str(";\n");
    }
    sql.push_str("COMMIT;");
    drop(rows);
    eprintln!(
        "vault_load: inserting {count} rows ({} MB of SQL)",
        sql.len() / 1_000_000
    );
    let t = Instant::now();
    srv.store.raw_execute(&sql).await.unwrap();
    let inserting = t.elapsed().as_secs_f64();
    drop(sql);
    let total = count + 1; // and the note

    let http = reqwest::Client::new();
    let list = format!("{}/api/v1/items?limit=200", srv.base);
    // Warm-up, then every page once, following the cursors.
    for _ in 0..5 {
        timed_get(&http, &list, token).await;
    }
    eprintln!("vault_load: walking every page");
    let mut cursors = Vec::new();
    let mut page_ms = Vec::new();
    let mut seen = 0usize;
    let mut url = list.clone();
    let walk = Instant::now();
    loop {
        let (ms, body) = timed_get(&http, &url, token).await;
        page_ms.push(ms);
        let page: ItemPage = serde_json::from_slice(&body).unwrap();
        seen += page.items.len();
        match page.next {
            Some(n) => {
                url = format!("{list}&after={n}");
                cursors.push(n);
            }
            None => break,
        }
    }
    let walk_s = walk.elapsed().as_secs_f64();
    assert_eq!(seen, total);
    let deep_index = cursors.len().saturating_sub(1) * 9 / 10;
    let deep = cursors
        .get(deep_index)
        .map(|c| format!("{list}&after={c}"))
        .unwrap_or_else(|| list.clone());
    let (mut first, mut later) = (Vec::new(), Vec::new());
    let mut page_bytes = 0;
    for _ in 0..probes {
        let (ms, b) = timed_get(&http, &list, token).await;
        first.push(ms);
        page_bytes = b.len();
        later.push(timed_get(&http, &deep, token).await.0);
    }
    // What `Client::items` fetches before opening anything: pages of 1000.
    let t = Instant::now();
    let mut after: Option<String> = None;
    let mut fetched = 0;
    loop {
        let p = client
            .items_page(&l.tokens.access_token, after.as_deref(), 1000)
            .await
            .unwrap();
        fetched += p.items.len();
        match p.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    let fetch_all_s = t.elapsed().as_secs_f64();
    assert_eq!(fetched, total);

    // The client opening one page of 200.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (mut fetch_ms, mut one_core, mut all_cores) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..3 {
        let t = Instant::now();
        let page = client
            .items_page(&l.tokens.access_token, None, 200)
            .await
            .unwrap();
        fetch_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        assert_eq!(open_all(&page.items, &l.keys, 1), page.items.len());
        one_core.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        assert_eq!(open_all(&page.items, &l.keys, threads), page.items.len());
        all_cores.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let ls_full = if env_usize("VAULT_LS_FULL", 1) != 0 {
        eprintln!("vault_load: opening the whole vault (Client::items)");
        let t = Instant::now();
        let items = client.items(&l.tokens.access_token, &l.keys).await.unwrap();
        let s = t.elapsed().as_secs_f64();
        assert_eq!(items.iter().filter(|i| i.opened.is_ok()).count(), total);
        Some(s)
    } else {
        None
    };
    // `Client::list` (what `cofre ls`, `ls --json` and `get NAME` run): the first run
    // migrates the vault (the rows above have no owner copy: one RSA unwrap per item,
    // and a copy sealed and stored for each); the later runs read the owner copies.
    eprintln!("vault_load: listing the whole vault (Client::list): migration, then 3 runs");
    let t = Instant::now();
    let (listed, report) = client
        .list_with_report(&l.tokens.access_token, &l.keys)
        .await
        .unwrap();
    let migrate_s = t.elapsed().as_secs_f64();
    assert_eq!(listed.iter().filter(|i| i.metadata.is_ok()).count(), total);
    // The note was stored through the client, with its copy; the rows were not.
    assert_eq!(report.copies_stored, count);
    let mut list_s = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let (listed, report) = client
            .list_with_report(&l.tokens.access_token, &l.keys)
            .await
            .unwrap();
        list_s.push(t.elapsed().as_secs_f64());
        assert_eq!(report.from_owner_copy, total);
        assert_eq!(report.opened_with_rsa, 0);
        assert_eq!(listed.len(), total);
    }

    println!(
        "### 3. A vault of {total} items (pages of 200: {} KB of JSON each)",
        page_bytes / 1000
    );
    println!();
    println!(
        "Set-up, not a target: sealing {count} items (item key, wrapped key, sealed metadata) {sealing:.1} s on {threads} threads; inserting them in one transaction {inserting:.1} s."
    );
    println!();
    println!("| measurement | median | p99 / range |");
    println!("| --- | ---: | ---: |");
    println!(
        "| `GET /api/v1/items?limit=200`, first page, {probes} requests | {:.1} ms | {:.1} ms |",
        median(&first),
        pct(&first, 0.99)
    );
    println!(
        "| same, page {} of {} (`after` = that page's cursor), {probes} requests | {:.1} ms | {:.1} ms |",
        deep_index + 2,
        cursors.len() + 1,
        median(&later),
        pct(&later, 0.99)
    );
    println!(
        "| every page of 200 once, following `next` ({} pages) | {:.1} ms per page | {walk_s:.1} s in all |",
        page_ms.len(),
        median(&page_ms)
    );
    println!(
        "| every page of 1000 through `Client::items_page` (the fetch part of `Client::items`) | | {fetch_all_s:.1} s in all |"
    );
    let (lo, hi) = range(&fetch_ms);
    println!(
        "| client: `items_page` of 200 (request + JSON), 3 runs | {:.1} ms | {lo:.1}–{hi:.1} ms |",
        median(&fetch_ms)
    );
    let (lo, hi) = range(&one_core);
    println!(
        "| client: `open_item` × 200 (RSA-OAEP unwrap + metadata), one core, 3 runs | {:.0} ms | {lo:.0}–{hi:.0} ms |",
        median(&one_core)
    );
    let (lo, hi) = range(&all_cores);
    println!(
        "| client: `open_item` × 200 on {threads} threads, 3 runs | {:.0} ms | {lo:.0}–{hi:.0} ms |",
        median(&all_cores)
    );
    if let Some(s) = ls_full {
        println!(
            "| client: `Client::items` on the whole vault (what `cofre ls` runs), 1 run | {s:.1} s | {:.2} ms per item |",
            s * 1000.0 / total as f64
        );
    }
    println!(
        "| client: `Client::list`, first run on this vault: migration (RSA unwrap of each item, {count} owner copies sealed and stored), 1 run | {migrate_s:.1} s | {:.2} ms per item |",
        migrate_s * 1000.0 / total as f64
    );
    let (lo, hi) = range(&list_s);
    let med = median(&list_s);
    let ratio = ls_full.map_or(String::new(), |s| {
        format!(", {:.3} × `Client::items`", med / s)
    });
    println!(
        "| client: `Client::list` on the whole vault (owner copies: no RSA), 3 runs | {med:.2} s | {lo:.2}–{hi:.2} s{ratio} |"
    );
    println!();
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    if let Ok(op) = std::env::var("VAULT_CHILD") {
        return child_main(&op).await;
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` (or `--all-targets`) runs
    // this binary without it, and a 1 GiB run has no place in a test run.
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("vault_load: not run by `cargo bench` (no --bench argument): skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let srv = start_server(&dir.path().join("data")).await;
    let separate = srv.child.is_some();
    eprintln!(
        "vault_load: server at {} ({})",
        srv.base,
        if separate {
            "its own process"
        } else {
            "in this process: set COFRE_BIN to measure it apart"
        }
    );
    let client = Client::new(&srv.base).unwrap();
    client
        .register(USER, &Password::new(PASSWORD), None)
        .await
        .unwrap();
    let l = client
        .login(USER, &Password::new(PASSWORD), SecondFactor::None)
        .await
        .unwrap();
    let token = &l.tokens.access_token;
    // A 1 KiB note: the small item of part 2, and real texts for the plain uploads.
    let text: Vec<u8> = (0..1024u32).map(|i| b'a' + (i % 26) as u8).collect();
    let note = client
        .upload(
            token,
            &l.keys,
            NewItem {
                kind: ItemKind::Note,
                name: "note".into(),
                content_type: "text/plain; charset=utf-8".into(),
            },
            Source::Bytes(text),
            &no_progress,
        )
        .await
        .unwrap();
    let raw: Item = reqwest::Client::new()
        .get(format!("{}/api/v1/items/{}", srv.base, note.id))
        .bearer_auth(token.expose())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let texts = (raw.metadata.clone(), raw.wrapped_key.clone());

    // A size of 0 skips a part.
    if env_usize("VAULT_FILE_MIB", 1024) > 0 {
        let file_results = files(&srv, &client, &l, &texts).await;
        print_files(&file_results, separate);
    }
    if env_usize("LOAD_SECS", 5) > 0 {
        rates(&srv, &l, &note.id).await;
    }
    if env_usize("VAULT_ITEMS", 100_000) > 0 {
        large_vault(&srv, &client, &l).await;
    }
    drop(srv);
}
