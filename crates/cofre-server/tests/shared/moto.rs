//! A real S3 service for tests: moto's server (Python) on a free loopback port.
//!
//! `moto_server` comes from a virtual environment in the target folder
//! (`target/test-tools/moto-venv`), created on first use with `python3 -m venv` and
//! `pip install 'moto[server]'`; a file lock keeps test binaries running at the same
//! time from installing it twice. One server is shared by the tests of a binary that
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

/// `target/test-tools`.
fn tools_dir() -> PathBuf {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent()
        .map_or(tmp.clone(), PathBuf::from)
        .join("test-tools")
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let shown = format!("{cmd:?}");
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{shown}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: String = err.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
        Err(format!("{shown} failed ({}): {tail}", out.status))
    }
}

/// The `moto_server` program, installed on first use.
fn moto_server() -> Result<PathBuf, String> {
    let tools = tools_dir();
    let venv = tools.join("moto-venv");
    let bin = venv.join("bin").join("moto_server");
    let done = venv.join("installed");
    if done.exists() {
        return Ok(bin);
    }
    std::fs::create_dir_all(&tools).map_err(|e| format!("{}: {e}", tools.display()))?;
    let lock = std::fs::File::create(tools.join("moto-venv.lock"))
        .map_err(|e| format!("lock file: {e}"))?;
    lock.lock().map_err(|e| format!("lock file: {e}"))?;
    if done.exists() {
        return Ok(bin);
    }
    let _ = std::fs::remove_dir_all(&venv);
    run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    run(Command::new(venv.join("bin").join("pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "moto[server]",
    ]))?;
    std::fs::write(&done, b"").map_err(|e| format!("{}: {e}", done.display()))?;
    Ok(bin)
}

fn start() -> Result<Moto, String> {
    let bin = moto_server()?;
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let log_path = tools_dir().join(format!("moto-{port}.log"));
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
