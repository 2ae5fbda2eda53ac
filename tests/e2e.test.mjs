// End-to-end tests of the built web app (dist/) in Debian's Chromium through playwright-core,
// served under a sub-path (/evtx-triage/) by tests/server.mjs. Run: node --test tests/
//
// Needs: dist/ (trunk build --release), target/release/evtx-triage (for the CLI comparison),
// /usr/bin/chromium, and ../shared/corpus (skipped with a notice when missing, unless CI=true).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer } from './server.mjs';
import {
  BASE_PATH, CORPUS, DIST, LSASS_REL, OUTFLANK_REL, artifact, demoExpected, download, expectedPairs,
  fileStatuses, findingRows, haveCorpus, launchBrowser, openApp, raceFailure, runCli, scanAndWait,
  stateLog, withFailureShot, writeRepeatedEvtx, jsonDiff,
} from './harness.mjs';

let server;
let browser;
let tmp;
const opened = [];

before(async () => {
  if (!existsSync(path.join(DIST, 'index.html'))) {
    throw new Error(`${DIST}/index.html is missing: build the web app first (trunk build --release)`);
  }
  server = await startServer({ root: DIST, base: BASE_PATH });
  console.log(`serving ${DIST} at ${server.url}`);
  browser = await launchBrowser();
  tmp = await mkdtemp(path.join(tmpdir(), 'evtx-triage-e2e-'));
});

after(async () => {
  for (const app of opened) await app.context.close().catch(() => {});
  await browser?.close().catch(() => {});
  await server?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function open(label) {
  const app = await openApp(browser, server.url, { label });
  opened.push(app);
  return app;
}

async function close(app) {
  await app.context.close().catch(() => {});
  opened.splice(opened.indexOf(app), 1);
}

function noPageErrors(app) {
  assert.deepEqual(app.log.pageErrors, [], 'the page threw');
}

const corpusFile = (rel) => path.join(CORPUS, rel);
// Size of the generated log of test e2 (big enough to see the app working).
const BIG_MIB = Number(process.env.EVTX_TRIAGE_E2E_BIG_MIB ?? 64);

test('a. the empty page loads idle under a sub-path', { timeout: 60_000 }, async () => {
  const app = await open('empty');
  await withFailureShot(app, 'empty', async () => {
    const { page, log } = app;
    assert.equal(await page.getAttribute('#app', 'data-state'), 'idle');
    // Everything the page loaded came from the sub-path, and all of it loaded.
    await page.waitForLoadState('networkidle', { timeout: 15_000 }).catch(() => {});
    const outside = log.requests.filter((r) => !r.url.startsWith(server.url));
    assert.deepEqual(outside.map((r) => r.url), [], 'requests outside the sub-path');
    assert.deepEqual(log.httpErrors, [], 'HTTP errors while loading');
    assert.deepEqual(log.failedRequests, [], 'failed requests while loading');
    // The server's view too (it also sees what the browser fetches on its own, like a favicon).
    const strays = server.requests.filter((r) => !r.url.startsWith(BASE_PATH)).map((r) => `${r.status} ${r.method} ${r.url}`);
    assert.deepEqual(strays, [], 'requests the server got outside the sub-path (a root /favicon.ico: give index.html a <link rel="icon">)');
    assert.deepEqual(log.consoleErrors, [], 'console errors while loading');
    // The inputs, as the contract says.
    const inputs = await page.$$eval('input[type="file"]', (els) =>
      els.map((e) => ({ id: e.id, multiple: e.multiple, webkitdirectory: e.webkitdirectory })),
    );
    assert.ok(inputs.length >= 2, `two file inputs, found ${JSON.stringify(inputs)}`);
    assert.deepEqual(inputs[0], { id: 'file-input', multiple: true, webkitdirectory: false });
    assert.equal(inputs[1].id, 'folder-input');
    assert.equal(inputs[1].webkitdirectory, true);
    assert.match(await page.textContent('#demo-button'), /Try a sample log/);
    assert.equal(await page.locator('tr.finding').count(), 0);
    await page.screenshot({ path: await artifact('empty.png'), fullPage: true });
    noPageErrors(app);
  });
  await close(app);
});

test('b. two corpus logs: exact findings, JSON and CSV exports equal the CLI, finding detail', { timeout: 120_000 }, async (t) => {
  if (!haveCorpus(t)) return;
  const app = await open('corpus');
  await withFailureShot(app, 'corpus', async () => {
    const { page } = app;
    const files = [LSASS_REL, OUTFLANK_REL];
    await scanAndWait(app, () => page.setInputFiles('#file-input', files.map(corpusFile)), { what: 'the scan of two corpus logs' });

    const want = [...(await expectedPairs(LSASS_REL)), ...(await expectedPairs(OUTFLANK_REL))].sort();
    assert.equal(want.length, 7);
    const { rows, keys } = await findingRows(page);
    assert.deepEqual(keys, want, 'finding rows (analytic|record) vs expected.json');
    const byFile = {};
    for (const r of rows) byFile[r.file] = (byFile[r.file] ?? 0) + 1;
    assert.deepEqual(byFile, { [path.basename(LSASS_REL)]: 3, [path.basename(OUTFLANK_REL)]: 4 }, 'findings per data-file');
    assert.ok(rows.every((r) => r.tabindex === '0'), 'every tr.finding has tabindex=0');
    const statuses = await fileStatuses(page);
    assert.deepEqual(
      statuses.map((s) => [s.file, s.status]).sort(),
      files.map((f) => [path.basename(f), 'ok']).sort(),
      `file statuses: ${JSON.stringify(statuses)}`,
    );

    // JSON export == the CLI's --format json on the same files, by base name.
    const json = await download(app, '#export-json');
    assert.equal(json.name, 'evtx-triage-results.json');
    await writeFile(await artifact('browser-results.json'), json.text);
    const browserDoc = JSON.parse(json.text);
    const cwd = path.join(CORPUS, path.dirname(LSASS_REL));
    const names = files.map((f) => path.basename(f));
    const cli = await runCli(['scan', '--format', 'json', ...names], cwd);
    assert.equal(cli.code, 0, `CLI exit code (stderr: ${cli.stderr})`);
    await writeFile(await artifact('cli-results.json'), cli.stdout);
    const cliDoc = JSON.parse(cli.stdout);
    assert.deepEqual(Object.keys(browserDoc), ['schema_version', 'tool', 'analytics', 'files', 'findings', 'coverage', 'totals', 'prefilter_literals', 'rules', 'incidents', 'timeline']);
    const diff = jsonDiff(browserDoc, cliDoc);
    assert.deepEqual(diff, [], 'browser JSON export vs CLI --format json (first is the browser; both saved in tests/artifacts/)');
    assert.deepStrictEqual(browserDoc, cliDoc);

    // CSV export == the CLI's --format csv.
    const csv = await download(app, '#export-csv');
    assert.equal(csv.name, 'evtx-triage-findings.csv');
    const cliCsv = await runCli(['scan', '--format', 'csv', ...names], cwd);
    assert.equal(cliCsv.code, 0);
    await writeFile(await artifact('browser-findings.csv'), csv.text);
    assert.equal(csv.text, cliCsv.stdout, 'browser CSV export vs CLI --format csv');

    // Keyboard: focus a row, Enter opens the detail dialog, Escape closes it.
    const row = page.locator('tr.finding').first();
    const analytic = await row.getAttribute('data-analytic');
    const record = await row.getAttribute('data-record');
    await row.focus();
    await page.keyboard.press('Enter');
    const detail = page.locator('#finding-detail');
    await raceFailure(app, detail.waitFor({ state: 'visible', timeout: 5_000 }), 'waiting for #finding-detail after Enter');
    assert.equal(await detail.getAttribute('role'), 'dialog');
    const text = await detail.textContent();
    assert.ok(text.includes(analytic), `the detail names the analytic ${analytic}`);
    assert.ok(text.includes(record), `the detail names EventRecordID ${record}`);
    await page.screenshot({ path: await artifact('detail.png'), fullPage: false });
    await page.keyboard.press('Escape');
    await raceFailure(app, detail.waitFor({ state: 'hidden', timeout: 5_000 }), 'waiting for #finding-detail to close after Escape');

    // A click opens it too.
    const last = page.locator('tr.finding').last();
    const lastRecord = await last.getAttribute('data-record');
    await last.click();
    await raceFailure(app, detail.waitFor({ state: 'visible', timeout: 5_000 }), 'waiting for #finding-detail after a click');
    assert.ok((await detail.textContent()).includes(lastRecord), `the detail names EventRecordID ${lastRecord}`);
    await page.keyboard.press('Escape');
    await raceFailure(app, detail.waitFor({ state: 'hidden', timeout: 5_000 }), 'waiting for #finding-detail to close after Escape');
    noPageErrors(app);
  });
  await close(app);
});

test('c. a broken file among good ones', { timeout: 90_000 }, async (t) => {
  if (!haveCorpus(t)) return;
  const dir = await mkdtemp(path.join(tmp, 'broken-'));
  const notes = path.join(dir, 'notes.evtx');
  const good = path.join(dir, path.basename(LSASS_REL));
  await writeFile(notes, 'hello');
  await copyFile(corpusFile(LSASS_REL), good);
  const app = await open('broken');
  await withFailureShot(app, 'broken', async () => {
    const { page } = app;
    await scanAndWait(app, () => page.setInputFiles('#file-input', [notes, good]), { what: 'the scan of notes.evtx + a good log' });
    const broken = page.locator('li.file-status[data-file="notes.evtx"]');
    assert.equal(await broken.count(), 1, 'one li.file-status for notes.evtx');
    assert.equal(await broken.getAttribute('data-status'), 'unreadable');
    assert.match(await broken.textContent(), /not an EVTX file/);
    const ok = page.locator(`li.file-status[data-file="${path.basename(good)}"]`);
    assert.equal(await ok.getAttribute('data-status'), 'ok');
    const { rows, keys } = await findingRows(page);
    assert.deepEqual(keys, await expectedPairs(LSASS_REL));
    assert.ok(rows.every((r) => r.file === path.basename(good)), 'every finding is the good file\'s');
    noPageErrors(app);
  });
  await close(app);
});

test('d. no network request after load; connect-src is locked', { timeout: 120_000 }, async (t) => {
  const app = await open('network');
  await withFailureShot(app, 'network', async () => {
    const { page, log } = app;
    // "After load": the page loaded, #app is idle, and the network has been quiet for 500 ms.
    await page.waitForLoadState('networkidle', { timeout: 15_000 });
    const mark = log.requests.length;
    assert.ok(mark > 0, 'the page load itself was recorded');

    await scanAndWait(app, () => page.click('#demo-button'), { what: 'the demo scan' });
    assert.ok((await page.locator('tr.finding').count()) > 0, 'the demo gave findings');
    if (existsSync(path.join(CORPUS, 'expected.json'))) {
      await scanAndWait(app, () => page.setInputFiles('#file-input', [corpusFile(LSASS_REL), corpusFile(OUTFLANK_REL)]), { what: 'the corpus scan' });
    } else if (process.env.CI === 'true') {
      throw new Error(`CI=true but the corpus is missing at ${CORPUS}`);
    } else {
      console.log(`NOTICE: corpus not found at ${CORPUS}; test d scans the demo only`);
    }
    await download(app, '#export-json');
    await download(app, '#export-csv');

    const after = log.requests.slice(mark).map((r) => `${r.method} ${r.url} (${r.type})`);
    assert.deepEqual(after, [], 'requests made after load');

    const fetched = await page.evaluate(() => fetch('./index.html').then(() => 'ok', () => 'blocked'));
    assert.equal(fetched, 'blocked', 'fetch() after startup must be blocked by CSP connect-src');
    noPageErrors(app);
  });
  await close(app);
});

test('e1. the demo log gives exactly DEMO_EXPECTED', { timeout: 60_000 }, async () => {
  const { fileName, pairs } = await demoExpected();
  const app = await open('demo');
  await withFailureShot(app, 'demo', async () => {
    const { page } = app;
    await scanAndWait(app, () => page.click('#demo-button'), { what: 'the demo scan' });
    const { rows, keys } = await findingRows(page);
    assert.deepEqual(keys, pairs, 'demo findings vs DEMO_EXPECTED in crate/src/demo.rs');
    assert.ok(rows.every((r) => r.file === fileName), `every demo finding has data-file=${fileName}`);
    const statuses = await fileStatuses(page);
    assert.deepEqual(statuses.map((s) => [s.file, s.status]), [[fileName, 'ok']], `file statuses: ${JSON.stringify(statuses)}`);
    await page.screenshot({ path: await artifact('demo.png'), fullPage: false });
    noPageErrors(app);
  });
  await close(app);
});

test(`e2. a ${BIG_MIB} MiB log: working state, findings while running, exact count`, { timeout: 300_000 }, async (t) => {
  if (!haveCorpus(t)) return;
  const big = path.join(tmp, 'outflank-repeated.evtx');
  const { copies, chunksPerCopy, size } = await writeRepeatedEvtx(corpusFile(OUTFLANK_REL), big, BIG_MIB << 20);
  const perCopy = await expectedPairs(OUTFLANK_REL);
  assert.equal(chunksPerCopy, 1);
  assert.equal(perCopy.length, 4);
  console.log(`big log: ${copies} copies of ${chunksPerCopy} chunk(s), ${size} bytes, expecting ${perCopy.length * copies} findings`);

  const app = await open('big');
  await withFailureShot(app, 'big', async () => {
    const { page } = app;
    const started = Date.now();
    const working = page.waitForSelector('#app[data-state="working"]', { state: 'attached', timeout: 60_000 });
    working.catch(() => {});
    await raceFailure(app, page.setInputFiles('#file-input', big), 'uploading the big log');
    await raceFailure(app, working, 'waiting for data-state=working');
    // Let the first findings show (so the screenshot shows a scan under way), or the scan end.
    await raceFailure(
      app,
      page.waitForFunction(
        () => document.querySelector('#app')?.getAttribute('data-state') !== 'working' || document.querySelectorAll('tr.finding').length > 0,
        null,
        { timeout: 240_000, polling: 50 },
      ),
      'waiting for the first findings while working',
    );
    // One consistent look at the page while it works, then the screenshot.
    const snap = await page.evaluate(() => {
      const cancel = document.querySelector('#cancel');
      const cs = cancel && getComputedStyle(cancel);
      return {
        state: document.querySelector('#app')?.getAttribute('data-state'),
        cancelVisible: !!cancel && cancel.getClientRects().length > 0 && cs.visibility !== 'hidden' && cs.display !== 'none',
        progress: document.querySelector('#progress')?.textContent?.trim() ?? null,
        rows: document.querySelectorAll('tr.finding').length,
      };
    });
    await page.screenshot({ path: await artifact('running.png'), fullPage: false });
    const stateAfterShot = await page.getAttribute('#app', 'data-state');
    console.log(`running snapshot: ${JSON.stringify(snap)}; state after the screenshot: ${stateAfterShot}`);
    assert.equal(snap.state, 'working', 'still working when the first findings showed (findings must appear while the scan runs)');
    assert.ok(snap.cancelVisible, '#cancel is visible while working');
    assert.ok(snap.progress, '#progress has text while working');

    await raceFailure(
      app,
      page.waitForSelector('#app[data-state="done"]', { state: 'attached', timeout: 240_000 }),
      'waiting for the big scan to end (data-state=done)',
    );
    console.log(`big scan took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const { rows, uniqueKeys } = await findingRows(page);
    assert.equal(rows.length, perCopy.length * copies, 'finding rows: per-copy findings x copies');
    assert.deepEqual(uniqueKeys, perCopy);
    const rec = await stateLog(page);
    assert.ok(rec.maxRowsWhileWorking > 0, `findings appear while the scan runs (most rows seen while working: ${rec.maxRowsWhileWorking})`);
    const statuses = await fileStatuses(page);
    console.log(`big log status: ${JSON.stringify(statuses)}`);
    noPageErrors(app);
  });
  await close(app);
});
