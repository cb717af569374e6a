//! The local agent: a per-profile background process that holds a logged-in session (its
//! tokens and the unlocked user key) in memory, so that commands do not ask for the
//! password each time.
//!
//! A profile is one client state directory (`--config-dir`): each has its own agent, on
//! a socket whose name comes from a hash of the directory's canonical path
//! ([`default_socket`]), so two people (or two accounts) using two directories on one
//! machine are logged in side by side. Each request names the profile it is meant for
//! ([`profile_id`]); an agent answers only requests of the profile it was started for,
//! so a socket shared by mistake (`--agent-socket`) never hands one profile's session to
//! another, nor lets another profile replace or lock it.
//!
//! It listens on a Unix socket in a directory only its owner can enter (0700; the socket
//! itself is 0600), and also refuses connections whose peer is another user. It refreshes
//! the access token when a command asks for the session and the token is about to
//! expire. It forgets everything (keys zeroized) and exits on `lock`, or after an idle
//! period (15 minutes by default) without any request.
//!
//! It turns core dumps off for itself at start, and keeps the pages holding the
//! session's secrets locked in RAM (never swapped); when the system refuses either,
//! it says so on standard error and goes on (see the `hardening` module).
//!
//! The protocol is one JSON request and one JSON response per line ([`Envelope`],
//! [`Response`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use cofre_api::SecretString;
use cofre_api::auth::SessionTokens;
use cofre_core::keys::{AccountKeys, UnlockedKeys};
use cofre_core::secret::SymmetricKey;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{UnixListener, UnixStream};
use zeroize::Zeroizing;

use crate::Client;

/// Default idle timeout.
pub const DEFAULT_IDLE: Duration = Duration::from_secs(15 * 60);
/// Refresh the access token when it has less than this left.
const REFRESH_MARGIN_SECS: i64 = 60;
/// Longest accepted request line.
const MAX_LINE: usize = 1 << 20;

/// What the agent holds and hands out.
#[derive(Clone, Serialize, Deserialize)]
pub struct AgentSession {
    /// Server URL.
    pub server: String,
    /// Username.
    pub username: String,
    /// Session id.
    pub session_id: String,
    /// Access token.
    pub access_token: SecretString,
    /// When it expires (Unix seconds).
    pub access_expires_at: i64,
    /// Refresh token.
    pub refresh_token: SecretString,
    /// The user key (base64url).
    pub user_key: SecretString,
    /// The account's key material, to rebuild the unlocked keys.
    pub account_keys: AccountKeys,
    /// Extra trusted CA certificates (PEM) for the server, if any.
    #[serde(default)]
    pub ca_pem: Option<String>,
}

impl std::fmt::Debug for AgentSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentSession")
            .field("server", &self.server)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl AgentSession {
    /// A session from fresh tokens and unlocked keys.
    pub fn new(
        server: &str,
        username: &str,
        tokens: &SessionTokens,
        keys: &UnlockedKeys,
        account_keys: AccountKeys,
    ) -> Self {
        Self {
            server: server.to_owned(),
            username: username.to_owned(),
            session_id: tokens.session_id.clone(),
            access_token: tokens.access_token.clone(),
            access_expires_at: now() + i64::try_from(tokens.expires_in).unwrap_or(0),
            refresh_token: tokens.refresh_token.clone(),
            user_key: SecretString::new(
                data_encoding::BASE64URL_NOPAD.encode(keys.user_key().expose_secret_bytes()),
            ),
            account_keys,
            ca_pem: None,
        }
    }

    /// The buffers holding secrets: the user key and the tokens.
    fn secrets(&self) -> [&[u8]; 3] {
        [
            self.user_key.expose().as_bytes(),
            self.access_token.expose().as_bytes(),
            self.refresh_token.expose().as_bytes(),
        ]
    }

    /// A client for this session's server.
    pub fn client(&self) -> crate::error::Result<Client> {
        Client::with_ca(&self.server, self.ca_pem.as_deref().map(str::as_bytes))
    }

    /// Rebuilds the unlocked keys (checks the private key against the public key).
    pub fn unlocked_keys(&self) -> Result<UnlockedKeys, cofre_core::Error> {
        let raw = Zeroizing::new(
            data_encoding::BASE64URL_NOPAD
                .decode(self.user_key.expose().as_bytes())
                .map_err(|_| cofre_core::Error::InvalidKey("user key"))?,
        );
        let arr: &[u8; 64] = raw
            .as_slice()
            .try_into()
            .map_err(|_| cofre_core::Error::InvalidKey("user key"))?;
        UnlockedKeys::from_user_key(SymmetricKey::from_secret_bytes(arr), &self.account_keys)
    }
}

/// One request line: the request and the profile that sends it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Envelope {
    /// The sender's profile ([`profile_id`] of its state directory).
    pub profile: String,
    /// What it asks.
    pub request: Request,
}

/// A request to the agent.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Hold this session (replacing any other).
    Put {
        /// The session.
        session: Box<AgentSession>,
    },
    /// The session, with a fresh access token.
    Get,
    /// Forget everything and exit.
    Lock,
    /// Whether a session is held, and for whom.
    Status,
}

/// The agent's answer.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Response {
    /// Done.
    Ok,
    /// The session.
    Session {
        /// It.
        session: Box<AgentSession>,
    },
    /// Nothing held.
    Locked,
    /// Who is unlocked.
    Status {
        /// Username, if a session is held.
        username: Option<String>,
        /// Server URL.
        server: Option<String>,
    },
    /// The request failed.
    Error {
        /// Why.
        message: String,
        /// What kind of failure (agents before this field leave it out: `other`).
        #[serde(default)]
        kind: FailureKind,
    },
    /// This agent serves another profile: the request was not carried out.
    OtherProfile {
        /// The profile the agent serves.
        profile: String,
    },
}

/// Why the agent could not hand out the session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// Anything else.
    #[default]
    Other,
    /// The server ended the session (revoked, expired, logged out elsewhere): the agent
    /// forgot it.
    SessionEnded,
    /// The server could not be reached (or failed) to renew the access token: the agent
    /// keeps the session for the next try.
    Unreachable,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The profile a state directory stands for: its canonical absolute path (symbolic
/// links and `..` resolved), so that every spelling of one directory is one profile.
/// A directory that does not exist yet is resolved through its nearest existing parent.
pub fn profile_id(config_dir: &Path) -> String {
    let abs = if config_dir.is_absolute() {
        config_dir.to_owned()
    } else {
        std::env::current_dir().map_or_else(|_| config_dir.to_owned(), |d| d.join(config_dir))
    };
    let mut existing = abs.as_path();
    let mut missing = Vec::new();
    loop {
        if let Ok(mut p) = std::fs::canonicalize(existing) {
            p.extend(missing.iter().rev());
            return p.to_string_lossy().into_owned();
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                missing.push(name.to_owned());
                existing = parent;
            }
            _ => return abs.to_string_lossy().into_owned(),
        }
    }
}

/// The default socket of the profile `config_dir`:
/// `$XDG_RUNTIME_DIR/cofre/agent-<hash>.sock`, where `<hash>` is the first 16 hex
/// digits of the SHA-256 of [`profile_id`]; without `XDG_RUNTIME_DIR`,
/// `<config dir>/run/agent.sock` (the directory is the profile's own).
pub fn default_socket(config_dir: &Path) -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        Some(d) => {
            let digest =
                cofre_core::primitives::digest::sha256(&[profile_id(config_dir).as_bytes()]);
            let hash: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
            PathBuf::from(d)
                .join("cofre")
                .join(format!("agent-{hash}.sock"))
        }
        None => config_dir.join("run").join("agent.sock"),
    }
}

/// Talks to a running agent, for one profile.
#[derive(Clone, Debug)]
pub struct AgentClient {
    path: PathBuf,
    profile: String,
}

/// Why talking to the agent failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// No agent is listening (nobody is unlocked).
    #[error("no agent is running")]
    NotRunning,
    /// Socket or protocol failure.
    #[error("agent: {0}")]
    Io(#[from] std::io::Error),
    /// The agent refused or failed.
    #[error("agent: {0}")]
    Failed(String),
    /// The agent at this socket serves another profile (another state directory).
    #[error(
        "the agent at {socket} holds the session of another profile ({profile}); give each \
         --config-dir its own --agent-socket, or leave the socket unset"
    )]
    OtherProfile {
        /// The socket.
        socket: PathBuf,
        /// The profile that agent serves.
        profile: String,
    },
    /// The session ended on the server; the agent forgot it.
    #[error("your session ended: run `cofre login`")]
    SessionEnded,
    /// The server could not be reached to renew the session; the agent still holds it.
    #[error("cannot reach the server to renew the session: {0}")]
    Unreachable(String),
}

impl AgentClient {
    /// A client for the agent at `path`, sending requests as `profile` ([`profile_id`]).
    pub fn new(path: PathBuf, profile: String) -> Self {
        Self { path, profile }
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The profile this client speaks for.
    pub fn profile(&self) -> &str {
        &self.profile
    }

    /// Sends one request. An agent of another profile is [`AgentError::OtherProfile`].
    pub async fn call(&self, req: Request) -> Result<Response, AgentError> {
        let stream = match UnixStream::connect(&self.path).await {
            Ok(s) => s,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                ) =>
            {
                return Err(AgentError::NotRunning);
            }
            Err(e) => return Err(e.into()),
        };
        let (r, mut w) = stream.into_split();
        let envelope = Envelope {
            profile: self.profile.clone(),
            request: req,
        };
        let mut line =
            Zeroizing::new(serde_json::to_vec(&envelope).map_err(std::io::Error::other)?);
        line.push(b'\n');
        w.write_all(&line).await?;
        w.shutdown().await?;
        let mut answer = Zeroizing::new(String::new());
        BufReader::new(r).read_line(&mut answer).await?;
        match serde_json::from_str(&answer) {
            Ok(Response::OtherProfile { profile }) => Err(AgentError::OtherProfile {
                socket: self.path.clone(),
                profile,
            }),
            Ok(r) => Ok(r),
            Err(e) => Err(AgentError::Io(std::io::Error::other(e))),
        }
    }

    /// Whether an agent answers on this socket (for this profile or another).
    pub async fn is_running(&self) -> bool {
        matches!(
            self.call(Request::Status).await,
            Ok(_) | Err(AgentError::OtherProfile { .. })
        )
    }

    /// The held session (refreshed if needed), or `None` when locked.
    pub async fn session(&self) -> Result<Option<AgentSession>, AgentError> {
        match self.call(Request::Get).await {
            Ok(Response::Session { session }) => Ok(Some(*session)),
            Ok(Response::Locked) | Err(AgentError::NotRunning) => Ok(None),
            Ok(Response::Error { message, kind }) => Err(match kind {
                FailureKind::SessionEnded => AgentError::SessionEnded,
                FailureKind::Unreachable => AgentError::Unreachable(message),
                FailureKind::Other => AgentError::Failed(message),
            }),
            Ok(other) => Err(AgentError::Failed(format!("unexpected answer {other:?}"))),
            Err(e) => Err(e),
        }
    }

    /// Hands a session to the agent.
    pub async fn put(&self, session: AgentSession) -> Result<(), AgentError> {
        match self
            .call(Request::Put {
                session: Box::new(session),
            })
            .await?
        {
            Response::Ok => Ok(()),
            other => Err(AgentError::Failed(format!("{other:?}"))),
        }
    }

    /// Tells the agent to forget everything and exit. Not running is fine.
    pub async fn lock(&self) -> Result<(), AgentError> {
        match self.call(Request::Lock).await {
            Ok(_) | Err(AgentError::NotRunning) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Creates `dir` owner-only (0700), refusing one that others can enter.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mode = std::fs::metadata(dir)?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(std::io::Error::other(format!(
            "{} is accessible to other users (mode {:o}); refusing to put the agent socket there",
            dir.display(),
            mode & 0o777
        )));
    }
    Ok(())
}

/// Runs the agent of `profile` ([`profile_id`]) on `path` until `lock` or `idle`
/// without requests; requests of other profiles are refused. Returns an error if
/// another agent already answers there.
pub async fn serve(path: &Path, profile: &str, idle: Duration) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = path.parent().unwrap_or(Path::new("."));
    private_dir(dir)?;
    if AgentClient::new(path.to_owned(), profile.to_owned())
        .is_running()
        .await
    {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AddrInUse,
            "an agent is already running",
        ));
    }
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    let me = current_uid(dir)?;
    if let Err(e) = crate::hardening::no_core_dumps() {
        eprintln!("cofre agent: warning: cannot turn core dumps off ({e})");
    }
    // A terminal closing sends SIGHUP; the agent outlives it until lock or idle timeout.
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut held: Option<AgentSession> = None;
    let mut locked = crate::hardening::Locked::default();
    let mut warned = false;
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = tokio::time::sleep(idle) => break,
            _ = hup.recv() => continue,
            _ = term.recv() => break,
        };
        let Ok((stream, _)) = accepted else { continue };
        match stream.peer_cred() {
            Ok(c) if c.uid() == me => {}
            _ => continue,
        }
        // A client that never finishes its request cannot hold the agent up.
        let done =
            tokio::time::timeout(Duration::from_secs(30), handle(stream, profile, &mut held)).await;
        // The held secrets may have changed (a new session, refreshed tokens): the
        // old locks go first, then the current buffers are locked.
        locked = crate::hardening::Locked::default();
        if let Some(s) = &held {
            match crate::hardening::Locked::lock(&s.secrets()) {
                Ok(l) => locked = l,
                Err(e) if !warned => {
                    warned = true;
                    eprintln!(
                        "cofre agent: warning: cannot lock the keys in memory ({e}); \
                         they may be written to swap"
                    );
                }
                Err(_) => {}
            }
        }
        if let Ok(Ok(true)) = done {
            break;
        }
    }
    drop(held.take());
    drop(locked);
    let _ = std::fs::remove_file(path);
    Ok(())
}

/// Our uid: the owner of the directory we just created.
fn current_uid(dir: &Path) -> std::io::Result<u32> {
    use std::os::unix::fs::MetadataExt as _;
    Ok(std::fs::metadata(dir)?.uid())
}

/// Answers one connection. Returns true when the agent must stop.
async fn handle(
    stream: UnixStream,
    profile: &str,
    held: &mut Option<AgentSession>,
) -> std::io::Result<bool> {
    let (r, mut w) = stream.into_split();
    let mut line = Zeroizing::new(String::new());
    let mut reader = BufReader::new(r.take(MAX_LINE as u64));
    reader.read_line(&mut line).await?;
    let request = serde_json::from_str::<Envelope>(&line).map(|e| {
        if e.profile == profile {
            Some(e.request)
        } else {
            // Another profile's command: it must neither read, replace nor end this
            // profile's session.
            None
        }
    });
    let (resp, stop) = match request {
        Err(e) => (
            Response::Error {
                message: format!("bad request: {e}"),
                kind: FailureKind::Other,
            },
            false,
        ),
        Ok(None) => (
            Response::OtherProfile {
                profile: profile.to_owned(),
            },
            false,
        ),
        Ok(Some(Request::Put { session })) => {
            *held = Some(*session);
            (Response::Ok, false)
        }
        Ok(Some(Request::Lock)) => {
            *held = None;
            (Response::Ok, true)
        }
        Ok(Some(Request::Status)) => (
            Response::Status {
                username: held.as_ref().map(|s| s.username.clone()),
                server: held.as_ref().map(|s| s.server.clone()),
            },
            false,
        ),
        Ok(Some(Request::Get)) => match held.take() {
            None => (Response::Locked, false),
            Some(s) => match fresh(s).await {
                Ok(s) => {
                    *held = Some(s.clone());
                    (
                        Response::Session {
                            session: Box::new(s),
                        },
                        false,
                    )
                }
                // The session ended on the server: it is forgotten. The server could
                // not be reached: it is kept for the next request.
                Err((kind, message, keep)) => {
                    *held = keep;
                    (Response::Error { message, kind }, false)
                }
            },
        },
    };
    let mut out = Zeroizing::new(serde_json::to_vec(&resp).map_err(std::io::Error::other)?);
    out.push(b'\n');
    w.write_all(&out).await?;
    Ok(stop)
}

/// Refreshes the access token if it is about to expire. On failure: what kind, why,
/// and the session back when it is still good (the server could not be reached).
async fn fresh(
    mut s: AgentSession,
) -> Result<AgentSession, (FailureKind, String, Option<AgentSession>)> {
    if s.access_expires_at - REFRESH_MARGIN_SECS > now() {
        return Ok(s);
    }
    let client = match s.client() {
        Ok(c) => c,
        Err(e) => return Err((FailureKind::Other, e.to_string(), None)),
    };
    let t = match client.refresh(&s.refresh_token).await {
        Ok(t) => t,
        Err(e @ crate::ClientError::Http(_)) => {
            return Err((FailureKind::Unreachable, e.to_string(), Some(s)));
        }
        Err(e @ crate::ClientError::Api { status, .. }) if status >= 500 => {
            return Err((FailureKind::Unreachable, e.to_string(), Some(s)));
        }
        Err(e) => {
            let kind = match e.code() {
                Some(
                    cofre_api::ErrorCode::InvalidRefreshToken | cofre_api::ErrorCode::Unauthorized,
                ) => FailureKind::SessionEnded,
                _ => FailureKind::Other,
            };
            return Err((kind, format!("the session has ended ({e})"), None));
        }
    };
    s.access_token = t.access_token;
    s.refresh_token = t.refresh_token;
    s.access_expires_at = now() + i64::try_from(t.expires_in).unwrap_or(0);
    Ok(s)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn one_directory_is_one_profile_and_one_socket() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        std::fs::create_dir(&a).unwrap();
        let spelled = dir.path().join("b").join("..").join("a");
        std::fs::create_dir(dir.path().join("b")).unwrap();
        assert_eq!(profile_id(&a), profile_id(&spelled));
        // Not created yet: resolved through its parent, and stable once it exists.
        let later = dir.path().join("b").join("later");
        let before = profile_id(&later);
        std::fs::create_dir(&later).unwrap();
        assert_eq!(before, profile_id(&later));
        assert_ne!(profile_id(&a), profile_id(&later));
    }

    #[tokio::test]
    async fn an_agent_refuses_another_profiles_requests() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run").join("agent.sock");
        let agent = tokio::spawn({
            let path = path.clone();
            async move { serve(&path, "/profile/a", Duration::from_secs(60)).await }
        });
        let mine = AgentClient::new(path.clone(), "/profile/a".into());
        let other = AgentClient::new(path.clone(), "/profile/b".into());
        for _ in 0..500 {
            if mine.is_running().await {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(matches!(
            mine.call(Request::Status).await.unwrap(),
            Response::Status { username: None, .. }
        ));
        // The other profile sees an agent there, but one that is not its own.
        assert!(other.is_running().await);
        assert!(matches!(
            other.session().await,
            Err(AgentError::OtherProfile { profile, .. }) if profile == "/profile/a"
        ));
        // It can neither end the session nor stop the agent.
        assert!(matches!(
            other.lock().await,
            Err(AgentError::OtherProfile { .. })
        ));
        assert!(matches!(
            mine.call(Request::Status).await.unwrap(),
            Response::Status { .. }
        ));
        mine.lock().await.unwrap();
        agent.await.unwrap().unwrap();
        assert!(!path.exists());
    }
}
