// A tiny static file server for the built web app (dist/), with no dependencies.
//
// As a module: `startServer({ root, base, host, port })` serves `root` under the URL path
// `base` (default "/"; the e2e tests use "/evtx-triage/" to prove the app works when hosted
// under a sub-path) and resolves to { url, port, requests, close }.
//
// As a program:
//   node tests/server.mjs [--root dist] [--base /] [--host 127.0.0.1] [--port 8080]
//
// Only GET and HEAD; `.wasm` is sent as application/wasm and `.js` as text/javascript (the
// browser's streaming wasm compile and module workers need both); every response says
// `Cache-Control: no-store` so a rebuilt app is always what the browser gets. Nothing outside
// `root` is ever served (`..`, encoded or not, is refused), and nothing outside `base` exists.

import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const MIME_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.yml': 'text/plain; charset=utf-8',
  '.yaml': 'text/plain; charset=utf-8',
  '.evtx': 'application/octet-stream',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
};

export function mimeType(file) {
  return MIME_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** Normalizes a base path to "/" or "/something/". */
export function normalizeBase(base = '/') {
  let b = String(base);
  if (!b.startsWith('/')) b = '/' + b;
  if (!b.endsWith('/')) b += '/';
  return b.replace(/\/{2,}/g, '/');
}

/**
 * Starts serving `root` under `base`. Resolves once listening.
 * @returns {Promise<{url: string, port: number, requests: Array<{method: string, url: string, status: number}>, close: () => Promise<void>, server: import('node:http').Server}>}
 */
export async function startServer({ root, base = '/', host = '127.0.0.1', port = 0, quiet = true } = {}) {
  if (!root) throw new Error('startServer: root is required');
  const rootDir = path.resolve(root);
  const rootStat = await stat(rootDir).catch(() => null);
  if (!rootStat?.isDirectory()) throw new Error(`startServer: ${rootDir} is not a folder`);
  const prefix = normalizeBase(base);
  const requests = [];

  const server = createServer(async (req, res) => {
    const entry = { method: req.method, url: req.url, status: 0 };
    requests.push(entry);
    const send = (status, body, headers = {}) => {
      entry.status = status;
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
      if (!quiet) console.log(`${status} ${req.method} ${req.url}`);
    };
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        return send(405, 'method not allowed\n', { Allow: 'GET, HEAD' });
      }
      const urlPath = new URL(req.url, 'http://localhost').pathname;
      if (prefix !== '/' && urlPath === prefix.slice(0, -1)) {
        return send(301, `moved to ${prefix}\n`, { Location: prefix });
      }
      if (!urlPath.startsWith(prefix)) {
        return send(404, `not found: ${urlPath} (the app is served under ${prefix})\n`);
      }
      let rel;
      try {
        rel = decodeURIComponent(urlPath.slice(prefix.length));
      } catch {
        return send(400, 'bad URL encoding\n');
      }
      if (rel.includes('\0')) return send(400, 'bad path\n');
      const parts = rel.split('/');
      if (parts.some((p) => p === '..' || p.includes('\\'))) return send(403, 'forbidden\n');
      let file = path.join(rootDir, ...parts.filter((p) => p !== '' && p !== '.'));
      if (file !== rootDir && !file.startsWith(rootDir + path.sep)) return send(403, 'forbidden\n');
      let st = await stat(file).catch(() => null);
      if (st?.isDirectory()) {
        if (!urlPath.endsWith('/')) {
          return send(301, 'moved\n', { Location: urlPath + '/' });
        }
        file = path.join(file, 'index.html');
        st = await stat(file).catch(() => null);
      }
      if (!st?.isFile()) return send(404, `not found: ${urlPath}\n`);
      entry.status = 200;
      res.writeHead(200, {
        'Content-Type': mimeType(file),
        'Content-Length': st.size,
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
      });
      if (!quiet) console.log(`200 ${req.method} ${req.url}`);
      if (req.method === 'HEAD') return res.end();
      const stream = createReadStream(file);
      stream.on('error', (e) => res.destroy(e));
      stream.pipe(res);
    } catch (e) {
      if (!res.headersSent) send(500, `server error: ${e?.message ?? e}\n`);
      else res.destroy();
    }
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actualPort = server.address().port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    server,
    port: actualPort,
    url: `http://${shownHost}:${actualPort}${prefix}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

function parseArgs(argv) {
  const opts = { root: 'dist', base: '/', host: '127.0.0.1', port: 8080, quiet: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--root') opts.root = next();
    else if (a === '--base') opts.base = next();
    else if (a === '--host') opts.host = next();
    else if (a === '--port') opts.port = Number(next());
    else if (a === '--verbose' || a === '-v') opts.quiet = false;
    else if (a === '--help' || a === '-h') {
      console.log('usage: node tests/server.mjs [--root dist] [--base /] [--host 127.0.0.1] [--port 8080] [--verbose]');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw new Error('--port must be 0..65535');
  return opts;
}

const isMain = process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href;
if (isMain) {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`server.mjs: ${e.message}`);
    process.exit(2);
  }
  startServer(opts).then(
    (s) => {
      console.log(`Serving ${path.resolve(opts.root)} at ${s.url} (Ctrl-C to stop)`);
      const stop = () => s.close().then(() => process.exit(0));
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    },
    (e) => {
      console.error(`server.mjs: ${e.message}`);
      process.exit(1);
    },
  );
}

export const TESTS_DIR = path.dirname(fileURLToPath(import.meta.url));
