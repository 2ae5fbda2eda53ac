// A trap inside the wasm analyzer (a panic, as a parser bug would cause) loses one part of one
// file, not the run: the file says so, the other files' findings appear, the worker pool
// replaces the dead worker and the next run works. The page triggers the trap itself through
// `window.wasmBindings.crashNextJobForTests()` (page code only; evidence cannot reach it).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  CORPUS, LSASS_REL, OUTFLANK_REL, demoExpected, expectedPairs, fileStatuses, findingRows, haveCorpus, openApp,
  scanAndWait, servedApp, withFailureShot,
} from './harness.mjs';

// dist/ served under the test sub-path, and Chromium, for this file's tests.
const served = servedApp();

test('a worker that traps costs one file part; the pool recovers', { timeout: 120_000 }, async (t) => {
  if (!haveCorpus(t)) return;
  const app = await openApp(served.browser, served.url, { label: 'recovery' });
  try {
    await withFailureShot(app, 'recovery', async () => {
      const { page } = app;
      await page.waitForFunction(() => document.querySelector('#app')?.dataset.workers !== '0', null, { timeout: 30_000 });
      await page.evaluate(() => window.wasmBindings.crashNextJobForTests());
      // The first job (part 0 of the first file) traps.
      await scanAndWait(app, () => page.setInputFiles('#file-input', [path.join(CORPUS, LSASS_REL), path.join(CORPUS, OUTFLANK_REL)]), {
        what: 'a scan whose first job traps',
      });
      const statuses = await fileStatuses(page);
      const lsass = statuses.find((s) => s.file === path.basename(LSASS_REL));
      const outflank = statuses.find((s) => s.file === path.basename(OUTFLANK_REL));
      assert.equal(lsass?.status, 'unreadable', JSON.stringify(statuses));
      assert.match(lsass.text, /the analyzer failed on bytes 0\.\.\d+ of this file/);
      assert.equal(outflank?.status, 'ok', JSON.stringify(statuses));
      const { keys } = await findingRows(page);
      const want = await expectedPairs(OUTFLANK_REL);
      assert.deepEqual(keys, want, 'the other file\'s findings are all there');

      // The pool replaced the dead worker: a new run works in full.
      await page.waitForFunction(() => document.querySelector('#app')?.dataset.workers !== '0', null, { timeout: 30_000 });
      await scanAndWait(app, () => page.click('#demo-button'), { what: 'the demo after the crash' });
      const demo = await demoExpected();
      assert.deepEqual((await findingRows(page)).keys, [...demo.pairs].sort());
    });
  } finally {
    await app.context.close().catch(() => {});
  }
});
