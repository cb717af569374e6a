//! Backup and restore throughput, and what a running backup does to request latency.
//!
//! `cargo bench -p cofre-server --bench backup_load` starts a server on loopback in this
//! process (cheap account settings: logins are not measured), registers one account,
//! uploads one small note through the API, then fills the data directory with
//! `BACKUP_ITEMS` items (default 100,000) inserted straight into the database (each row
//! with metadata and a wrapped key of the real lengths, as random text) and a blob per
//! item, `BACKUP_BLOB_MIB` MiB of random bytes in all (default 1024), written as the
//! local blob store lays them out. Then, in one run:
//!
//! 1. `BACKUP_ROUNDS` rounds (default 3), interleaved: `backup::create::create` (what
//!    `cofre backup create` and the scheduler run) into a fresh folder;
//!    `backup::restore::restore` of that archive into a fresh directory; and the
//!    references on the same data directory: `tar -cf - DATA | openssl enc -aes-256-cbc`
//!    into a file, then `sync` (a plain encrypted tarball: no per-file hashing, no
//!    manifest, no signature, one core), and `openssl enc -d | tar -x` for the restore,
//!    then `sync`. Throughput is bytes of the data directory (blobs plus database) per
//!    second.
//! 2. `GET /api/v1/items/{id}` of the note, `LOAD_TASKS` (8) concurrent tasks, for
//!    `LOAD_SECS` (5) with the server idle, then for the whole duration of a backup:
//!    requests per second and latency median, p90 and p99.
//!
//! Only `cargo bench` runs it: without `--bench` (`cargo test --all-targets`) it does
//! nothing. The temporary directory is `$TMPDIR` (default /tmp); it needs about three
//! times `BACKUP_BLOB_MIB` free.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{env_usize, median, pct};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cofre_client::Client;
use cofre_client::client::SecondFactor;
use cofre_client::vault::{NewItem, Source};
use cofre_core::keys::{KdfParams, PrivateKey};
use cofre_core::primitives::rand;
use cofre_core::secret::Password;
use cofre_core::vault::ItemKind;
use cofre_server::ServerConfig;
use cofre_server::backup::archive::Archive;

const PASSWORD: &str = "correct horse battery staple 7";

fn quiet() -> Arc<dyn Fn(u64) + Send + Sync> {
    Arc::new(|_| {})
}

fn random_text(len: usize) -> String {
    let mut b = vec![0u8; len * 3 / 4 + 3];
    rand::fill(&mut b).unwrap();
    let mut s = data_encoding::BASE64URL_NOPAD.encode(&b);
    s.truncate(len);
    s
}

fn new_id() -> String {
    data_encoding::HEXLOWER.encode(&rand::array::<16>().unwrap())
}

fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                total += e.metadata().unwrap().len();
            }
        }
    }
    total
}

fn sh(script: &str) -> f64 {
    let t = Instant::now();
    let st = std::process::Command::new("sh")
        .args(["-c", script])
        .status()
        .unwrap();
    assert!(st.success(), "{script}");
    t.elapsed().as_secs_f64()
}

fn tools_available() -> bool {
    ["openssl version", "tar --version"].iter().all(|c| {
        std::process::Command::new("sh")
            .args(["-c", &format!("{c} >/dev/null 2>&1")])
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// Fills the data directory: `count` item rows and one blob each, `blob_total` bytes.
async fn fill(
    store: &cofre_server::store::Store,
    data: &Path,
    owner: &str,
    count: usize,
    blob_total: u64,
) {
    let per_blob = (blob_total / count.max(1) as u64).max(1) as usize;
    eprintln!("backup_load: writing {count} blobs of {per_blob} bytes");
    let now = cofre_server::clock::now();
    let mut sql = String::from("BEGIN;\n");
    let mut rows = Vec::with_capacity(1000);
    let mut buf = vec![0u8; per_blob];
    for k in 0..count {
        let id = new_id();
        rand::fill(&mut buf).unwrap();
        let dir = data.join("blobs").join(&id[..2]);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(&id), &buf).unwrap();
        let t = now - (count - k) as i64;
        rows.push(format!(
            "('{id}','{owner}',1,{per_blob},'{}','{}',{t},{t},{t})",
            random_text(231),
            random_text(539)
        ));
        if rows.len() == 1000 || k + 1 == count {
            sql.push_str(
                "INSERT INTO items (id, owner_id, committed, size, metadata, wrapped_key, \
                 created_at, updated_at, expires_at) VALUES ",
            );
            sql.push_str(&rows.join(","));
            sql.push_str(";\n");
            rows.clear();
        }
    }
    sql.push_str("COMMIT;");
    store.raw_execute(&sql).await.unwrap();
    store.checkpoint().await.unwrap();
    let _ = std::process::Command::new("sync").status();
}

struct Latency {
    rps: f64,
    p50: f64,
    p90: f64,
    p99: f64,
}

/// Runs `tasks` request loops until `stop`; returns the rate and latency percentiles.
async fn load_until(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    tasks: usize,
    stop: Arc<AtomicBool>,
) -> Latency {
    let t0 = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let (http, url, token, stop) =
            (http.clone(), url.to_owned(), token.to_owned(), stop.clone());
        handles.push(tokio::spawn(async move {
            let mut ms = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let r = http.get(&url).bearer_auth(&token).send().await.unwrap();
                assert!(r.status().is_success());
                r.bytes().await.unwrap();
                ms.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            ms
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    let secs = t0.elapsed().as_secs_f64();
    Latency {
        rps: all.len() as f64 / secs,
        p50: pct(&all, 0.5),
        p90: pct(&all, 0.9),
        p99: pct(&all, 0.99),
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let items = env_usize("BACKUP_ITEMS", 100_000);
    let blob_mib = env_usize("BACKUP_BLOB_MIB", 1024) as u64;
    let rounds = env_usize("BACKUP_ROUNDS", 3).max(1);
    let tasks = env_usize("LOAD_TASKS", 8).max(1);
    let load_secs = env_usize("LOAD_SECS", 5) as u64;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");

    let mut config = ServerConfig::new(data.clone(), "127.0.0.1:0".parse().unwrap());
    config.bcrypt_cost = 10;
    config.kdf = KdfParams::Argon2id {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };
    config.access_ttl_secs = 7200;
    let (state, _) = cofre_server::app::open(config.clone()).await.unwrap();
    let store = state.store.clone();
    let listener = cofre_server::app::bind(&config).await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(cofre_server::serve(listener, state, async {
        let _ = stop_rx.await;
    }));
    let client = Client::new(&base).unwrap();
    let pw = Password::new(PASSWORD);
    client.register("bench", &pw, None).await.unwrap();
    let l = client
        .login("bench", &pw, SecondFactor::None)
        .await
        .unwrap();
    let note = client
        .upload(
            &l.tokens.access_token,
            &l.keys,
            NewItem {
                kind: ItemKind::Note,
                name: "note".into(),
                content_type: "text/plain".into(),
            },
            Source::Bytes(vec![b'x'; 1024]),
            &|_, _| {},
        )
        .await
        .unwrap();
    let owner = store.user_by_name("bench").await.unwrap().unwrap().id;
    fill(&store, &data, &owner, items, blob_mib << 20).await;
    let data_bytes = dir_bytes(&data);
    let mb = data_bytes as f64 / 1e6;
    eprintln!("backup_load: data directory {mb:.0} MB");

    let backup_key = PrivateKey::generate().unwrap();
    let refs = tools_available();
    let (mut create_s, mut restore_s, mut tar_s, mut untar_s) = (vec![], vec![], vec![], vec![]);
    let mut archive_bytes = 0;
    for round in 0..rounds {
        eprintln!("backup_load: round {}", round + 1);
        let out = tmp.path().join("out");
        let restored = tmp.path().join("restored");
        let _ = std::process::Command::new("sync").status();
        let t = Instant::now();
        let made = cofre_server::backup::create::create(
            &store,
            &data,
            backup_key.public_key(),
            &out,
            cofre_server::clock::now(),
            quiet(),
        )
        .await
        .unwrap();
        create_s.push(t.elapsed().as_secs_f64());
        archive_bytes = made.bytes;
        let _ = std::process::Command::new("sync").status();
        let t = Instant::now();
        let archive = Archive::open(&made.path).unwrap();
        cofre_server::backup::restore::restore(archive, &backup_key, &restored, false, quiet())
            .await
            .unwrap();
        let _ = std::process::Command::new("sync").status();
        restore_s.push(t.elapsed().as_secs_f64());
        std::fs::remove_dir_all(&restored).unwrap();
        std::fs::remove_dir_all(&out).unwrap();
        if refs {
            let tarball = tmp.path().join("ref.tar.enc");
            let (d, f) = (data.display(), tarball.display());
            tar_s.push(sh(&format!(
                "tar -C {d} -cf - . | openssl enc -aes-256-cbc -pbkdf2 -pass pass:bench -out {f} && sync"
            )));
            std::fs::create_dir_all(&restored).unwrap();
            let r = restored.display();
            untar_s.push(sh(&format!(
                "openssl enc -d -aes-256-cbc -pbkdf2 -pass pass:bench -in {f} | tar -C {r} -xf - && sync"
            )));
            std::fs::remove_dir_all(&restored).unwrap();
            std::fs::remove_file(&tarball).unwrap();
        }
    }

    // Latency of small-item reads, idle and while a backup runs.
    let http = reqwest::Client::new();
    let url = format!("{base}/api/v1/items/{}", note.id);
    let token = l.tokens.access_token.expose().to_owned();
    let stop = Arc::new(AtomicBool::new(false));
    let s2 = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(load_secs)).await;
        s2.store(true, Ordering::Relaxed);
    });
    let idle = load_until(&http, &url, &token, tasks, stop).await;
    let stop = Arc::new(AtomicBool::new(false));
    let loader = {
        let (http, url, token, stop) = (http.clone(), url.clone(), token.clone(), stop.clone());
        tokio::spawn(async move { load_until(&http, &url, &token, tasks, stop).await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let out = tmp.path().join("out-load");
    let t = Instant::now();
    cofre_server::backup::create::create(
        &store,
        &data,
        backup_key.public_key(),
        &out,
        cofre_server::clock::now(),
        quiet(),
    )
    .await
    .unwrap();
    let during_backup_s = t.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let busy = loader.await.unwrap();
    let _ = stop_tx.send(());

    let rate = |s: &[f64]| mb / median(s);
    println!(
        "\n### Backup and restore ({items} items, {blob_mib} MiB of blobs; data directory {mb:.0} MB, archive {:.0} MB)\n",
        archive_bytes as f64 / 1e6
    );
    println!("| operation | median s | MB/s | ÷ reference (throughput) |");
    println!("| --- | ---: | ---: | ---: |");
    let ratio = |a: &[f64], b: &[f64]| {
        if b.is_empty() {
            "n/a".to_owned()
        } else {
            format!("**{:.2}**", median(b) / median(a))
        }
    };
    println!(
        "| `cofre backup create` | {:.2} | {:.0} | {} |",
        median(&create_s),
        rate(&create_s),
        ratio(&create_s, &tar_s)
    );
    println!(
        "| `cofre backup restore` | {:.2} | {:.0} | {} |",
        median(&restore_s),
        rate(&restore_s),
        ratio(&restore_s, &untar_s)
    );
    if refs {
        println!(
            "| reference: `tar c \\| openssl enc` + sync | {:.2} | {:.0} | |",
            median(&tar_s),
            rate(&tar_s)
        );
        println!(
            "| reference: `openssl enc -d \\| tar x` + sync | {:.2} | {:.0} | |",
            median(&untar_s),
            rate(&untar_s)
        );
    }
    println!(
        "\nPer round (s): create {create_s:.2?}, restore {restore_s:.2?}, tar {tar_s:.2?}, untar {untar_s:.2?}"
    );
    println!("\n### `GET /api/v1/items/{{id}}` with {tasks} concurrent tasks\n");
    println!("| while | req/s | median ms | p90 ms | p99 ms |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    println!(
        "| idle ({load_secs} s) | {:.0} | {:.2} | {:.2} | {:.2} |",
        idle.rps, idle.p50, idle.p90, idle.p99
    );
    println!(
        "| a backup runs ({during_backup_s:.1} s) | {:.0} | {:.2} | {:.2} | {:.2} |",
        busy.rps, busy.p50, busy.p90, busy.p99
    );
}
