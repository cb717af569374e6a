//! How a failed command ends: the error is classified once, at the binary boundary, into
//! a [`Failure`] kind (from the typed errors in its chain: [`ClientError`], the API's
//! [`ErrorCode`], the agent's errors, I/O errors, and this binary's own [`Problem`]s),
//! which gives the exit status scripts can test and the next step printed for people.
//! Errors are printed here (never by `main` returning them, which would print a
//! backtrace when `RUST_BACKTRACE` is set): a plain message by default, the stable code
//! and the causes with `-v`, and one JSON object on standard error when the command was
//! given `--json`.
//!
//! A closed standard output (`cofre cat big | head`) is not a failure: the command stops
//! quietly with status 0.

use cofre_client::ClientError;
use cofre_client::agent::AgentError;
use cofre_client::api::ErrorCode;

/// What kind of failure ended a command; each has its own exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Anything not listed below (status 1).
    Generic,
    /// The command line or an input was refused before anything was done: a bad
    /// argument, a malformed code, an invalid username, a weak password (status 2, as
    /// clap's own usage errors).
    Usage,
    /// Not logged in, locked, or the session ended: run `cofre login` (status 3).
    NotLoggedIn,
    /// A password, one-time code or recovery key was wrong, or the account is locked
    /// (status 4).
    AuthFailed,
    /// No such item, user or file (status 5).
    NotFound,
    /// Data failed its integrity check: damaged or tampered with (status 6).
    Integrity,
    /// The storage quota, the server's disk or the local disk is full (status 7).
    NoSpace,
    /// The server could not be reached, failed (5xx) or asked to slow down: retry later
    /// (status 8).
    Unavailable,
}

impl Failure {
    /// The process exit status.
    pub fn exit_code(self) -> i32 {
        match self {
            Self::Generic => 1,
            Self::Usage => 2,
            Self::NotLoggedIn => 3,
            Self::AuthFailed => 4,
            Self::NotFound => 5,
            Self::Integrity => 6,
            Self::NoSpace => 7,
            Self::Unavailable => 8,
        }
    }

    /// The stable name used as the error code when no server code applies.
    pub fn name(self) -> &'static str {
        match self {
            Self::Generic => "error",
            Self::Usage => "usage",
            Self::NotLoggedIn => "not_logged_in",
            Self::AuthFailed => "authentication_failed",
            Self::NotFound => "not_found",
            Self::Integrity => "integrity",
            Self::NoSpace => "no_space",
            Self::Unavailable => "unavailable",
        }
    }

    /// The kind of an API error code (`status` for codes this client does not know).
    pub fn of_code(code: ErrorCode, status: u16) -> Self {
        match code {
            ErrorCode::Unauthorized | ErrorCode::InvalidRefreshToken => Self::NotLoggedIn,
            ErrorCode::InvalidCredentials
            | ErrorCode::MfaRequired
            | ErrorCode::InvalidMfaCode
            | ErrorCode::AccountLocked => Self::AuthFailed,
            ErrorCode::NotFound => Self::NotFound,
            ErrorCode::QuotaExceeded | ErrorCode::ItemTooLarge | ErrorCode::InsufficientStorage => {
                Self::NoSpace
            }
            ErrorCode::Internal
            | ErrorCode::Unavailable
            | ErrorCode::TooManyRequests
            | ErrorCode::RequestTimeout => Self::Unavailable,
            ErrorCode::InvalidUsername => Self::Usage,
            _ if status >= 500 => Self::Unavailable,
            _ => Self::Generic,
        }
    }

    /// The kind of a client library error.
    pub fn of_client(e: &ClientError) -> Self {
        match e {
            ClientError::Api { code, status, .. } => Self::of_code(*code, *status),
            ClientError::Http(_) => Self::Unavailable,
            ClientError::Crypto(c) => match c {
                cofre_client::core::Error::Decrypt
                | cofre_client::core::Error::BadSignature
                | cofre_client::core::Error::KeyMismatch => Self::Integrity,
                cofre_client::core::Error::Io(io) => Self::of_io(io),
                _ => Self::Generic,
            },
            ClientError::WeakPassword(_) | ClientError::Usage(_) => Self::Usage,
            ClientError::WrongCredentials(_) => Self::AuthFailed,
            ClientError::Integrity { .. } => Self::Integrity,
            ClientError::Io(io) | ClientError::Output(io) => Self::of_io(io),
            _ => Self::Generic,
        }
    }

    /// The kind of a local I/O error.
    pub fn of_io(e: &std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => Self::NoSpace,
            std::io::ErrorKind::NotFound => Self::NotFound,
            _ => Self::Generic,
        }
    }
}

/// An error of this binary's own, with its kind (an item that matches nothing, a
/// malformed code, no session...). Its message is shown as is.
#[derive(Debug)]
pub struct Problem {
    /// The kind.
    pub kind: Failure,
    /// What to tell the person, with the next step.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

impl Problem {
    /// A problem of `kind`, as an `anyhow` error.
    pub fn of(kind: Failure, message: impl Into<String>) -> anyhow::Error {
        anyhow::Error::new(Self {
            kind,
            message: message.into(),
        })
    }

    /// Not logged in, or the session ended.
    pub fn not_logged_in(message: impl Into<String>) -> anyhow::Error {
        Self::of(Failure::NotLoggedIn, message)
    }

    /// Nothing matches.
    pub fn not_found(message: impl Into<String>) -> anyhow::Error {
        Self::of(Failure::NotFound, message)
    }

    /// Refused input.
    pub fn usage(message: impl Into<String>) -> anyhow::Error {
        Self::of(Failure::Usage, message)
    }
}

/// Standard output was closed by its reader: stop quietly.
#[derive(Debug)]
pub struct StdoutClosed;

impl std::fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("standard output was closed")
    }
}

impl std::error::Error for StdoutClosed {}

/// Standard output, where a closed pipe (EPIPE) becomes a [`StdoutClosed`] error that
/// ends the command quietly (a broken pipe elsewhere, on a socket, stays an error).
pub struct Stdout(std::io::Stdout);

/// The process's standard output, as a [`Stdout`].
pub fn stdout() -> Stdout {
    Stdout(std::io::stdout())
}

fn closed(e: std::io::Error) -> std::io::Error {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::io::Error::new(std::io::ErrorKind::BrokenPipe, StdoutClosed)
    } else {
        e
    }
}

impl std::io::Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf).map_err(closed)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush().map_err(closed)
    }
}

/// Whether `e` is standard output closing under us.
fn is_stdout_closed(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.is::<StdoutClosed>()
            || io_in(c).is_some_and(|io| io.get_ref().is_some_and(|i| i.is::<StdoutClosed>()))
    })
}

/// The I/O error `c` is or holds directly.
fn io_in<'a>(c: &'a (dyn std::error::Error + 'static)) -> Option<&'a std::io::Error> {
    if let Some(io) = c.downcast_ref::<std::io::Error>() {
        return Some(io);
    }
    match c.downcast_ref::<ClientError>() {
        Some(ClientError::Io(io) | ClientError::Output(io)) => Some(io),
        _ => None,
    }
}

/// What a failure is, for printing and exiting.
#[derive(Debug)]
pub struct Report {
    /// The kind.
    pub kind: Failure,
    /// The server's code, if the server answered one.
    pub code: Option<ErrorCode>,
    /// The message for people, with the next step.
    pub message: String,
    /// The chain of causes, for `-v`.
    pub causes: Vec<String>,
}

/// Classifies `e`: the first typed error in its chain that says what it is decides.
pub fn classify(e: &anyhow::Error) -> Report {
    let mut kind = None;
    let mut code = None;
    let mut parts: Vec<String> = Vec::new();
    let mut causes = Vec::new();
    let mut described = false;
    for c in e.chain() {
        causes.push(c.to_string());
        if described {
            continue;
        }
        if let Some(p) = c.downcast_ref::<Problem>() {
            kind.get_or_insert(p.kind);
            parts.push(p.message.clone());
            described = true;
        } else if let Some(ce) = c.downcast_ref::<ClientError>() {
            kind.get_or_insert(Failure::of_client(ce));
            code = ce.code();
            parts.push(describe_client(ce));
            described = true;
        } else if let Some(ae) = c.downcast_ref::<AgentError>() {
            kind.get_or_insert(match ae {
                AgentError::Unreachable(_) => Failure::Unavailable,
                _ => Failure::NotLoggedIn,
            });
            parts.push(match ae {
                AgentError::NotRunning => "not logged in (or locked): run `cofre login`".into(),
                AgentError::SessionEnded | AgentError::Unreachable(_) => ae.to_string(),
                other => format!("{other}: run `cofre login`"),
            });
            described = true;
        } else if let Some(io) = c.downcast_ref::<std::io::Error>() {
            kind.get_or_insert(Failure::of_io(io));
            parts.push(io.to_string());
            described = true;
        } else if let Some(ue) = c.downcast_ref::<cofre_client::api::username::UsernameError>() {
            kind.get_or_insert(Failure::Usage);
            parts.push(ue.to_string());
            described = true;
        } else {
            parts.push(c.to_string());
        }
    }
    Report {
        kind: kind.unwrap_or(Failure::Generic),
        code,
        message: parts.join(": "),
        causes,
    }
}

/// A client error for people: the server's message without HTTP details, and what to
/// do next.
fn describe_client(e: &ClientError) -> String {
    match e {
        ClientError::Api {
            code,
            message,
            retry_after,
            status,
        } => match code {
            ErrorCode::Unauthorized | ErrorCode::InvalidRefreshToken => {
                "your session ended: run `cofre login`".into()
            }
            ErrorCode::TooManyRequests => match retry_after {
                Some(s) => format!("{message} (retry after {s} s)"),
                None => message.clone(),
            },
            ErrorCode::Forbidden => "not allowed: this needs an administrator account".into(),
            ErrorCode::QuotaExceeded => {
                format!("{message}: delete items (`cofre rm`) or ask an administrator for more")
            }
            ErrorCode::Internal => {
                "the server failed (its log has the details): try again later".into()
            }
            _ if *status >= 500 && *code == ErrorCode::Unknown => {
                format!("the server failed (HTTP {status}): try again later")
            }
            _ => message.clone(),
        },
        ClientError::Http(h) => {
            let what = if h.is_timeout() {
                "it did not answer in time"
            } else if h.is_connect() {
                "no connection"
            } else if h.is_decode() || h.is_body() {
                "its answer was cut or is not the cofre API"
            } else {
                "the request failed"
            };
            let root = std::iter::successors(Some(h as &(dyn std::error::Error + 'static)), |c| {
                c.source()
            })
            .last()
            .map(ToString::to_string)
            .filter(|r| h.is_connect() && !r.is_empty())
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
            let at = h
                .url()
                .map(|u| format!(" at {}", u.origin().ascii_serialization()))
                .unwrap_or_default();
            format!("cannot reach the server{at}: {what}{root}; check --server, or try again later")
        }
        other => other.to_string(),
    }
}

/// Output options that apply to errors.
#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    /// Print the error as JSON.
    pub json: bool,
    /// Show the code and the causes.
    pub verbose: bool,
}

/// Prints `e` as `style` asks and returns the exit status (0 when standard output was
/// closed under us).
pub fn report(e: &anyhow::Error, style: Style) -> i32 {
    if is_stdout_closed(e) {
        return 0;
    }
    let r = classify(e);
    let code = r.code.map_or_else(
        || r.kind.name().to_owned(),
        |c| {
            serde_json::to_value(c)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| r.kind.name().to_owned())
        },
    );
    if style.json {
        let body = serde_json::json!({
            "error": {
                "code": code,
                "kind": r.kind.name(),
                "message": r.message,
                "exit_code": r.kind.exit_code(),
            }
        });
        eprintln!("{body}");
    } else if style.verbose {
        eprintln!("cofre: {} [{code}, exit {}]", r.message, r.kind.exit_code());
        for c in r.causes.iter().skip(1) {
            eprintln!("  caused by: {c}");
        }
    } else {
        eprintln!("cofre: {}", r.message);
    }
    r.kind.exit_code()
}

/// Whether standard error may carry colour and progress bars: it is a terminal, and
/// neither `NO_COLOR` (any non-empty value, <https://no-color.org>) nor `TERM=dumb`
/// asks for plain text.
pub fn decorated_stderr() -> bool {
    use std::io::IsTerminal as _;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
    !no_color && !dumb && std::io::stderr().is_terminal()
}

/// Makes a panic from writing to a closed standard output (`println!` after the reader
/// went away) end the process quietly with status 0, as a returned [`StdoutClosed`]
/// does; every other panic is reported as before.
pub fn quiet_on_closed_stdout() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let text = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        // The standard library's print macros panic with this message.
        if text.starts_with("failed printing to stdout") && text.contains("Broken pipe") {
            std::process::exit(0);
        }
        previous(info);
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_api_codes_map() {
        let all = [
            Failure::Generic,
            Failure::Usage,
            Failure::NotLoggedIn,
            Failure::AuthFailed,
            Failure::NotFound,
            Failure::Integrity,
            Failure::NoSpace,
            Failure::Unavailable,
        ];
        let mut codes: Vec<i32> = all.iter().map(|f| f.exit_code()).collect();
        codes.dedup();
        assert_eq!(codes, vec![1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(
            Failure::of_code(ErrorCode::Unknown, 502),
            Failure::Unavailable
        );
        assert_eq!(
            Failure::of_code(ErrorCode::InsufficientStorage, 507),
            Failure::NoSpace
        );
    }

    #[test]
    fn a_problem_deep_in_the_chain_decides() {
        let e = Problem::not_found("no item").context("while getting");
        let r = classify(&e);
        assert_eq!(r.kind, Failure::NotFound);
        assert_eq!(r.message, "while getting: no item");
    }

    #[test]
    fn the_api_error_shows_no_http_details() {
        let e = anyhow::Error::new(ClientError::Api {
            status: 401,
            code: ErrorCode::Unauthorized,
            message: "missing, invalid, expired or revoked access token".into(),
            retry_after: None,
        });
        let r = classify(&e);
        assert_eq!(r.kind, Failure::NotLoggedIn);
        assert_eq!(r.message, "your session ended: run `cofre login`");
    }

    #[test]
    fn only_a_closed_stdout_is_quiet() {
        let e = anyhow::Error::new(ClientError::Output(closed(std::io::Error::from(
            std::io::ErrorKind::BrokenPipe,
        ))));
        assert!(is_stdout_closed(&e));
        let socket = anyhow::Error::new(ClientError::Io(std::io::Error::from(
            std::io::ErrorKind::BrokenPipe,
        )));
        assert!(!is_stdout_closed(&socket));
    }
}
