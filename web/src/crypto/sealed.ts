/**
 * Sealed box (FORMAT.md 5): AES-256-CBC + PKCS#7, then HMAC-SHA256 over the header,
 * the length-prefixed context, the IV and the ciphertext (encrypt-then-MAC).
 */
import { type Bytes, concat, copy, randomBytes, u32be } from "./bytes";
import { decryptError, reject } from "./errors";
import { FormatType, checkHeader, header } from "./header";
import { type SymmetricKey, cbcDecrypt, cbcEncrypt, hmacSign, hmacVerify } from "./symmetric";

const HEADER = header(FormatType.SealedBox);
/** The shortest sealed box: header, IV, one block, tag. */
export const MIN_SEALED_LEN = 3 + 16 + 16 + 32;

/** The parts of a sealed box (5.2 steps 1–3, which need no key). */
export interface SealedParts {
  /** The 16-byte IV. */
  iv: Bytes;
  /** The ciphertext, a positive multiple of 16 bytes. */
  ciphertext: Bytes;
  /** The 32-byte tag. */
  tag: Bytes;
}

/** `mac_input` of 5.1 step 3. */
export function sealedMacInput(context: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array): Bytes {
  return concat(HEADER, u32be(context.length), context, iv, ciphertext);
}

/** Parses a sealed box (5.2 steps 1–3): header, length, ciphertext blocks. */
export function parseSealed(data: Uint8Array): SealedParts {
  checkHeader(data, FormatType.SealedBox);
  if (data.length < MIN_SEALED_LEN) reject("malformed", "shorter than 67 bytes");
  const ciphertext = copy(data.subarray(19, data.length - 32));
  if (ciphertext.length === 0 || ciphertext.length % 16 !== 0) {
    reject("malformed", "ciphertext is not a positive multiple of 16");
  }
  return { iv: copy(data.subarray(3, 19)), ciphertext, tag: copy(data.subarray(data.length - 32)) };
}

/**
 * Seals `plaintext` under `key` and `context` (5.1). `iv` is random unless given (the
 * test vectors give it).
 */
export async function seal(key: SymmetricKey, context: Uint8Array, plaintext: Bytes, iv?: Bytes): Promise<Bytes> {
  const theIv = iv ?? randomBytes(16);
  if (theIv.length !== 16) throw new RangeError("the IV is 16 bytes");
  const ciphertext = await cbcEncrypt(key.enc, theIv, plaintext);
  const tag = await hmacSign(key.mac, sealedMacInput(context, theIv, ciphertext));
  return concat(HEADER, theIv, ciphertext, tag);
}

/**
 * Opens a sealed box (5.2): the tag is verified by WebCrypto before anything is
 * decrypted; a wrong tag and invalid padding are the one *decrypt* error.
 */
export async function open(key: SymmetricKey, context: Uint8Array, data: Uint8Array): Promise<Bytes> {
  const { iv, ciphertext, tag } = parseSealed(data);
  if (!(await hmacVerify(key.mac, tag, sealedMacInput(context, iv, ciphertext)))) throw decryptError();
  const plain = await cbcDecrypt(key.enc, iv, ciphertext);
  if (plain === null) throw decryptError();
  return plain;
}
