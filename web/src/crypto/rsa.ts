/**
 * RSA keys (FORMAT.md 4): public keys as SPKI DER, private keys as PKCS#8 DER, both
 * imported into WebCrypto (RSA-OAEP for wrapped keys, RSA-PSS for signatures); the
 * fingerprint and key id over the exact SPKI bytes.
 */
import { type Bytes, copy, equalPublic } from "./bytes";
import { reject } from "./errors";
import { sha256 } from "./symmetric";

const subtle = (): SubtleCrypto => crypto.subtle;
const OAEP = { name: "RSA-OAEP", hash: "SHA-256" } as const;
const PSS = { name: "RSA-PSS", hash: "SHA-256" } as const;
/** Accepted modulus sizes in bits (FORMAT.md 4). */
export const MIN_MODULUS_BITS = 3072;
/** Accepted modulus sizes in bits (FORMAT.md 4). */
export const MAX_MODULUS_BITS = 8192;

function modulusBits(key: CryptoKey): number {
  return (key.algorithm as RsaHashedKeyAlgorithm).modulusLength;
}

/** An accepted RSA public key with its SPKI bytes, fingerprint and key id. */
export class PublicKey {
  /** The canonical SPKI DER. */
  readonly spki: Bytes;
  /** SHA-256 of the SPKI (32 bytes). */
  readonly fingerprint: Bytes;
  /** The first 16 bytes of the fingerprint. */
  readonly keyId: Bytes;
  /** Modulus length `k` in bytes. */
  readonly modulusLen: number;
  /** The key for RSA-OAEP encryption (wrapping). */
  readonly oaep: CryptoKey;
  /** The key for RSA-PSS verification. */
  readonly pss: CryptoKey;

  private constructor(spki: Bytes, fingerprint: Bytes, modulusLen: number, oaep: CryptoKey, pss: CryptoKey) {
    this.spki = spki;
    this.fingerprint = fingerprint;
    this.keyId = fingerprint.slice(0, 16);
    this.modulusLen = modulusLen;
    this.oaep = oaep;
    this.pss = pss;
  }

  /**
   * Imports an SPKI DER public key, refusing (*invalid_key*) one that WebCrypto does
   * not parse as RSA, one that is not canonical (re-encoding gives other bytes:
   * non-minimal DER, trailing bytes) and a modulus outside 3072..=8192 bits.
   */
  static async import(spki: Uint8Array): Promise<PublicKey> {
    const bytes = copy(spki);
    let oaep: CryptoKey;
    let pss: CryptoKey;
    try {
      [oaep, pss] = await Promise.all([
        // Public keys are public: extractable, so the canonical form can be checked.
        subtle().importKey("spki", bytes, OAEP, true, ["encrypt"]),
        subtle().importKey("spki", bytes, PSS, true, ["verify"]),
      ]);
    } catch {
      return reject("invalid_key", "not an RSA SubjectPublicKeyInfo");
    }
    const canonical = new Uint8Array(await subtle().exportKey("spki", oaep));
    if (!equalPublic(canonical, bytes)) reject("invalid_key", "not canonical DER");
    const bits = modulusBits(oaep);
    if (bits < MIN_MODULUS_BITS || bits > MAX_MODULUS_BITS) reject("invalid_key", "modulus size");
    return new PublicKey(bytes, await sha256(bytes), Math.ceil(bits / 8), oaep, pss);
  }
}

/** An RSA private key: non-extractable CryptoKeys for OAEP decryption and PSS signing, and its public key. */
export class PrivateKey {
  /** RSA-OAEP decryption (unwrapping). */
  readonly oaep: CryptoKey;
  /** RSA-PSS signing. */
  readonly pss: CryptoKey;
  /** The matching public key. */
  readonly publicKey: PublicKey;

  private constructor(oaep: CryptoKey, pss: CryptoKey, publicKey: PublicKey) {
    this.oaep = oaep;
    this.pss = pss;
    this.publicKey = publicKey;
  }

  /**
   * Imports a PKCS#8 DER RSA private key (FORMAT.md 4): *invalid_key* if WebCrypto
   * does not parse it or the modulus is outside 3072..=8192 bits. The keys kept are
   * non-extractable; the public half (to compare with a stored SPKI, 9.6) is read
   * once from a short-lived extractable import of the same bytes as JWK `n` and `e`.
   */
  static async import(pkcs8: Uint8Array): Promise<PrivateKey> {
    const bytes = copy(pkcs8);
    let oaep: CryptoKey;
    let pss: CryptoKey;
    let jwk: JsonWebKey;
    try {
      [oaep, pss] = await Promise.all([
        subtle().importKey("pkcs8", bytes, OAEP, false, ["decrypt"]),
        subtle().importKey("pkcs8", bytes, PSS, false, ["sign"]),
      ]);
      const once = await subtle().importKey("pkcs8", bytes, OAEP, true, ["decrypt"]);
      jwk = await subtle().exportKey("jwk", once);
    } catch {
      return reject("invalid_key", "not an RSA PKCS#8 private key");
    } finally {
      bytes.fill(0);
    }
    const bits = modulusBits(oaep);
    if (bits < MIN_MODULUS_BITS || bits > MAX_MODULUS_BITS) reject("invalid_key", "modulus size");
    const pub = await subtle().importKey("jwk", { kty: "RSA", n: jwk.n, e: jwk.e, alg: "RSA-OAEP-256", ext: true }, OAEP, true, [
      "encrypt",
    ]);
    const spki = new Uint8Array(await subtle().exportKey("spki", pub));
    return new PrivateKey(oaep, pss, await PublicKey.import(spki));
  }
}

/** Fingerprint (SHA-256 of the SPKI) of raw SPKI bytes. */
export function fingerprintOf(spki: Bytes): Promise<Bytes> {
  return sha256(spki);
}
