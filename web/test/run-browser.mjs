// Drives Debian's Chromium (headless, through playwright-core; never a browser
// download) to a page and waits for the report the page publishes as
// `window.__cofreVectors`. Prints one line `COFRE-VECTORS <json>` with the report,
// then `N passed, N failed`, and exits 0 only if nothing failed.
//
//   node test/run-browser.mjs --url http://127.0.0.1:PORT/index.html [--chromium /usr/bin/chromium]
//        [--timeout SECONDS] [--screenshot FILE] [--report GLOBAL]
//   node test/run-browser.mjs --serve DIR --page PAGE [...]   (serves DIR on 127.0.0.1 itself)
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { chromium } from "playwright-core";

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".json": "application/json" };

/** Serves the files of `dir` on a free loopback port; resolves to its base URL. */
function serve(dir) {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
    try {
      const body = readFileSync(join(dir, path === "/" ? "index.html" : path));
      res.writeHead(200, { "Content-Type": TYPES[extname(path)] ?? "application/octet-stream", "Cache-Control": "no-store" });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, base: `http://127.0.0.1:${server.address().port}/` })));
}

let url = arg("--url");
let served;
if (!url && arg("--serve")) {
  served = await serve(arg("--serve"));
  url = served.base + arg("--page", "index.html");
}
if (!url) {
  console.error("usage: run-browser.mjs (--url URL | --serve DIR [--page PAGE]) [--chromium PATH] [--timeout SECONDS] [--report GLOBAL]");
  process.exit(2);
}
const executablePath = arg("--chromium", "/usr/bin/chromium");
const timeoutMs = Number(arg("--timeout", "600")) * 1000;
const screenshot = arg("--screenshot");
const report = arg("--report", "__cofreVectors");

const userDataDir = mkdtempSync(join(tmpdir(), "cofre-chromium-"));
let context;
let code = 1;
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (msg) => console.error(`[page ${msg.type()}] ${msg.text()}`));
  page.on("pageerror", (err) => console.error(`[page error] ${err.message}`));
  // The page talks only to the server it came from.
  const origin = new URL(url).origin;
  page.on("request", (req) => {
    if (!req.url().startsWith(origin) && !req.url().startsWith("blob:") && !req.url().startsWith("data:")) {
      console.error(`[request to another origin] ${req.url()}`);
      process.exitCode = 1;
    }
  });
  const started = Date.now();
  await page.goto(url);
  await page.waitForFunction((name) => window[name]?.done === true, report, { timeout: timeoutMs, polling: 250 });
  const result = await page.evaluate((name) => window[name], report);
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: false });
  result.seconds = (Date.now() - started) / 1000;
  result.browserVersion = context.browser()?.version() ?? null;
  console.log(`COFRE-VECTORS ${JSON.stringify(result)}`);
  for (const r of result.results ?? []) {
    if (!r.ok) console.error(`FAIL ${r.file} [${r.group}] ${r.name}: ${r.error}`);
  }
  console.log(`${result.passed} passed, ${result.failed} failed`);
  code = result.failed === 0 && process.exitCode !== 1 ? 0 : 1;
} catch (e) {
  console.error(`run-browser: ${e?.stack ?? e}`);
  code = 1;
} finally {
  await context?.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
  served?.server.close();
}
process.exit(code);
