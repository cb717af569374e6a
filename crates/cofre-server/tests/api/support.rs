//! Starting a server for a test, and the accounts tests use.

use std::net::SocketAddr;
use std::path::PathBuf;

use cofre_client::Client;
use cofre_client::client::{LoggedIn, Registered, SecondFactor};
use cofre_core::keys::KdfParams;
use cofre_core::secret::Password;
use cofre_server::ServerConfig;
use cofre_server::state::AppState;
use tokio::sync::oneshot;

/// A password that passes the default policy.
pub const PASSWORD: &str = "correct horse battery staple 7";
/// Another one.
pub const NEW_PASSWORD: &str = "violet tractor umbrella lagoon 42";

/// A running server, stopped on drop.
pub struct TestServer {
    pub base: String,
    pub client: Client,
    pub http: reqwest::Client,
    pub state: AppState,
    pub data: PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl TestServer {
    /// Stops the server and waits until it has closed the database.
    pub async fn stop(mut self) -> Option<tempfile::TempDir> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap();
        }
        self._dir.take()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }
}

/// Fast settings for tests: the lowest accepted bcrypt cost and Argon2id parameters.
pub fn test_config(data: PathBuf) -> ServerConfig {
    let mut c = ServerConfig::new(data, "127.0.0.1:0".parse::<SocketAddr>().unwrap());
    c.bcrypt_cost = 10;
    c.kdf = KdfParams::Argon2id {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };
    c
}

/// Starts a server on a fresh data directory.
pub async fn start(tweak: impl FnOnce(&mut ServerConfig)) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let mut s = start_in(dir.path().join("data"), tweak).await;
    s._dir = Some(dir);
    s
}

/// Starts a server on `data` (existing or not).
pub async fn start_in(data: PathBuf, tweak: impl FnOnce(&mut ServerConfig)) -> TestServer {
    let mut config = test_config(data.clone());
    tweak(&mut config);
    let (state, _first) = cofre_server::app::open(config.clone()).await.unwrap();
    let listener = cofre_server::app::bind(&config).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let st = state.clone();
    let task = tokio::spawn(async move {
        cofre_server::serve(listener, st, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    let base = format!("http://{addr}");
    TestServer {
        client: Client::new(&base).unwrap(),
        http: reqwest::Client::new(),
        base,
        state,
        data,
        shutdown: Some(tx),
        task: Some(task),
        _dir: None,
    }
}

/// Registers `name` with [`PASSWORD`].
pub async fn register(s: &TestServer, name: &str) -> Registered {
    s.client
        .register(name, &Password::new(PASSWORD), None)
        .await
        .unwrap()
}

/// Logs `name` in with [`PASSWORD`] and no second factor.
pub async fn login(s: &TestServer, name: &str) -> LoggedIn {
    s.client
        .login(name, &Password::new(PASSWORD), SecondFactor::None)
        .await
        .unwrap()
}

/// A raw JSON POST; returns (status, headers, body as JSON or Null).
pub async fn post_raw(
    s: &TestServer,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    let mut req = s
        .http
        .post(s.url(path))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

/// A raw GET with a bearer token; returns (status, body as JSON or Null).
pub async fn get_raw(s: &TestServer, path: &str, token: &str) -> (u16, serde_json::Value) {
    let resp = s
        .http
        .get(s.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

/// The `error.code` of a JSON error body.
pub fn code(body: &serde_json::Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no code>")
}

/// The API error code of a client error.
pub fn api_code(e: &cofre_client::ClientError) -> cofre_api::ErrorCode {
    e.code().unwrap_or_else(|| panic!("not an API error: {e}"))
}
