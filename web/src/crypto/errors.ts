/**
 * The error classes of FORMAT.md 2.3. Every reader in this folder fails with a
 * {@link CofreError} whose `cls` is one of them, the same classes the Rust core reports
 * and docs/vectors name for each negative vector.
 */

/** An error class of FORMAT.md 2.3. */
export type ErrorClass =
  | "unsupported"
  | "malformed"
  | "decrypt"
  | "key_mismatch"
  | "bad_signature"
  | "invalid_key"
  | "kdf_params"
  | "json";

/** A reader refused its input; `cls` is the class of FORMAT.md 2.3. */
export class CofreError extends Error {
  /** The error class. */
  readonly cls: ErrorClass;

  constructor(cls: ErrorClass, why: string) {
    // Within *decrypt* the message never says which check failed (FORMAT.md 2.3).
    super(cls === "decrypt" ? "decryption failed" : `${cls}: ${why}`);
    this.name = "CofreError";
    this.cls = cls;
  }
}

/** Throws a {@link CofreError} of class `cls`. */
export function reject(cls: ErrorClass, why: string): never {
  throw new CofreError(cls, why);
}

/** The one *decrypt* error (FORMAT.md 2.3: one error value, one message, no output). */
export function decryptError(): CofreError {
  return new CofreError("decrypt", "");
}
