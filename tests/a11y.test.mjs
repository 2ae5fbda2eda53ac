// Accessibility: axe-core (run inside the page, from tests/node_modules) finds no violation in
// any view: the empty page, the results of a scan (groups, table, files, summary), the finding
// detail, and the load report of a rule pack.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  CORPUS, LSASS_REL, OUTFLANK_REL, axeViolations as violations, haveCorpus, openApp, raceFailure, scanAndWait, servedApp, withFailureShot,
} from './harness.mjs';

// dist/ served under the test sub-path, and Chromium, for this file's tests.
const served = servedApp();

test('axe finds no violation in any view', { timeout: 120_000 }, async (t) => {
  if (!haveCorpus(t)) return;
  const app = await openApp(served.browser, served.url, { label: 'a11y' });
  try {
    await withFailureShot(app, 'a11y', async () => {
      const { page } = app;
      assert.deepEqual(await violations(page), [], 'the empty page');

      const logs = [LSASS_REL, OUTFLANK_REL].map((rel) => path.join(CORPUS, rel));
      await scanAndWait(app, () => page.setInputFiles('#file-input', logs), { what: 'two corpus logs' });
      assert.deepEqual(await violations(page), [], 'the results of a scan');

      await page.locator('tr.finding').first().focus();
      await page.keyboard.press('Enter');
      const detail = page.locator('#finding-detail');
      await raceFailure(app, detail.waitFor({ state: 'visible', timeout: 5_000 }), 'the finding detail');
      await raceFailure(app, page.waitForSelector('pre.event[data-event-state="loaded"]', { timeout: 10_000 }), 'the full event');
      // Open every collapsed part, so axe sees the rule text and the implementations too.
      await page.$$eval('#finding-detail details', (els) => els.forEach((d) => (d.open = true)));
      assert.deepEqual(await violations(page), [], 'the finding detail, every part open');
      await page.keyboard.press('Escape');
      await raceFailure(app, detail.waitFor({ state: 'hidden', timeout: 5_000 }), 'closing the detail');
    });
  } finally {
    await app.context.close();
  }
});
