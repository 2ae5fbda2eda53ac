// The static server the e2e tests and scripts/serve.sh use: sub-path hosting, MIME types,
// and nothing served from outside its folder.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from 'node:http';
import { startServer, normalizeBase } from './server.mjs';

let dir;
let srv;
let root;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'evtx-triage-server-'));
  root = path.join(dir, 'dist');
  await mkdir(path.join(root, 'sub'), { recursive: true });
  await writeFile(path.join(root, 'index.html'), '<!doctype html><title>t</title>');
  await writeFile(path.join(root, 'app-1234.js'), 'export const x = 1;');
  await writeFile(path.join(root, 'app-1234_bg.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
  await writeFile(path.join(root, 'style.css'), 'body{}');
  await writeFile(path.join(root, 'sub', 'index.html'), 'sub');
  await writeFile(path.join(dir, 'secret.txt'), 'secret');
  srv = await startServer({ root, base: '/evtx-triage/' });
});

after(async () => {
  await srv?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function get(p, init) {
  const r = await fetch(new URL(p, `http://127.0.0.1:${srv.port}`), { redirect: 'manual', ...init });
  return { status: r.status, type: r.headers.get('content-type'), location: r.headers.get('location'), body: await r.text() };
}

function rawStatus(rawPath) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: srv.port, path: rawPath, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(`${res.statusCode} ${body.includes('secret') && !body.includes('not found') ? 'LEAKED' : 'refused'}`));
    });
    req.on('error', reject);
    req.end();
  });
}

test('normalizeBase', () => {
  assert.equal(normalizeBase('/'), '/');
  assert.equal(normalizeBase('evtx-triage'), '/evtx-triage/');
  assert.equal(normalizeBase('/evtx-triage/'), '/evtx-triage/');
});

test('serves under the sub-path with the right MIME types', async () => {
  assert.equal(srv.url, `http://127.0.0.1:${srv.port}/evtx-triage/`);
  const index = await get('/evtx-triage/');
  assert.equal(index.status, 200);
  assert.equal(index.type, 'text/html; charset=utf-8');
  assert.equal(index.body, '<!doctype html><title>t</title>');
  const js = await get('/evtx-triage/app-1234.js');
  assert.equal(js.status, 200);
  assert.equal(js.type, 'text/javascript; charset=utf-8');
  const wasm = await get('/evtx-triage/app-1234_bg.wasm');
  assert.equal(wasm.status, 200);
  assert.equal(wasm.type, 'application/wasm');
  assert.equal((await get('/evtx-triage/style.css')).type, 'text/css; charset=utf-8');
  assert.equal((await get('/evtx-triage/sub/')).body, 'sub');
  const head = await get('/evtx-triage/app-1234.js', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
});

test('redirects the bare sub-path and folders to their slash form', async () => {
  const bare = await get('/evtx-triage');
  assert.equal(bare.status, 301);
  assert.equal(bare.location, '/evtx-triage/');
  const sub = await get('/evtx-triage/sub');
  assert.equal(sub.status, 301);
  assert.equal(sub.location, '/evtx-triage/sub/');
});

test('nothing outside the sub-path or the folder', async () => {
  assert.equal((await get('/')).status, 404);
  assert.equal((await get('/app-1234.js')).status, 404);
  assert.equal((await get('/evtx-triage/missing.js')).status, 404);
  // Raw paths (fetch() would resolve the dots before sending). Plain and %2e dots are
  // resolved by URL parsing (so they land outside the sub-path: 404); dots hidden behind an
  // encoded slash or backslash reach the path check (403).
  assert.equal(await rawStatus('/evtx-triage/../secret.txt'), '404 refused');
  assert.equal(await rawStatus('/evtx-triage/%2e%2e/secret.txt'), '404 refused');
  assert.equal(await rawStatus('/evtx-triage/sub/%2e%2e%2f%2e%2e%2fsecret.txt'), '403 refused');
  assert.equal(await rawStatus('/evtx-triage/..%5csecret.txt'), '403 refused');
  assert.equal((await get('/evtx-triage/app-1234.js', { method: 'POST' })).status, 405);
});
