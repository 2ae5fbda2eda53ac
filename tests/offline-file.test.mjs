// The one-file build (dist-offline/evtx-triage.html, scripts/build-offline.mjs) opened from disk
// (file://) in Chromium: it scans as the served app does (same findings, same JSON and CSV
// exports), its sample log and exports work, it keeps rules in IndexedDB where the browser lets
// it and still works where it does not, and no request leaves the page.
// Run: node --test tests/offline-file.test.mjs
//
// Needs: dist/ (trunk build --release), /usr/bin/chromium, ../shared/corpus (the corpus test is
// skipped with a notice when missing, unless CI=true). Builds the one file from dist/ first when it
// is missing or older than dist/index.html (the Node part of scripts/build-offline.sh, no trunk).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { startServer } from './server.mjs';
import {
  BASE_PATH, CORPUS, DIST, LSASS_REL, OUTFLANK_REL, REPO, demoExpected, download, expectedPairs, fileStatuses, findingRows,
  haveCorpus, installStateRecorder, jsonDiff, launchBrowser, openApp, raceFailure, scanAndWait, withFailureShot,
} from './harness.mjs';
import { buildOffline } from '../scripts/build-offline.mjs';

const OFFLINE = path.resolve(process.env.EVTX_TRIAGE_OFFLINE ?? path.join(REPO, 'dist-offline', 'evtx-triage.html'));
const FILE_URL = pathToFileURL(OFFLINE).href;

let server;
let browser;
let tmp;
const opened = [];

before(async () => {
  if (!existsSync(path.join(DIST, 'index.html'))) {
    throw new Error(`${DIST}/index.html is missing: build the web app first (trunk build --release)`);
  }
  if (!existsSync(OFFLINE) || statSync(OFFLINE).mtimeMs < statSync(path.join(DIST, 'index.html')).mtimeMs) {
    const { file, sha256 } = buildOffline({ dist: DIST, out: path.dirname(OFFLINE) });
    console.log(`built ${file} from ${DIST} (sha256 ${sha256})`);
  }
  server = await startServer({ root: DIST, base: BASE_PATH });
  browser = await launchBrowser();
  tmp = await mkdtemp(path.join(tmpdir(), 'evtx-triage-offline-file-'));
});

after(async () => {
  for (const app of opened) await app.context.close().catch(() => {});
  await browser?.close().catch(() => {});
  await server?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function open(url, label) {
  const app = await openApp(browser, url, { label });
  opened.push(app);
  return app;
}

/** Requests other than the page's own file and data:/blob: URLs it made itself. */
const leftThePage = (app) => app.log.requests.filter((r) => r.url !== FILE_URL && !/^(blob|data):/.test(r.url)).map((r) => `${r.method} ${r.url} (${r.type})`);

/** Scans `files` in `app` and returns both exports. */
async function scanAndExport(app, files) {
  await scanAndWait(app, () => app.page.setInputFiles('input[name="evtx"]', files.map((f) => path.join(CORPUS, f))), { what: `the scan in ${app.label}` });
  const json = await download(app, '#export-json');
  const csv = await download(app, '#export-csv');
  return { rows: (await findingRows(app.page)).keys, statuses: await fileStatuses(app.page), json, csv };
}

test('f0. the file, its SHA-256 beside it, and its CSP: only its own scripts and styles by hash, no connection', async () => {
  const html = await readFile(OFFLINE);
  const line = (await readFile(`${OFFLINE}.sha256`, 'utf8')).trim();
  assert.equal(line, `${createHash('sha256').update(html).digest('hex')}  ${path.basename(OFFLINE)}`, 'the .sha256 file, as sha256sum -c reads it');
  const csp = html.toString('utf8').match(/<meta http-equiv="Content-Security-Policy" content="([^"]+)">/)?.[1];
  assert.ok(csp, 'the file has a CSP <meta>');
  const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
  const hashes = (values) => values.filter((v) => /^'sha256-[A-Za-z0-9+/]{43}='$/.test(v)).length;
  assert.deepEqual(
    { ...directives, 'script-src': directives['script-src'].filter((v) => !v.startsWith("'sha256-")), 'style-src': directives['style-src'].filter((v) => !v.startsWith("'sha256-")) },
    {
      'default-src': ["'none'"], 'script-src': ["'wasm-unsafe-eval'"], 'style-src': [], 'img-src': ['data:'], 'worker-src': ['blob:'],
      'connect-src': ["'none'"], 'base-uri': ["'none'"], 'form-action': ["'none'"], 'object-src': ["'none'"], 'frame-src': ["'none'"],
    },
  );
  assert.equal(hashes(directives['script-src']), 2, 'two scripts by hash (the worker URL, the app)');
  assert.equal(hashes(directives['style-src']), 1, 'one style by hash');
});

test('f1. from disk, two corpus logs: the served app\'s findings and exactly its JSON and CSV exports; no request leaves the page', { timeout: 180_000 }, async (t) => {
  if (!haveCorpus(t)) return;
  const files = [LSASS_REL, OUTFLANK_REL];
  const served = await open(server.url, 'served');
  const fromServer = await withFailureShot(served, 'offline-file-served', () => scanAndExport(served, files));
  const disk = await open(FILE_URL, 'file');
  await withFailureShot(disk, 'offline-file', async () => {
    const fromDisk = await scanAndExport(disk, files);
    const want = [...(await expectedPairs(LSASS_REL)), ...(await expectedPairs(OUTFLANK_REL))].sort();
    assert.equal(want.length, 7);
    assert.deepEqual(fromDisk.rows, want, 'finding rows from disk vs expected.json');
    assert.deepEqual(fromDisk.statuses.map((s) => [s.file, s.status]).sort(), files.map((f) => [path.basename(f), 'ok']).sort());
    // The exports are the same bytes: nothing in them depends on where the page came from.
    assert.equal(fromDisk.json.name, 'evtx-triage-results.json');
    assert.equal(fromDisk.csv.name, 'evtx-triage-findings.csv');
    assert.deepEqual(jsonDiff(JSON.parse(fromDisk.json.text), JSON.parse(fromServer.json.text)), [], 'JSON export from disk vs served (first is from disk)');
    assert.equal(fromDisk.json.text, fromServer.json.text, 'JSON export from disk vs served, byte for byte');
    assert.equal(fromDisk.csv.text, fromServer.csv.text, 'CSV export from disk vs served');

    // The page itself, then only blob: URLs (the workers, the downloads): nothing else was asked for.
    assert.deepEqual(leftThePage(disk), [], 'requests other than the file itself and its own blob:/data: URLs');
    assert.ok(disk.log.requests.some((r) => r.url === FILE_URL && r.type === 'document'), 'the page load itself was recorded');
    assert.ok(disk.log.requests.some((r) => r.url.startsWith('blob:') && r.type === 'script'), 'workers were started from a blob: URL');
    assert.deepEqual(disk.log.failedRequests, [], 'failed requests');
    assert.deepEqual(disk.log.consoleErrors, [], 'console errors');
    assert.deepEqual(disk.log.pageErrors, [], 'page errors');
    // And the page may not connect anywhere, not even to the server that is running.
    const tries = await disk.page.evaluate(async (url) => {
      const attempt = (u) => fetch(u).then(() => 'ok', () => 'blocked');
      return [await attempt(url), await attempt('data:,x'), await attempt(location.href)];
    }, server.url);
    assert.deepEqual(tries, ['blocked', 'blocked', 'blocked'], 'fetch() of the server, a data: URL and the file itself');
  });
});

// A rule of our own: any Sysmon process access (EventID 10) of lsass.exe.
const RULE = `title: Offline test rule
id: 6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b
status: test
logsource:
  product: windows
  service: sysmon
detection:
  selection:
    EventID: 10
    TargetImage|endswith: '\\lsass.exe'
  condition: selection
level: low
`;

/** Waits until the rules panel is ready with `loaded` rules and `sources` picked sources listed. */
async function rulesReady(app, loaded, sources, what) {
  await raceFailure(
    app,
    app.page.waitForFunction(
      ({ loaded, sources }) => {
        const p = document.querySelector('#rules-panel');
        return p?.getAttribute('data-rules-state') === 'ready' && p.getAttribute('data-rules-loaded') === String(loaded) && document.querySelectorAll('li.rule-source').length === sources;
      },
      { loaded, sources },
      { timeout: 30_000, polling: 50 },
    ),
    what,
  );
}

/** Opens the file, runs the sample log, loads RULE, reloads; returns what the reload kept. */
async function sampleRulesReload(app) {
  const { page } = app;
  const { fileName, pairs } = await demoExpected();
  await scanAndWait(app, () => page.click('#demo-button'), { what: 'the sample log' });
  assert.deepEqual((await findingRows(page)).keys, pairs, 'the sample log gives DEMO_EXPECTED');
  assert.deepEqual((await fileStatuses(page)).map((s) => [s.file, s.status]), [[fileName, 'ok']]);
  const json = await download(app, '#export-json');
  assert.equal(JSON.parse(json.text).findings.length, pairs.length, 'the JSON export holds the sample\'s findings');
  const csv = await download(app, '#export-csv');
  assert.equal(csv.text.trimEnd().split('\n').length, pairs.length + 1, 'the CSV export: a header and one line per finding');

  const builtIn = Number(await page.getAttribute('#rules-panel', 'data-rules-loaded'));
  const rule = path.join(tmp, 'offline-test-rule.yml');
  await writeFile(rule, RULE);
  await raceFailure(app, page.setInputFiles('input[type=file][name=rules]', rule), 'picking the rule file');
  await rulesReady(app, builtIn + 1, 1, 'waiting for the picked rule');

  await raceFailure(app, page.reload({ waitUntil: 'load' }), 'reloading the file');
  await raceFailure(app, page.waitForSelector('#app[data-state="idle"]', { state: 'attached', timeout: 30_000 }), 'idle after the reload');
  await raceFailure(app, page.waitForSelector('#rules-panel[data-rules-state="ready"]', { state: 'attached', timeout: 30_000 }), 'rules after the reload');
  return { builtIn, kept: await page.locator('li.rule-source').count(), loaded: Number(await page.getAttribute('#rules-panel', 'data-rules-loaded')) };
}

test('f2. from disk: the sample log and its exports; the picked rule is kept in IndexedDB across a reload', { timeout: 120_000 }, async () => {
  const app = await open(FILE_URL, 'file-rules');
  await withFailureShot(app, 'offline-file-rules', async () => {
    // Chromium gives a file:// page its own IndexedDB, so the rule survives the reload.
    const { builtIn, kept, loaded } = await sampleRulesReload(app);
    assert.deepEqual({ kept, loaded }, { kept: 1, loaded: builtIn + 1 }, 'the rule is back after the reload');
    assert.deepEqual(leftThePage(app), [], 'requests other than the file itself and its own blob:/data: URLs');
    assert.deepEqual(app.log.pageErrors, [], 'page errors');
  });
});

test('f3. from disk where IndexedDB is refused: the page still works, the rule is just not kept', { timeout: 120_000 }, async () => {
  const app = await open(FILE_URL, 'file-no-idb');
  await withFailureShot(app, 'offline-file-no-idb', async () => {
    // All workers started (web/src/pool.rs: one per thread, 2 to 8), so the reload cuts none short.
    await app.page.waitForFunction(() => Number(document.querySelector('#app').dataset.workers) === Math.min(8, Math.max(2, navigator.hardwareConcurrency)), null, { timeout: 30_000 });
    // What a browser does when it denies a page storage: open() throws a SecurityError. An init
    // script runs before the page's own on every new document, so this holds from the reload on.
    await app.context.addInitScript(() => {
      IDBFactory.prototype.open = () => {
        throw new DOMException('access to the Indexed Database API is denied in this context', 'SecurityError');
      };
    });
    await raceFailure(app, app.page.reload({ waitUntil: 'load' }), 'reloading with IndexedDB refused');
    await raceFailure(app, app.page.waitForSelector('#app[data-state="idle"]', { state: 'attached', timeout: 30_000 }), 'idle with IndexedDB refused');
    await installStateRecorder(app.page);
    assert.equal(await app.page.evaluate(() => { try { indexedDB.open('x'); return 'opened'; } catch (e) { return e.name; } }), 'SecurityError');
    const { builtIn, kept, loaded } = await sampleRulesReload(app);
    assert.deepEqual({ kept, loaded }, { kept: 0, loaded: builtIn }, 'no rule is kept without IndexedDB');
    assert.deepEqual(leftThePage(app), [], 'requests other than the file itself and its own blob:/data: URLs');
    assert.deepEqual(app.log.pageErrors, [], 'page errors');
  });
});
