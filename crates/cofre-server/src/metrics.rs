//! Operational metrics: what the server counts so that operators see attacks and
//! overload, and `GET /metrics`, which serves the counts in the OpenMetrics text format
//! that Prometheus scrapes. `docs/METRICS.md` lists every metric.
//!
//! Each server instance owns its own [`Metrics`] (one registry per [`AppState`]), so
//! several servers in one process never mix their counts. Other code records with one
//! call on `app.metrics` ([`Metrics::throttled`], [`Metrics::disk_full`],
//! [`Metrics::upload_started`]); HTTP requests, logins and registrations are counted by
//! [`track`] from the responses, audit events by [`AppState::audit`].
//!
//! No label value is request data: routes are the router's templates
//! (`/api/v1/items/{id}`), never the path; methods outside the standard ones are
//! `other`; reasons and outcomes are constants of the code. No username, address, token
//! or id ever becomes a label.
//!
//! Access is never open by default: on the main listener `/metrics` needs the bearer
//! token of [`ServerConfig::metrics_token`](crate::config::ServerConfig::metrics_token)
//! and answers 404 when none is set; a separate listener
//! ([`ServerConfig::metrics_listen`](crate::config::ServerConfig::metrics_listen))
//! serves it to whoever reaches that address (and also asks for the token when one is
//! set).

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cofre_api::ErrorCode;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::error::ApiError;
use crate::state::AppState;

/// The content type of the exposition (Prometheus asks for and parses it).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The route label of a request that matched no route (the raw path never is one).
const UNMATCHED: &str = "unmatched";

/// Upper bounds of the request-duration buckets, in seconds.
const DURATION_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// One server instance's metrics (shared through [`AppState::metrics`]).
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    http_requests: Family<RequestLabels, Counter>,
    http_duration: Family<DurationLabels, Histogram, fn() -> Histogram>,
    logins: Family<Outcome, Counter>,
    registrations: Family<Outcome, Counter>,
    throttled: Family<Reason, Counter>,
    audit_events: Family<AuditLabels, Counter>,
    uploads_in_flight: Gauge,
    upload_bytes: Counter,
    upload_parts: Family<Outcome, Counter>,
    hash_waiting: Gauge,
    hash_busy: Gauge,
    hash_threads: Gauge,
    disk_full: Family<PathKind, Counter>,
    db_connections: Family<ConnState, Gauge>,
    db_max_connections: Gauge,
    listen_addr: OnceLock<SocketAddr>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: &'static str,
    status: u16,
    code: Code,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DurationLabels {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Reason {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PathKind {
    path: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConnState {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AuditLabels {
    event: String,
    outcome: String,
}

/// The API error code of a response, as a label (empty for a success).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
struct Code(Option<ErrorCode>);

impl EncodeLabelValue for Code {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        use std::fmt::Write as _;
        let Some(code) = self.0 else {
            return Ok(());
        };
        match serde_json::to_value(code) {
            Ok(serde_json::Value::String(s)) => encoder.write_str(&s),
            _ => encoder.write_str("unknown"),
        }
    }
}

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh set of metrics, all at zero, in its own registry.
    pub fn new() -> Self {
        let mut m = Self {
            registry: Registry::with_prefix("cofre"),
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(duration_histogram as fn() -> Histogram),
            logins: Family::default(),
            registrations: Family::default(),
            throttled: Family::default(),
            audit_events: Family::default(),
            uploads_in_flight: Gauge::default(),
            upload_bytes: Counter::default(),
            upload_parts: Family::default(),
            hash_waiting: Gauge::default(),
            hash_busy: Gauge::default(),
            hash_threads: Gauge::default(),
            disk_full: Family::default(),
            db_connections: Family::default(),
            db_max_connections: Gauge::default(),
            listen_addr: OnceLock::new(),
        };
        let r = &mut m.registry;
        r.register(
            "http_requests",
            "HTTP requests answered, by route template, method, status and API error code",
            m.http_requests.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            "Time from a request's arrival to its response head, by route template, method and status",
            m.http_duration.clone(),
        );
        r.register(
            "logins",
            "Login attempts by outcome (ok, bad_credentials, mfa_required, throttled, locked, invalid, unavailable, error)",
            m.logins.clone(),
        );
        r.register(
            "registrations",
            "Registration attempts by outcome (ok, taken, denied, throttled, invalid, unavailable, error)",
            m.registrations.clone(),
        );
        r.register(
            "throttled",
            "Requests refused by a rate limit or lockout, by the limit that refused them",
            m.throttled.clone(),
        );
        r.register(
            "audit_events",
            "Security events written to the audit log, by event and outcome",
            m.audit_events.clone(),
        );
        r.register(
            "uploads_in_flight",
            "Upload parts being written right now",
            m.uploads_in_flight.clone(),
        );
        r.register(
            "upload_bytes",
            "Encoded item bytes stored by upload parts",
            m.upload_bytes.clone(),
        );
        r.register(
            "upload_parts",
            "Upload parts by outcome (ok, failed)",
            m.upload_parts.clone(),
        );
        r.register(
            "hash_queue_waiting",
            "Password checks (bcrypt jobs) waiting for a hashing thread",
            m.hash_waiting.clone(),
        );
        r.register(
            "hash_threads_busy",
            "Hashing threads computing bcrypt right now",
            m.hash_busy.clone(),
        );
        r.register(
            "hash_threads",
            "Hashing threads in the pool",
            m.hash_threads.clone(),
        );
        r.register(
            "disk_full",
            "Writes refused because a file system was full, by what was written (database, blobs, ...)",
            m.disk_full.clone(),
        );
        r.register(
            "db_pool_connections",
            "Database pool connections by state (idle, in_use)",
            m.db_connections.clone(),
        );
        r.register(
            "db_pool_max_connections",
            "Largest number of connections the database pool opens",
            m.db_max_connections.clone(),
        );
        m
    }

    /// Counts a request refused by a rate limit or a lockout. `reason` names the limit
    /// (`login`, `account`, `address`, `registration`, `prelogin`, ...); a constant,
    /// never request data.
    pub fn throttled(&self, reason: &'static str) {
        self.throttled.get_or_create(&Reason { reason }).inc();
    }

    /// Counts a write refused because a file system was full. `path` says what was
    /// being written (`database`, `blobs`, `backups`, ...); a constant, never a path an
    /// attacker chose.
    pub fn disk_full(&self, path: &'static str) {
        self.disk_full.get_or_create(&PathKind { path }).inc();
    }

    /// Counts a login attempt's outcome (also counted by [`track`] from the login
    /// route's responses: call this only for logins answered elsewhere).
    pub fn login(&self, outcome: &'static str) {
        self.logins.get_or_create(&Outcome { outcome }).inc();
    }

    /// Counts a registration's outcome (also counted by [`track`] from the register
    /// route's responses: call this only for registrations answered elsewhere).
    pub fn registration(&self, outcome: &'static str) {
        self.registrations.get_or_create(&Outcome { outcome }).inc();
    }

    /// Counts an audit event (called by [`AppState::audit`] for every event). Event
    /// names and outcomes are constants of the code; anything else is counted as
    /// `other`, so that a label can never carry request data.
    pub fn audit(&self, event: &str, outcome: &str) {
        self.audit_events
            .get_or_create(&AuditLabels {
                event: label_word(event),
                outcome: label_word(outcome),
            })
            .inc();
    }

    /// An upload part starts being written: counted in flight until the returned guard
    /// is dropped; [`Upload::finished`] adds its bytes.
    pub fn upload_started(&self) -> Upload<'_> {
        self.uploads_in_flight.inc();
        Upload {
            metrics: self,
            finished: false,
        }
    }

    /// The address the separate metrics listener is bound to, once bound.
    pub fn listen_addr(&self) -> Option<SocketAddr> {
        self.listen_addr.get().copied()
    }

    /// Counts one answered request.
    fn request(
        &self,
        route: String,
        method: &'static str,
        status: StatusCode,
        code: Option<ErrorCode>,
        took: Duration,
    ) {
        let status = status.as_u16();
        self.http_duration
            .get_or_create(&DurationLabels {
                route: route.clone(),
                method,
                status,
            })
            .observe(took.as_secs_f64());
        self.http_requests
            .get_or_create(&RequestLabels {
                route,
                method,
                status,
                code: Code(code),
            })
            .inc();
    }
}

/// An upload part being written (see [`Metrics::upload_started`]). Dropped without
/// [`Upload::finished`], the part counts as failed.
#[derive(Debug)]
#[must_use = "the upload counts as in flight until this is dropped"]
pub struct Upload<'a> {
    metrics: &'a Metrics,
    finished: bool,
}

impl Upload<'_> {
    /// The part was stored: `bytes` new encoded bytes.
    pub fn finished(mut self, bytes: u64) {
        self.metrics.upload_bytes.inc_by(bytes);
        self.metrics
            .upload_parts
            .get_or_create(&Outcome { outcome: "ok" })
            .inc();
        self.finished = true;
    }
}

impl Drop for Upload<'_> {
    fn drop(&mut self) {
        self.metrics.uploads_in_flight.dec();
        if !self.finished {
            self.metrics
                .upload_parts
                .get_or_create(&Outcome { outcome: "failed" })
                .inc();
        }
    }
}

/// `s` if it is a short word of `a-z 0-9 . _ -` (every event and outcome the code
/// writes), else `other`.
fn label_word(s: &str) -> String {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok { s.to_owned() } else { "other".to_owned() }
}

/// The method as a label: the standard ones by name, any other `other`.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// A login's outcome, from the login route's response.
fn login_outcome(status: StatusCode, code: Option<ErrorCode>) -> &'static str {
    match code {
        None if status.is_success() => "ok",
        Some(ErrorCode::InvalidCredentials) => "bad_credentials",
        Some(ErrorCode::MfaRequired) => "mfa_required",
        Some(ErrorCode::TooManyRequests) => "throttled",
        Some(ErrorCode::AccountLocked) => "locked",
        _ => other_outcome(status),
    }
}

/// A registration's outcome, from the register route's response.
fn registration_outcome(status: StatusCode, code: Option<ErrorCode>) -> &'static str {
    match code {
        None if status.is_success() => "ok",
        Some(ErrorCode::UsernameTaken) => "taken",
        Some(ErrorCode::RegistrationClosed) => "denied",
        Some(ErrorCode::TooManyRequests) => "throttled",
        _ => other_outcome(status),
    }
}

fn other_outcome(status: StatusCode) -> &'static str {
    if status == StatusCode::SERVICE_UNAVAILABLE {
        "unavailable"
    } else if status.is_server_error() {
        "error"
    } else {
        "invalid"
    }
}

/// The middleware counting every request by route template (see the module
/// documentation), and logins and registrations by outcome. The API error code comes
/// from the response's extensions ([`ApiError`] puts it there).
pub async fn track(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str)
        .to_owned();
    let method = method_label(req.method());
    let resp = next.run(req).await;
    let status = resp.status();
    let code = resp.extensions().get::<ErrorCode>().copied();
    if let Some(what) = route.strip_prefix(cofre_api::PREFIX) {
        match what {
            "/auth/login" => app.metrics.login(login_outcome(status, code)),
            "/auth/register" => app.metrics.registration(registration_outcome(status, code)),
            _ => {}
        }
    }
    app.metrics
        .request(route, method, status, code, started.elapsed());
    resp
}

/// The text exposition of `app`'s metrics, reading the gauges that are sampled at
/// scrape time (hashing pool, database pool) first.
pub fn render(app: &AppState) -> Result<String, std::fmt::Error> {
    let m = &app.metrics;
    let gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    m.hash_waiting.set(gauge(app.hasher.queued()));
    m.hash_busy.set(gauge(app.hasher.busy()));
    m.hash_threads.set(gauge(app.hasher.threads()));
    let pool = app.store.pool();
    let size = usize::try_from(pool.size()).unwrap_or(usize::MAX);
    let idle = pool.num_idle();
    m.db_connections
        .get_or_create(&ConnState { state: "idle" })
        .set(gauge(idle));
    m.db_connections
        .get_or_create(&ConnState { state: "in_use" })
        .set(gauge(size.saturating_sub(idle)));
    m.db_max_connections
        .set(i64::from(pool.options().get_max_connections()));
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &m.registry)?;
    Ok(out)
}

/// `/metrics` on the main listener (merged into [`crate::app::router`]): only with
/// the bearer token, and not served at all (404) when no token is set.
pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(on_main_listener))
}

async fn on_main_listener(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if app.config.metrics_token.is_none() {
        return Err(ApiError::NotFound);
    }
    exposition(&app, &headers)
}

async fn on_own_listener(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    exposition(&app, &headers)
}

/// The exposition, after the token check when a token is set.
fn exposition(app: &AppState, headers: &HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) = &app.config.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !cofre_core::primitives::digest::constant_time_eq(
            given.as_bytes(),
            token.expose().as_bytes(),
        ) {
            return Err(ApiError::Unauthorized);
        }
    }
    let body = render(app).map_err(ApiError::internal)?;
    Ok((
        [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
        body,
    )
        .into_response())
}

/// Binds the separate metrics listener when the settings name one, and serves
/// `/metrics` on it (plain HTTP) until the returned task is aborted.
pub async fn spawn_listener(
    state: &AppState,
) -> std::io::Result<Option<tokio::task::JoinHandle<()>>> {
    let Some(addr) = state.config.metrics_listen else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("metrics listener on {addr}: {e}")))?;
    let bound = listener.local_addr()?;
    if !bound.ip().is_loopback() && state.config.metrics_token.is_none() {
        tracing::warn!(
            %bound,
            "the metrics listener is on a non-loopback address without a token: whoever reaches it reads the metrics"
        );
    }
    let _ = state.metrics.listen_addr.set(bound);
    let app = Router::new()
        .route("/metrics", get(on_own_listener))
        .fallback(|| async { ApiError::NotFound })
        .with_state(state.clone());
    tracing::info!(addr = %bound, "metrics listening");
    Ok(Some(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "metrics listener failed");
        }
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_never_carry_request_data() {
        assert_eq!(label_word("login"), "login");
        assert_eq!(label_word("admin.mfa_reset"), "admin.mfa_reset");
        for bad in ["alice@example", "Alice", "", "a b", &"x".repeat(65), "é"] {
            assert_eq!(label_word(bad), "other", "{bad:?}");
        }
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(
            method_label(&Method::from_bytes(b"SECRETVERB").unwrap()),
            "other"
        );
    }

    #[test]
    fn outcomes_follow_the_error_codes() {
        let unauthorized = StatusCode::UNAUTHORIZED;
        assert_eq!(login_outcome(StatusCode::OK, None), "ok");
        assert_eq!(
            login_outcome(unauthorized, Some(ErrorCode::InvalidCredentials)),
            "bad_credentials"
        );
        assert_eq!(
            login_outcome(unauthorized, Some(ErrorCode::MfaRequired)),
            "mfa_required"
        );
        assert_eq!(
            login_outcome(
                StatusCode::TOO_MANY_REQUESTS,
                Some(ErrorCode::TooManyRequests)
            ),
            "throttled"
        );
        assert_eq!(
            login_outcome(StatusCode::FORBIDDEN, Some(ErrorCode::AccountLocked)),
            "locked"
        );
        assert_eq!(
            login_outcome(StatusCode::BAD_REQUEST, Some(ErrorCode::BadRequest)),
            "invalid"
        );
        assert_eq!(
            registration_outcome(StatusCode::CONFLICT, Some(ErrorCode::UsernameTaken)),
            "taken"
        );
        assert_eq!(
            registration_outcome(
                StatusCode::SERVICE_UNAVAILABLE,
                Some(ErrorCode::Unavailable)
            ),
            "unavailable"
        );
    }

    #[test]
    fn two_instances_count_separately_and_render() {
        let a = Metrics::new();
        let b = Metrics::new();
        a.throttled("login");
        a.throttled("login");
        b.disk_full("blobs");
        {
            let up = a.upload_started();
            up.finished(10);
        }
        drop(a.upload_started());
        let text = |m: &Metrics| {
            let mut s = String::new();
            prometheus_client::encoding::text::encode(&mut s, &m.registry).unwrap();
            s
        };
        let (ta, tb) = (text(&a), text(&b));
        assert!(
            ta.contains("cofre_throttled_total{reason=\"login\"} 2"),
            "{ta}"
        );
        assert!(!tb.contains("cofre_throttled_total{"), "{tb}");
        assert!(
            tb.contains("cofre_disk_full_total{path=\"blobs\"} 1"),
            "{tb}"
        );
        assert!(ta.contains("cofre_upload_bytes_total 10"), "{ta}");
        assert!(ta.contains("cofre_uploads_in_flight 0"), "{ta}");
        assert!(
            ta.contains("cofre_upload_parts_total{outcome=\"failed\"} 1"),
            "{ta}"
        );
    }
}
