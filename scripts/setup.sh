#!/usr/bin/env bash
# Installs everything the build, the tests and the local server need, skipping each step
# whose result is already there (so a warm machine passes through in seconds):
#   - the Rust target wasm32-unknown-unknown
#   - trunk 0.21.14 (cargo install, ~5 min cold)
#   - wasm-bindgen-cli at the exact wasm-bindgen version in Cargo.lock (~3 min cold)
#   - Debian's chromium and chromium-driver (apt; for the browser tests)
#   - tests/node_modules from tests/package-lock.json: playwright-core and binaryen (wasm-opt)
# Nothing is downloaded outside the package registries (crates.io, Debian, npm).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
ROOT="$EVTX_TRIAGE_ROOT"
cd "$ROOT"

TRUNK_VERSION=0.21.14
log() { printf '[setup] %s\n' "$*"; }
as_root() {
  if [[ $EUID -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else log "need root for: $*"; return 1
  fi
}
# cargo install from outside the project, so the project's .cargo/config.toml (a wasm target,
# a test runner) cannot change how the tools are built.
cargo_install() { (cd / && cargo install "$@"); }

for tool in cargo rustup; do
  command -v "$tool" >/dev/null 2>&1 || { log "$tool not found: install Rust with rustup first"; exit 1; }
done

# 1. The wasm target.
if rustup target list --installed | grep -qx 'wasm32-unknown-unknown'; then
  log "rust target wasm32-unknown-unknown: present"
else
  log "rust target wasm32-unknown-unknown: adding"
  rustup target add wasm32-unknown-unknown
fi

# 1b. rustfmt and clippy (the test script checks formatting and lints).
for component in rustfmt clippy; do
  if rustup component list --installed 2>/dev/null | grep -q "^$component"; then
    log "rust component $component: present"
  else
    log "rust component $component: adding"
    rustup component add "$component"
  fi
done

# 2. Trunk (0.22 needs a newer rustc than this machine's; --locked keeps its deps as released).
if [[ "$(trunk --version 2>/dev/null || true)" == "trunk $TRUNK_VERSION" ]]; then
  log "trunk $TRUNK_VERSION: present"
else
  log "trunk $TRUNK_VERSION: installing (cargo install, ~5 min)"
  cargo_install trunk --version "$TRUNK_VERSION" --locked --force
fi

# 3. wasm-bindgen-cli, the same version as the wasm-bindgen crate in Cargo.lock. Without
#    --locked: its locked webpki-roots is not in the registry any more.
WB_VERSION="$(awk '/^name = "wasm-bindgen"$/ { getline; if ($1 == "version") { gsub(/"/, "", $3); print $3; exit } }' Cargo.lock 2>/dev/null || true)"
if [[ -z "$WB_VERSION" ]]; then
  log "wasm-bindgen-cli: Cargo.lock names no wasm-bindgen; skipped"
elif [[ "$(wasm-bindgen --version 2>/dev/null || true)" == "wasm-bindgen $WB_VERSION" ]]; then
  log "wasm-bindgen-cli $WB_VERSION: present"
else
  log "wasm-bindgen-cli $WB_VERSION: installing (cargo install, ~3 min)"
  cargo_install wasm-bindgen-cli --version "$WB_VERSION" --force
fi

# 4. Debian's Chromium and ChromeDriver (never a browser download).
installed() { [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]; }
if installed chromium && installed chromium-driver && [[ -x /usr/bin/chromium ]]; then
  log "chromium + chromium-driver: present"
else
  log "chromium + chromium-driver: installing (apt)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver
fi

# 5. Node packages of tests/ (playwright-core, binaryen's wasm-opt), exactly as locked.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  log "node/npm: installing (apt)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm
fi
node_modules_match_lock() {
  node -e '
    const fs = require("fs"), path = require("path");
    const dir = process.argv[1];
    const lock = JSON.parse(fs.readFileSync(path.join(dir, "package-lock.json"), "utf8"));
    for (const [k, v] of Object.entries(lock.packages || {})) {
      if (!k || v.optional) continue;
      let pj;
      try { pj = JSON.parse(fs.readFileSync(path.join(dir, k, "package.json"), "utf8")); } catch { process.exit(1); }
      if (pj.version !== v.version) process.exit(1);
    }
  ' "$ROOT/tests"
}
if [[ -d tests/node_modules ]] && node_modules_match_lock; then
  log "tests/node_modules: present (matches package-lock.json)"
else
  log "tests/node_modules: npm ci"
  (cd tests && npm ci --no-audit --no-fund --loglevel=error)
fi

log "versions: $(rustc --version); $(trunk --version); $(wasm-bindgen --version 2>/dev/null || echo 'wasm-bindgen: none'); wasm-opt $(wasm-opt --version 2>/dev/null | awk '{print $3}'); node $(node --version); $(/usr/bin/chromium --version 2>/dev/null || echo 'chromium: none')"
