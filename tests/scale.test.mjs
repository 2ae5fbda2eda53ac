// Scale and run lifecycle in the built web app (dist/): a thousand files in one pick, a folder
// pick with non-.evtx files in it, a second run after a finished one, and Cancel during a large
// run followed by a new run. Fixtures come from crate/examples/write_fixture.rs. Run:
// node --test tests/
//
// Needs: dist/ (trunk build --release), target/release/evtx-triage and
// target/release/examples/write_fixture (cargo build --release -p evtx-triage --examples),
// /usr/bin/chromium.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer } from './server.mjs';
import {
  BASE_PATH, DIST, REPO, artifact, demoExpected, doneCount, download, fileStatuses, findingRows, launchBrowser, openApp,
  raceFailure, runCli, scanAndWait, withFailureShot,
} from './harness.mjs';

const FIXTURE_BIN = path.resolve(process.env.EVTX_TRIAGE_FIXTURE_BIN ?? path.join(REPO, 'target', 'release', 'examples', 'write_fixture'));
// Files in the one-pick test, and the size of the log the Cancel test cancels.
const MANY = Number(process.env.EVTX_TRIAGE_E2E_MANY ?? 1000);
const CANCEL_MIB = Number(process.env.EVTX_TRIAGE_E2E_CANCEL_MIB ?? 64);

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
  tmp = await mkdtemp(path.join(tmpdir(), 'evtx-triage-scale-'));
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

/** Runs the fixture writer; resolves to the JSON it prints. */
function writeFixture(args) {
  if (!existsSync(FIXTURE_BIN)) {
    throw new Error(
      `fixture writer missing at ${FIXTURE_BIN}: build it with \`cargo build --release -p evtx-triage --example write_fixture\` (scripts/test.sh does), or set EVTX_TRIAGE_FIXTURE_BIN`,
    );
  }
  return new Promise((resolve, reject) => {
    execFile(FIXTURE_BIN, args, { maxBuffer: 64 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`write_fixture ${args.join(' ')} failed: ${stderr || err.message}`));
      try {
        resolve(JSON.parse(stdout));
      } catch (e) {
        reject(new Error(`write_fixture ${args.join(' ')} printed no JSON: ${e.message}`));
      }
    });
  });
}

const keysOf = (expected, fileName = (e) => e.file) => expected.map((e) => `${e.analytic}|${e.event_record_id}|${fileName(e)}`).sort();
const rowKeys = (rows) => rows.map((r) => `${r.analytic}|${r.record}|${r.file}`).sort();

/** The summary's cancelled notice, if shown. */
const cancelledNotice = (page) => page.evaluate(() => document.querySelector('#summary .notice')?.textContent ?? null);

test(`s1. ${MANY} files in one pick: all ok, one finding each, the page stays responsive`, { timeout: 420_000 }, async () => {
  const dir = path.join(tmp, 'many');
  const fixture = await writeFixture(['many', dir, String(MANY)]);
  assert.equal(fixture.files.length, MANY);
  const app = await open('many');
  await withFailureShot(app, 'many', async () => {
    const { page } = app;
    const started = Date.now();
    await scanAndWait(app, () => page.setInputFiles('#file-input', fixture.files.map((f) => f.path)), {
      what: `the scan of ${MANY} files`,
      timeout: 360_000,
    });
    const seconds = (Date.now() - started) / 1000;
    console.log(`${MANY} files: pick to done in ${seconds.toFixed(1)} s (data-scan-ms ${await page.getAttribute('#app', 'data-scan-ms')})`);

    const statuses = await fileStatuses(page);
    assert.equal(statuses.length, MANY, 'li.file-status count');
    const notOk = statuses.filter((s) => s.status !== 'ok');
    assert.deepEqual(notOk.slice(0, 10), [], `files not ok (${notOk.length})`);
    assert.deepEqual(statuses.map((s) => s.file).sort(), fixture.files.map((f) => f.name).sort(), 'data-file of the statuses');
    assert.equal(await page.locator('li.file-status[data-status="ok"]').count(), MANY);

    const { rows } = await findingRows(page);
    assert.equal(rows.length, MANY, 'finding rows');
    assert.deepEqual(rowKeys(rows), keysOf(fixture.expected), 'finding rows (analytic|record|file) vs write_fixture expected');
    const caption = await page.textContent('#findings caption');
    assert.match(caption, new RegExp(`^${MANY} of ${MANY} finding`), `table caption: ${caption}`);

    // Responsive: a text filter narrows 1000 rows to one, and back, within a few seconds each.
    const pickName = fixture.files[Math.min(123, MANY - 1)].name;
    let t0 = Date.now();
    await page.fill('#filter-text', pickName, { timeout: 10_000 });
    await raceFailure(
      app,
      page.waitForFunction((name) => {
        const rs = [...document.querySelectorAll('tr.finding')];
        return rs.length === 1 && rs[0].getAttribute('data-file') === name;
      }, pickName, { timeout: 10_000, polling: 50 }),
      `waiting for #filter-text "${pickName}" to leave one row`,
    );
    const narrowMs = Date.now() - t0;
    t0 = Date.now();
    await page.fill('#filter-text', '', { timeout: 10_000 });
    await raceFailure(
      app,
      // The table is virtualized: it says how many rows it holds and draws those in view.
      page.waitForFunction(
        (n) => document.querySelector('#findings')?.getAttribute('data-rows') === String(n) && document.querySelectorAll('tr.finding').length > 0,
        MANY,
        { timeout: 10_000, polling: 50 },
      ),
      'waiting for the cleared filter to show every row again',
    );
    const widenMs = Date.now() - t0;
    console.log(`filter to 1 row: ${narrowMs} ms; back to ${MANY} rows: ${widenMs} ms`);
    // The same with the keyboard, one key at a time, in the live page.
    await page.focus('#filter-text');
    t0 = Date.now();
    await page.keyboard.type('f0001', { delay: 0 });
    await raceFailure(
      app,
      page.waitForFunction(() => document.querySelectorAll('tr.finding').length === 1, null, { timeout: 10_000, polling: 50 }),
      'waiting for typed "f0001" to leave one row',
    );
    console.log(`typing "f0001" (5 keys) to 1 row: ${Date.now() - t0} ms`);
    await page.screenshot({ path: await artifact('many-filtered.png'), fullPage: false });
    assert.deepEqual(app.log.pageErrors, [], 'the page threw');
  });
  await close(app);
});

test('s2. a folder pick: the logs are analyzed, notes.txt and image.png (no event log by content) are listed as skipped', { timeout: 120_000 }, async () => {
  const dir = path.join(tmp, 'logs');
  const fixture = await writeFixture(['many', dir, '20']);
  const folder = path.basename(dir);
  const app = await open('folder');
  await withFailureShot(app, 'folder', async () => {
    const { page } = app;
    await scanAndWait(app, () => page.setInputFiles('#folder-input', dir), { what: 'the scan of a picked folder' });
    const statuses = await fileStatuses(page);
    console.log(`folder statuses: ${statuses.length} (${statuses.filter((s) => s.status === 'skipped').map((s) => s.file).join(', ')} skipped)`);
    // Files from a folder are named by their path inside it (webkitRelativePath): logs/f0000.evtx.
    const got = statuses.map((s) => [s.file, s.status]).sort();
    const want = [
      ...fixture.files.map((f) => [`${folder}/${f.name}`, 'ok']),
      [`${folder}/notes.txt`, 'skipped'],
      [`${folder}/image.png`, 'skipped'],
    ].sort();
    assert.deepEqual(got, want, `file statuses: ${JSON.stringify(statuses)}`);
    for (const name of ['notes.txt', 'image.png']) {
      const li = page.locator(`li.file-status[data-file="${folder}/${name}"]`);
      assert.match(await li.textContent(), /not an event log \(by its first bytes\); skipped/, `${name}'s status says why`);
    }
    const { rows } = await findingRows(page);
    assert.deepEqual(rowKeys(rows), keysOf(fixture.expected, (e) => `${folder}/${e.file}`), 'finding rows (analytic|record|file)');
    // Skipped files are not counted as analyzed.
    const filesTotal = await page.evaluate(() => {
      const dts = [...document.querySelectorAll('#summary dl.totals dt')];
      const dt = dts.find((d) => d.textContent.trim() === 'Files');
      return dt?.nextElementSibling?.textContent.trim() ?? null;
    });
    assert.equal(filesTotal, '20', 'the summary counts the 20 analyzed files');
    await page.screenshot({ path: await artifact('folder.png'), fullPage: true });
    assert.deepEqual(app.log.pageErrors, [], 'the page threw');
  });
  await close(app);
});

/**
 * Picks `file`, waits until the scan is under way and has shown its first findings, clicks
 * #cancel and waits for `done`. Fails if the scan ends before Cancel could be clicked.
 */
async function scanThenCancel(app, file, what) {
  const { page } = app;
  const before = await doneCount(page);
  const t0 = Date.now();
  await raceFailure(app, page.setInputFiles('#file-input', file), `picking ${what}`);
  await raceFailure(
    app,
    page.waitForFunction(
      (n) => (!!document.querySelector('#cancel') && document.querySelectorAll('tr.finding').length > 0) || window.__e2e.states.filter((s) => s === 'done').length > n,
      before,
      { timeout: 120_000, polling: 20 },
    ),
    `waiting for the first findings of ${what} while working`,
  );
  const progress = await page.evaluate(() => {
    const b = document.querySelector('#cancel');
    if (!b) return null;
    const text = document.querySelector('#progress')?.textContent ?? '';
    b.click();
    return text;
  });
  assert.ok(progress !== null, `${what} ended before Cancel could be clicked; raise EVTX_TRIAGE_E2E_CANCEL_MIB`);
  await raceFailure(
    app,
    page.waitForFunction(
      (n) => window.__e2e.states.filter((s) => s === 'done').length > n && document.querySelector('#app')?.getAttribute('data-state') === 'done',
      before,
      { timeout: 10_000, polling: 20 },
    ),
    'waiting for data-state=done after Cancel',
  );
  return { progress, ms: Date.now() - t0, kept: (await findingRows(page)).rows.length };
}

/** A dense log of CANCEL_MIB MiB (34 rendered records and one finding per chunk, a right header). */
async function cancelLog(name) {
  const file = path.join(tmp, name);
  const fixture = await writeFixture(['dense', file, String(CANCEL_MIB * 16)]);
  return { file, fixture, full: fixture.expected.length };
}

test(`s3. a second run replaces the first; Cancel during a ${CANCEL_MIB} MiB run keeps what was read, and a new run works`, { timeout: 420_000 }, async () => {
  const demo = await demoExpected();
  const demoKeys = demo.pairs.map((p) => `${p}|${demo.fileName}`).sort();
  const dir = path.join(tmp, 'five');
  const five = await writeFixture(['many', dir, '5']);
  const { file: big, fixture: bigFixture, full } = await cancelLog('dense-cancel.evtx');
  // The CLI agrees on the full count (one finding per chunk).
  const cli = await runCli(['scan', '--format', 'jsonl', path.basename(big)], tmp);
  assert.equal(cli.code, 0, `CLI exit code (stderr: ${cli.stderr})`);
  assert.equal(cli.stdout.split('\n').filter((l) => l.includes('"type":"finding"')).length, full, 'CLI findings on the cancel log');
  console.log(`cancel log: ${bigFixture.chunks} chunks of ${bigFixture.records_per_chunk} records, ${bigFixture.files[0].size} bytes, ${full} findings when read in full`);

  const app = await open('runs');
  await withFailureShot(app, 'runs', async () => {
    const { page } = app;
    const expectDemo = async (when) => {
      const { rows } = await findingRows(page);
      assert.deepEqual(rowKeys(rows), demoKeys, `demo findings (${when})`);
      const statuses = await fileStatuses(page);
      assert.deepEqual(statuses.map((s) => [s.file, s.status]), [[demo.fileName, 'ok']], `file statuses (${when}): ${JSON.stringify(statuses)}`);
      assert.equal(await cancelledNotice(page), null, `no "cancelled" notice (${when})`);
    };

    // Run 1: five files. Run 2: the demo, which replaces it entirely.
    await scanAndWait(app, () => page.setInputFiles('#file-input', five.files.map((f) => f.path)), { what: 'run 1 (five files)' });
    assert.deepEqual(rowKeys((await findingRows(page)).rows), keysOf(five.expected), 'run 1 findings');
    assert.equal((await fileStatuses(page)).length, 5);
    await page.fill('#filter-text', 'f0003');
    await raceFailure(app, page.waitForFunction(() => document.querySelectorAll('tr.finding').length === 1, null, { timeout: 10_000 }), 'filtering run 1');
    await scanAndWait(app, () => page.click('#demo-button'), { what: 'run 2 (the demo)' });
    assert.equal(await page.inputValue('#filter-text'), '', 'a new run clears the text filter');
    await expectDemo('run 2, after run 1');

    // Run 3: the big log, cancelled once its first findings show.
    const { progress, ms, kept } = await scanThenCancel(app, big, `the ${CANCEL_MIB} MiB log`);
    console.log(`cancelled after ${ms} ms (progress at the click: ${progress}); ${kept} of ${full} findings kept`);
    assert.ok(kept > 0, 'Cancel keeps the findings shown before it');
    assert.ok(kept < full, `Cancel keeps fewer findings than a full run (${kept} of ${full})`);
    // What was kept is what was read: one finding per chunk, the first chunks in file order.
    const { rows } = await findingRows(page);
    const keptKeys = rowKeys(rows);
    const firstKeys = keysOf(bigFixture.expected.slice(0, kept));
    assert.deepEqual(keptKeys, firstKeys, 'the kept findings are those of the first chunks');
    assert.match((await cancelledNotice(page)) ?? '', /cancelled/i, 'the summary says the scan was cancelled');
    const bigStatus = await fileStatuses(page);
    console.log(`status after Cancel: ${JSON.stringify(bigStatus)}`);
    assert.deepEqual(bigStatus.map((s) => s.file), [path.basename(big)], 'the cancelled run lists its one file');
    assert.ok(await page.isVisible('#export-json'), 'exports are offered after Cancel');
    // Parts still in flight when Cancel was clicked must not change the results.
    await page.waitForTimeout(3_000);
    assert.equal((await findingRows(page)).rows.length, kept, 'findings changed after Cancel (stale worker replies were applied)');
    assert.equal(await page.getAttribute('#app', 'data-state'), 'done');
    await page.screenshot({ path: await artifact('cancelled.png'), fullPage: false });

    // Run 4: the demo again, right after Cancel (workers may still be busy with the old parts).
    await scanAndWait(app, () => page.click('#demo-button'), { what: 'run 4 (the demo after Cancel)', timeout: 120_000 });
    await expectDemo('run 4, after Cancel');
    await page.waitForTimeout(2_000);
    await expectDemo('run 4, 2 s later');
    assert.deepEqual(app.log.pageErrors, [], 'the page threw');
  });
  await close(app);
});

test('s4. a file whose scan was cancelled is not reported as fully read', { timeout: 300_000 }, async () => {
  const { file, full } = await cancelLog('dense-cancel-status.evtx');
  const app = await open('cancel-status');
  await withFailureShot(app, 'cancel-status', async () => {
    const { page } = app;
    const { kept } = await scanThenCancel(app, file, `the ${CANCEL_MIB} MiB log`);
    assert.ok(kept < full, `cancelled before the end (${kept} of ${full} findings)`);
    const [status] = await fileStatuses(page);
    const json = JSON.parse((await download(app, '#export-json')).text);
    const report = json.files[0];
    const summary = { status: report.status, chunks: report.chunks, records: report.records, findings: report.findings, issues: report.issues };
    console.log(`cancelled file: li ${JSON.stringify(status)}; JSON export ${JSON.stringify(summary)}`);
    assert.equal(report.chunks, kept, 'the export counts the chunks read (one finding each)');
    assert.notEqual(status.status, 'ok', `li.file-status of a file cancelled after ${kept} of ${full} chunks says "ok"`);
    assert.notEqual(report.status, 'ok', 'the JSON export calls a cancelled file "ok" (as if read in full)');
    const cutShort = report.issues.filter((i) => /cut short/i.test(i.reason));
    assert.deepEqual(cutShort, [], 'a cancelled file is reported as a file that was "cut short"');
    const saysCancelled = report.issues.some((i) => /cancel/i.test(i.reason)) || /cancel/i.test(report.error ?? '');
    assert.ok(saysCancelled, `the export says why the file was not read in full (an issue naming the Cancel): ${JSON.stringify(report.issues)}`);
    assert.deepEqual(app.log.pageErrors, [], 'the page threw');
  });
  await close(app);
});
