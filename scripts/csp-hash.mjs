// Trunk post-build hook: allow the inline loader script Trunk writes into
// index.html by its SHA-256 hash, so the CSP needs no 'unsafe-inline'.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.TRUNK_STAGING_DIR || 'dist';
const file = join(dir, 'index.html');
let html = readFileSync(file, 'utf8');
const hashes = [];
for (const m of html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)) {
  hashes.push(`'sha256-${createHash('sha256').update(m[1], 'utf8').digest('base64')}'`);
}
if (hashes.length) {
  html = html.replace("script-src 'self' 'wasm-unsafe-eval'", `script-src 'self' 'wasm-unsafe-eval' ${hashes.join(' ')}`);
  if (!hashes.every((h) => html.includes(h))) throw new Error('csp-hash: CSP meta not found in index.html');
  writeFileSync(file, html);
}
console.log(`csp-hash: ${hashes.length} inline script(s) allowed by hash in ${file}`);
