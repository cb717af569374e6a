//! Access tokens: EdDSA (Ed25519) JWTs with `kid`, strict validation, and the JWKS.
//!
//! Validation pins the algorithm to EdDSA (so `none`, HS256 and RS256 tokens are
//! refused whatever key they name), refuses any `crit` header (RFC 7515 §4.1.11: this
//! server understands no extension), requires `exp`, `nbf`, `iat`, `iss`, `aud`, `sub`,
//! checks issuer, audience, expiry and not-before, and accepts only keys this server
//! holds. Session revocation is checked afterwards against the database
//! ([`crate::auth::extract`]).
//!
//! A token whose signature and claims verified is remembered (keyed by the whole token
//! string, at most [`VERIFIED_CACHE_MAX`] of them), so a client presenting the same
//! token again skips the signature check; `exp` and `nbf` are checked again on every
//! use, with the same leeway. This caches only what cannot change: the verdict of a
//! signature check against this server's set of keys. Revocation and everything
//! else about the session is still read from the database on every request.
//!
//! Replicas share one key folder. When a token names a key this server does not hold
//! (another replica restarted after `cofre server rotate-signing-key` and signs with
//! the new key), the folder's signing keys are read again, at most once every
//! [`RELOAD_MIN_SECS`] seconds, and the token is checked against them.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use cofre_api::Role;
use cofre_api::auth::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::secrets::ServerKeys;

/// Clock tolerance for `exp` and `nbf`, in seconds.
pub const LEEWAY_SECS: u64 = 5;

/// Shortest time between two reads of the key folder for an unknown `kid`.
pub const RELOAD_MIN_SECS: i64 = 10;

/// How many verified tokens [`TokenKeys::verify`] remembers (about 1 KiB each).
pub const VERIFIED_CACHE_MAX: usize = 4096;

/// The claims of an access token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// Session id.
    pub sid: String,
    /// Role at issue time (the server re-reads it from the database on every request).
    pub role: Role,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Expiry.
    pub exp: i64,
    /// Not before.
    pub nbf: i64,
    /// Issued at.
    pub iat: i64,
    /// Token id.
    pub jti: String,
}

/// Why a token was refused. Clients only ever see `unauthorized`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// No `kid`, or one this server does not hold.
    #[error("unknown signing key")]
    UnknownKey,
    /// Bad signature, algorithm, claims, expiry, audience, issuer...
    #[error("invalid token: {0}")]
    Invalid(#[from] jsonwebtoken::errors::Error),
    /// The header lists extensions that must be understood (`crit`, RFC 7515
    /// §4.1.11); this server understands none.
    #[error("critical header extension not understood")]
    CriticalExtension,
    /// Could not sign.
    #[error("signing failed")]
    Sign,
}

#[derive(Clone)]
struct VerifyKey {
    kid: String,
    key: DecodingKey,
    x: String,
}

/// Issues and verifies access tokens.
pub struct TokenKeys {
    signing_kid: String,
    signing: EncodingKey,
    verify: RwLock<Arc<Vec<VerifyKey>>>,
    /// The key folder to read again for an unknown `kid`, and when that was last done.
    reload: Option<(PathBuf, Mutex<i64>)>,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl: i64,
    /// Tokens whose signature and claims verified, by the whole token string.
    verified: Mutex<HashMap<Box<str>, Arc<Claims>>>,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("signing_kid", &self.signing_kid)
            .finish_non_exhaustive()
    }
}

impl TokenKeys {
    /// From the server's signing keys (the newest signs; all verify).
    pub fn new(keys: &ServerKeys, issuer: &str, audience: &str, ttl: i64) -> Option<Self> {
        let current = keys.current()?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.algorithms = vec![Algorithm::EdDSA];
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        Some(Self {
            signing_kid: current.kid.clone(),
            signing: EncodingKey::from_ed_der(current.pair.expose_pkcs8()),
            verify: RwLock::new(Arc::new(keys.signing.iter().map(verify_key).collect())),
            reload: None,
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            ttl,
            verified: Mutex::default(),
        })
    }

    /// Reads the signing keys in the key folder `dir` again when a token names a key
    /// this server does not hold (see the module documentation).
    #[must_use]
    pub fn reloading_from(mut self, dir: PathBuf) -> Self {
        self.reload = Some((dir, Mutex::new(i64::MIN)));
        self
    }

    /// Lifetime of issued tokens, in seconds.
    pub fn ttl(&self) -> i64 {
        self.ttl
    }

    /// Signs a token for a session.
    pub fn issue(
        &self,
        user_id: &str,
        session_id: &str,
        role: Role,
        now: i64,
    ) -> Result<String, TokenError> {
        let claims = Claims {
            sub: user_id.to_owned(),
            sid: session_id.to_owned(),
            role,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            exp: now + self.ttl,
            nbf: now,
            iat: now,
            jti: crate::auth::tokens::random_id().map_err(|_| TokenError::Sign)?,
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.signing_kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.signing).map_err(|_| TokenError::Sign)
    }

    /// Verifies a token's signature and claims. A token that verified before (the
    /// same string) skips the signature check, not the `exp` and `nbf` checks.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let now = crate::clock::now();
        let cached = self
            .verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(token)
            .cloned();
        if let Some(claims) = cached {
            check_times(&claims, now)?;
            return Ok(Claims::clone(&claims));
        }
        let claims = self.verify_uncached(token)?;
        let mut verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        if verified.len() >= VERIFIED_CACHE_MAX {
            // Drop what has expired; if the cache is still full, start again.
            verified.retain(|_, c| check_times(c, now).is_ok());
            if verified.len() >= VERIFIED_CACHE_MAX {
                verified.clear();
            }
        }
        verified.insert(token.into(), Arc::new(claims.clone()));
        Ok(claims)
    }

    /// Verifies a token's signature and claims, without the cache of verified tokens.
    pub fn verify_uncached(&self, token: &str) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token)?;
        if header.crit.is_some() {
            return Err(TokenError::CriticalExtension);
        }
        let kid = header.kid.ok_or(TokenError::UnknownKey)?;
        let key = match self.key(&kid) {
            Some(k) => k,
            None if self.reload_keys() => self.key(&kid).ok_or(TokenError::UnknownKey)?,
            None => return Err(TokenError::UnknownKey),
        };
        Ok(jsonwebtoken::decode::<Claims>(token, &key, &self.validation)?.claims)
    }

    fn keys(&self) -> Arc<Vec<VerifyKey>> {
        Arc::clone(&self.verify.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn key(&self, kid: &str) -> Option<DecodingKey> {
        self.keys()
            .iter()
            .find(|k| k.kid == kid)
            .map(|k| k.key.clone())
    }

    /// Reads the key folder again if allowed now; returns whether it did. The folder's
    /// keys replace the ones held (a key deleted from the folder stops verifying), but
    /// the key this server signs with always stays.
    fn reload_keys(&self) -> bool {
        let Some((dir, last)) = &self.reload else {
            return false;
        };
        let now = crate::clock::now();
        {
            let mut last = last.lock().unwrap_or_else(PoisonError::into_inner);
            if now.saturating_sub(*last) < RELOAD_MIN_SECS {
                return false;
            }
            *last = now;
        }
        let read = match crate::secrets::read_signing_keys_in(dir) {
            Ok(keys) => keys,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the signing keys again");
                return false;
            }
        };
        let mut keys: Vec<VerifyKey> = read.iter().map(verify_key).collect();
        if !keys.iter().any(|k| k.kid == self.signing_kid)
            && let Some(own) = self.keys().iter().find(|k| k.kid == self.signing_kid)
        {
            keys.push(own.clone());
        }
        tracing::info!(
            keys = keys.len(),
            "read the signing keys again for an unknown key id"
        );
        *self.verify.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(keys);
        true
    }

    /// How many verified tokens are remembered (for tests).
    pub fn verified_cached(&self) -> usize {
        self.verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// The public keys, as a JWKS document.
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self
                .keys()
                .iter()
                .map(|k| Jwk {
                    kty: "OKP".into(),
                    crv: "Ed25519".into(),
                    x: k.x.clone(),
                    kid: k.kid.clone(),
                    alg: "EdDSA".into(),
                    use_: "sig".into(),
                })
                .collect(),
        }
    }
}

fn verify_key(k: &crate::secrets::SigningKey) -> VerifyKey {
    VerifyKey {
        kid: k.kid.clone(),
        key: DecodingKey::from_ed_der(k.pair.public_key()),
        x: data_encoding::BASE64URL_NOPAD.encode(k.pair.public_key()),
    }
}

/// The `exp` and `nbf` checks of the validation, as `jsonwebtoken` does them (same
/// leeway), for a token whose signature verified earlier.
fn check_times(claims: &Claims, now: i64) -> Result<(), TokenError> {
    use jsonwebtoken::errors::{Error, ErrorKind};
    let leeway = i64::try_from(LEEWAY_SECS).unwrap_or(0);
    if claims.exp < now.saturating_sub(leeway) {
        return Err(Error::from(ErrorKind::ExpiredSignature).into());
    }
    if claims.nbf > now.saturating_add(leeway) {
        return Err(Error::from(ErrorKind::ImmatureSignature).into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::ServerKeys;

    fn keys() -> (TokenKeys, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let (keys, _) = ServerKeys::load_or_create(dir.path(), crate::clock::now()).unwrap();
        let tokens = TokenKeys::new(&keys, "cofre", "cofre-api", 600).unwrap();
        (tokens, dir)
    }

    fn cached(tokens: &TokenKeys, token: &str) -> Arc<Claims> {
        Arc::clone(tokens.verified.lock().unwrap().get(token).unwrap())
    }

    fn set_cached(tokens: &TokenKeys, token: &str, claims: Claims) {
        tokens
            .verified
            .lock()
            .unwrap()
            .insert(token.into(), Arc::new(claims));
    }

    #[test]
    fn a_cached_token_is_still_checked_for_expiry_and_not_before() {
        let (tokens, _dir) = keys();
        let now = crate::clock::now();
        let token = tokens.issue("u1", "s1", Role::User, now).unwrap();
        assert_eq!(tokens.verify(&token).unwrap().sid, "s1");
        assert_eq!(tokens.verified_cached(), 1);
        assert_eq!(tokens.verify(&token).unwrap().sub, "u1");
        assert_eq!(tokens.verified_cached(), 1);

        // Time passes in the cache's copy: the same leeway as a full check applies.
        let good = Claims::clone(&cached(&tokens, &token));
        let leeway = i64::try_from(LEEWAY_SECS).unwrap();
        let mut c = good.clone();
        c.exp = now - leeway + 2;
        set_cached(&tokens, &token, c);
        tokens.verify(&token).unwrap();
        let mut c = good.clone();
        c.exp = now - leeway - 2;
        set_cached(&tokens, &token, c);
        assert!(matches!(
            tokens.verify(&token).unwrap_err(),
            TokenError::Invalid(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature)
        ));
        let mut c = good;
        c.nbf = now + leeway + 2;
        set_cached(&tokens, &token, c);
        assert!(matches!(
            tokens.verify(&token).unwrap_err(),
            TokenError::Invalid(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ImmatureSignature)
        ));
    }

    #[test]
    fn refused_tokens_are_not_cached() {
        let (tokens, _dir) = keys();
        let now = crate::clock::now();
        let token = tokens.issue("u1", "s1", Role::User, now).unwrap();
        // One signature character changed (not the last, whose low bits are padding).
        let at = token.len() - 10;
        let swap = if &token[at..=at] == "A" { "B" } else { "A" };
        let tampered = format!("{}{swap}{}", &token[..at], &token[at + 1..]);
        for bad in [tampered.as_str(), "not.a.jwt", ""] {
            tokens.verify(bad).unwrap_err();
            tokens.verify(bad).unwrap_err();
        }
        assert_eq!(tokens.verified_cached(), 0);
        // Another server's keys do not verify this server's tokens, cached or not.
        let (other, _dir2) = keys();
        tokens.verify(&token).unwrap();
        other.verify(&token).unwrap_err();
        assert_eq!(other.verified_cached(), 0);
    }

    #[test]
    fn the_cache_is_bounded() {
        let (tokens, _dir) = keys();
        let now = crate::clock::now();
        let token = tokens.issue("u1", "s1", Role::User, now).unwrap();
        let template = tokens.verify(&token).unwrap();
        // Full of expired entries and one live one: the expired ones go.
        for i in 1..VERIFIED_CACHE_MAX {
            let mut c = template.clone();
            c.exp = now - 3600;
            set_cached(&tokens, &format!("expired-{i}"), c);
        }
        assert_eq!(tokens.verified_cached(), VERIFIED_CACHE_MAX);
        let second = tokens.issue("u2", "s2", Role::User, now).unwrap();
        tokens.verify(&second).unwrap();
        assert_eq!(tokens.verified_cached(), 2);
        // Full of live entries: it starts again.
        for i in 2..VERIFIED_CACHE_MAX {
            set_cached(&tokens, &format!("live-{i}"), template.clone());
        }
        assert_eq!(tokens.verified_cached(), VERIFIED_CACHE_MAX);
        let third = tokens.issue("u3", "s3", Role::User, now).unwrap();
        assert_eq!(tokens.verify(&third).unwrap().sub, "u3");
        assert_eq!(tokens.verified_cached(), 1);
    }
}
