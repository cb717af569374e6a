//! Login cost and authenticated-request latency under a login storm.
//!
//! `cargo bench -p cofre-server --bench login_load` starts a real server on loopback with
//! the default bcrypt cost (12) and default KDF (Argon2id 256 MiB, t = 3, p = 4), and
//! measures, in one run:
//!
//! 1. a full client login (prelogin + Argon2id + bcrypt on the server + unlock), and the
//!    server's bcrypt verify alone;
//! 2. `GET /api/v1/auth/whoami` latency with no other load (the reference), then while
//!    32 logins run concurrently (the auth keys are derived beforehand, so the load is
//!    the server's bcrypt work, not the clients' Argon2id).
//!
//! Prints medians and the p99, and the ratio of loaded to idle latency.
//! Environment: `ROUNDS` (default 15) logins measured, `PROBES` (default 1000) requests
//! per latency series (one every 5 ms: idle, during the storm, idle again),
//! `BCRYPT_THREADS` (default: the server's, CPU count minus one).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::{Duration, Instant};

use cofre_client::Client;
use cofre_client::client::SecondFactor;
use cofre_core::keys::MasterKey;
use cofre_core::secret::Password;
use cofre_server::ServerConfig;
use cofre_server::auth::password::Priority;

const PASSWORD: &str = "correct horse battery staple 7";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn probe(http: &reqwest::Client, url: &str, token: &str, n: usize) -> Vec<Duration> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = http.get(url).bearer_auth(token).send().await.unwrap();
        assert!(r.status().is_success());
        r.bytes().await.unwrap();
        out.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    out.sort();
    out
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let rounds = env_usize("ROUNDS", 15);
    let probes = env_usize("PROBES", 1000);
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(dir.path().join("data"), "127.0.0.1:0".parse().unwrap());
    config.bcrypt_threads = env_usize("BCRYPT_THREADS", config.bcrypt_threads);
    let (state, _) = cofre_server::app::open(config.clone()).await.unwrap();
    let threads = state.config.bcrypt_threads;
    let hasher = state.hasher.clone();
    let store = state.store.clone();
    let listener = cofre_server::app::bind(&config).await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(cofre_server::serve(listener, state, std::future::pending()));
    let client = Client::new(&base).unwrap();
    client
        .register("bench", &Password::new(PASSWORD), None)
        .await
        .unwrap();

    // 1. Full client logins.
    let mut full = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        client
            .login("bench", &Password::new(PASSWORD), SecondFactor::None)
            .await
            .unwrap();
        full.push(t.elapsed());
    }
    full.sort();
    // The auth key once, then raw logins: the server's part alone.
    let pre = client.prelogin("bench").await.unwrap();
    let auth = MasterKey::derive(&Password::new(PASSWORD), &pre.salt, &pre.kdf)
        .unwrap()
        .auth_key()
        .unwrap()
        .to_text();
    let body = format!(r#"{{"username":"bench","auth_key":"{}"}}"#, auth.as_str());
    let http = reqwest::Client::new();
    let login_url = format!("{base}/api/v1/auth/login");
    let mut server_side = Vec::new();
    let mut token = String::new();
    for _ in 0..rounds {
        let t = Instant::now();
        let r = http
            .post(&login_url)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        let v: serde_json::Value = r.json().await.unwrap();
        server_side.push(t.elapsed());
        token = v["access_token"].as_str().unwrap().to_owned();
    }
    server_side.sort();
    // bcrypt alone, as the server runs it.
    let hash = store
        .user_by_name("bench")
        .await
        .unwrap()
        .unwrap()
        .auth_hash;
    let mut bcrypt_alone = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        assert!(
            hasher
                .verify(auth.as_str(), Some(&hash), Priority::Login)
                .await
                .unwrap()
        );
        bcrypt_alone.push(t.elapsed());
    }
    bcrypt_alone.sort();

    // 2. Latency idle, then under 32 concurrent logins.
    let who = format!("{base}/api/v1/auth/whoami");
    let idle = probe(&http, &who, &token, probes).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut storm = Vec::new();
    let logins = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for _ in 0..32 {
        let (http, url, body, stop, logins) = (
            http.clone(),
            login_url.clone(),
            body.clone(),
            stop.clone(),
            logins.clone(),
        );
        storm.push(tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let r = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap();
                assert!(
                    r.status().is_success() || r.status() == 503,
                    "{}",
                    r.status()
                );
                logins.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t0 = Instant::now();
    let before = logins.load(std::sync::atomic::Ordering::Relaxed);
    let loaded = probe(&http, &who, &token, probes).await;
    let storm_secs = t0.elapsed().as_secs_f64();
    let during = logins.load(std::sync::atomic::Ordering::Relaxed) - before;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for h in storm {
        h.await.unwrap();
    }
    let idle_after = probe(&http, &who, &token, probes).await;

    println!("| measurement | median | p99 |");
    println!("| --- | --- | --- |");
    println!(
        "| full client login (Argon2id 256 MiB t=3 p=4 + bcrypt 12), {rounds} runs | {:.0} ms | {:.0} ms |",
        ms(pct(&full, 0.5)),
        ms(pct(&full, 0.99))
    );
    println!(
        "| login request alone (server bcrypt 12 + session), {rounds} runs | {:.0} ms | {:.0} ms |",
        ms(pct(&server_side, 0.5)),
        ms(pct(&server_side, 0.99))
    );
    println!(
        "| bcrypt verify alone (cost 12, on the server's pool), {rounds} runs | {:.0} ms | {:.0} ms |",
        ms(pct(&bcrypt_alone, 0.5)),
        ms(pct(&bcrypt_alone, 0.99))
    );
    println!(
        "| `GET /auth/whoami`, idle (reference), {probes} requests | {:.2} ms | {:.2} ms |",
        ms(pct(&idle, 0.5)),
        ms(pct(&idle, 0.99))
    );
    println!(
        "| `GET /auth/whoami` during 32 concurrent logins, {probes} requests | {:.2} ms | {:.2} ms |",
        ms(pct(&loaded, 0.5)),
        ms(pct(&loaded, 0.99))
    );
    println!(
        "| `GET /auth/whoami`, idle again after the storm, {probes} requests | {:.2} ms | {:.2} ms |",
        ms(pct(&idle_after, 0.5)),
        ms(pct(&idle_after, 0.99))
    );
    println!();
    println!(
        "loaded/idle median ratio {:.2}; logins completed during the storm: {} in {:.1} s ({:.1}/s) on {} bcrypt thread(s)",
        ms(pct(&loaded, 0.5)) / ms(pct(&idle, 0.5)),
        during,
        storm_secs,
        during as f64 / storm_secs,
        threads
    );
}
