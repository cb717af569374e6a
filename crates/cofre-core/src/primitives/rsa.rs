//! RSA from aws-lc-rs (constant-time): key generation, PKCS#8 and SPKI import and
//! export, RSA-OAEP-SHA256 (MGF1-SHA256) encryption with a label, and RSA-PSS-SHA256
//! (MGF1-SHA256, 32-byte salt) signatures.
//!
//! The RustCrypto `rsa` crate is deliberately not used (RUSTSEC-2023-0071).

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rsa::{
    KeySize, OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, OaepPublicEncryptingKey,
    PrivateDecryptingKey, PublicEncryptingKey,
};
use aws_lc_rs::signature::{self, RsaKeyPair, UnparsedPublicKey};

use crate::secret::SecretVec;
use crate::{Error, Result};

/// Modulus size of every key cofre generates.
pub const KEY_BITS: usize = 3072;
/// Smallest modulus accepted on import. The hidden `*_any_size` parsers
/// ([`PublicKey::from_spki_any_size`], [`PrivateKey::from_pkcs8_any_size`]) also take
/// 2048-bit keys, only to check third-party test vectors.
pub const MIN_KEY_BITS: usize = 3072;
/// Largest modulus accepted on import.
pub const MAX_KEY_BITS: usize = 8192;

/// An RSA private key, usable for OAEP decryption and PSS signing.
///
/// The key material lives inside aws-lc, which wipes it when freed; the PKCS#8 export
/// is returned in a zeroizing buffer.
pub struct PrivateKey {
    decrypting: OaepPrivateDecryptingKey,
    signing: RsaKeyPair,
    public: PublicKey,
}

impl PrivateKey {
    /// Generates a fresh RSA-3072 key.
    pub fn generate() -> Result<Self> {
        let key = PrivateDecryptingKey::generate(KeySize::Rsa3072)?;
        let der = key.as_der()?;
        Self::from_pkcs8(der.as_ref())
    }

    /// Parses a PKCS#8 v1 `PrivateKeyInfo` (DER) holding an RSA key of an accepted size.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self> {
        Self::from_pkcs8_with_min_bits(der, MIN_KEY_BITS)
    }

    fn from_pkcs8_with_min_bits(der: &[u8], min_bits: usize) -> Result<Self> {
        let dec = PrivateDecryptingKey::from_pkcs8(der)
            .map_err(|_| Error::InvalidKey("not an RSA PKCS#8 private key"))?;
        let bits = dec.key_size_bits();
        if !(min_bits..=MAX_KEY_BITS).contains(&bits) {
            return Err(Error::InvalidKey("RSA key size not accepted"));
        }
        let public_der = dec.public_key().as_der()?;
        let public = PublicKey::from_spki_inner(public_der.as_ref(), min_bits)?;
        let signing = RsaKeyPair::from_pkcs8(der)
            .map_err(|_| Error::InvalidKey("not an RSA PKCS#8 private key"))?;
        let decrypting = OaepPrivateDecryptingKey::new(dec)?;
        Ok(Self {
            decrypting,
            signing,
            public,
        })
    }

    /// Parses a PKCS#8 RSA key of any size from 2048 bits up: only for checking
    /// third-party test vectors, never for cofre keys.
    #[doc(hidden)]
    pub fn from_pkcs8_any_size(der: &[u8]) -> Result<Self> {
        Self::from_pkcs8_with_min_bits(der, 2048)
    }

    /// The PKCS#8 v1 DER encoding of this key, in a buffer that is wiped on drop.
    pub fn to_pkcs8(&self) -> Result<SecretVec> {
        let der: Pkcs8V1Der<'static> = self.signing.as_der()?;
        Ok(SecretVec::new(der.as_ref().to_vec()))
    }

    /// The matching public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// RSA-OAEP-SHA256 (MGF1-SHA256) decryption with `label`. Every failure, whatever
    /// its cause, is the same [`Error::Decrypt`].
    pub fn oaep_decrypt(&self, ciphertext: &[u8], label: &[u8]) -> Result<SecretVec> {
        let mut out = SecretVec::new(vec![0u8; self.decrypting.min_output_size()]);
        let n = self
            .decrypting
            .decrypt(
                &OAEP_SHA256_MGF1SHA256,
                ciphertext,
                out.expose_mut(),
                Some(label),
            )
            .map_err(|_| Error::Decrypt)?
            .len();
        out.truncate(n);
        Ok(out)
    }

    /// RSA-PSS-SHA256 signature (MGF1-SHA256, salt length 32) over `message`.
    pub fn pss_sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let mut sig = vec![0u8; self.signing.public_modulus_len()];
        let rng = aws_lc_rs::rand::SystemRandom::new();
        self.signing
            .sign(&signature::RSA_PSS_SHA256, &rng, message, &mut sig)?;
        Ok(sig)
    }
}

/// An RSA public key, kept as its X.509 `SubjectPublicKeyInfo` DER encoding.
#[derive(Clone)]
pub struct PublicKey {
    spki: Vec<u8>,
    bits: usize,
    encrypting: std::sync::Arc<OaepPublicEncryptingKey>,
}

impl PublicKey {
    /// Parses a DER `SubjectPublicKeyInfo` holding an RSA key of an accepted size.
    pub fn from_spki(der: &[u8]) -> Result<Self> {
        Self::from_spki_inner(der, MIN_KEY_BITS)
    }

    /// Parses a public key of any size from 2048 bits up: only for checking
    /// third-party test vectors, never for cofre keys.
    #[doc(hidden)]
    pub fn from_spki_any_size(der: &[u8]) -> Result<Self> {
        Self::from_spki_inner(der, 2048)
    }

    fn from_spki_inner(der: &[u8], min_bits: usize) -> Result<Self> {
        let key = PublicEncryptingKey::from_der(der)
            .map_err(|_| Error::InvalidKey("not an RSA SubjectPublicKeyInfo"))?;
        let bits = key.key_size_bits();
        if !(min_bits..=MAX_KEY_BITS).contains(&bits) {
            return Err(Error::InvalidKey("RSA key size not accepted"));
        }
        // Re-encode so that the stored form (and so the fingerprint) is canonical.
        let canonical: PublicKeyX509Der<'static> = key.as_der()?;
        if canonical.as_ref() != der {
            return Err(Error::InvalidKey(
                "SubjectPublicKeyInfo is not in canonical DER",
            ));
        }
        Ok(Self {
            spki: der.to_vec(),
            bits,
            encrypting: std::sync::Arc::new(OaepPublicEncryptingKey::new(key)?),
        })
    }

    /// The DER `SubjectPublicKeyInfo`.
    pub fn to_spki(&self) -> &[u8] {
        &self.spki
    }

    /// The DER `SubjectPublicKeyInfo` (the binary form used by the text form).
    pub fn as_bytes(&self) -> &[u8] {
        &self.spki
    }

    /// Same as [`PublicKey::from_spki`] (the binary form used by the text form).
    pub fn from_bytes(der: &[u8]) -> Result<Self> {
        Self::from_spki(der)
    }

    /// SHA-256 over the SPKI DER: the key's fingerprint.
    pub fn fingerprint(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &self.spki).as_ref(),
        );
        out
    }

    /// The first 16 bytes of the fingerprint: names the key inside wrapped keys and
    /// signatures (not a security check; the cryptography is).
    pub fn key_id(&self) -> [u8; 16] {
        let mut id = [0u8; 16];
        id.copy_from_slice(self.fingerprint().get(..16).unwrap_or_default());
        id
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// Modulus size in bytes: the length of every OAEP ciphertext and PSS signature.
    pub fn modulus_len(&self) -> usize {
        self.bits.div_ceil(8)
    }

    /// RSA-OAEP-SHA256 (MGF1-SHA256) encryption of `plaintext` with `label`.
    pub fn oaep_encrypt(&self, plaintext: &[u8], label: &[u8]) -> Result<Vec<u8>> {
        let mut out = vec![0u8; self.encrypting.ciphertext_size()];
        let n = self
            .encrypting
            .encrypt(&OAEP_SHA256_MGF1SHA256, plaintext, &mut out, Some(label))?
            .len();
        out.truncate(n);
        Ok(out)
    }

    /// Verifies an RSA-PSS-SHA256 signature (MGF1-SHA256, salt length 32).
    pub fn pss_verify(&self, message: &[u8], sig: &[u8]) -> Result<()> {
        UnparsedPublicKey::new(&signature::RSA_PSS_2048_8192_SHA256, &self.spki)
            .verify(message, sig)
            .map_err(|_| Error::BadSignature)
    }

    /// Verifies an RSASSA-PKCS1-v1_5 SHA-256 signature (the JWT `RS256` algorithm).
    pub fn pkcs1_sha256_verify(&self, message: &[u8], sig: &[u8]) -> Result<()> {
        UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &self.spki)
            .verify(message, sig)
            .map_err(|_| Error::BadSignature)
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey(RSA-{})", self.bits)
    }
}

crate::format::text::impl_text_form!(PublicKey);

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.spki == other.spki
    }
}
impl Eq for PublicKey {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_export_import_oaep_and_pss() {
        let sk = PrivateKey::generate().unwrap();
        assert_eq!(sk.public_key().bits(), 3072);
        let der = sk.to_pkcs8().unwrap();
        let sk2 = PrivateKey::from_pkcs8(&der).unwrap();
        assert_eq!(sk.public_key(), sk2.public_key());
        let pk = PublicKey::from_spki(sk.public_key().to_spki()).unwrap();

        let ct = pk.oaep_encrypt(b"item key", b"label").unwrap();
        assert_eq!(ct.len(), 384);
        assert_eq!(&sk2.oaep_decrypt(&ct, b"label").unwrap()[..], b"item key");
        assert!(matches!(
            sk2.oaep_decrypt(&ct, b"other"),
            Err(Error::Decrypt)
        ));

        let sig = sk.pss_sign(b"msg").unwrap();
        pk.pss_verify(b"msg", &sig).unwrap();
        assert!(matches!(
            pk.pss_verify(b"msh", &sig),
            Err(Error::BadSignature)
        ));
    }

    #[test]
    fn garbage_keys_rejected() {
        assert!(PublicKey::from_spki(b"not a key").is_err());
        assert!(PrivateKey::from_pkcs8(b"not a key").is_err());
    }
}
