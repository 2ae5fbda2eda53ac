// Trunk post-build hook, before csp-hash.mjs (which then allows the edited script by its hash):
// Trunk's loader starts the app only once index.html's own script has settled
// window.evtxTriageOffline, i.e. once the service worker has copied the app's files (or cannot).
// So that copying is part of loading the page: the page makes no request after it has loaded.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const file = join(process.env.TRUNK_STAGING_DIR || 'dist', 'index.html');
const html = readFileSync(file, 'utf8');
if (!html.includes('window.evtxTriageOffline = ')) throw new Error(`sw-wait: ${file} does not set window.evtxTriageOffline`);
// Trunk 0.21's loader: `import init, * as bindings from './app-….js';` then `const wasm = await init(…)`.
const start = /^const wasm = await init\(/gm;
const found = html.match(start)?.length ?? 0;
if (found !== 1) throw new Error(`sw-wait: expected Trunk's loader line "const wasm = await init(" once in ${file}, found ${found}`);
writeFileSync(file, html.replace(start, 'await window.evtxTriageOffline;\nconst wasm = await init('));
console.log(`sw-wait: the app in ${file} starts once the service worker has settled`);
