//! Device tokens (OWASP's "device cookie"): after a successful login the server hands
//! the client a token that binds a random device id to the account with an HMAC under
//! the server secret. A later login of that account presenting it spends from that
//! device's own guessing budget instead of the account-wide one for unknown devices.
//!
//! Text form: `v1.<device id>.<tag>`, both base64url without padding (16 and 32 bytes).
//! Nothing is stored: the server recomputes the tag. A token is only worth a budget of
//! its own (it proves a past login on that account, it is not a credential), and every
//! token of a server becomes invalid when its secret changes.

use cofre_core::keys::ServerSecret;
use data_encoding::BASE64URL_NOPAD;
use zeroize::Zeroizing;

const PREFIX: &str = "v1.";

/// A new device token for `user_id`, with a fresh device id.
pub fn issue(secret: &ServerSecret, user_id: &str) -> Result<Zeroizing<String>, cofre_core::Error> {
    let id = cofre_core::primitives::rand::array::<16>()?;
    Ok(token_for(secret, user_id, &id))
}

fn token_for(secret: &ServerSecret, user_id: &str, id: &[u8]) -> Zeroizing<String> {
    let tag = secret.device_token_tag(user_id, id);
    Zeroizing::new(format!(
        "{PREFIX}{}.{}",
        BASE64URL_NOPAD.encode(id),
        BASE64URL_NOPAD.encode(&tag)
    ))
}

/// The device id (text) of `token` if it is a valid device token for `user_id`.
pub fn verify(secret: &ServerSecret, user_id: &str, token: &str) -> Option<String> {
    let (id_text, tag_text) = token.strip_prefix(PREFIX)?.split_once('.')?;
    let id = BASE64URL_NOPAD.decode(id_text.as_bytes()).ok()?;
    let tag = BASE64URL_NOPAD.decode(tag_text.as_bytes()).ok()?;
    if id.len() != 16 || !secret.device_token_valid(user_id, &id, &tag) {
        return None;
    }
    Some(id_text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_valid_for_its_account_only() {
        let secret = ServerSecret::generate().unwrap();
        let t = issue(&secret, "alice-id").unwrap();
        let id = verify(&secret, "alice-id", &t).unwrap();
        assert_eq!(id.len(), 22);
        assert_eq!(verify(&secret, "bob-id", &t), None);
        assert_eq!(
            verify(&ServerSecret::generate().unwrap(), "alice-id", &t),
            None
        );
        // Another character anywhere in the id or the tag (never the same one).
        for at in [3, 10, 30, t.len() - 10] {
            let mut forged = t.as_bytes().to_vec();
            forged[at] = if forged[at] == b'Q' { b'R' } else { b'Q' };
            let forged = String::from_utf8(forged).unwrap();
            assert_eq!(verify(&secret, "alice-id", &forged), None, "{at}");
        }
        assert_eq!(verify(&secret, "alice-id", "v1.garbage"), None);
        assert_eq!(verify(&secret, "alice-id", ""), None);
    }
}
