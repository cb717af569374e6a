/**
 * Shares (FORMAT.md 9.9, 9.10): the signed share message, the re-wrap statement of a
 * recipient's key rotation, accepting a received share, the fingerprint text people
 * compare, and username normalisation (1.1).
 */
import { type Bytes, concat, u32be, utf8 } from "./bytes";
import { CofreError, reject } from "./errors";
import type { PublicKey } from "./rsa";
import { verify } from "./signature";
import { base32Encode } from "./text";

/** Context of the owner's share signature (9.9). */
export const CTX_SHARE = utf8("cofre/v1/share");
/** Context of the recipient's re-wrap statement (9.10). */
export const CTX_SHARE_REWRAP = utf8("cofre/v1/share-rewrap");

function lengthPrefixed(...fields: Uint8Array[]): Bytes {
  return concat(...fields.flatMap((f) => [u32be(f.length), f]));
}

/** The share message of 9.9. */
export function shareMessage(itemId: string, owner: string, recipient: string, wrapped: Uint8Array): Bytes {
  return lengthPrefixed(utf8(itemId), utf8(owner), utf8(recipient), wrapped);
}

/** The re-wrap message of 9.10 (`W0`, then `Wn`). */
export function rewrapMessage(itemId: string, owner: string, recipient: string, signed: Uint8Array, current: Uint8Array): Bytes {
  return lengthPrefixed(utf8(itemId), utf8(owner), utf8(recipient), signed, current);
}

/** A share as the recipient receives it (9.10). */
export interface ReceivedShare {
  /** The item id. */
  itemId: string;
  /** The owner's normalized username. */
  owner: string;
  /** The recipient's (this reader's) normalized username. */
  recipient: string;
  /** `Wn`, the current wrapped key. */
  wrappedKey: Uint8Array;
  /** The owner's signature. */
  signature: Uint8Array;
  /** `W0`, present once the recipient re-wrapped. */
  signedWrappedKey?: Uint8Array | undefined;
  /** The recipient's re-wrap signature, present exactly when `signedWrappedKey` is. */
  rewrapSignature?: Uint8Array | undefined;
}

/**
 * Accepts a received share (9.10): directly (the owner's signature over `Wn`, under
 * the owner's **pinned** key) or through the re-wrap statement (the owner's signature
 * over `W0`, and the recipient's own current key's signature over `W0` and `Wn`).
 * Anything else is *bad_signature*.
 */
export async function verifyReceivedShare(ownerPinned: PublicKey, recipientOwn: PublicKey, s: ReceivedShare): Promise<void> {
  const hasSigned = s.signedWrappedKey !== undefined;
  if (hasSigned !== (s.rewrapSignature !== undefined)) reject("bad_signature", "half a re-wrap record");
  try {
    await verify(ownerPinned, CTX_SHARE, shareMessage(s.itemId, s.owner, s.recipient, s.wrappedKey), s.signature);
    return;
  } catch (e) {
    if (!(e instanceof CofreError) || s.signedWrappedKey === undefined || s.rewrapSignature === undefined) throw e;
  }
  await verify(ownerPinned, CTX_SHARE, shareMessage(s.itemId, s.owner, s.recipient, s.signedWrappedKey), s.signature);
  await verify(
    recipientOwn,
    CTX_SHARE_REWRAP,
    rewrapMessage(s.itemId, s.owner, s.recipient, s.signedWrappedKey, s.wrappedKey),
    s.rewrapSignature,
  );
}

/** The fingerprint text (9.9): the first 20 bytes of the fingerprint in lower-case base32, 8 groups of 4. */
export function fingerprintText(fingerprint: Uint8Array): string {
  const b32 = base32Encode(fingerprint.subarray(0, 20)).toLowerCase();
  const groups: string[] = [];
  for (let i = 0; i < 32; i += 4) groups.push(b32.slice(i, i + 4));
  return groups.join(" ");
}

/**
 * A username's normalized form (1.1): trim Unicode White_Space, NFKC, lower-case; then
 * 3 to 32 of `a–z 0–9 . _ -`, first and last a letter or digit. `null` if it is not a username.
 */
export function normalizeUsername(typed: string): string | null {
  const n = typed.replace(/^\p{White_Space}+|\p{White_Space}+$/gu, "").normalize("NFKC").toLowerCase();
  return /^[a-z0-9](?:[a-z0-9._-]{1,30})[a-z0-9]$/.test(n) ? n : null;
}
