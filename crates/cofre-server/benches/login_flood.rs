//! Legitimate logins during a flood of password guesses and registrations.
//!
//! `cargo bench -p cofre-server --bench login_flood` starts a real server on loopback
//! with the default bcrypt cost (12), bcrypt threads and limits, creates 32 accounts,
//! logs each in once (so each client holds a device token, as a returning user's does),
//! then measures in one run:
//!
//! 1. the reference: 32 users log in at once, no other load;
//! 2. the same 32 logins while a flood runs: 1,000 wrong-password guesses against those
//!    32 accounts and against unknown names, from 50 loopback addresses
//!    (127.0.1.0–127.0.1.49), and 300 registrations from 30 addresses.
//!
//! Prints the legitimate logins' median and p99 for both, their ratio, and what became
//! of the flood (answered 401, 429 or 503; guesses that reached bcrypt).
//! Environment: `ROUNDS` (default 3): how many times each series of 32 logins runs.
//! The logins send auth keys derived beforehand (the client's KDF is not what is
//! measured), and the accounts use PBKDF2 so that setting up is quick.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cofre_api::Username;
use cofre_api::auth::RegisterRequest;
use cofre_core::keys::{KdfParams, UnlockedKeys};
use cofre_core::secret::Password;
use cofre_server::ServerConfig;
use cofre_server::routes::auth::create_account;

const PASSWORD: &str = "correct horse battery staple 7";
const USERS: usize = 32;
const GUESSES: usize = 1000;
const REGISTRATIONS: usize = 300;

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

/// An HTTP client whose connections come from `ip`.
fn from(ip: IpAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip)
        .build()
        .unwrap()
}

/// A returning user: the login body with the auth key and the device token.
struct User {
    body: String,
}

/// One series: every user logs in at once; the sorted latencies.
async fn series(http: &reqwest::Client, url: &str, users: &[User]) -> Vec<Duration> {
    let mut tasks = Vec::new();
    for u in users {
        let (http, url, body) = (http.clone(), url.to_owned(), u.body.clone());
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let r = http
                .post(&url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = r.status();
            r.bytes().await.unwrap();
            assert!(status.is_success(), "a legitimate login failed: {status}");
            t.elapsed()
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out.sort();
    out
}

#[derive(Default)]
struct Tally {
    ok: AtomicUsize,
    unauthorized: AtomicUsize,
    throttled: AtomicUsize,
    busy: AtomicUsize,
    other: AtomicUsize,
}

impl Tally {
    fn count(&self, status: u16) {
        let c = match status {
            200..=299 => &self.ok,
            401 | 403 | 409 => &self.unauthorized,
            429 => &self.throttled,
            503 => &self.busy,
            _ => &self.other,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    fn line(&self) -> String {
        format!(
            "{} ok, {} refused (401/403/409), {} throttled (429), {} busy (503), {} other",
            self.ok.load(Ordering::Relaxed),
            self.unauthorized.load(Ordering::Relaxed),
            self.throttled.load(Ordering::Relaxed),
            self.busy.load(Ordering::Relaxed),
            self.other.load(Ordering::Relaxed)
        )
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let rounds = env_usize("ROUNDS", 3);
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(dir.path().join("data"), "127.0.0.1:0".parse().unwrap());
    // A light client KDF keeps set-up quick; the server's work (bcrypt 12) is unchanged.
    config.kdf = KdfParams::Pbkdf2Sha256 {
        iterations: 600_000,
    };
    let (state, _) = cofre_server::app::open(config.clone()).await.unwrap();
    let threads = state.config.bcrypt_threads;
    let hasher = state.hasher.clone();
    let app = state.clone();
    let listener = cofre_server::app::bind(&config).await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(cofre_server::serve(listener, state, std::future::pending()));
    let login_url = format!("{base}/api/v1/auth/login");
    let register_url = format!("{base}/api/v1/auth/register");

    // Set-up: one key set (the server only checks its form), 32 accounts made directly
    // (not through the registration limit), each logged in once for its device token.
    let new = UnlockedKeys::create(&Password::new(PASSWORD), config.kdf.clone()).unwrap();
    let auth = new.auth_key.to_text();
    let template = RegisterRequest {
        username: String::new(),
        auth_key: auth.clone().into(),
        recovery_auth_key: new.recovery_key.auth_key().unwrap().to_text().into(),
        keys: new.keys,
        invite: None,
    };
    let legit = reqwest::Client::new();
    let mut users = Vec::new();
    for i in 0..USERS {
        let name = format!("user{i:02}");
        let mut req = template.clone();
        req.username = name.clone();
        let username = Username::parse(&name).unwrap();
        create_account(&app, &username, &req, None, "127.0.0.1")
            .await
            .unwrap();
        let first = serde_json::json!({ "username": name, "auth_key": auth.as_str() });
        let r = legit.post(&login_url).json(&first).send().await.unwrap();
        assert!(r.status().is_success(), "set-up login: {}", r.status());
        let v: serde_json::Value = r.json().await.unwrap();
        let device = v["device_token"]
            .as_str()
            .expect("a device token")
            .to_owned();
        let body = serde_json::json!({
            "username": name,
            "auth_key": auth.as_str(),
            "device_token": device,
        })
        .to_string();
        users.push(User { body });
    }

    // 1. The reference: no flood.
    let mut quiet = Vec::new();
    for _ in 0..rounds {
        quiet.extend(series(&legit, &login_url, &users).await);
    }
    quiet.sort();

    // 2. The flood, then the same logins during it.
    let verified_before = hasher.verifications();
    let guesses = Arc::new(Tally::default());
    let registrations = Arc::new(Tally::default());
    let mut flood = Vec::new();
    // A well-formed auth key that is not the password's.
    let wrong = UnlockedKeys::create(
        &Password::new("not the password at all 9"),
        config.kdf.clone(),
    )
    .unwrap()
    .auth_key
    .to_text();
    for a in 0..50usize {
        let http = from(format!("127.0.1.{}", a + 1).parse().unwrap());
        let (url, tally, wrong) = (
            login_url.clone(),
            guesses.clone(),
            wrong.as_str().to_owned(),
        );
        flood.push(tokio::spawn(async move {
            for g in (a..GUESSES).step_by(50) {
                // Two thirds against the real accounts, the rest against unknown names.
                let name = if g % 3 == 2 {
                    format!("nobody{g}")
                } else {
                    format!("user{:02}", g % USERS)
                };
                let body = serde_json::json!({"username": name, "auth_key": wrong});
                let r = http.post(&url).json(&body).send().await.unwrap();
                tally.count(r.status().as_u16());
                r.bytes().await.unwrap();
            }
        }));
    }
    for a in 0..30usize {
        let http = from(format!("127.0.3.{}", a + 1).parse().unwrap());
        let (url, tally, template) = (
            register_url.clone(),
            registrations.clone(),
            template.clone(),
        );
        flood.push(tokio::spawn(async move {
            for r in (a..REGISTRATIONS).step_by(30) {
                let mut req = template.clone();
                req.username = format!("flood{r}");
                let resp = http.post(&url).json(&req).send().await.unwrap();
                tally.count(resp.status().as_u16());
                resp.bytes().await.unwrap();
            }
        }));
    }
    // Let the flood fill the queues first.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t0 = Instant::now();
    let mut loud = Vec::new();
    for _ in 0..rounds {
        loud.extend(series(&legit, &login_url, &users).await);
    }
    loud.sort();
    let during = t0.elapsed();
    for f in flood {
        f.await.unwrap();
    }
    let evaluated = hasher.verifications() - verified_before;

    println!("| {USERS} legitimate logins at once, {rounds} rounds | median | p99 |");
    println!("| --- | --- | --- |");
    println!(
        "| no flood (reference) | {:.0} ms | {:.0} ms |",
        ms(pct(&quiet, 0.5)),
        ms(pct(&quiet, 0.99))
    );
    println!(
        "| during {GUESSES} guesses + {REGISTRATIONS} registrations | {:.0} ms | {:.0} ms |",
        ms(pct(&loud, 0.5)),
        ms(pct(&loud, 0.99))
    );
    println!();
    println!(
        "p99 ratio flood/no flood {:.2} (target <= 2); median ratio {:.2}; the legitimate series took {:.1} s during the flood; {threads} bcrypt thread(s)",
        ms(pct(&loud, 0.99)) / ms(pct(&quiet, 0.99)),
        ms(pct(&loud, 0.5)) / ms(pct(&quiet, 0.5)),
        during.as_secs_f64(),
    );
    println!("guesses: {}", guesses.line());
    println!("registrations: {}", registrations.line());
    println!(
        "bcrypt verifications from the flood's start to its end (legitimate logins included): {evaluated}"
    );
}
