#!/usr/bin/env bash
# Sets up, builds the web app (release) and serves dist/ on http://127.0.0.1:8080/ with the
# same small static server the e2e tests use. HOST, PORT and BASE (a sub-path such as
# /evtx-triage/) can be set in the environment; EVTX_TRIAGE_SKIP_SETUP=1 skips the setup.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$EVTX_TRIAGE_ROOT"

if [[ "${EVTX_TRIAGE_SKIP_SETUP:-}" != 1 ]]; then
  bash scripts/setup.sh
fi
trunk build --release
exec node tests/server.mjs --root dist --host "${HOST:-127.0.0.1}" --port "${PORT:-8080}" --base "${BASE:-/}"
