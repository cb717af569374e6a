#!/usr/bin/env python3
"""An independent reader of cofre's formats, written from docs/FORMAT.md alone.

It implements the readers of docs/FORMAT.md (sealed box, wrapped key, signature, stream
with the look-ahead reader, key hierarchy, vault item metadata, shares, text form, backup
archive and backup key file) with Python's `cryptography` package, and checks every
vector in this folder: positive
vectors must decode to the stored values (and the deterministic ones must re-encode
byte for byte), negative vectors must be rejected with the stored error class
(FORMAT.md, section 2.3).

Argon2id comes from `cryptography` when it has it (version 44 and later), otherwise
from `argon2-cffi`'s low-level API. Zstandard decompression (the backup's database
entry) comes from `zstandard`; without it, the checks that need decompression are
reported as skipped and everything else is still checked.

    python3 -m venv /tmp/cofre-vectors-venv
    /tmp/cofre-vectors-venv/bin/pip install cryptography argon2-cffi zstandard
    /tmp/cofre-vectors-venv/bin/python docs/vectors/check_vectors.py

Section numbers in comments are those of docs/FORMAT.md.
"""

import base64
import hashlib
import hmac
import io
import json
import os
import sys
import traceback
import unicodedata

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

try:  # cryptography >= 44
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id as _CryptographyArgon2id
except ImportError:  # pragma: no cover - depends on the installed version
    _CryptographyArgon2id = None

HERE = os.path.dirname(os.path.abspath(__file__))


class Reject(Exception):
    """A reader refused its input; `cls` is the error class of section 2.3."""

    def __init__(self, cls, why=""):
        super().__init__(f"{cls}: {why}")
        self.cls = cls


# ------------------------------------------------------------------------------------
# Section 1: primitives and conventions
# ------------------------------------------------------------------------------------


def u32be(n):
    if not 0 <= n <= 0xFFFFFFFF:
        raise ValueError("context longer than 2^32 - 1 bytes")
    return n.to_bytes(4, "big")


def u64be(n):
    return n.to_bytes(8, "big")


def hmac_sha256(key, data):
    return hmac.new(key, data, hashlib.sha256).digest()


def hkdf_sha256(ikm, salt, info, length):
    return HKDF(hashes.SHA256(), length, salt, info).derive(ikm)


def cbc_encrypt(enc_key, iv, plaintext):
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    e = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).encryptor()
    return e.update(padded) + e.finalize()


def cbc_decrypt(enc_key, iv, ciphertext):
    """Decrypt and unpad; only ever called after the tag verified."""
    d = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).decryptor()
    padded = d.update(ciphertext) + d.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError as e:
        raise Reject("decrypt", "padding") from e


# ------------------------------------------------------------------------------------
# Section 10: text form (strict unpadded base64url)
# ------------------------------------------------------------------------------------

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def text_encode(data):
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def text_decode(text):
    if any(c not in B64URL for c in text):
        raise Reject("malformed", "character outside the base64url alphabet")
    if len(text) % 4 == 1:
        raise Reject("malformed", "impossible length")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if text_encode(data) != text:
        raise Reject("malformed", "non-zero trailing bits")
    return data


# ------------------------------------------------------------------------------------
# Section 2.1: the common header
# ------------------------------------------------------------------------------------


def check_header(data, kind):
    if len(data) < 3:
        raise Reject("malformed", "shorter than the header")
    if data[0] != kind:
        raise Reject("unsupported", "format type")
    if data[1] != 0x01:
        raise Reject("unsupported", "version")
    if data[2] != 0x01:
        raise Reject("unsupported", "algorithm")


# ------------------------------------------------------------------------------------
# Section 3: symmetric keys
# ------------------------------------------------------------------------------------


def halves(key):
    if len(key) != 64:
        raise ValueError("a symmetric key is 64 bytes")
    return key[:32], key[32:]


# ------------------------------------------------------------------------------------
# Section 4: RSA keys
# ------------------------------------------------------------------------------------


def load_public_key(spki):
    try:
        pub = serialization.load_der_public_key(spki)
    except ValueError as e:
        raise Reject("invalid_key", "not a DER SubjectPublicKeyInfo") from e
    if not isinstance(pub, rsa.RSAPublicKey):
        raise Reject("invalid_key", "not RSA")
    canonical = pub.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if canonical != spki:
        raise Reject("invalid_key", "not canonical DER")
    if not 3072 <= pub.key_size <= 8192:
        raise Reject("invalid_key", "modulus size")
    return pub


def load_private_key(pkcs8):
    try:
        key = serialization.load_der_private_key(pkcs8, password=None)
    except ValueError as e:
        raise Reject("invalid_key", "not PKCS#8") from e
    if not isinstance(key, rsa.RSAPrivateKey) or not 3072 <= key.key_size <= 8192:
        raise Reject("invalid_key", "not an accepted RSA key")
    return key


def spki_of(key):
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def fingerprint(spki):
    return hashlib.sha256(spki).digest()


def key_id(spki):
    return fingerprint(spki)[:16]


def modulus_len(key):
    return (key.key_size + 7) // 8


# ------------------------------------------------------------------------------------
# Section 5: sealed box
# ------------------------------------------------------------------------------------

SEALED_HEADER = bytes([0x01, 0x01, 0x01])


def sealed_mac_input(context, iv, ciphertext):
    return SEALED_HEADER + u32be(len(context)) + context + iv + ciphertext


def seal(key, context, plaintext, iv):
    enc_key, mac_key = halves(key)
    ct = cbc_encrypt(enc_key, iv, plaintext)
    tag = hmac_sha256(mac_key, sealed_mac_input(context, iv, ct))
    return SEALED_HEADER + iv + ct + tag


def parse_sealed(data):
    """Steps 1-3 of 5.2: no key needed."""
    check_header(data, 0x01)
    if len(data) < 67:
        raise Reject("malformed", "shorter than 67 bytes")
    iv, ct, tag = data[3:19], data[19:-32], data[-32:]
    if len(ct) == 0 or len(ct) % 16:
        raise Reject("malformed", "ciphertext is not a positive multiple of 16")
    return iv, ct, tag


def open_sealed(key, context, data):
    iv, ct, tag = parse_sealed(data)
    enc_key, mac_key = halves(key)
    if not hmac.compare_digest(hmac_sha256(mac_key, sealed_mac_input(context, iv, ct)), tag):
        raise Reject("decrypt", "tag")
    return cbc_decrypt(enc_key, iv, ct)


# ------------------------------------------------------------------------------------
# Section 6: wrapped key
# ------------------------------------------------------------------------------------

WRAPPED_HEADER = bytes([0x02, 0x01, 0x01])
OAEP_LABELLED = lambda label: rsa_padding.OAEP(  # noqa: E731
    mgf=rsa_padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=label
)


def wrap_label(kid, context):
    return WRAPPED_HEADER + kid + u32be(len(context)) + context


def split_rsa_envelope(data, kind):
    check_header(data, kind)
    if len(data) < 19 or not 384 <= len(data) - 19 <= 1024:
        raise Reject("malformed", "length")
    return data[3:19], data[19:]


def wrap(public_key, spki, key, context):
    kid = key_id(spki)
    ct = public_key.encrypt(key, OAEP_LABELLED(wrap_label(kid, context)))
    return WRAPPED_HEADER + kid + ct


def unwrap(private_key, context, data):
    kid, ct = split_rsa_envelope(data, 0x02)
    if kid != key_id(spki_of(private_key)):
        raise Reject("key_mismatch", "wrapped for another key")
    if len(ct) != modulus_len(private_key):
        raise Reject("decrypt", "ciphertext length")
    try:
        key = private_key.decrypt(ct, OAEP_LABELLED(wrap_label(kid, context)))
    except ValueError as e:
        raise Reject("decrypt", "OAEP") from e
    if len(key) != 64:
        raise Reject("decrypt", "not a 64-byte key")
    return key


# ------------------------------------------------------------------------------------
# Section 7: signature
# ------------------------------------------------------------------------------------

SIGNATURE_HEADER = bytes([0x03, 0x01, 0x01])
PSS_32 = rsa_padding.PSS(mgf=rsa_padding.MGF1(hashes.SHA256()), salt_length=32)


def signed_message(kid, context, message):
    return SIGNATURE_HEADER + kid + u32be(len(context)) + context + message


def sign(private_key, context, message):
    kid = key_id(spki_of(private_key))
    sig = private_key.sign(signed_message(kid, context, message), PSS_32, hashes.SHA256())
    return SIGNATURE_HEADER + kid + sig


def verify(public_key, spki, context, message, data):
    kid, sig = split_rsa_envelope(data, 0x03)
    if kid != key_id(spki):
        raise Reject("bad_signature", "signed by another key")
    if len(sig) != (public_key.key_size + 7) // 8:
        raise Reject("bad_signature", "signature length")
    try:
        public_key.verify(sig, signed_message(kid, context, message), PSS_32, hashes.SHA256())
    except InvalidSignature as e:
        raise Reject("bad_signature", "PSS") from e


# ------------------------------------------------------------------------------------
# Section 8: stream
# ------------------------------------------------------------------------------------

STREAM_LABEL = b"cofre-stream-v1"


def stream_info(header, context):
    return STREAM_LABEL + header + context


def stream_keys(key, header, context):
    okm = hkdf_sha256(key, header[4:20], stream_info(header, context), 64)
    return okm[:32], okm[32:]


def chunk_tag(mac_key, index, last, iv, ct):
    return hmac_sha256(mac_key, u64be(index) + (b"\x01" if last else b"\x00") + iv + ct)


def encrypt_stream(key, context, log2c, nonce, plaintext, ivs):
    """8.4, with the chunk IVs given (they are random in real use)."""
    header = bytes([0x04, 0x01, 0x01, log2c]) + nonce
    enc_key, mac_key = stream_keys(key, header, context)
    c = 1 << log2c
    pieces = [plaintext[i:i + c] for i in range(0, len(plaintext), c)] or [b""]
    out = header
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        ct = cbc_encrypt(enc_key, ivs[i], piece)
        out += ivs[i] + ct + chunk_tag(mac_key, i, last, ivs[i], ct)
    return out


def read_up_to(f, n):
    """Read until n bytes or the end of the input."""
    buf = b""
    while len(buf) < n:
        got = f.read(n - len(buf))
        if not got:
            break
        buf += got
    return buf


def decrypt_stream(key, context, f):
    """The reader of 8.5 over a file-like object: yields each chunk's plaintext once
    its tag verified. The stream is valid only if the generator ends without error."""
    header = read_up_to(f, 20)
    if len(header) < 20:
        raise Reject("decrypt", "input ends inside the header")
    check_header(header, 0x04)
    log2c = header[3]
    if not 10 <= log2c <= 20:
        raise Reject("unsupported", "chunk size exponent")
    enc_key, mac_key = stream_keys(key, header, context)
    c = 1 << log2c
    index = 0
    ahead = b""
    while True:
        chunk = ahead + read_up_to(f, c + 64 - len(ahead))
        ahead = b""
        if len(chunk) < c + 64:
            last = True
        else:
            ahead = f.read(1)
            while ahead is None:  # a non-blocking reader with nothing yet
                ahead = f.read(1)
            last = ahead == b""
        if last:
            length_ok = 64 <= len(chunk) <= c + 64
        else:
            length_ok = len(chunk) == c + 64
        if not length_ok or (len(chunk) - 32) % 16:
            raise Reject("decrypt", "chunk length")
        iv, ct, tag = chunk[:16], chunk[16:-32], chunk[-32:]
        if not hmac.compare_digest(chunk_tag(mac_key, index, last, iv, ct), tag):
            raise Reject("decrypt", "chunk tag")
        plain = cbc_decrypt(enc_key, iv, ct)
        if last:
            plain_ok = len(plain) <= c and (len(plain) >= 1 or index == 0)
        else:
            plain_ok = len(plain) == c
        if not plain_ok:
            raise Reject("decrypt", "chunk plaintext length")
        yield plain
        if last:
            return
        index += 1


class Trickle(io.RawIOBase):
    """A reader that hands out at most 7 bytes per read, to exercise read_up_to."""

    def __init__(self, data):
        self._data, self._pos = data, 0

    def readable(self):
        return True

    def read(self, n=-1):
        n = 7 if n is None or n < 0 else min(n, 7)
        out = self._data[self._pos:self._pos + n]
        self._pos += len(out)
        return out


def decrypt_stream_all(key, context, data):
    return b"".join(decrypt_stream(key, context, Trickle(data)))


# ------------------------------------------------------------------------------------
# Section 9: key hierarchy
# ------------------------------------------------------------------------------------


def password_bytes(password):
    return unicodedata.normalize("NFC", password).encode("utf-8")


def _no_float(text):
    raise Reject("json", f"number with a fraction or exponent: {text}")


def _members(pairs):
    names = [k for k, _ in pairs]
    if len(set(names)) != len(names):
        raise Reject("json", "duplicate member")
    return dict(pairs)


KDF_MEMBERS = {
    "argon2id": {"alg", "memory_kib", "iterations", "parallelism"},
    "pbkdf2_sha256": {"alg", "iterations"},
}


def check_kdf_params(obj):
    """9.2: the shape (json), then the bounds (kdf_params)."""
    if not isinstance(obj, dict) or obj.get("alg") not in KDF_MEMBERS:
        raise Reject("json", "alg")
    if set(obj) != KDF_MEMBERS[obj["alg"]]:
        raise Reject("json", "members")
    for name, value in obj.items():
        if name == "alg":
            continue
        if type(value) is not int or not 0 <= value <= 0xFFFFFFFF:
            raise Reject("json", f"{name} is not a 32-bit unsigned integer")
    if obj["alg"] == "argon2id":
        if not 19456 <= obj["memory_kib"] <= 2097152:
            raise Reject("kdf_params", "memory_kib")
        if not 2 <= obj["iterations"] <= 64:
            raise Reject("kdf_params", "iterations")
        if not 1 <= obj["parallelism"] <= 16:
            raise Reject("kdf_params", "parallelism")
    elif not 600000 <= obj["iterations"] <= 20000000:
        raise Reject("kdf_params", "iterations")
    return obj


def parse_kdf_params(text):
    try:
        obj = json.loads(
            text, object_pairs_hook=_members, parse_float=_no_float, parse_constant=_no_float
        )
    except json.JSONDecodeError as e:
        raise Reject("json", "not JSON") from e
    return check_kdf_params(obj)


def argon2id(password, salt, m, t, p):
    if _CryptographyArgon2id is not None:
        return _CryptographyArgon2id(
            salt=salt, length=32, iterations=t, lanes=p, memory_cost=m
        ).derive(password)
    from argon2.low_level import Type, hash_secret_raw

    return hash_secret_raw(
        password, salt, time_cost=t, memory_cost=m, parallelism=p, hash_len=32,
        type=Type.ID, version=0x13,
    )


def master_key(password, salt, params):
    params = check_kdf_params(params)
    pw = password_bytes(password)
    if params["alg"] == "argon2id":
        return argon2id(pw, salt, params["memory_kib"], params["iterations"], params["parallelism"])
    return PBKDF2HMAC(hashes.SHA256(), 32, salt, params["iterations"]).derive(pw)


def auth_key(master):
    return hkdf_sha256(master, b"", b"cofre/v1/auth", 32)


def stretched_key(master):
    return hkdf_sha256(master, b"", b"cofre/v1/enc", 32) + hkdf_sha256(master, b"", b"cofre/v1/mac", 32)


CTX_USER_KEY_PASSWORD = b"cofre/v1/user-key/password"
CTX_USER_KEY_RECOVERY = b"cofre/v1/user-key/recovery"
CTX_PRIVATE_KEY = b"cofre/v1/private-key"
CTX_ITEM_KEY_PREFIX = b"cofre/v1/item-key/"

B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
WHITE_SPACE = (
    {chr(c) for c in range(0x09, 0x0E)}
    | {" ", "\u0085", "\u00a0", "\u1680"}
    | {chr(c) for c in range(0x2000, 0x200B)}
    | {"\u2028", "\u2029", "\u202f", "\u205f", "\u3000"}
)


def recovery_display(raw):
    text = base64.b32encode(raw).decode("ascii").rstrip("=")
    return "-".join(text[i:i + 4] for i in range(0, len(text), 4))


def parse_recovery(typed):
    cleaned = "".join(
        (chr(ord(c) - 32) if "a" <= c <= "z" else c)
        for c in typed
        if c != "-" and c not in WHITE_SPACE
    )
    if len(cleaned) != 52 or any(c not in B32 for c in cleaned):
        raise Reject("invalid_key", "not 52 base32 characters")
    raw = base64.b32decode(cleaned + "====")
    if base64.b32encode(raw).decode("ascii").rstrip("=") != cleaned:
        raise Reject("invalid_key", "non-zero trailing bits")
    return raw


def recovery_wrapping_key(raw):
    return hkdf_sha256(raw, b"", b"cofre/v1/recovery", 64)


ACCOUNT_MEMBERS = {
    "kdf", "salt", "protected_user_key", "recovery_user_key", "public_key",
    "protected_private_key",
}


def parse_account(obj):
    """9.6: every member required; unknown members ignored; strict text forms."""
    if not isinstance(obj, dict) or not ACCOUNT_MEMBERS <= set(obj):
        raise Reject("json", "account members")
    salt = text_decode(obj["salt"])
    if len(salt) != 16:
        raise Reject("malformed", "salt is not 16 bytes")
    boxes = {}
    for name in ("protected_user_key", "recovery_user_key", "protected_private_key"):
        boxes[name] = text_decode(obj[name])
        parse_sealed(boxes[name])
    spki = text_decode(obj["public_key"])
    return check_kdf_params(obj["kdf"]), salt, boxes, spki, load_public_key(spki)


def unlock(account, user_key_box, wrapping_key, context):
    _, _, boxes, spki, _ = account
    user_key = open_sealed(wrapping_key, context, boxes[user_key_box])
    if len(user_key) != 64:
        raise Reject("invalid_key", "user key is not 64 bytes")
    private = load_private_key(open_sealed(user_key, CTX_PRIVATE_KEY, boxes["protected_private_key"]))
    if spki_of(private) != spki:
        raise Reject("invalid_key", "private key does not match public_key")
    return user_key, private


# ------------------------------------------------------------------------------------
# Section 9.8: vault items
# ------------------------------------------------------------------------------------

CTX_ITEM_META_PREFIX = b"cofre/v1/item-meta/"
CTX_ITEM_BODY_PREFIX = b"cofre/v1/item-body/"
ITEM_MEMBERS = ("kind", "name", "content_type", "size", "created", "modified")
MAX_METADATA_LEN = 8192


def item_contexts(item_id):
    """The item key, metadata and body contexts: a prefix, then the id's 32 ASCII bytes."""
    if len(item_id) != 32 or any(c not in "0123456789abcdef" for c in item_id):
        raise ValueError("an item id is 32 lowercase hexadecimal characters")
    raw = item_id.encode("ascii")
    return CTX_ITEM_KEY_PREFIX + raw, CTX_ITEM_META_PREFIX + raw, CTX_ITEM_BODY_PREFIX + raw


def _unicode_string(value):
    """A JSON string of Unicode scalar values (an escaped lone surrogate is not one)."""
    return type(value) is str and not any(0xD800 <= ord(c) <= 0xDFFF for c in value)


def parse_item_metadata(plain):
    """9.8, after the sealed box opened: at most 8,192 bytes of UTF-8, one JSON object
    with exactly the six members, each of its type. Any failure is *malformed*."""
    if len(plain) > MAX_METADATA_LEN:
        raise Reject("malformed", "longer than 8,192 bytes")
    try:
        obj = json.loads(
            plain.decode("utf-8"),
            object_pairs_hook=_members, parse_float=_no_float, parse_constant=_no_float,
        )
    except (ValueError, RecursionError, Reject) as e:  # not UTF-8 or not JSON, duplicates
        raise Reject("malformed", f"not the metadata JSON: {e}") from e
    if not isinstance(obj, dict) or set(obj) != set(ITEM_MEMBERS):
        raise Reject("malformed", "not exactly the members of 9.8")
    if type(obj["kind"]) is not str or obj["kind"] not in ("note", "file"):
        raise Reject("malformed", "kind")
    name = obj["name"]
    if not _unicode_string(name) or not 1 <= len(name) <= 1024:
        raise Reject("malformed", "name is not 1 to 1,024 Unicode scalar values")
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise Reject("malformed", "control character in the name")
    ct = obj["content_type"]
    if not _unicode_string(ct) or len(ct.encode("utf-8")) > 255:
        raise Reject("malformed", "content_type is not a string of at most 255 bytes")
    if type(obj["size"]) is not int or not 0 <= obj["size"] <= 2**64 - 1:
        raise Reject("malformed", "size")
    if type(obj["created"]) is not int or type(obj["modified"]) is not int:
        raise Reject("malformed", "times are not integers")
    return obj


def write_item_metadata(members):
    """How cofre writes metadata: the members in the order of 9.8, no white space."""
    ordered = {name: members[name] for name in ITEM_MEMBERS}
    return json.dumps(ordered, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# ------------------------------------------------------------------------------------
# Section 9.12: the owner's copy of an item's metadata
# ------------------------------------------------------------------------------------

LABEL_VAULT_META_KEY = b"cofre/v1/vault-meta-key"
CTX_OWNER_META_PREFIX = b"cofre/v1/item-meta-owner/"


def vault_meta_key(user_key):
    """HKDF-SHA256(user key, salt = empty, info = "cofre/v1/vault-meta-key", L = 64)."""
    return hkdf_sha256(user_key, b"", LABEL_VAULT_META_KEY, 64)


def owner_copy_context(item_id, item_metadata):
    """The prefix, the id, "/", and the lowercase hex SHA-256 of the binary encoding of
    the item-key metadata box the copy is served beside."""
    item_contexts(item_id)  # checks the id's form
    digest = hashlib.sha256(item_metadata).hexdigest().encode("ascii")
    return CTX_OWNER_META_PREFIX + item_id.encode("ascii") + b"/" + digest


def open_owner_copy(user_key, item_id, item_metadata, copy):
    """9.12: authenticate the copy under the vault metadata key, bound to the id and to
    the served item-key box; then parse the JSON by the rules of 9.8."""
    plain = open_sealed(vault_meta_key(user_key), owner_copy_context(item_id, item_metadata), copy)
    return parse_item_metadata(plain)


# ------------------------------------------------------------------------------------
# Section 13: backup archive and backup key file
# ------------------------------------------------------------------------------------

try:  # RFC 8878; the standard library has no Zstandard before Python 3.14
    import zstandard as _zstandard
except ImportError:  # pragma: no cover - depends on what is installed
    _zstandard = None

BACKUP_HEADER_FIXED_LEN = 3 + 16 + 2
BACKUP_MAX_HEADER_LEN = BACKUP_HEADER_FIXED_LEN + 19 + 1024
BACKUP_TRAILER_LEN = 16
BACKUP_END_MAGIC = b"cofrebk1"
BACKUP_MAX_MANIFEST_LEN = 256 << 20
BACKUP_MAX_SIGNATURE_LEN = 3 + 16 + 1024
CTX_BACKUP_KEY_PREFIX = b"cofre/v1/backup/"
CTX_BACKUP_FILE_PREFIX = b"cofre/v1/backup/file/"
CTX_BACKUP_MANIFEST = b"cofre/v1/backup/manifest"
CTX_BACKUP_PRIVATE_KEY = b"cofre/v1/backup-private-key"
BACKUP_KEY_FILE_FORMAT = "cofre-backup-key-v1"
MANIFEST_MEMBERS = (
    "format", "backup_id", "created_at", "server_version", "schema_version", "signer",
    "counts", "files",
)
COUNTS_MEMBERS = ("users", "items", "shares")
FILE_MEMBERS = ("path", "size", "compression", "stored_size", "offset", "length", "sha256")
KEY_FILE_MEMBERS = ("format", "public_key", "kdf", "salt", "private_key")
PATH_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
U32_MAX, U64_MAX, I64 = 2**32 - 1, 2**64 - 1, 2**63


class ZstdUnavailable(Exception):
    """Decompression was needed but no Zstandard library is installed."""


def backup_header(backup_id, wrapped):
    return bytes([0x05, 0x01, 0x01]) + backup_id + len(wrapped).to_bytes(2, "big") + wrapped


def parse_backup_header(data):
    """13.2: returns the backup id, the wrapped key and the header's length."""
    check_header(data, 0x05)
    if len(data) < BACKUP_HEADER_FIXED_LEN:
        raise Reject("malformed", "truncated header")
    wlen = int.from_bytes(data[19:21], "big")
    if len(data) < BACKUP_HEADER_FIXED_LEN + wlen:
        raise Reject("malformed", "truncated header")
    wrapped = data[21:21 + wlen]
    split_rsa_envelope(wrapped, 0x02)  # 6.2 steps 1-2
    return data[3:19], wrapped, BACKUP_HEADER_FIXED_LEN + wlen


def backup_trailer(manifest_len, signature_len):
    return u32be(manifest_len) + u32be(signature_len) + BACKUP_END_MAGIC


def parse_backup_trailer(data):
    if len(data) != BACKUP_TRAILER_LEN or data[8:] != BACKUP_END_MAGIC:
        raise Reject("malformed", "does not end like a backup")
    ml, sl = int.from_bytes(data[0:4], "big"), int.from_bytes(data[4:8], "big")
    if not 1 <= ml <= BACKUP_MAX_MANIFEST_LEN:
        raise Reject("malformed", "manifest length")
    if sl > BACKUP_MAX_SIGNATURE_LEN:
        raise Reject("malformed", "signature length")
    return ml, sl


def file_context(backup_id, index, path):
    return CTX_BACKUP_FILE_PREFIX + backup_id + u32be(index) + path.encode("ascii")


def check_backup_path(path):
    raw = path.encode("utf-8")
    if not 1 <= len(raw) <= 255:
        raise Reject("malformed", "path length")
    for c in path.split("/"):
        if c in ("", ".", ".."):
            raise Reject("malformed", "path component")
        if any(ch not in PATH_CHARS for ch in c):
            raise Reject("malformed", "path character")


def _exact(obj, members):
    return isinstance(obj, dict) and set(obj) == set(members)


def _int(v, lo, hi):
    return type(v) is int and lo <= v <= hi


def parse_manifest(data, backup_id, header_len, manifest_offset):
    """13.4: the format (unsupported), the shape (malformed), then the checks against
    the archive (malformed)."""
    try:
        obj = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_members, parse_float=_no_float, parse_constant=_no_float,
        )
    except (ValueError, RecursionError, Reject) as e:  # not UTF-8 or JSON, duplicates
        raise Reject("malformed", f"manifest is not JSON of the expected shape: {e}") from e
    if isinstance(obj, dict) and _int(obj.get("format"), 0, U32_MAX) and obj["format"] != 1:
        raise Reject("unsupported", "manifest format")
    shape = (
        _exact(obj, MANIFEST_MEMBERS)
        and _int(obj["format"], 0, U32_MAX)
        and _unicode_string(obj["backup_id"])
        and _int(obj["created_at"], -I64, I64 - 1)
        and _unicode_string(obj["server_version"])
        and _int(obj["schema_version"], -I64, I64 - 1)
        and _unicode_string(obj["signer"])
        and _exact(obj["counts"], COUNTS_MEMBERS)
        and all(_int(obj["counts"][k], 0, U64_MAX) for k in COUNTS_MEMBERS)
        and isinstance(obj["files"], list)
        and all(
            _exact(f, FILE_MEMBERS)
            and _unicode_string(f["path"])
            and f["compression"] in ("none", "zstd")
            and _unicode_string(f["sha256"])
            and all(_int(f[k], 0, U64_MAX) for k in ("size", "stored_size", "offset", "length"))
            for f in obj["files"]
        )
    )
    if not shape:
        raise Reject("malformed", "manifest is not JSON of the expected shape")
    if obj["format"] != 1:
        raise Reject("unsupported", "manifest format")
    if obj["backup_id"] != backup_id.hex():
        raise Reject("malformed", "manifest names another backup id")
    at, seen = header_len, set()
    for f in obj["files"]:
        check_backup_path(f["path"])
        if f["path"] in seen:
            raise Reject("malformed", "a path twice")
        seen.add(f["path"])
        if f["offset"] != at:
            raise Reject("malformed", "entries are not contiguous")
        if f["compression"] == "none" and f["size"] != f["stored_size"]:
            raise Reject("malformed", "uncompressed entry with two sizes")
        if f["length"] < 84:
            raise Reject("malformed", "entry shorter than the shortest stream")
        if len(f["sha256"]) != 64 or any(c not in "0123456789abcdef" for c in f["sha256"]):
            raise Reject("malformed", "sha256 is not 64 lowercase hex digits")
        at += f["length"]
    if at != manifest_offset:
        raise Reject("malformed", "entries do not end where the manifest starts")
    lower = [f["path"].lower() for f in obj["files"]]
    if len(set(lower)) != len(lower):
        raise Reject("malformed", "two paths differ only in case")
    for p in lower:
        for i, ch in enumerate(p):
            if ch == "/" and p[:i] in lower:
                raise Reject("malformed", "a path is both a file and a folder")
    return obj


def write_manifest(m):
    """How cofre writes the manifest: members in the order of 13.4, no white space."""
    ordered = {k: m[k] for k in MANIFEST_MEMBERS}
    ordered["counts"] = {k: m["counts"][k] for k in COUNTS_MEMBERS}
    ordered["files"] = [{k: f[k] for k in FILE_MEMBERS} for f in m["files"]]
    return json.dumps(ordered, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def zstd_decompress(stored):
    """Exactly one complete Zstandard frame, nothing after it; any failure is decrypt."""
    if _zstandard is None:
        raise ZstdUnavailable("pip install zstandard to check decompression")
    d = _zstandard.ZstdDecompressor().decompressobj()
    try:
        out = d.decompress(stored)
    except _zstandard.ZstdError as e:
        raise Reject("decrypt", "not a zstd frame") from e
    if not d.eof or d.unused_data:
        raise Reject("decrypt", "not exactly one complete zstd frame")
    return out


def open_backup(data, pinned_spki=None):
    """13.6 steps 1-8: structure, manifest and signature, before any decryption.
    Returns (backup id, wrapped key, header length, manifest)."""
    if len(data) < BACKUP_HEADER_FIXED_LEN + BACKUP_TRAILER_LEN:
        raise Reject("malformed", "too short")
    backup_id, wrapped, hl = parse_backup_header(data[:BACKUP_MAX_HEADER_LEN])
    ml, sl = parse_backup_trailer(data[-BACKUP_TRAILER_LEN:])
    mo = len(data) - BACKUP_TRAILER_LEN - sl - ml
    if mo < hl:
        raise Reject("malformed", "too short")
    manifest_json = data[mo:mo + ml]
    manifest = parse_manifest(manifest_json, backup_id, hl, mo)
    signer_spki = text_decode(manifest["signer"])
    signer = load_public_key(signer_spki)
    verify(signer, signer_spki, CTX_BACKUP_MANIFEST, data[:hl] + manifest_json,
           data[mo + ml:len(data) - BACKUP_TRAILER_LEN])
    if pinned_spki is not None and signer_spki != pinned_spki:
        raise Reject("bad_signature", "signed by another key than the pinned one")
    return backup_id, wrapped, hl, manifest


def read_backup(data, backup_sk, pinned_spki=None):
    """13.6: every check, then the archive key, then each entry. Returns the files."""
    backup_id, wrapped, _, manifest = open_backup(data, pinned_spki)
    key = unwrap(backup_sk, CTX_BACKUP_KEY_PREFIX + backup_id, wrapped)
    files = []
    for i, f in enumerate(manifest["files"]):
        entry = data[f["offset"]:f["offset"] + f["length"]]
        if not hmac.compare_digest(hashlib.sha256(entry).hexdigest(), f["sha256"]):
            raise Reject("bad_signature", "entry does not match the signed manifest")
        stored = decrypt_stream_all(key, file_context(backup_id, i, f["path"]), entry)
        if len(stored) != f["stored_size"]:
            raise Reject("decrypt", "stored size")
        restored = zstd_decompress(stored) if f["compression"] == "zstd" else stored
        if len(restored) != f["size"]:
            raise Reject("decrypt", "restored size")
        files.append((f["path"], restored))
    return files


def parse_backup_key_file(text):
    """13.8: shape, format, public key (no passphrase needed), KDF bounds."""
    try:
        obj = json.loads(
            text, object_pairs_hook=_members, parse_float=_no_float, parse_constant=_no_float
        )
    except (ValueError, RecursionError, Reject) as e:
        raise Reject("malformed", "not a backup key file") from e
    if not _exact(obj, KEY_FILE_MEMBERS) or not all(
        type(obj[k]) is str for k in ("format", "public_key", "salt", "private_key")
    ):
        raise Reject("malformed", "not a backup key file")
    kdf_error = None
    try:
        check_kdf_params(obj["kdf"])
    except Reject as e:
        if e.cls != "kdf_params":
            raise Reject("malformed", f"not a backup key file: {e}") from e
        kdf_error = e  # the bounds are checked after the format and the public key
    try:
        box = text_decode(obj["private_key"])
        parse_sealed(box)
    except Reject as e:
        raise Reject("malformed", f"not a backup key file: {e}") from e
    if obj["format"] != BACKUP_KEY_FILE_FORMAT:
        raise Reject("malformed", "unknown format")
    spki = text_decode(obj["public_key"])
    load_public_key(spki)
    if kdf_error is not None:
        raise kdf_error
    return obj, spki, box


def open_backup_key_file(text, passphrase):
    obj, spki, box = parse_backup_key_file(text)
    salt = text_decode(obj["salt"])
    if len(salt) != 16:
        raise Reject("malformed", "salt is not 16 bytes")
    mk = master_key(passphrase, salt, obj["kdf"])
    private = load_private_key(open_sealed(stretched_key(mk), CTX_BACKUP_PRIVATE_KEY, box))
    if spki_of(private) != spki:
        raise Reject("invalid_key", "private key does not match public_key")
    return private


PEM_BEGIN, PEM_END = "-----BEGIN PUBLIC KEY-----", "-----END PUBLIC KEY-----"


def write_pem(spki):
    b64 = base64.b64encode(spki).decode("ascii")
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return PEM_BEGIN + "\n" + "".join(line + "\n" for line in lines) + PEM_END + "\n"


def parse_pem(text):
    body = text.strip()
    if not body.startswith(PEM_BEGIN) or not body.endswith(PEM_END):
        raise Reject("malformed", "not a PEM PUBLIC KEY block")
    b64 = "".join(body[len(PEM_BEGIN):len(body) - len(PEM_END)].split())
    try:
        der = base64.b64decode(b64, validate=True)
    except ValueError as e:  # binascii.Error
        raise Reject("malformed", "bad base64") from e
    if base64.b64encode(der).decode("ascii") != b64:
        raise Reject("malformed", "non-canonical base64")
    return load_public_key(der)


# ------------------------------------------------------------------------------------
# Checking the vectors
# ------------------------------------------------------------------------------------


class Checker:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0

    def run(self, name, fn, *args):
        try:
            fn(*args)
        except ZstdUnavailable:
            self.skipped += 1
            print(f"SKIP {name}: needs zstd decompression (pip install zstandard)", file=sys.stderr)
        except Exception:  # report every failure, keep going
            self.failed += 1
            print(f"FAIL {name}", file=sys.stderr)
            traceback.print_exc()
        else:
            self.passed += 1

    def reject(self, vector, fn, *args):
        def check():
            try:
                fn(*args)
            except Reject as e:
                assert e.cls == vector["error"], f"rejected as {e.cls}, expected {vector['error']}: {e}"
                return
            raise AssertionError("negative vector accepted")

        self.run(vector["description"], check)


def load(name):
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        return json.load(f)


def h(s):
    return bytes.fromhex(s)


def check_sealed_boxes(ck):
    v = load("sealed_box.json")
    for c in v["cases"]:
        def case(c=c):
            key, ctx, iv, pt = h(c["key"]), h(c["context"]), h(c["iv"]), h(c["plaintext"])
            enc = h(c["encoding"])
            assert text_decode(c["text"]) == enc and text_encode(enc) == c["text"]
            assert open_sealed(key, ctx, enc) == pt
            # The writer side: the same bytes from the same key, context and IV.
            assert seal(key, ctx, pt, iv) == enc
            assert sealed_mac_input(ctx, iv, enc[19:-32]) == h(c["mac_input"])
            assert enc[19:-32] == h(c["ciphertext"]) and enc[-32:] == h(c["tag"])
            assert len(enc) == 67 + 16 * (len(pt) // 16)

        ck.run("sealed box: " + c["description"], case)
    for n in v["negative"]:
        ck.reject(n, lambda n=n: open_sealed(h(n["key"]), h(n["context"]), h(n["encoding"])))
    ck.run("sealed box: good text", lambda: parse_sealed(text_decode(v["good_text"])))
    for n in v["text_negative"]:
        ck.reject(n, lambda n=n: parse_sealed(text_decode(n["text"])))


def check_streams(ck):
    v = load("stream.json")
    for c in v["cases"]:
        def case(c=c):
            key, ctx, pt, enc = h(c["key"]), h(c["context"]), h(c["plaintext"]), h(c["encoding"])
            log2c, nonce = c["chunk_log2"], h(c["nonce"])
            header = bytes([0x04, 0x01, 0x01, log2c]) + nonce
            assert enc[:20] == header == h(c["header"])
            assert stream_info(header, ctx) == h(c["hkdf_info"])
            assert stream_keys(key, header, ctx) == (h(c["stream_enc_key"]), h(c["stream_mac_key"]))
            assert decrypt_stream_all(key, ctx, enc) == pt
            ivs = [h(ch["iv"]) for ch in c["chunks"]]
            assert encrypt_stream(key, ctx, log2c, nonce, pt, ivs) == enc
            size, m = 1 << log2c, max(1, -(-len(pt) // (1 << log2c)))
            r = len(pt) - (m - 1) * size
            assert len(enc) == 20 + (m - 1) * (size + 64) + 48 + 16 * (r // 16 + 1)
            assert len(c["chunks"]) == m
            pos = 20
            for i, ch in enumerate(c["chunks"]):
                assert ch["index"] == i and ch["last"] == (i == m - 1)
                assert ch["encoded_len"] == 64 + 16 * (ch["plaintext_len"] // 16)
                assert enc[pos:pos + 16] == h(ch["iv"])
                pos += ch["encoded_len"]
                assert enc[pos - 32:pos] == h(ch["tag"])
            assert pos == len(enc)

        ck.run("stream: " + c["description"], case)
    for n in v["negative"]:
        ck.reject(n, lambda n=n: decrypt_stream_all(h(n["key"]), h(n["context"]), h(n["encoding"])))


def check_rsa_key(ck):
    v = load("rsa_key.json")
    out = {}

    def case():
        sk = load_private_key(h(v["private_key_pkcs8"]))
        spki = h(v["public_key_spki"])
        assert spki_of(sk) == spki
        assert sk.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ) == h(v["private_key_pkcs8"]), "PKCS#8 re-encodes identically"
        pub = load_public_key(spki)
        assert pub.key_size == v["modulus_bits"] == 3072
        assert pub.public_numbers().e == 65537
        assert spki[:4] == bytes([0x30, 0x82, 0x01, 0xA2]) and len(spki) == 422
        assert text_decode(v["public_key_text"]) == spki
        assert fingerprint(spki) == h(v["fingerprint"])
        assert key_id(spki) == h(v["key_id"])
        out.update(sk=sk, spki=spki, pub=pub)

    ck.run("RSA key", case)
    for n in v["negative"]:
        ck.reject(n, lambda n=n: load_public_key(h(n["spki"])))
    return out


def check_wrapped_keys(ck, rsa_key):
    v = load("wrapped_key.json")
    sk, spki, pub = rsa_key["sk"], rsa_key["spki"], rsa_key["pub"]
    for c in v["cases"]:
        def case(c=c):
            ctx = CTX_ITEM_KEY_PREFIX + c["item_id"].encode("utf-8")
            assert ctx == h(c["context"])
            assert wrap_label(key_id(spki), ctx) == h(c["label"])
            enc = h(c["encoding"])
            assert text_decode(c["text"]) == enc and enc[3:19] == h(v["key_id"])
            assert len(enc) == 19 + 384
            assert unwrap(sk, ctx, enc) == h(c["item_key"])
            # The writer side: a fresh wrap by this implementation unwraps too.
            fresh = wrap(pub, spki, h(c["item_key"]), ctx)
            assert fresh[:19] == enc[:19] and len(fresh) == len(enc) and fresh != enc
            assert unwrap(sk, ctx, fresh) == h(c["item_key"])

        ck.run("wrapped key: " + c["description"], case)
    for n in v["negative"]:
        ctx = CTX_ITEM_KEY_PREFIX + n["item_id"].encode("utf-8")
        ck.reject(n, lambda n=n, ctx=ctx: unwrap(sk, ctx, h(n["encoding"])))


def check_signatures(ck, rsa_key):
    v = load("signature.json")
    sk, spki, pub = rsa_key["sk"], rsa_key["spki"], rsa_key["pub"]
    for c in v["cases"]:
        def case(c=c):
            ctx, msg, enc = h(c["context"]), h(c["message"]), h(c["encoding"])
            assert signed_message(key_id(spki), ctx, msg) == h(c["signed_message"])
            assert text_decode(c["text"]) == enc and enc[3:19] == h(v["key_id"])
            verify(pub, spki, ctx, msg, enc)
            fresh = sign(sk, ctx, msg)
            assert fresh[:19] == enc[:19] and len(fresh) == len(enc) and fresh != enc
            verify(pub, spki, ctx, msg, fresh)

        ck.run("signature: " + c["description"], case)
    for n in v["negative"]:
        ck.reject(n, lambda n=n: verify(pub, spki, h(n["context"]), h(n["message"]), h(n["encoding"])))


def check_key_hierarchy(ck, rsa_key):
    v = load("key_hierarchy.json")
    for c in v["password_kdf"]:
        def case(c=c):
            assert c["password_typed"].encode("utf-8") == h(c["password_typed_hex"])
            assert password_bytes(c["password_typed"]) == h(c["password_nfc_hex"])
            params = parse_kdf_params(c["kdf_json"])
            assert params == c["kdf"]
            salt = text_decode(c["salt_text"])
            assert salt == h(c["salt"]) and len(salt) == 16
            mk = master_key(c["password_typed"], salt, params)
            assert mk == h(c["master_key"]), "master key"
            assert auth_key(mk) == h(c["auth_key"])
            assert text_encode(auth_key(mk)) == c["auth_key_text"] and len(c["auth_key_text"]) == 43
            sk = stretched_key(mk)
            assert sk == h(c["stretched_key"]) == h(c["stretched_enc_key"]) + h(c["stretched_mac_key"])
            assert h(c["context"]) == CTX_USER_KEY_PASSWORD
            box = text_decode(c["protected_user_key_text"])
            assert box == h(c["protected_user_key"])
            assert open_sealed(sk, CTX_USER_KEY_PASSWORD, box) == h(c["user_key"])
            assert seal(sk, CTX_USER_KEY_PASSWORD, h(c["user_key"]), h(c["iv"])) == box

        ck.run("key hierarchy: " + c["description"], case)
    for text in v["kdf_params_accepted"]:
        ck.run("KDF parameters accepted: " + text, parse_kdf_params, text)
    for n in v["kdf_params_negative"]:
        ck.reject(n, lambda n=n: parse_kdf_params(n["kdf_json"]))

    r = v["recovery"]

    def recovery():
        raw = h(r["recovery_key"])
        assert recovery_display(raw) == r["display"] and len(r["display"]) == 64
        for typed in [r["display"]] + r["typed_forms"]:
            assert parse_recovery(typed) == raw, repr(typed)
        wk = recovery_wrapping_key(raw)
        assert wk == h(r["wrapping_key"])
        assert h(r["context"]) == CTX_USER_KEY_RECOVERY
        box = text_decode(r["recovery_user_key_text"])
        assert box == h(r["recovery_user_key"])
        assert open_sealed(wk, CTX_USER_KEY_RECOVERY, box) == h(r["user_key"])
        assert seal(wk, CTX_USER_KEY_RECOVERY, h(r["user_key"]), h(r["iv"])) == box
        auth = hkdf_sha256(raw, b"", b"cofre/v1/recovery-auth", 32)
        assert text_encode(auth) == r["recovery_auth_key_text"]

    ck.run("recovery key", recovery)
    for n in v["recovery_negative"]:
        ck.reject(n, lambda n=n: parse_recovery(n["text"]))

    p = v["private_key"]

    def private_key():
        assert h(p["context"]) == CTX_PRIVATE_KEY
        pkcs8 = open_sealed(h(p["user_key"]), CTX_PRIVATE_KEY, h(p["protected_private_key"]))
        assert spki_of(load_private_key(pkcs8)) == rsa_key["spki"]
        assert seal(h(p["user_key"]), CTX_PRIVATE_KEY, pkcs8, h(p["iv"])) == h(p["protected_private_key"])

    ck.run("private key under the user key", private_key)

    a = v["account"]

    def account():
        acct = parse_account(a["account_keys"])
        params, salt, _, spki, _ = acct
        assert spki == rsa_key["spki"]
        mk = master_key(a["password_typed"], salt, params)
        user_key, private = unlock(acct, "protected_user_key", stretched_key(mk), CTX_USER_KEY_PASSWORD)
        assert user_key == h(p["user_key"])
        raw = parse_recovery(a["recovery_display"])
        user_key2, _ = unlock(acct, "recovery_user_key", recovery_wrapping_key(raw), CTX_USER_KEY_RECOVERY)
        assert user_key2 == user_key
        # Wrong password: the protected user key does not open.
        bad = master_key(a["password_typed"] + "!", salt, params)
        try:
            unlock(acct, "protected_user_key", stretched_key(bad), CTX_USER_KEY_PASSWORD)
        except Reject as e:
            assert e.cls == "decrypt"
        else:
            raise AssertionError("wrong password unlocked")
        # A swapped public key is caught at unlock.
        other = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        swapped = dict(a["account_keys"], public_key=text_encode(spki_of(other)))
        try:
            unlock(parse_account(swapped), "protected_user_key", stretched_key(mk), CTX_USER_KEY_PASSWORD)
        except Reject as e:
            assert e.cls == "invalid_key"
        else:
            raise AssertionError("swapped public key accepted")
        del private

    ck.run("account JSON: unlock with the password and with the recovery key", account)


def check_vault_item(ck, rsa_key):
    v = load("vault_item.json")
    sk, spki, pub = rsa_key["sk"], rsa_key["spki"], rsa_key["pub"]
    item_key = h(v["item_key"])
    key_ctx, meta_ctx, body_ctx = item_contexts(v["item_id"])

    def contexts():
        assert len(item_key) == 64
        for name, ctx in (("item_key", key_ctx), ("metadata", meta_ctx), ("body", body_ctx)):
            c = v["contexts"][name]
            assert h(c["hex"]) == ctx == c["ascii"].encode("ascii"), name

    ck.run("vault item: contexts", contexts)

    m, b = v["metadata"], v["body"]

    def metadata():
        enc = h(m["encoding"])
        assert text_decode(m["text"]) == enc and text_encode(enc) == m["text"]
        plain = open_sealed(item_key, meta_ctx, enc)
        assert plain == m["metadata_json"].encode("utf-8")
        members = parse_item_metadata(plain)
        assert members == m["members"]
        assert write_item_metadata(members) == plain, "cofre's writing form"
        assert seal(item_key, meta_ctx, plain, h(m["iv"])) == enc
        assert members["size"] == len(h(b["plaintext"]))

    ck.run("vault item: metadata", metadata)

    def body():
        enc, pt, log2c, nonce = h(b["encoding"]), h(b["plaintext"]), b["chunk_log2"], h(b["nonce"])
        header = bytes([0x04, 0x01, 0x01, log2c]) + nonce
        assert 10 <= log2c <= 20 and enc[:20] == header == h(b["header"])
        assert stream_info(header, body_ctx) == h(b["hkdf_info"])
        assert stream_keys(item_key, header, body_ctx) == (h(b["stream_enc_key"]), h(b["stream_mac_key"]))
        assert decrypt_stream_all(item_key, body_ctx, enc) == pt
        ivs = [h(ch["iv"]) for ch in b["chunks"]]
        assert encrypt_stream(item_key, body_ctx, log2c, nonce, pt, ivs) == enc

    ck.run("vault item: body", body)
    for w in v["wrapped_keys"]:
        def wrapped(w=w):
            enc = h(w["encoding"])
            assert text_decode(w["text"]) == enc and enc[3:19] == key_id(spki) == h(w["key_id"])
            assert wrap_label(key_id(spki), key_ctx) == h(w["label"])
            assert unwrap(sk, key_ctx, enc) == item_key
            fresh = wrap(pub, spki, item_key, key_ctx)
            assert fresh[:19] == enc[:19] and len(fresh) == len(enc) and fresh != enc
            assert unwrap(sk, key_ctx, fresh) == item_key

        ck.run("vault item: " + w["description"], wrapped)

    for c in v["metadata_accepted"]:
        def accepted(c=c):
            _, ctx, _ = item_contexts(c["item_id"])
            enc, plain = h(c["encoding"]), c["metadata_json"].encode("utf-8")
            assert open_sealed(item_key, ctx, enc) == plain
            assert seal(item_key, ctx, plain, h(c["iv"])) == enc
            assert parse_item_metadata(plain) == c["members"]

        ck.run("vault item metadata accepted: " + c["description"], accepted)

    def open_metadata(n):
        _, ctx, _ = item_contexts(n["item_id"])
        enc = h(n["encoding"])
        if "metadata_json" in n:  # an authentic box: only its JSON is refused
            assert seal(item_key, ctx, n["metadata_json"].encode("utf-8"), h(n["iv"])) == enc
        return parse_item_metadata(open_sealed(item_key, ctx, enc))

    for n in v["metadata_negative"]:
        ck.reject(n, open_metadata, n)
    for n in v["body_negative"]:
        _, _, ctx = item_contexts(n["item_id"])
        ck.reject(n, lambda n=n, ctx=ctx: decrypt_stream_all(item_key, ctx, h(n["encoding"])))
    for n in v["wrapped_key_negative"]:
        ctx, _, _ = item_contexts(n["item_id"])
        ck.reject(n, lambda n=n, ctx=ctx: unwrap(sk, ctx, h(n["encoding"])))


def check_owner_copy(ck):
    v = load("owner_copy.json")
    item = load("vault_item.json")
    user_key, item_id, item_key = h(v["user_key"]), v["item_id"], h(v["item_key"])

    def key():
        assert v["hkdf_info"]["ascii"].encode("ascii") == h(v["hkdf_info"]["hex"]) == LABEL_VAULT_META_KEY
        assert vault_meta_key(user_key) == h(v["vault_meta_key"])
        assert item_id == item["item_id"] and item_key == h(item["item_key"])
        assert v["cases"][0]["item_metadata"] == item["metadata"]["encoding"]

    ck.run("owner copy: vault metadata key and the item of vault_item.json", key)
    _, meta_ctx, _ = item_contexts(item_id)
    for c in v["cases"]:
        def case(c=c):
            box, enc = h(c["item_metadata"]), h(c["encoding"])
            assert text_decode(c["text"]) == enc and text_encode(enc) == c["text"]
            assert hashlib.sha256(box).digest() == h(c["item_metadata_sha256"])
            ctx = owner_copy_context(item_id, box)
            assert ctx == h(c["context"]["hex"]) == c["context"]["ascii"].encode("ascii")
            members = open_owner_copy(user_key, item_id, box, enc)
            assert members == c["members"]
            plain = c["metadata_json"].encode("utf-8")
            assert write_item_metadata(members) == plain
            # The writer side, and agreement with the item-key copy.
            assert seal(vault_meta_key(user_key), ctx, plain, h(c["iv"])) == enc
            assert open_sealed(item_key, meta_ctx, box) == plain

        ck.run("owner copy: " + c["description"], case)
    for n in v["negative"]:
        ck.reject(
            n, open_owner_copy, user_key, n["item_id"], h(n["item_metadata"]), h(n["owner_copy"])
        )


# ------------------------------------------------------------------------------------
# Sections 9.9 and 9.10: shares, and shares across the recipient's key rotation
# ------------------------------------------------------------------------------------

CTX_SHARE = b"cofre/v1/share"
CTX_SHARE_REWRAP = b"cofre/v1/share-rewrap"


def length_prefixed(*fields):
    return b"".join(u32be(len(f)) + f for f in fields)


def share_message(item_id, owner, recipient, wrapped):
    return length_prefixed(item_id.encode("ascii"), owner.encode("utf-8"), recipient.encode("utf-8"), wrapped)


def rewrap_message(item_id, owner, recipient, original, current):
    return length_prefixed(
        item_id.encode("ascii"), owner.encode("utf-8"), recipient.encode("utf-8"), original, current
    )


def verify_received_share(owner_key, recipient_key, item_id, owner, recipient, wrapped, signature,
                          signed_wrapped, rewrap_signature):
    """Section 9.10: accept directly, or through the recipient's re-wrap statement.

    `owner_key` and `recipient_key` are (public key, SPKI) pairs."""
    if (signed_wrapped is None) != (rewrap_signature is None):
        raise Reject("bad_signature", "half a re-wrap record")
    try:
        verify(*owner_key, CTX_SHARE, share_message(item_id, owner, recipient, wrapped), signature)
        return
    except Reject:
        if signed_wrapped is None:
            raise
    verify(*owner_key, CTX_SHARE, share_message(item_id, owner, recipient, signed_wrapped), signature)
    verify(*recipient_key, CTX_SHARE_REWRAP,
           rewrap_message(item_id, owner, recipient, signed_wrapped, wrapped), rewrap_signature)


def check_share(ck, rsa_key):
    v = load("share.json")
    item_id = v["item_id"]
    keys = {"recipient_old": (rsa_key["pub"], rsa_key["spki"])}
    private = {"recipient_old": rsa_key["sk"]}

    def stored_keys():
        for member, name in (("owner_key", "owner"), ("recipient_new_key", "recipient_new")):
            k = v[member]
            sk = load_private_key(h(k["private_key_pkcs8"]))
            spki = h(k["public_key_spki"])
            assert spki_of(sk) == spki and key_id(spki) == h(k["key_id"])
            assert fingerprint(spki) == h(k["fingerprint"])
            keys[name] = (load_public_key(spki), spki)
            private[name] = sk

    ck.run("share: keys", stored_keys)
    if len(keys) != 3:
        return
    wrapped = {n: h(w["encoding"]) for n, w in v["wrapped_keys"].items()}
    sigs = {n: h(g["encoding"]) for n, g in v["signatures"].items()}

    def tables():
        assert v["contexts"]["share"]["ascii"].encode("ascii") == CTX_SHARE
        assert v["contexts"]["share_rewrap"]["ascii"].encode("ascii") == CTX_SHARE_REWRAP
        ctx = CTX_ITEM_KEY_PREFIX + item_id.encode("ascii")
        assert unwrap(private["recipient_old"], ctx, wrapped["original"]) == h(v["item_key"])
        assert unwrap(private["recipient_new"], ctx, wrapped["current"]) == h(v["item_key"])
        assert unwrap(private["recipient_new"], ctx, wrapped["server_made"]) != h(v["item_key"])
        assert h(v["signatures"]["owner"]["message"]) == share_message(
            item_id, "alice", "bob", wrapped["original"])
        assert h(v["signatures"]["rewrap"]["message"]) == rewrap_message(
            item_id, "alice", "bob", wrapped["original"], wrapped["current"])
        for name, g in v["signatures"].items():
            by = next(k for k in keys.values() if key_id(k[1]) == h(g["key_id"]))
            ctx, msg = h(g["context"]["hex"]), h(g["message"])
            assert signed_message(key_id(by[1]), ctx, msg) == h(g["signed_message"]), name
            verify(*by, ctx, msg, sigs[name])

    ck.run("share: wrapped keys, messages and signatures", tables)

    def read(c):
        opt = lambda table, name: None if name is None else table[name]  # noqa: E731
        verify_received_share(
            keys[c["owner_key"]], keys[c["recipient_key"]], item_id, c["owner"], c["recipient"],
            wrapped[c["wrapped_key"]], sigs[c["signature"]],
            opt(wrapped, c["signed_wrapped_key"]), opt(sigs, c["rewrap_signature"]),
        )

    for c in v["accepted"]:
        ck.run("share: " + c["description"], read, c)
    for n in v["negative"]:
        ck.reject(n, read, n)


def check_backup(ck, rsa_key):
    v = load("backup.json")
    sk, spki, pub = rsa_key["sk"], rsa_key["spki"], rsa_key["pub"]
    a, sv = v["archive"], v["signer_key"]
    signer = {}

    def signer_key():
        key = load_private_key(h(sv["private_key_pkcs8"]))
        s_spki = h(sv["public_key_spki"])
        assert spki_of(key) == s_spki != spki, "a second key"
        assert load_public_key(s_spki).key_size == sv["modulus_bits"] == 3072
        assert text_decode(sv["public_key_text"]) == s_spki
        assert fingerprint(s_spki) == h(sv["fingerprint"]) and key_id(s_spki) == h(sv["key_id"])
        b32 = base64.b32encode(fingerprint(s_spki)[:20]).decode("ascii").lower()
        assert " ".join(b32[i:i + 4] for i in range(0, 32, 4)) == sv["fingerprint_text"]
        signer.update(sk=key, spki=s_spki, pub=load_public_key(s_spki))

    ck.run("backup: signer key", signer_key)
    if not signer:
        return

    def archive():
        data, backup_id, key = h(a["encoding"]), h(a["backup_id"]), h(a["archive_key"])
        assert len(data) == a["length"] and len(backup_id) == 16 and len(key) == 64
        # The header (13.2) and the archive key (13.3).
        key_ctx = CTX_BACKUP_KEY_PREFIX + backup_id
        assert key_ctx == h(a["key_context"])
        assert wrap_label(key_id(spki), key_ctx) == h(a["oaep_label"])
        wrapped = h(a["wrapped_key"])
        header = backup_header(backup_id, wrapped)
        assert header == h(a["header"]) == data[:len(header)] and len(header) == a["header_len"]
        assert parse_backup_header(data) == (backup_id, wrapped, len(header))
        assert unwrap(sk, key_ctx, wrapped) == key
        fresh = wrap(pub, spki, key, key_ctx)
        assert len(fresh) == len(wrapped) and fresh[:19] == wrapped[:19] != fresh
        assert unwrap(sk, key_ctx, fresh) == key
        # The entries (13.3): streams under the archive key, one context each.
        at, m = len(header), a["manifest"]
        for i, e in enumerate(a["entries"]):
            f = m["files"][i]
            ctx = file_context(backup_id, i, e["path"])
            assert ctx == h(e["context"]) and e["index"] == i and f["path"] == e["path"]
            enc, stored, restored = h(e["encoding"]), h(e["stored"]), h(e["restored"])
            assert data[at:at + len(enc)] == enc and f["offset"] == e["offset"] == at
            assert f["length"] == e["length"] == len(enc)
            assert f["sha256"] == e["sha256"] == hashlib.sha256(enc).hexdigest()
            assert f["stored_size"] == e["stored_size"] == len(stored)
            assert f["size"] == e["size"] == len(restored)
            assert f["compression"] == e["compression"]
            header_s = bytes([0x04, 0x01, 0x01, e["chunk_log2"]]) + h(e["nonce"])
            assert e["chunk_log2"] == 16 and enc[:20] == header_s == h(e["header"])
            assert stream_info(header_s, ctx) == h(e["hkdf_info"])
            keys = (h(e["stream_enc_key"]), h(e["stream_mac_key"]))
            assert stream_keys(key, header_s, ctx) == keys
            assert decrypt_stream_all(key, ctx, enc) == stored
            ivs = [h(ch["iv"]) for ch in e["chunks"]]
            assert encrypt_stream(key, ctx, 16, h(e["nonce"]), stored, ivs) == enc
            if e["compression"] == "none":
                assert stored == restored
            else:
                assert stored[:4] == bytes([0x28, 0xB5, 0x2F, 0xFD]), "a zstd frame"
            at += len(enc)
        # The manifest (13.4), as cofre writes it, and its signature (13.5).
        assert at == a["manifest_offset"]
        mj = a["manifest_json"].encode("utf-8")
        assert write_manifest(m) == mj == data[at:at + len(mj)]
        assert parse_manifest(mj, backup_id, len(header), at) == m
        assert text_decode(m["signer"]) == signer["spki"]
        ctx = a["signature_context"]
        assert h(ctx["hex"]) == ctx["ascii"].encode("ascii") == CTX_BACKUP_MANIFEST
        sig = h(a["signature"])
        message = signed_message(key_id(signer["spki"]), CTX_BACKUP_MANIFEST, header + mj)
        assert message == h(a["signed_message"])
        verify(signer["pub"], signer["spki"], CTX_BACKUP_MANIFEST, header + mj, sig)
        fresh = sign(signer["sk"], CTX_BACKUP_MANIFEST, header + mj)
        assert len(fresh) == len(sig) and fresh[:19] == sig[:19] != fresh
        verify(signer["pub"], signer["spki"], CTX_BACKUP_MANIFEST, header + mj, fresh)
        # The trailer (13.2) and the whole archive.
        trailer = backup_trailer(len(mj), len(sig))
        assert trailer == h(a["trailer"]) == data[-16:]
        entries = b"".join(h(e["encoding"]) for e in a["entries"])
        assert header + entries + mj + sig + trailer == data
        assert open_backup(data, signer["spki"])[3] == open_backup(data)[3] == m

    ck.run("backup: archive", archive)

    def restore():
        """Reading it (13.6), with the signer pinned and not: the restored files."""
        data = h(a["encoding"])
        want = [(e["path"], h(e["restored"])) for e in a["entries"]]
        assert read_backup(data, sk, signer["spki"]) == want
        assert read_backup(data, sk) == want

    ck.run("backup: archive restored", restore)
    for n in v["negative"]:
        key = signer["sk"] if n.get("backup_private_key") == "signer_key" else sk
        data = h(n["archive"])
        ck.reject(n, read_backup, data, key, signer["spki"])
        if n.get("accepted_without_pinning"):
            ck.run("accepted without pinning: " + n["description"], read_backup, data, key)

    k = v["key_file"]

    def key_file():
        assert password_bytes(k["passphrase"]) == h(k["passphrase_nfc_hex"])
        assert k["kdf"] == {
            "alg": "argon2id", "memory_kib": 19456, "iterations": 2, "parallelism": 1,
        }
        salt = h(k["salt"])
        mk = master_key(k["passphrase"], salt, k["kdf"])
        assert mk == h(k["master_key"]) and stretched_key(mk) == h(k["stretched_key"])
        ctx = k["context"]
        assert h(ctx["hex"]) == ctx["ascii"].encode("ascii") == CTX_BACKUP_PRIVATE_KEY
        pkcs8 = sk.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        box = seal(stretched_key(mk), CTX_BACKUP_PRIVATE_KEY, pkcs8, h(k["iv"]))
        assert box == h(k["sealed_private_key"])
        text = k["key_file_json"]
        kdf = {name: k["kdf"][name] for name in ("alg", "memory_kib", "iterations", "parallelism")}
        written = {
            "format": BACKUP_KEY_FILE_FORMAT, "public_key": text_encode(spki), "kdf": kdf,
            "salt": text_encode(salt), "private_key": text_encode(box),
        }
        assert json.dumps(written, indent=2) == text, "cofre's writing form"
        assert spki_of(open_backup_key_file(text, k["passphrase"])) == spki

    ck.run("backup: key file", key_file)
    for n in v["key_file_negative"]:
        ck.reject(n, open_backup_key_file, n["key_file_json"], n["passphrase"])

    def pem():
        text = v["public_key_pem"]
        assert write_pem(spki) == text
        assert pub.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii") == text
        for p in [text] + v["pem_accepted"]:
            assert spki_of_public(parse_pem(p)) == spki

    ck.run("backup: PEM public key", pem)
    for n in v["pem_negative"]:
        ck.reject(n, parse_pem, n["pem"])


def spki_of_public(pub):
    return pub.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def main():
    ck = Checker()
    check_sealed_boxes(ck)
    check_streams(ck)
    rsa_key = check_rsa_key(ck)
    if rsa_key:
        check_wrapped_keys(ck, rsa_key)
        check_signatures(ck, rsa_key)
        check_key_hierarchy(ck, rsa_key)
        check_vault_item(ck, rsa_key)
        check_owner_copy(ck)
        check_share(ck, rsa_key)
        check_backup(ck, rsa_key)
    argon = "cryptography" if _CryptographyArgon2id is not None else "argon2-cffi"
    zstd = "zstandard" if _zstandard is not None else "none: decompression skipped"
    print(
        f"check_vectors.py: {ck.passed} passed, {ck.failed} failed, {ck.skipped} skipped "
        f"(Argon2id from {argon}; Zstandard from {zstd})"
    )
    return 1 if ck.failed or not rsa_key else 0


if __name__ == "__main__":
    sys.exit(main())
