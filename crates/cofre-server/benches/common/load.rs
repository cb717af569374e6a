//! The request-rate load generator: tasks sharing one keep-alive HTTP client.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::process::CpuMark;

/// What one load window measured.
pub struct Rate {
    /// Requests per second over the window.
    pub rps: f64,
    /// Cores the server processes used (`None` when they run inside the bench).
    pub server_cpu: Option<f64>,
    /// Cores this process (the load generator) used.
    pub client_cpu: f64,
    /// Cores every other process used.
    pub other_cpu: f64,
    /// The window's length, in seconds.
    pub secs: f64,
}

/// `tasks` tasks sharing `http` send `GET`s with `token` one after the other, each to
/// the next of `urls` in turn (round robin over all the tasks' requests), for 1 s of
/// warm-up and then `secs` counted. `pids` are the server processes whose CPU is
/// measured (none: the server runs inside this process).
pub async fn load(
    http: &reqwest::Client,
    urls: &[String],
    token: &str,
    tasks: usize,
    secs: f64,
    pids: &[String],
) -> Rate {
    load_with(http, urls, token, tasks, secs, pids, || 0.0)
        .await
        .0
}

/// [`load`], also returning how much the counter `side` (read when the counted window
/// starts and when it ends: CPU seconds of other processes, say) grew meanwhile.
pub async fn load_with(
    http: &reqwest::Client,
    urls: &[String],
    token: &str,
    tasks: usize,
    secs: f64,
    pids: &[String],
    side: impl Fn() -> f64,
) -> (Rate, f64) {
    assert!(!urls.is_empty(), "no URL to load");
    let urls: Arc<[String]> = urls.into();
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let next = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let (http, urls, token, stop, done, next) = (
            http.clone(),
            urls.clone(),
            token.to_owned(),
            stop.clone(),
            done.clone(),
            next.clone(),
        );
        handles.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let i = next.fetch_add(1, Ordering::Relaxed) % urls.len() as u64;
                let url = &urls[i as usize];
                let r = http.get(url).bearer_auth(&token).send().await;
                let r = r.unwrap_or_else(|e| panic!("{url}: {e}"));
                assert!(r.status().is_success(), "{url}: {}", r.status());
                if let Err(e) = r.bytes().await {
                    panic!("{url}: {e}");
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mark = CpuMark::now(pids);
    let side0 = side();
    let (n0, t0) = (done.load(Ordering::Relaxed), Instant::now());
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    let n = done.load(Ordering::Relaxed) - n0;
    let elapsed = t0.elapsed().as_secs_f64();
    let (own, server, other) = mark.since(pids);
    let side = side() - side0;
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.await.expect("a load task failed");
    }
    let rate = Rate {
        rps: n as f64 / elapsed,
        server_cpu: (!pids.is_empty()).then_some(server / elapsed),
        client_cpu: own / elapsed,
        other_cpu: other / elapsed,
        secs: elapsed,
    };
    (rate, side)
}
