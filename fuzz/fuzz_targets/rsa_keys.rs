//! RSA key decoders (SPKI and PKCS#8) never panic. A public key that parses is in
//! canonical DER (re-encoding gives the input back) and has an accepted size. A private
//! key that parses has an accepted size, its public half re-parses as canonical SPKI,
//! and its PKCS#8 export parses again to the same key.
#![no_main]

use cofre_core::primitives::rsa::{MAX_KEY_BITS, MIN_KEY_BITS, PrivateKey, PublicKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(pk) = PublicKey::from_spki(data) {
        assert_eq!(pk.to_spki(), data, "SPKI accepted but not canonical");
        assert!((MIN_KEY_BITS..=MAX_KEY_BITS).contains(&pk.bits()));
        assert_eq!(pk.modulus_len(), pk.bits().div_ceil(8));
    }
    if let Ok(sk) = PrivateKey::from_pkcs8(data) {
        let pk = sk.public_key();
        assert!((MIN_KEY_BITS..=MAX_KEY_BITS).contains(&pk.bits()));
        assert_eq!(&PublicKey::from_spki(pk.to_spki()).unwrap(), pk);
        let again = PrivateKey::from_pkcs8(&sk.to_pkcs8().unwrap()).unwrap();
        assert_eq!(again.public_key(), pk, "PKCS#8 export names another key");
    }
});
