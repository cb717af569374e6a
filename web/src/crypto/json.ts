/**
 * A strict JSON reader (RFC 8259) for the JSON that cofre's formats define (KDF
 * parameters 9.2, item metadata 9.8, account keys 9.6, backup manifest and key file 13):
 * duplicate members, numbers with a fraction or exponent, a byte-order mark and
 * unescaped control characters are refused, and integers are exact (`bigint`), which
 * `JSON.parse` cannot promise above 2^53.
 */

/** A JSON object: members in order, no duplicates. */
export type JsonObject = Map<string, JsonValue>;
/** A JSON value; every number is an integer (`bigint`), as cofre's JSON only has integers. */
export type JsonValue = null | boolean | string | bigint | JsonValue[] | JsonObject;

/** Why a text is not JSON of the accepted form. */
export class JsonSyntaxError extends Error {
  constructor(why: string) {
    super(`not accepted JSON: ${why}`);
    this.name = "JsonSyntaxError";
  }
}

const MAX_DEPTH = 64;

/** Parses `text` strictly; throws {@link JsonSyntaxError}. */
export function parseJson(text: string): JsonValue {
  let at = 0;
  const fail = (why: string): never => {
    throw new JsonSyntaxError(`${why} at ${at}`);
  };
  const ws = (): void => {
    while (at < text.length) {
      const c = text.charCodeAt(at);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) at++;
      else break;
    }
  };
  const literal = (word: string): void => {
    if (text.startsWith(word, at)) at += word.length;
    else fail("unexpected token");
  };
  const str = (): string => {
    at++; // opening quote
    let out = "";
    for (;;) {
      if (at >= text.length) fail("unterminated string");
      const c = text.charCodeAt(at);
      if (c === 0x22) {
        at++;
        return out;
      }
      if (c < 0x20) fail("control character in a string");
      if (c !== 0x5c) {
        out += text[at]!;
        at++;
        continue;
      }
      const e = text[at + 1];
      at += 2;
      switch (e) {
        case '"':
          out += '"';
          break;
        case "\\":
          out += "\\";
          break;
        case "/":
          out += "/";
          break;
        case "b":
          out += "\b";
          break;
        case "f":
          out += "\f";
          break;
        case "n":
          out += "\n";
          break;
        case "r":
          out += "\r";
          break;
        case "t":
          out += "\t";
          break;
        case "u": {
          const hex = text.slice(at, at + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail("bad \\u escape");
          out += String.fromCharCode(parseInt(hex, 16));
          at += 4;
          break;
        }
        default:
          fail("bad escape");
      }
    }
  };
  const num = (): bigint => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(at, at + 400));
    if (m === null) return fail("bad number");
    if (m[2] !== undefined || m[3] !== undefined) fail("a number with a fraction or exponent");
    at += m[0].length;
    return BigInt(m[0]);
  };
  const value = (depth: number): JsonValue => {
    if (depth > MAX_DEPTH) fail("nested too deeply");
    ws();
    const c = text[at];
    if (c === "{") {
      at++;
      const obj: JsonObject = new Map();
      ws();
      if (text[at] === "}") {
        at++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[at] !== '"') fail("expected a member name");
        const name = str();
        if (obj.has(name)) fail(`duplicate member ${JSON.stringify(name)}`);
        ws();
        if (text[at] !== ":") fail("expected ':'");
        at++;
        obj.set(name, value(depth + 1));
        ws();
        if (text[at] === ",") {
          at++;
          continue;
        }
        if (text[at] === "}") {
          at++;
          return obj;
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === "[") {
      at++;
      const arr: JsonValue[] = [];
      ws();
      if (text[at] === "]") {
        at++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (text[at] === ",") {
          at++;
          continue;
        }
        if (text[at] === "]") {
          at++;
          return arr;
        }
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return str();
    if (c === "t") {
      literal("true");
      return true;
    }
    if (c === "f") {
      literal("false");
      return false;
    }
    if (c === "n") {
      literal("null");
      return null;
    }
    return num();
  };
  const v = value(0);
  ws();
  if (at !== text.length) fail("trailing characters");
  return v;
}

/** Decodes UTF-8 strictly (invalid sequences refused, a byte-order mark kept so the parser refuses it). */
export function decodeUtf8Strict(bytes: Uint8Array): string {
  return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
}

/** Whether `v` is an object with exactly the members `names` (any order). */
export function hasExactly(v: JsonValue | undefined, names: readonly string[]): v is JsonObject {
  return v instanceof Map && v.size === names.length && names.every((n) => v.has(n));
}

/** Whether `v` is an integer in `lo..=hi`. */
export function isIntIn(v: JsonValue | undefined, lo: bigint, hi: bigint): v is bigint {
  return typeof v === "bigint" && v >= lo && v <= hi;
}

/** Whether `v` is a string of Unicode scalar values (no lone surrogate). */
export function isScalarString(v: JsonValue | undefined): v is string {
  return typeof v === "string" && v.isWellFormed();
}

/** The largest u32, u64 and the i64 bounds. */
export const U32_MAX = 0xffffffffn;
/** 2^64 − 1. */
export const U64_MAX = 0xffffffffffffffffn;
/** −2^63. */
export const I64_MIN = -(2n ** 63n);
/** 2^63 − 1. */
export const I64_MAX = 2n ** 63n - 1n;
