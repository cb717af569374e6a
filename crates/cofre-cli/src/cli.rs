//! The command line, as clap types. Every setting has a `COFRE_*` environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// cofre: an end-to-end encrypted vault for messages and files.
#[derive(Debug, Parser)]
#[command(name = "cofre", version, about, long_about = None)]
pub struct Cli {
    /// On failure, also show the error's stable code and its causes.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[allow(clippy::large_enum_variant, reason = "parsed once per process")]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the cofre server (HTTP API) on its data directory, or a maintenance task.
    Server(ServerCommand),
    /// Create an account on a server (the password never leaves this machine).
    Register(RegisterArgs),
    /// Log in and unlock: a background agent keeps the session for the next commands.
    Login(LoginArgs),
    /// Same as `login`: unlock again after `lock` or the idle timeout.
    Unlock(LoginArgs),
    /// Forget the unlocked session now (the agent wipes it and exits).
    Lock(ClientArgs),
    /// End this session (`--all`: every session of the account).
    Logout(LogoutArgs),
    /// Show who is logged in.
    Whoami(JsonArgs),
    /// Change the password (re-wraps the user key; nothing is re-encrypted).
    Passwd(PasswdArgs),
    /// Set a new password with the recovery key shown at registration.
    Recover(RecoverArgs),
    /// Store a file (or standard input with `-`), encrypted on this machine.
    Put(PutArgs),
    /// Store a text note (the text, standard input, or $EDITOR).
    Note(NoteArgs),
    /// List your items: names, sizes, dates (decrypted here).
    Ls(LsArgs),
    /// Download and decrypt an item to a file (or `-o -` for standard output).
    Get(GetArgs),
    /// Print an item to standard output.
    Cat(ItemArgs),
    /// Delete an item.
    Rm(ItemArgs),
    /// Rename an item.
    Rename(RenameArgs),
    /// Send a file or a note to another user (it lands in their `cofre inbox`).
    Send(SendArgs),
    /// Give another user read access to one of your items.
    Share(ShareArgs),
    /// Revoke a share (it cannot take back what they already downloaded).
    Unshare(ShareArgs),
    /// Items others shared with you, with who sent them (signatures checked);
    /// `inbox hide ITEM` removes one from it.
    Inbox(InboxArgs),
    /// Who has access to an item of yours.
    Shares(SharesArgs),
    /// Your unfinished uploads (they count against your quota); `uploads cancel`.
    Uploads(UploadsArgs),
    /// Edit a note in $EDITOR and save it as a new version (same id).
    Edit(ItemArgs),
    /// The public keys of the people you share with, pinned on first use.
    #[command(subcommand)]
    Contacts(ContactsCommand),
    /// Your key pair.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Two-factor authentication (TOTP).
    #[command(subcommand)]
    Mfa(MfaCommand),
    /// Administration (admin accounts only).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Backups of a server's data: key pair, create, verify, restore, list.
    #[command(subcommand)]
    Backup(BackupCommand),
    /// Print a shell completion script (bash, zsh, fish; also elvish, powershell).
    Completions(CompletionsArgs),
    /// Print the manual page (roff), or write one page per command into `--dir`.
    Man(ManArgs),
    /// Run the local agent in the foreground (`login` starts it in the background).
    #[command(hide = true)]
    Agent(AgentArgs),
}

/// `cofre completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    pub shell: clap_complete::Shell,
}

/// `cofre man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `cofre.1` and a page for every subcommand (`cofre-put.1`, ...) into this
    /// directory (created if needed) instead of printing `cofre.1`.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// `cofre put`.
#[derive(Debug, Args)]
pub struct PutArgs {
    /// The file to store, or `-` for standard input.
    pub path: PathBuf,
    /// The name to store it under (default: the file's name; `stdin` for `-`).
    #[arg(long)]
    pub name: Option<String>,
    /// MIME type to record (default: guessed from the name).
    #[arg(long)]
    pub content_type: Option<String>,
    /// Print the new item as JSON (`{"id","name","size"}`) for scripts.
    #[arg(long)]
    pub json: bool,
    /// Store a new version of your item of that name (same id: shares stay valid)
    /// instead of another item with the same name.
    #[arg(long)]
    pub replace: bool,
    /// Server and state.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `cofre note`.
#[derive(Debug, Args)]
pub struct NoteArgs {
    /// The text. Without it: standard input when it is not a terminal, else $EDITOR.
    pub text: Option<String>,
    /// A title (default: the first line, shortened).
    #[arg(long)]
    pub title: Option<String>,
    /// Server and state.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// A command that prints data, and nothing else to say (`whoami`, `contacts list`,
/// `mfa status`).
#[derive(Debug, Args)]
pub struct JsonArgs {
    /// JSON output for scripts.
    #[arg(long)]
    pub json: bool,
    /// Server and state.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `cofre ls`.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// JSON output (one array) for scripts.
    #[arg(long)]
    pub json: bool,
    /// Server and state.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `cofre uploads [cancel ID|--all]`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct UploadsArgs {
    /// Cancel uploads instead of listing them.
    #[command(subcommand)]
    pub action: Option<UploadsAction>,
    /// Listing options.
    #[command(flatten)]
    pub list: LsArgs,
}

/// What `cofre uploads` does besides listing.
#[derive(Debug, Subcommand)]
pub enum UploadsAction {
    /// Cancel an unfinished upload (its parts are removed and its quota freed).
    Cancel(CancelUploadArgs),
}

/// `cofre uploads cancel ID|--all`.
#[derive(Debug, Args)]
pub struct CancelUploadArgs {
    /// The upload's id (or a prefix of 4 or more hex digits).
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub id: Option<String>,
    /// Cancel every unfinished upload.
    #[arg(long)]
    pub all: bool,
    /// Server and state.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `cofre get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The item: its id, an id prefix, or its name.
    pub item: String,
    /// Where to write it (`-`: standard output). Default: the item's name, here.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Replace the output file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Server and state.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// An item and nothing else (`cat`, `rm`).
#[derive(Debug, Args)]
pub struct ItemArgs {
    /// The item: its id, an id prefix, or its name.
    pub item: String,
    /// Server and state.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `cofre rename`.
#[derive(Debug, Args)]
pub struct RenameArgs {
    /// The item: its id, an id prefix, or its name.
    pub item: String,
    /// The new name.
    pub new_name: String,
    /// Server and state.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `cofre send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// The recipient's username.
    pub user: String,
    /// The file to send, or `-` for standard input (or use --note).
    #[arg(required_unless_present = "note", conflicts_with = "note")]
    pub path: Option<PathBuf>,
    /// Send this text as a note instead of a file.
    #[arg(long)]
    pub note: Option<String>,
    /// The name to store it under (default: the file's name, or the note's first line).
    #[arg(long)]
    pub name: Option<String>,
    /// Server and state.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `cofre share` and `cofre unshare`.
#[derive(Debug, Args)]
pub struct ShareArgs {
    /// The item: its id, an id prefix, or its name.
    pub item: String,
    /// The other user.
    pub user: String,
    /// Server and state.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `cofre inbox` and `cofre inbox hide ITEM`.
#[derive(Debug, Args)]
pub struct InboxArgs {
    /// `hide ITEM`, or nothing to list the inbox.
    #[command(subcommand)]
    pub action: Option<InboxCommand>,
    /// The listing's options.
    #[command(flatten)]
    pub list: LsArgs,
}

/// `cofre inbox ...`.
#[derive(Debug, Subcommand)]
pub enum InboxCommand {
    /// Remove an item someone shared with you from your inbox (it stays theirs; they
    /// can share it again).
    Hide(ItemArgs),
}

/// `cofre shares`.
#[derive(Debug, Args)]
pub struct SharesArgs {
    /// The item: its id, an id prefix, or its name.
    pub item: String,
    /// JSON output (one array) for scripts.
    #[arg(long)]
    pub json: bool,
    /// Server and state.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `cofre contacts ...`.
#[derive(Debug, Subcommand)]
pub enum ContactsCommand {
    /// Everyone whose key you pinned, with fingerprints.
    List(JsonArgs),
    /// A contact's pinned fingerprint and whether the server still reports that key;
    /// without USER, your own fingerprint (to read out to others).
    Show(ContactArgs),
    /// After comparing fingerprints over another channel: trust USER's current key
    /// (`--fingerprint`: only if it has the fingerprint USER gave you).
    Verify(ContactArgs),
}

/// `cofre keys ...`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// New RSA key pair: every item key re-wrapped, every share re-signed (resumable).
    Rotate(ClientArgs),
}

/// A contact.
#[derive(Debug, Args)]
pub struct ContactArgs {
    /// The username (for `show`, omit it for your own key).
    pub user: Option<String>,
    /// Do not ask for confirmation (`verify`).
    #[arg(long)]
    pub yes: bool,
    /// The fingerprint USER gave you over another channel (`verify`): the key is
    /// trusted only if its fingerprint is this one (spaces, dashes and case ignored).
    #[arg(long, value_name = "TEXT")]
    pub fingerprint: Option<String>,
    /// Server and state.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `cofre agent`.
#[derive(Debug, Args)]
pub struct AgentArgs {
    /// Exit, forgetting the session, after this many seconds without a request.
    #[arg(long, env = "COFRE_AGENT_IDLE", default_value_t = 900)]
    pub idle: u64,
    /// Server and state.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `cofre server`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ServerCommand {
    /// A maintenance task instead of running the server.
    #[command(subcommand)]
    pub task: Option<ServerTask>,
    /// Server settings.
    #[command(flatten)]
    pub args: ServerArgs,
}

/// Maintenance tasks on a data directory (run them while the server is stopped).
#[derive(Debug, Subcommand)]
pub enum ServerTask {
    /// Add a new access-token signing key; restart the server to use it. Tokens signed
    /// by the previous key stay valid until they expire; older keys are deleted.
    /// Replicas sharing the key folder accept the new key's tokens as soon as one
    /// of them signs with it.
    RotateSigningKey(KeysArg),
    /// Create the server's keys in the key folder, as the first start would, and
    /// print their check value: for replicas that receive the folder read-only.
    InitKeys(KeysArg),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditTask),
    /// Create an administrator account directly in the data directory (keys are made
    /// here, as a client would; the password never leaves this process).
    CreateAdmin(CreateAdminArgs),
    /// Run the cleanup pass now: remove unfinished uploads older than
    /// `--uploads-older-than` seconds and blobs that belong to no item.
    Cleanup(CleanupArgs),
    /// Move an installation from its SQLite database to an empty PostgreSQL database.
    /// The source is only read; stop the server first (changes made after the copy
    /// starts are not moved). Every table is copied in one transaction and verified
    /// (row counts, content digests, the audit chain) before it is committed.
    Migrate(MigrateArgs),
}

/// `cofre server migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The installation to move: its data directory, as `sqlite:DIR` or just `DIR`.
    #[arg(long, value_name = "sqlite:DIR")]
    pub from: String,
    /// The PostgreSQL database to fill (`postgres://USER@HOST:PORT/DB`): it must exist
    /// and hold no data.
    #[arg(long, value_name = "postgres://…", env = "COFRE_MIGRATE_TO")]
    pub to: String,
    /// Also copy every item's blob into this blob folder or `s3://BUCKET/PREFIX`
    /// (verified by SHA-256 read back; S3 credentials from AWS_ACCESS_KEY_ID and
    /// AWS_SECRET_ACCESS_KEY). Without it, blobs stay in the data directory, which the
    /// new server keeps using.
    #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX")]
    pub blobs_to: Option<cofre_server::blobs::BlobLocation>,
    /// The S3 service's URL for `--blobs-to s3://…`, for storage other than AWS.
    #[arg(long, requires = "blobs_to")]
    pub s3_endpoint: Option<String>,
    /// The S3 region requests are signed for.
    #[arg(long, default_value = "us-east-1")]
    pub s3_region: String,
    /// Accept a plain-HTTP S3 endpoint (loopback or a trusted network only).
    #[arg(long, requires = "s3_endpoint")]
    pub s3_allow_http: bool,
}

/// `cofre server cleanup`.
#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// Remove unfinished uploads started more than this many seconds ago (default: the
    /// server's upload expiry, 24 hours). `0` removes every unfinished upload.
    #[arg(long)]
    pub uploads_older_than: Option<i64>,
    /// Data directory.
    #[arg(long = "data", env = "COFRE_DATA", default_value = "./cofre-data")]
    pub data: PathBuf,
    /// Where the server keeps item bodies (the same as for `cofre server`).
    #[command(flatten)]
    pub blobs: BlobArgs,
    /// The database and key folder, as for `cofre server`.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Where the server keeps item bodies.
#[derive(Debug, Args)]
pub struct BlobArgs {
    /// Where item bodies (ciphertext) are kept: a folder, or `s3://BUCKET/PREFIX` for
    /// S3-compatible object storage, with credentials from AWS_ACCESS_KEY_ID,
    /// AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN). Default: `blobs/` in the data
    /// directory.
    #[arg(long, env = "COFRE_BLOBS")]
    pub blobs: Option<cofre_server::blobs::BlobLocation>,
    /// The S3 service's URL, for storage other than AWS (MinIO, Ceph, Garage...).
    #[arg(long, env = "COFRE_S3_ENDPOINT", requires = "blobs")]
    pub s3_endpoint: Option<String>,
    /// The S3 region requests are signed for.
    #[arg(long, env = "COFRE_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,
    /// Accept a plain-HTTP S3 endpoint (loopback or a trusted network only).
    #[arg(long, env = "COFRE_S3_ALLOW_HTTP", requires = "s3_endpoint")]
    pub s3_allow_http: bool,
}

/// `cofre server create-admin`.
#[derive(Debug, Args)]
pub struct CreateAdminArgs {
    /// Username.
    pub username: String,
    /// Read the password from this file instead of prompting.
    #[arg(long, env = "COFRE_PASSWORD_FILE")]
    pub password_file: Option<PathBuf>,
    /// Data directory.
    #[arg(long = "data", env = "COFRE_DATA", default_value = "./cofre-data")]
    pub data: PathBuf,
    /// The database and key folder, as for `cofre server`.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// The database and key folder a maintenance task works on (the same settings as the
/// server's, so that a task run where the server runs acts on the server's data).
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// The PostgreSQL database (`postgres://…`) instead of the data directory's SQLite
    /// file.
    #[arg(long = "database", env = "COFRE_DATABASE_URL")]
    pub database: Option<String>,
    /// The server's key folder (default: `keys` in the data directory).
    #[arg(long, env = "COFRE_KEYS_DIR")]
    pub keys_dir: Option<PathBuf>,
}

/// `cofre server audit ...`.
#[derive(Debug, Subcommand)]
pub enum AuditTask {
    /// Check the audit log's hash chain; exits non-zero at the first broken row.
    Verify(AuditVerifyArgs),
}

/// `cofre server audit verify`.
#[derive(Debug, Args)]
pub struct AuditVerifyArgs {
    /// Data directory (its SQLite database).
    #[arg(long = "data", env = "COFRE_DATA", default_value = "./cofre-data")]
    pub data: PathBuf,
    /// Check this PostgreSQL database (`postgres://…`) instead.
    #[arg(long = "database", env = "COFRE_DATABASE_URL")]
    pub database: Option<String>,
}

/// The data directory and the key folder.
#[derive(Debug, Args)]
pub struct KeysArg {
    /// Data directory.
    #[arg(long = "data", env = "COFRE_DATA", default_value = "./cofre-data")]
    pub data: PathBuf,
    /// The server's key folder (default: `keys` in the data directory).
    #[arg(long, env = "COFRE_KEYS_DIR")]
    pub keys_dir: Option<PathBuf>,
}

/// Just the data directory.
#[derive(Debug, Args)]
pub struct DataArg {
    /// Data directory.
    #[arg(long = "data", env = "COFRE_DATA", default_value = "./cofre-data")]
    pub data: PathBuf,
}

/// `cofre server` settings.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Data directory: created with owner-only permissions on first start.
    #[arg(long = "data", env = "COFRE_DATA", default_value = "./cofre-data")]
    pub data: PathBuf,
    /// Use this PostgreSQL database (`postgres://USER@HOST:PORT/DB`) instead of the SQLite
    /// file in the data directory (which still holds the keys).
    #[arg(long = "database", env = "COFRE_DATABASE_URL")]
    pub database: Option<String>,
    /// The server's key folder (default: `keys` in the data directory). Every replica
    /// sharing a database must be given the same keys; the server refuses to start
    /// with others.
    #[arg(long, env = "COFRE_KEYS_DIR")]
    pub keys_dir: Option<PathBuf>,
    /// Where item bodies are kept.
    #[command(flatten)]
    pub blobs: BlobArgs,
    /// Address and port to listen on. Keep it on loopback unless TLS terminates in front.
    #[arg(long, env = "COFRE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// A load balancer or reverse proxy (address or network, like `10.0.0.0/8`) whose
    /// `X-Forwarded-For` header names the client for throttling and the audit log.
    /// Repeat it, or give a comma-separated list. None by default: the header is
    /// ignored.
    #[arg(
        long = "trusted-proxy",
        env = "COFRE_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<cofre_server::config::IpNet>,
    /// Log format.
    #[arg(long, env = "COFRE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// bcrypt cost for stored auth-key hashes (10 to 31).
    #[arg(long, env = "COFRE_BCRYPT_COST", default_value_t = 12)]
    pub bcrypt_cost: u32,
    /// Concurrent bcrypt computations (default: CPU count minus one).
    #[arg(long, env = "COFRE_BCRYPT_THREADS")]
    pub bcrypt_threads: Option<usize>,
    /// Registration: `open` to anyone, or by admin `invite` only.
    #[arg(long, env = "COFRE_REGISTRATION", value_enum, default_value_t = Registration::Open)]
    pub registration: Registration,
    /// Access-token lifetime, in seconds.
    #[arg(long, env = "COFRE_ACCESS_TTL", default_value_t = 900)]
    pub access_ttl: i64,
    /// Session lifetime (refresh tokens), in seconds.
    #[arg(long, env = "COFRE_SESSION_TTL", default_value_t = 30 * 24 * 3600)]
    pub session_ttl: i64,
    /// Token issuer (`iss`).
    #[arg(long, env = "COFRE_ISSUER", default_value = "cofre")]
    pub issuer: String,
    /// Guessing budget per account from unknown devices (and per device token):
    /// failed logins allowed at once.
    #[arg(long, env = "COFRE_ACCOUNT_FREE_FAILURES", default_value_t = 5)]
    pub account_free_failures: i64,
    /// Guessing budget per client address: failed attempts allowed at once.
    #[arg(long, env = "COFRE_ADDRESS_FREE_FAILURES", default_value_t = 20)]
    pub address_free_failures: i64,
    /// Seconds for one attempt of an account's budget to come back.
    #[arg(long, env = "COFRE_ACCOUNT_REFILL", default_value_t = 300)]
    pub account_refill: i64,
    /// Seconds for one attempt of an address's budget to come back.
    #[arg(long, env = "COFRE_ADDRESS_REFILL", default_value_t = 60)]
    pub address_refill: i64,
    /// Registration attempts a client address may make at once (then see
    /// --registration-refill); per server process.
    #[arg(long, env = "COFRE_REGISTRATION_BURST", default_value_t = 5)]
    pub registration_burst: u32,
    /// Seconds for an address to earn one more registration attempt.
    #[arg(long, env = "COFRE_REGISTRATION_REFILL", default_value_t = 1200)]
    pub registration_refill: u64,
    /// Prelogin requests a client address may make at once (then see
    /// --prelogin-refill); per server process.
    #[arg(long, env = "COFRE_PRELOGIN_BURST", default_value_t = 30)]
    pub prelogin_burst: u32,
    /// Seconds for an address to earn one more prelogin request.
    #[arg(long, env = "COFRE_PRELOGIN_REFILL", default_value_t = 1)]
    pub prelogin_refill: u64,
    /// Largest accepted JSON request body, in bytes.
    #[arg(long, env = "COFRE_MAX_BODY", default_value_t = 1024 * 1024)]
    pub max_body: usize,
    /// Storage quota per account (encrypted bytes; suffixes K, M, G, T: binary).
    #[arg(long, env = "COFRE_QUOTA", default_value = "10G", value_parser = parse_size)]
    pub quota: u64,
    /// Largest single item (encrypted bytes; suffixes K, M, G, T).
    #[arg(long, env = "COFRE_MAX_ITEM", default_value = "8G", value_parser = parse_size)]
    pub max_item: u64,
    /// Seconds an upload may stay unfinished before the cleanup removes it.
    #[arg(long, env = "COFRE_UPLOAD_EXPIRY", default_value_t = 24 * 3600)]
    pub upload_expiry: i64,
    /// Seconds between cleanup passes (abandoned uploads, orphaned blobs).
    #[arg(long, env = "COFRE_CLEANUP_EVERY", default_value_t = 3600)]
    pub cleanup_every: u64,
    /// Seconds a client has to send a request's headers (and finish the TLS handshake).
    #[arg(long, env = "COFRE_HEADER_TIMEOUT", default_value_t = 30)]
    pub header_timeout: u64,
    /// Seconds a request body may send nothing before the request is answered 408.
    #[arg(long, env = "COFRE_BODY_IDLE_TIMEOUT", default_value_t = 30)]
    pub body_idle_timeout: u64,
    /// Seconds a connection with no request in progress may stay silent.
    #[arg(long, env = "COFRE_IDLE_TIMEOUT", default_value_t = 60)]
    pub idle_timeout: u64,
    /// Connections held at once, in all (more are closed at once).
    #[arg(long, env = "COFRE_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,
    /// Connections held at once from one client address (trusted proxies excepted).
    #[arg(long, env = "COFRE_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 64)]
    pub max_connections_per_address: usize,
    /// Folder for backups made by the server (needs --backup-key).
    #[arg(long, env = "COFRE_BACKUP_DIR", requires = "backup_key")]
    pub backup_dir: Option<PathBuf>,
    /// Backup public key (PEM, from `cofre backup keygen`); the private key stays offline.
    #[arg(long, env = "COFRE_BACKUP_KEY", requires = "backup_dir")]
    pub backup_key: Option<PathBuf>,
    /// Back up on a schedule: `6h`, `1d`, `30m`, or seconds (at least 60).
    #[arg(long, env = "COFRE_BACKUP_EVERY", requires = "backup_dir", value_parser = parse_duration)]
    pub backup_every: Option<u64>,
    /// Keep this many newest backups.
    #[arg(long, env = "COFRE_BACKUP_KEEP", default_value_t = 14)]
    pub backup_keep: usize,
    /// Also keep the newest backup of each of this many days.
    #[arg(long, env = "COFRE_BACKUP_KEEP_DAILY", default_value_t = 0)]
    pub backup_keep_daily: usize,
    /// Also keep the newest backup of each of this many weeks.
    #[arg(long, env = "COFRE_BACKUP_KEEP_WEEKLY", default_value_t = 0)]
    pub backup_keep_weekly: usize,
    /// Serve HTTPS with this PEM certificate chain (needs --tls-key).
    #[arg(long, env = "COFRE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, env = "COFRE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Also serve `GET /metrics` (Prometheus) on this address, plain HTTP: keep it on
    /// loopback or an internal network. Off by default.
    #[arg(long, env = "COFRE_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// A file holding the bearer token `GET /metrics` asks for (16 or more visible
    /// characters). With a token, the main listener serves `/metrics` to its holder.
    #[arg(
        long,
        env = "COFRE_METRICS_TOKEN_FILE",
        conflicts_with = "metrics_token"
    )]
    pub metrics_token_file: Option<PathBuf>,
    /// The metrics token itself; prefer the environment variable or the file, since
    /// other local users can read a command line.
    #[arg(long, env = "COFRE_METRICS_TOKEN", hide_env_values = true, value_parser = secret_arg)]
    pub metrics_token: Option<cofre_client::api::SecretString>,
    /// Argon2id memory (KiB) for new accounts (19456 to 2097152).
    #[arg(long, env = "COFRE_KDF_MEMORY_KIB", default_value_t = 256 * 1024)]
    pub kdf_memory_kib: u32,
    /// Argon2id passes for new accounts (2 to 64).
    #[arg(long, env = "COFRE_KDF_ITERATIONS", default_value_t = 3)]
    pub kdf_iterations: u32,
    /// Argon2id lanes for new accounts (1 to 16).
    #[arg(long, env = "COFRE_KDF_PARALLELISM", default_value_t = 4)]
    pub kdf_parallelism: u32,
}

/// Who may register.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Registration {
    /// Anyone who can reach the server.
    Open,
    /// Only with an invite from an admin (the first account never needs one).
    Invite,
}

/// How log lines are written (to standard error).
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Where the client keeps its state, and which server it talks to.
#[derive(Debug, Args, Clone)]
pub struct ClientArgs {
    /// Server URL (remembered after login).
    #[arg(long, env = "COFRE_SERVER")]
    pub server: Option<String>,
    /// Directory for the client's configuration and session
    /// (default: `$XDG_CONFIG_HOME/cofre`, i.e. `~/.config/cofre`).
    #[arg(long, env = "COFRE_CONFIG_DIR")]
    pub config_dir: Option<PathBuf>,
    /// Also trust this PEM CA certificate for the server's TLS certificate.
    #[arg(long, env = "COFRE_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
    /// The agent's socket (default: one per config dir,
    /// `$XDG_RUNTIME_DIR/cofre/agent-<hash of the config dir>.sock`).
    #[arg(long, env = "COFRE_AGENT_SOCKET")]
    pub agent_socket: Option<PathBuf>,
}

/// Where a password comes from.
#[derive(Debug, Args, Clone)]
pub struct PasswordSource {
    /// Read the password from this file (first line) instead of prompting.
    #[arg(long, env = "COFRE_PASSWORD_FILE")]
    pub password_file: Option<PathBuf>,
}

/// `cofre register`.
#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// Username (3 to 32 of a-z, 0-9, '.', '_', '-').
    pub username: String,
    /// An invite token, if the server requires one.
    #[arg(long, env = "COFRE_INVITE", allow_hyphen_values = true)]
    pub invite: Option<String>,
    /// Password source.
    #[command(flatten)]
    pub password: PasswordSource,
    /// Server and state.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `cofre login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Username (default: the last one used).
    pub username: Option<String>,
    /// Current TOTP code (prompted for when needed and not given).
    #[arg(long, env = "COFRE_TOTP")]
    pub totp: Option<String>,
    /// One of the MFA recovery codes, instead of a TOTP code.
    #[arg(long, conflicts_with = "totp")]
    pub recovery_code: Option<String>,
    /// Lock (forget the session) after this many seconds without a command.
    #[arg(long, env = "COFRE_AGENT_IDLE", default_value_t = 900)]
    pub idle: u64,
    /// Password source.
    #[command(flatten)]
    pub password: PasswordSource,
    /// Server and state.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `cofre logout`.
#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// End every session of the account, on every device.
    #[arg(long)]
    pub all: bool,
    /// Server and state.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `cofre passwd`.
#[derive(Debug, Args)]
pub struct PasswdArgs {
    /// Read the current password from this file.
    #[arg(long, env = "COFRE_PASSWORD_FILE")]
    pub password_file: Option<PathBuf>,
    /// Read the new password from this file.
    #[arg(long, env = "COFRE_NEW_PASSWORD_FILE")]
    pub new_password_file: Option<PathBuf>,
    /// Server and state.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `cofre recover`.
#[derive(Debug, Args)]
pub struct RecoverArgs {
    /// Username.
    pub username: String,
    /// Read the recovery key from this file instead of prompting.
    #[arg(long, env = "COFRE_RECOVERY_KEY_FILE")]
    pub recovery_key_file: Option<PathBuf>,
    /// Read the new password from this file.
    #[arg(long, env = "COFRE_NEW_PASSWORD_FILE")]
    pub new_password_file: Option<PathBuf>,
    /// Server and state.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `cofre mfa ...`.
#[derive(Debug, Subcommand)]
pub enum MfaCommand {
    /// Start TOTP enrolment: shows a QR code to scan, then asks for a code to confirm.
    Enable(MfaEnableArgs),
    /// Confirm a started enrolment with a current code; prints the recovery codes.
    Confirm(CodeArgs),
    /// Turn TOTP off (needs a current code).
    Disable(CodeArgs),
    /// Show whether TOTP is on and how many recovery codes are left.
    Status(JsonArgs),
    /// Replace the recovery codes (needs a current code).
    RecoveryCodes(CodeArgs),
}

/// `cofre mfa enable`.
#[derive(Debug, Args)]
pub struct MfaEnableArgs {
    /// Do not draw the QR code (print the otpauth URI and secret only).
    #[arg(long)]
    pub no_qr: bool,
    /// Server and state.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// A command that needs a current TOTP code.
#[derive(Debug, Args)]
pub struct CodeArgs {
    /// The current code (prompted for when not given).
    #[arg(long, env = "COFRE_TOTP")]
    pub code: Option<String>,
    /// Server and state.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `cofre admin ...`.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// List accounts.
    Users(AdminArgs),
    /// Lock an account and end its sessions.
    Lock(AdminUserArgs),
    /// Unlock an account (also lifts a guessing lockout).
    Unlock(AdminUserArgs),
    /// End every session of an account.
    Logout(AdminUserArgs),
    /// Delete an account and everything in it, for good (asks for the username again,
    /// unless `--yes`).
    Delete(AdminDeleteArgs),
    /// Turn off an account's two-factor authentication (lost authenticator and
    /// recovery codes); its sessions end. Check who is asking before you do this.
    ResetMfa(AdminUserArgs),
    /// Create a single-use registration invite (valid 7 days).
    Invite(AdminArgs),
    /// Require MFA for every account (`on`) or not (`off`).
    RequireMfa(RequireMfaArgs),
    /// Show the audit log.
    Audit(AdminAuditArgs),
    /// Start a backup on the server now (`--wait`: until it finishes).
    Backup(AdminBackupArgs),
    /// Show the server's backups: the last run and the archives kept.
    Backups(AdminArgs),
}

/// `cofre admin backup`.
#[derive(Debug, Args)]
pub struct AdminBackupArgs {
    /// Wait for the backup to finish and report its result.
    #[arg(long)]
    pub wait: bool,
    /// Server and state.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `cofre backup ...`.
#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Make a backup key pair: BASE.key (private, protected by a passphrase: keep it
    /// offline) and BASE.pub (give it to the server with --backup-key).
    Keygen(BackupKeygenArgs),
    /// Back up a data directory now (the server may keep running).
    Create(BackupCreateArgs),
    /// Check a backup: structure, signature and every hash; with --key, also decrypt
    /// everything and check the database.
    Verify(BackupVerifyArgs),
    /// Rebuild a data directory from a backup.
    Restore(BackupRestoreArgs),
    /// List the backups in a folder.
    List(BackupListArgs),
    /// Show the fingerprint of a server's backup signing key (keep it with the backup key:
    /// restore checks it).
    Signer(DataArg),
}

/// `cofre backup keygen`.
#[derive(Debug, Args)]
pub struct BackupKeygenArgs {
    /// Base name of the two files written.
    #[arg(long, default_value = "cofre-backup")]
    pub out: PathBuf,
    /// Read the passphrase from this file instead of prompting.
    #[arg(long, env = "COFRE_BACKUP_PASSPHRASE_FILE")]
    pub passphrase_file: Option<PathBuf>,
}

/// `cofre backup create`.
#[derive(Debug, Args)]
pub struct BackupCreateArgs {
    /// Data directory to back up.
    #[arg(long = "data", env = "COFRE_DATA", default_value = "./cofre-data")]
    pub data: PathBuf,
    /// The backup public key (BASE.pub from `cofre backup keygen`).
    #[arg(long, env = "COFRE_BACKUP_KEY")]
    pub backup_key: PathBuf,
    /// Folder receiving the archive.
    #[arg(long, env = "COFRE_BACKUP_DIR")]
    pub out: PathBuf,
}

/// The expected signer of a backup.
#[derive(Debug, Args)]
pub struct SignerArgs {
    /// The server's backup signing key: its fingerprint (`cofre backup signer`) or a
    /// PEM file of it.
    #[arg(long, env = "COFRE_BACKUP_SIGNER")]
    pub signer: Option<String>,
}

/// `cofre backup verify`.
#[derive(Debug, Args)]
pub struct BackupVerifyArgs {
    /// The archive.
    pub file: PathBuf,
    /// The backup private key file: also decrypt every file and check the database.
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// Read the key's passphrase from this file instead of prompting.
    #[arg(long, env = "COFRE_BACKUP_PASSPHRASE_FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// Expected signer (needed with --key, unless --any-signer).
    #[command(flatten)]
    pub signer: SignerArgs,
    /// With --key: decrypt whatever key signed the backup.
    #[arg(long, conflicts_with = "signer")]
    pub any_signer: bool,
}

/// `cofre backup restore`.
#[derive(Debug, Args)]
pub struct BackupRestoreArgs {
    /// The archive.
    pub file: PathBuf,
    /// The backup private key file.
    #[arg(long)]
    pub key: PathBuf,
    /// Read the key's passphrase from this file instead of prompting.
    #[arg(long, env = "COFRE_BACKUP_PASSPHRASE_FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// The data directory to rebuild (must be empty or absent unless --force).
    #[arg(long = "data")]
    pub data: PathBuf,
    /// Replace a non-empty data directory (only once the restore has succeeded).
    #[arg(long)]
    pub force: bool,
    /// Expected signer.
    #[command(flatten)]
    pub signer: SignerArgs,
    /// Accept whatever key signed the backup (it is still checked to be intact).
    #[arg(long, conflicts_with = "signer")]
    pub any_signer: bool,
}

/// `cofre backup list`.
#[derive(Debug, Args)]
pub struct BackupListArgs {
    /// The backup folder.
    #[arg(env = "COFRE_BACKUP_DIR")]
    pub dir: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Admin command with no argument.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Server and state.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Admin command on one account.
#[derive(Debug, Args)]
pub struct AdminUserArgs {
    /// Username.
    pub username: String,
    /// Server and state.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `cofre admin delete`.
#[derive(Debug, Args)]
pub struct AdminDeleteArgs {
    /// Username.
    pub username: String,
    /// Do not ask for the username again (needed when standard input is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Server and state.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `cofre admin require-mfa`.
#[derive(Debug, Args)]
pub struct RequireMfaArgs {
    /// `on` or `off`.
    #[arg(value_parser = ["on", "off"])]
    pub state: String,
    /// Server and state.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `cofre admin audit`.
#[derive(Debug, Args)]
pub struct AdminAuditArgs {
    /// Only events at or after this time: RFC 3339 (`2026-01-31T08:00:00Z`), a date
    /// (`2026-01-31`, UTC), or a duration back from now (`90m`, `36h`, `7d`).
    #[arg(long, value_parser = parse_since)]
    pub since: Option<i64>,
    /// Show events after this sequence number.
    #[arg(long, default_value_t = 0)]
    pub after: i64,
    /// At most this many (the newest ones).
    #[arg(long, default_value_t = 100)]
    pub limit: i64,
    /// Oldest first (chain order) instead of newest first.
    #[arg(long)]
    pub oldest_first: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Server and state.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Parses a duration: seconds, or a number with `s`, `m`, `h`, `d` or `w`.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (digits, unit) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let unit = match c.to_ascii_lowercase() {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                'w' => 7 * 86_400,
                _ => return Err(format!("unknown unit in {s:?} (use s, m, h, d or w)")),
            };
            (s.get(..i).unwrap_or_default(), unit)
        }
        _ => (s, 1),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("not a duration: {s:?} (e.g. 6h)"))?;
    n.checked_mul(unit)
        .ok_or_else(|| format!("duration too large: {s:?}"))
}

/// Parses `--since`: an RFC 3339 time, a `YYYY-MM-DD` date (UTC midnight), or a
/// duration back from now (see [`parse_duration`]). Returns Unix seconds.
pub fn parse_since(s: &str) -> Result<i64, String> {
    let s = s.trim();
    if let Ok(secs) = parse_duration(s) {
        let back = i64::try_from(secs).map_err(|_| format!("duration too large: {s:?}"))?;
        return Ok(cofre_server::clock::now().saturating_sub(back));
    }
    if let Some(t) = crate::times::parse(s) {
        return Ok(t);
    }
    Err(format!(
        "not a time: {s:?} (e.g. 2026-01-31T08:00:00Z, 2026-01-31, or 7d for the last 7 days)"
    ))
}

/// A secret from the command line or the environment (`<redacted>` in `Debug`).
pub fn secret_arg(s: &str) -> Result<cofre_client::api::SecretString, String> {
    Ok(cofre_client::api::SecretString::new(s))
}

/// Parses a byte count with an optional binary suffix: `512`, `64K`, `10M`, `8G`, `1T`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (digits, shift) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let shift = match c.to_ascii_uppercase() {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                _ => return Err(format!("unknown size suffix in {s:?} (use K, M, G or T)")),
            };
            (s.get(..i).unwrap_or_default(), shift)
        }
        _ => (s, 0),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("not a size: {s:?} (e.g. 10G)"))?;
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| format!("size too large: {s:?}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("90").unwrap(), 90);
        assert_eq!(parse_duration("6h").unwrap(), 6 * 3600);
        assert_eq!(parse_duration("1d").unwrap(), 86_400);
        assert_eq!(parse_duration("2W").unwrap(), 14 * 86_400);
        assert!(parse_duration("6x").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("-1h").is_err());
    }

    #[test]
    fn an_invite_token_may_start_with_a_dash() {
        // Invite tokens are base64url: one in 64 starts with '-'.
        let cli =
            Cli::try_parse_from(["cofre", "register", "bob", "--invite", "-_2Is5RYzDC"]).unwrap();
        match cli.command {
            Command::Register(a) => assert_eq!(a.invite.as_deref(), Some("-_2Is5RYzDC")),
            _ => panic!("not register"),
        }
    }

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_size("512").unwrap(), 512);
        assert_eq!(parse_size("10G").unwrap(), 10 << 30);
        assert_eq!(parse_size("64k").unwrap(), 64 << 10);
        assert!(parse_size("10X").is_err());
        assert!(parse_size("G").is_err());
        assert!(parse_size("99999999T").is_err());
    }
}
