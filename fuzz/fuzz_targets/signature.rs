//! Signature decoder: parse/re-encode identity (binary and text form), the key id it
//! reports is the one in the bytes, and verifying fuzz input under a real RSA-3072 key
//! never succeeds and never panics. Half the inputs are rewritten to carry that key's
//! header and id, so they get past the key-id check into RSA-PSS verification.
#![no_main]

use std::sync::OnceLock;

use cofre_core::format::Signature;
use cofre_core::primitives::rsa::PrivateKey;
use libfuzzer_sys::fuzz_target;

fn key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| PrivateKey::generate().unwrap())
}

fuzz_target!(|data: &[u8]| {
    let sk = key();
    let mut bytes = data.to_vec();
    // Point half the inputs at our key id so they reach RSA-PSS verification.
    if bytes.len() >= 19 && bytes[0] & 1 == 1 {
        bytes[..3].copy_from_slice(&[3, 1, 1]);
        bytes[3..19].copy_from_slice(&sk.public_key().key_id());
    }
    if let Ok(s) = Signature::from_bytes(&bytes) {
        assert_eq!(s.as_bytes(), &bytes[..]);
        assert_eq!(&s.signer_key_id()[..], &bytes[3..19]);
        assert!(
            s.verify(sk.public_key(), b"fuzz", b"message").is_err(),
            "forged signature verified"
        );
        assert_eq!(Signature::from_text(&s.to_text()).unwrap(), s);
    }
});
