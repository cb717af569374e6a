/**
 * The browser test page: loads every file of docs/vectors (the list comes from
 * `vectors/index.json`) and checks each vector through the WebCrypto implementation in
 * `src/crypto`, as docs/vectors/check_vectors.py does in Python: positive vectors decode
 * to the stored values and the deterministic ones re-encode byte for byte; negative
 * vectors are rejected with the stored error class (FORMAT.md 2.3).
 *
 * The result is published as `window.__cofreVectors` for the driver (run-browser.mjs):
 * every result, and per file how many elements of each top-level array were run, so a
 * driver can check that nothing was skipped.
 */
import * as c from "../src/crypto/index";
import { checkBackup } from "./backup-vectors";
import type { Vec } from "./harness";
import { Harness, assert, assertBytes, h } from "./harness";
import { checkStreamParts, decryptAll, encryptWith } from "./stream-helpers";

async function sym(hex: string): Promise<c.SymmetricKey> {
  return c.SymmetricKey.import(h(hex));
}

async function checkSealedBoxes(t: Harness, v: Vec): Promise<void> {
  for (const cs of v.cases as Vec[]) {
    await t.run("cases", "sealed box: " + cs.description, async () => {
      const key = await sym(cs.key);
      const ctx = h(cs.context);
      const pt = h(cs.plaintext);
      const enc = h(cs.encoding);
      assertBytes(c.textDecode(cs.text), enc, "text form");
      assert(c.textEncode(enc) === cs.text, "text encode");
      assertBytes(await c.open(key, ctx, enc), pt, "plaintext");
      assertBytes(await c.seal(key, ctx, pt, h(cs.iv)), enc, "seal");
      assertBytes(c.sealedMacInput(ctx, h(cs.iv), enc.subarray(19, enc.length - 32)), h(cs.mac_input), "mac input");
      assertBytes(enc.subarray(19, enc.length - 32), h(cs.ciphertext), "ciphertext");
      assertBytes(enc.subarray(enc.length - 32), h(cs.tag), "tag");
      assert(enc.length === 67 + 16 * Math.floor(pt.length / 16), "length");
    });
  }
  for (const n of v.negative as Vec[]) {
    await t.reject("negative", n, async () => c.open(await sym(n.key), h(n.context), h(n.encoding)));
  }
  await t.run("checks", "sealed box: good text", async () => {
    c.parseSealed(c.textDecode(v.good_text));
  });
  for (const n of v.text_negative as Vec[]) {
    await t.reject("text_negative", n, async () => c.parseSealed(c.textDecode(n.text)));
  }
}

async function checkStreams(t: Harness, v: Vec): Promise<void> {
  for (const cs of v.cases as Vec[]) {
    await t.run("cases", "stream: " + cs.description, async () => {
      const key = await sym(cs.key);
      const ctx = h(cs.context);
      const pt = h(cs.plaintext);
      const enc = h(cs.encoding);
      const log2c = Number(cs.chunk_log2);
      await checkStreamParts(key, ctx, cs, enc);
      assertBytes(await decryptAll(key, ctx, enc), pt, "plaintext");
      assertBytes(await c.decryptToBytes(key, ctx, enc), pt, "plaintext, whole");
      const chunks = cs.chunks as Vec[];
      assertBytes(await encryptWith(key, ctx, log2c, cs.nonce, pt, chunks.map((x) => x.iv)), enc, "re-encryption");
      const size = 2 ** log2c;
      const m = Math.max(1, Math.ceil(pt.length / size));
      const r = pt.length - (m - 1) * size;
      assert(enc.length === 20 + (m - 1) * (size + 64) + 48 + 16 * (Math.floor(r / 16) + 1), "length");
      assert(chunks.length === m, "chunk count");
      let pos = 20;
      chunks.forEach((ch, i) => {
        assert(Number(ch.index) === i && ch.last === (i === m - 1), "index and flag");
        assert(Number(ch.encoded_len) === 64 + 16 * Math.floor(Number(ch.plaintext_len) / 16), "encoded length");
        assertBytes(enc.subarray(pos, pos + 16), h(ch.iv), "chunk iv");
        pos += Number(ch.encoded_len);
        assertBytes(enc.subarray(pos - 32, pos), h(ch.tag), "chunk tag");
      });
      assert(pos === enc.length, "chunks cover the stream");
      // The ReadableStream form delivers the same bytes.
      const rs = c.decryptingReadable(key, ctx, new Blob([enc]).stream());
      assertBytes(await c.collect(c.piecesOfReadable(rs)), pt, "readable stream");
    });
  }
  for (const n of v.negative as Vec[]) {
    await t.reject("negative", n, async () => decryptAll(await sym(n.key), h(n.context), h(n.encoding)));
  }
}

interface RsaFixture {
  sk: c.PrivateKey;
  pub: c.PublicKey;
  spki: c.Bytes;
}

async function checkRsaKey(t: Harness, v: Vec): Promise<RsaFixture | null> {
  let out: RsaFixture | null = null;
  await t.run("checks", "RSA key", async () => {
    const sk = await c.PrivateKey.import(h(v.private_key_pkcs8));
    const spki = h(v.public_key_spki);
    assertBytes(sk.publicKey.spki, spki, "public key of the private key");
    const pub = await c.PublicKey.import(spki);
    assert(pub.modulusLen * 8 === Number(v.modulus_bits) && Number(v.modulus_bits) === 3072, "modulus");
    assert(spki.length === 422 && spki[0] === 0x30 && spki[1] === 0x82 && spki[2] === 0x01 && spki[3] === 0xa2, "SPKI start");
    assertBytes(c.textDecode(v.public_key_text), spki, "text form");
    assertBytes(pub.fingerprint, h(v.fingerprint), "fingerprint");
    assertBytes(pub.keyId, h(v.key_id), "key id");
    const jwk = await crypto.subtle.exportKey("jwk", pub.oaep);
    assert(jwk.e === "AQAB", "exponent 65537");
    out = { sk, pub, spki };
  });
  for (const n of v.negative as Vec[]) {
    await t.reject("negative", n, async () => c.PublicKey.import(h(n.spki)));
  }
  return out;
}

async function checkFreshWrap(pub: c.PublicKey, sk: c.PrivateKey, enc: Uint8Array, key: Uint8Array, ctx: Uint8Array): Promise<void> {
  assertBytes(await c.unwrap(sk, ctx, enc), key, "unwrapped key");
  const fresh = await c.wrap(pub, key, ctx);
  assertBytes(fresh.subarray(0, 19), enc.subarray(0, 19), "fresh wrap header and key id");
  assert(fresh.length === enc.length && c.toHex(fresh) !== c.toHex(enc), "fresh wrap is randomized");
  assertBytes(await c.unwrap(sk, ctx, fresh), key, "fresh wrap unwraps");
}

async function checkWrappedKeys(t: Harness, v: Vec, k: RsaFixture): Promise<void> {
  for (const cs of v.cases as Vec[]) {
    await t.run("cases", "wrapped key: " + cs.description, async () => {
      const ctx = c.utf8("cofre/v1/item-key/" + cs.item_id);
      assertBytes(ctx, h(cs.context), "context");
      assertBytes(c.wrapLabel(k.pub.keyId, ctx), h(cs.label), "label");
      const enc = h(cs.encoding);
      assertBytes(c.textDecode(cs.text), enc, "text form");
      assertBytes(enc.subarray(3, 19), h(v.key_id), "key id");
      assert(enc.length === 19 + 384, "length");
      await checkFreshWrap(k.pub, k.sk, enc, h(cs.item_key), ctx);
    });
  }
  for (const n of v.negative as Vec[]) {
    await t.reject("negative", n, async () => c.unwrap(k.sk, c.utf8("cofre/v1/item-key/" + n.item_id), h(n.encoding)));
  }
}

async function checkFreshSignature(pub: c.PublicKey, sk: c.PrivateKey, ctx: Uint8Array, msg: Uint8Array, enc: Uint8Array): Promise<void> {
  await c.verify(pub, ctx, msg, enc);
  const fresh = await c.sign(sk, ctx, msg);
  assertBytes(fresh.subarray(0, 19), enc.subarray(0, 19), "fresh signature header and key id");
  assert(fresh.length === enc.length && c.toHex(fresh) !== c.toHex(enc), "fresh signature is randomized");
  await c.verify(pub, ctx, msg, fresh);
}

async function checkSignatures(t: Harness, v: Vec, k: RsaFixture): Promise<void> {
  for (const cs of v.cases as Vec[]) {
    await t.run("cases", "signature: " + cs.description, async () => {
      const ctx = h(cs.context);
      const msg = h(cs.message);
      const enc = h(cs.encoding);
      assertBytes(c.signedMessage(k.pub.keyId, ctx, msg), h(cs.signed_message), "signed message");
      assertBytes(c.textDecode(cs.text), enc, "text form");
      assertBytes(enc.subarray(3, 19), h(v.key_id), "key id");
      await checkFreshSignature(k.pub, k.sk, ctx, msg, enc);
    });
  }
  for (const n of v.negative as Vec[]) {
    await t.reject("negative", n, async () => c.verify(k.pub, h(n.context), h(n.message), h(n.encoding)));
  }
}

/** Two symmetric keys are equal iff sealing the same input with the same IV gives the same box. */
async function assertSameKey(a: c.SymmetricKey, b: c.SymmetricKey, what: string): Promise<void> {
  const iv = new Uint8Array(16);
  const probe = c.utf8("same key?");
  assertBytes(await c.seal(a, probe, probe, iv), await c.seal(b, probe, probe, iv), what);
}

/** A JSON value of a vector file as the text the strict parser reads. */
function jsonText(value: unknown): string {
  return JSON.stringify(value, (_k, x: unknown) => (typeof x === "bigint" ? Number(x) : x));
}

function kdfFromVector(kdf: Vec): c.KdfParams {
  return c.parseKdfParams(jsonText(kdf));
}

async function checkKeyHierarchy(t: Harness, v: Vec, k: RsaFixture): Promise<void> {
  for (const cs of v.password_kdf as Vec[]) {
    await t.run("password_kdf", "key hierarchy: " + cs.description, async () => {
      assertBytes(c.utf8(cs.password_typed), h(cs.password_typed_hex), "typed password");
      assertBytes(c.passwordBytes(cs.password_typed), h(cs.password_nfc_hex), "NFC password");
      const params = c.parseKdfParams(cs.kdf_json);
      assert(jsonText(params) === jsonText(kdfFromVector(cs.kdf)), "KDF parameters");
      const salt = c.textDecode(cs.salt_text);
      assertBytes(salt, h(cs.salt), "salt");
      const mk = await c.masterKey(cs.password_typed, salt, params);
      assertBytes(mk, h(cs.master_key), "master key");
      const auth = await c.authKey(mk);
      assertBytes(auth, h(cs.auth_key), "auth key");
      assert(c.textEncode(auth) === cs.auth_key_text && cs.auth_key_text.length === 43, "auth key text");
      const skb = await c.stretchedKeyBytes(mk);
      assertBytes(skb, h(cs.stretched_key), "stretched key");
      assertBytes(skb, c.concat(h(cs.stretched_enc_key), h(cs.stretched_mac_key)), "stretched halves");
      assertBytes(h(cs.context), c.CTX_USER_KEY_PASSWORD, "context");
      const box = c.textDecode(cs.protected_user_key_text);
      assertBytes(box, h(cs.protected_user_key), "protected user key");
      const sk = await c.stretchedKey(mk);
      assertBytes(await c.open(sk, c.CTX_USER_KEY_PASSWORD, box), h(cs.user_key), "user key");
      assertBytes(await c.seal(sk, c.CTX_USER_KEY_PASSWORD, h(cs.user_key), h(cs.iv)), box, "re-seal");
    });
  }
  for (const text of v.kdf_params_accepted as string[]) {
    await t.run("kdf_params_accepted", "KDF parameters accepted: " + text, async () => {
      c.parseKdfParams(text);
    });
  }
  for (const n of v.kdf_params_negative as Vec[]) {
    await t.reject("kdf_params_negative", n, async () => c.parseKdfParams(n.kdf_json));
  }
  const r = v.recovery as Vec;
  await t.run("checks", "recovery key", async () => {
    const raw = h(r.recovery_key);
    assert(c.recoveryDisplay(raw) === r.display && r.display.length === 64, "display form");
    for (const typed of [r.display, ...(r.typed_forms as string[])]) {
      assertBytes(c.parseRecovery(typed), raw, `typed form ${JSON.stringify(typed)}`);
    }
    assertBytes(await c.recoveryWrappingKeyBytes(raw), h(r.wrapping_key), "wrapping key");
    assertBytes(h(r.context), c.CTX_USER_KEY_RECOVERY, "context");
    const box = c.textDecode(r.recovery_user_key_text);
    assertBytes(box, h(r.recovery_user_key), "recovery user key");
    const wk = await c.recoveryWrappingKey(raw);
    assertBytes(await c.open(wk, c.CTX_USER_KEY_RECOVERY, box), h(r.user_key), "user key");
    assertBytes(await c.seal(wk, c.CTX_USER_KEY_RECOVERY, h(r.user_key), h(r.iv)), box, "re-seal");
    assert(c.textEncode(await c.recoveryAuthKey(raw)) === r.recovery_auth_key_text, "recovery auth key");
  });
  for (const n of v.recovery_negative as Vec[]) {
    await t.reject("recovery_negative", n, async () => c.parseRecovery(n.text));
  }
  const p = v.private_key as Vec;
  await t.run("checks", "private key under the user key", async () => {
    assertBytes(h(p.context), c.CTX_PRIVATE_KEY, "context");
    const uk = await sym(p.user_key);
    const pkcs8 = await c.open(uk, c.CTX_PRIVATE_KEY, h(p.protected_private_key));
    assertBytes((await c.PrivateKey.import(pkcs8)).publicKey.spki, k.spki, "public key");
    assertBytes(await c.seal(uk, c.CTX_PRIVATE_KEY, pkcs8, h(p.iv)), h(p.protected_private_key), "re-seal");
  });
  const a = v.account as Vec;
  await t.run("checks", "account JSON: unlock with the password and with the recovery key", async () => {
    const acct = await c.parseAccount(jsonText(a.account_keys));
    assertBytes(acct.publicKey.spki, k.spki, "public key");
    const mk = await c.masterKey(a.password_typed, acct.salt, acct.kdf);
    const byPassword = await c.unlock(acct, "password", await c.stretchedKey(mk));
    const expected = await sym(p.user_key);
    await assertSameKey(byPassword.userKey, expected, "user key (password)");
    assertBytes(byPassword.privateKey.publicKey.spki, k.spki, "private key");
    const raw = c.parseRecovery(a.recovery_display);
    const byRecovery = await c.unlock(acct, "recovery", await c.recoveryWrappingKey(raw));
    await assertSameKey(byRecovery.userKey, expected, "user key (recovery)");
    // A wrong password does not open the protected user key.
    const bad = await c.masterKey(a.password_typed + "!", acct.salt, acct.kdf);
    await expectClass("decrypt", async () => c.unlock(acct, "password", await c.stretchedKey(bad)));
    // A swapped public key is caught at unlock.
    const other = (await crypto.subtle.generateKey(
      { name: "RSA-OAEP", modulusLength: 3072, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
      true,
      ["encrypt", "decrypt"],
    )) as CryptoKeyPair;
    const otherSpki = new Uint8Array(await crypto.subtle.exportKey("spki", other.publicKey));
    const swapped = { ...(a.account_keys as Vec), public_key: c.textEncode(otherSpki) };
    const acct2 = await c.parseAccount(jsonText(swapped));
    await expectClass("invalid_key", async () => c.unlock(acct2, "password", await c.stretchedKey(mk)));
  });
}

async function expectClass(cls: c.ErrorClass, f: () => Promise<unknown>): Promise<void> {
  try {
    await f();
  } catch (e) {
    if (e instanceof c.CofreError && e.cls === cls) return;
    throw new Error(`expected ${cls}, got ${String(e)}`);
  }
  throw new Error(`expected ${cls}, but it was accepted`);
}

function membersOf(m: c.ItemMetadata): string {
  return jsonText({ ...m, size: m.size.toString(), created: m.created.toString(), modified: m.modified.toString() });
}

function membersOfVector(m: Vec): string {
  return jsonText({
    kind: m.kind,
    name: m.name,
    content_type: m.content_type,
    size: String(m.size),
    created: String(m.created),
    modified: String(m.modified),
  });
}

async function checkVaultItem(t: Harness, v: Vec, k: RsaFixture): Promise<void> {
  const itemKey = await sym(v.item_key);
  const ctxs = c.itemContexts(v.item_id);
  await t.run("checks", "vault item: contexts", async () => {
    assert(h(v.item_key).length === 64, "item key length");
    for (const [name, ctx] of [
      ["item_key", ctxs.key],
      ["metadata", ctxs.meta],
      ["body", ctxs.body],
    ] as const) {
      const x = v.contexts[name] as Vec;
      assertBytes(h(x.hex), ctx, name);
      assertBytes(c.utf8(x.ascii), ctx, name);
    }
  });
  const m = v.metadata as Vec;
  const b = v.body as Vec;
  await t.run("checks", "vault item: metadata", async () => {
    const enc = h(m.encoding);
    assertBytes(c.textDecode(m.text), enc, "text form");
    assert(c.textEncode(enc) === m.text, "text encode");
    const plain = await c.open(itemKey, ctxs.meta, enc);
    assertBytes(plain, c.utf8(m.metadata_json), "metadata JSON");
    const members = c.parseItemMetadata(plain);
    assert(membersOf(members) === membersOfVector(m.members), "members");
    assertBytes(c.writeItemMetadata(members), plain, "cofre's writing form");
    assertBytes(await c.seal(itemKey, ctxs.meta, plain, h(m.iv)), enc, "re-seal");
    assert(members.size === BigInt(h(b.plaintext).length), "size");
    assert(jsonText(await c.openItemMetadata(itemKey, v.item_id, enc).then(membersOf)) === jsonText(membersOf(members)), "open");
  });
  await t.run("checks", "vault item: body", async () => {
    const enc = h(b.encoding);
    const pt = h(b.plaintext);
    const log2c = Number(b.chunk_log2);
    assert(log2c >= 10 && log2c <= 20, "log2C");
    await checkStreamParts(itemKey, ctxs.body, b, enc);
    assertBytes(await decryptAll(itemKey, ctxs.body, enc), pt, "plaintext");
    const ivs = (b.chunks as Vec[]).map((x) => x.iv as string);
    assertBytes(await encryptWith(itemKey, ctxs.body, log2c, b.nonce, pt, ivs), enc, "re-encryption");
  });
  for (const w of v.wrapped_keys as Vec[]) {
    await t.run("wrapped_keys", "vault item: " + w.description, async () => {
      const enc = h(w.encoding);
      assertBytes(c.textDecode(w.text), enc, "text form");
      assertBytes(enc.subarray(3, 19), k.pub.keyId, "key id");
      assertBytes(k.pub.keyId, h(w.key_id), "stored key id");
      assertBytes(c.wrapLabel(k.pub.keyId, ctxs.key), h(w.label), "label");
      await checkFreshWrap(k.pub, k.sk, enc, h(v.item_key), ctxs.key);
    });
  }
  for (const cs of v.metadata_accepted as Vec[]) {
    await t.run("metadata_accepted", "vault item metadata accepted: " + cs.description, async () => {
      const ctx = c.itemContexts(cs.item_id).meta;
      const enc = h(cs.encoding);
      const plain = c.utf8(cs.metadata_json);
      assertBytes(await c.open(itemKey, ctx, enc), plain, "plaintext");
      assertBytes(await c.seal(itemKey, ctx, plain, h(cs.iv)), enc, "re-seal");
      assert(membersOf(c.parseItemMetadata(plain)) === membersOfVector(cs.members), "members");
    });
  }
  for (const n of v.metadata_negative as Vec[]) {
    await t.reject("metadata_negative", n, async () => {
      const ctx = c.itemContexts(n.item_id).meta;
      const enc = h(n.encoding);
      if (n.metadata_json !== undefined) {
        // An authentic box: only its JSON is refused.
        assertBytes(await c.seal(itemKey, ctx, c.utf8(n.metadata_json), h(n.iv)), enc, "authentic box");
      }
      return c.openItemMetadata(itemKey, n.item_id, enc);
    });
  }
  for (const n of v.body_negative as Vec[]) {
    await t.reject("body_negative", n, async () => decryptAll(itemKey, c.itemContexts(n.item_id).body, h(n.encoding)));
  }
  for (const n of v.wrapped_key_negative as Vec[]) {
    await t.reject("wrapped_key_negative", n, async () => c.unwrap(k.sk, c.itemContexts(n.item_id).key, h(n.encoding)));
  }
}

async function checkShare(t: Harness, v: Vec, k: RsaFixture): Promise<void> {
  const itemId = v.item_id as string;
  const pubs: Record<string, c.PublicKey> = { recipient_old: k.pub };
  const privs: Record<string, c.PrivateKey> = { recipient_old: k.sk };
  await t.run("checks", "share: keys", async () => {
    for (const [member, name] of [
      ["owner_key", "owner"],
      ["recipient_new_key", "recipient_new"],
    ] as const) {
      const x = v[member] as Vec;
      const sk = await c.PrivateKey.import(h(x.private_key_pkcs8));
      const spki = h(x.public_key_spki);
      assertBytes(sk.publicKey.spki, spki, member);
      const pub = await c.PublicKey.import(spki);
      assertBytes(pub.keyId, h(x.key_id), "key id");
      assertBytes(pub.fingerprint, h(x.fingerprint), "fingerprint");
      pubs[name] = pub;
      privs[name] = sk;
    }
  });
  const wrapped: Record<string, c.Bytes> = {};
  for (const [n, w] of Object.entries(v.wrapped_keys as Record<string, Vec>)) wrapped[n] = h(w.encoding);
  const sigs: Record<string, c.Bytes> = {};
  for (const [n, g] of Object.entries(v.signatures as Record<string, Vec>)) sigs[n] = h(g.encoding);
  await t.run("checks", "share: wrapped keys, messages and signatures", async () => {
    assertBytes(c.utf8(v.contexts.share.ascii), c.CTX_SHARE, "share context");
    assertBytes(c.utf8(v.contexts.share_rewrap.ascii), c.CTX_SHARE_REWRAP, "rewrap context");
    const ctx = c.itemContexts(itemId).key;
    const itemKey = h(v.item_key);
    assertBytes(await c.unwrap(privs.recipient_old!, ctx, wrapped.original!), itemKey, "original");
    assertBytes(await c.unwrap(privs.recipient_new!, ctx, wrapped.current!), itemKey, "current");
    assert(c.toHex(await c.unwrap(privs.recipient_new!, ctx, wrapped.server_made!)) !== c.toHex(itemKey), "server made");
    assertBytes(h(v.signatures.owner.message), c.shareMessage(itemId, "alice", "bob", wrapped.original!), "share message");
    assertBytes(
      h(v.signatures.rewrap.message),
      c.rewrapMessage(itemId, "alice", "bob", wrapped.original!, wrapped.current!),
      "rewrap message",
    );
    for (const [name, g] of Object.entries(v.signatures as Record<string, Vec>)) {
      const by = Object.values(pubs).find((p) => c.toHex(p.keyId) === g.key_id);
      assert(by !== undefined, `signer of ${name}`);
      const sctx = h(g.context.hex);
      const msg = h(g.message);
      assertBytes(c.signedMessage(by.keyId, sctx, msg), h(g.signed_message), name);
      await c.verify(by, sctx, msg, sigs[name]!);
    }
    assert(c.normalizeUsername(" Alice ") === "alice" && c.normalizeUsername("ＡＬＩＣＥ") === "alice", "usernames");
    assert(c.normalizeUsername("élodie") === null && c.normalizeUsername("-bob") === null, "not usernames");
  });
  const read = async (x: Vec): Promise<void> => {
    const opt = (table: Record<string, c.Bytes>, name: string | null): c.Bytes | undefined =>
      name === null ? undefined : table[name];
    await c.verifyReceivedShare(pubs[x.owner_key]!, pubs[x.recipient_key]!, {
      itemId,
      owner: x.owner,
      recipient: x.recipient,
      wrappedKey: wrapped[x.wrapped_key]!,
      signature: sigs[x.signature]!,
      signedWrappedKey: opt(wrapped, x.signed_wrapped_key),
      rewrapSignature: opt(sigs, x.rewrap_signature),
    });
  };
  for (const x of v.accepted as Vec[]) await t.run("accepted", "share: " + x.description, () => read(x));
  for (const n of v.negative as Vec[]) await t.reject("negative", n, () => read(n));
}

async function checkOwnerCopy(t: Harness, v: Vec): Promise<void> {
  const userKey = await sym(v.user_key);
  const key = await c.vaultMetaKey(userKey);
  for (const cs of v.cases as Vec[]) {
    await t.run("cases", "owner copy: " + cs.description, async () => {
      assertBytes(await c.hkdf(h(v.user_key), new Uint8Array(0), c.VAULT_META_KEY_INFO, 64), h(v.vault_meta_key), "vault metadata key");
      assertBytes(c.VAULT_META_KEY_INFO, h(v.hkdf_info.hex), "HKDF info");
      const box = h(cs.item_metadata);
      assert(c.toHex(await c.sha256(box)) === cs.item_metadata_sha256, "box hash");
      const ctx = await c.ownerCopyContext(v.item_id, box);
      assertBytes(ctx, h(cs.context.hex), "context");
      assertBytes(ctx, c.utf8(cs.context.ascii), "context text");
      const enc = h(cs.encoding);
      assertBytes(c.textDecode(cs.text), enc, "text form");
      assert(c.textEncode(enc) === cs.text, "text encode");
      const plain = c.utf8(cs.metadata_json);
      assertBytes(await c.open(key, ctx, enc), plain, "plaintext");
      assertBytes(await c.seal(key, ctx, plain, h(cs.iv)), enc, "re-seal");
      const members = await c.openOwnerCopy(key, v.item_id, box, enc);
      assert(membersOf(members) === membersOfVector(cs.members), "members");
    });
  }
  for (const n of v.negative as Vec[]) {
    await t.reject("negative", n, () => c.openOwnerCopy(key, n.item_id, h(n.item_metadata), h(n.owner_copy)));
  }
}

async function main(): Promise<void> {
  const t = new Harness();
  try {
    const index = (await (await fetch("vectors/index.json")).json()) as string[];
    const files: Record<string, Vec> = {};
    for (const name of index) files[name] = await t.load(name);
    const known = new Set(["sealed_box.json", "stream.json", "rsa_key.json", "wrapped_key.json", "signature.json", "key_hierarchy.json", "vault_item.json", "share.json", "backup.json", "owner_copy.json"]);
    for (const name of index) {
      if (!known.has(name)) t.fail(name, "checks", `no checker for ${name}`);
    }
    const need = (name: string): Vec | null => {
      const v = files[name];
      if (v === undefined) t.fail(name, "checks", `${name} is not in vectors/index.json`);
      return v ?? null;
    };
    const run = async (name: string, f: (v: Vec) => Promise<void>): Promise<void> => {
      const v = need(name);
      if (v !== null) await t.inFile(name, () => f(v));
    };
    await run("sealed_box.json", (v) => checkSealedBoxes(t, v));
    await run("stream.json", (v) => checkStreams(t, v));
    let rsa: RsaFixture | null = null;
    await run("rsa_key.json", async (v) => {
      rsa = await checkRsaKey(t, v);
    });
    const k = rsa as RsaFixture | null;
    if (k === null) {
      t.fail("rsa_key.json", "checks", "the RSA key did not load: the files that need it were not run");
    } else {
      await run("wrapped_key.json", (v) => checkWrappedKeys(t, v, k));
      await run("signature.json", (v) => checkSignatures(t, v, k));
      await run("key_hierarchy.json", (v) => checkKeyHierarchy(t, v, k));
      await run("vault_item.json", (v) => checkVaultItem(t, v, k));
      await run("share.json", (v) => checkShare(t, v, k));
      await run("owner_copy.json", (v) => checkOwnerCopy(t, v));
      await run("backup.json", (v) => checkBackup(t, v, k));
    }
  } catch (e) {
    t.fail("(page)", "checks", `the page failed: ${String(e)}`);
  }
  t.finish();
}

void main();
