// The whole app as one HTML file that works opened from disk (file://): dist-offline/evtx-triage.html,
// made from the release build in dist/ (run by scripts/build-offline.sh, which builds dist/ first
// when it is missing or older than the sources).
//
//   node scripts/build-offline.mjs [--dist dist] [--out dist-offline]
//
// A page opened from disk may not load other files, so everything is inside it:
// - the styles, as a <style> element;
// - the app's wasm-bindgen module, as an inline module script, given the app's wasm bytes
//   (base64 in a data block) instead of a path to fetch;
// - the worker: Trunk's worker.js plus its wasm bytes, started from a blob: URL the page names in
//   window.evtxTriageWorkerUrl (web/src/pool.rs uses it instead of ./worker_loader.js).
// Its Content-Security-Policy allows exactly these: the two scripts and the styles by SHA-256,
// wasm compilation, workers from blob: URLs, images from data: URLs (the icon); no connection at
// all (connect-src 'none' from the start), no 'unsafe-inline'.
// Prints the file's SHA-256 and writes it beside it in sha256sum's format.

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NAME = 'evtx-triage.html';

/** Builds the file; returns { file, sha256, bytes }. */
export function buildOffline({ dist = path.join(REPO, 'dist'), out = path.join(REPO, 'dist-offline') } = {}) {
  const read = (name) => readFileSync(path.join(dist, name));
  // Text as the HTML parser will see it: LF line ends (CSP hashes are over the parsed text).
  const text = (name) => read(name).toString('utf8').replace(/\r\n?/g, '\n');
  const index = text('index.html');
  const one = (re, what) => {
    const m = index.match(re);
    if (!m) throw new Error(`build-offline: ${what} not found in ${dist}/index.html (is it Trunk's release build?)`);
    return m[1];
  };
  const css = one(/<link rel="stylesheet" href="\.\/([^"]+\.css)"/, 'the stylesheet link');
  const appJs = one(/import init, \* as bindings from '\.\/([^']+\.js)';/, "Trunk's loader (the app's module)");
  const appWasm = one(/module_or_path: '\.\/([^']+\.wasm)'/, "Trunk's loader (the app's wasm)");
  const title = one(/<title>([^<]*)<\/title>/, 'the title');
  const noscript = one(/<noscript>([^<]*)<\/noscript>/, 'the <noscript> text');
  const loader = text('worker_loader.js').trim();
  if (loader !== 'importScripts("./worker.js");wasm_bindgen("./worker_bg.wasm");') {
    throw new Error(`build-offline: ${dist}/worker_loader.js is not the loader this script knows: ${loader}`);
  }

  // The app module: wasm-bindgen's ES module as it is (its exports are harmless in an inline
  // module), then what Trunk's loader does, with bytes instead of a URL.
  const app = text(appJs);
  if (!/^export \{ initSync, __wbg_init as default \};$/m.test(app)) throw new Error(`build-offline: ${appJs} does not export __wbg_init as default`);
  const exported = [...app.matchAll(/^export (?:async )?(?:function|class) (\w+)/gm)].map((m) => m[1]);
  const appScript = `${app}
// One-file build: the wasm comes from the data block #app-wasm, not from a URL. (A block, so
// these names cannot clash with the module's own.)
{
  const bytes = Uint8Array.from(atob(document.getElementById('app-wasm').textContent), (c) => c.charCodeAt(0));
  const wasm = await __wbg_init({ module_or_path: bytes });
  window.wasmBindings = { ${[...exported, 'initSync'].join(', ')} };
  dispatchEvent(new CustomEvent('TrunkApplicationStarted', { detail: { wasm } }));
}
`;

  // The worker: worker.js (a classic script defining wasm_bindgen) and its wasm, in one text.
  const workerCode = `${text('worker.js')}
// One-file build: the worker's wasm is part of this script.
wasm_bindgen({ module_or_path: Uint8Array.from(atob('${read('worker_bg.wasm').toString('base64')}'), (c) => c.charCodeAt(0)) });
`;
  const workerScript = `// The worker's code is the data block #worker-code; web/src/pool.rs starts workers from this URL.
window.evtxTriageWorkerUrl = URL.createObjectURL(new Blob([document.getElementById('worker-code').textContent], { type: 'text/javascript' }));
`;
  const style = text(css);
  const icon = `data:image/svg+xml;base64,${readFileSync(path.join(REPO, 'web', 'icons', 'icon.svg')).toString('base64')}`;

  // Text inside <script>/<style> ends at the first "</script" / "</style"; "<!--" can change how a
  // script's text is parsed. None of them may be in what is inlined.
  for (const [what, body, end] of [[appJs, appScript, '</script'], ['worker.js', workerCode, '</script'], [css, style, '</style']]) {
    const lower = body.toLowerCase();
    if (lower.includes(end) || lower.includes('<!--')) throw new Error(`build-offline: ${what} holds "${end}" or "<!--"; it cannot be inlined as it is`);
  }
  const hash = (body) => `'sha256-${createHash('sha256').update(body, 'utf8').digest('base64')}'`;
  const csp = [
    "default-src 'none'",
    `script-src ${hash(workerScript)} ${hash(appScript)} 'wasm-unsafe-eval'`,
    `style-src ${hash(style)}`,
    'img-src data:',
    'worker-src blob:',
    "connect-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "object-src 'none'",
    "frame-src 'none'",
  ].join('; ');

  const html = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<!-- EVTX Triage, one file (scripts/build-offline.mjs): open it from disk. It loads nothing else and
     may connect nowhere: scripts and styles only by hash, workers only from blob: URLs. -->
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="${icon}">
<title>${title}</title>
<style>${style}</style>
<script type="text/plain" id="worker-code">${workerCode}</script>
<script type="application/octet-stream" id="app-wasm">${read(appWasm).toString('base64')}</script>
<script>${workerScript}</script>
<script type="module">${appScript}</script>
</head>
<body>
<noscript>${noscript}</noscript>
</body>
</html>
`;
  mkdirSync(out, { recursive: true });
  const file = path.join(out, NAME);
  writeFileSync(file, html);
  const sha256 = createHash('sha256').update(html, 'utf8').digest('hex');
  writeFileSync(`${file}.sha256`, `${sha256}  ${NAME}\n`);
  return { file, sha256, bytes: Buffer.byteLength(html) };
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const args = process.argv.slice(2);
  const opt = (name) => {
    const i = args.indexOf(name);
    return i >= 0 ? path.resolve(args[i + 1]) : undefined;
  };
  const { file, sha256, bytes } = buildOffline({ dist: opt('--dist'), out: opt('--out') });
  const shown = path.relative(process.cwd(), file) || file;
  console.log(`build-offline: ${shown} (${(bytes / 1048576).toFixed(1)} MiB)`);
  console.log(`SHA-256 (${shown}) = ${sha256}`);
  console.log(`check: (cd ${path.dirname(shown)} && sha256sum -c ${NAME}.sha256)`);
}
