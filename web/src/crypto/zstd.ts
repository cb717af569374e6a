/**
 * Zstandard (RFC 8878) decompression for backup entries (FORMAT.md 13.6 step 10.4),
 * from `fzstd` (WebCrypto has no decompressor). cofre's reader accepts exactly one
 * complete frame and nothing after it; `fzstd` reads concatenated frames, so the frame's
 * extent is found here first from its block headers (no decompression needed), and a
 * frame that declares a content size other than the expected one is refused before
 * any output is made.
 */
import { decompress } from "fzstd";
import type { Bytes } from "./bytes";

const MAGIC = 0xfd2fb528;

/** The frame's length and declared content size, or `null` if `data` does not start with a frame. */
function frameExtent(data: Uint8Array): { length: number; contentSize: bigint | null } | null {
  if (data.length < 6) return null;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (view.getUint32(0, true) !== MAGIC) return null;
  const fhd = data[4]!;
  const fcsFlag = fhd >> 6;
  const singleSegment = (fhd >> 5) & 1;
  const checksum = (fhd >> 2) & 1;
  const didSize = [0, 1, 2, 4][fhd & 3]!;
  const fcsSize = fcsFlag === 0 ? singleSegment : [1, 2, 4, 8][fcsFlag]!;
  if ((fhd >> 3) & 1) return null; // reserved bit
  let at = 5 + (singleSegment ? 0 : 1) + didSize;
  if (at + fcsSize > data.length) return null;
  let contentSize: bigint | null = null;
  if (fcsSize > 0) {
    let v = 0n;
    for (let i = fcsSize - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[at + i]!);
    contentSize = fcsSize === 2 ? v + 256n : v;
  }
  at += fcsSize;
  for (;;) {
    if (at + 3 > data.length) return null;
    const bh = data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16);
    const last = bh & 1;
    const type = (bh >> 1) & 3;
    const size = bh >>> 3;
    if (type === 3) return null; // reserved block type
    at += 3 + (type === 1 ? 1 : size);
    if (at > data.length) return null;
    if (last) break;
  }
  if (checksum) at += 4;
  return at <= data.length ? { length: at, contentSize } : null;
}

/**
 * Decompresses exactly one complete frame of at most `maxSize` bytes; `null` if the
 * input is anything else (another frame after it, trailing bytes, a skippable frame, a
 * damaged frame) or the frame declares more than `maxSize` bytes.
 */
export function zstdDecompressOneFrame(data: Uint8Array, maxSize: number): Bytes | null {
  const frame = frameExtent(data);
  if (frame === null || frame.length !== data.length) return null;
  if (frame.contentSize !== null && frame.contentSize > BigInt(maxSize)) return null;
  try {
    const out = decompress(data);
    const copy = new Uint8Array(out.length);
    copy.set(out);
    return copy;
  } catch {
    return null;
  }
}
