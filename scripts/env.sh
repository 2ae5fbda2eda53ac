# Sourced by the other scripts: the tool paths this project builds and tests with.
# - ~/.cargo/bin: cargo, trunk, wasm-bindgen (installed by scripts/setup.sh)
# - tests/node_modules/.bin first: binaryen's wasm-opt 132 (Debian's binaryen 108 and
#   `cargo install wasm-opt` 116 fail on this Rust's output), used by `trunk build --release`.
EVTX_TRIAGE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export EVTX_TRIAGE_ROOT
export PATH="$EVTX_TRIAGE_ROOT/tests/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# Trunk must not reach for the network: no self-update check, no tool downloads (it uses the
# wasm-bindgen and wasm-opt found on PATH; Trunk.toml pins their versions).
export TRUNK_OFFLINE="${TRUNK_OFFLINE:-true}"
export TRUNK_SKIP_VERSION_CHECK="${TRUNK_SKIP_VERSION_CHECK:-true}"
