// End-to-end tests of Sigma rule packs in the page: SigmaHQ's rules loaded from one zip, the
// load report, logsource-correct findings equal to the CLI's, SigmaHQ regression cases in the
// page, a user rule's own metadata in the detail, switching a rule off, and the rule export.
// Needs ../shared/sigma and ../shared/corpus (skipped with a notice, unless CI=true).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer } from './server.mjs';
import {
  BASE_PATH, DIST, IS_CI, REPO, artifact, download, findingRows, launchBrowser, openApp, raceFailure, runCli,
  scanAndWait, withFailureShot, jsonDiff,
} from './harness.mjs';

const SIGMA = path.resolve(process.env.EVTX_TRIAGE_SIGMA ?? path.join(REPO, '..', 'shared', 'sigma'));
const RULE_FOLDERS = ['rules/windows', 'rules-threat-hunting', 'rules-emerging-threats'].map((f) => path.join(SIGMA, f));
const ZIP_RULES = path.join(REPO, 'target', 'release', 'examples', 'zip_rules');
// Regression cases run in the page (all of them run in the CLI test, crate/tests/sigma_pack.rs).
const SAMPLE_CASES = Number(process.env.EVTX_TRIAGE_E2E_RULE_CASES ?? 12);

let server;
let browser;
let tmp;
let zip;

function haveSigma(t) {
  if (existsSync(SIGMA)) return true;
  if (IS_CI) throw new Error(`${SIGMA} is missing (CI=true: the rule-pack tests need it)`);
  console.log(`NOTICE: ${SIGMA} is missing; the rule-pack e2e tests are skipped`);
  t.skip('no ../shared/sigma');
  return false;
}

function run(cmd, args) {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { maxBuffer: 64 << 20, encoding: 'utf8' }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd}: ${stderr || err}`)) : resolve(stdout))),
  );
}

before(async () => {
  if (!existsSync(path.join(DIST, 'index.html'))) throw new Error(`${DIST}/index.html is missing: trunk build --release first`);
  server = await startServer({ root: DIST, base: BASE_PATH });
  browser = await launchBrowser();
  tmp = await mkdtemp(path.join(tmpdir(), 'evtx-triage-rules-'));
  if (existsSync(SIGMA)) {
    zip = path.join(tmp, 'sigma-windows.zip');
    console.log((await run(ZIP_RULES, [zip, ...RULE_FOLDERS])).trim());
  }
});

after(async () => {
  await browser?.close().catch(() => {});
  await server?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function regressionCases() {
  const root = path.join(SIGMA, 'regression_data');
  const out = [];
  async function walk(dir) {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name === 'info.yml') {
        const text = await readFile(p, 'utf8');
        const id = /rule_metadata:\s*\n\s*-\s*id:\s*([0-9a-f-]+)/.exec(text)?.[1];
        const count = Number(/match_count:\s*(\d+)/.exec(text)?.[1] ?? 1);
        const evtx = (await readdir(dir)).find((n) => n.endsWith('.evtx'));
        if (id && evtx) out.push({ id, count, evtx: path.join(dir, evtx) });
      }
    }
  }
  await walk(root);
  return out.sort((a, b) => a.evtx.localeCompare(b.evtx));
}

/** Loads the zip in the rules panel and waits until it is ready; returns the rules loaded. */
async function loadZip(app) {
  const { page } = app;
  const t0 = Date.now();
  await raceFailure(app, page.setInputFiles('input[type=file][name=rules]', zip), 'picking the rule zip');
  await raceFailure(
    app,
    page.waitForFunction(() => {
      const p = document.querySelector('#rules-panel');
      return p?.getAttribute('data-rules-state') === 'ready' && Number(p.getAttribute('data-rules-loaded')) > 2;
    }, null, { timeout: 120_000, polling: 50 }),
    'waiting for the rule zip to load (data-rules-state=ready)',
  );
  const loaded = Number(await page.getAttribute('#rules-panel', 'data-rules-loaded'));
  console.log(`rule zip loaded in the page in ${Date.now() - t0} ms: ${loaded} rules`);
  return loaded;
}

test('r1. SigmaHQ rules from one zip: load report as the CLI, regression cases fire, exports equal the CLI', { timeout: 600_000 }, async (t) => {
  if (!haveSigma(t)) return;
  const app = await openApp(browser, server.url, { label: 'rules' });
  await withFailureShot(app, 'rules', async () => {
    const { page } = app;
    // A new browser profile has no saved rules: the panel turns ready with the two built-ins.
    await raceFailure(app, page.waitForSelector('#rules-panel[data-rules-state="ready"]', { state: 'attached', timeout: 30_000 }), 'the rules panel at start');
    assert.equal(await page.getAttribute('#rules-panel', 'data-rules-loaded'), '2', 'the two built-ins before any rule is loaded');
    assert.equal(await page.locator('input[type=file][name=evtx]').count(), 1, 'the log picker is input[name=evtx]');
    const loaded = await loadZip(app);

    // The CLI on the same zip loads the same rules and skips the same ones.
    const cases = (await regressionCases()).slice(0, SAMPLE_CASES);
    assert.equal(cases.length, SAMPLE_CASES);
    const cli = await runCli(['scan', '--format', 'json', '--rules', zip, ...cases.map((c) => c.evtx)], tmp);
    assert.equal(cli.code, 0, cli.stderr);
    const cliDoc = JSON.parse(cli.stdout);
    assert.equal(loaded, cliDoc.rules.loaded, 'rules loaded: page vs CLI');
    const status = await page.textContent('#rules-status');
    assert.ok(status.includes(`${cliDoc.rules.skipped.length} skipped`), `#rules-status: ${status}`);
    assert.equal(await page.locator('#rules-skipped tbody tr').count(), cliDoc.rules.skipped.length, 'one row per skipped rule');

    // Regression cases in the page: each case's rule fires at least match_count times.
    await scanAndWait(app, () => page.setInputFiles('input[type=file][name=evtx]', cases.map((c) => c.evtx)), { what: 'the regression cases', timeout: 300_000 });
    await page.locator('#rules-panel').scrollIntoViewIfNeeded();
    await page.screenshot({ path: await artifact('rules.png'), fullPage: false });
    const json = await download(app, '#export-json');
    await writeFile(await artifact('rules-browser.json'), json.text);
    const doc = JSON.parse(json.text);
    const failures = cases
      .map((c) => ({ ...c, found: doc.findings.filter((f) => f.analytic_id === c.id && f.file === path.basename(c.evtx)).length }))
      .filter((c) => c.found < c.count);
    assert.deepEqual(failures, [], 'regression cases whose rule fired fewer than match_count times in the page');

    // The page's export equals the CLI's (files named as picked: base names).
    const byName = { ...cliDoc, files: cliDoc.files.map((f) => ({ ...f, file: path.basename(f.file) })), findings: cliDoc.findings.map((f) => ({ ...f, file: path.basename(f.file) })) };
    assert.deepEqual(jsonDiff(doc.findings, byName.findings), [], 'findings: page vs CLI');
    // The CLI names the zip by its path, the page by its file name.
    const cliRules = { ...cliDoc.rules, skipped: cliDoc.rules.skipped.map((r) => ({ ...r, source: r.source.replace(`${path.dirname(zip)}/`, '') })) };
    assert.deepEqual(doc.rules, cliRules, 'load report: page vs CLI');

    // Findings are grouped by rule, and a user rule's detail shows its own metadata.
    const groups = await page.locator('tr.rule-group').count();
    assert.equal(groups, new Set(doc.findings.map((f) => f.analytic_id)).size, 'one tr.rule-group per rule that fired');
    const first = cases[0];
    await page.locator(`tr.rule-group[data-analytic="${first.id}"] button.pick-rule`).click();
    const { rows } = await findingRows(page);
    assert.ok(rows.length > 0 && rows.every((r) => r.analytic === first.id), 'picking a rule group filters the table to it');
    await page.locator('tr.finding').first().click();
    const detail = page.locator('#finding-detail');
    await raceFailure(app, detail.waitFor({ state: 'visible', timeout: 10_000 }), 'the detail of a user-rule finding');
    const info = doc.analytics.find((a) => a.id === first.id);
    const text = await detail.textContent();
    for (const want of [info.title, info.level, info.status, info.logsource]) assert.ok(text.includes(want), `the detail shows ${want}`);
    await raceFailure(
      app,
      page.waitForSelector('#finding-detail pre.event[data-event-state="loaded"]', { state: 'attached', timeout: 10_000 }),
      'the full event, read again from the file',
    );
    assert.ok((await page.textContent('#finding-detail pre.event')).includes('"EventRecordID"'), 'the full event holds its EventRecordID');
    await page.keyboard.press('Escape');

    // Switching the rule off: reload of the rule set, one rule fewer, and its findings gone after a new scan.
    await page.locator(`tr.rule-group[data-analytic="${first.id}"] button.disable-rule`).click();
    await raceFailure(
      app,
      page.waitForFunction((n) => document.querySelector('#rules-panel')?.getAttribute('data-rules-state') === 'ready' && document.querySelector('#rules-panel')?.getAttribute('data-rules-loaded') === String(n), loaded - 1, { timeout: 120_000, polling: 50 }),
      'waiting for the rule set without the switched-off rule',
    );
    await scanAndWait(app, () => page.setInputFiles('input[type=file][name=evtx]', [first.evtx]), { what: 'the rescan', timeout: 120_000 });
    assert.equal(await page.locator(`tr.rule-group[data-analytic="${first.id}"]`).count(), 0, 'a switched-off rule does not fire');

    // The active set exports as one zip (the switched-off rule left out), which the CLI loads.
    const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), page.click('#rules-export')]);
    assert.equal(dl.suggestedFilename(), 'evtx-triage-rules.zip');
    const again = await runCli(['scan', '--format', 'json', '--rules', await dl.path(), first.evtx], tmp);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).rules.loaded, loaded - 1, 'the exported set loads in the CLI without the switched-off rule');

    // The rules persist across a reload (IndexedDB), the switched-off one still off.
    await page.reload();
    await raceFailure(
      app,
      page.waitForFunction((n) => {
        const p = document.querySelector('#rules-panel');
        return p?.getAttribute('data-rules-state') === 'ready' && p.getAttribute('data-rules-loaded') === String(n);
      }, loaded - 1, { timeout: 120_000, polling: 50 }),
      'waiting for the saved rules after a reload',
    );
    assert.equal(await page.locator('li.rule-source').count(), 1, 'the zip is listed again after the reload');
    assert.deepEqual(app.log.pageErrors, [], 'the page threw');
  });
  await app.context.close().catch(() => {});
});
