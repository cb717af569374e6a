/**
 * Signature (FORMAT.md 7): RSA-PSS-SHA256 with a 32-byte salt over the header, key id,
 * length-prefixed context and message.
 */
import { type Bytes, concat, equalPublic, u32be } from "./bytes";
import { reject } from "./errors";
import { FormatType, header } from "./header";
import type { PrivateKey, PublicKey } from "./rsa";
import { splitRsaEnvelope } from "./wrapped";

const HEADER = header(FormatType.Signature);
const PSS_PARAMS = { name: "RSA-PSS", saltLength: 32 } as const;

/** The signed message `S` of 7.1 step 2. */
export function signedMessage(keyId: Uint8Array, context: Uint8Array, message: Uint8Array): Bytes {
  return concat(HEADER, keyId, u32be(context.length), context, message);
}

/** Signs `message` under `context` (7.1). */
export async function sign(signer: PrivateKey, context: Uint8Array, message: Uint8Array): Promise<Bytes> {
  const keyId = signer.publicKey.keyId;
  const sig = await crypto.subtle.sign(PSS_PARAMS, signer.pss, signedMessage(keyId, context, message));
  return concat(HEADER, keyId, new Uint8Array(sig));
}

/**
 * Verifies (7.2): header (*unsupported* or *malformed*), length (*malformed*), then key
 * id, signature length and the PSS check with salt length exactly 32 (*bad_signature*).
 */
export async function verify(signer: PublicKey, context: Uint8Array, message: Uint8Array, data: Uint8Array): Promise<void> {
  const { keyId, body } = splitRsaEnvelope(data, FormatType.Signature);
  if (!equalPublic(keyId, signer.keyId)) reject("bad_signature", "signed by another key");
  if (body.length !== signer.modulusLen) reject("bad_signature", "signature length");
  let ok: boolean;
  try {
    ok = await crypto.subtle.verify(PSS_PARAMS, signer.pss, body, signedMessage(keyId, context, message));
  } catch {
    ok = false;
  }
  if (!ok) reject("bad_signature", "PSS verification failed");
}
