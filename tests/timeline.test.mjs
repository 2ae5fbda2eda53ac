// The timeline in the page: its buckets equal `evtx-triage timeline --format json` on the same
// files (by computer and by channel); picking buckets (click, shift-click, keyboard) or typing two
// times sets a range that filters the findings table to exactly the findings in it, adds its bounds
// to a search (which then finds what the CLI's search with TimeCreated>=/< finds) and clips the
// events around a finding; axe finds nothing to fault.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  CORPUS, LSASS_REL, OUTFLANK_REL, axeViolations, download, findingRows, haveCorpus, openApp, raceFailure, runCli, scanAndWait,
  servedApp, withFailureShot,
} from './harness.mjs';

const served = servedApp();

/** Milliseconds of an ISO 8601 UTC time with any number of fraction digits (JS parses three). */
function ms(iso) {
  const m = iso.match(/^(.*?:\d\d)(?:\.(\d+))?Z$/);
  if (!m) throw new Error(`not a UTC time: ${iso}`);
  return Date.parse(`${m[1]}Z`) + Number(`0.${m[2] ?? '0'}`) * 1000;
}

/** The page's buckets: [start, end, events, findings, per-series counts by name]. */
async function pageBuckets(page) {
  const names = JSON.parse(await page.getAttribute('#timeline', 'data-series'));
  const rows = await page.$$eval('#timeline button.tl-bucket', (bs) =>
    bs.map((b) => [b.id, b.dataset.start, b.dataset.end, Number(b.dataset.count), Number(b.dataset.findings), b.dataset.counts]),
  );
  return rows.map(([id, start, end, events, findings, counts], i) => {
    assert.equal(id, `timeline-bucket-${i}`);
    const per = {};
    counts.split(',').forEach((n, s) => { if (n !== '0') per[names[s]] = Number(n); });
    return [start, end, events, findings, per];
  });
}

/** The CLI's buckets in the same shape. */
function cliBuckets(doc) {
  const names = doc.series.map((s) => s.name);
  return doc.buckets.map((b) => {
    const per = {};
    b.counts.forEach((n, s) => { if (n !== 0) per[names[s]] = n; });
    return [b.start, b.end, b.events, b.findings, per];
  });
}

async function cliJson(args) {
  const out = await runCli(args);
  assert.equal(out.code, 0, out.stderr);
  return JSON.parse(out.stdout);
}

async function rangeIs(app, from, to) {
  await raceFailure(
    app,
    app.page.waitForFunction(([f, t]) => {
      const el = document.querySelector('#timeline-range');
      return el && (el.getAttribute('data-from') ?? '') === f && (el.getAttribute('data-to') ?? '') === t;
    }, [from, to], { timeout: 10_000 }),
    `the range to be ${from} .. ${to}`,
  );
}

/** "analytic|record" keys of the CLI's findings whose time is in [from, to). */
function keysIn(findings, from, to) {
  return findings
    .filter((f) => (from === null || ms(f.time_created) >= ms(from)) && (to === null || ms(f.time_created) < ms(to)))
    .map((f) => `${f.analytic_id}|${f.event_record_id}`)
    .sort();
}

/** Lines of JSONL with each file path cut to its name (the page knows files by name). */
function byName(lines, files) {
  return lines.map((l) => files.reduce((text, f) => text.split(JSON.stringify(f).slice(1, -1)).join(path.basename(f)), l));
}

async function searchInPage(app, query) {
  await app.page.fill('#search-query', query);
  await app.page.click('#search-run');
  await raceFailure(app, app.page.waitForSelector('#search[data-search-state="done"], #search[data-search-state="invalid"]', { timeout: 30_000 }), `searching ${query}`);
}

test('the timeline equals the CLI, and its range filters findings, search and context', { timeout: 240_000 }, async (t) => {
  if (!haveCorpus(t)) return;
  const files = [LSASS_REL, OUTFLANK_REL].map((rel) => path.join(CORPUS, rel));
  const app = await openApp(served.browser, served.url, { label: 'timeline' });
  try {
    await withFailureShot(app, 'timeline', async () => {
      const { page } = app;
      await scanAndWait(app, () => page.setInputFiles('#file-input', files), { what: 'two corpus logs' });
      await page.waitForSelector('#timeline[data-timeline-state="ready"]', { timeout: 10_000 });

      // The buckets, by computer (the default) and by channel, equal the CLI's.
      const byComputer = await cliJson(['timeline', '--format', 'json', ...files]);
      assert.equal(byComputer.bucket, '1d');
      assert.equal(byComputer.buckets.length, 97);
      assert.equal(await page.getAttribute('#timeline', 'data-buckets'), '97');
      assert.deepEqual(await pageBuckets(page), cliBuckets(byComputer), 'buckets by computer');
      // And the JSON export's timeline is the CLI's too.
      const exported = JSON.parse((await download(app, '#export-json')).text);
      assert.deepEqual(exported.timeline, byComputer, 'the exported report\'s timeline');
      await page.click('#timeline-by-channel');
      await page.waitForSelector('#timeline[data-group="channel"]');
      const byChannel = await cliJson(['timeline', '--format', 'json', '--by', 'channel', ...files]);
      assert.deepEqual(await pageBuckets(page), cliBuckets(byChannel), 'buckets by channel');
      assert.deepEqual(JSON.parse(await page.getAttribute('#timeline', 'data-series')), ['Microsoft-Windows-Sysmon/Operational']);
      await page.click('#timeline-by-computer');
      await page.waitForSelector('#timeline[data-group="computer"]');

      const scan = await cliJson(['scan', '--format', 'json', ...files]);
      const all = keysIn(scan.findings, null, null);
      assert.equal(all.length, 7);
      const buckets = byComputer.buckets;
      const last = buckets.length - 1;
      assert.deepEqual([buckets[0].findings, buckets[last].findings], [3, 4], 'findings on the first and last days');

      // A click picks one bucket: exactly its findings are listed.
      await page.click('#timeline-bucket-0');
      await rangeIs(app, buckets[0].start, buckets[0].end);
      assert.equal(await page.getAttribute('#timeline-bucket-0', 'aria-pressed'), 'true');
      assert.deepEqual((await findingRows(page)).keys, keysIn(scan.findings, buckets[0].start, buckets[0].end));
      assert.equal((await findingRows(page)).keys.length, 3);
      // Shift-click extends it to the last bucket: every finding.
      await page.click(`#timeline-bucket-${last}`, { modifiers: ['Shift'] });
      await rangeIs(app, buckets[0].start, buckets[last].end);
      assert.deepEqual((await findingRows(page)).keys, all);
      // The keyboard: a bucket, then shift and the arrows extend.
      await page.focus(`#timeline-bucket-${last}`);
      await page.keyboard.press('Enter');
      await rangeIs(app, buckets[last].start, buckets[last].end);
      await page.keyboard.press('Shift+ArrowLeft');
      await page.keyboard.press('Shift+ArrowLeft');
      await rangeIs(app, buckets[last - 2].start, buckets[last].end);
      assert.equal(await page.evaluate(() => document.activeElement?.id), `timeline-bucket-${last - 2}`);
      assert.deepEqual((await findingRows(page)).keys, keysIn(scan.findings, buckets[last - 2].start, buckets[last].end));
      assert.equal((await findingRows(page)).keys.length, 4);

      // Two typed times: a range inside the last day that cuts its findings.
      const times = scan.findings.map((f) => f.time_created).filter((x) => x.startsWith(buckets[last].start.slice(0, 10))).sort();
      assert.equal(times.length, 4);
      const from = `${times[0].slice(0, 16)}:00Z`;
      const cut = new Date(Math.floor(ms(times[3]) / 1000) * 1000).toISOString().replace('.000Z', 'Z');
      await page.fill('#timeline-from', from);
      await page.press('#timeline-from', 'Enter');
      await page.fill('#timeline-to', cut);
      await page.press('#timeline-to', 'Enter');
      await rangeIs(app, from, cut);
      const typed = keysIn(scan.findings, from, cut);
      assert.ok(typed.length > 0 && typed.length < 4, `the typed range keeps some findings of the day (${typed.length})`);
      assert.deepEqual((await findingRows(page)).keys, typed);
      assert.match(await page.textContent('#rule-groups caption'), /rule\(s\) fired/);

      // A search in the range finds what the CLI finds with the same bounds.
      const query = 'EventID:10';
      await searchInPage(app, query);
      assert.match(await page.textContent('#search-range'), new RegExp(`TimeCreated>=${from} TimeCreated<${cut}`));
      const cli = await runCli(['search', '--format', 'jsonl', `${query} TimeCreated>=${from} TimeCreated<${cut}`, ...files]);
      assert.equal(cli.code, 0, cli.stderr);
      const expected = cli.stdout.split('\n').filter(Boolean);
      const unbounded = (await runCli(['search', '--format', 'jsonl', query, ...files])).stdout.split('\n').filter(Boolean);
      assert.ok(expected.length > 0 && expected.length < unbounded.length, `${expected.length} of ${unbounded.length} events in the range`);
      assert.equal(await page.getAttribute('#search', 'data-hits'), String(expected.length));
      const jsonl = (await download(app, '#export-search-jsonl')).text.split('\n').filter(Boolean);
      assert.deepEqual(jsonl, byName(expected, files), 'search in the range: JSONL export');

      // The events around a finding stop at the range.
      await page.focus('tr.finding >> nth=0');
      await page.keyboard.press('Enter');
      await page.waitForSelector('#finding-detail');
      await page.fill('#context-minutes', '60');
      await page.click('#show-context');
      await raceFailure(app, page.waitForSelector('#context[data-context-state="loaded"]', { timeout: 20_000 }), 'the context');
      const contextTimes = await page.$$eval('#context tbody tr td:first-child', (tds) => tds.map((td) => td.textContent.trim()));
      assert.ok(contextTimes.length > 0);
      assert.ok(contextTimes.every((x) => ms(x) >= ms(from) && ms(x) < ms(cut)), `context times within ${from} .. ${cut}: ${contextTimes}`);
      assert.deepEqual(await axeViolations(page), [], 'the finding with its context');
      await page.keyboard.press('Escape');
      await page.waitForSelector('#finding-detail', { state: 'detached', timeout: 5_000 });

      // Zoom: the range's own buckets; then the whole run again.
      await page.click('#timeline-zoom');
      await page.waitForSelector('#timeline[data-zoomed="true"]');
      const zoomed = await pageBuckets(page);
      assert.equal(zoomed[0][0], from);
      // The zoomed range runs to the end of the minute of its end (times are whole minutes there).
      const minuteUp = new Date(Math.ceil(ms(cut) / 60_000) * 60_000).toISOString().replace('.000Z', 'Z');
      assert.equal(zoomed.reduce((n, b) => n + b[3], 0), keysIn(scan.findings, from, minuteUp).length, 'findings on the zoomed buckets');
      assert.deepEqual(await axeViolations(page), [], 'the zoomed timeline with a range');
      await page.click('#timeline-zoom-out');
      await page.waitForSelector('#timeline[data-zoomed="false"]');

      // Clear: every finding again.
      await page.click('#timeline-clear');
      await rangeIs(app, '', '');
      assert.deepEqual((await findingRows(page)).keys, all);
      assert.deepEqual(await axeViolations(page), [], 'the timeline');
    });
  } finally {
    await app.context.close();
  }
});
