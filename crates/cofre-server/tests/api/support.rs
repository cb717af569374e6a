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
        // A PostgreSQL database whose data directory goes away with this server goes
        // too (one returned by `stop` may be reused by a restart, and stays).
        if self._dir.is_some()
            && let Some(url) = self.state.config.database_url.clone()
        {
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(drop_postgres(&url));
            })
            .join()
            .ok();
        }
    }
}

/// Whether the suite runs on PostgreSQL rather than on SQLite files. The same suite is
/// built twice (`Cargo.toml`): the `api` test binary runs it on SQLite, `api_postgres` on
/// the PostgreSQL server at 127.0.0.1:5432. Without that server, `api_postgres` says it
/// skips PostgreSQL and runs on SQLite again, except under `CI=true`, where it fails.
pub fn on_postgres() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| {
        if env!("CARGO_CRATE_NAME") != "api_postgres" {
            return false;
        }
        let addr = "127.0.0.1:5432".parse().unwrap();
        match std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(3)) {
            Ok(_) => true,
            Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("the api_postgres tests need PostgreSQL on 127.0.0.1:5432 under CI: {e}")
            }
            Err(e) => {
                eprintln!(
                    "SKIPPED PostgreSQL: nothing answers on 127.0.0.1:5432 ({e}); running on SQLite"
                );
                false
            }
        }
    })
}

const PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The PostgreSQL database of a data directory: one per directory, so that a server
/// restarted on the same directory finds its data; created when missing.
async fn postgres_for(data: &std::path::Path) -> String {
    use sqlx::Connection as _;
    sqlx::any::install_default_drivers();
    let h = cofre_core::primitives::digest::sha256(&[data.to_string_lossy().as_bytes()]);
    let name = format!("cofre_api_{}", data_encoding::HEXLOWER.encode(&h[..8]));
    let mut admin = sqlx::AnyConnection::connect(PG_ADMIN)
        .await
        .expect("PostgreSQL on 127.0.0.1:5432 (user postgres)");
    // Databases an earlier run kept (a test that restarts on its data directory keeps
    // it): dropped once per run, before the first new one.
    static SWEPT: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    SWEPT
        .get_or_init(|| async {
            let old: Vec<String> =
                sqlx::query("SELECT datname::text AS datname FROM pg_database WHERE datname LIKE 'cofre\\_api\\_%'")
                    .fetch_all(&mut admin)
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| sqlx::Row::try_get(r, "datname").unwrap())
                    .collect();
            for name in old {
                let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await;
            }
        })
        .await;
    let exists = sqlx::query("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&mut admin)
        .await
        .unwrap()
        .is_some();
    if !exists {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap();
    }
    admin.close().await.ok();
    format!("postgres://postgres@127.0.0.1:5432/{name}")
}

async fn drop_postgres(url: &str) {
    use sqlx::Connection as _;
    let Some(name) = url.rsplit('/').next() else {
        return;
    };
    if let Ok(mut admin) = sqlx::AnyConnection::connect(PG_ADMIN).await {
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await;
    }
}

/// A fresh, uniquely named database on the local PostgreSQL server (`<prefix>_<random>`),
/// dropped on drop.
pub struct FreshDb {
    pub url: String,
}

impl Drop for FreshDb {
    fn drop(&mut self) {
        let url = self.url.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(drop_postgres(&url));
        })
        .join()
        .ok();
    }
}

/// Creates a [`FreshDb`], or says why there is none (no server, or it timed out).
pub async fn fresh_postgres(prefix: &str) -> Result<FreshDb, String> {
    use sqlx::Connection as _;
    sqlx::any::install_default_drivers();
    let mut admin = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        sqlx::AnyConnection::connect(PG_ADMIN),
    )
    .await
    .map_err(|_| "timed out".to_owned())?
    .map_err(|e| e.to_string())?;
    let name = format!(
        "{prefix}_{}",
        data_encoding::HEXLOWER.encode(&cofre_core::primitives::rand::array::<6>().unwrap())
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .map_err(|e| e.to_string())?;
    admin.close().await.ok();
    Ok(FreshDb {
        url: format!("postgres://postgres@127.0.0.1:5432/{name}"),
    })
}

/// Another connection to a server's database, as a second server process would open it.
pub async fn open_database(config: &ServerConfig) -> cofre_server::store::Store {
    match &config.database_url {
        Some(url) => cofre_server::store::Store::open_postgres(url)
            .await
            .unwrap(),
        None => cofre_server::store::Store::open_sqlite(&config.database_path())
            .await
            .unwrap(),
    }
}

/// `DROP TRIGGER` of an audit-log trigger in the backend's dialect.
pub fn drop_audit_trigger(config: &ServerConfig, name: &str) -> String {
    if config.database_url.is_some() {
        format!("DROP TRIGGER {name} ON audit_log")
    } else {
        format!("DROP TRIGGER {name}")
    }
}

/// True (and says so) when the test covers something only the SQLite backend has.
pub fn sqlite_only(why: &str) -> bool {
    if on_postgres() {
        eprintln!("SKIPPED on PostgreSQL: {why}");
    }
    on_postgres()
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
    // Every test client is 127.0.0.1: the per-address limits of registration and
    // prelogin are raised here and tested with their own settings (admission.rs).
    c.registration_burst = 100_000;
    c.prelogin_burst = 100_000;
    // Likewise the per-address connection cap: the flood tests open hundreds of
    // connections from 127.0.0.1 (slow_clients.rs tests the cap with its own setting).
    c.connections.max_connections_per_address = 4096;
    c.connections.max_connections = 8192;
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
    if on_postgres() && config.database_url.is_none() {
        config.database_url = Some(postgres_for(&data).await);
    }
    launch(config).await
}

/// Starts a server with exactly these settings (the backend they name, whichever test
/// binary runs); the data directory and any PostgreSQL database stay.
pub async fn launch(config: ServerConfig) -> TestServer {
    let data = config.data_dir.clone();
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

/// A registration request for `name` with [`PASSWORD`] and `kdf`, for raw posts.
pub fn registration_request(name: &str, kdf: KdfParams) -> cofre_api::auth::RegisterRequest {
    let new = cofre_core::keys::UnlockedKeys::create(&Password::new(PASSWORD), kdf).unwrap();
    cofre_api::auth::RegisterRequest {
        username: name.into(),
        auth_key: new.auth_key.to_text().into(),
        recovery_auth_key: new.recovery_key.auth_key().unwrap().to_text().into(),
        keys: new.keys,
        invite: None,
    }
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

/// Uploads `body` as a file named `name` for `l`; returns the item id.
pub async fn put(s: &TestServer, l: &LoggedIn, name: &str, body: Vec<u8>) -> String {
    s.client
        .upload(
            &l.tokens.access_token,
            &l.keys,
            cofre_client::vault::NewItem {
                kind: cofre_core::vault::ItemKind::File,
                name: name.to_owned(),
                content_type: "application/octet-stream".into(),
            },
            cofre_client::vault::Source::Bytes(body),
            &|_, _| {},
        )
        .await
        .unwrap()
        .id
}

/// Downloads item `id` as `l` and returns its plaintext.
pub async fn fetch(s: &TestServer, l: &LoggedIn, id: &str) -> Vec<u8> {
    let item = s
        .client
        .item(&l.tokens.access_token, &l.keys, id)
        .await
        .unwrap();
    let mut out = Vec::new();
    s.client
        .download(&l.tokens.access_token, &item, &mut out, &|_, _| {})
        .await
        .unwrap();
    out
}

/// An HTTP client whose connections come from `ip` (any 127.0.0.0/8 address works on
/// loopback): how the tests look like many clients.
pub fn client_from_ip(ip: std::net::IpAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip)
        .build()
        .unwrap()
}

/// One answer: status, `Retry-After` seconds, error code (empty on success).
pub type Answer = (u16, Option<u64>, String);

/// Posts a JSON `body` to `url` with `http`; the answer.
pub async fn post_answer(http: &reqwest::Client, url: &str, body: String) -> Answer {
    let r = http
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    let body: serde_json::Value = r.json().await.unwrap_or_default();
    (status, retry, code(&body).to_owned())
}
