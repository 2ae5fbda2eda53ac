// The hosted page keeps working offline: its service worker (web/sw.js, built into dist/sw.js)
// copies the app while the page loads, and the page then opens and scans with no network and no
// server. A new build is copied during the next visit's load and used once the old page is gone.
// Run: node --test tests/offline-sw.test.mjs
//
// Needs: dist/ (trunk build --release), /usr/bin/chromium, ../shared/corpus (skipped with a notice
// when missing, unless CI=true).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer } from './server.mjs';
import {
  BASE_PATH, CORPUS, DIST, LSASS_REL, OUTFLANK_REL, REPO, expectedPairs, findingRows, haveCorpus, installStateRecorder,
  launchBrowser, openApp, raceFailure, scanAndWait, withFailureShot,
} from './harness.mjs';

let browser;
let tmp;
const servers = [];
const opened = [];

before(async () => {
  if (!existsSync(path.join(DIST, 'sw.js'))) {
    throw new Error(`${DIST}/sw.js is missing: build the web app first (trunk build --release)`);
  }
  browser = await launchBrowser();
  tmp = await mkdtemp(path.join(tmpdir(), 'evtx-triage-sw-'));
});

after(async () => {
  for (const app of opened) await app.context.close().catch(() => {});
  await browser?.close().catch(() => {});
  for (const s of servers) await s.close().catch(() => {});
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Serves `root` under the sub-path (on `port`, or any free one); closed after the tests. */
async function serve(root, port = 0) {
  const server = await startServer({ root, base: BASE_PATH, port });
  servers.push(server);
  return server;
}

/** The files and version dist/sw.js caches (what scripts/sw-precache.mjs wrote into it). */
async function build(root) {
  const source = await readFile(path.join(root, 'sw.js'), 'utf8');
  const m = source.match(/^const BUILD = (\{[\s\S]*?\n\});$/m);
  assert.ok(m, `${root}/sw.js holds its BUILD list`);
  return JSON.parse(m[1]);
}

/** The service worker's view from the page: controller, registration states, the caches. */
function swState(page) {
  return page.evaluate(async () => {
    const registration = await navigator.serviceWorker.getRegistration();
    const caches_ = {};
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      caches_[name] = (await cache.keys()).map((r) => r.url).sort();
    }
    return {
      offline: document.documentElement.dataset.offline,
      controller: navigator.serviceWorker.controller?.scriptURL ?? null,
      active: registration?.active?.state ?? null,
      waiting: registration?.waiting?.state ?? null,
      installing: registration?.installing?.state ?? null,
      caches: caches_,
    };
  });
}

const quiet = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const urls = (base, files) => Object.keys(files).map((f) => new URL(f, base).href).sort();
const cacheName = (url, version) => `evtx-triage ${url} ${version}`;
const shownBuild = (page) => page.evaluate(() => document.querySelector('meta[name="test-build"]')?.content ?? null);
const fetched = (requests) => requests.map((r) => `${r.method} ${r.url}`);

/** Reloads the page and waits for the app, as openApp does for a first load. */
async function reload(app) {
  await raceFailure(app, app.page.reload({ waitUntil: 'load', timeout: 30_000 }), 'reloading the page');
  await raceFailure(app, app.page.waitForSelector('#app[data-state="idle"]', { state: 'attached', timeout: 30_000 }), 'waiting for #app idle after the reload');
  await installStateRecorder(app.page);
}

test('w1. after one visit the page opens and scans offline, with the server gone; caching is part of loading', { timeout: 180_000 }, async (t) => {
  if (!haveCorpus(t)) return;
  const server = await serve(DIST);
  const { version, files } = await build(DIST);
  const app = await openApp(browser, server.url, { label: 'sw' });
  opened.push(app);
  await withFailureShot(app, 'offline-sw', async () => {
    const { page, context } = app;
    const loaded = server.requests.length;

    // The app started only once the service worker had copied every file of this build.
    assert.deepEqual(await swState(page), {
      offline: 'ready',
      controller: `${server.url}sw.js`,
      active: 'activated',
      waiting: null,
      installing: null,
      caches: { [cacheName(server.url, version)]: urls(server.url, files) },
    });
    const cachedPaths = Object.keys(files).map((f) => `GET ${new URL(f, server.url).pathname}`).sort();
    const before = fetched(server.requests.slice(0, loaded));
    assert.deepEqual(cachedPaths.filter((p) => !before.includes(p)), [], 'files of the build the server did not send before the app was idle');
    // Nothing after that, while the page sits and while it scans (test d of e2e.test.mjs covers
    // scans and exports in detail): no request from the page or its service worker. The browser
    // may check sw.js on its own once the page has gone quiet (README: "Offline").
    await page.waitForLoadState('networkidle', { timeout: 15_000 });
    await scanAndWait(app, () => page.click('#demo-button'), { what: 'the demo scan' });
    await quiet(3000);
    console.log(`after load, the server got: ${JSON.stringify(fetched(server.requests.slice(loaded)))}`);
    const later = fetched(server.requests.slice(loaded)).filter((r) => r !== `GET ${BASE_PATH}sw.js`);
    assert.deepEqual(later, [], 'requests the server got after the app was idle, other than the browser checking sw.js');

    // Offline, and no server at all: the page still opens from its copy and scans.
    await context.setOffline(true);
    await server.close();
    const responses = [];
    page.on('response', (r) => responses.push({ url: r.url(), fromServiceWorker: r.fromServiceWorker(), status: r.status() }));
    const failedBefore = app.log.failedRequests.length;
    await reload(app);
    assert.equal((await swState(page)).offline, 'ready', 'the copy is kept when the update check fails');
    const files_ = [LSASS_REL, OUTFLANK_REL];
    await scanAndWait(app, () => page.setInputFiles('#file-input', files_.map((f) => path.join(CORPUS, f))), { what: 'the offline scan of two corpus logs' });
    const want = [...(await expectedPairs(LSASS_REL)), ...(await expectedPairs(OUTFLANK_REL))].sort();
    assert.equal(want.length, 7);
    assert.deepEqual((await findingRows(page)).keys, want, 'finding rows (analytic|record) offline vs expected.json');

    // Everything the reloaded page loaded (page, app, styles, workers) came from the copy.
    const notFromCopy = responses.filter((r) => !r.fromServiceWorker || r.status !== 200).map((r) => `${r.status} ${r.url}`);
    assert.deepEqual(notFromCopy, [], 'responses not answered by the service worker offline');
    assert.ok(responses.some((r) => r.url === server.url), 'the page itself was answered by the service worker');
    assert.ok(responses.some((r) => r.url === `${server.url}worker_loader.js`), 'the workers were started from the copy');
    assert.deepEqual(app.log.failedRequests.slice(failedBefore), [], 'failed requests offline');
    assert.deepEqual(app.log.pageErrors, [], 'the page threw');
  });
});

test('w2. a new build is copied while the next visit loads, and used once the old page is closed', { timeout: 180_000 }, async () => {
  // Build 2: dist/ with a changed index.html (a marker <meta>) and its own sw.js.
  const v2 = path.join(tmp, 'dist-v2');
  await cp(DIST, v2, { recursive: true });
  const index = await readFile(path.join(v2, 'index.html'), 'utf8');
  await writeFile(path.join(v2, 'index.html'), index.replace('</head>', '<meta name="test-build" content="2"></head>'));
  execFileSync(process.execPath, [path.join(REPO, 'scripts', 'sw-precache.mjs')], { env: { ...process.env, TRUNK_STAGING_DIR: v2 }, stdio: 'pipe' });
  const one = await build(DIST);
  const two = await build(v2);
  assert.notEqual(two.version, one.version, 'a changed file gives a new version');

  // Visit 1 on build 1, then the host serves build 2 (same address).
  const first = await serve(DIST);
  const app = await openApp(browser, first.url, { label: 'sw-update' });
  opened.push(app);
  await withFailureShot(app, 'offline-sw-update', async () => {
    const { page, context } = app;
    assert.equal((await swState(page)).active, 'activated');
    await page.waitForLoadState('networkidle', { timeout: 15_000 }); // the workers have loaded
    const port = first.port;
    await first.close();
    const second = await serve(v2, port);

    // Visit 2, in the same tab: build 1 is shown (from its copy); build 2 is fetched while the
    // page loads and waits for the build-1 page to go.
    await reload(app);
    const loaded = second.requests.length;
    assert.equal(await shownBuild(page), null, 'the page still shows build 1');
    const state = await swState(page);
    assert.deepEqual(
      { offline: state.offline, active: state.active, waiting: state.waiting, caches: Object.keys(state.caches).sort() },
      { offline: 'ready', active: 'activated', waiting: 'installed', caches: [cacheName(first.url, one.version), cacheName(first.url, two.version)].sort() },
    );
    assert.deepEqual(state.caches[cacheName(first.url, two.version)], urls(first.url, two.files), 'build 2 is copied whole');
    const before = fetched(second.requests.slice(0, loaded));
    const wanted = Object.keys(two.files).map((f) => `GET ${new URL(f, first.url).pathname}`);
    assert.deepEqual(wanted.filter((p) => !before.includes(p)), [], 'files of build 2 the server did not send before the app was idle');
    // After load the browser itself may ask whether sw.js changed (its update check after a
    // visit); nothing else is fetched.
    await page.waitForLoadState('networkidle', { timeout: 15_000 });
    await quiet(3000);
    console.log(`after load, the server got: ${JSON.stringify(fetched(second.requests.slice(loaded)))}`);
    const later = fetched(second.requests.slice(loaded)).filter((r) => r !== `GET ${BASE_PATH}sw.js`);
    assert.deepEqual(later, [], 'requests after load other than the browser checking sw.js');

    // The build-1 page closed, build 2 takes over and deletes build 1's copy (watched from a page
    // of the same origin outside the app's scope, which is no client of it), and a new page
    // opens build 2 from its copy.
    const next = await context.newPage();
    await page.close();
    await next.goto(new URL('/', first.url).href);
    await next.waitForFunction(
      async ({ scope, name }) => {
        const registration = await navigator.serviceWorker.getRegistration(scope);
        const names = await caches.keys();
        return !registration.waiting && registration.active?.state === 'activated' && names.length === 1 && names[0] === name;
      },
      { scope: first.url, name: cacheName(first.url, two.version) },
      { timeout: 15_000, polling: 100 },
    );
    await next.goto(first.url, { waitUntil: 'load' });
    await next.waitForSelector('#app[data-state="idle"]', { state: 'attached', timeout: 30_000 });
    assert.equal(await shownBuild(next), '2', 'the new page shows build 2');
    const after2 = await swState(next);
    assert.deepEqual(Object.keys(after2.caches), [cacheName(first.url, two.version)], 'only build 2 is kept');
    assert.equal(after2.active, 'activated');
  });
});
