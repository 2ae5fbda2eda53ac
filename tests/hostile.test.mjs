// Hostile event text in the built web app (dist/): a log whose fields hold markup, script end
// tags, javascript: URLs, a right-to-left override, a 100 KB string and a spreadsheet formula
// (written by crate/examples/write_fixture.rs). Its findings must show that text as text: no
// element, attribute, script or link made from it, nothing run, no navigation, no request, and
// the CSV export neutralizes the formula. Run: node --test tests/
//
// Needs: dist/ (trunk build --release), target/release/evtx-triage and
// target/release/examples/write_fixture (cargo build --release -p evtx-triage --examples),
// /usr/bin/chromium.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer } from './server.mjs';
import {
  BASE_PATH, DIST, REPO, artifact, download, findingRows, jsonDiff, launchBrowser, openApp, raceFailure, runCli,
  scanAndWait, withFailureShot,
} from './harness.mjs';

const FIXTURE_BIN = path.resolve(process.env.EVTX_TRIAGE_FIXTURE_BIN ?? path.join(REPO, 'target', 'release', 'examples', 'write_fixture'));

let server;
let browser;
let tmp;
const opened = [];

before(async () => {
  if (!existsSync(path.join(DIST, 'index.html'))) {
    throw new Error(`${DIST}/index.html is missing: build the web app first (trunk build --release)`);
  }
  server = await startServer({ root: DIST, base: BASE_PATH });
  console.log(`serving ${DIST} at ${server.url}`);
  browser = await launchBrowser();
  tmp = await mkdtemp(path.join(tmpdir(), 'evtx-triage-hostile-'));
});

after(async () => {
  for (const app of opened) await app.context.close().catch(() => {});
  await browser?.close().catch(() => {});
  await server?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Runs the fixture writer; resolves to the JSON it prints. */
function writeFixture(args) {
  if (!existsSync(FIXTURE_BIN)) {
    throw new Error(
      `fixture writer missing at ${FIXTURE_BIN}: build it with \`cargo build --release -p evtx-triage --example write_fixture\` (scripts/test.sh does), or set EVTX_TRIAGE_FIXTURE_BIN`,
    );
  }
  return new Promise((resolve, reject) => {
    execFile(FIXTURE_BIN, args, { maxBuffer: 64 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`write_fixture ${args.join(' ')} failed: ${stderr || err.message}`));
      try {
        resolve(JSON.parse(stdout));
      } catch (e) {
        reject(new Error(`write_fixture ${args.join(' ')} printed no JSON: ${e.message}`));
      }
    });
  });
}

/** A small RFC 4180 reader: rows of cells (quoted cells, "" escapes, CRLF or LF). */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        cell += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else {
      cell += c;
    }
  }
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

/**
 * Everything in the document that event text could have become: elements with event-handler
 * (on*) or autofocus attributes, img/svg/iframe/object/embed elements, scripts, links that are
 * not https, the body's data-pwned marker, and CSP violations reported since load.
 */
function domAudit(page) {
  return page.evaluate(() => {
    const short = (el) => el.outerHTML.slice(0, 200);
    const all = [...document.querySelectorAll('*')];
    return {
      pwned: document.body.dataset.pwned ?? null,
      handlerAttributes: all
        .filter((el) => [...el.attributes].some((a) => a.name.toLowerCase().startsWith('on') || a.name.toLowerCase() === 'autofocus'))
        .map(short),
      oddAttributes: all.filter((el) => [...el.attributes].some((a) => /["'<>\s/=]/.test(a.name))).map(short),
      // The timeline's own bars are the one SVG the app draws: in #timeline, rects of its tl-* classes
      // with numeric geometry and nothing else. Anything more is embedded content.
      embedded: [...document.querySelectorAll('img, svg, iframe, frame, object, embed, image, math, base, form')]
        .filter((el) => !(el.localName === 'svg' && el.closest('#timeline') && [...el.querySelectorAll('*')].every((c) =>
          c.localName === 'rect' && /^tl-[a-z0-9-]+$/.test(c.getAttribute('class') ?? '')
          && [...c.attributes].every((a) => a.name === 'class' || (['x', 'y', 'width', 'height'].includes(a.name) && /^[0-9.]+$/.test(a.value))))))
        .map(short),
      scripts: [...document.querySelectorAll('script')].map((s) => s.outerHTML),
      javascriptLinks: [...document.querySelectorAll('a[href^="javascript:" i], [href*="javascript:" i], [src*="javascript:" i]')].map(short),
      nonHttpsLinks: [...document.querySelectorAll('a[href]')].filter((a) => new URL(a.href, document.baseURI).protocol !== 'https:').map(short),
      cspViolations: window.__hostile?.csp ?? ['(no recorder)'],
      href: location.href,
      recorder: typeof window.__e2e === 'object',
    };
  });
}

function assertCleanDom(audit, baselineScripts, url, when) {
  assert.equal(audit.pwned, null, `document.body.dataset.pwned is set (${when}): event text ran`);
  assert.deepEqual(audit.handlerAttributes, [], `elements with on* / autofocus attributes (${when})`);
  assert.deepEqual(audit.oddAttributes, [], `elements with attribute names made of event text (${when})`);
  assert.deepEqual(audit.embedded, [], `img/svg/iframe/object/embed/... elements (${when}); the app renders none but the timeline's bars`);
  assert.deepEqual(audit.scripts, baselineScripts, `script elements other than the app's own (${when})`);
  assert.deepEqual(audit.javascriptLinks, [], `javascript: URLs in the document (${when})`);
  assert.deepEqual(audit.nonHttpsLinks, [], `links that are not https (${when})`);
  assert.deepEqual(audit.cspViolations, [], `Content-Security-Policy violations (${when}): something tried to run or load`);
  assert.equal(audit.href, url, `the page navigated (${when})`);
  assert.ok(audit.recorder, `the page was reloaded or replaced (${when})`);
}

test('h. hostile event text: exact findings, shown as text, nothing run, formula neutralized, no request', { timeout: 240_000 }, async () => {
  const evtx = path.join(tmp, 'hostile.evtx');
  const fixture = await writeFixture(['hostile', evtx]);
  const S = fixture.strings;
  const R = fixture.records;
  const want = fixture.expected.map((e) => `${e.analytic}|${e.event_record_id}`).sort();
  assert.equal(want.length, 7, 'the fixture expects 7 findings');

  // The CLI must agree with the fixture's expectation (else the fixture, not the app, is wrong).
  const cli = await runCli(['scan', '--format', 'json', '--events', 'hostile.evtx'], tmp);
  assert.equal(cli.code, 0, `CLI exit code (stderr: ${cli.stderr})`);
  const cliDoc = JSON.parse(cli.stdout);
  assert.deepEqual(cliDoc.findings.map((f) => `${f.analytic_id}|${f.event_record_id}`).sort(), want, 'CLI findings vs write_fixture expected');
  const cliEvent = (rid) => cliDoc.findings.find((f) => f.event_record_id === rid).event.Event;
  const longKept = cliEvent(R.long_access).EventData.CommandLine;
  console.log(`the 100 KB CommandLine (${S.long_bytes} bytes) was written as ${longKept.length} characters (an EVTX record must fit a 64 KiB chunk)`);
  assert.ok(longKept.length > 30_000, `the long CommandLine kept ${longKept.length} characters`);

  const app = await openApp(browser, server.url, { label: 'hostile' });
  opened.push(app);
  const { page, log } = app;
  const dialogs = [];
  page.on('dialog', (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  const navigations = [];
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) navigations.push(f.url());
  });
  await withFailureShot(app, 'hostile', async () => {
    await page.waitForLoadState('networkidle', { timeout: 15_000 });
    const mark = log.requests.length;
    const url = page.url();
    await page.evaluate(() => {
      window.__hostile = { csp: [] };
      document.addEventListener('securitypolicyviolation', (e) =>
        window.__hostile.csp.push(`${e.violatedDirective} blocked ${e.blockedURI || '(inline)'}: ${String(e.sample ?? '').slice(0, 120)}`),
      );
    });
    const baselineScripts = await page.$$eval('script', (s) => s.map((x) => x.outerHTML));

    await scanAndWait(app, () => page.setInputFiles('#file-input', evtx), { what: 'the scan of hostile.evtx' });
    const { rows, keys } = await findingRows(page);
    assert.deepEqual(keys, want, 'finding rows (analytic|record) vs write_fixture expected');
    assert.ok(rows.every((r) => r.file === 'hostile.evtx'), 'every finding has data-file=hostile.evtx');
    assertCleanDom(await domAudit(page), baselineScripts, url, 'after the scan');

    // The table shows the hostile values as text.
    const rowText = async (rid) => page.locator(`tr.finding[data-record="${rid}"]`).innerText();
    assert.ok((await rowText(R.img_access)).includes(S.img_exe), `row ${R.img_access} shows the <img> source image as text`);
    assert.ok((await rowText(R.js_access)).includes(S.js_url), `row ${R.js_access} shows the javascript: URL as text`);
    assert.ok((await rowText(R.js_access)).includes(S.script_computer), `row ${R.js_access} shows the <script> computer as text`);
    assert.ok((await rowText(R.rlo_access)).includes(S.rlo_exe), `row ${R.rlo_access} keeps the right-to-left override (U+202E)`);
    assert.ok((await rowText(R.img_dump)).includes(S.formula), `row ${R.img_dump} shows the formula computer as text`);

    // Each finding's detail (Enter on its row) shows its hostile values as text, and runs nothing.
    const wantInDetail = {
      [R.img_access]: [S.img_exe, S.script_trace, S.formula, '<img src=x onerror=', '</script><script>'],
      [R.js_access]: [S.js_url, S.script_computer],
      [R.rlo_access]: [S.rlo_exe, S.rlo],
      [R.long_access]: [],
      [R.img_dump]: [S.img_dump, S.formula],
      [R.rlo_dump]: [S.rlo_dump, S.rlo],
      [R.attr_access]: [`C:\\Temp\\${S.attr_breakout}.exe`, JSON.stringify(S.attr_breakout).slice(1, -1), JSON.stringify(S.img).slice(1, -1)],
    };
    const detail = page.locator('#finding-detail');
    const count = await page.locator('tr.finding').count();
    for (let i = 0; i < count; i++) {
      const row = page.locator('tr.finding').nth(i);
      const rid = Number(await row.getAttribute('data-record'));
      const analytic = await row.getAttribute('data-analytic');
      await row.focus();
      await page.keyboard.press('Enter');
      await raceFailure(app, detail.waitFor({ state: 'visible', timeout: 10_000 }), `waiting for #finding-detail of record ${rid} after Enter`);
      // The full event is read again from the file when the detail opens.
      await raceFailure(
        app,
        page.waitForSelector('#finding-detail pre.event[data-event-state="loaded"]', { state: 'attached', timeout: 10_000 }),
        `waiting for the full event of record ${rid}`,
      );
      const text = await detail.innerText();
      assert.ok(text.includes(analytic) && text.includes(String(rid)), `the detail of record ${rid} names ${analytic} and the record`);
      for (const s of wantInDetail[rid] ?? []) {
        assert.ok(text.includes(s), `the detail of record ${rid} shows ${JSON.stringify(s.slice(0, 80))} as text`);
      }
      if (rid === R.long_access) {
        // The whole kept CommandLine, JSON-escaped, in the full event.
        const whole = await page.evaluate(
          (s) => document.querySelector('#finding-detail pre.event')?.textContent.includes(s) ?? false,
          JSON.stringify(longKept).slice(1, -1),
        );
        assert.ok(whole, `the full event of record ${rid} holds the whole ${longKept.length}-character CommandLine`);
      }
      if (rid === R.img_access) await page.screenshot({ path: await artifact('hostile-detail.png'), fullPage: false });
      assertCleanDom(await domAudit(page), baselineScripts, url, `with the detail of record ${rid} open`);
      await page.keyboard.press('Escape');
      await raceFailure(app, detail.waitFor({ state: 'hidden', timeout: 10_000 }), `waiting for the detail of record ${rid} to close after Escape`);
    }

    // The computer filter lists the hostile computer names as options, and filters by them.
    const computers = await page.$$eval('#filter-computer option', (os) => os.map((o) => o.value));
    assert.ok(computers.includes(S.formula) && computers.includes(S.script_computer), `#filter-computer options: ${JSON.stringify(computers)}`);
    await page.selectOption('#filter-computer', S.script_computer);
    await raceFailure(
      app,
      page.waitForFunction((rid) => {
        const rs = [...document.querySelectorAll('tr.finding')];
        return rs.length === 1 && rs[0].getAttribute('data-record') === String(rid);
      }, R.js_access, { timeout: 10_000 }),
      'waiting for the computer filter to keep only the <script> computer\'s finding',
    );
    await page.selectOption('#filter-computer', '');
    // Free text: markup typed in the filter is text too.
    await page.fill('#filter-text', '<img src=x');
    await raceFailure(
      app,
      page.waitForFunction(() => document.querySelectorAll('tr.finding').length < 7, null, { timeout: 10_000 }),
      'waiting for the text filter to apply',
    );
    const filtered = (await findingRows(page)).rows.map((r) => Number(r.record));
    assert.ok(filtered.includes(R.img_access) && filtered.includes(R.img_dump) && !filtered.includes(R.rlo_access), `text filter "<img src=x" kept records ${filtered}`);
    await page.fill('#filter-text', '');
    await raceFailure(app, page.waitForFunction(() => document.querySelectorAll('tr.finding').length === 7, null, { timeout: 10_000 }), 'waiting for the filter to clear');

    // CSV: the formula computer is neutralized, no cell starts like a formula, and it equals the CLI's.
    const csv = await download(app, '#export-csv');
    await writeFile(await artifact('hostile-findings.csv'), csv.text);
    const table = parseCsv(csv.text);
    const header = table[0];
    const col = (name) => {
      const i = header.indexOf(name);
      assert.ok(i >= 0, `CSV column ${name} in ${JSON.stringify(header)}`);
      return i;
    };
    const [cRecord, cComputer, cSource] = [col('event_record_id'), col('computer'), col('source_process')];
    const body = table.slice(1);
    assert.equal(body.length, 7, 'CSV rows');
    assert.ok(body.every((r) => r.length === header.length), 'every CSV row has every column');
    const byRecord = new Map(body.map((r) => [Number(r[cRecord]), r]));
    for (const rid of [R.img_access, R.img_dump]) {
      const cell = byRecord.get(rid)?.[cComputer];
      assert.ok(cell?.startsWith("'=HYPERLINK"), `CSV computer of record ${rid} starts with '=HYPERLINK, got ${JSON.stringify(cell)}`);
      assert.equal(cell, `'${S.formula}`);
    }
    assert.equal(byRecord.get(R.js_access)?.[cSource], S.js_url, 'CSV source_process of the javascript: finding, as is');
    assert.equal(byRecord.get(R.rlo_access)?.[cSource], S.rlo_exe, 'CSV source_process keeps the right-to-left override');
    const formulaLike = body.flatMap((r) => r.filter((c) => /^[=+\-@\t\r]/.test(c)));
    assert.deepEqual(formulaLike, [], 'CSV cells that start like a formula');
    const cliCsv = await runCli(['scan', '--format', 'csv', 'hostile.evtx'], tmp);
    assert.equal(cliCsv.code, 0);
    assert.equal(csv.text, cliCsv.stdout, 'browser CSV export vs CLI --format csv');

    // JSON export: the hostile strings round-trip exactly, as the CLI reports them.
    const json = await download(app, '#export-json');
    await writeFile(await artifact('hostile-results.json'), json.text);
    // The export has no events (a finding's event is read again when opened); --events added them to the CLI's.
    const cliWithoutEvents = { ...cliDoc, findings: cliDoc.findings.map(({ event, ...f }) => f) };
    assert.deepEqual(jsonDiff(JSON.parse(json.text), cliWithoutEvents), [], 'browser JSON export vs CLI --format json on hostile.evtx');

    const final = await domAudit(page);
    assertCleanDom(final, baselineScripts, url, 'at the end');
    assert.deepEqual(dialogs, [], 'dialogs (alert/confirm/prompt) the page opened');
    assert.deepEqual(navigations, [], 'main-frame navigations after load');
    const after = log.requests.slice(mark).map((r) => `${r.method} ${r.url} (${r.type})`);
    assert.deepEqual(after, [], 'requests made after load');
    assert.deepEqual(log.pageErrors, [], 'the page threw');
  });
  await app.context.close().catch(() => {});
  opened.splice(opened.indexOf(app), 1);
});
