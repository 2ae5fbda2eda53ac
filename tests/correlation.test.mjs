// Sigma correlation rules in the page: a rule file holding two detection rules and one
// correlation of each kind (event_count, value_count, temporal, temporal_ordered) loads with the
// other rules, and a Security log of logons gives exactly the CLI's incidents: in the incidents
// list and in the JSON export. Both files are written by the project
// (crate/examples/write_fixture.rs logons, the case of crate/tests/correlation.rs).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO, axeViolations, download, openApp, raceFailure, runCli, scanAndWait, servedApp, withFailureShot } from './harness.mjs';

const served = servedApp();
const FIXTURE_BIN = path.resolve(process.env.EVTX_TRIAGE_FIXTURE_BIN ?? path.join(REPO, 'target', 'release', 'examples', 'write_fixture'));
let tmp;

before(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'evtx-triage-correlation-'));
});

after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

function writeLogons(dir) {
  if (!existsSync(FIXTURE_BIN)) throw new Error(`fixture writer missing at ${FIXTURE_BIN}: cargo build --release -p evtx-triage --examples`);
  return new Promise((resolve, reject) => {
    execFile(FIXTURE_BIN, ['logons', dir], { encoding: 'utf8' }, (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(JSON.parse(stdout))));
  });
}

/** What an incident is, file paths aside: the page knows files by name. */
function shape(incident) {
  return { ...incident, events: incident.events.map((e) => ({ ...e, file: path.basename(e.file) })) };
}

test('correlation rules load with the others and their hits are the CLI\'s incidents', { timeout: 120_000 }, async () => {
  await writeLogons(tmp);
  const log = path.join(tmp, 'logons.evtx');
  const rules = path.join(tmp, 'logons.yml');
  const { code, stdout, stderr } = await runCli(['scan', '--format', 'json', '--rules', rules, log]);
  assert.equal(code, 0, stderr);
  const cli = JSON.parse(stdout);
  const kinds = cli.incidents.map((i) => i.correlation?.kind);
  assert.deepEqual(kinds, ['event_count', 'temporal', 'temporal_ordered', 'value_count', 'temporal', 'event_count']);

  const app = await openApp(served.browser, served.url, { label: 'correlation' });
  try {
    await withFailureShot(app, 'correlation', async () => {
      const { page } = app;
      await raceFailure(app, page.waitForSelector('#rules-panel[data-rules-state="ready"]', { state: 'attached', timeout: 30_000 }), 'the rules panel');
      await raceFailure(app, page.setInputFiles('input[type=file][name=rules]', rules), 'picking the rule file');
      // The two built-ins, two detection rules and four correlations.
      await raceFailure(
        app,
        page.waitForFunction(() => {
          const p = document.querySelector('#rules-panel');
          return p?.dataset.rulesState === 'ready' && p?.dataset.rulesLoaded === '8';
        }, null, { timeout: 30_000, polling: 50 }),
        'the rules with their correlations',
      );
      await scanAndWait(app, () => page.setInputFiles('#file-input', log), { what: 'the logons log' });

      await page.click('#show-incidents');
      const rows = await page.$$eval('tr.incident', (trs) => trs.map((tr) => ({
        kind: tr.dataset.kind,
        findings: Number(tr.dataset.findings),
        summary: tr.querySelector('td.summary').textContent,
      })));
      assert.deepEqual(rows, cli.incidents.map((i) => ({ kind: 'correlation', findings: i.findings.length, summary: i.summary })));
      assert.deepEqual(await axeViolations(page), [], 'the incidents list with correlation hits');

      const json = JSON.parse((await download(app, '#export-json')).text);
      assert.deepEqual(json.incidents.map(shape), cli.incidents.map(shape), 'the JSON export holds the CLI\'s incidents');
      assert.deepEqual([json.rules.loaded, json.rules.skipped], [cli.rules.loaded, cli.rules.skipped], 'the same load report');

      // A range on the timeline keeps the hits with an event in it: 11:00 to 11:02 holds carol's only.
      await page.fill('#timeline-from', '2024-05-06T11:00:00Z');
      await page.press('#timeline-from', 'Enter');
      await page.fill('#timeline-to', '2024-05-06T11:02:00Z');
      await page.press('#timeline-to', 'Enter');
      await raceFailure(app, page.waitForFunction(() => document.querySelectorAll('tr.incident').length === 1, null, { timeout: 10_000 }), 'the incidents in the range');
      const carol = cli.incidents.findIndex((i) => i.correlation.group[0][1] === 'carol');
      assert.deepEqual(await page.$$eval('tr.incident button.open-incident', (bs) => bs.map((b) => b.id)), [`incident-${carol}`]);
      await page.click('#timeline-clear');
      await raceFailure(app, page.waitForFunction((n) => document.querySelectorAll('tr.incident').length === n, cli.incidents.length, { timeout: 10_000 }), 'every incident again');

      // A hit opens its first event's finding.
      await page.click('#incident-0');
      await raceFailure(app, page.waitForSelector('pre.event[data-event-state="loaded"]', { timeout: 10_000 }), 'the first event of the hit');
      const first = cli.findings[cli.incidents[0].findings[0]];
      const event = JSON.parse(await page.textContent('pre.event'));
      assert.equal(event.Event.System.EventRecordID, first.event_record_id);
    });
  } finally {
    await app.context.close();
  }
});
