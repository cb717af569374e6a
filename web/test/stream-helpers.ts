/** Stream helpers shared by the vector checks: a trickling source, re-encryption with fixed IVs, header and key checks. */
import * as c from "../src/crypto/index";
import type { Vec } from "./harness";
import { assertBytes, h } from "./harness";

/** A source that hands out at most 7 bytes per piece (exercises the reader's look-ahead). */
async function* trickle(data: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += 7) yield data.subarray(i, i + 7);
}

/** Decrypts a whole stream through a trickling source. */
export async function decryptAll(key: c.SymmetricKey, ctx: Uint8Array, enc: Uint8Array): Promise<c.Bytes> {
  return c.collect(c.decryptStream(key, ctx, trickle(enc)));
}

/** Re-encrypts with the vector's nonce and chunk IVs. */
export async function encryptWith(key: c.SymmetricKey, ctx: Uint8Array, log2c: number, nonce: string, pt: Uint8Array, ivs: string[]): Promise<c.Bytes> {
  let i = 0;
  return c.collect(
    c.encryptStream(key, ctx, trickle(pt), {
      log2c,
      nonce: h(nonce),
      iv: () => h(ivs[i++]!),
    }),
  );
}

/** Checks a stream's header, HKDF info and stream keys against a vector. */
export async function checkStreamParts(key: c.SymmetricKey, ctx: Uint8Array, s: Vec, enc: Uint8Array): Promise<void> {
  const log2c = Number(s.chunk_log2);
  const header = c.streamHeader(log2c, h(s.nonce));
  assertBytes(enc.subarray(0, 20), header, "stream header");
  assertBytes(header, h(s.header), "stored header");
  assertBytes(c.streamInfo(header, ctx), h(s.hkdf_info), "hkdf info");
  assertBytes(await c.streamKeyBytes(key, header, ctx), c.concat(h(s.stream_enc_key), h(s.stream_mac_key)), "stream keys");
}

