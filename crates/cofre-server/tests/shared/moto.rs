//! A real S3 service for tests: moto's server (Python) on a free loopback port.
//!
//! `moto_server` comes from a virtual environment in the target folder
//! (`target/test-tools/moto-venv`, see `venv.rs`), created on first use. One server is shared by the tests of a binary that
//! run at the same time and stopped when the last of them ends; each test gets a fresh
//! bucket. When moto cannot be installed or started, a test that needs it prints
//! `SKIPPED S3: <why>` and passes, except under `CI=true`, where it fails.

// Shared by two test binaries, each using part of it.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use cofre_server::blobs::s3::{S3Credentials, S3Location};

/// The secret access key the tests use (moto checks no signature): it must never
/// appear in a message.
pub const SECRET: &str = "moto-secret-access-key";

/// A running moto server, stopped on drop.
pub struct Moto {
    child: Child,
    log: PathBuf,
    /// Its URL (`http://127.0.0.1:PORT`).
    pub endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

static SHARED: Mutex<Weak<Moto>> = Mutex::new(Weak::new());
static UNAVAILABLE: OnceLock<String> = OnceLock::new();

/// The moto server of this test binary (started if none runs), or `None` when S3
/// tests are skipped on this machine (said on stderr; a failure under `CI=true`).
pub fn moto() -> Option<Arc<Moto>> {
    let why = match UNAVAILABLE.get() {
        Some(why) => why.clone(),
        None => {
            let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(m) = shared.upgrade() {
                return Some(m);
            }
            match start() {
                Ok(m) => {
                    let m = Arc::new(m);
                    *shared = Arc::downgrade(&m);
                    return Some(m);
                }
                Err(why) => UNAVAILABLE.get_or_init(|| why).clone(),
            }
        }
    };
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("the S3 tests need moto_server under CI: {why}");
    }
    eprintln!("SKIPPED S3: {why}");
    None
}

/// The `moto_server` program, installed on first use.
fn moto_server() -> Result<PathBuf, String> {
    super::venv::python_tool("moto", &["moto[server]"], "moto_server")
}

fn start() -> Result<Moto, String> {
    let bin = moto_server()?;
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let log_path = super::venv::tools_dir().join(format!("moto-{port}.log"));
    let log =
        std::fs::File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
    let child = Command::new(&bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let mut moto = Moto {
        child,
        log: log_path.clone(),
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(status)) = moto.child.try_wait() {
            let err = std::fs::read_to_string(&log_path).unwrap_or_default();
            let tail: String = err.lines().rev().take(3).collect::<Vec<_>>().join(" | ");
            return Err(format!("moto_server exited ({status}): {tail}"));
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(moto);
        }
        if Instant::now() > deadline {
            return Err("moto_server did not answer within 60 s".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Moto {
    /// A new, empty, uniquely named bucket, and a location in it under `prefix`.
    pub async fn bucket(&self, prefix: &str) -> S3Location {
        static N: AtomicU32 = AtomicU32::new(0);
        let bucket = format!(
            "cofre-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let r = reqwest::Client::new()
            .put(format!("{}/{bucket}", self.endpoint))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "creating bucket {bucket}: {r:?}");
        let mut l = S3Location::new(&bucket, prefix);
        l.endpoint = Some(self.endpoint.clone());
        l.allow_http = true;
        l.credentials = Some(S3Credentials::new("testing", SECRET, None));
        l
    }

    /// Every object name in the bucket of `l`.
    pub async fn objects(&self, l: &S3Location) -> Vec<String> {
        use futures_util::TryStreamExt as _;
        use object_store::ObjectStore as _;
        let store = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(&l.bucket)
            .with_region(&l.region)
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_access_key_id("testing")
            .with_secret_access_key(SECRET)
            .build()
            .unwrap();
        let mut names: Vec<String> = store
            .list(None)
            .map_ok(|m| m.location.to_string())
            .try_collect()
            .await
            .unwrap();
        names.sort();
        names
    }
}
