// Shared pieces of the e2e tests: paths, the browser, a page that records what happens on it,
// waits that end on done, on a page error or on a timeout, and the expected results.

import { before, after } from 'node:test';
import { chromium } from 'playwright-core';
import { startServer } from './server.mjs';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, open } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

export const TESTS_DIR = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(TESTS_DIR, '..');
export const DIST = path.resolve(process.env.EVTX_TRIAGE_DIST ?? path.join(REPO, 'dist'));
export const CORPUS = path.resolve(process.env.EVTX_TRIAGE_CORPUS ?? path.join(REPO, '..', 'shared', 'corpus'));
export const ARTIFACTS = path.join(TESTS_DIR, 'artifacts');
export const CLI = path.resolve(process.env.EVTX_TRIAGE_BIN ?? path.join(REPO, 'target', 'release', 'evtx-triage'));
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const BASE_PATH = '/evtx-triage/';
export const IS_CI = process.env.CI === 'true';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const CRED = 'attack-samples/Credential Access';
export const LSASS_REL = `${CRED}/sysmon_10_11_lsass_memdump.evtx`;
export const OUTFLANK_REL = `${CRED}/sysmon_10_11_outlfank_dumpert_and_andrewspecial_memdump.evtx`;

/** Chromium as the tests run it; `extraArgs` are for experiments (the benchmark's BENCH_CHROMIUM_ARGS). */
export function launchBrowser(extraArgs = []) {
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...extraArgs], timeout: 60_000 });
}

/**
 * For one test file: serves dist/ under BASE_PATH and launches Chromium before its tests, closes
 * both after them. Returns `{ browser, url }`, filled in once they run.
 */
export function servedApp() {
  const served = { browser: null, url: null, server: null };
  before(async () => {
    if (!existsSync(path.join(DIST, 'index.html'))) throw new Error(`${DIST}/index.html is missing: build the web app first`);
    served.server = await startServer({ root: DIST, base: BASE_PATH });
    served.url = served.server.url;
    served.browser = await launchBrowser();
  });
  after(async () => {
    await served.browser?.close().catch(() => {});
    await served.server?.close();
  });
  return served;
}

/** True when the corpus is there; under CI a missing corpus fails, elsewhere the test skips. */
export function haveCorpus(t) {
  if (existsSync(path.join(CORPUS, 'expected.json'))) return true;
  if (IS_CI) throw new Error(`CI=true but the corpus is missing at ${CORPUS}`);
  const notice = `NOTICE: corpus not found at ${CORPUS}; skipping`;
  console.log(notice);
  t.skip(notice);
  return false;
}

let expectedCache;
export async function expectedJson() {
  expectedCache ??= JSON.parse(await readFile(path.join(CORPUS, 'expected.json'), 'utf8'));
  return expectedCache;
}

/** "analytic|record" keys of the matches expected.json lists for one corpus file. */
export async function expectedPairs(rel) {
  const all = await expectedJson();
  const entry = all[rel];
  if (!entry) throw new Error(`expected.json has no entry for ${rel}`);
  return entry.matches.map((m) => `${m.analytic}|${m.event_record_id}`).sort();
}

/** DEMO_EXPECTED and DEMO_FILE_NAME, read from the Rust source so the test follows it. */
export async function demoExpected() {
  const src = await readFile(path.join(REPO, 'crate', 'src', 'demo.rs'), 'utf8');
  const consts = new Map();
  for (const m of src.matchAll(/const\s+([A-Z0-9_]+)\s*:\s*u64\s*=\s*(\d+)\s*;/g)) consts.set(m[1], Number(m[2]));
  const name = src.match(/pub\s+const\s+DEMO_FILE_NAME\s*:\s*&str\s*=\s*"([^"]+)"\s*;/);
  if (!name) throw new Error('crate/src/demo.rs: DEMO_FILE_NAME not found');
  const block = src.match(/pub\s+const\s+DEMO_EXPECTED\s*:[^=]*=\s*&\[([\s\S]*?)\];/);
  if (!block) throw new Error('crate/src/demo.rs: DEMO_EXPECTED not found');
  const pairs = [];
  for (const m of block[1].matchAll(/\(\s*"([^"]+)"\s*,\s*([A-Z0-9_]+)\s*\)/g)) {
    const id = /^\d+$/.test(m[2]) ? Number(m[2]) : consts.get(m[2]);
    if (id === undefined) throw new Error(`crate/src/demo.rs: constant ${m[2]} not found`);
    pairs.push(`${m[1]}|${id}`);
  }
  if (pairs.length === 0) throw new Error('crate/src/demo.rs: DEMO_EXPECTED parsed as empty');
  return { fileName: name[1], pairs: pairs.sort() };
}

/** Runs the CLI; resolves to { code, stdout, stderr } whatever the exit code. */
export function runCli(args, cwd) {
  if (!existsSync(CLI)) {
    throw new Error(`CLI binary missing at ${CLI}: build it with \`cargo build --release -p evtx-triage\` (or set EVTX_TRIAGE_BIN)`);
  }
  return new Promise((resolve, reject) => {
    execFile(CLI, args, { cwd, maxBuffer: 256 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: err ? err.code : 0, stdout, stderr });
    });
  });
}

/**
 * Writes a big EVTX: `src`'s 4 KiB file header, then its whole 64 KiB chunks repeated until the
 * file reaches `targetBytes`. The header is left as it is (its chunk count is stale, its CRC
 * still matches its own bytes). Returns { copies, chunksPerCopy, size }.
 */
export async function writeRepeatedEvtx(src, dest, targetBytes) {
  const bytes = await readFile(src);
  const HEADER = 4096;
  const CHUNK = 65536;
  const chunksPerCopy = Math.floor((bytes.length - HEADER) / CHUNK);
  if (bytes.subarray(0, 8).toString('latin1') !== 'ElfFile\0' || chunksPerCopy < 1) {
    throw new Error(`${src} is not an EVTX file with whole chunks`);
  }
  const body = bytes.subarray(HEADER, HEADER + chunksPerCopy * CHUNK);
  const copies = Math.max(1, Math.ceil((targetBytes - HEADER) / body.length));
  const fh = await open(dest, 'w');
  try {
    await fh.write(bytes.subarray(0, HEADER));
    // Write in groups of copies to keep syscalls few without holding the whole file.
    const group = Math.max(1, Math.floor((8 << 20) / body.length));
    const block = Buffer.concat(Array.from({ length: group }, () => body));
    let left = copies;
    while (left > 0) {
      const n = Math.min(group, left);
      await fh.write(n === group ? block : block.subarray(0, n * body.length));
      left -= n;
    }
  } finally {
    await fh.close();
  }
  return { copies, chunksPerCopy, size: HEADER + copies * body.length };
}

/** Lists where two JSON values differ (paths and both values), at most `limit`. */
export function jsonDiff(a, b, limit = 25, at = '$', out = []) {
  if (out.length >= limit) return out;
  const kind = (v) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  const short = (v) => {
    const s = JSON.stringify(v);
    return s === undefined ? 'undefined' : s.length > 200 ? s.slice(0, 200) + '…' : s;
  };
  if (kind(a) !== kind(b)) {
    out.push(`${at}: ${short(a)} vs ${short(b)}`);
  } else if (kind(a) === 'array') {
    if (a.length !== b.length) out.push(`${at}: length ${a.length} vs ${b.length}`);
    for (let i = 0; i < Math.min(a.length, b.length); i++) jsonDiff(a[i], b[i], limit, `${at}[${i}]`, out);
  } else if (kind(a) === 'object') {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    for (const k of ka) if (!(k in b)) out.push(`${at}.${k}: only in the first (${short(a[k])})`);
    for (const k of kb) if (!(k in a)) out.push(`${at}.${k}: only in the second (${short(b[k])})`);
    for (const k of ka) if (k in b) jsonDiff(a[k], b[k], limit, `${at}.${k}`, out);
  } else if (a !== b) {
    out.push(`${at}: ${short(a)} vs ${short(b)}`);
  }
  return out.slice(0, limit);
}

export async function artifact(name) {
  await mkdir(ARTIFACTS, { recursive: true });
  return path.join(ARTIFACTS, name);
}

/**
 * Opens the app in a fresh context and records everything: page errors, console errors, every
 * request (from before navigation on), failed requests and HTTP errors. Resolves once the page
 * has loaded and `#app` says idle.
 */
export async function openApp(browser, url, { label = 'page' } = {}) {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const log = { label, pageErrors: [], consoleErrors: [], requests: [], failedRequests: [], httpErrors: [] };
  let fail;
  const failed = new Promise((_, reject) => (fail = reject));
  failed.catch(() => {});
  page.on('pageerror', (e) => {
    const msg = String(e?.stack ?? e);
    log.pageErrors.push(msg);
    console.log(`[${label}] pageerror: ${msg}`);
    fail(new Error(`page error: ${msg}`));
  });
  page.on('crash', () => {
    console.log(`[${label}] page crashed`);
    fail(new Error('the page crashed'));
  });
  page.on('console', (m) => {
    if (m.type() === 'error') {
      const loc = m.location();
      const msg = `${m.text()}${loc?.url ? ` (${loc.url}:${loc.lineNumber})` : ''}`;
      log.consoleErrors.push(msg);
      console.log(`[${label}] console error: ${msg}`);
    }
  });
  page.on('request', (r) => log.requests.push({ url: r.url(), method: r.method(), type: r.resourceType(), at: Date.now() }));
  page.on('requestfailed', (r) => {
    const msg = `${r.method()} ${r.url()}: ${r.failure()?.errorText}`;
    log.failedRequests.push(msg);
    console.log(`[${label}] request failed: ${msg}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) {
      const msg = `${r.status()} ${r.request().method()} ${r.url()}`;
      log.httpErrors.push(msg);
      console.log(`[${label}] HTTP error: ${msg}`);
    }
  });
  const app = { context, page, log, failed, label };
  try {
    await page.goto(url, { waitUntil: 'load', timeout: 30_000 });
    await raceFailure(app, page.waitForSelector('#app[data-state="idle"]', { state: 'attached', timeout: 30_000 }), 'waiting for #app[data-state=idle] after load');
    await installStateRecorder(page);
  } catch (e) {
    await context.close().catch(() => {});
    throw e;
  }
  return app;
}

/** Races a promise against the page failing; adds what the page logged to the error. */
export async function raceFailure(app, promise, what) {
  try {
    return await Promise.race([promise, app.failed]);
  } catch (e) {
    const state = await app.page
      .evaluate(() => document.querySelector('#app')?.getAttribute('data-state') ?? '(no #app)')
      .catch(() => '(page gone)');
    const extra = [
      `while ${what}: ${e?.message ?? e}`,
      `#app data-state: ${state}`,
      app.log.pageErrors.length ? `page errors:\n  ${app.log.pageErrors.join('\n  ')}` : '',
      app.log.consoleErrors.length ? `console errors:\n  ${app.log.consoleErrors.join('\n  ')}` : '',
      app.log.failedRequests.length ? `failed requests:\n  ${app.log.failedRequests.join('\n  ')}` : '',
      app.log.httpErrors.length ? `HTTP errors:\n  ${app.log.httpErrors.join('\n  ')}` : '',
    ].filter(Boolean);
    const err = new Error(extra.join('\n'));
    err.cause = e;
    throw err;
  }
}

/**
 * Records every value #app's data-state takes (from mutation records' old values, so a
 * working → done inside one task is not lost), and the most finding rows seen while working.
 */
export async function installStateRecorder(page) {
  await page.evaluate(() => {
    const w = window;
    const app = () => document.querySelector('#app');
    w.__e2e = { states: [app()?.getAttribute('data-state') ?? null], maxRowsWhileWorking: 0, rowsSeenWhileWorking: 0 };
    const push = (s) => {
      const st = w.__e2e.states;
      if (st[st.length - 1] !== s) st.push(s);
    };
    const observer = new MutationObserver((records) => {
      const el = app();
      const mine = records.filter((r) => r.type === 'attributes' && r.attributeName === 'data-state' && r.target === el);
      for (let i = 1; i < mine.length; i++) push(mine[i].oldValue);
      push(el?.getAttribute('data-state') ?? null);
      if (el?.getAttribute('data-state') === 'working') {
        const n = document.querySelectorAll('tr.finding').length;
        if (n > 0) w.__e2e.rowsSeenWhileWorking += 1;
        if (n > w.__e2e.maxRowsWhileWorking) w.__e2e.maxRowsWhileWorking = n;
      }
    });
    observer.observe(document, { subtree: true, childList: true, attributes: true, attributeOldValue: true, attributeFilter: ['data-state'] });
  });
}

export function stateLog(page) {
  return page.evaluate(() => window.__e2e);
}

/** How many times #app has entered `done` so far. */
export async function doneCount(page) {
  return page.evaluate(() => window.__e2e.states.filter((s) => s === 'done').length);
}

/**
 * Runs `action` (which starts a scan) and waits until #app has entered `done` once more than
 * before it, and is `done` now; fails at once on a page error, or after `timeout`.
 */
export async function scanAndWait(app, action, { timeout = 60_000, what = 'a scan' } = {}) {
  const before = await doneCount(app.page);
  await raceFailure(app, Promise.resolve().then(action), `starting ${what}`);
  await raceFailure(
    app,
    app.page.waitForFunction(
      (n) => window.__e2e.states.filter((s) => s === 'done').length > n && document.querySelector('#app')?.getAttribute('data-state') === 'done',
      before,
      { timeout, polling: 100 },
    ),
    `waiting up to ${timeout / 1000} s for ${what} to end (data-state=done)`,
  );
}

/**
 * Every finding row as sorted "analytic|record" keys, plus their files. The table is
 * virtualized (only the rows around the scroll position are in the document), so this
 * scrolls it from top to bottom and collects each row by its place (data-index).
 */
export async function findingRows(page) {
  const total = await page.$eval('#findings', (t) => Number(t.getAttribute('data-rows')));
  const read = () =>
    page.$$eval('tr.finding', (trs) =>
      trs.map((tr) => ({
        index: Number(tr.getAttribute('data-index')),
        analytic: tr.getAttribute('data-analytic'),
        record: tr.getAttribute('data-record'),
        file: tr.getAttribute('data-file'),
        tabindex: tr.getAttribute('tabindex'),
      })),
    );
  const seen = new Map();
  await page.$eval('#findings-scroll', (el) => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); });
  for (let guard = 0; guard < 10_000; guard++) {
    const rows = await read();
    for (const r of rows) seen.set(r.index, r);
    if (seen.size >= total || rows.length === 0) break;
    const last = Math.max(...rows.map((r) => r.index));
    if (last >= total - 1) break;
    // Scroll so that the last row drawn is near the top; wait for the rows after it.
    await page.$eval('#findings-scroll', (el, px) => { el.scrollTop = px; el.dispatchEvent(new Event('scroll')); }, last * ROW_PX);
    await page.waitForFunction(
      (i) => [...document.querySelectorAll('tr.finding')].some((tr) => Number(tr.getAttribute('data-index')) > i),
      last,
      { timeout: 10_000, polling: 20 },
    );
  }
  const rows = [...seen.values()].sort((a, b) => a.index - b.index).map(({ index, ...r }) => r);
  return {
    rows,
    keys: rows.map((r) => `${r.analytic}|${r.record}`).sort(),
    uniqueKeys: [...new Set(rows.map((r) => `${r.analytic}|${r.record}`))].sort(),
  };
}

/** The height of one row of the virtualized findings table (web/src/components/findings.rs). */
export const ROW_PX = 30;

export async function fileStatuses(page) {
  return page.$$eval('li.file-status', (lis) =>
    lis.map((li) => ({
      file: li.getAttribute('data-file'), status: li.getAttribute('data-status'), parts: li.getAttribute('data-parts'),
      text: li.textContent.trim().replace(/\s+/g, ' '),
    })),
  );
}

/** Clicks `selector` and returns the download it starts: { name, text }. */
export async function download(app, selector, { timeout = 30_000 } = {}) {
  const [dl] = await raceFailure(
    app,
    Promise.all([app.page.waitForEvent('download', { timeout }), app.page.click(selector, { timeout })]),
    `downloading via ${selector}`,
  );
  const file = await dl.path();
  const failure = await dl.failure();
  if (failure) throw new Error(`download via ${selector} failed: ${failure}`);
  return { name: dl.suggestedFilename(), text: await readFile(file, 'utf8') };
}

/** Takes a screenshot of the page when a test fails (best effort). */
export async function withFailureShot(app, name, body) {
  try {
    return await body();
  } catch (e) {
    if (app?.page && !app.page.isClosed()) {
      await app.page.screenshot({ path: await artifact(`failure-${name}.png`), fullPage: true }).catch(() => {});
    }
    throw e;
  }
}

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** axe-core's violations in the page as it is, as "rule: target (summary)" lines. */
export async function axeViolations(page) {
  // Evaluated by the test harness, not loaded by the page: its CSP stays as it is.
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(await readFile(AXE, 'utf8'));
  return page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations.flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')} (${n.failureSummary.split('\n').slice(1).join('; ')})`));
  });
}
