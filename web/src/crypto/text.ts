/**
 * The text form of FORMAT.md 10 (strict, unpadded base64url), and the other
 * encodings people or files see: base32 for the recovery key (9.5) and the fingerprint
 * text (9.9), and padded standard base64 for PEM (13.8).
 */
import type { Bytes } from "./bytes";
import { reject } from "./errors";

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B64STD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

function encode64(data: Uint8Array, alphabet: string, pad: boolean): string {
  let out = "";
  let i = 0;
  for (; i + 3 <= data.length; i += 3) {
    const n = (data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!;
    out += alphabet[(n >> 18) & 63]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + alphabet[n & 63]!;
  }
  const rest = data.length - i;
  if (rest === 1) {
    const n = data[i]! << 16;
    out += alphabet[(n >> 18) & 63]! + alphabet[(n >> 12) & 63]! + (pad ? "==" : "");
  } else if (rest === 2) {
    const n = (data[i]! << 16) | (data[i + 1]! << 8);
    out += alphabet[(n >> 18) & 63]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + (pad ? "=" : "");
  }
  return out;
}

/** Decodes unpadded base64 in `alphabet`; `null` if a character is outside it or the length is 4j+1. */
function decode64(text: string, alphabet: string): Bytes | null {
  if (text.length % 4 === 1) return null;
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let at = 0;
  for (const c of text) {
    const v = alphabet.indexOf(c);
    if (v < 0 || c.length !== 1) return null;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

/** The text form of `data` (FORMAT.md 10): base64url without padding. */
export function textEncode(data: Uint8Array): string {
  return encode64(data, B64URL, false);
}

/**
 * Strict decoding of the text form (FORMAT.md 10): any character outside the
 * alphabet (including `=`), a length of 4j+1, or non-zero unused bits: *malformed*.
 */
export function textDecode(text: string): Bytes {
  const data = decode64(text, B64URL);
  if (data === null) reject("malformed", "not base64url text");
  if (textEncode(data) !== text) reject("malformed", "non-zero trailing bits");
  return data;
}

/** Padded standard base64 (RFC 4648 §4), as PEM bodies use. */
export function base64Encode(data: Uint8Array): string {
  return encode64(data, B64STD, true);
}

/** Strict padded standard base64: canonical only (re-encoding gives the same text), else *malformed*. */
export function base64DecodeCanonical(text: string): Bytes {
  if (text.length % 4 !== 0) reject("malformed", "base64 length");
  const stripped = text.endsWith("==") ? text.slice(0, -2) : text.endsWith("=") ? text.slice(0, -1) : text;
  const data = decode64(stripped, B64STD);
  if (data === null || base64Encode(data) !== text) reject("malformed", "not canonical base64");
  return data;
}

/** RFC 4648 §6 base32 without padding, upper case. */
export function base32Encode(data: Uint8Array): string {
  let out = "";
  let acc = 0;
  let bits = 0;
  for (const b of data) {
    acc = ((acc << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += B32[(acc >> bits) & 31]!;
    }
  }
  if (bits > 0) out += B32[(acc << (5 - bits)) & 31]!;
  return out;
}

/** Strict base32 decoding (upper case, no padding, zero trailing bits); `null` if invalid. */
export function base32DecodeStrict(text: string): Bytes | null {
  const out = new Uint8Array(Math.floor((text.length * 5) / 8));
  let acc = 0;
  let bits = 0;
  let at = 0;
  for (const c of text) {
    const v = B32.indexOf(c);
    if (v < 0 || c.length !== 1) return null;
    acc = ((acc << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (acc >> bits) & 0xff;
    }
  }
  if (base32Encode(out) !== text) return null;
  return out;
}
