// Records a walk by record sizes misses, in the page: the Dumpert access to lsass in a copy of
// its log cut 1,200 bytes into that record (the bytes present hold TargetImage and dbghelp.dll)
// is a finding flagged partial, and opens with its cut event; the evtx crate's post-Security.evtx
// sample, where an editor grew record 104 over record 105, shows the carved record and the note.
// The page's JSON export equals the CLI's on the same files.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, copyFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  ARTIFACTS, CORPUS, OUTFLANK_REL, artifact, download, fileStatuses, findingRows, haveCorpus, jsonDiff, openApp,
  runCli, scanAndWait, servedApp, withFailureShot,
} from './harness.mjs';

const EDITED_REL = 'parser-samples/post-Security.evtx';
const CUT_AFTER = 1200;

// dist/ served under the test sub-path, and Chromium, for this file's tests.
const served = servedApp();

/** The Dumpert log cut inside its finding's record, and the edited log, under tests/artifacts/hidden/. */
async function writeInputs() {
  const dir = path.join(ARTIFACTS, 'hidden');
  await mkdir(dir, { recursive: true });
  const source = path.join(CORPUS, OUTFLANK_REL);
  const whole = JSON.parse((await runCli(['scan', '--format', 'json', source])).stdout);
  const record = whole.findings[0];
  const bytes = await readFile(source);
  const size = bytes.readUInt32LE(record.offset + 4);
  const cut = path.join(dir, 'dumpert-cut.evtx');
  await writeFile(cut, bytes.subarray(0, record.offset + CUT_AFTER));
  const edited = path.join(dir, 'post-Security.evtx');
  await copyFile(path.join(CORPUS, EDITED_REL), edited);
  return { dir, files: [cut, edited], record, size };
}

test('a cut record and a hidden record are found, flagged and opened', { timeout: 120_000 }, async (t) => {
  if (!haveCorpus(t)) return;
  const { dir, files, record, size } = await writeInputs();
  const app = await openApp(served.browser, served.url, { label: 'hidden' });
  try {
    await withFailureShot(app, 'hidden', async () => {
      const { page } = app;
      await scanAndWait(app, () => page.setInputFiles('#file-input', files), { what: 'a cut log and an edited log' });

      const { rows } = await findingRows(page);
      assert.deepEqual(rows.map((r) => [r.analytic, r.record, r.file]), [['CAR-2020-05-001', String(record.event_record_id), 'dumpert-cut.evtx']]);
      const row = page.locator('tr.finding').first();
      assert.equal(await row.locator('span.recovery.partial').getAttribute('title'), `partial: 1,200 of ${size.toLocaleString('en-US')} bytes`);

      // The file panels say what was read beyond the live records.
      const statuses = await fileStatuses(page);
      const cutPanel = statuses.find((s) => s.file === 'dumpert-cut.evtx');
      assert.match(cutPanel.text, /Beyond its live records: 0 record\(s\) recovered \(0 copy\(ies\) of live records dropped\), 1 partial/);
      const edited = page.locator('li.file-status[data-file="post-Security.evtx"]');
      assert.equal(await edited.locator('p.recovery').getAttribute('data-recovered'), '1');
      assert.match(await edited.locator('li[data-kind="RecordCoversRecord"]').textContent(),
        /^record 104 declares a size that covers record 105 at offset 0x12230/);

      // The detail says so, and reads the cut event again as far as its bytes go.
      await row.click();
      await page.waitForSelector('pre.event[data-event-state="loaded"]', { timeout: 20_000 });
      assert.match(await page.textContent('p.recovery-note'), /^Not a live record of the log — partial: 1,200 of/);
      const event = JSON.parse(await page.textContent('pre.event'));
      assert.equal(event.Event.EventData.TargetImage, 'C:\\Windows\\system32\\lsass.exe');
      assert.ok(event.Event.EventData.CallTrace.includes('dbghelp.dll'), event.Event.EventData.CallTrace);
      assert.ok(record.matched[1].value.startsWith(event.Event.EventData.CallTrace), 'the cut CallTrace is a prefix of the whole one');
      await page.keyboard.press('Escape');

      // The same results as the CLI, and the notes as CSV.
      const json = await download(app, '#export-json');
      await writeFile(await artifact('hidden-browser.json'), json.text);
      const names = files.map((f) => path.basename(f));
      const cli = await runCli(['scan', '--format', 'json', ...names], dir);
      assert.equal(cli.code, 0, `CLI exit code (stderr: ${cli.stderr})`);
      assert.deepEqual(jsonDiff(JSON.parse(json.text), JSON.parse(cli.stdout)), [], 'browser JSON export vs CLI --format json');
      assert.deepEqual(JSON.parse(json.text).findings[0].partial, { bytes_present: CUT_AFTER, record_size: size });
      const notes = await download(app, '#export-notes');
      const lines = notes.text.trim().split('\n');
      assert.equal(lines[0], 'file,kind,chunk,offset,first_id,last_id,reason');
      assert.ok(lines.some((l) => l.startsWith('post-Security.evtx,record_covers_record,1,73608,104,105,')), notes.text);
    });
  } finally {
    await app.context.close().catch(() => {});
  }
});
