//! Opening the server's state, the router, and running it until a shutdown signal.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tokio::net::TcpListener;

use crate::audit::AuditLog;
use crate::auth::jwt::TokenKeys;
use crate::auth::password::Hasher;
use crate::auth::throttle::Throttle;
use crate::config::{ConfigError, ServerConfig};
use crate::error::ApiError;
use crate::routes;
use crate::secrets::ServerKeys;
use crate::state::AppState;
use crate::store::Store;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// Settings or data directory.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Key files.
    #[error("server keys: {0}")]
    Keys(#[from] crate::secrets::KeyFileError),
    /// Database.
    #[error("database: {0}")]
    Store(#[from] crate::store::StoreError),
    /// The key folder holds other keys than the ones the database is served with.
    #[error(
        "the server keys in {dir} are not the ones this database is served with: every server sharing a database needs the same key folder (copy it from the first server, or point --keys-dir at it)"
    )]
    KeysMismatch {
        /// The key folder.
        dir: std::path::PathBuf,
    },
    /// bcrypt pool.
    #[error("password hasher: {0}")]
    Hasher(#[from] crate::auth::password::HashError),
    /// Blob store (folder or bucket).
    #[error("blob store: {0}")]
    Blobs(#[from] crate::blobs::BlobError),
}

/// Opens everything the server needs under the data directory, creating what is
/// missing (directory, database, keys). Returns the state and whether this was the
/// first start.
pub async fn open(config: ServerConfig) -> Result<(AppState, bool), StartError> {
    config.validate()?;
    crate::file_modes::restrict_new_files();
    let created_dir = config.prepare_data_dir()?;
    for finding in crate::file_modes::check(&config) {
        tracing::warn!(path = %finding.path.display(), "{finding}");
    }
    if config.database_url.is_none() {
        crate::file_modes::make_private(&crate::file_modes::database_files(&config));
    }
    let now = crate::clock::now();
    let keys_dir = config.keys_path();
    let (keys, created_keys) = ServerKeys::load_or_create(&keys_dir, now)?;
    let store = match &config.database_url {
        Some(url) => Store::open_postgres(url).await?,
        None => Store::open_sqlite(&config.database_path()).await?,
    };
    check_keys_match(&store, &keys, &keys_dir).await?;
    let tokens = TokenKeys::new(
        &keys,
        &config.issuer,
        &config.audience,
        config.access_ttl_secs,
    )
    .ok_or_else(|| ConfigError::Invalid("no signing key".into()))?
    .reloading_from(keys_dir);
    let hasher = Hasher::new(config.bcrypt_cost, config.bcrypt_threads).await?;
    let audit = AuditLog::load(&store).await?;
    let blobs = crate::blobs::open_blob_store(&config.blobs, &config.data_dir).await?;
    let claimed = crate::lease::Instance::claim(&config.data_dir).map_err(|e| {
        ConfigError::Invalid(format!(
            "claiming an instance slot in {}: {e}",
            config.data_dir.join("instances").display()
        ))
    })?;
    // Leases this id holds were left by this server's previous life (its slot is locked
    // by us now): a crash mid-upload would otherwise keep clients out until they expire.
    let released = store.release_leases_of(&claimed.id).await?;
    if released > 0 {
        tracing::info!(
            leases = released,
            "gave back the leases an earlier run of this server left behind"
        );
    }
    let instance: Arc<str> = claimed.id.clone().into();
    let backups =
        crate::backup::schedule::Backups::new(backup_settings(&config)?, instance.to_string());
    let metrics: Arc<crate::metrics::Metrics> = Arc::default();
    let state = AppState {
        instance,
        instance_slot: Arc::new(claimed),
        backups: Arc::new(backups),
        blobs,
        uploads_busy: Arc::default(),
        throttle: Throttle::new(&config, metrics.clone()),
        anonymous_limits: Arc::new(crate::state::AnonymousLimits::new(&config)),
        kdf_mix: Arc::default(),
        config: Arc::new(config),
        store,
        keys: Arc::new(keys),
        tokens: Arc::new(tokens),
        hasher,
        audit: Arc::new(audit),
        metrics,
    };
    Ok((state, created_dir || created_keys))
}

/// The setting holding the check value of the keys the database is served with.
const KEYS_CHECK_SETTING: &str = "server_keys_check";

/// Refuses keys other than those the database was first served with: a replica given
/// its own keys would log everyone out on each hop between servers and could not open
/// the TOTP secrets the others sealed. The first start records the check value.
async fn check_keys_match(
    store: &Store,
    keys: &ServerKeys,
    keys_dir: &std::path::Path,
) -> Result<(), StartError> {
    let ours = keys.check_value();
    match store.setting(KEYS_CHECK_SETTING).await? {
        Some(recorded) if recorded == ours => Ok(()),
        Some(_) => Err(StartError::KeysMismatch {
            dir: keys_dir.to_owned(),
        }),
        None => {
            store.set_setting_once(KEYS_CHECK_SETTING, &ours).await?;
            // Two servers starting at once on an empty database: one of them wins.
            match store.setting(KEYS_CHECK_SETTING).await? {
                Some(recorded) if recorded == ours => Ok(()),
                _ => Err(StartError::KeysMismatch {
                    dir: keys_dir.to_owned(),
                }),
            }
        }
    }
}

/// Reads the backup public key named by the settings.
fn backup_settings(
    config: &ServerConfig,
) -> Result<Option<crate::backup::schedule::BackupSettings>, ConfigError> {
    let Some(b) = &config.backup else {
        return Ok(None);
    };
    let pem = std::fs::read_to_string(&b.key_file)
        .map_err(|e| ConfigError::Invalid(format!("backup key {}: {e}", b.key_file.display())))?;
    let key = cofre_core::backup::key_file::public_key_from_pem(&pem)
        .map_err(|e| ConfigError::Invalid(format!("backup key {}: {e}", b.key_file.display())))?;
    Ok(Some(crate::backup::schedule::BackupSettings {
        dir: b.dir.clone(),
        key,
        every_secs: b.every_secs,
        retention: crate::backup::retention::Retention {
            keep_last: b.keep_last,
            keep_daily: b.keep_daily,
            keep_weekly: b.keep_weekly,
        },
    }))
}

/// The whole HTTP API.
pub fn router(state: AppState) -> Router {
    let limit = state.config.max_body_bytes;
    let body_idle = state.config.connections.body_idle();
    let api = Router::new()
        .merge(routes::auth::router())
        .merge(routes::account::router())
        .merge(routes::mfa::router())
        .merge(routes::admin::router())
        .merge(routes::items::router())
        .merge(routes::shares::router())
        .merge(routes::rotation::router())
        .merge(routes::version::router())
        .merge(routes::openapi::router());
    Router::new()
        .merge(routes::health::router())
        .merge(crate::metrics::router())
        .nest(cofre_api::PREFIX, api)
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::track,
        ))
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::map_response_with_state(
            state.clone(),
            crate::disk_full::note_full_responses,
        ))
        .layer(axum::middleware::from_fn_with_state(
            body_idle,
            crate::listener::body_idle::body_idle_timeout,
        ))
        .layer(axum::middleware::from_fn(crate::json_errors::json_errors))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Binds the listener. Separate from [`serve`] so a caller can learn the bound address
/// (port 0 picks a free one).
pub async fn bind(config: &ServerConfig) -> Result<TcpListener, ConfigError> {
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| ConfigError::Bind {
            addr: config.listen,
            source,
        })?;
    if config.is_exposed() && config.tls.is_none() {
        tracing::warn!(
            listen = %config.listen,
            "listening on a non-loopback address over plain HTTP: put TLS in front of it"
        );
    }
    Ok(listener)
}

/// Serves the API on `listener` (HTTPS when the settings name a certificate) until
/// `shutdown` completes, then finishes in-flight requests, closes the database and
/// returns.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr: SocketAddr = listener.local_addr()?;
    let store = state.store.clone();
    let tls = state.config.tls.clone();
    let metrics = crate::metrics::spawn_listener(&state).await?;
    let cleanup = tokio::spawn(crate::cleanup::run_every(state.clone()));
    let backups = tokio::spawn(crate::backup::schedule::run_every(state.clone()));
    let limits = state.config.connections.clone();
    let trusted_proxies = state.config.trusted_proxies.clone();
    let app = router(state);
    let tls = match tls {
        None => None,
        Some(files) => {
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(&files.cert, &files.key)
                .await
                .map_err(|e| {
                    std::io::Error::other(format!(
                        "TLS certificate {} or key {}: {e}",
                        files.cert.display(),
                        files.key.display()
                    ))
                })?;
            Some(tokio_rustls::TlsAcceptor::from(tls.get_inner()))
        }
    };
    tracing::info!(%addr, "cofre server listening");
    crate::listener::run(listener, app, &limits, trusted_proxies, tls, shutdown).await?;
    cleanup.abort();
    backups.abort();
    if let Some(m) = metrics {
        m.abort();
    }
    store.close().await;
    tracing::info!("cofre server stopped");
    Ok(())
}
