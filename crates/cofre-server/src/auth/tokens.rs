//! Random identifiers and opaque tokens, and the hashes under which tokens are stored.

use cofre_core::primitives::digest::sha256;
use cofre_core::primitives::rand;
use zeroize::Zeroizing;

/// A random 128-bit identifier, hex (user, session and token ids).
pub fn random_id() -> Result<String, cofre_core::Error> {
    Ok(data_encoding::HEXLOWER.encode(&rand::array::<16>()?))
}

/// A random 256-bit opaque token (refresh tokens, invites), base64url.
pub fn random_token() -> Result<Zeroizing<String>, cofre_core::Error> {
    let bytes = Zeroizing::new(rand::array::<32>()?);
    Ok(Zeroizing::new(
        data_encoding::BASE64URL_NOPAD.encode(bytes.as_ref()),
    ))
}

/// What is stored instead of a token: SHA-256 hex. Tokens carry 256 random bits, so a
/// fast hash suffices: a stolen table reveals no usable token.
pub fn token_hash(token: &str) -> String {
    data_encoding::HEXLOWER.encode(&sha256(&[token.as_bytes()]))
}
