/**
 * Wrapped key (FORMAT.md 6): a 64-byte symmetric key encrypted with RSA-OAEP-SHA256 to
 * one recipient, the header, key id and context in the OAEP label.
 */
import { type Bytes, concat, copy, equalPublic, u32be } from "./bytes";
import { decryptError, reject } from "./errors";
import { FormatType, checkHeader, header } from "./header";
import type { PrivateKey, PublicKey } from "./rsa";

const HEADER = header(FormatType.WrappedKey);

/** The OAEP label of 6.1 step 2. */
export function wrapLabel(keyId: Uint8Array, context: Uint8Array): Bytes {
  return concat(HEADER, keyId, u32be(context.length), context);
}

/**
 * Splits an RSA envelope (wrapped key or signature): header check, then a length of
 * 19 + 384..=1024 bytes (*malformed*). Returns the key id and the RSA part.
 */
export function splitRsaEnvelope(data: Uint8Array, type: number): { keyId: Bytes; body: Bytes } {
  checkHeader(data, type);
  if (data.length < 19 || data.length - 19 < 384 || data.length - 19 > 1024) reject("malformed", "length");
  return { keyId: copy(data.subarray(3, 19)), body: copy(data.subarray(19)) };
}

/** Wraps the 64-byte `key` for `recipient` under `context` (6.1). */
export async function wrap(recipient: PublicKey, key: Uint8Array, context: Uint8Array): Promise<Bytes> {
  if (key.length !== 64) throw new RangeError("a symmetric key is 64 bytes");
  const label = wrapLabel(recipient.keyId, context);
  const ct = await crypto.subtle.encrypt({ name: "RSA-OAEP", label }, recipient.oaep, copy(key));
  return concat(HEADER, recipient.keyId, new Uint8Array(ct));
}

/**
 * Unwraps (6.2): *key_mismatch* for another key id; a wrong length, any OAEP failure
 * and a plaintext other than 64 bytes are the one *decrypt* error. Returns the 64
 * raw bytes (a symmetric key is three WebCrypto keys, so it cannot be unwrapped into one).
 */
export async function unwrap(reader: PrivateKey, context: Uint8Array, data: Uint8Array): Promise<Bytes> {
  const { keyId, body } = splitRsaEnvelope(data, FormatType.WrappedKey);
  if (!equalPublic(keyId, reader.publicKey.keyId)) reject("key_mismatch", "wrapped for another key");
  if (body.length !== reader.publicKey.modulusLen) throw decryptError();
  let plain: Bytes;
  try {
    const label = wrapLabel(keyId, context);
    plain = new Uint8Array(await crypto.subtle.decrypt({ name: "RSA-OAEP", label }, reader.oaep, body));
  } catch {
    throw decryptError();
  }
  if (plain.length !== 64) throw decryptError();
  return plain;
}
