//! Registration, prelogin, login, token refresh, logout, whoami, JWKS and the public
//! policy.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use cofre_api::Username;
use cofre_api::auth::{
    JwkSet, LoginRequest, LoginResponse, Policy, PreloginRequest, PreloginResponse, RefreshRequest,
    RegisterRequest, RegisterResponse, SessionTokens, UserInfo, WhoAmI,
};
use cofre_api::{Role, SecretString};
use cofre_core::keys::AuthKey;
use cofre_core::totp::TotpSecret;

use crate::audit::Event;
use crate::auth::EnrollingSession;
use crate::auth::password::Priority;
use crate::auth::tokens::{random_id, random_token, token_hash};
use crate::error::{ApiError, ApiJson};
use crate::state::{AppState, ClientAddr};
use crate::store::sessions::Session;
use crate::store::users::{CreateUserError, NewUser, User};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/policy", get(policy))
        .route("/auth/jwks", get(jwks))
        .route("/auth/prelogin", post(prelogin))
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
        .route("/auth/logout-all", post(logout_all))
        .route("/auth/whoami", get(whoami))
}

#[utoipa::path(
    get,
    path = "/api/v1/policy",
    tag = "auth",
    summary = "The server's password, registration and MFA policy",
    responses((status = 200, description = "OK", body = Policy), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
)]
pub(crate) async fn policy(State(app): State<AppState>) -> Result<Json<Policy>, ApiError> {
    let c = &app.config;
    Ok(Json(Policy {
        password_min_length: c.password_min_length,
        password_min_score: c.password_min_score,
        open_registration: c.open_registration,
        mfa_required: app.store.mfa_required().await?,
        // The first account never needs an invite (see `register`).
        invite_required: !c.open_registration && app.store.count_users().await? > 0,
        kdf: c.kdf.clone(),
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/auth/jwks",
    tag = "auth",
    summary = "The token-signing public keys",
    responses((status = 200, description = "OK", body = JwkSet), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
)]
pub(crate) async fn jwks(State(app): State<AppState>) -> Json<JwkSet> {
    Json(app.tokens.jwks())
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/prelogin",
    tag = "auth",
    summary = "KDF salt and parameters for a username",
    request_body = PreloginRequest,
    responses((status = 200, description = "OK", body = PreloginResponse), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
)]
pub(crate) async fn prelogin(
    State(app): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<PreloginRequest>,
) -> Result<Json<PreloginResponse>, ApiError> {
    admit(&app, &app.anonymous_limits.prelogin, "prelogin", &addr)?;
    // An invalid username answers like an unknown one: no account can have it.
    let name = login_name(&req.username);
    let user = app.store.user_by_name(&name).await?;
    Ok(Json(match user {
        Some(u) => PreloginResponse {
            kdf: u.keys.kdf.clone(),
            salt: u.keys.salt,
        },
        // Parameters some accounts really use, drawn per name (auth/fake_kdf.rs).
        None => PreloginResponse {
            kdf: app
                .kdf_mix
                .for_unknown(&app.store, &app.keys.secret, &name, &app.config.kdf)
                .await?,
            salt: app.keys.secret.fake_salt(&name),
        },
    }))
}

/// Takes a token from `limiter` for the client address, or refuses the request (429,
/// `Retry-After`).
fn admit(
    app: &AppState,
    limiter: &crate::auth::rate_limit::RateLimiter,
    reason: &'static str,
    addr: &str,
) -> Result<(), ApiError> {
    limiter.check(addr).map_err(|secs| {
        app.metrics.throttled(reason);
        ApiError::RateLimited {
            retry_after: i64::try_from(secs).unwrap_or(i64::MAX),
        }
    })
}

/// The name a login attempt is counted, throttled and audited under: the normalized
/// username, or for a string that cannot be a username, a short fixed-size stand-in (so
/// a huge or odd "username" costs no storage and no account can match it).
pub(crate) fn login_name(raw: &str) -> String {
    match Username::parse(raw) {
        Ok(u) => u.as_str().to_owned(),
        Err(_) => {
            let h = cofre_core::primitives::digest::sha256(&[raw.as_bytes()]);
            format!(
                "invalid:{}",
                data_encoding::HEXLOWER.encode(h.get(..8).unwrap_or(&h))
            )
        }
    }
}

/// Checks that a text is a well-formed auth key (so garbage is a 400, not a hash).
fn auth_key_text(text: &str, field: &str) -> Result<(), ApiError> {
    AuthKey::from_text(text)
        .map(drop)
        .map_err(|_| ApiError::BadRequest(format!("{field} is not a valid auth key")))
}

/// Checks a registration request; returns the normalized username.
pub fn check_registration(req: &RegisterRequest) -> Result<Username, ApiError> {
    let username =
        Username::parse(&req.username).map_err(|e| ApiError::InvalidUsername(e.to_string()))?;
    auth_key_text(req.auth_key.expose(), "auth_key")?;
    auth_key_text(req.recovery_auth_key.expose(), "recovery_auth_key")?;
    req.keys
        .kdf
        .validate()
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if req.keys.public_key.bits() != 3072 {
        return Err(ApiError::BadRequest(
            "the public key must be RSA-3072".into(),
        ));
    }
    Ok(username)
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/register",
    tag = "auth",
    summary = "Create an account",
    request_body = RegisterRequest,
    responses((status = 200, description = "OK", body = RegisterResponse), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
)]
pub(crate) async fn register(
    State(app): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> Result<Json<RegisterResponse>, ApiError> {
    // Every attempt counts, whatever its answer: this bounds probing for taken names.
    admit(
        &app,
        &app.anonymous_limits.registration,
        "registration",
        &addr,
    )?;
    let username = check_registration(&req)?;
    let now = crate::clock::now();
    let first = app.store.count_users().await? == 0;
    let invite = (!first && !app.config.open_registration)
        .then(|| req.invite.as_ref().map(|t| token_hash(t.expose())));
    // Without a valid invite, the same 403 for every name: nothing about the name
    // is said before the invite is known good.
    if let Some(invite) = &invite {
        let valid = match invite {
            Some(hash) => app.store.invite_usable(hash, now).await?,
            None => false,
        };
        if !valid {
            return Err(registration_denied(&app, &username, &addr).await);
        }
    }
    // A taken name is refused before an invite is spent on it.
    if app.store.user_by_name(username.as_str()).await?.is_some() {
        return Err(ApiError::UsernameTaken);
    }
    // Spent here, atomically (another registration may have used it meanwhile).
    if let Some(Some(hash)) = &invite
        && !app.store.use_invite(hash, username.as_str(), now).await?
    {
        return Err(registration_denied(&app, &username, &addr).await);
    }
    // The role is decided in the insert itself (first account: admin), not from the
    // count above, so two concurrent first registrations cannot both become admin.
    Ok(Json(
        create_account(&app, &username, &req, None, &addr).await?,
    ))
}

/// Audits a registration refused for want of a valid invite; the answer to send.
async fn registration_denied(app: &AppState, username: &Username, addr: &str) -> ApiError {
    app.audit(Event {
        event: "register",
        subject: Some(username.as_str()),
        address: Some(addr),
        outcome: "denied",
        ..Event::default()
    })
    .await;
    ApiError::RegistrationClosed
}

/// Stores a new account whose request was already checked (username parsed, keys
/// validated): bcrypt of both auth keys, the key material, the role; audits it. Used by
/// registration and by `cofre server create-admin`.
pub async fn create_account(
    app: &AppState,
    username: &Username,
    req: &RegisterRequest,
    role: Option<Role>,
    addr: &str,
) -> Result<RegisterResponse, ApiError> {
    let now = crate::clock::now();
    // Through the registration lane: new accounts never starve logins of bcrypt.
    let (auth_hash, recovery_hash) = app
        .hasher
        .hash_new_account(req.auth_key.expose(), req.recovery_auth_key.expose())
        .await?;
    let id = random_id().map_err(ApiError::internal)?;
    let created = app
        .store
        .create_user(
            &NewUser {
                id: &id,
                username: username.as_str(),
                auth_hash: &auth_hash,
                recovery_hash: &recovery_hash,
                keys: &req.keys,
                role,
            },
            now,
        )
        .await;
    let role = match created {
        Ok(role) => role,
        Err(CreateUserError::Taken) => return Err(ApiError::UsernameTaken),
        Err(CreateUserError::Store(e)) => return Err(e.into()),
    };
    app.audit(Event {
        event: "register",
        actor: Some(&id),
        subject: Some(username.as_str()),
        address: Some(addr),
        outcome: "ok",
    })
    .await;
    Ok(RegisterResponse {
        user_id: id,
        username: username.as_str().to_owned(),
        role,
    })
}

/// Opens a user's TOTP secret sealed at rest.
pub(crate) fn open_totp(
    app: &AppState,
    user_id: &str,
    sealed: &str,
) -> Result<TotpSecret, ApiError> {
    let sealed = cofre_core::format::SealedBox::from_text(sealed).map_err(ApiError::internal)?;
    let raw = sealed
        .open(&app.keys.at_rest, &totp_context(user_id))
        .map_err(ApiError::internal)?;
    TotpSecret::from_bytes(&raw).map_err(ApiError::internal)
}

/// The context a TOTP secret is sealed under: binds it to its account.
pub(crate) fn totp_context(user_id: &str) -> Vec<u8> {
    let mut c = b"cofre/v1/server/totp-secret/".to_vec();
    c.extend_from_slice(user_id.as_bytes());
    c
}

/// Checks the second factor of a login. `Ok(true)`: passed or not needed.
async fn second_factor(
    app: &AppState,
    user: &User,
    req: &LoginRequest,
    now: i64,
) -> Result<bool, ApiError> {
    let Some(totp) = app.store.totp(&user.id).await?.filter(|t| t.enabled) else {
        return Ok(true);
    };
    if let Some(code) = &req.totp {
        let secret = open_totp(app, &user.id, &totp.secret_sealed)?;
        let step = secret
            .verify(code.expose(), u64::try_from(now).unwrap_or(0))
            .map_err(ApiError::internal)?;
        return Ok(match step.and_then(|s| i64::try_from(s).ok()) {
            Some(step) => app.store.use_totp_step(&user.id, step).await?,
            None => false,
        });
    }
    if let Some(code) = &req.mfa_recovery_code {
        let tag = recovery_code_tag(app, &user.id, code.expose());
        return Ok(app.store.use_recovery_code(&user.id, &tag, now).await?);
    }
    Err(ApiError::MfaRequired)
}

/// The stored tag of a recovery code (normalized: case, spaces and dashes ignored).
pub(crate) fn recovery_code_tag(app: &AppState, user_id: &str, code: &str) -> String {
    let norm: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    data_encoding::HEXLOWER.encode(&app.keys.secret.recovery_code_tag(user_id, &norm))
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "auth",
    summary = "Start a session",
    request_body = LoginRequest,
    responses((status = 200, description = "OK", body = LoginResponse), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
)]
pub(crate) async fn login(
    State(app): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let now = crate::clock::now();
    let name = login_name(&req.username);
    let user = app.store.user_by_name(&name).await?;
    // A device token counts only for the account it was issued to.
    let device = user.as_ref().and_then(|u| {
        let token = req.device_token.as_ref()?;
        crate::auth::device::verify(&app.keys.secret, &u.id, token.expose())
    });
    // The attempt is paid for before any credential is looked at: concurrent guesses
    // cannot all pass a check made before the first one fails.
    let keys = app.throttle.login(&name, &addr, device.as_deref());
    let reservation = match app.throttle.reserve(&app.store, keys).await? {
        Ok(r) => r,
        Err(throttled) => {
            app.audit(Event {
                event: "login",
                subject: Some(&name),
                address: Some(&addr),
                outcome: "throttled",
                ..Event::default()
            })
            .await;
            return Err(throttled.into());
        }
    };
    // Malformed auth keys are checked against the dummy hash too: same work, same answer.
    let well_formed = AuthKey::from_text(req.auth_key.expose()).is_ok();
    let hash = user
        .as_ref()
        .filter(|_| well_formed)
        .map(|u| u.auth_hash.as_str());
    // A returning device's login is started before anyone else's (see Priority).
    let priority = match device {
        Some(_) => Priority::Trusted,
        None => Priority::Login,
    };
    let password_ok = app
        .hasher
        .verify(req.auth_key.expose(), hash, priority)
        .await?;
    let user = match (password_ok, user) {
        // An admin-locked account answers the same whether the password was right or
        // not (and keeps the attempt spent either way), so the lock is no oracle.
        (_, Some(u)) if u.locked => {
            app.audit(Event {
                event: "login",
                actor: Some(&u.id),
                subject: Some(&name),
                address: Some(&addr),
                outcome: "locked",
            })
            .await;
            return Err(ApiError::AccountLocked);
        }
        (true, Some(u)) => u,
        _ => return Err(login_failed(&app, &name, &addr).await),
    };
    match second_factor(&app, &user, &req, now).await {
        Ok(true) => {}
        Ok(false) => return Err(login_failed(&app, &name, &addr).await),
        Err(ApiError::MfaRequired) => {
            // The password was right; the client asks for a code and tries again.
            app.throttle.refund(&app.store, reservation).await?;
            return Err(ApiError::MfaRequired);
        }
        Err(e) => return Err(e),
    }
    app.throttle.refund(&app.store, reservation).await?;
    let device_token = match (&device, &req.device_token) {
        (Some(_), Some(t)) => t.clone(),
        _ => crate::auth::device::issue(&app.keys.secret, &user.id)
            .map_err(ApiError::internal)?
            .into(),
    };
    let tokens = new_session(&app, &user, &addr, now).await?;
    app.audit(Event {
        event: "login",
        actor: Some(&user.id),
        subject: Some(&name),
        address: Some(&addr),
        outcome: "ok",
    })
    .await;
    let mfa_enabled = app.store.totp(&user.id).await?.is_some_and(|t| t.enabled);
    Ok(Json(LoginResponse {
        tokens,
        user: UserInfo {
            user_id: user.id.clone(),
            username: user.username.clone(),
            role: user.role,
            mfa_enabled,
        },
        keys: user.keys,
        device_token: Some(device_token),
    }))
}

/// A wrong credential: the attempt stays spent; audited.
async fn login_failed(app: &AppState, name: &str, addr: &str) -> ApiError {
    app.audit(Event {
        event: "login",
        subject: Some(name),
        address: Some(addr),
        outcome: "failed",
        ..Event::default()
    })
    .await;
    ApiError::InvalidCredentials
}

/// Starts a session: its first refresh token and an access token.
pub(crate) async fn new_session(
    app: &AppState,
    user: &User,
    addr: &str,
    now: i64,
) -> Result<SessionTokens, ApiError> {
    let session = Session {
        id: random_id().map_err(ApiError::internal)?,
        user_id: user.id.clone(),
        expires_at: now + app.config.session_ttl_secs,
        revoked_at: None,
    };
    let refresh = random_token().map_err(ApiError::internal)?;
    app.store
        .create_session(&session, &token_hash(&refresh), Some(addr), now)
        .await?;
    tokens_for(app, user, &session.id, refresh, now)
}

fn tokens_for(
    app: &AppState,
    user: &User,
    session_id: &str,
    refresh: zeroize::Zeroizing<String>,
    now: i64,
) -> Result<SessionTokens, ApiError> {
    let access = app
        .tokens
        .issue(&user.id, session_id, user.role, now)
        .map_err(ApiError::internal)?;
    Ok(SessionTokens {
        access_token: SecretString::new(access),
        token_type: "Bearer".into(),
        expires_in: u64::try_from(app.tokens.ttl()).unwrap_or(0),
        refresh_token: refresh.into(),
        session_id: session_id.to_owned(),
    })
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/refresh",
    tag = "auth",
    summary = "Spend a refresh token for new tokens",
    request_body = RefreshRequest,
    responses((status = 200, description = "OK", body = SessionTokens), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
)]
pub(crate) async fn refresh(
    State(app): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> Result<Json<SessionTokens>, ApiError> {
    let now = crate::clock::now();
    let old = token_hash(req.refresh_token.expose());
    let row = app
        .store
        .refresh_token(&old)
        .await?
        .ok_or(ApiError::InvalidRefreshToken)?;
    let session = row.session;
    if session.revoked_at.is_some() || session.expires_at <= now {
        return Err(ApiError::InvalidRefreshToken);
    }
    if row.used_at.is_some() {
        return Err(refresh_reuse(&app, &session, &addr, now).await);
    }
    let user = app
        .store
        .user_by_id(&session.user_id)
        .await?
        .ok_or(ApiError::InvalidRefreshToken)?;
    if user.locked {
        return Err(ApiError::AccountLocked);
    }
    let new = random_token().map_err(ApiError::internal)?;
    if !app
        .store
        .rotate_refresh_token(&session.id, &old, &token_hash(&new), now)
        .await?
    {
        // Another request used this token between our read and our write.
        return Err(refresh_reuse(&app, &session, &addr, now).await);
    }
    Ok(Json(tokens_for(&app, &user, &session.id, new, now)?))
}

/// A used refresh token came back: someone holds a copy. Revoke the whole session.
async fn refresh_reuse(app: &AppState, session: &Session, addr: &str, now: i64) -> ApiError {
    if let Err(e) = app
        .store
        .revoke_session(&session.id, "refresh_token_reuse", now)
        .await
    {
        return e.into();
    }
    app.audit(Event {
        event: "session.refresh_reuse",
        actor: Some(&session.user_id),
        subject: Some(&session.id),
        address: Some(addr),
        outcome: "revoked",
    })
    .await;
    ApiError::InvalidRefreshToken
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "auth",
    summary = "End this session",
    responses((status = 204, description = "Done"), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn logout(
    State(app): State<AppState>,
    EnrollingSession(s): EnrollingSession,
) -> Result<axum::http::StatusCode, ApiError> {
    app.store
        .revoke_session(&s.session_id, "logout", crate::clock::now())
        .await?;
    app.audit(Event {
        event: "logout",
        actor: Some(&s.user.id),
        subject: Some(&s.session_id),
        address: Some(&s.address),
        outcome: "ok",
    })
    .await;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/logout-all",
    tag = "auth",
    summary = "End every session of the account",
    responses((status = 204, description = "Done"), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn logout_all(
    State(app): State<AppState>,
    EnrollingSession(s): EnrollingSession,
) -> Result<axum::http::StatusCode, ApiError> {
    app.store
        .revoke_user_sessions(&s.user.id, None, "logout_all", crate::clock::now())
        .await?;
    app.audit_self(&s, "logout.all", "ok").await;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/api/v1/auth/whoami",
    tag = "auth",
    summary = "The account and session of the token",
    responses((status = 200, description = "OK", body = WhoAmI), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn whoami(EnrollingSession(s): EnrollingSession) -> Json<WhoAmI> {
    Json(WhoAmI {
        user: UserInfo {
            user_id: s.user.id,
            username: s.user.username,
            role: s.user.role,
            mfa_enabled: s.mfa_enabled,
        },
        session_id: s.session_id,
    })
}
