/**
 * cofre's formats (docs/FORMAT.md) on WebCrypto: one module per concept, re-exported
 * here. Every primitive WebCrypto has (AES-CBC, HMAC-SHA256, HKDF, PBKDF2, RSA-OAEP,
 * RSA-PSS, SHA-256, random) comes from `crypto.subtle`/`crypto.getRandomValues`;
 * Argon2id, which it lacks, from hash-wasm in a worker; zstd (backups) from fzstd.
 */
export * from "./bytes";
export * from "./errors";
export * from "./header";
export * from "./text";
export * from "./json";
export * from "./symmetric";
export * from "./rsa";
export * from "./sealed";
export * from "./wrapped";
export * from "./signature";
export * from "./stream";
export * from "./argon2";
export * from "./keys";
export * from "./item";
export * from "./share";
export * from "./zstd";
export * from "./backup";
