//! `cofre backup ...`: the backup key pair, and creating, verifying, restoring and
//! listing backups of a data directory (docs/BACKUPS.md).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use cofre_client::core::backup::BackupKeyFile;
use cofre_client::core::backup::key_file::{public_key_from_pem, public_key_to_pem};
use cofre_client::core::keys::{KdfParams, PrivateKey};
use cofre_server::backup::archive::Archive;
use cofre_server::backup::{fingerprint, schedule};

use crate::cli::{
    BackupCommand, BackupCreateArgs, BackupKeygenArgs, BackupListArgs, BackupRestoreArgs,
    BackupVerifyArgs, DataArg,
};
use crate::commands::vault::progress_bar;

/// Runs a backup command.
pub async fn run(cmd: BackupCommand) -> anyhow::Result<()> {
    match cmd {
        BackupCommand::Keygen(a) => keygen(a).await,
        BackupCommand::Create(a) => create(a).await,
        BackupCommand::Verify(a) => verify(a).await,
        BackupCommand::Restore(a) => restore(a).await,
        BackupCommand::List(a) => list(a).await,
        BackupCommand::Signer(a) => signer(a),
    }
}

async fn keygen(a: BackupKeygenArgs) -> anyhow::Result<()> {
    let key_path = with_suffix(&a.out, "key");
    let pub_path = with_suffix(&a.out, "pub");
    for p in [&key_path, &pub_path] {
        if p.exists() {
            bail!(
                "{} exists: choose another --out, or move it away first",
                p.display()
            );
        }
    }
    let pass =
        crate::prompt::password(a.passphrase_file.as_deref(), "Backup key passphrase", true)?;
    if pass.char_count() < 12 {
        bail!("the passphrase must have at least 12 characters");
    }
    eprintln!("Generating an RSA-3072 key pair and protecting it with the passphrase...");
    let (file, private) =
        tokio::task::spawn_blocking(move || BackupKeyFile::generate(&pass, KdfParams::default()))
            .await??;
    write_new(&key_path, file.to_json()?.as_bytes(), true)?;
    write_new(
        &pub_path,
        public_key_to_pem(private.public_key()).as_bytes(),
        false,
    )?;
    println!(
        "Private key: {} (passphrase-protected; keep it offline, with the passphrase somewhere else)",
        key_path.display()
    );
    println!(
        "Public key:  {} (start the server with --backup-key {})",
        pub_path.display(),
        pub_path.display()
    );
    println!("Key fingerprint: {}", fingerprint(private.public_key()));
    Ok(())
}

async fn create(a: BackupCreateArgs) -> anyhow::Result<()> {
    let db = a.data.join("cofre.db");
    if !db.is_file() {
        bail!("no cofre database in {}", a.data.display());
    }
    let pem = std::fs::read_to_string(&a.backup_key)
        .with_context(|| format!("reading {}", a.backup_key.display()))?;
    let key = public_key_from_pem(&pem)
        .with_context(|| format!("{} is not a backup public key", a.backup_key.display()))?;
    // As it is: a backup never migrates the database it copies.
    let store = cofre_server::store::Store::open_sqlite_as_is(&db).await?;
    let bar = progress_bar("backing up");
    bar.set_length(dir_size(&a.data.join("blobs")).unwrap_or(0));
    let b = bar.clone();
    let result = cofre_server::backup::create::create(
        &store,
        &a.data,
        &key,
        &a.out,
        cofre_server::clock::now(),
        Arc::new(move |n| b.inc(n)),
    )
    .await;
    bar.finish_and_clear();
    store.close().await;
    let c = result?;
    println!("Backup written: {}", c.path.display());
    println!(
        "  {} bytes; {} users, {} items, {} shares, {} files",
        c.bytes,
        c.manifest.counts.users,
        c.manifest.counts.items,
        c.manifest.counts.shares,
        c.manifest.files.len()
    );
    if c.deleted_meanwhile > 0 {
        println!(
            "  {} item(s) deleted while it ran were left out",
            c.deleted_meanwhile
        );
    }
    println!(
        "  signed by this server's backup key {}",
        c.signer_fingerprint
    );
    Ok(())
}

/// Opens an archive (structure and signature) on a blocking thread.
async fn open(path: &Path) -> anyhow::Result<Archive> {
    let p = path.to_owned();
    Ok(tokio::task::spawn_blocking(move || Archive::open(&p)).await??)
}

/// Turns `--signer` (a fingerprint, or a PEM file) into a fingerprint.
fn expected_signer(given: Option<&str>) -> anyhow::Result<Option<String>> {
    let Some(s) = given else { return Ok(None) };
    let path = Path::new(s);
    if path.is_file() {
        let pem = std::fs::read_to_string(path).with_context(|| format!("reading {s}"))?;
        let key =
            public_key_from_pem(&pem).with_context(|| format!("{s} is not a PEM public key"))?;
        return Ok(Some(fingerprint(&key)));
    }
    Ok(Some(s.to_owned()))
}

async fn open_private(key: &Path, passphrase_file: Option<&Path>) -> anyhow::Result<PrivateKey> {
    let text =
        std::fs::read_to_string(key).with_context(|| format!("reading {}", key.display()))?;
    let file = BackupKeyFile::parse(&text)
        .with_context(|| format!("{} is not a cofre backup key file", key.display()))?;
    let pass = crate::prompt::password(passphrase_file, "Backup key passphrase", false)?;
    tokio::task::spawn_blocking(move || file.open(&pass))
        .await?
        .map_err(|e| match e {
            cofre_client::core::Error::Decrypt => {
                anyhow::anyhow!("wrong passphrase for the backup key (or the key file is damaged)")
            }
            other => anyhow::anyhow!("backup key: {other}"),
        })
}

async fn verify(a: BackupVerifyArgs) -> anyhow::Result<()> {
    let archive = open(&a.file).await?;
    println!("Structure and manifest signature: OK");
    let signer = archive.signer_fingerprint();
    match expected_signer(a.signer.signer.as_deref())? {
        Some(expected) => {
            archive.check_signer(&expected)?;
            println!("Signed by the expected key {signer}");
        }
        None => println!("Signed by key {signer} (not checked: pass --signer to pin it)"),
    }
    // Decrypting needs a pinned signer: anyone can make an archive for the (public)
    // backup key, and only the signer tells it came from your server.
    if a.key.is_some() && a.signer.signer.is_none() && !a.any_signer {
        return Err(cofre_server::backup::BackupError::SignerNotPinned { found: signer }.into());
    }
    let private = match &a.key {
        Some(k) => Some(open_private(k, a.passphrase_file.as_deref()).await?),
        None => None,
    };
    let bar = progress_bar("verifying");
    bar.set_length(archive.len);
    let b = bar.clone();
    let (manifest, result) = match private {
        None => {
            let archive = Arc::new(archive);
            let a2 = archive.clone();
            let r =
                tokio::task::spawn_blocking(move || a2.check_hashes(&move |n| b.inc(n))).await?;
            (archive.manifest.clone(), r)
        }
        Some(private) => {
            let m = archive.manifest.clone();
            let r = cofre_server::backup::restore::verify_with_key(
                archive,
                &private,
                Arc::new(move |n| b.inc(n)),
            )
            .await;
            (m, r)
        }
    };
    bar.finish_and_clear();
    result?;
    println!(
        "Every file's SHA-256 matches ({} files){}",
        manifest.files.len(),
        if a.key.is_some() {
            "; every file decrypts and the database passes its integrity check"
        } else {
            " (pass --key to also decrypt and check the database)"
        }
    );
    print_manifest(&manifest);
    Ok(())
}

async fn restore(a: BackupRestoreArgs) -> anyhow::Result<()> {
    let archive = open(&a.file).await?;
    let found = archive.signer_fingerprint();
    match expected_signer(a.signer.signer.as_deref())? {
        Some(expected) => archive.check_signer(&expected)?,
        None if a.any_signer => {
            eprintln!("warning: not checking who signed the backup (key {found})");
        }
        None => return Err(cofre_server::backup::BackupError::SignerNotPinned { found }.into()),
    }
    let private = open_private(&a.key, a.passphrase_file.as_deref()).await?;
    let bar = progress_bar("restoring");
    bar.set_length(archive.len);
    let b = bar.clone();
    let manifest = archive.manifest.clone();
    let result = cofre_server::backup::restore::restore(
        archive,
        &private,
        &a.data,
        a.force,
        Arc::new(move |n| b.inc(n)),
    )
    .await;
    bar.finish_and_clear();
    let r = result?;
    println!(
        "Restored into {}: {} files, {} bytes",
        r.data_dir.display(),
        r.files,
        r.bytes
    );
    if r.schema_before != r.schema_after {
        println!(
            "  database migrated from schema {} to {}",
            r.schema_before, r.schema_after
        );
    }
    print_manifest(&manifest);
    println!(
        "Start the server on it: cofre server --data {}",
        r.data_dir.display()
    );
    Ok(())
}

fn print_manifest(m: &cofre_client::core::backup::Manifest) {
    println!(
        "  backup {} made {} by cofre {} (schema {}): {} users, {} items, {} shares",
        m.backup_id,
        cofre_server::backup::utc_stamp(m.created_at),
        m.server_version,
        m.schema_version,
        m.counts.users,
        m.counts.items,
        m.counts.shares
    );
}

/// One archive in `cofre backup list`.
#[derive(serde::Serialize)]
struct ListRow {
    name: String,
    created_at: i64,
    bytes: u64,
    ok: bool,
    users: Option<u64>,
    items: Option<u64>,
    signer: Option<String>,
    error: Option<String>,
}

async fn list(a: BackupListArgs) -> anyhow::Result<()> {
    let dir = a.dir.clone();
    let rows = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<ListRow>> {
        let mut rows = Vec::new();
        for b in schedule::list(&dir)? {
            let path = dir.join(&b.name);
            let bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
            let opened = Archive::open(&path);
            rows.push(ListRow {
                ok: opened.is_ok(),
                users: opened.as_ref().ok().map(|ar| ar.manifest.counts.users),
                items: opened.as_ref().ok().map(|ar| ar.manifest.counts.items),
                signer: opened.as_ref().ok().map(Archive::signer_fingerprint),
                error: opened.err().map(|e| e.to_string()),
                name: b.name,
                created_at: b.created_at,
                bytes,
            });
        }
        Ok(rows)
    })
    .await??;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if rows.is_empty() {
        println!("No backups in {}", a.dir.display());
        return Ok(());
    }
    println!(
        "{:<48} {:>14} {:>7} {:>9}  status",
        "name", "bytes", "users", "items"
    );
    let num = |n: Option<u64>| n.map_or_else(|| "-".to_owned(), |n| n.to_string());
    for r in rows {
        let status = match &r.error {
            None => "signed, intact structure".to_owned(),
            Some(e) => format!("DAMAGED: {e}"),
        };
        println!(
            "{:<48} {:>14} {:>7} {:>9}  {status}",
            r.name,
            r.bytes,
            num(r.users),
            num(r.items)
        );
    }
    Ok(())
}

fn signer(a: DataArg) -> anyhow::Result<()> {
    if !a.data.join("cofre.db").is_file() {
        bail!("no cofre database in {}", a.data.display());
    }
    let key =
        cofre_server::secrets::backup_signer(&cofre_server::secrets::default_keys_dir(&a.data))?;
    println!("{}", fingerprint(key.public_key()));
    Ok(())
}

/// `base.ext` (keeping any extension already in `base`: `x.y` → `x.y.ext`).
fn with_suffix(base: &Path, ext: &str) -> PathBuf {
    let mut s = base.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

fn write_new(path: &Path, bytes: &[u8], private: bool) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(if private { 0o600 } else { 0o644 });
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

fn dir_size(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let e = e?;
            let t = e.file_type()?;
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() {
                total += e.metadata()?.len();
            }
        }
    }
    Ok(total)
}
