// The service worker of the hosted page: it keeps a copy of the app, so the page also opens
// offline. Built into dist/sw.js by scripts/sw-precache.mjs, which fills in BUILD below: every
// file of this build and its SHA-256 (index.html also as "./", the URL the page is opened by).
//
// - install: fetches every file of the build once (past the HTTP cache) and keeps it only if its
//   bytes are this build's, so a cache never mixes two versions (say, a stale worker.js from a
//   CDN next to a new app). The page waits for this before its app starts (see index.html), so
//   caching is part of loading the page, not a request after it.
// - activate: deletes the copies of older builds, takes control of the open page.
// - fetch: the app's own GET requests are answered from the copy; anything else (not in the
//   copy, another origin) goes to the network as if there were no service worker.
const BUILD = { version: 'dev', files: {} };

// One cache per build and per place the app is hosted at (several may share an origin).
const PREFIX = `evtx-triage ${self.registration.scope} `;
const CACHE = PREFIX + BUILD.version;

const hex = (buffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, '0')).join('');

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await Promise.all(
        Object.entries(BUILD.files).map(async ([file, sha256]) => {
          const response = await fetch(file, { cache: 'reload' });
          const got = response.ok ? hex(await crypto.subtle.digest('SHA-256', await response.clone().arrayBuffer())) : `HTTP ${response.status}`;
          if (got !== sha256) throw new Error(`${file}: not the file of build ${BUILD.version} (${got})`);
          await cache.put(file, response);
        }),
      );
    })().catch(async (e) => {
      await caches.delete(CACHE);
      throw e; // this worker becomes redundant; the next visit tries again
    }),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' || !request.url.startsWith(self.registration.scope)) return;
  event.respondWith(
    caches
      .open(CACHE)
      .then((cache) => cache.match(request, { ignoreSearch: true }))
      .then((hit) => hit ?? fetch(request)),
  );
});
