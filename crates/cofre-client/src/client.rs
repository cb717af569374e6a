//! The HTTP client and the account-and-session operations: policy, register, login,
//! refresh, logout, whoami.

use std::time::Duration;

use cofre_api::auth::{
    LoginRequest, LoginResponse, Policy, PreloginRequest, PreloginResponse, RefreshRequest,
    RegisterRequest, RegisterResponse, SessionTokens, UserInfo, WhoAmI,
};
use cofre_api::error::ErrorBody;
use cofre_api::{ErrorCode, SecretString};
use cofre_core::keys::{AccountKeys, KdfParams, KdfSalt, MasterKey, RecoveryKey, UnlockedKeys};
use cofre_core::secret::Password;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ClientError, Result};

/// A connection to one cofre server.
#[derive(Clone, Debug)]
pub struct Client {
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
}

/// The second factor for a login, if the account uses MFA.
#[derive(Clone, Debug, Default)]
pub enum SecondFactor {
    /// No code (the server answers `mfa_required` if one is needed).
    #[default]
    None,
    /// A current TOTP code.
    Totp(String),
    /// A one-time MFA recovery code.
    RecoveryCode(String),
}

/// A registered account: show the recovery key to the user once.
pub struct Registered {
    /// What the server says.
    pub account: RegisterResponse,
    /// The recovery key: the only way back in without the password.
    pub recovery_key: RecoveryKey,
    /// The new account's unlocked keys.
    pub keys: UnlockedKeys,
}

/// A logged-in session with its unlocked keys.
pub struct LoggedIn {
    /// Tokens.
    pub tokens: SessionTokens,
    /// The account.
    pub user: UserInfo,
    /// The account's public material.
    pub account_keys: AccountKeys,
    /// The unlocked user and private keys.
    pub keys: UnlockedKeys,
    /// The device token the server returned (servers before device tokens return none):
    /// keep it secret, and present it on this account's later logins
    /// ([`Client::login_on_device`]) so they spend this device's own guessing budget.
    pub device_token: Option<SecretString>,
}

/// A login with its key derived from the password, ready to be submitted
/// ([`Client::submit_login`]). Holds the master key (zeroized when dropped).
pub struct PreparedLogin {
    username: String,
    master: MasterKey,
}

/// Runs the password KDF off the async runtime (Argon2id takes a large fraction of a
/// second by design).
pub(crate) async fn derive_master(
    password: &Password,
    salt: KdfSalt,
    kdf: KdfParams,
) -> Result<MasterKey> {
    let password = Password::new(password.expose_str());
    tokio::task::spawn_blocking(move || MasterKey::derive(&password, &salt, &kdf))
        .await
        .map_err(|_| ClientError::Usage("key derivation was cancelled".into()))?
        .map_err(ClientError::from)
}

impl Client {
    /// A client for the server at `base_url` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base_url: &str) -> Result<Self> {
        Self::with_ca(base_url, None)
    }

    /// Like [`Client::new`], also trusting the PEM certificate(s) in `ca_pem` (for a
    /// server whose certificate is not signed by a public authority).
    pub fn with_ca(base_url: &str, ca_pem: Option<&[u8]>) -> Result<Self> {
        let base = base_url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClientError::Usage(format!(
                "server URL must start with http:// or https://: {base_url}"
            )));
        }
        let mut builder = reqwest::Client::builder();
        if let Some(pem) = ca_pem {
            for cert in reqwest::Certificate::from_pem_bundle(pem)? {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(60))
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("cofre/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { http, base })
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Sends a request under `/api/v1` and decodes the answer (or the API error).
    pub(crate) async fn call<B: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        token: Option<&SecretString>,
        body: Option<&B>,
    ) -> Result<R> {
        let resp = self.send(method, path, token, body).await?;
        Ok(resp.json::<R>().await?)
    }

    /// Like [`Client::call`] for answers without a body (204).
    pub(crate) async fn call_empty<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        token: Option<&SecretString>,
        body: Option<&B>,
    ) -> Result<()> {
        self.send(method, path, token, body).await.map(drop)
    }

    async fn send<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        token: Option<&SecretString>,
        body: Option<&B>,
    ) -> Result<reqwest::Response> {
        let url = format!("{}{}{path}", self.base, cofre_api::PREFIX);
        let mut req = self.http.request(method, url);
        if let Some(t) = token {
            req = req.bearer_auth(t.expose());
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        Err(api_error(resp).await)
    }

    /// The server's published policy.
    pub async fn policy(&self) -> Result<Policy> {
        self.call::<(), _>(Method::GET, "/policy", None, None).await
    }

    /// The server's API version, format version and capabilities
    /// (`GET /api/v1/version`). A server older than that route answers `not_found`.
    pub async fn version(&self) -> Result<cofre_api::version::VersionInfo> {
        self.call::<(), _>(Method::GET, "/version", None, None)
            .await
    }

    /// The KDF salt and parameters for a username.
    pub async fn prelogin(&self, username: &str) -> Result<PreloginResponse> {
        let req = PreloginRequest {
            username: username.to_owned(),
        };
        self.call(Method::POST, "/auth/prelogin", None, Some(&req))
            .await
    }

    /// The checks a registration can pass before anything expensive happens: the
    /// username is valid, the server answers, and it accepts registrations (an invite
    /// is given, or none is needed). Returns the policy the password must meet.
    pub async fn registration_policy(
        &self,
        username: &str,
        invite: Option<&str>,
    ) -> Result<Policy> {
        cofre_api::Username::parse(username)
            .map_err(|e| ClientError::Usage(format!("{username:?}: {e}")))?;
        let policy = self.policy().await?;
        if policy.invite_required && invite.is_none() {
            return Err(ClientError::Api {
                status: 403,
                code: ErrorCode::RegistrationClosed,
                message: "this server registers by invitation only: ask an administrator for \
                          an invite (`cofre admin invite`), then register with --invite TOKEN"
                    .into(),
                retry_after: None,
            });
        }
        Ok(policy)
    }

    /// Creates an account: checks the username, the server's registration policy and
    /// the password against the server's policy, creates every
    /// key on this machine, and sends only the auth keys, public key and ciphertext.
    pub async fn register(
        &self,
        username: &str,
        password: &Password,
        invite: Option<&str>,
    ) -> Result<Registered> {
        let policy = self.registration_policy(username, invite).await?;
        crate::password::check(password, &policy, &[username])?;
        let password_copy = Password::new(password.expose_str());
        let kdf = policy.kdf.clone();
        let new = tokio::task::spawn_blocking(move || UnlockedKeys::create(&password_copy, kdf))
            .await
            .map_err(|_| ClientError::Usage("key generation was cancelled".into()))??;
        let req = RegisterRequest {
            username: username.to_owned(),
            auth_key: new.auth_key.to_text().into(),
            recovery_auth_key: new.recovery_key.auth_key()?.to_text().into(),
            keys: new.keys,
            invite: invite.map(SecretString::new),
        };
        let account = self
            .call(Method::POST, "/auth/register", None, Some(&req))
            .await?;
        Ok(Registered {
            account,
            recovery_key: new.recovery_key,
            keys: new.unlocked,
        })
    }

    /// Logs in: derives the auth key from the password, and unlocks the account's keys
    /// with the same derivation. As from an unknown device: see
    /// [`Client::login_on_device`].
    pub async fn login(
        &self,
        username: &str,
        password: &Password,
        second: SecondFactor,
    ) -> Result<LoggedIn> {
        self.login_on_device(username, password, second, None).await
    }

    /// Logs in like [`Client::login`], presenting the device token an earlier login of
    /// this account returned, if any: the attempt then spends this device's own
    /// guessing budget, which guesses from elsewhere cannot exhaust.
    pub async fn login_on_device(
        &self,
        username: &str,
        password: &Password,
        second: SecondFactor,
        device_token: Option<&SecretString>,
    ) -> Result<LoggedIn> {
        let prepared = self.prepare_login(username, password).await?;
        self.submit_login(&prepared, second, device_token).await
    }

    /// The first half of a login: the KDF parameters for `username` and the key
    /// derivation from the password (the expensive part). The result can be submitted
    /// more than once ([`Client::submit_login`]): after `mfa_required`, or a wrong
    /// one-time code, ask for the code again without deriving again.
    pub async fn prepare_login(
        &self,
        username: &str,
        password: &Password,
    ) -> Result<PreparedLogin> {
        let pre = self.prelogin(username).await?;
        let master = derive_master(password, pre.salt, pre.kdf).await?;
        Ok(PreparedLogin {
            username: username.to_owned(),
            master,
        })
    }

    /// The second half of a login: sends the derived auth key with `second`, and
    /// unlocks the account's keys. See [`Client::login_on_device`] for `device_token`.
    pub async fn submit_login(
        &self,
        prepared: &PreparedLogin,
        second: SecondFactor,
        device_token: Option<&SecretString>,
    ) -> Result<LoggedIn> {
        let (totp, mfa_recovery_code) = match second {
            SecondFactor::None => (None, None),
            SecondFactor::Totp(c) => (Some(SecretString::new(c)), None),
            SecondFactor::RecoveryCode(c) => (None, Some(SecretString::new(c))),
        };
        let req = LoginRequest {
            username: prepared.username.clone(),
            auth_key: prepared.master.auth_key()?.to_text().into(),
            totp,
            mfa_recovery_code,
            device_token: device_token.cloned(),
        };
        let resp: LoginResponse = self
            .call(Method::POST, "/auth/login", None, Some(&req))
            .await?;
        let keys = UnlockedKeys::unlock(&prepared.master, &resp.keys)?;
        Ok(LoggedIn {
            tokens: resp.tokens,
            user: resp.user,
            account_keys: resp.keys,
            keys,
            device_token: resp.device_token,
        })
    }

    /// Exchanges a refresh token for new tokens (the old one is spent).
    pub async fn refresh(&self, refresh_token: &SecretString) -> Result<SessionTokens> {
        let req = RefreshRequest {
            refresh_token: refresh_token.clone(),
        };
        self.call(Method::POST, "/auth/refresh", None, Some(&req))
            .await
    }

    /// Ends this session.
    pub async fn logout(&self, access: &SecretString) -> Result<()> {
        self.call_empty::<()>(Method::POST, "/auth/logout", Some(access), None)
            .await
    }

    /// Ends every session of the account.
    pub async fn logout_all(&self, access: &SecretString) -> Result<()> {
        self.call_empty::<()>(Method::POST, "/auth/logout-all", Some(access), None)
            .await
    }

    /// Who the token belongs to.
    pub async fn whoami(&self, access: &SecretString) -> Result<WhoAmI> {
        self.call::<(), _>(Method::GET, "/auth/whoami", Some(access), None)
            .await
    }
}

pub(crate) async fn api_error(resp: reqwest::Response) -> ClientError {
    let status = resp.status();
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let text = resp.text().await.unwrap_or_default();
    match serde_json::from_str::<ErrorBody>(&text) {
        Ok(body) => ClientError::Api {
            status: status.as_u16(),
            code: body.error.code,
            message: body.error.message,
            retry_after,
        },
        Err(_) => ClientError::Api {
            status: status.as_u16(),
            code: if status == StatusCode::NOT_FOUND {
                ErrorCode::NotFound
            } else {
                ErrorCode::Unknown
            },
            message: format!("unexpected answer from the server (HTTP {status})"),
            retry_after,
        },
    }
}
