//! `cofre server`: starts the HTTP API and stops cleanly on SIGTERM or Ctrl-C.

use std::io::IsTerminal as _;

use anyhow::Context as _;
use cofre_server::ServerConfig;
use tracing_subscriber::EnvFilter;

use crate::cli::{LogFormat, ServerArgs};

/// Runs the server until a shutdown signal.
pub fn run(args: ServerArgs) -> anyhow::Result<()> {
    init_logging(args.log_format);
    let config = ServerConfig {
        data_dir: args.data,
        listen: args.listen,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let listener = cofre_server::app::bind(&config).await?;
        cofre_server::serve(listener, shutdown_signal())
            .await
            .context("serving")
    })
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_env("COFRE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only on a terminal: piped or collected logs stay plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
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
