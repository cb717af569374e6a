//! The warning before credentials go over plain `http://` to another machine. The
//! password itself never leaves this machine, but what does (the auth key derived from
//! it, a one-time code, tokens, a recovery auth key) would be readable and replayable by
//! anyone on the path. Loopback (`127.0.0.0/8`, `::1`, `localhost`) is fine.

use std::net::IpAddr;

/// The host of an `http://` URL, or `None` for any other scheme.
fn plain_http_host(url: &str) -> Option<String> {
    let rest = url
        .get(..7)
        .filter(|s| s.eq_ignore_ascii_case("http://"))
        .and_then(|_| url.get(7..))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    Some(host.to_ascii_lowercase())
}

/// Whether `host` is this machine's loopback.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => a.is_loopback(),
        Ok(IpAddr::V6(a)) => a.to_canonical().is_loopback(),
        Err(_) => false,
    }
}

/// Whether credentials sent to `server` would cross a network in clear text.
pub fn exposes_credentials(server: &str) -> bool {
    plain_http_host(server).is_some_and(|h| !is_loopback(&h))
}

/// Warns on standard error, before anything is asked or sent, when `server` is plain
/// HTTP to a host other than this machine.
pub fn warn(server: &str) {
    if exposes_credentials(server) {
        eprintln!(
            "warning: {server} is plain http:// to another machine: what this command sends \
             (derived keys, codes, session tokens) can be read and replayed by anyone on the \
             network path. Use https:// (the server's --tls-cert) unless this network is \
             trusted."
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_off_this_machine_warns() {
        for quiet in [
            "http://127.0.0.1:8080",
            "http://127.1.2.3",
            "http://localhost:8080/",
            "HTTP://LOCALHOST",
            "http://[::1]:8080",
            "http://[::ffff:127.0.0.1]:8080",
            "http://user@127.0.0.1:1",
            "https://vault.example.com",
            "https://192.0.2.7:8443",
        ] {
            assert!(!exposes_credentials(quiet), "{quiet}");
        }
        for loud in [
            "http://vault.example.com",
            "http://192.0.2.7:8080",
            "http://[2001:db8::1]:8080",
            "http://localhost.example.com",
            "http://0.0.0.0:8080",
        ] {
            assert!(exposes_credentials(loud), "{loud}");
        }
    }
}
