/**
 * The common three-byte header of FORMAT.md 2.1: format type, version, algorithm.
 */
import { reject } from "./errors";

/** Format type bytes (FORMAT.md 2.1). */
export const FormatType = {
  SealedBox: 0x01,
  WrappedKey: 0x02,
  Signature: 0x03,
  Stream: 0x04,
  Backup: 0x05,
} as const;

/** Version 1, the only version of each type so far. */
export const VERSION_1 = 0x01;
/** Algorithm 1, the only algorithm of version 1 of each type. */
export const ALGORITHM_1 = 0x01;

/** The header bytes of version 1 of `type`. */
export function header(type: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array([type, VERSION_1, ALGORITHM_1]);
}

/**
 * Checks the header for `type`, before any cryptographic work: at least 3 bytes
 * (*malformed*), then type, version and algorithm (*unsupported*).
 */
export function checkHeader(data: Uint8Array, type: number): void {
  if (data.length < 3) reject("malformed", "shorter than the header");
  if (data[0] !== type) reject("unsupported", "format type");
  if (data[1] !== VERSION_1) reject("unsupported", "version");
  if (data[2] !== ALGORITHM_1) reject("unsupported", "algorithm");
}
