//! Backups run by the server itself: on a timer (`--backup-every`) and when an admin
//! asks (`POST /api/v1/admin/backups`), one at a time, into the backup folder, with the
//! retention policy applied after each success. Every run is logged and audited
//! (`backup.create`, `ok` or `failed`); the last result is kept for the admin API.
//!
//! "One at a time" holds across servers sharing the database: a run first takes the
//! database lease [`LEASE`] ([`crate::lease`]: renewed while it runs, given back at
//! the end; a crashed server's lease expires after [`LEASE_SECS`]), so of several
//! replicas only one backs up at any moment.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use cofre_core::keys::PublicKey;

use super::create::{Created, create};
use super::retention::{Listed, Retention, parse_name, plan};
use super::{BackupError, io};
use crate::audit::Event;
use crate::state::AppState;

/// Where and how the server backs up.
#[derive(Clone, Debug)]
pub struct BackupSettings {
    /// The folder receiving archives.
    pub dir: PathBuf,
    /// The backup public key (the private key stays offline).
    pub key: PublicKey,
    /// Seconds between scheduled backups (none: only on request).
    pub every_secs: Option<u64>,
    /// What to keep.
    pub retention: Retention,
}

/// The result of the last run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastRun {
    /// Start (Unix seconds).
    pub started_at: i64,
    /// End.
    pub finished_at: i64,
    /// The archive's file name, on success.
    pub file: Option<String>,
    /// Its size.
    pub bytes: u64,
    /// Why it failed.
    pub error: Option<String>,
    /// `schedule` or `admin`.
    pub trigger: String,
}

/// The name of the database lease a backup run holds.
pub const LEASE: &str = "backup";
/// How long a lease lasts without renewal, in seconds.
pub const LEASE_SECS: i64 = 300;

/// The server's backup runner.
#[derive(Debug, Default)]
pub struct Backups {
    settings: Option<BackupSettings>,
    running: Arc<tokio::sync::Mutex<()>>,
    last: Mutex<Option<LastRun>>,
    /// This server's lease holder id (random per process).
    instance: String,
}

/// The right to run one backup: this process's runner and the database lease.
/// Dropping it gives both back.
#[derive(Debug)]
pub struct RunClaim {
    _local: tokio::sync::OwnedMutexGuard<()>,
    _lease: crate::lease::Lease,
}

/// Why a run did not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// No backup folder or key configured.
    #[error("backups are not configured on this server (--backup-dir and --backup-key)")]
    NotConfigured,
    /// Another run is in progress (here or on another server sharing the database).
    #[error("a backup is already running")]
    Busy,
    /// The lease could not be read or written.
    #[error("backup lease: {0}")]
    Store(#[from] crate::store::StoreError),
}

impl Backups {
    /// A runner for `settings` (none: backups disabled); `instance` names this server
    /// as the holder of the backup lease.
    pub fn new(settings: Option<BackupSettings>, instance: String) -> Self {
        Self {
            settings,
            instance,
            ..Self::default()
        }
    }

    /// The settings, when backups are configured.
    pub fn settings(&self) -> Option<&BackupSettings> {
        self.settings.as_ref()
    }

    /// Whether a run is in progress.
    pub fn is_running(&self) -> bool {
        self.running.try_lock().is_err()
    }

    /// The last run's result.
    pub fn last(&self) -> Option<LastRun> {
        self.last.lock().ok().and_then(|l| l.clone())
    }

    /// Claims the runner and the database lease for one run, or says why not.
    pub async fn try_start(&self, store: &crate::store::Store) -> Result<RunClaim, RunError> {
        if self.settings.is_none() {
            return Err(RunError::NotConfigured);
        }
        let local = self
            .running
            .clone()
            .try_lock_owned()
            .map_err(|_| RunError::Busy)?;
        let lease = crate::lease::Lease::try_take(store, LEASE, &self.instance, LEASE_SECS)
            .await?
            .ok_or(RunError::Busy)?;
        Ok(RunClaim {
            _local: local,
            _lease: lease,
        })
    }
}

/// Runs one backup now (the caller holds the claim from [`Backups::try_start`]):
/// creates the archive, applies retention, records and audits the result.
pub async fn run(app: &AppState, trigger: &str, actor: Option<&str>) -> Option<Created> {
    let settings = app.backups.settings()?.clone();
    let started_at = crate::clock::now();
    let result = create(
        &app.store,
        &app.config.data_dir,
        &settings.key,
        &settings.dir,
        started_at,
        Arc::new(|_| {}),
    )
    .await;
    let finished_at = crate::clock::now();
    let (last, created) = match result {
        Ok(c) => {
            let name = c
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            tracing::info!(
                file = %c.path.display(),
                bytes = c.bytes,
                items = c.manifest.counts.items,
                deleted_meanwhile = c.deleted_meanwhile,
                trigger,
                "backup written"
            );
            (
                LastRun {
                    started_at,
                    finished_at,
                    file: Some(name),
                    bytes: c.bytes,
                    error: None,
                    trigger: trigger.to_owned(),
                },
                Some(c),
            )
        }
        Err(e) => {
            tracing::error!(error = %e, trigger, "backup failed");
            (
                LastRun {
                    started_at,
                    finished_at,
                    file: None,
                    bytes: 0,
                    error: Some(e.to_string()),
                    trigger: trigger.to_owned(),
                },
                None,
            )
        }
    };
    app.audit(Event {
        event: "backup.create",
        actor,
        subject: last.file.as_deref(),
        address: None,
        outcome: if created.is_some() { "ok" } else { "failed" },
    })
    .await;
    if created.is_some() {
        match apply_retention(&settings) {
            Ok(deleted) if !deleted.is_empty() => {
                tracing::info!(deleted = ?deleted, "old backups removed by the retention policy");
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "applying the backup retention policy failed"),
        }
    }
    if let Ok(mut l) = app.backups.last.lock() {
        *l = Some(last);
    }
    created
}

/// The archives in a backup folder, by name (newest first).
pub fn list(dir: &std::path::Path) -> Result<Vec<Listed>, BackupError> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io(dir)(e)),
    };
    for e in entries {
        let name = e
            .map_err(io(dir))?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if let Some(created_at) = parse_name(&name) {
            out.push(Listed { name, created_at });
        }
    }
    out.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.name.cmp(&a.name)));
    Ok(out)
}

/// Deletes the archives the policy does not keep; returns their names.
pub fn apply_retention(settings: &BackupSettings) -> Result<Vec<String>, BackupError> {
    let (_, delete) = plan(&list(&settings.dir)?, &settings.retention);
    for name in &delete {
        let path = settings.dir.join(name);
        std::fs::remove_file(&path).map_err(io(&path))?;
    }
    Ok(delete)
}

/// The scheduler: a backup whenever the newest archive is older than the interval.
pub async fn run_every(app: AppState) {
    let Some(settings) = app.backups.settings().cloned() else {
        return;
    };
    let Some(every) = settings.every_secs else {
        return;
    };
    loop {
        let newest = list(&settings.dir)
            .ok()
            .and_then(|l| l.first().map(|b| b.created_at));
        let now = crate::clock::now();
        let due = newest.map_or(now, |t| {
            t.saturating_add(i64::try_from(every).unwrap_or(i64::MAX))
        });
        if due <= now {
            match app.backups.try_start(&app.store).await {
                Ok(_claim) => {
                    run(&app, "schedule", None).await;
                }
                Err(e) => tracing::info!(reason = %e, "scheduled backup skipped"),
            }
            tokio::time::sleep(std::time::Duration::from_secs(every.min(300))).await;
        } else {
            let wait = u64::try_from(due - now).unwrap_or(1).clamp(1, 3600);
            tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
        }
    }
}
