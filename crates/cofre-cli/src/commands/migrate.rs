//! `cofre server migrate`: moves an installation from its SQLite database to an empty
//! PostgreSQL database (and, if asked, its blobs to another blob store), leaving the
//! source untouched.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use cofre_server::ServerConfig;
use cofre_server::audit::Verdict;
use cofre_server::blobs::copy::{BlobCopyReport, copy_blobs};
use cofre_server::blobs::local::LocalBlobs;
use cofre_server::blobs::{BlobLocation, BlobStore, open_blob_store};
use cofre_server::store::{Store, StoreError};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::MigrateArgs;

/// Where blobs go with `--blobs-to`: a folder, or S3 with the `--s3-*` settings.
fn blob_target(a: &MigrateArgs) -> anyhow::Result<Option<BlobLocation>> {
    match a.blobs_to.clone() {
        None => Ok(None),
        Some(BlobLocation::S3(mut l)) => {
            l.endpoint.clone_from(&a.s3_endpoint);
            l.region.clone_from(&a.s3_region);
            l.allow_http = a.s3_allow_http;
            if let Some(e) = &l.endpoint
                && e.starts_with("http://")
                && !l.allow_http
            {
                bail!("--s3-endpoint is plain HTTP: pass --s3-allow-http if that is intended");
            }
            Ok(Some(BlobLocation::S3(l)))
        }
        Some(other) => {
            if a.s3_endpoint.is_some() {
                bail!(
                    "--s3-endpoint and --s3-allow-http apply to --blobs-to s3://BUCKET/PREFIX only"
                );
            }
            Ok(Some(other))
        }
    }
}

fn bar(template: &str, len: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Whether `path` is `root` or inside it (symbolic links resolved where they exist).
fn within(path: &Path, root: &Path) -> bool {
    let norm = |p: &Path| {
        p.canonicalize()
            .or_else(|_| std::path::absolute(p))
            .unwrap_or_else(|_| p.to_owned())
    };
    norm(path).starts_with(norm(root))
}

/// Runs `cofre server migrate`.
pub async fn run(a: MigrateArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let data = PathBuf::from(a.from.strip_prefix("sqlite:").unwrap_or(&a.from));
    if a.from.contains("://") {
        bail!("--from takes the SQLite installation's data directory (sqlite:DIR or DIR)");
    }
    let config = ServerConfig::new(
        data.clone(),
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
    );
    let db = config.database_path();
    if !db.is_file() {
        bail!(
            "source: no cofre database at {} (--from must be the server's data directory)",
            db.display()
        );
    }
    if !(a.to.starts_with("postgres://") || a.to.starts_with("postgresql://")) {
        bail!("--to must be a PostgreSQL URL (postgres://USER@HOST:PORT/DB)");
    }
    let target = cofre_server::config::redacted_url(&a.to);
    let blob_target = blob_target(&a)?;
    if let Some(BlobLocation::Folder(dir)) = &blob_target
        && within(dir, &data)
    {
        bail!("--blobs-to must be outside the source data directory, which is only read");
    }

    // The destination first: reachable, and empty before anything is written to it.
    let dst = Store::connect_postgres(&a.to)
        .await
        .with_context(|| format!("destination: cannot connect to {target}"))?;
    match dst.ensure_empty().await {
        Err(e @ StoreError::NotEmpty { .. }) => {
            dst.close().await;
            bail!("{e}: migrate only into a freshly created database; nothing was changed")
        }
        other => other.with_context(|| format!("destination: reading {target}"))?,
    }

    // The source: a snapshot in a private temporary folder, migrated forward there.
    let tmp = tempfile::Builder::new()
        .prefix("cofre-migrate-")
        .tempdir()
        .context("creating a temporary folder")?;
    let snapshot = tmp.path().join("cofre.db");
    eprintln!("Taking a snapshot of {}...", db.display());
    cofre_server::store::copy::snapshot_sqlite(&db, &snapshot)
        .await
        .context("source: taking a snapshot")?;
    let src = Store::open_sqlite(&snapshot)
        .await
        .context("source: opening the snapshot")?;
    let source_version = src.schema_version().await?;
    let source_audit = cofre_server::audit::verify(&src).await?;

    dst.apply_migrations()
        .await
        .with_context(|| format!("destination: preparing the schema in {target}"))?;

    // Blobs before rows: a failure here leaves the destination database empty.
    let mut blob_report = None;
    if let Some(target) = &blob_target {
        let dst_blobs = open_blob_store(target, &data)
            .await
            .with_context(|| format!("--blobs-to: cannot use {target}"))?;
        let ids = src.committed_item_ids().await?;
        let src_blobs = LocalBlobs::existing(&config.blobs_path())
            .context("source: opening the blob folder")?;
        let bar = bar(
            "blobs  [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
            0,
        );
        let mut total = 0u64;
        for id in &ids {
            if let Ok((_, len)) = src_blobs.open(id, 0).await {
                total += len;
            }
        }
        bar.set_length(total);
        let report = copy_blobs(&src_blobs, dst_blobs.as_ref(), &ids, &|n| bar.inc(n)).await;
        bar.finish_and_clear();
        let report: BlobCopyReport =
            report.with_context(|| format!("copying blobs into {}", target))?;
        blob_report = Some(report);
    }

    let counts = src.row_counts().await?;
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    let bar = bar("rows   [{bar:30}] {pos}/{len} {msg}", total);
    let done_before = std::sync::Mutex::new((String::new(), 0u64, 0u64));
    let progress = |table: &'static str, rows: u64| {
        if let Ok(mut d) = done_before.lock() {
            if d.0 != table {
                d.1 += d.2;
                d.0 = table.to_owned();
            }
            d.2 = rows;
            bar.set_position(d.1 + rows);
        }
        bar.set_message(table);
    };
    let copied = src.copy_into_with_progress(&dst, &progress).await;
    bar.finish_and_clear();
    let report = match copied {
        Ok(r) => r,
        Err(e) => {
            src.close().await;
            dst.close().await;
            return Err(anyhow::Error::new(e)
                .context("copying the database (rolled back: the destination holds no rows)"));
        }
    };

    // Independent checks on the committed copy.
    let rechecked = src.verify_copy(&dst).await;
    let dst_audit = cofre_server::audit::verify(&dst).await;
    src.close().await;
    dst.close().await;
    rechecked.context("verification failed after the commit")?;
    let dst_audit = dst_audit?;
    match (&source_audit, &dst_audit) {
        (Verdict::Intact { .. }, Verdict::Intact { .. }) => {}
        (Verdict::Broken { seq, reason }, d) if *d == source_audit => eprintln!(
            "warning: the source's audit log was already broken at event {seq} ({reason}); copied as it was"
        ),
        (_, Verdict::Broken { seq, reason }) => {
            bail!(
                "verification failed: the audit chain breaks at event {seq} in the destination: {reason}"
            )
        }
        (_, Verdict::Intact { .. }) => {}
    }

    // Summary.
    println!(
        "Migrated {} (schema version {source_version}) to {target}:",
        db.display()
    );
    for t in &report.tables {
        println!("  {:<20} {:>10} rows", t.table, t.rows);
    }
    println!(
        "  {} rows in all; row counts and content digests match, audit log {}",
        report.total_rows(),
        match dst_audit {
            Verdict::Intact { rows } => format!("intact ({rows} events)"),
            Verdict::Broken { seq, .. } => format!("broken at event {seq}, as in the source"),
        }
    );
    match (&blob_report, &blob_target) {
        (Some(b), Some(target)) => println!(
            "  {} blobs, {} bytes, copied to {} and verified by SHA-256",
            b.blobs, b.bytes, target
        ),
        _ => println!(
            "  blobs not copied: they stay in {}",
            config.blobs_path().display()
        ),
    }
    println!("  took {}", seconds(started.elapsed()));
    println!();
    println!("Next:");
    match &blob_target {
        None => println!(
            "  Blobs and keys stay in {dir}, which the new server keeps using: start it with\n    cofre server --data {dir} --database {target}",
            dir = data.display()
        ),
        Some(BlobLocation::S3(l)) => println!(
            "  Start the servers on the bucket, with the keys of {dir}/keys:\n    cofre server --database {target} --blobs s3://{bucket}{prefix}{endpoint}{allow_http} --keys-dir {dir}/keys",
            dir = data.display(),
            allow_http = if l.allow_http { " --s3-allow-http" } else { "" },
            bucket = l.bucket,
            prefix = if l.prefix.is_empty() {
                String::new()
            } else {
                format!("/{}", l.prefix)
            },
            endpoint = l
                .endpoint
                .as_ref()
                .map(|e| format!(" --s3-endpoint {e}"))
                .unwrap_or_default()
        ),
        Some(other) => println!(
            "  Start the server on the copied blobs, with the keys of {dir}/keys:\n    cofre server --database {target} --blobs {other} --keys-dir {dir}/keys",
            dir = data.display()
        ),
    }
    println!(
        "  Keep the server keys ({}/keys) with the new server, unchanged: at-rest.key\n  seals the TOTP secrets, and the signing keys sign access tokens.",
        data.display()
    );
    println!(
        "  Do not start the old server on {} again: changes made there would not reach\n  PostgreSQL. Keep its SQLite file until the new server is checked, then archive it.",
        db.display()
    );
    println!(
        "  Server backups (--backup-dir) of a PostgreSQL installation restore into SQLite;\n  with blobs in object storage, back up PostgreSQL and the bucket with their own tools."
    );
    Ok(())
}

fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}
