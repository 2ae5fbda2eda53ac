#!/usr/bin/env bash
# The whole test suite: the Rust unit, integration and corpus tests, the release web build, and
# the browser end-to-end tests. Installs what is missing first (scripts/setup.sh), unless
# EVTX_TRIAGE_SKIP_SETUP=1 (as .ci/run does, having run it already).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$EVTX_TRIAGE_ROOT"
step() { printf '\n=== %s (%ds)\n' "$*" "$SECONDS"; }

if [[ "${EVTX_TRIAGE_SKIP_SETUP:-}" != 1 ]]; then
  step "setup"
  bash scripts/setup.sh
fi

step "cargo fmt --check; cargo clippy -D warnings (core, CLI and tests natively; the web app for wasm32)"
cargo fmt --all --check
cargo clippy --release -p evtx-triage --all-targets -- -D warnings
cargo clippy --release -p evtx-triage-web --target wasm32-unknown-unknown -- -D warnings

step "cargo test --release -p evtx-triage"
cargo test --release -p evtx-triage

step "cargo test -p evtx-triage-web --lib (the page's own logic, natively; a debug build: no LTO pass over Yew)"
cargo test -p evtx-triage-web --lib

step "cargo build --release -p evtx-triage --bins --examples (the CLI the e2e tests compare with; write_fixture, their fixture writer)"
cargo build --release -p evtx-triage --bins --examples

step "trunk build --release (wasm-opt: $(command -v wasm-opt))"
trunk build --release

step "bash scripts/build-offline.sh (the one-file build from dist/, no second trunk build: tests/offline-file.test.mjs opens it)"
bash scripts/build-offline.sh

step "node --test tests/ (e2e in Chromium)"
exec node --test --test-reporter=tap tests/
