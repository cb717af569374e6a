//! `cofre put`, `note`, `ls`, `get`, `cat`, `rm`, `rename`: the vault from the
//! command line. Items are encrypted and decrypted here; names resolve by id, id
//! prefix or exact name, and an ambiguous name lists the ids it matches.

use std::io::{IsTerminal as _, Read as _, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use cofre_client::Client;
use cofre_client::agent::AgentSession;
use cofre_client::api::SecretString;
use cofre_client::core::keys::UnlockedKeys;
use cofre_client::core::vault::{ItemKind, ItemMetadata};
use cofre_client::listing::ListedItem;
use cofre_client::vault::{NewItem, Source, VaultItem};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{GetArgs, ItemArgs, LsArgs, NoteArgs, PutArgs, RenameArgs};
use crate::exit::Problem;
use crate::session::State;
use crate::target::{self, Target};

/// An authenticated client with the unlocked keys.
pub(crate) struct Vault {
    pub(crate) client: Client,
    pub(crate) token: SecretString,
    pub(crate) keys: UnlockedKeys,
    /// The server URL (contacts are pinned per server).
    pub(crate) server: String,
    /// The logged-in username.
    pub(crate) username: String,
    /// The pinned contacts file.
    pub(crate) contacts_path: PathBuf,
    /// The client's state directory (interrupted transfers).
    pub(crate) state_dir: PathBuf,
}

/// The unlocked session, ready for vault commands.
pub(crate) async fn open(args: &crate::cli::ClientArgs) -> anyhow::Result<Vault> {
    let state = State::open(args)?;
    let (client, session): (Client, AgentSession) = state.session().await?;
    let keys = session
        .unlocked_keys()
        .context("the agent's keys do not open; run `cofre login` again")?;
    Ok(Vault {
        client,
        token: session.access_token.clone(),
        keys,
        server: session.server.clone(),
        username: session.username.clone(),
        contacts_path: state.contacts_path(),
        state_dir: state.dir().to_owned(),
    })
}

/// The caller's items and, after them, the items shared with them whose share
/// verified (see [`crate::commands::sharing::trusted_inbox`]); the rest of the inbox
/// comes back as warnings. The caller's own items are listed from the owner copies of
/// their metadata, with no RSA operation per item (FORMAT.md 9.12).
async fn everything(v: &Vault) -> anyhow::Result<(Vec<ListedItem>, Vec<String>)> {
    let mut items = v.client.list(&v.token, &v.keys).await?;
    let (shared, warnings) = crate::commands::sharing::trusted_inbox(v).await?;
    items.extend(shared.iter().map(|(i, _)| ListedItem::from_opened(i)));
    Ok((items, warnings))
}

/// What listings and name resolution read of an item: a listed item (metadata only)
/// or an item opened with its key.
pub(crate) trait Row {
    /// Id.
    fn id(&self) -> &str;
    /// Owner's username.
    fn owner(&self) -> &str;
    /// Server commit time.
    fn stored_at(&self) -> i64;
    /// Server time of the last change.
    fn changed_at(&self) -> i64;
    /// The authenticated metadata, or the item's integrity error.
    fn meta(&self) -> Result<&ItemMetadata, cofre_client::ClientError>;
}

impl Row for ListedItem {
    fn id(&self) -> &str {
        &self.id
    }
    fn owner(&self) -> &str {
        &self.owner
    }
    fn stored_at(&self) -> i64 {
        self.created_at
    }
    fn changed_at(&self) -> i64 {
        self.updated_at
    }
    fn meta(&self) -> Result<&ItemMetadata, cofre_client::ClientError> {
        self.content()
    }
}

impl Row for VaultItem {
    fn id(&self) -> &str {
        &self.id
    }
    fn owner(&self) -> &str {
        &self.owner
    }
    fn stored_at(&self) -> i64 {
        self.created_at
    }
    fn changed_at(&self) -> i64 {
        self.updated_at
    }
    fn meta(&self) -> Result<&ItemMetadata, cofre_client::ClientError> {
        self.content().map(|c| &c.metadata)
    }
}

/// The caller's own items, listed from their owner copies.
pub(crate) async fn own_items(v: &Vault) -> anyhow::Result<Vec<ListedItem>> {
    Ok(v.client.list(&v.token, &v.keys).await?)
}

/// A progress bar on a terminal; nothing when standard error is not one, or when
/// `NO_COLOR` asks for plain output.
pub(crate) fn progress_bar(what: &str) -> ProgressBar {
    if !crate::exit::decorated_stderr() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_owned());
    bar
}

fn guess_content_type(name: &str) -> &'static str {
    let ext = Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "txt" | "md" => "text/plain; charset=utf-8",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "json" => "application/json",
        "zip" => "application/zip",
        "gz" | "tgz" => "application/gzip",
        _ => "application/octet-stream",
    }
}

/// Uploads with a progress bar; prints the new item's id, size and name.
pub(crate) async fn store(
    v: &Vault,
    new: NewItem,
    source: Source,
    total: Option<u64>,
) -> anyhow::Result<VaultItem> {
    let item = upload(v, new, source, total).await?;
    print_stored(&item, false)?;
    Ok(item)
}

/// Prints a stored item: `ID  SIZE  NAME`, or `{"id","name","size"}` as JSON.
fn print_stored(item: &VaultItem, json: bool) -> anyhow::Result<()> {
    let meta = &item.content()?.metadata;
    if json {
        let out = serde_json::json!({ "id": item.id, "name": meta.name, "size": meta.size });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("{}  {}  {}", item.id, human(meta.size), meta.name);
    }
    Ok(())
}

/// Uploads with a progress bar.
async fn upload(
    v: &Vault,
    new: NewItem,
    source: Source,
    total: Option<u64>,
) -> anyhow::Result<VaultItem> {
    let bar = progress_bar("uploading");
    if let Some(t) = total {
        bar.set_length(t);
    }
    let b = bar.clone();
    let progress = move |done: u64, all: u64| {
        b.set_length(all);
        b.set_position(done);
    };
    let item = v
        .client
        .upload(&v.token, &v.keys, new, source, &progress)
        .await;
    bar.finish_and_clear();
    Ok(item?)
}

/// `cofre put FILE|-`.
pub async fn put(a: PutArgs) -> anyhow::Result<()> {
    let v = open(&a.client).await?;
    let stdin = a.path.as_os_str() == "-";
    let name = match (&a.name, stdin) {
        (Some(n), _) => n.clone(),
        (None, true) => "stdin".to_owned(),
        (None, false) => a
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .context("the file name is not valid UTF-8: give one with --name")?
            .to_owned(),
    };
    let content_type = a
        .content_type
        .clone()
        .unwrap_or_else(|| guess_content_type(&name).to_owned());
    let items = own_items(&v).await?;
    let replace = same_name(&items, &name, a.replace)?.map(|i| i.open(&v.keys));
    let new = NewItem {
        kind: ItemKind::File,
        name,
        content_type,
    };
    if stdin {
        if replace.is_some() {
            bail!(
                "--replace does not take standard input yet: save it to a file and `cofre put \
                 FILE --replace --name NAME`"
            );
        }
        let item = upload(&v, new, Source::Unsized(Box::new(std::io::stdin())), None).await?;
        return print_stored(&item, a.json);
    }
    let file =
        std::fs::File::open(&a.path).with_context(|| format!("opening {}", a.path.display()))?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        bail!("{} is not a regular file", a.path.display());
    }
    let upload = crate::transfers::begin_upload(&v, &a.path, &meta, replace.as_ref()).await?;
    let bar = progress_bar("uploading");
    let b = bar.clone();
    let progress = move |done: u64, all: u64| {
        b.set_length(all);
        b.set_position(done);
    };
    let item = v
        .client
        .upload_file(
            &v.token,
            &v.keys,
            new,
            Box::new(file),
            &upload.checkpoint,
            upload.received,
            &progress,
        )
        .await;
    bar.finish_and_clear();
    match item {
        Ok(item) => {
            upload.forget();
            if a.json || replace.is_none() {
                return print_stored(&item, a.json);
            }
            let meta = &item.content()?.metadata;
            println!(
                "{}  {}  {}  (new version)",
                item.id,
                human(meta.size),
                meta.name
            );
            Ok(())
        }
        Err(e) => {
            let e = anyhow::Error::from(e);
            if upload.after_failure(&v, &e).await {
                eprintln!(
                    "the upload was interrupted; run the same `cofre put` again to continue it \
                     (or `cofre uploads cancel {}` to abandon it)",
                    upload.checkpoint.id
                );
            }
            Err(e)
        }
    }
}

/// Your items named `name`: with `replace`, the one to store a new version of (none:
/// a new item; several: an error naming them); without, a warning that this makes
/// another item of that name.
fn same_name<'a>(
    items: &'a [ListedItem],
    name: &str,
    replace: bool,
) -> anyhow::Result<Option<&'a ListedItem>> {
    let named: Vec<&ListedItem> = items
        .iter()
        .filter(|i| i.content().is_ok_and(|m| m.name == name))
        .collect();
    match (replace, named.as_slice()) {
        (true, []) => {
            eprintln!("no item is named {name:?} yet: storing a new one");
            Ok(None)
        }
        (true, [one]) => Ok(Some(one)),
        (true, many) => bail!(
            "{} items are named {name:?}; rename or remove all but one first:\n  {}",
            many.len(),
            many.iter()
                .map(|i| i.id.as_str())
                .collect::<Vec<_>>()
                .join("\n  ")
        ),
        (false, []) => Ok(None),
        (false, some) => {
            let ids: Vec<&str> = some.iter().map(|i| i.id.as_str()).collect();
            eprintln!(
                "warning: you already have an item named {name:?} ({}): this stores another \
                 one beside it; use --replace to store a new version of it instead (same id, \
                 its shares stay)",
                ids.join(", ")
            );
            Ok(None)
        }
    }
}

/// `cofre edit NOTE`: the note in `$EDITOR`, saved back as a new version of the same
/// item (same id and key, so its shares stay); nothing is stored when the text did
/// not change.
pub async fn edit(a: ItemArgs) -> anyhow::Result<()> {
    let v = open(&a.client).await?;
    let items = own_items(&v).await?;
    let item = &resolve(&items, &a.item)?.open(&v.keys);
    let meta = item.content()?.metadata.clone();
    if meta.kind != ItemKind::Note {
        bail!(
            "{:?} is a file, not a note: `cofre get` it, change it, and `cofre put FILE \
             --replace`",
            meta.name
        );
    }
    let mut old = zeroize::Zeroizing::new(Vec::new());
    download(&v, item, &mut *old).await?;
    let old = std::str::from_utf8(&old).context("the note is not UTF-8 text")?;
    let text = zeroize::Zeroizing::new(crate::editor::edit(old).await?);
    if text.as_str() == old {
        println!("No changes: nothing stored.");
        return Ok(());
    }
    if text.trim().is_empty() {
        bail!("the note is empty now: nothing stored (`cofre rm` deletes a note)");
    }
    let bytes = text.as_bytes().to_vec();
    let checkpoint = cofre_client::resume::UploadCheckpoint::new_version(item, bytes.len() as u64)?;
    let new = NewItem {
        kind: ItemKind::Note,
        name: meta.name.clone(),
        content_type: meta.content_type.clone(),
    };
    let bar = progress_bar("uploading");
    let b = bar.clone();
    let progress = move |done: u64, all: u64| {
        b.set_length(all);
        b.set_position(done);
    };
    let saved = v
        .client
        .upload_file(
            &v.token,
            &v.keys,
            new,
            Box::new(std::io::Cursor::new(bytes)),
            &checkpoint,
            None,
            &progress,
        )
        .await;
    bar.finish_and_clear();
    let saved = match saved {
        Ok(s) => s,
        Err(e) => {
            // Nothing to continue from: the text lives only in this process. (A
            // conflict is another version on its way, not ours to cancel.)
            if e.code() != Some(cofre_client::api::ErrorCode::Conflict) {
                let _ = v.client.cancel_upload(&v.token, &item.id).await;
            }
            return Err(e.into());
        }
    };
    let m = &saved.content()?.metadata;
    println!("{}  {}  {}  (new version)", saved.id, human(m.size), m.name);
    Ok(())
}

/// `cofre note [TEXT]`.
pub async fn note(a: NoteArgs) -> anyhow::Result<()> {
    let text = match &a.text {
        Some(t) => t.clone(),
        None if !std::io::stdin().is_terminal() => {
            let mut t = String::new();
            std::io::stdin()
                .read_to_string(&mut t)
                .context("reading the note from standard input (UTF-8 text)")?;
            t
        }
        None => crate::editor::compose().await?,
    };
    if text.trim().is_empty() {
        bail!("empty note: nothing stored");
    }
    let title = a.title.clone().unwrap_or_else(|| {
        let first = text
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("note");
        let short: String = first.trim().chars().take(60).collect();
        short
    });
    let v = open(&a.client).await?;
    let new = NewItem {
        kind: ItemKind::Note,
        name: title,
        content_type: "text/plain; charset=utf-8".into(),
    };
    store(&v, new, Source::Bytes(text.into_bytes()), None).await?;
    Ok(())
}

/// Finds one item by id, id prefix or exact name.
pub(crate) fn resolve<'a, T: Row>(items: &'a [T], query: &str) -> anyhow::Result<&'a T> {
    if let Some(i) = items.iter().find(|i| i.id() == query) {
        return Ok(i);
    }
    let by_name: Vec<&T> = items
        .iter()
        .filter(|i| i.meta().is_ok_and(|m| m.name == query))
        .collect();
    let hex = query.len() >= 4 && query.bytes().all(|b| b.is_ascii_hexdigit());
    let by_prefix: Vec<&T> = if hex {
        let q = query.to_ascii_lowercase();
        items.iter().filter(|i| i.id().starts_with(&q)).collect()
    } else {
        Vec::new()
    };
    let matches = if by_name.is_empty() {
        by_prefix
    } else {
        by_name
    };
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(Problem::not_found(format!(
            "no item is named {query:?} or has an id starting with it (see `cofre ls`)"
        ))),
        many => {
            let ids: Vec<&str> = many.iter().map(|i| i.id()).collect();
            bail!(
                "{query:?} matches {} items; use one of their ids:\n  {}",
                many.len(),
                ids.join("\n  ")
            )
        }
    }
}

/// `cofre ls`: your items, then those shared with you. Your own items are listed from
/// the owner copies of their metadata (no RSA operation per item; items without one
/// are opened once and get one: FORMAT.md 9.12).
pub async fn ls(a: LsArgs) -> anyhow::Result<()> {
    let v = open(&a.client).await?;
    let (items, warnings) = everything(&v).await?;
    print_items(
        &v,
        &items,
        a.json,
        "No items yet: `cofre put FILE` or `cofre note TEXT`.",
    )?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    Ok(())
}

/// Prints a listing, as a table or JSON.
pub(crate) fn print_items<T: Row>(
    v: &Vault,
    items: &[T],
    json: bool,
    empty: &str,
) -> anyhow::Result<()> {
    if json {
        let rows: Vec<serde_json::Value> = items
            .iter()
            .map(|i| match i.meta() {
                Ok(m) => serde_json::json!({
                    "id": i.id(), "owner": i.owner(), "shared_with_me": i.owner() != v.username,
                    "kind": m.kind,
                    "name": m.name, "content_type": m.content_type,
                    "size": m.size, "created": m.created,
                    "modified": m.modified, "stored_at": i.stored_at(),
                }),
                Err(e) => serde_json::json!({
                    "id": i.id(), "owner": i.owner(), "error": e.to_string(),
                }),
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if items.is_empty() {
        println!("{empty}");
        return Ok(());
    }
    print_header();
    let damaged = print_rows(v, items);
    warn_damaged(damaged);
    Ok(())
}

/// The column titles of a listing.
fn print_header() {
    println!(
        "{:<32}  {:>9}  {:<16}  {:<4}  {:<12}  NAME",
        "ID", "SIZE", "MODIFIED (UTC)", "KIND", "FROM"
    );
}

/// One line per item; returns how many failed their integrity check.
fn print_rows<T: Row>(v: &Vault, items: &[T]) -> usize {
    let mut damaged = 0;
    for i in items {
        let from = if i.owner() == v.username {
            "-"
        } else {
            i.owner()
        };
        match i.meta() {
            Ok(m) => {
                let kind = match m.kind {
                    ItemKind::Note => "note",
                    ItemKind::File => "file",
                };
                println!(
                    "{:<32}  {:>9}  {:<16}  {kind:<4}  {from:<12}  {}",
                    i.id(),
                    human(m.size),
                    date(m.modified),
                    m.name.escape_debug()
                );
            }
            Err(_) => {
                damaged += 1;
                println!(
                    "{:<32}  {:>9}  {:<16}  ????  {from:<12}  DAMAGED: failed its integrity check",
                    i.id(),
                    "?",
                    date(i.changed_at())
                );
            }
        }
    }
    damaged
}

fn warn_damaged(damaged: usize) {
    if damaged > 0 {
        eprintln!(
            "warning: {damaged} item(s) failed their integrity check: the server returned data that was damaged or tampered with."
        );
    }
}

/// Downloads `item` into `out`, with a progress bar.
pub(crate) async fn download(
    v: &Vault,
    item: &VaultItem,
    out: &mut (dyn std::io::Write + Send),
) -> anyhow::Result<u64> {
    let bar = progress_bar("downloading");
    let b = bar.clone();
    let progress = move |done: u64, all: u64| {
        b.set_length(all);
        b.set_position(done);
    };
    let r = v.client.download(&v.token, item, out, &progress).await;
    bar.finish_and_clear();
    Ok(r?)
}

/// Downloads `item` into the temporary file `out`, continuing from the ciphertext
/// kept in `kept` by an interrupted earlier run (verified chunk by chunk first; if it
/// does not verify, it is discarded and the download starts over).
async fn download_kept(
    v: &Vault,
    item: &VaultItem,
    kept: &mut std::fs::File,
    out: &mut std::fs::File,
    path: &Path,
) -> anyhow::Result<u64> {
    use std::io::Seek as _;
    let had = kept.metadata()?.len();
    if had > 0 {
        eprintln!(
            "resuming download of {} at {} of {}",
            path.display(),
            human(had.min(item.encoded_size)),
            human(item.encoded_size)
        );
    }
    let bar = progress_bar("downloading");
    let b = bar.clone();
    let progress = move |done: u64, all: u64| {
        b.set_length(all);
        b.set_position(done);
    };
    let mut r = v
        .client
        .download_resuming(&v.token, item, kept, out, &progress)
        .await;
    if had > 0
        && let Err(cofre_client::ClientError::Integrity { reason, .. }) = &r
        && reason.contains("kept partial")
    {
        eprintln!("the kept partial download does not verify: starting over");
        kept.set_len(0)?;
        out.set_len(0)?;
        out.seek(std::io::SeekFrom::Start(0))?;
        r = v
            .client
            .download_resuming(&v.token, item, kept, out, &progress)
            .await;
    }
    bar.finish_and_clear();
    Ok(r?)
}

/// `cofre get`: see [`crate::target`] for where and how the plaintext is written.
pub async fn get(a: GetArgs) -> anyhow::Result<()> {
    let v = open(&a.client).await?;
    let (items, _) = everything(&v).await?;
    let item = &resolve(&items, &a.item)?.open(&v.keys);
    let meta = &item.content()?.metadata;
    if a.output.as_deref().is_some_and(|p| p.as_os_str() == "-") {
        let mut out = crate::exit::stdout();
        download(&v, item, &mut out).await?;
        return Ok(());
    }
    let (path, n) = match target::choose(a.output.as_deref(), &meta.name, a.force)? {
        Target::Stream { path, mut file } => {
            let n = download(&v, item, &mut file).await?;
            (path, n)
        }
        Target::File { path, replace } => {
            // Listening before the temporary file exists, so that no signal can end
            // the process while plaintext is in it; on a signal or an error it is
            // dropped, which removes it. What survives an interruption is the
            // ciphertext received so far, for the next `get` to continue from.
            let mut signals = crate::interrupt::Signals::listen()?;
            let mut tmp = target::temp_beside(&path)?;
            let (kept_path, mut kept) = crate::transfers::kept_download(&v, item)?;
            let n = signals
                .guard(download_kept(&v, item, &mut kept, tmp.as_file_mut(), &path))
                .await?;
            match n {
                Ok(n) => {
                    target::save(tmp, &path, replace)?;
                    let _ = std::fs::remove_file(&kept_path);
                    (path, n)
                }
                Err(e) => {
                    // Data the server sent that does not verify is no use later.
                    if matches!(
                        e.downcast_ref::<cofre_client::ClientError>(),
                        Some(cofre_client::ClientError::Integrity { .. })
                    ) {
                        let _ = std::fs::remove_file(&kept_path);
                    }
                    return Err(e);
                }
            }
        }
    };
    eprintln!("{} ({})", path.display(), human(n));
    Ok(())
}

/// `cofre cat`.
pub async fn cat(a: ItemArgs) -> anyhow::Result<()> {
    let v = open(&a.client).await?;
    let (items, _) = everything(&v).await?;
    let item = &resolve(&items, &a.item)?.open(&v.keys);
    let mut out = crate::exit::stdout();
    download(&v, item, &mut out).await?;
    out.flush()?;
    Ok(())
}

/// `cofre rm`.
pub async fn rm(a: ItemArgs) -> anyhow::Result<()> {
    let v = open(&a.client).await?;
    let items = own_items(&v).await?;
    let item = resolve(&items, &a.item)?;
    v.client.delete_item(&v.token, &item.id).await?;
    println!("Deleted {}.", item.id);
    Ok(())
}

/// `cofre rename`.
pub async fn rename(a: RenameArgs) -> anyhow::Result<()> {
    let v = open(&a.client).await?;
    let items = own_items(&v).await?;
    let item = &resolve(&items, &a.item)?.open(&v.keys);
    v.client
        .rename(&v.token, &v.keys, item, &a.new_name)
        .await?;
    println!("Renamed {} to {}.", item.id, a.new_name);
    Ok(())
}

/// A byte count for people: `512 B`, `1.5 KiB`, `3.2 GiB`.
pub(crate) fn human(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    let u = UNITS.get(unit).copied().unwrap_or("B");
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {u}")
    }
}

/// Unix seconds as `YYYY-MM-DD HH:MM` (UTC).
pub(crate) fn date(t: i64) -> String {
    let secs = t.rem_euclid(86_400);
    let (y, m, d) = cofre_server::clock::civil_from_days(t.div_euclid(86_400));
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_sizes_read_well() {
        assert_eq!(date(0), "1970-01-01 00:00");
        assert_eq!(date(951_782_400), "2000-02-29 00:00");
        assert_eq!(date(1_764_590_400 + 3_660), "2025-12-01 13:01");
        assert_eq!(human(512), "512 B");
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(5 << 30), "5.0 GiB");
    }
}
