// Times the page after a scan: a search over the whole log (the workers read it again running
// only the query) and a finding's story, in headless Chromium as the e2e tests run it.
//
//   node scripts/bench-search-browser.mjs bench-data/sysmon-1024m.evtx ['QUERY' ...]
//
// Prints, per query, the time from clicking Search to `#search[data-search-state="done"]` and
// the hits; then the time from opening the first finding to its story being told.

import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DIST, launchBrowser } from '../tests/harness.mjs';
import { startServer } from '../tests/server.mjs';

const [file, ...given] = process.argv.slice(2);
if (!file) {
  console.error('usage: node scripts/bench-search-browser.mjs LOG.evtx [QUERY ...]');
  process.exit(2);
}
const queries = given.length ? given : ['TargetImage:*\\lsass.exe', '"-ma lsass"', 'mimikatz'];
const server = await startServer({ root: DIST, base: '/' });
const browser = await launchBrowser();
try {
  const page = await (await browser.newContext()).newPage();
  await page.goto(server.url, { waitUntil: 'load' });
  await page.waitForSelector('#app[data-state="idle"]', { state: 'attached', timeout: 30_000 });
  await page.uncheck('#hash-inputs');
  let t = performance.now();
  await page.setInputFiles('#file-input', path.resolve(file));
  await page.waitForSelector('#app[data-state="done"]', { state: 'attached', timeout: 600_000 });
  console.log(`scan and incidents: ${((performance.now() - t) / 1000).toFixed(2)} s`);
  for (const q of queries) {
    await page.fill('#search-query', q);
    t = performance.now();
    await page.click('#search-run');
    await page.waitForSelector('#search[data-search-state="working"]', { state: 'attached', timeout: 10_000 }).catch(() => {});
    await page.waitForSelector('#search[data-search-state="done"]', { state: 'attached', timeout: 600_000 });
    const s = (performance.now() - t) / 1000;
    console.log(`search ${q}: ${s.toFixed(2)} s, ${await page.getAttribute('#search', 'data-hits')} hits`);
  }
  t = performance.now();
  await page.click('tr.finding >> nth=0');
  await page.waitForSelector('#story[data-story-state="told"]', { timeout: 60_000 });
  console.log(`story of the first finding: ${((performance.now() - t) / 1000).toFixed(2)} s`);
} finally {
  await browser.close();
  await server.close();
}
