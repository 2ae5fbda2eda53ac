// Search in the page: the query runs in the workers over every event of the loaded files and
// finds exactly what `evtx-triage search` finds; the results export as the CLI's JSONL and CSV
// (file names aside: the page knows files by name, the CLI by path); a result opens its full
// event and Escape comes back to it; a query that does not parse says why.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  CORPUS, LSASS_REL, OUTFLANK_REL, axeViolations, download, haveCorpus, openApp, raceFailure, runCli, scanAndWait, servedApp, withFailureShot,
} from './harness.mjs';

const served = servedApp();

/** Lines of JSONL or CSV with each file path cut to its name. */
function byName(lines, files) {
  return lines.map((l) => files.reduce((text, f) => text.split(JSON.stringify(f).slice(1, -1)).join(path.basename(f)).split(f).join(path.basename(f)), l));
}

async function searchInPage(app, query) {
  const { page } = app;
  await page.fill('#search-query', query);
  await page.click('#search-run');
  await raceFailure(app, page.waitForSelector('#search[data-search-state="done"], #search[data-search-state="invalid"]', { timeout: 30_000 }), `searching ${query}`);
}

test('a search in the page finds and exports what the CLI finds', { timeout: 180_000 }, async (t) => {
  if (!haveCorpus(t)) return;
  const files = [LSASS_REL, OUTFLANK_REL].map((rel) => path.join(CORPUS, rel));
  const app = await openApp(served.browser, served.url, { label: 'search' });
  try {
    await withFailureShot(app, 'search', async () => {
      const { page } = app;
      await scanAndWait(app, () => page.setInputFiles('#file-input', files), { what: 'two corpus logs' });

      for (const query of ['TargetImage:*\\lsass.exe', 'EventID:11 -TargetFilename:*lsass*', '"cmd.exe"', 'Computer:alice* EventID:1']) {
        const cli = await runCli(['search', '--format', 'jsonl', query, ...files]);
        assert.equal(cli.code, 0, cli.stderr);
        const expected = cli.stdout.split('\n').filter(Boolean);
        assert.ok(expected.length > 0, `${query} finds events`);
        await searchInPage(app, query);
        assert.equal(await page.getAttribute('#search', 'data-hits'), String(expected.length), query);
        const jsonl = (await download(app, '#export-search-jsonl')).text.split('\n').filter(Boolean);
        assert.deepEqual(jsonl, byName(expected, files), `${query}: JSONL export`);
      }

      const csvCli = await runCli(['search', '--format', 'csv', 'TargetImage:*\\lsass.exe', ...files]);
      await searchInPage(app, 'TargetImage:*\\lsass.exe');
      const csv = (await download(app, '#export-search-csv')).text;
      assert.deepEqual(csv.split('\n'), byName(csvCli.stdout.split('\n'), files), 'CSV export');

      // A result opens its event; Escape comes back to its button.
      const first = await page.getAttribute('tr.search-hit >> nth=0', 'data-record');
      await page.focus('#search-hit-0');
      await page.keyboard.press('Enter');
      await raceFailure(app, page.waitForSelector('#opened-event pre.event[data-event-state="loaded"]', { timeout: 10_000 }), 'the opened result');
      assert.equal(JSON.parse(await page.textContent('#opened-event pre.event')).Event.System.EventRecordID, Number(first));
      assert.deepEqual(await axeViolations(page), [], 'an opened search result');
      await page.keyboard.press('Escape');
      await page.waitForSelector('#opened-event', { state: 'detached', timeout: 5_000 });
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'search-hit-0');
      assert.deepEqual(await axeViolations(page), [], 'the search results');

      await searchInPage(app, 'CommandLine:"unclosed');
      assert.match(await page.textContent('#search-status'), /^Not a query: /);
    });
  } finally {
    await app.context.close();
  }
});
