//! `cofre server`: starts the HTTP API and stops cleanly on SIGTERM or Ctrl-C; or runs
//! a maintenance task on a data directory.

use anyhow::{Context as _, bail};
use cofre_client::core::keys::KdfParams;
use cofre_server::ServerConfig;
use cofre_server::blobs::BlobLocation;
use tracing_subscriber::EnvFilter;

use cofre_client::api::Role;
use cofre_client::api::auth::RegisterRequest;
use cofre_client::core::keys::UnlockedKeys;

use crate::cli::{
    AuditTask, BlobArgs, CleanupArgs, CreateAdminArgs, LogFormat, Registration, ServerArgs,
    ServerCommand, ServerTask,
};

/// Runs `cofre server` (or one of its tasks).
pub fn run(cmd: ServerCommand) -> anyhow::Result<()> {
    match cmd.task {
        None => serve(cmd.args),
        Some(ServerTask::RotateSigningKey(d)) => {
            let dir = d
                .keys_dir
                .unwrap_or_else(|| cofre_server::secrets::default_keys_dir(&d.data));
            let kid = cofre_server::secrets::rotate_signing_key(&dir, cofre_server::clock::now())?;
            println!("New signing key {kid}; restart the server to sign with it.");
            Ok(())
        }
        Some(ServerTask::InitKeys(d)) => {
            let dir = d
                .keys_dir
                .unwrap_or_else(|| cofre_server::secrets::default_keys_dir(&d.data));
            let (keys, created) = cofre_server::secrets::ServerKeys::load_or_create(
                &dir,
                cofre_server::clock::now(),
            )?;
            println!(
                "{} {}\ncheck value: {}\nGive every server sharing the database this same folder.",
                if created {
                    "Created the server keys in"
                } else {
                    "The server keys are already in"
                },
                dir.display(),
                keys.check_value()
            );
            Ok(())
        }
        Some(ServerTask::CreateAdmin(a)) => runtime()?.block_on(create_admin(a)),
        Some(ServerTask::Cleanup(a)) => runtime()?.block_on(cleanup(a)),
        Some(ServerTask::Migrate(a)) => runtime()?.block_on(crate::commands::migrate::run(a)),
        Some(ServerTask::Audit(AuditTask::Verify(d))) => runtime()?.block_on(async {
            let store = match &d.database {
                Some(url) => cofre_server::store::Store::open_postgres(url).await?,
                None => {
                    let db = d.data.join("cofre.db");
                    if !db.exists() {
                        bail!("no database at {}", db.display());
                    }
                    cofre_server::store::Store::open_sqlite(&db).await?
                }
            };
            let verdict = cofre_server::audit::verify(&store).await?;
            store.close().await;
            match verdict {
                cofre_server::audit::Verdict::Intact { rows } => {
                    println!("audit log intact: {rows} events, every hash verifies");
                    Ok(())
                }
                cofre_server::audit::Verdict::Broken { seq, reason } => {
                    bail!("audit log BROKEN at event {seq}: {reason}")
                }
            }
        }),
    }
}

/// `cofre server cleanup`: one cleanup pass on a data directory.
async fn cleanup(a: CleanupArgs) -> anyhow::Result<()> {
    if a.store.database.is_none() && !a.data.join("cofre.db").exists() {
        bail!("no database in {}", a.data.display());
    }
    let mut config = ServerConfig::new(a.data.clone(), "127.0.0.1:0".parse()?);
    config.blobs = blob_location(&a.blobs)?;
    config.database_url.clone_from(&a.store.database);
    config.keys_dir.clone_from(&a.store.keys_dir);
    let expiry = config.upload_expiry_secs;
    let (state, _) = cofre_server::app::open(config).await?;
    // An upload expires `expiry` seconds after it starts, and the pass removes those
    // whose expiry is before the cutoff: uploads started at or before now - N.
    let older_than = a.uploads_older_than.unwrap_or(expiry).max(0);
    let cutoff = cofre_server::clock::now() + expiry - older_than + 1;
    let removed = cofre_server::cleanup::run_once(&state, cutoff).await;
    state.store.close().await;
    let removed = removed?;
    println!(
        "cleanup: removed {} unfinished upload(s) and {} orphaned blob(s)",
        removed.expired_uploads, removed.orphans
    );
    Ok(())
}

/// The blob store the flags name (the data directory's folder when none).
fn blob_location(a: &BlobArgs) -> anyhow::Result<BlobLocation> {
    match a.blobs.clone() {
        None => Ok(BlobLocation::DataDir),
        Some(BlobLocation::S3(mut l)) => {
            l.endpoint.clone_from(&a.s3_endpoint);
            l.region.clone_from(&a.s3_region);
            l.allow_http = a.s3_allow_http;
            Ok(BlobLocation::S3(l))
        }
        Some(other) => {
            if a.s3_endpoint.is_some() {
                bail!("--s3-endpoint and --s3-allow-http apply to --blobs s3://BUCKET/PREFIX only");
            }
            Ok(other)
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn config(args: &ServerArgs) -> anyhow::Result<ServerConfig> {
    let mut c = ServerConfig::new(args.data.clone(), args.listen);
    c.database_url.clone_from(&args.database);
    c.keys_dir.clone_from(&args.keys_dir);
    c.trusted_proxies.clone_from(&args.trusted_proxies);
    c.blobs = blob_location(&args.blobs)?;
    c.bcrypt_cost = args.bcrypt_cost;
    if let Some(n) = args.bcrypt_threads {
        c.bcrypt_threads = n;
    }
    c.open_registration = matches!(args.registration, Registration::Open);
    c.access_ttl_secs = args.access_ttl;
    c.session_ttl_secs = args.session_ttl;
    c.issuer.clone_from(&args.issuer);
    c.account_free_failures = args.account_free_failures;
    c.address_free_failures = args.address_free_failures;
    c.account_refill_secs = args.account_refill;
    c.address_refill_secs = args.address_refill;
    c.registration_burst = args.registration_burst;
    c.registration_refill_secs = args.registration_refill;
    c.prelogin_burst = args.prelogin_burst;
    c.prelogin_refill_secs = args.prelogin_refill;
    c.max_body_bytes = args.max_body;
    c.quota_bytes = args.quota;
    c.max_item_bytes = args.max_item;
    c.upload_expiry_secs = args.upload_expiry;
    c.cleanup_every_secs = args.cleanup_every;
    c.connections = cofre_server::listener::ConnectionLimits {
        header_timeout_secs: args.header_timeout,
        body_idle_timeout_secs: args.body_idle_timeout,
        idle_timeout_secs: args.idle_timeout,
        max_connections: args.max_connections,
        max_connections_per_address: args.max_connections_per_address,
    };
    if let (Some(dir), Some(key)) = (&args.backup_dir, &args.backup_key) {
        c.backup = Some(cofre_server::config::BackupConfig {
            dir: dir.clone(),
            key_file: key.clone(),
            every_secs: args.backup_every,
            keep_last: args.backup_keep,
            keep_daily: args.backup_keep_daily,
            keep_weekly: args.backup_keep_weekly,
        });
    }
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        c.tls = Some(cofre_server::config::TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        });
    }
    c.metrics_listen = args.metrics_listen;
    c.metrics_token = metrics_token(args)?;
    c.kdf = KdfParams::Argon2id {
        memory_kib: args.kdf_memory_kib,
        iterations: args.kdf_iterations,
        parallelism: args.kdf_parallelism,
    };
    Ok(c)
}

/// The metrics token: the content of `--metrics-token-file` (surrounding whitespace
/// removed), or `--metrics-token` / `COFRE_METRICS_TOKEN`.
fn metrics_token(args: &ServerArgs) -> anyhow::Result<Option<cofre_client::api::SecretString>> {
    let Some(path) = &args.metrics_token_file else {
        return Ok(args.metrics_token.clone());
    };
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path)
            .with_context(|| format!("reading the metrics token file {}", path.display()))?,
    );
    Ok(Some(cofre_client::api::SecretString::new(text.trim())))
}

fn serve(args: ServerArgs) -> anyhow::Result<()> {
    init_logging(args.log_format);
    let config = config(&args)?;
    runtime()?.block_on(async {
        let (state, first) = cofre_server::app::open(config.clone()).await?;
        let c = &state.config;
        tracing::info!(
            data_dir = %c.data_dir.display(),
            database = %c.database_url.as_deref().map_or_else(
                || c.database_path().display().to_string(),
                cofre_server::config::redacted_url
            ),
            keys = %c.keys_path().display(),
            blobs = %c.blobs,
            listen = %c.listen,
            scheme = c.scheme(),
            registration = if c.open_registration { "open" } else { "invite" },
            bcrypt_cost = c.bcrypt_cost,
            bcrypt_threads = c.bcrypt_threads,
            metrics_listen = ?c.metrics_listen,
            metrics_token = c.metrics_token.is_some(),
            access_ttl_secs = c.access_ttl_secs,
            session_ttl_secs = c.session_ttl_secs,
            kdf = ?c.kdf,
            schema_version = state.store.schema_version().await?,
            signing_key = state.keys.current().map(|k| k.kid.as_str()).unwrap_or("-"),
            "configuration"
        );
        if first {
            tracing::info!(
                "first start: created the data directory, database and server keys (keys/, owner-only); \
                 the first account to register becomes the administrator"
            );
        }
        let listener = cofre_server::app::bind(&config).await?;
        cofre_server::serve(listener, state, shutdown_signal())
            .await
            .context("serving")
    })
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_env("COFRE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only on a terminal: piped or collected logs stay plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(crate::exit::decorated_stderr())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Completes on SIGTERM or Ctrl-C (SIGINT).
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}

/// `cofre server create-admin`: makes the account's keys here (as `cofre register`
/// would) and stores the account with the admin role.
async fn create_admin(a: CreateAdminArgs) -> anyhow::Result<()> {
    let mut config = ServerConfig::new(
        a.data.clone(),
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
    );
    config.database_url.clone_from(&a.store.database);
    config.keys_dir.clone_from(&a.store.keys_dir);
    let password = crate::prompt::password(a.password_file.as_deref(), "New password", true)?;
    let policy = cofre_client::api::auth::Policy {
        password_min_length: config.password_min_length,
        password_min_score: config.password_min_score,
        open_registration: config.open_registration,
        mfa_required: false,
        invite_required: false,
        kdf: config.kdf.clone(),
    };
    cofre_client::password::check(&password, &policy, &[&a.username])?;
    let (state, _) = cofre_server::app::open(config).await?;
    eprintln!("Creating the keys (this takes a moment)...");
    let kdf = policy.kdf.clone();
    let new = tokio::task::spawn_blocking(move || UnlockedKeys::create(&password, kdf)).await??;
    let req = RegisterRequest {
        username: a.username.clone(),
        auth_key: new.auth_key.to_text().into(),
        recovery_auth_key: new.recovery_key.auth_key()?.to_text().into(),
        keys: new.keys,
        invite: None,
    };
    let username = cofre_server::routes::auth::check_registration(&req)?;
    let created = cofre_server::routes::auth::create_account(
        &state,
        &username,
        &req,
        Some(Role::Admin),
        "local",
    )
    .await;
    state.store.close().await;
    let created = created?;
    println!(
        "Created administrator {} in {}.",
        created.username,
        a.data.display()
    );
    crate::commands::account::print_recovery_key(&new.recovery_key);
    Ok(())
}
