/**
 * backup.json (FORMAT.md 13) in the browser, as check_vectors.py checks it: the signer
 * key, the archive part by part and whole, its restore with the signer pinned and not,
 * every refused archive with its class, the backup key file and the PEM public key.
 */
import * as c from "../src/crypto/index";
import type { Harness, Vec } from "./harness";
import { assert, assertBytes, h } from "./harness";
import { checkStreamParts, decryptAll, encryptWith } from "./stream-helpers";

interface RsaFixture {
  sk: c.PrivateKey;
  pub: c.PublicKey;
  spki: c.Bytes;
}

/** A canonical text of a JSON-like value: sorted members, integers as decimal strings. */
function manifestText(m: c.Manifest | Vec): string {
  const canon = (x: unknown): unknown => {
    if (typeof x === "bigint" || typeof x === "number") return String(x);
    if (Array.isArray(x)) return x.map(canon);
    if (x !== null && typeof x === "object") {
      return Object.fromEntries(Object.keys(x).sort().map((k) => [k, canon((x as Record<string, unknown>)[k])]));
    }
    return x;
  };
  return JSON.stringify(canon(m));
}

/** Checks backup.json. */
export async function checkBackup(t: Harness, v: Vec, k: RsaFixture): Promise<void> {
  const a = v.archive as Vec;
  const sv = v.signer_key as Vec;
  let signer: { sk: c.PrivateKey; pub: c.PublicKey } | null = null;
  await t.run("checks", "backup: signer key", async () => {
    const sk = await c.PrivateKey.import(h(sv.private_key_pkcs8));
    const spki = h(sv.public_key_spki);
    assertBytes(sk.publicKey.spki, spki, "signer SPKI");
    assert(c.toHex(spki) !== c.toHex(k.spki), "a second key");
    const pub = await c.PublicKey.import(spki);
    assert(pub.modulusLen * 8 === Number(sv.modulus_bits) && Number(sv.modulus_bits) === 3072, "modulus");
    assertBytes(c.textDecode(sv.public_key_text), spki, "text form");
    assertBytes(pub.fingerprint, h(sv.fingerprint), "fingerprint");
    assertBytes(pub.keyId, h(sv.key_id), "key id");
    assert(c.fingerprintText(pub.fingerprint) === sv.fingerprint_text, "fingerprint text");
    signer = { sk, pub };
  });
  const s = signer as { sk: c.PrivateKey; pub: c.PublicKey } | null;
  if (s === null) {
    t.fail("backup.json", "checks", "the signer key did not load: the archive checks were not run");
    return;
  }

  await t.run("checks", "backup: archive", async () => {
    const data = h(a.encoding);
    const backupId = h(a.backup_id);
    const archiveKey = h(a.archive_key);
    assert(data.length === Number(a.length) && backupId.length === 16 && archiveKey.length === 64, "sizes");
    const keyCtx = c.concat(c.CTX_BACKUP_KEY_PREFIX, backupId);
    assertBytes(keyCtx, h(a.key_context), "key context");
    assertBytes(c.wrapLabel(k.pub.keyId, keyCtx), h(a.oaep_label), "OAEP label");
    const wrapped = h(a.wrapped_key);
    const header = c.concat(new Uint8Array([5, 1, 1]), backupId, new Uint8Array([wrapped.length >> 8, wrapped.length & 0xff]), wrapped);
    assertBytes(header, h(a.header), "header");
    assertBytes(data.subarray(0, header.length), header, "archive starts with the header");
    assert(header.length === Number(a.header_len), "header length");
    const parsed = c.parseBackupHeader(data);
    assertBytes(parsed.backupId, backupId, "parsed backup id");
    assertBytes(parsed.wrapped, wrapped, "parsed wrapped key");
    assert(parsed.headerLen === header.length, "parsed header length");
    assertBytes(await c.unwrap(k.sk, keyCtx, wrapped), archiveKey, "archive key");
    const fresh = await c.wrap(k.pub, archiveKey, keyCtx);
    assert(fresh.length === wrapped.length && c.toHex(fresh.subarray(0, 19)) === c.toHex(wrapped.subarray(0, 19)), "fresh wrap layout");
    assertBytes(await c.unwrap(k.sk, keyCtx, fresh), archiveKey, "fresh wrap");
    const key = await c.SymmetricKey.import(archiveKey);
    let at = header.length;
    const m = a.manifest as Vec;
    for (const [i, e] of (a.entries as Vec[]).entries()) {
      const f = m.files[i] as Vec;
      const ctx = c.fileContext(backupId, i, e.path);
      assertBytes(ctx, h(e.context), "entry context");
      assert(Number(e.index) === i && f.path === e.path, "entry index and path");
      const enc = h(e.encoding);
      const stored = h(e.stored);
      const restored = h(e.restored);
      assertBytes(data.subarray(at, at + enc.length), enc, "entry bytes");
      assert(Number(f.offset) === at && Number(e.offset) === at, "offset");
      assert(Number(f.length) === enc.length && Number(e.length) === enc.length, "length");
      const sum = c.toHex(await c.sha256(enc));
      assert(f.sha256 === sum && e.sha256 === sum, "sha256");
      assert(Number(f.stored_size) === stored.length && Number(e.stored_size) === stored.length, "stored size");
      assert(Number(f.size) === restored.length && Number(e.size) === restored.length, "size");
      assert(f.compression === e.compression, "compression");
      assert(Number(e.chunk_log2) === 16, "log2C");
      await checkStreamParts(key, ctx, e, enc);
      assertBytes(await decryptAll(key, ctx, enc), stored, "stored bytes");
      const ivs = (e.chunks as Vec[]).map((x) => x.iv as string);
      assertBytes(await encryptWith(key, ctx, 16, e.nonce, stored, ivs), enc, "re-encryption");
      if (e.compression === "none") assertBytes(stored, restored, "uncompressed");
      else {
        assert(stored[0] === 0x28 && stored[1] === 0xb5 && stored[2] === 0x2f && stored[3] === 0xfd, "a zstd frame");
        assertBytes(c.zstdDecompressOneFrame(stored, restored.length) ?? new Uint8Array(0), restored, "decompressed");
      }
      at += enc.length;
    }
    assert(at === Number(a.manifest_offset), "manifest offset");
    const mj = c.utf8(a.manifest_json);
    assertBytes(data.subarray(at, at + mj.length), mj, "manifest bytes");
    const parsedManifest = c.parseManifest(mj, backupId, header.length, at);
    assert(manifestText(parsedManifest) === manifestText(m), "manifest members");
    assertBytes(c.textDecode(m.signer), s.pub.spki, "signer in the manifest");
    const sctx = a.signature_context as Vec;
    assertBytes(h(sctx.hex), c.CTX_BACKUP_MANIFEST, "signature context");
    assertBytes(c.utf8(sctx.ascii), c.CTX_BACKUP_MANIFEST, "signature context text");
    const sig = h(a.signature);
    const message = c.concat(header, mj);
    assertBytes(c.signedMessage(s.pub.keyId, c.CTX_BACKUP_MANIFEST, message), h(a.signed_message), "signed message");
    await c.verify(s.pub, c.CTX_BACKUP_MANIFEST, message, sig);
    const freshSig = await c.sign(s.sk, c.CTX_BACKUP_MANIFEST, message);
    assert(freshSig.length === sig.length && c.toHex(freshSig) !== c.toHex(sig), "fresh signature");
    await c.verify(s.pub, c.CTX_BACKUP_MANIFEST, message, freshSig);
    const trailer = c.concat(c.u32be(mj.length), c.u32be(sig.length), c.utf8("cofrebk1"));
    assertBytes(trailer, h(a.trailer), "trailer");
    assertBytes(data.subarray(data.length - 16), trailer, "archive ends with the trailer");
    const entries = c.concat(...(a.entries as Vec[]).map((e) => h(e.encoding)));
    assertBytes(c.concat(header, entries, mj, sig, trailer), data, "whole archive");
    const pinned = await c.openBackup(data, s.pub.spki);
    const unpinned = await c.openBackup(data);
    assert(manifestText(pinned.manifest) === manifestText(m) && manifestText(unpinned.manifest) === manifestText(m), "opened");
  });

  await t.run("checks", "backup: archive restored", async () => {
    const data = h(a.encoding);
    const want = (a.entries as Vec[]).map((e) => `${e.path}:${e.restored}`).join(",");
    const got = (files: c.RestoredFile[]): string => files.map((f) => `${f.path}:${c.toHex(f.data)}`).join(",");
    assert(got(await c.readBackup(data, k.sk, s.pub.spki)) === want, "restored, signer pinned");
    assert(got(await c.readBackup(data, k.sk)) === want, "restored, signer not pinned");
  });

  for (const n of v.negative as Vec[]) {
    const key = n.backup_private_key === "signer_key" ? s.sk : k.sk;
    const data = h(n.archive);
    await t.reject("negative", n, () => c.readBackup(data, key, s.pub.spki));
    if (n.accepted_without_pinning === true) {
      await t.run("accepted_without_pinning", "accepted without pinning: " + n.description, () => c.readBackup(data, key));
    }
  }

  const kf = v.key_file as Vec;
  await t.run("checks", "backup: key file", async () => {
    assertBytes(c.passwordBytes(kf.passphrase), h(kf.passphrase_nfc_hex), "passphrase bytes");
    const kdf = c.parseKdfParams(JSON.stringify(kf.kdf));
    assert(kdf.alg === "argon2id" && kdf.memoryKib === 19456 && kdf.iterations === 2 && kdf.parallelism === 1, "KDF");
    const salt = h(kf.salt);
    const mk = await c.masterKey(kf.passphrase, salt, kdf);
    assertBytes(mk, h(kf.master_key), "master key");
    assertBytes(await c.stretchedKeyBytes(mk), h(kf.stretched_key), "stretched key");
    const ctx = kf.context as Vec;
    assertBytes(h(ctx.hex), c.CTX_BACKUP_PRIVATE_KEY, "context");
    assertBytes(c.utf8(ctx.ascii), c.CTX_BACKUP_PRIVATE_KEY, "context text");
    const sk = await c.stretchedKey(mk);
    const pkcs8 = await c.open(sk, c.CTX_BACKUP_PRIVATE_KEY, h(kf.sealed_private_key));
    assertBytes(await c.seal(sk, c.CTX_BACKUP_PRIVATE_KEY, pkcs8, h(kf.iv)), h(kf.sealed_private_key), "re-seal");
    const written = {
      format: c.BACKUP_KEY_FILE_FORMAT,
      public_key: c.textEncode(k.spki),
      kdf: { alg: "argon2id", memory_kib: 19456, iterations: 2, parallelism: 1 },
      salt: c.textEncode(salt),
      private_key: c.textEncode(h(kf.sealed_private_key)),
    };
    assert(JSON.stringify(written, null, 2) === kf.key_file_json, "cofre's writing form");
    const opened = await c.openBackupKeyFile(kf.key_file_json, kf.passphrase);
    assertBytes(opened.publicKey.spki, k.spki, "opened key");
  });
  for (const n of v.key_file_negative as Vec[]) {
    await t.reject("key_file_negative", n, () => c.openBackupKeyFile(n.key_file_json, n.passphrase));
  }

  await t.run("checks", "backup: PEM public key", async () => {
    const text = v.public_key_pem as string;
    assert(c.writePem(k.spki) === text, "cofre's PEM");
    assertBytes((await c.parsePem(text)).spki, k.spki, "cofre's PEM read back");
  });
  for (const p of v.pem_accepted as string[]) {
    await t.run("pem_accepted", `backup: PEM accepted ${JSON.stringify(p.slice(0, 30))}…`, async () => {
      assertBytes((await c.parsePem(p)).spki, k.spki, "accepted PEM");
    });
  }
  for (const n of v.pem_negative as Vec[]) {
    await t.reject("pem_negative", n, () => c.parsePem(n.pem));
  }
}
