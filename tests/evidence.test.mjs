// Evidence for a case file, in the page: each input's SHA-256 (computed from the bytes the scan
// reads) equals sha256sum's, a byte copy of an input is listed as its duplicate and analyzed
// once, and the HTML report equals the CLI's --report (but for the time it was written). The
// report opened from disk loads nothing, runs nothing and prints on A4.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, copyFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import {
  ARTIFACTS, CORPUS, LSASS_REL, OUTFLANK_REL, artifact, download, expectedPairs, fileStatuses, findingRows, haveCorpus,
  jsonDiff, openApp, runCli, scanAndWait, servedApp, withFailureShot,
} from './harness.mjs';

// dist/ served under the test sub-path, and Chromium, for this file's tests.
const served = servedApp();

/** `sha256sum`'s digest of each file, by base name. */
async function sha256sum(files) {
  const { stdout } = await promisify(execFile)('sha256sum', files);
  return Object.fromEntries(stdout.trim().split('\n').map((line) => {
    const [hash, ...name] = line.split('  ');
    return [path.basename(name.join('  ')), hash];
  }));
}

/** The report with the time it was written blanked (the one part that differs run to run). */
const unwritten = (html) => html.replace(/ · written \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ · /, ' · written (time) · ');

test('hashes equal sha256sum, a copy is a duplicate, the HTML report equals the CLI and is self-contained', { timeout: 120_000 }, async (t) => {
  if (!haveCorpus(t)) return;
  const dir = path.join(ARTIFACTS, 'evidence');
  await mkdir(dir, { recursive: true });
  const names = ['sysmon_10_11_lsass_memdump.evtx', 'outflank-dumpert.evtx', 'copy-of-lsass.evtx'];
  await copyFile(path.join(CORPUS, LSASS_REL), path.join(dir, names[0]));
  await copyFile(path.join(CORPUS, OUTFLANK_REL), path.join(dir, names[1]));
  await copyFile(path.join(CORPUS, LSASS_REL), path.join(dir, names[2]));
  const files = names.map((n) => path.join(dir, n));
  const want = await sha256sum(files);
  assert.equal(want[names[0]], want[names[2]], 'the copy has the same bytes');

  const app = await openApp(served.browser, served.url, { label: 'evidence' });
  try {
    await withFailureShot(app, 'evidence', async () => {
      const { page } = app;
      await scanAndWait(app, () => page.setInputFiles('#file-input', files), { what: 'two logs and a copy of one' });

      // Findings of the two logs, none of the copy.
      const expected = [...(await expectedPairs(LSASS_REL)), ...(await expectedPairs(OUTFLANK_REL))].sort();
      const { rows, keys } = await findingRows(page);
      assert.deepEqual(keys, expected, 'finding rows: the copy adds none');
      assert.deepEqual([...new Set(rows.map((r) => r.file))].sort(), [names[1], names[0]].sort(), 'files with findings');

      const statuses = await fileStatuses(page);
      assert.deepEqual(statuses.map((s) => [s.file, s.status]), [[names[0], 'ok'], [names[1], 'ok'], [names[2], 'duplicate']]);
      const shown = await page.$$eval('li.file-status', (els) => els.map((e) => [e.dataset.file, e.dataset.sha256, e.querySelector('.evidence')?.textContent ?? '']));
      for (const [file, sha, text] of shown) {
        assert.equal(sha, want[file], `${file}: data-sha256 vs sha256sum`);
        assert.ok(text.startsWith(`SHA-256 ${want[file]}, `), `${file}: the evidence line names its hash: ${text}`);
      }
      const dupLine = await page.$eval(`li.file-status[data-file="${names[2]}"] .why`, (e) => e.textContent);
      assert.equal(dupLine, `the same bytes as ${names[0]}: analyzed once, as that file`);

      // The JSON export equals the CLI's on the same files (hashes and the duplicate included).
      const json = JSON.parse((await download(app, '#export-json')).text);
      const cli = await runCli(['scan', '--format', 'json', ...names], dir);
      assert.equal(cli.code, 0, cli.stderr);
      const cliDoc = JSON.parse(cli.stdout);
      assert.deepEqual(jsonDiff(json, cliDoc), [], 'page JSON vs CLI JSON');
      assert.deepEqual(cliDoc.files.map((f) => [f.file, f.status, f.sha256, f.duplicate_of ?? null]), [
        [names[0], 'ok', want[names[0]], null],
        [names[1], 'ok', want[names[1]], null],
        [names[2], 'duplicate', want[names[2]], names[0]],
      ]);

      // The HTML report: the page's equals the CLI's.
      const report = await download(app, '#export-report');
      assert.equal(report.name, 'evtx-triage-report.html');
      const reportPath = path.join(dir, 'page-report.html');
      await writeFile(reportPath, report.text);
      const cliReportPath = path.join(dir, 'cli-report.html');
      const cliRun = await runCli(['scan', '--format', 'jsonl', '--report', cliReportPath, ...names], dir);
      assert.equal(cliRun.code, 0, cliRun.stderr);
      assert.equal(unwritten(report.text), unwritten(await readFile(cliReportPath, 'utf8')), 'page report vs CLI --report (saved in tests/artifacts/evidence/)');

      await checkReportFromDisk(reportPath, want, names);
    });
  } finally {
    await app.context.close();
  }
});

/** Opens the report by file://: nothing but itself is requested, nothing runs, its inputs table holds sha256sum's hashes, and it prints on A4. */
async function checkReportFromDisk(reportPath, want, names) {
  const context = await served.browser.newContext();
  try {
    const page = await context.newPage();
    const requests = [];
    const consoleErrors = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    const url = pathToFileURL(reportPath).href;
    await page.goto(url, { waitUntil: 'load' });
    assert.deepEqual(requests, [url], 'the report requests nothing but itself');
    assert.deepEqual(consoleErrors, [], 'no CSP violation or error');
    const loaders = await page.$$eval('script, link, img, iframe, object, embed, video, audio, source, base, form', (els) => els.map((e) => e.tagName));
    assert.deepEqual(loaders, [], 'no element that loads or runs anything');
    const urls = await page.$$eval('[src], [href], [srcset], [action]', (els) => els.map((e) => e.outerHTML.slice(0, 80)));
    assert.deepEqual(urls, [], 'no attribute that names a URL');
    const inputs = await page.$$eval("#inputs + table tbody tr", (trs) => trs.map((tr) => [tr.querySelector(".file").textContent, tr.querySelector(".hash").textContent, ...[...tr.cells].slice(1).map((c) => c.textContent)]));
    assert.deepEqual(inputs.map((cells) => [cells[0], cells[1]]), names.map((n) => [n, want[n]]), 'inputs table: file and SHA-256');
    assert.equal(inputs[2][4], `duplicate of ${names[0]}`);
    const attack = await page.$$eval('#attack + table tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
    assert.deepEqual(attack.map((c) => [c[0], c[3]]), [['T1003', '7'], ['T1003.001', '7']], 'ATT&CK table: technique and findings');
    const pdf = await page.pdf({ format: 'A4' });
    await writeFile(await artifact('evidence-report.pdf'), pdf);
    assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
    const mediaBox = pdf.toString('latin1').match(/\/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]/);
    assert.ok(mediaBox, 'the PDF has a page size');
    // A4 in PostScript points: 595.92 x 842.88 as Chromium writes it.
    assert.deepEqual([Math.round(Number(mediaBox[1])), Math.round(Number(mediaBox[2]))], [596, 843], 'printed on A4');
  } finally {
    await context.close();
  }
}
