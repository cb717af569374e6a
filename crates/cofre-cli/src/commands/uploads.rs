//! `cofre uploads`: the account's unfinished uploads (an interrupted `put` that was
//! not run again), which count against the quota until they are committed, cancelled
//! or expire; and `cofre uploads cancel ID|--all`, which removes them.

use anyhow::bail;
use cofre_client::api::vault::PendingUpload;

use crate::cli::{CancelUploadArgs, UploadsAction, UploadsArgs};
use crate::commands::vault::{human, open};

/// `cofre uploads [cancel ...]`.
pub async fn run(a: UploadsArgs) -> anyhow::Result<()> {
    match a.action {
        Some(UploadsAction::Cancel(c)) => cancel(c).await,
        None => list(a.list).await,
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A duration for people: `42s`, `5m`, `3h 20m`, `2d 4h`.
fn age(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

async fn list(a: crate::cli::LsArgs) -> anyhow::Result<()> {
    let v = open(&a.client).await?;
    let uploads = v.client.pending_uploads(&v.token).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&uploads)?);
        return Ok(());
    }
    if uploads.is_empty() {
        println!("No unfinished uploads.");
        return Ok(());
    }
    let t = now();
    println!(
        "{:<32}  {:>9}  {:>9}  {:>8}  EXPIRES IN",
        "ID", "SIZE", "RECEIVED", "AGE"
    );
    let mut total = 0u64;
    for u in &uploads {
        total += u.size;
        let expires = if u.expires_at <= t {
            "expired".to_owned()
        } else {
            age(u.expires_at - t)
        };
        println!(
            "{:<32}  {:>9}  {:>9}  {:>8}  {expires}",
            u.id,
            human(u.size),
            human(u.received),
            age(t - u.created_at)
        );
    }
    eprintln!(
        "{} unfinished upload(s) hold {} of your quota: run the same `cofre put` again to \
         continue one, or `cofre uploads cancel ID|--all`.",
        uploads.len(),
        human(total)
    );
    Ok(())
}

async fn cancel(a: CancelUploadArgs) -> anyhow::Result<()> {
    let v = open(&a.client).await?;
    let uploads = v.client.pending_uploads(&v.token).await?;
    let chosen: Vec<&PendingUpload> = if a.all {
        uploads.iter().collect()
    } else {
        let q = a.id.as_deref().unwrap_or_default().to_ascii_lowercase();
        let hex = q.len() >= 4 && q.bytes().all(|b| b.is_ascii_hexdigit());
        let found: Vec<&PendingUpload> = uploads
            .iter()
            .filter(|u| u.id == q || (hex && u.id.starts_with(&q)))
            .collect();
        match found.as_slice() {
            [] => bail!("no unfinished upload has the id {q:?} (see `cofre uploads`)"),
            [_] => found,
            many => bail!(
                "{q:?} matches {} uploads; use one of their ids:\n  {}",
                many.len(),
                many.iter()
                    .map(|u| u.id.as_str())
                    .collect::<Vec<_>>()
                    .join("\n  ")
            ),
        }
    };
    if chosen.is_empty() {
        println!("No unfinished uploads.");
        return Ok(());
    }
    let mut freed = 0;
    for u in chosen {
        v.client.cancel_upload(&v.token, &u.id).await?;
        crate::transfers::forget_upload(&v, &u.id);
        freed += u.size;
        println!("Cancelled {}.", u.id);
    }
    eprintln!("Freed {} of your quota.", human(freed));
    Ok(())
}
