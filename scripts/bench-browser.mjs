// Browser benchmark: scans one .evtx file in the built web app (dist/) in Debian's Chromium and
// prints figures, one per line. A benchmark, not a test: it never judges a time; it exits
// non-zero only when the scan itself cannot run (no dist/, a page error, a timeout).
//
//   node scripts/bench-browser.mjs FILE [--json OUT.json] [--timeout-s 1800] [--sample-ms 200] [--settle-s 5]
//                                       [--no-worker-probe] [--no-hash]
// (--no-hash: untick #hash-inputs, so the page computes no SHA-256 of the input.)
//
// Chromium is launched as the e2e tests launch it (tests/harness.mjs: /usr/bin/chromium or
// CHROMIUM_PATH, headless, --no-sandbox, ...), dist/ (or EVTX_TRIAGE_DIST) is served by
// tests/server.mjs. The wall time runs from just before `setInputFiles('#file-input', FILE)`
// until `#app[data-state="done"]`. During the scan, every --sample-ms:
//   - the RSS (VmRSS, /proc) of the renderer process that runs the app: its Web Workers are
//     threads of it, which is how it is told apart from Chromium's other renderers (a WebUI
//     one and a spare one, ~200 MiB more together); also the sum over all `--type=renderer`
//     processes and over all of this browser's processes, for reference;
//   - the page's main-thread JS heap (CDP Performance.getMetrics: JSHeapUsedSize/TotalSize) and
//     the main thread's wasm memory (the instance Trunk's TrunkApplicationStarted event carries);
//   - the progress bar's value, to show how memory grows with the input and where it stalls;
//   - (in a loop of its own, as workers answer between tasks) each worker's JS heap, ArrayBuffer
//     backing stores and wasm memory, over CDP sessions attached to the worker targets;
// and once more --settle-s after the scan, to see how much of the peak was garbage. It also prints
// the CPU seconds each Chromium process type, and each thread of the app's renderer, used during
// the scan. The file is picked once the page has gone idle after load, as a person would pick it.
//
// Experiments (environment): BENCH_CHROMIUM_ARGS adds Chromium flags (e.g.
// "--js-flags=--liftoff-only"); BENCH_HARDWARE_CONCURRENCY makes the page see that many cores
// (the app sizes its worker pool from it); BENCH_PRE_SCAN=FILE scans FILE first in the same page;
// BENCH_CPU_PROFILE=OUT.cpuprofile profiles the page's main thread from pick to done (CDP
// Profiler), writes the profile and prints the functions with the most self time.

import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { CHROMIUM, CHROMIUM_ARGS, DIST, launchBrowser, raceFailure, download } from '../tests/harness.mjs';
import { startServer } from '../tests/server.mjs';

const MiB = 1024 * 1024;

/** Starts sampling the page's main thread (1 ms interval). */
async function startMainThreadProfile(cdp) {
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 1000 });
  await cdp.send('Profiler.start');
  return true;
}

/** Stops the profile, writes it to `out` and prints the 25 functions with the most self time. */
async function printMainThreadProfile(cdp, out) {
  const { profile } = await cdp.send('Profiler.stop');
  writeFileSync(out, JSON.stringify(profile));
  const interval = (profile.endTime - profile.startTime) / Math.max(1, profile.samples.length);
  const self = new Map();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  for (const id of profile.samples) {
    const f = byId.get(id).callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}`;
    self.set(key, (self.get(key) ?? 0) + interval / 1e6);
  }
  console.log(`browser main-thread profile: ${out}`);
  for (const [k, s] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`browser profile self s ${s.toFixed(2)} ${k}`);
}

function parseArgs(argv) {
  const opts = { file: null, json: null, timeoutS: 1800, sampleMs: 200, settleS: 5, workerProbe: true, hash: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--json') opts.json = next();
    else if (a === '--timeout-s') opts.timeoutS = Number(next());
    else if (a === '--sample-ms') opts.sampleMs = Number(next());
    else if (a === '--settle-s') opts.settleS = Number(next());
    else if (a === '--no-worker-probe') opts.workerProbe = false;
    else if (a === '--no-hash') opts.hash = false;
    else if (a === '-h' || a === '--help') {
      console.log('usage: node scripts/bench-browser.mjs FILE [--json OUT.json] [--timeout-s 1800] [--sample-ms 200] [--settle-s 5] [--no-worker-probe] [--no-hash]');
      process.exit(0);
    } else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
    else if (opts.file === null) opts.file = a;
    else throw new Error(`unexpected argument ${a}`);
  }
  if (!opts.file) throw new Error('FILE is required');
  if (!(opts.timeoutS > 0)) throw new Error('--timeout-s must be > 0');
  if (!(opts.sampleMs >= 20)) throw new Error('--sample-ms must be >= 20');
  if (!(opts.settleS >= 0)) throw new Error('--settle-s must be >= 0');
  return opts;
}

// ---- /proc: this browser's processes -------------------------------------------------------

function readText(p) {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return null;
  }
}

/** Pids of every descendant of `root` (Playwright starts Chromium as a child of this node). */
function descendants(root) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readText(`/proc/${name}/stat`);
    if (!stat) continue;
    // pid (comm) state ppid ...; comm may hold spaces and parentheses.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(name));
  }
  const out = [];
  const todo = [root];
  while (todo.length) {
    for (const c of children.get(todo.pop()) ?? []) {
      out.push(c);
      todo.push(c);
    }
  }
  return out;
}

function statusKib(pid) {
  const st = readText(`/proc/${pid}/status`) ?? '';
  const get = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)\\s+kB`, 'm').exec(st)?.[1] ?? 0);
  return { rss: get('VmRSS'), anon: get('RssAnon') };
}

/** True when one of the process's threads is a Web Worker (Chromium names them so). */
function hostsWorkers(pid) {
  let tasks;
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return false;
  }
  return tasks.some((t) => (readText(`/proc/${pid}/task/${t}/comm`) ?? '').startsWith('DedicatedWorker'));
}

/**
 * VmRSS (KiB) of this browser's processes: `app` (and `appAnon`, its RssAnon) is the renderer
 * that hosts the app, told apart by its DedicatedWorker threads (Chromium also runs a WebUI
 * renderer and a spare one); `renderers` sums every `--type=renderer` process, `all` every
 * Chromium process. Shared pages (the Chromium binary) count once per process in these sums.
 */
function browserRss() {
  const out = { app: 0, appAnon: 0, appPids: 0, renderers: 0, rendererPids: 0, all: 0 };
  let biggest = null;
  for (const pid of descendants(process.pid)) {
    const cmd = readText(`/proc/${pid}/cmdline`);
    if (cmd === null) continue;
    const kib = statusKib(pid);
    out.all += kib.rss;
    if (!cmd.includes('--type=renderer')) continue;
    out.renderers += kib.rss;
    out.rendererPids += 1;
    if (hostsWorkers(pid)) {
      out.app += kib.rss;
      out.appAnon += kib.anon;
      out.appPids += 1;
    }
    if (!biggest || kib.rss > biggest.rss) biggest = kib;
  }
  if (out.appPids === 0 && biggest) {
    // No worker thread found (yet): the biggest renderer stands in for the app's.
    out.app = biggest.rss;
    out.appAnon = biggest.anon;
  }
  return out;
}

/** CPU seconds (utime + stime, USER_HZ = 100) in the text of a /proc .../stat file. */
function statCpuSeconds(stat) {
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/**
 * CPU seconds (user + system) used so far by this browser's processes, by Chromium process
 * type (`browser` for the main process, `renderer`, `gpu-process`, `utility`, ...): with the
 * wall time it shows whether a scan is bound by the cores or waits on something.
 */
function browserCpu() {
  const out = { total: 0 };
  for (const pid of descendants(process.pid)) {
    const stat = readText(`/proc/${pid}/stat`);
    const cmd = readText(`/proc/${pid}/cmdline`);
    if (!stat || cmd === null) continue;
    const s = statCpuSeconds(stat);
    const type = /--type=([a-z-]+)/.exec(cmd)?.[1] ?? 'browser';
    out[type] = (out[type] ?? 0) + s;
    out.total += s;
  }
  return out;
}

/**
 * CPU seconds by thread name (comm) in the renderer that hosts the app: the page's main thread,
 * each DedicatedWorker, V8's compiler and GC threads, ... Threads that ended are not counted.
 */
function appRendererThreadCpu() {
  const out = {};
  for (const pid of descendants(process.pid)) {
    const cmd = readText(`/proc/${pid}/cmdline`);
    if (!cmd?.includes('--type=renderer') || !hostsWorkers(pid)) continue;
    let tasks = [];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {}
    for (const t of tasks) {
      const stat = readText(`/proc/${pid}/task/${t}/stat`);
      if (!stat) continue;
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/\d+$/, '');
      out[name] = (out[name] ?? 0) + statCpuSeconds(stat);
    }
  }
  return out;
}

// ---- the page -------------------------------------------------------------------------------

/**
 * Opens the app as tests/harness.mjs's openApp does (page errors end the wait at once), but
 * first keeps the main thread's wasm instance (Trunk's TrunkApplicationStarted event carries
 * it) so that its linear memory can be sampled. Resolves once `#app` says idle.
 */
async function openBenchPage(browser, url) {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  if (process.env.BENCH_HARDWARE_CONCURRENCY) {
    // Experiments: the app sizes its worker pool from navigator.hardwareConcurrency.
    await context.addInitScript((n) => {
      Object.defineProperty(Navigator.prototype, 'hardwareConcurrency', { get: () => n });
    }, Number(process.env.BENCH_HARDWARE_CONCURRENCY));
  }
  await context.addInitScript(() => {
    addEventListener('TrunkApplicationStarted', (e) => {
      window.__benchWasm = e.detail?.wasm;
    });
  });
  const page = await context.newPage();
  const log = { pageErrors: [], consoleErrors: [], failedRequests: [], httpErrors: [] };
  let fail;
  const failed = new Promise((_, reject) => (fail = reject));
  failed.catch(() => {});
  page.on('pageerror', (e) => {
    log.pageErrors.push(String(e?.stack ?? e));
    fail(new Error(`page error: ${e?.message ?? e}`));
  });
  page.on('crash', () => fail(new Error('the page crashed (out of memory?)')));
  page.on('console', (m) => {
    if (m.type() === 'error') log.consoleErrors.push(m.text());
  });
  page.on('requestfailed', (r) => log.failedRequests.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
  page.on('response', (r) => {
    if (r.status() >= 400) log.httpErrors.push(`${r.status()} ${r.url()}`);
  });
  const app = { context, page, log, failed, label: 'bench' };
  await page.goto(url, { waitUntil: 'load', timeout: 30_000 });
  await raceFailure(app, page.waitForSelector('#app[data-state="idle"]', { state: 'attached', timeout: 30_000 }), 'waiting for #app[data-state=idle] after load');
  return app;
}

// ---- the workers: their JS heaps and wasm memories, over CDP ------------------------------------

/**
 * Attaches (CDP, from a browser session, non-flat) to every worker target and returns
 * { count, sample() }: sample() resolves to { heapUsed, backing, wasm } summed over the workers
 * (bytes: V8 heap used, ArrayBuffer backing stores, WebAssembly.Memory byte lengths). A worker
 * answers between two tasks, so a sample can wait for the part a worker is analyzing; it runs
 * in its own loop for that reason. Best effort: null when Chromium refuses.
 */
async function workerProbe(browser) {
  const bs = await browser.newBrowserCDPSession();
  const pending = new Map();
  let nextId = 1;
  bs.on('Target.receivedMessageFromTarget', (e) => {
    const m = JSON.parse(e.message);
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.error) p.reject(new Error(`${m.error.message} (${m.error.code})`));
    else p.resolve(m.result);
  });
  const { targetInfos } = await bs.send('Target.getTargets');
  const workers = [];
  for (const t of targetInfos.filter((x) => x.type === 'worker')) {
    const { sessionId } = await bs.send('Target.attachToTarget', { targetId: t.targetId, flatten: false });
    // A worker busy with a part answers once the part is done; one that never answers is dropped.
    const ask = (method, params = {}) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`worker gave no answer to ${method} in 60 s`));
        }, 60_000);
        const done = (f) => (v) => {
          clearTimeout(timer);
          f(v);
        };
        pending.set(id, { resolve: done(resolve), reject: done(reject) });
        bs.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) }).catch((e) => {
          pending.delete(id);
          done(reject)(e);
        });
      });
    // Every WebAssembly.Memory of the worker, kept in an object group for the whole run.
    const proto = await ask('Runtime.evaluate', { expression: 'WebAssembly.Memory.prototype', objectGroup: 'bench' });
    const found = await ask('Runtime.queryObjects', { prototypeObjectId: proto.result.objectId, objectGroup: 'bench' });
    workers.push({ sessionId, ask, memories: found.objects.objectId });
  }
  if (workers.length === 0) return null;
  return {
    count: workers.length,
    async sample() {
      const per = await Promise.all(
        workers.map(async (w) => {
          const [h, m] = await Promise.all([
            w.ask('Runtime.getHeapUsage'),
            w.ask('Runtime.callFunctionOn', {
              objectId: w.memories,
              functionDeclaration: 'function () { return this.reduce((n, m) => n + m.buffer.byteLength, 0); }',
              returnByValue: true,
            }),
          ]);
          return { heapUsed: h.usedSize, backing: h.backingStorageSize ?? 0, wasm: m.result.value };
        }),
      );
      return per.reduce((a, b) => ({ heapUsed: a.heapUsed + b.heapUsed, backing: a.backing + b.backing, wasm: a.wasm + b.wasm }));
    },
    async close() {
      for (const w of workers) await bs.send('Target.detachFromTarget', { sessionId: w.sessionId }).catch(() => {});
      await bs.detach().catch(() => {});
    },
  };
}

// ---- figures ---------------------------------------------------------------------------------

const mib = (kib) => (kib / 1024).toFixed(0);
const fmt = (x, d = 2) => (x === null || x === undefined || Number.isNaN(x) ? 'n/a' : Number(x).toFixed(d));

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const file = path.resolve(opts.file);
  const size = statSync(file).size;
  if (!statSync(path.join(DIST, 'index.html'), { throwIfNoEntry: false })) {
    throw new Error(`no built app at ${DIST}: run \`source scripts/env.sh && trunk build --release\` first`);
  }
  const result = { file, bytes: size, chromium: CHROMIUM, chromium_args: CHROMIUM_ARGS, sample_ms: opts.sampleMs };
  const server = await startServer({ root: DIST, base: '/' });
  const browser = await launchBrowser((process.env.BENCH_CHROMIUM_ARGS ?? '').split(' ').filter(Boolean));
  let app;
  try {
    result.chromium_version = browser.version();
    console.log(`browser: Chromium ${result.chromium_version}, app ${DIST} at ${server.url}`);
    console.log(`browser input: ${file} (${(size / MiB).toFixed(0)} MiB)`);
    app = await openBenchPage(browser, server.url);
    const { page } = app;

    // Workers: wait for the first, then (briefly) for the whole pool the app asked for.
    await raceFailure(app, page.waitForSelector('#app:not([data-workers="0"])', { state: 'attached', timeout: 60_000 }), 'waiting for a ready worker');
    const wanted = await page.evaluate(() => Math.min(Math.max(navigator.hardwareConcurrency || 2, 1), 8));
    await page
      .waitForFunction((n) => Number(document.querySelector('#app')?.getAttribute('data-workers')) >= n, wanted, { timeout: 15_000, polling: 100 })
      .catch(() => {});
    result.workers = Number(await page.getAttribute('#app', 'data-workers'));
    result.hardware_concurrency = await page.evaluate(() => navigator.hardwareConcurrency);
    console.log(`browser workers ready: ${result.workers} (navigator.hardwareConcurrency ${result.hardware_concurrency})`);
    if (process.env.BENCH_RULES_ZIP) {
      // A rule pack first: the time from the pick to data-rules-state=ready is rule loading.
      const t0 = performance.now();
      await raceFailure(app, page.setInputFiles('input[type=file][name=rules]', process.env.BENCH_RULES_ZIP), 'picking the rule zip');
      await page.waitForFunction(() => {
        const p = document.querySelector('#rules-panel');
        return p?.getAttribute('data-rules-state') === 'ready' && Number(p.getAttribute('data-rules-loaded')) > 2;
      }, null, { timeout: 300_000, polling: 20 });
      result.rules_load_s = (performance.now() - t0) / 1000;
      result.rules_loaded = Number(await page.getAttribute('#rules-panel', 'data-rules-loaded'));
      console.log(`browser rules loaded: ${result.rules_loaded} in ${fmt(result.rules_load_s)} s (pick -> data-rules-state=ready)`);
    }
    if (process.env.BENCH_PRE_SCAN) {
      // Experiments: scan another file first, in the same page (what a second scan costs).
      await raceFailure(app, page.setInputFiles('#file-input', process.env.BENCH_PRE_SCAN), 'picking the pre-scan file');
      await page.waitForSelector('#app[data-state="done"]', { state: 'attached', timeout: opts.timeoutS * 1000 });
      console.log(`browser pre-scanned ${process.env.BENCH_PRE_SCAN}`);
    }
    // A responder picks a file some seconds after the page opens; by then the page's own start-up
    // work (the workers' warm-up and the compiles it triggers) is over. Wait for that quiet, so the
    // scan's figures are the scan's: until the browser uses < 5% of a core over half a second.
    const idleStart = performance.now();
    for (let before = browserCpu().total; performance.now() - idleStart < 20_000; ) {
      await new Promise((r) => setTimeout(r, 500));
      const now = browserCpu().total;
      if (now - before < 0.025) break;
      before = now;
    }
    result.idle_wait_s = (performance.now() - idleStart) / 1000;
    console.log(`browser waited for the page to go idle after load s: ${fmt(result.idle_wait_s)}`);

    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    const heap = async () => {
      const { metrics } = await cdp.send('Performance.getMetrics');
      const get = (n) => metrics.find((m) => m.name === n)?.value ?? 0;
      return { used: get('JSHeapUsedSize'), total: get('JSHeapTotalSize') };
    };
    // The progress bar's value and the byte length of the main thread's wasm memory.
    const pageState = () =>
      page
        .evaluate(() => {
          const bar = document.querySelector('#progress-bar');
          const st = document.querySelector('#app')?.getAttribute('data-state');
          const pct = bar ? Number(bar.getAttribute('value')) : st === 'done' ? 100 : null;
          const wasm = window.__benchWasm?.memory?.buffer?.byteLength ?? null;
          return { pct, wasm };
        })
        .catch(() => ({ pct: null, wasm: null }));
    const sample = async () => {
      const t = performance.now();
      const rss = browserRss();
      const [h, st] = await Promise.all([heap().catch(() => null), pageState()]);
      return { t, ...rss, heapUsed: h?.used ?? null, heapTotal: h?.total ?? null, pct: st.pct, wasm: st.wasm };
    };

    let probe = null;
    if (opts.workerProbe) {
      probe = await workerProbe(browser).catch((e) => {
        console.log(`browser note: no CDP view into the workers (${e.message ?? e}); their memory is only inside the renderer RSS`);
        return null;
      });
    }
    const idle = await sample();
    const idleWorkers = probe ? await probe.sample().catch(() => null) : null;
    result.idle_app_renderer_rss_mib = idle.app / 1024;
    result.idle_renderers_rss_mib = idle.renderers / 1024;
    result.idle_browser_rss_mib = idle.all / 1024;
    result.idle_js_heap_used_mib = idle.heapUsed / MiB;
    console.log(`browser idle app renderer RSS MiB: ${mib(idle.app)} (anon ${mib(idle.appAnon)}); all ${idle.rendererPids} renderers ${mib(idle.renderers)}; all Chromium processes ${mib(idle.all)}`);
    console.log(`browser idle JS heap used MiB (page main thread): ${fmt(idle.heapUsed / MiB, 1)}; main-thread wasm memory MiB: ${fmt(idle.wasm === null ? null : idle.wasm / MiB, 1)}`);
    result.idle_main_wasm_mib = idle.wasm === null ? null : idle.wasm / MiB;

    // Sampling runs until the scan ends; each sample waits for the one before.
    const samples = [];
    let sampling = true;
    let sampleError = null;
    const sampler = (async () => {
      while (sampling) {
        const t0 = performance.now();
        try {
          samples.push(await sample());
        } catch (e) {
          sampleError ??= e;
        }
        const wait = opts.sampleMs - (performance.now() - t0);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    })();

    const workerSamples = [];
    let workerError = null;
    const workerSampler = (async () => {
      while (probe && sampling) {
        const t0 = performance.now();
        try {
          workerSamples.push({ t: t0, ...(await probe.sample()) });
        } catch (e) {
          workerError ??= e;
        }
        const wait = opts.sampleMs - (performance.now() - t0);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    })();

    if (!opts.hash) await page.uncheck('#hash-inputs');
    console.log(`browser SHA-256 of the input: ${opts.hash ? 'on' : 'off (--no-hash)'}`);
    const profiler = process.env.BENCH_CPU_PROFILE ? await startMainThreadProfile(cdp) : null;
    const cpuBefore = browserCpu();
    const threadsBefore = appRendererThreadCpu();
    const start = performance.now();
    await raceFailure(app, page.setInputFiles('#file-input', file), 'setting #file-input');
    await raceFailure(
      app,
      page.waitForSelector('#app[data-state="done"]', { state: 'attached', timeout: opts.timeoutS * 1000 }),
      `waiting up to ${opts.timeoutS} s for the scan to end (data-state=done)`,
    );
    const wall = (performance.now() - start) / 1000;
    if (profiler) await printMainThreadProfile(cdp, process.env.BENCH_CPU_PROFILE);
    const cpuAfter = browserCpu();
    const threadsAfter = appRendererThreadCpu();
    result.app_renderer_thread_cpu_s = Object.fromEntries(
      Object.keys(threadsAfter).map((k) => [k, threadsAfter[k] - (threadsBefore[k] ?? 0)]).filter(([, v]) => v >= 0.01),
    );
    result.cpu_s = Object.fromEntries(Object.keys(cpuAfter).map((k) => [k, cpuAfter[k] - (cpuBefore[k] ?? 0)]));
    sampling = false;
    await Promise.all([sampler, workerSampler]);
    const endWorkers = probe ? await probe.sample().catch(() => null) : null;
    const end = await sample();
    if (sampleError) console.log(`browser note: a sample failed: ${sampleError.message ?? sampleError}`);

    const attr = (n) => page.getAttribute('#app', n);
    const num = (v) => (v === null || v === '' ? null : Number(v));
    result.wall_s = wall;
    result.scan_ms = num(await attr('data-scan-ms'));
    result.worker_read_ms = num(await attr('data-worker-read-ms'));
    result.worker_analyze_ms = num(await attr('data-worker-analyze-ms'));
    result.first_finding_ms = num(await attr('data-first-finding-ms'));
    result.first_finding_percent = num(await attr('data-first-finding-percent'));
    result.finding_rows = await page.locator('tr.finding').count();
    const statuses = await page.$$eval('li.file-status', (lis) => lis.map((li) => `${li.getAttribute('data-file')}: ${li.getAttribute('data-status')}`));
    result.file_statuses = statuses;

    const exported = await download(app, '#export-json', { timeout: 120_000 });
    const report = JSON.parse(exported.text);
    result.records = report.totals?.records ?? null;
    result.findings = Array.isArray(report.findings) ? report.findings.length : null;

    // Memory a while after the scan (garbage the workers had not collected yet goes here).
    await new Promise((r) => setTimeout(r, opts.settleS * 1000));
    const settled = await sample();
    const settledWorkers = probe ? await probe.sample().catch(() => null) : null;
    await probe?.close();
    result.settled_app_renderer_rss_mib = settled.app / 1024;
    result.settled_app_renderer_anon_mib = settled.appAnon / 1024;

    const during = [...samples.filter((s) => s.t >= start), end];
    const peak = (k) => during.reduce((m, s) => (s[k] !== null && s[k] > m ? s[k] : m), 0);
    result.samples = during.length;
    // Every sample, for --json: where in the run the peak falls.
    result.sample_series = during.map((s) => ({
      t_s: (s.t - start) / 1000,
      pct: s.pct,
      renderer_rss_mib: s.app / 1024,
      renderer_anon_mib: s.appAnon / 1024,
      main_wasm_mib: s.wasm === null ? null : s.wasm / MiB,
      js_heap_used_mib: s.heapUsed === null ? null : s.heapUsed / MiB,
    }));
    result.peak_app_renderer_rss_mib = peak('app') / 1024;
    result.peak_app_renderer_anon_mib = peak('appAnon') / 1024;
    result.peak_renderers_rss_mib = peak('renderers') / 1024;
    result.peak_browser_rss_mib = peak('all') / 1024;
    result.end_app_renderer_rss_mib = end.app / 1024;
    result.peak_js_heap_used_mib = peak('heapUsed') / MiB;
    result.peak_js_heap_total_mib = peak('heapTotal') / MiB;
    result.end_js_heap_used_mib = end.heapUsed / MiB;
    result.peak_main_wasm_mib = peak('wasm') / MiB;
    if (probe) {
      const ws = [...workerSamples.filter((x) => x.t >= start), ...(endWorkers ? [endWorkers] : [])];
      const wpeak = (k) => ws.reduce((m, x) => Math.max(m, x[k] ?? 0), 0);
      result.worker_count_probed = probe.count;
      result.worker_samples = ws.length;
      result.idle_workers_wasm_mib = idleWorkers ? idleWorkers.wasm / MiB : null;
      result.idle_workers_js_heap_used_mib = idleWorkers ? idleWorkers.heapUsed / MiB : null;
      result.peak_workers_wasm_mib = wpeak('wasm') / MiB;
      result.peak_workers_js_heap_used_mib = wpeak('heapUsed') / MiB;
      result.peak_workers_backing_mib = wpeak('backing') / MiB;
      result.settled_workers_js_heap_used_mib = settledWorkers ? settledWorkers.heapUsed / MiB : null;
      result.settled_workers_backing_mib = settledWorkers ? settledWorkers.backing / MiB : null;
    }
    result.app_renderer_found = during.every((s) => s.appPids > 0);

    // Longest stretch with the progress bar standing still (a stall), from the samples.
    let stall = { s: 0, at: null };
    let since = null;
    for (const s of during) {
      if (s.pct === null) continue;
      if (since === null || s.pct !== since.pct) since = s;
      const d = (s.t - since.t) / 1000;
      if (d > stall.s) stall = { s: d, at: since.pct };
    }
    result.longest_no_progress_s = stall.s;
    result.longest_no_progress_at_percent = stall.at;

    console.log(`browser wall s (setInputFiles -> data-state=done): ${fmt(wall)}`);
    result.findings = await page.evaluate(() => Number(document.querySelector('#findings')?.getAttribute('data-rows') ?? 0));
    console.log(`browser findings: ${result.findings}`);
    console.log(`browser app scan s (data-scan-ms): ${fmt(result.scan_ms === null ? null : result.scan_ms / 1000)}`);
    // The page tells the incidents' stories once every file is read: the rest of the wall time.
    console.log(`browser stories s (wall - data-scan-ms): ${fmt(result.scan_ms === null ? null : wall - result.scan_ms / 1000)}`);
    console.log(`browser workers' time s, summed over workers: reading ${fmt(result.worker_read_ms / 1000)}, analyzing ${fmt(result.worker_analyze_ms / 1000)}`);
    const cpuParts = Object.entries(result.cpu_s).filter(([k]) => k !== 'total').sort((a, b) => b[1] - a[1]);
    console.log(`browser CPU s during the scan (cores: ${availableParallelism()}): ${fmt(result.cpu_s.total)} = ${cpuParts.map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`);
    const threadParts = Object.entries(result.app_renderer_thread_cpu_s).sort((a, b) => b[1] - a[1]);
    console.log(`browser CPU s in the app renderer by thread: ${threadParts.map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`);
    console.log(`browser throughput MiB/s: ${fmt(size / MiB / wall, 1)}`);
    console.log(`browser first finding s (data-first-finding-ms): ${fmt(result.first_finding_ms === null ? null : result.first_finding_ms / 1000)}`);
    console.log(`browser first finding at % of input read (data-first-finding-percent): ${fmt(result.first_finding_percent, 1)}`);
    console.log(`browser peak app renderer RSS MiB: ${fmt(result.peak_app_renderer_rss_mib, 0)} (anon ${fmt(result.peak_app_renderer_anon_mib, 0)}; idle ${fmt(result.idle_app_renderer_rss_mib, 0)}; at the end ${fmt(result.end_app_renderer_rss_mib, 0)})${result.app_renderer_found ? '' : ' [app renderer not told apart in every sample: biggest renderer used]'}`);
    console.log(`browser app renderer RSS MiB ${opts.settleS} s after done: ${fmt(result.settled_app_renderer_rss_mib, 0)} (anon ${fmt(result.settled_app_renderer_anon_mib, 0)})`);
    console.log(`browser peak RSS of all renderer processes MiB: ${fmt(result.peak_renderers_rss_mib, 0)} (idle ${fmt(result.idle_renderers_rss_mib, 0)})`);
    console.log(`browser peak RSS of all Chromium processes MiB: ${fmt(result.peak_browser_rss_mib, 0)} (idle ${fmt(result.idle_browser_rss_mib, 0)})`);
    console.log(`browser peak JS heap used MiB (page main thread): ${fmt(result.peak_js_heap_used_mib, 1)} (heap total ${fmt(result.peak_js_heap_total_mib, 1)}; at the end ${fmt(result.end_js_heap_used_mib, 1)})`);
    console.log(`browser main-thread wasm memory MiB at the end: ${fmt(result.peak_main_wasm_mib, 1)} (idle ${fmt(result.idle_main_wasm_mib, 1)}; a wasm memory never shrinks)`);
    if (probe) {
      console.log(`browser workers' wasm memory MiB (sum over ${probe.count}): peak ${fmt(result.peak_workers_wasm_mib, 1)} (idle ${fmt(result.idle_workers_wasm_mib, 1)})`);
      console.log(`browser workers' JS heap used MiB (sum): peak ${fmt(result.peak_workers_js_heap_used_mib, 1)} (idle ${fmt(result.idle_workers_js_heap_used_mib, 1)}; ${opts.settleS} s after done ${fmt(result.settled_workers_js_heap_used_mib, 1)})`);
      console.log(`browser workers' ArrayBuffer backing stores MiB (sum; file slices read): peak ${fmt(result.peak_workers_backing_mib, 1)} (${opts.settleS} s after done ${fmt(result.settled_workers_backing_mib, 1)})`);
      console.log(`browser worker samples: ${result.worker_samples}`);
    }
    if (workerError) console.log(`browser note: a worker sample failed: ${workerError.message ?? workerError}`);
    console.log(`browser samples: ${result.samples} (every ${opts.sampleMs} ms)`);
    console.log(`browser longest time without progress s: ${fmt(stall.s)}${stall.at === null ? '' : ` (at ${fmt(stall.at, 1)}%)`}`);
    console.log(`browser finding rows (tr.finding): ${result.finding_rows}`);
    console.log(`browser records (export JSON totals.records): ${result.records}`);
    console.log(`browser findings (export JSON findings): ${result.findings}`);
    console.log(`browser file status: ${statuses.join('; ')}`);

    // Memory against progress: the first sample at or past each 10%.
    const timeline = [];
    for (let step = 0; step <= 100; step += 10) {
      const s = during.find((x) => x.pct !== null && x.pct >= step);
      if (!s || timeline.at(-1)?.sample === s) continue;
      const w = workerSamples.filter((x) => x.t <= s.t).at(-1) ?? null;
      timeline.push({
        percent: step,
        t_s: (s.t - start) / 1000,
        pct: s.pct,
        renderer_rss_mib: s.app / 1024,
        js_heap_used_mib: s.heapUsed === null ? null : s.heapUsed / MiB,
        main_wasm_mib: s.wasm === null ? null : s.wasm / MiB,
        workers_wasm_mib: w ? w.wasm / MiB : null,
        workers_backing_mib: w ? w.backing / MiB : null,
        sample: s,
      });
    }
    result.timeline = timeline.map(({ sample, ...x }) => x);
    console.log('browser timeline, MiB (main: the page thread; workers: summed, last worker sample before):');
    console.log('  progress  seconds  renderer RSS  main JS heap  main wasm  workers wasm  workers ArrayBuffers');
    for (const x of timeline) {
      const c = (v, d, w) => fmt(v, d).padStart(w);
      console.log(`  ${c(x.pct, 1, 7)}%  ${c(x.t_s, 1, 7)}  ${c(x.renderer_rss_mib, 0, 12)}  ${c(x.js_heap_used_mib, 1, 12)}  ${c(x.main_wasm_mib, 1, 9)}  ${c(x.workers_wasm_mib, 1, 12)}  ${c(x.workers_backing_mib, 1, 20)}`);
    }
    if (app.log.consoleErrors.length) console.log(`browser console errors: ${app.log.consoleErrors.length} (first: ${app.log.consoleErrors[0]})`);
  } finally {
    await app?.context.close().catch(() => {});
    await browser.close().catch(() => {});
    await server.close();
  }
  if (opts.json) writeFileSync(opts.json, JSON.stringify(result, null, 2) + '\n');
}

main().catch((e) => {
  console.error(`bench-browser: ${e?.stack ?? e}`);
  process.exit(1);
});
