//! Wrapped key decoder: parse/re-encode identity (binary and text form), the key id it
//! reports is the one in the bytes, and unwrapping fuzz input with a real RSA-3072 key
//! never succeeds and never panics. Half the inputs are rewritten to carry that key's
//! header and id, so they get past the key-id check into RSA-OAEP decryption.
#![no_main]

use std::sync::OnceLock;

use cofre_core::format::WrappedKey;
use cofre_core::primitives::rsa::PrivateKey;
use libfuzzer_sys::fuzz_target;

fn key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| PrivateKey::generate().unwrap())
}

fuzz_target!(|data: &[u8]| {
    let sk = key();
    // Point half the inputs at our key id so they reach RSA-OAEP decryption.
    let mut bytes = data.to_vec();
    if bytes.len() >= 19 && bytes[0] & 1 == 1 {
        bytes[..3].copy_from_slice(&[2, 1, 1]);
        bytes[3..19].copy_from_slice(&sk.public_key().key_id());
    }
    if let Ok(w) = WrappedKey::from_bytes(&bytes) {
        assert_eq!(w.as_bytes(), &bytes[..]);
        assert_eq!(&w.recipient_key_id()[..], &bytes[3..19]);
        assert!(
            w.unwrap(sk, b"fuzz").is_err(),
            "forged wrapped key unwrapped"
        );
        assert_eq!(WrappedKey::from_text(&w.to_text()).unwrap(), w);
    }
});
