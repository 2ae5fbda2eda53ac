// Trunk post-build hook, last (after csp-hash.mjs has written index.html's final bytes): writes
// sw.js from web/sw.js with the list of this build's files and their SHA-256, and a version
// derived from them. Trunk names the app's files by their hash; worker.js, worker_bg.wasm and
// index.html keep their names, so the service worker checks every file's bytes, not its name.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = process.env.TRUNK_STAGING_DIR || 'dist';
const template = fileURLToPath(new URL('../web/sw.js', import.meta.url));
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

const files = {};
for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile()) continue;
  const name = relative(dir, join(entry.parentPath ?? entry.path, entry.name)).split(sep).join('/');
  if (name === 'sw.js' || name.startsWith('.')) continue;
  files[name] = sha256(readFileSync(join(dir, name)));
}
if (!files['index.html']) throw new Error(`sw-precache: no index.html in ${dir}`);
// The page is opened by its folder's URL ("./"), which the host answers with index.html.
const sorted = Object.fromEntries([['./', files['index.html']], ...Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1))]);
const version = sha256(Object.entries(sorted).map(([f, h]) => `${h}  ${f}\n`).join('')).slice(0, 16);

const placeholder = "const BUILD = { version: 'dev', files: {} };";
const source = readFileSync(template, 'utf8');
if (!source.includes(placeholder)) throw new Error(`sw-precache: ${template} has no line ${placeholder}`);
const build = `const BUILD = ${JSON.stringify({ version, files: sorted }, null, 2)};`;
writeFileSync(join(dir, 'sw.js'), source.replace(placeholder, () => build));
console.log(`sw-precache: ${join(dir, 'sw.js')} caches ${Object.keys(files).length} files, build ${version}`);
