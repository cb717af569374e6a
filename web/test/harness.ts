/**
 * The small harness of the browser vector page: runs named checks, expects negative
 * vectors to fail with their error class, counts what ran per file and per top-level
 * array, and publishes the outcome as `window.__cofreVectors`.
 */
import { CofreError, fromHex, toHex } from "../src/crypto/index";

/** A vector (or vector file) as parsed JSON: shapes differ per file, so it is untyped. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Vec = any;

/** One check's outcome. */
export interface Outcome {
  file: string;
  group: string;
  name: string;
  ok: boolean;
  error?: string;
}

/** What the page publishes for the driver. */
export interface Report {
  done: true;
  passed: number;
  failed: number;
  /** Per file, per group (a top-level array's name, or "checks"), how many checks ran. */
  counts: Record<string, Record<string, number>>;
  results: Outcome[];
  userAgent: string;
}

/** Throws unless `cond`. */
export function assert(cond: boolean, what: string): asserts cond {
  if (!cond) throw new Error(`assertion failed: ${what}`);
}

/** Throws unless two byte strings are equal (test code: public comparison). */
export function assertBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  const a = toHex(actual);
  const b = toHex(expected);
  if (a !== b) throw new Error(`${what}: got ${a.slice(0, 80)}…, expected ${b.slice(0, 80)}…`);
}

/** Hex to bytes. */
export function h(hex: string): Uint8Array<ArrayBuffer> {
  return fromHex(hex);
}

type Reviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown;

/** Parses a vector file keeping integers above 2^53 exact (as `bigint`, through the reviver's source text). */
export function parseVectorFile(text: string): Vec {
  const reviver: Reviver = (_key, value, context) => {
    if (typeof value === "number" && !Number.isSafeInteger(value) && context?.source !== undefined && /^-?\d+$/.test(context.source)) {
      return BigInt(context.source);
    }
    return value;
  };
  return JSON.parse(text, reviver as (this: unknown, key: string, value: unknown) => unknown);
}

/** Runs the checks and keeps the tally. */
export class Harness {
  private readonly results: Outcome[] = [];
  private readonly counts: Record<string, Record<string, number>> = {};
  private file = "(none)";
  private readonly tbody = document.querySelector("#results tbody");

  /** Loads `vectors/NAME`. */
  async load(name: string): Promise<Vec> {
    const resp = await fetch(`vectors/${name}`);
    if (!resp.ok) throw new Error(`vectors/${name}: HTTP ${resp.status}`);
    return parseVectorFile(await resp.text());
  }

  /** Runs `f` with `file` as the current file. */
  async inFile(file: string, f: () => Promise<void>): Promise<void> {
    this.file = file;
    this.counts[file] ??= {};
    try {
      await f();
    } catch (e) {
      this.fail(file, "checks", `stopped: ${String(e)}`);
    }
  }

  private record(o: Outcome): void {
    this.results.push(o);
    const c = (this.counts[o.file] ??= {});
    c[o.group] = (c[o.group] ?? 0) + 1;
    if (this.tbody !== null) {
      const tr = document.createElement("tr");
      for (const text of [o.file, o.group, o.name, o.ok ? "pass" : `FAIL ${o.error ?? ""}`]) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.append(td);
      }
      this.tbody.append(tr);
    }
  }

  /** Records a failure that is not a vector (a file without checker, a page error). */
  fail(file: string, group: string, why: string): void {
    this.record({ file, group: `${group}:failure`, name: why, ok: false, error: why });
  }

  /** A positive check. */
  async run(group: string, name: string, f: () => Promise<unknown>): Promise<void> {
    try {
      await f();
      this.record({ file: this.file, group, name, ok: true });
    } catch (e) {
      this.record({ file: this.file, group, name, ok: false, error: describe(e) });
    }
  }

  /** A negative vector: `f` must fail with a {@link CofreError} of class `vector.error`. */
  async reject(group: string, vector: Vec, f: () => Promise<unknown>): Promise<void> {
    const name = String(vector.description);
    try {
      await f();
    } catch (e) {
      if (e instanceof CofreError && e.cls === vector.error) {
        this.record({ file: this.file, group, name, ok: true });
      } else {
        this.record({ file: this.file, group, name, ok: false, error: `rejected as ${describe(e)}, expected ${String(vector.error)}` });
      }
      return;
    }
    this.record({ file: this.file, group, name, ok: false, error: "negative vector accepted" });
  }

  /** Publishes the report. */
  finish(): void {
    const passed = this.results.filter((r) => r.ok).length;
    const failed = this.results.length - passed;
    const report: Report = { done: true, passed, failed, counts: this.counts, results: this.results, userAgent: navigator.userAgent };
    (window as unknown as { __cofreVectors: Report }).__cofreVectors = report;
    const summary = document.querySelector("#summary");
    if (summary !== null) summary.textContent = `${passed} passed, ${failed} failed`;
  }
}

function describe(e: unknown): string {
  if (e instanceof CofreError) return e.cls;
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
