/**
 * Symmetric keys (FORMAT.md 3): 64 bytes, `enc_key` (AES-256-CBC) then `mac_key`
 * (HMAC-SHA256). Imported as non-extractable WebCrypto keys, each for its one use;
 * HKDF (FORMAT.md 8.2, 9.3) also runs through WebCrypto.
 */
import { type Bytes, copy, wipe } from "./bytes";

const subtle = (): SubtleCrypto => crypto.subtle;

/** A 64-byte symmetric key as three non-extractable CryptoKeys. */
export class SymmetricKey {
  /** AES-256-CBC, encrypt and decrypt. */
  readonly enc: CryptoKey;
  /** HMAC-SHA256, sign and verify. */
  readonly mac: CryptoKey;
  /** The whole 64 bytes as HKDF input keying material (stream keys, 8.2). */
  readonly hkdf: CryptoKey;

  private constructor(enc: CryptoKey, mac: CryptoKey, hkdf: CryptoKey) {
    this.enc = enc;
    this.mac = mac;
    this.hkdf = hkdf;
  }

  /**
   * Imports a symmetric key. Anything but exactly 64 bytes is refused with a
   * `RangeError` (callers that decrypted the bytes check the length first and report
   * their own class, FORMAT.md 3).
   */
  static async import(raw: Uint8Array): Promise<SymmetricKey> {
    if (raw.length !== 64) throw new RangeError("a symmetric key is 64 bytes");
    const bytes = copy(raw);
    try {
      const [enc, mac, hkdf] = await Promise.all([
        importAesKey(bytes.subarray(0, 32)),
        importHmacKey(bytes.subarray(32, 64)),
        subtle().importKey("raw", bytes, "HKDF", false, ["deriveBits"]),
      ]);
      return new SymmetricKey(enc, mac, hkdf);
    } finally {
      wipe(bytes);
    }
  }
}

/** Imports 32 bytes as a non-extractable AES-256-CBC key. */
export function importAesKey(raw: Bytes): Promise<CryptoKey> {
  return subtle().importKey("raw", raw, { name: "AES-CBC" }, false, ["encrypt", "decrypt"]);
}

/** Imports 32 bytes as a non-extractable HMAC-SHA256 key. */
export function importHmacKey(raw: Bytes): Promise<CryptoKey> {
  return subtle().importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

/** HKDF-SHA256 (RFC 5869) of `length` bytes from an HKDF CryptoKey. */
export async function hkdfKey(ikm: CryptoKey, salt: Bytes, info: Bytes, length: number): Promise<Bytes> {
  const bits = await subtle().deriveBits({ name: "HKDF", hash: "SHA-256", salt, info }, ikm, length * 8);
  return new Uint8Array(bits);
}

/** HKDF-SHA256 from raw input keying material (imported non-extractable for this one call). */
export async function hkdf(ikm: Bytes, salt: Bytes, info: Bytes, length: number): Promise<Bytes> {
  const key = await subtle().importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  return hkdfKey(key, salt, info, length);
}

/** AES-256-CBC with PKCS#7 padding (WebCrypto pads). */
export async function cbcEncrypt(key: CryptoKey, iv: Bytes, plaintext: Bytes): Promise<Bytes> {
  return new Uint8Array(await subtle().encrypt({ name: "AES-CBC", iv }, key, plaintext));
}

/**
 * AES-256-CBC decryption and PKCS#7 unpadding; `null` on invalid padding. Only ever
 * called after the tag verified.
 */
export async function cbcDecrypt(key: CryptoKey, iv: Bytes, ciphertext: Bytes): Promise<Bytes | null> {
  try {
    return new Uint8Array(await subtle().decrypt({ name: "AES-CBC", iv }, key, ciphertext));
  } catch {
    return null;
  }
}

/** HMAC-SHA256 tag (32 bytes). */
export async function hmacSign(key: CryptoKey, data: Bytes): Promise<Bytes> {
  return new Uint8Array(await subtle().sign("HMAC", key, data));
}

/** Verifies an HMAC-SHA256 tag with WebCrypto (constant time; no hand-written compare). */
export function hmacVerify(key: CryptoKey, tag: Bytes, data: Bytes): Promise<boolean> {
  return subtle().verify("HMAC", key, tag, data);
}

/** SHA-256 digest. */
export async function sha256(data: Bytes): Promise<Bytes> {
  return new Uint8Array(await subtle().digest("SHA-256", data));
}
