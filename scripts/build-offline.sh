#!/usr/bin/env bash
# Builds dist-offline/evtx-triage.html: the whole app in one HTML file that works opened from
# disk (file://), with its SHA-256 beside it (dist-offline/evtx-triage.html.sha256).
# Reuses the release build in dist/; runs `trunk build --release` first only when dist/ is
# missing or older than a source it is built from. Then scripts/build-offline.mjs inlines it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$EVTX_TRIAGE_ROOT"

sources=(index.html Trunk.toml Cargo.toml Cargo.lock crate web scripts/csp-hash.mjs scripts/sw-wait.mjs scripts/sw-precache.mjs)
if [[ ! -f dist/index.html ]]; then
  echo "build-offline: no dist/index.html; building it (trunk build --release)"
  trunk build --release
elif newer="$(find "${sources[@]}" -type f -newer dist/index.html -print -quit)" && [[ -n "$newer" ]]; then
  echo "build-offline: dist/ is older than $newer; rebuilding it (trunk build --release)"
  trunk build --release
else
  echo "build-offline: dist/ is up to date"
fi
node scripts/build-offline.mjs
