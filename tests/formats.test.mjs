// Logs that are not .evtx, in the page: CAR's own Mordor true positive fires on record 258042,
// and big JSON-lines, XML and pretty-JSON exports (written by the project's convert_log example
// from a corpus log, 20 MiB: two parts each where they can be cut) give exactly the CLI's results: the page's JSON export
// equals `evtx-triage scan --format json` on the same files, line numbers and issues included,
// and so do its ATT&CK Navigator layer and Timesketch CSV.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, copyFile, readFile, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import {
  ARTIFACTS, CORPUS, IS_CI, OUTFLANK_REL, REPO, artifact, download, fileStatuses, findingRows, haveCorpus, jsonDiff,
  openApp, runCli, scanAndWait, servedApp, withFailureShot,
} from './harness.mjs';

const SEEDS = path.resolve(REPO, '..', 'shared', 'seeds', 'car');
const TRUE_POSITIVE = 'CAR-2019-08-001-mordor-01.json';
const CONVERT = path.join(REPO, 'target', 'release', 'examples', 'convert_log');

// dist/ served under the test sub-path, and Chromium, for this file's tests.
const served = servedApp();

/** Writes the exports under tests/artifacts/formats/: 20 MiB each (the page cuts 8 MiB, then 32 MiB parts). */
async function writeExports() {
  const dir = path.join(ARTIFACTS, 'formats');
  await mkdir(dir, { recursive: true });
  const out = [];
  for (const [form, name] of [['winlogbeat', 'beats.ndjson'], ['event-xml', 'events.xml'], ['evtx-json', 'dump.json']]) {
    const file = path.join(dir, name);
    execFileSync(CONVERT, [path.join(CORPUS, OUTFLANK_REL), file, form, '20']);
    out.push(file);
  }
  await copyFile(path.join(SEEDS, TRUE_POSITIVE), path.join(dir, TRUE_POSITIVE));
  out.push(path.join(dir, TRUE_POSITIVE));
  // A cut last line and a malformed one: reported by line, the rest still read.
  const broken = path.join(dir, 'broken.jsonl');
  const line = (id) => JSON.stringify({ EventID: 10, Channel: 'Microsoft-Windows-Sysmon/Operational', Hostname: 'WKS-7', RecordNumber: id,
    TargetImage: 'C:\\Windows\\system32\\lsass.exe', CallTrace: 'C:\\Windows\\SYSTEM32\\ntdll.dll+1|C:\\Windows\\System32\\dbgcore.DLL+2' });
  await writeFile(broken, `${line(1)}\n{"EventID": 10, oops\n${line(3)}\n${line(4).slice(0, 40)}`);
  out.push(broken);
  // An EVTX log beside them, whose file panel carries an integrity note (the log was cleared).
  const cleared = path.join(dir, 'DE_1102_security_log_cleared.evtx');
  await copyFile(path.join(CORPUS, 'attack-samples/Defense Evasion/DE_1102_security_log_cleared.evtx'), cleared);
  out.push(cleared);
  return { dir, files: out };
}

test('JSON and XML exports: CAR\'s true positive fires, and the page equals the CLI', { timeout: 300_000 }, async (t) => {
  if (!haveCorpus(t)) return;
  if (!existsSync(path.join(SEEDS, TRUE_POSITIVE))) {
    if (IS_CI) throw new Error(`CI=true but ${SEEDS} is missing`);
    t.skip(`${SEEDS} missing`);
    return;
  }
  if (!existsSync(CONVERT)) throw new Error(`${CONVERT} missing: cargo build --release -p evtx-triage --examples`);
  const { dir, files } = await writeExports();
  const app = await openApp(served.browser, served.url, { label: 'formats' });
  try {
    await withFailureShot(app, 'formats', async () => {
      const { page } = app;
      await scanAndWait(app, () => page.setInputFiles('#file-input', files), { what: 'a scan of text exports', timeout: 240_000 });
      const statuses = await fileStatuses(page);
      const status = Object.fromEntries(statuses.map((s) => [s.file, s]));
      assert.equal(status[TRUE_POSITIVE]?.status, 'ok', JSON.stringify(statuses));
      assert.match(status[TRUE_POSITIVE].text, /1 records, HELK JSON, 1 findings/);
      assert.match(status['beats.ndjson'].text, /17,100 records, Winlogbeat\/ECS JSON, 4560 findings/);
      assert.match(status['events.xml'].text, /11,565 records, Event XML, 3084 findings/);
      // JSON lines and XML went to the workers in two parts (8 MiB, then the rest); pretty JSON in one.
      assert.deepEqual(['beats.ndjson', 'events.xml', 'dump.json'].map((f) => status[f].parts), ['2', '2', '1']);
      assert.equal(status['broken.jsonl'].status, 'partial');
      assert.match(status['broken.jsonl'].text, /line 2, offset 0x\w+: a JSON document that does not end on its line/);
      assert.match(status['broken.jsonl'].text, /line 4, offset 0x\w+: the file ends inside a JSON document/);

      const note = page.locator('li.file-status[data-file="DE_1102_security_log_cleared.evtx"] ul.integrity-notes li');
      assert.deepEqual(await note.allTextContents(),
        ['Security EventID 1102 (the log was cleared) at record 1, 2019-03-19T23:35:07.5242021Z']);

      const { rows } = await findingRows(page);
      const tp = rows.filter((r) => r.file === TRUE_POSITIVE);
      assert.deepEqual(tp.map((r) => `${r.analytic}|${r.record}`), ['CAR-2019-08-001|258042']);
      const broken = rows.filter((r) => r.file === 'broken.jsonl').map((r) => `${r.analytic}|${r.record}`);
      assert.deepEqual(broken, ['CAR-2020-05-001|1', 'CAR-2020-05-001|3']);

      // The true positive's full event is read again from the file's own bytes.
      await page.locator(`tr.finding[data-file="${TRUE_POSITIVE}"]`).first().click();
      await page.waitForSelector('pre.event[data-event-state="loaded"]', { timeout: 20_000 });
      const event = JSON.parse(await page.textContent('pre.event'));
      assert.equal(event.record_number, 258042);
      assert.equal(event.file_name, 'c:\\\\users\\\\pgustavo\\\\appdata\\\\local\\\\temp\\\\lsass.dmp');
      await page.keyboard.press('Escape');

      // Times show in UTC, or in a chosen offset; exports stay UTC.
      const tpRow = page.locator(`tr.finding[data-file="${TRUE_POSITIVE}"]`).first();
      assert.match(await tpRow.textContent(), /2019-10-27T05:45:39\.858Z/);
      await page.fill('#time-offset', '+02:00');
      await page.dispatchEvent('#time-offset', 'change');
      await page.waitForSelector('p.time-zone[data-zone="+02:00"]');
      assert.match(await tpRow.textContent(), /2019-10-27T07:45:39\.858\+02:00/);

      // The page's JSON export is the CLI's, byte for byte in meaning.
      const json = await download(app, '#export-json');
      await writeFile(await artifact('formats-browser.json'), json.text);
      const names = files.map((f) => path.basename(f));
      const cli = await runCli(['scan', '--format', 'json', ...names], dir);
      assert.equal(cli.code, 0, `CLI exit code (stderr: ${cli.stderr})`);
      await writeFile(await artifact('formats-cli.json'), cli.stdout);
      const browserDoc = JSON.parse(json.text);
      const cliDoc = JSON.parse(cli.stdout);
      assert.deepEqual(jsonDiff(browserDoc, cliDoc), [], 'browser JSON export vs CLI --format json');
      assert.deepEqual(browserDoc.files.map((f) => f.format), ['winlogbeat', 'event-xml', 'evtx-json', 'helk', 'security-datasets', 'evtx']);
      assert.deepEqual(browserDoc.files[5].notes.map((n) => [n.kind, n.first_id]), [['log_cleared', 1]]);

      // The ATT&CK Navigator layer and the Timesketch CSV equal the CLI's too.
      const layer = await download(app, '#export-navigator');
      assert.equal(layer.name, 'evtx-triage-navigator-layer.json');
      const layerPath = path.join(dir, 'cli-layer.json');
      const ts = await runCli(['scan', '--format', 'timesketch', '--navigator', layerPath, ...names], dir);
      assert.equal(ts.code, 0, ts.stderr);
      const browserLayer = JSON.parse(layer.text);
      assert.deepStrictEqual(browserLayer, JSON.parse(await readFile(layerPath, 'utf8')));
      assert.equal(browserLayer.domain, 'enterprise-attack');
      assert.deepEqual(browserLayer.techniques.map((t) => [t.techniqueID, t.tactic, t.score]),
        [['T1003', 'credential-access', browserDoc.findings.length], ['T1003.001', 'credential-access', browserDoc.findings.length]]);
      const timesketch = await download(app, '#export-timesketch');
      assert.equal(timesketch.text, ts.stdout);
      assert.equal(timesketch.text.split('\n')[0].split(',').slice(0, 3).join(','), 'message,datetime,timestamp_desc');
    });
  } finally {
    await app.context.close().catch(() => {});
  }
});
