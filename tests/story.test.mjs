// From a finding to its story and back: the page tells the same incidents as the CLI
// (`scan --format json`), a finding's detail shows its process's story, an event of the story
// opens and Escape comes back to the button it was opened from (all by keyboard), the events
// around a finding are those of its computer within the minutes asked, and axe finds no
// violation in the story, the opened event, the context or the incidents list.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  CORPUS, OUTFLANK_REL, axeViolations, download, haveCorpus, openApp, raceFailure, runCli, scanAndWait, servedApp, withFailureShot,
} from './harness.mjs';

const served = servedApp();

/** The CLI's incidents and findings for the same file. */
async function cliReport(file) {
  const { code, stdout, stderr } = await runCli(['scan', '--format', 'json', file]);
  assert.equal(code, 0, stderr);
  return JSON.parse(stdout);
}

/** An ISO time with the 7 fractional digits of EVTX times (JS has milliseconds). */
function iso(ms) {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');
}

async function focusedId(page) {
  return page.evaluate(() => document.activeElement?.id ?? null);
}

test('finding -> story -> an event of the story -> back, by keyboard; incidents equal the CLI\'s', { timeout: 120_000 }, async (t) => {
  if (!haveCorpus(t)) return;
  const file = path.join(CORPUS, OUTFLANK_REL);
  const cli = await cliReport(file);
  assert.equal(cli.incidents.length, 3);
  const app = await openApp(served.browser, served.url, { label: 'story' });
  try {
    await withFailureShot(app, 'story', async () => {
      const { page } = app;
      await scanAndWait(app, () => page.setInputFiles('#file-input', file), { what: 'the Dumpert log' });

      // The incidents list: the CLI's summaries, in its order.
      await page.click('#show-incidents');
      const summaries = await page.$$eval('tr.incident td.summary', (tds) => tds.map((td) => td.textContent));
      assert.deepEqual(summaries, cli.incidents.map((i) => i.summary));
      assert.deepEqual(await axeViolations(page), [], 'the incidents list');

      // The second incident's story, opened from its row by keyboard.
      await page.focus('#incident-1');
      await page.keyboard.press('Enter');
      await raceFailure(app, page.waitForSelector('#story[data-story-state="told"]', { timeout: 10_000 }), 'the story');
      assert.equal(await page.textContent('.story-summary'), cli.incidents[1].summary);
      const storyRecords = await page.$$eval('#story tr[data-record]', (trs) => trs.map((tr) => Number(tr.getAttribute('data-record'))));
      assert.deepEqual(storyRecords, cli.incidents[1].events.map((e) => e.event_record_id));
      await page.waitForSelector('pre.event[data-event-state="loaded"]', { timeout: 10_000 });
      assert.deepEqual(await axeViolations(page), [], 'the finding detail with its story');

      // Its third event, by keyboard: Enter opens it, Escape comes back to its button.
      await page.focus('#story-event-2');
      await page.keyboard.press('Enter');
      await raceFailure(app, page.waitForSelector('#opened-event pre.event[data-event-state="loaded"]', { timeout: 10_000 }), 'the opened event');
      const third = cli.incidents[1].events[2].event_record_id;
      assert.equal(await page.getAttribute('#opened-event', 'data-record'), String(third));
      const opened = JSON.parse(await page.textContent('#opened-event pre.event'));
      assert.equal(opened.Event.System.EventRecordID, third);
      assert.equal(await focusedId(page), 'back-to-finding', 'focus moves into the opened event');
      assert.deepEqual(await axeViolations(page), [], 'an opened event');
      await page.keyboard.press('Escape');
      await raceFailure(app, page.waitForSelector('#story[data-story-state="told"]', { timeout: 5_000 }), 'back to the story');
      assert.equal(await focusedId(page), 'story-event-2', 'focus returns to the button the event was opened from');
      assert.equal(await page.isVisible('#finding-detail'), true, 'Escape from an event does not close the finding');

      // The events around it: every event of its computer within 1 minute (the whole log spans 3).
      await page.fill('#context-minutes', '1');
      await page.dispatchEvent('#context-minutes', 'change');
      await page.click('#show-context');
      await raceFailure(app, page.waitForSelector('#context[data-context-state="loaded"]', { timeout: 10_000 }), 'the context');
      const finding = cli.findings[cli.incidents[1].findings[0]];
      const at = Date.parse(finding.time_created);
      const search = await runCli([
        'search', '--format', 'jsonl',
        `Computer:${finding.computer} TimeCreated>=${iso(at - 60_000)} TimeCreated<=${iso(at + 60_000)}`, file,
      ]);
      assert.equal(search.code, 0, search.stderr);
      const around = search.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).event_record_id);
      assert.ok(around.length > 0);
      assert.match(await page.textContent('#context-count'), new RegExp(`^${around.length} event\\(s\\) of ${finding.computer.replace(/\./g, '\\.')} within 1 minute`));
      const shown = await page.$$eval('#context tr[data-record]', (trs) => trs.map((tr) => Number(tr.getAttribute('data-record'))));
      assert.equal(shown.length, Math.min(around.length, 50), 'the first page');
      assert.ok(shown.every((r) => around.includes(r)), 'every event shown is one the search finds');
      assert.deepEqual(await axeViolations(page), [], 'the context');

      await page.keyboard.press('Escape');
      await raceFailure(app, page.locator('#finding-detail').waitFor({ state: 'hidden', timeout: 5_000 }), 'closing the detail');

      // The JSON export carries the incidents, as the CLI's (its file names are the paths given).
      const exported = JSON.parse((await download(app, '#export-json')).text);
      const shape = (r) => r.incidents.map((i) => ({ ...i, events: i.events.map(({ file, ...e }) => e), ancestors: i.ancestors.map(({ file, ...e }) => e) }));
      assert.deepEqual(shape(exported), shape(cli));
    });
  } finally {
    await app.context.close();
  }
});
