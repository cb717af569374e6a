//! Access tokens: EdDSA (Ed25519) JWTs with `kid`, strict validation, and the JWKS.
//!
//! Validation pins the algorithm to EdDSA (so `none`, HS256 and RS256 tokens are
//! refused whatever key they name), requires `exp`, `nbf`, `iat`, `iss`, `aud`, `sub`,
//! checks issuer, audience, expiry and not-before, and accepts only keys this server
//! holds. Session revocation is checked afterwards against the database
//! ([`crate::auth::extract`]).

use cofre_api::Role;
use cofre_api::auth::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::secrets::ServerKeys;

/// Clock tolerance for `exp` and `nbf`, in seconds.
pub const LEEWAY_SECS: u64 = 5;

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
    /// Could not sign.
    #[error("signing failed")]
    Sign,
}

struct VerifyKey {
    kid: String,
    key: DecodingKey,
    x: String,
}

/// Issues and verifies access tokens.
pub struct TokenKeys {
    signing_kid: String,
    signing: EncodingKey,
    verify: Vec<VerifyKey>,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl: i64,
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
            verify: keys
                .signing
                .iter()
                .map(|k| VerifyKey {
                    kid: k.kid.clone(),
                    key: DecodingKey::from_ed_der(k.pair.public_key()),
                    x: data_encoding::BASE64URL_NOPAD.encode(k.pair.public_key()),
                })
                .collect(),
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            ttl,
        })
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

    /// Verifies a token's signature and claims.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token)?;
        let kid = header.kid.ok_or(TokenError::UnknownKey)?;
        let key = self
            .verify
            .iter()
            .find(|k| k.kid == kid)
            .ok_or(TokenError::UnknownKey)?;
        Ok(jsonwebtoken::decode::<Claims>(token, &key.key, &self.validation)?.claims)
    }

    /// The public keys, as a JWKS document.
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self
                .verify
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
