//! The versioned binary encodings of cofre, specified byte by byte in `docs/FORMAT.md`.
//!
//! Every encoding starts with the same three bytes: format type, format version and
//! algorithm. Decoders reject any type, version or algorithm they do not know, and
//! authenticate the header together with the payload.
//!
//! | type | format | module |
//! | ---- | ------ | ------ |
//! | `0x01` | sealed box: AES-256-CBC + HMAC-SHA256, encrypt-then-MAC | [`sealed`] |
//! | `0x02` | wrapped key: RSA-OAEP-SHA256 | [`wrapped`] |
//! | `0x03` | signature: RSA-PSS-SHA256 | [`signature`] |
//! | `0x04` | chunked file stream | [`stream`] |
//!
//! All of them have a text form (unpadded base64url) for JSON transport: see [`text`].

pub mod sealed;
pub mod signature;
pub mod stream;
pub mod text;
pub mod wrapped;

pub use sealed::SealedBox;
pub use signature::Signature;
pub use wrapped::WrappedKey;

use crate::{Error, Result};

/// Format type byte of a sealed box.
pub const TYPE_SEALED_BOX: u8 = 0x01;
/// Format type byte of a wrapped key.
pub const TYPE_WRAPPED_KEY: u8 = 0x02;
/// Format type byte of a signature.
pub const TYPE_SIGNATURE: u8 = 0x03;
/// Format type byte of a stream header.
pub const TYPE_STREAM: u8 = 0x04;

/// The only format version defined so far.
pub const VERSION_1: u8 = 0x01;

/// Algorithm byte: AES-256-CBC, PKCS#7, HMAC-SHA256, encrypt-then-MAC.
pub const ALG_AES256CBC_HMACSHA256: u8 = 0x01;
/// Algorithm byte: RSA-OAEP with SHA-256 and MGF1-SHA-256.
pub const ALG_RSA_OAEP_SHA256: u8 = 0x01;
/// Algorithm byte: RSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt.
pub const ALG_RSA_PSS_SHA256: u8 = 0x01;

/// Length of the common header (type, version, algorithm).
pub const HEADER_LEN: usize = 3;

/// Length of a key id: the first 16 bytes of SHA-256 over the key's SPKI DER.
pub const KEY_ID_LEN: usize = 16;

/// Checks the common 3-byte header and returns the rest of `bytes`.
pub(crate) fn check_header<'a>(
    what: &'static str,
    bytes: &'a [u8],
    kind: u8,
    alg: u8,
) -> Result<&'a [u8]> {
    let (header, rest) = bytes.split_at_checked(HEADER_LEN).ok_or(Error::Malformed {
        what,
        reason: "shorter than its header",
    })?;
    let &[t, v, a] = header else {
        return Err(Error::Malformed {
            what,
            reason: "shorter than its header",
        });
    };
    if t != kind {
        return Err(Error::Unsupported {
            what,
            field: "format type",
            value: t,
        });
    }
    if v != VERSION_1 {
        return Err(Error::Unsupported {
            what,
            field: "version",
            value: v,
        });
    }
    if a != alg {
        return Err(Error::Unsupported {
            what,
            field: "algorithm",
            value: a,
        });
    }
    Ok(rest)
}

/// Splits an RSA envelope (wrapped key, signature): header, then a key id, then an RSA
/// output whose length must be an accepted modulus size. Returns (key id, RSA output).
pub(crate) fn split_rsa_envelope<'a>(
    what: &'static str,
    bytes: &'a [u8],
    kind: u8,
    alg: u8,
) -> Result<([u8; KEY_ID_LEN], &'a [u8])> {
    use crate::primitives::rsa::{MAX_KEY_BITS, MIN_KEY_BITS};
    let rest = check_header(what, bytes, kind, alg)?;
    let (key_id, rsa) = rest
        .split_first_chunk::<KEY_ID_LEN>()
        .ok_or(Error::Malformed {
            what,
            reason: "too short",
        })?;
    if !(MIN_KEY_BITS / 8..=MAX_KEY_BITS / 8).contains(&rsa.len()) {
        return Err(Error::Malformed {
            what,
            reason: "RSA output length is not an accepted modulus size",
        });
    }
    Ok((*key_id, rsa))
}

/// `header || key_id || u32be(len(context)) || context`: what an RSA envelope binds
/// (the OAEP label of a wrapped key; the start of a signature's signed message).
pub(crate) fn rsa_binding(
    header: &[u8; HEADER_LEN],
    key_id: &[u8],
    context: &[u8],
) -> Result<Vec<u8>> {
    let ctx_len = context_len_prefix(context)?;
    Ok([&header[..], key_id, &ctx_len, context].concat())
}

/// A context length as the 4-byte big-endian prefix the MAC inputs use.
pub(crate) fn context_len_prefix(context: &[u8]) -> Result<[u8; 4]> {
    u32::try_from(context.len())
        .map(u32::to_be_bytes)
        .map_err(|_| Error::Usage("context longer than 2^32 - 1 bytes"))
}
