#!/usr/bin/env bash
# Benchmark of rule packs and of findings at scale: prints figures, never judges them (the
# targets are printed beside). A benchmark, not a test.
#
#   bash scripts/bench-rules.sh [SIZE_MIB]        (default 1024)
#
# Inputs (bench-data/, never committed; built when missing from ../shared/corpus):
#   sysmon-<SIZE>m.evtx  the intact Sysmon chunks of the corpus, repeated (as scripts/bench.sh)
#   hits-<SIZE>m.evtx    every chunk holds CAR hits: the Dumpert and lsass_memdump samples' chunks,
#                        alternating (57,344 built-in findings per GiB)
# The pack is ../shared/sigma's rules/windows, rules-threat-hunting and rules-emerging-threats
# (EVTX_TRIAGE_SIGMA to point elsewhere), zipped once by the project's own exporter for the page.
# Prints, for each run: wall time, peak RSS, findings; evtx_dump -t 1 on the same file and the
# ratio; rules loaded and skipped. BENCH_SKIP_BROWSER=1 skips the page runs (they use
# scripts/bench-browser.mjs: pick to done with 2 workers, peak renderer memory, rule loading).
set -euo pipefail
export LC_NUMERIC=C
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$EVTX_TRIAGE_ROOT"

SIZE="${1:-1024}"
CORPUS="${EVTX_TRIAGE_CORPUS:-../shared/corpus}"
SIGMA="${EVTX_TRIAGE_SIGMA:-../shared/sigma}"
CRED="$CORPUS/attack-samples/Credential Access"
CLI=target/release/evtx-triage
DATA=bench-data
RULES=("$SIGMA/rules/windows" "$SIGMA/rules-threat-hunting" "$SIGMA/rules-emerging-threats")
log() { printf '[bench-rules] %s\n' "$*"; }

[[ -d "$SIGMA" && -d "$CORPUS" ]] || { echo "needs $SIGMA and $CORPUS" >&2; exit 2; }
command -v evtx_dump >/dev/null || (cd / && cargo install evtx --version 0.15.1 --bin evtx_dump)
cargo build --release -p evtx-triage --bins --examples >/dev/null
mkdir -p "$DATA"
SYSMON="$DATA/sysmon-${SIZE}m.evtx"
HITS="$DATA/hits-${SIZE}m.evtx"
[[ -f "$SYSMON" ]] || target/release/examples/build_bench_input "$CORPUS" "$SYSMON" "$SIZE"
[[ -f "$HITS" ]] || target/release/examples/build_bench_input --alternate \
  "$CRED/sysmon_10_11_outlfank_dumpert_and_andrewspecial_memdump.evtx" "$CRED/sysmon_10_11_lsass_memdump.evtx" "$HITS" "$SIZE"
ZIP="$DATA/sigma-rules.zip"
[[ -f "$ZIP" ]] || target/release/examples/zip_rules "$ZIP" "${RULES[@]}"
cat "$SYSMON" "$HITS" > /dev/null  # into the page cache: every run reads from memory

# Wall seconds and peak RSS MiB of a command whose stdout is discarded: "SECONDS MIB".
timed() { /usr/bin/time -f '%e %M' "$@" 2>&1 >/dev/null | tail -n 1 | awk '{ printf "%s %.0f", $1, $2 / 1024 }'; }
findings() { grep -c '"type":"finding"' || true; }

declare -A DUMP
for f in "$SYSMON" "$HITS"; do
  best=
  for _ in 1 2 3; do
    t="$(timed evtx_dump -t 1 -o jsonl "$f" | cut -d' ' -f1)"
    best="$(awk -v a="${best:-$t}" -v b="$t" 'BEGIN { print (b < a) ? b : a }')"
  done
  DUMP[$f]="$best"
  log "evtx_dump -t 1 -o jsonl $f: ${best} s (best of 3)"
done

run_cli() {  # label, target ratio, file, args...
  local label="$1" target="$2" file="$3"; shift 3
  local tr n
  tr="$(timed "$CLI" scan "$@" "$file")"
  n="$("$CLI" scan --format jsonl "$@" "$file" 2>/dev/null | findings)"
  awk -v l="$label" -v t="${tr% *}" -v m="${tr#* }" -v d="${DUMP[$file]}" -v g="$target" -v n="$n" \
    'BEGIN { printf "[bench-rules] CLI %s: %.2f s, peak RSS %d MiB, %d findings; / evtx_dump -t 1 = %.2f (target <= %s)\n", l, t, m, n, t / d, g }'
}

rule_args=()
for r in "${RULES[@]}"; do rule_args+=(--rules "$r"); done
log "rules: $("$CLI" scan --format json "${rule_args[@]}" "$CORPUS/attack-samples/Credential Access/sysmon_10_11_lsass_memdump.evtx" 2>&1 >/dev/null | head -n 1)"
log "rule loading alone: $(target/release/examples/load_timing "${RULES[@]}")"
run_cli "built-ins, $SYSMON (json)" 0.5 "$SYSMON" --format json
run_cli "SigmaHQ pack, $SYSMON (jsonl)" 2 "$SYSMON" --format jsonl "${rule_args[@]}"
run_cli "SigmaHQ pack, $SYSMON (json)" 2 "$SYSMON" --format json "${rule_args[@]}"
run_cli "built-ins, $HITS (json)" 2 "$HITS" --format json
run_cli "built-ins, $HITS (jsonl)" 2 "$HITS" --format jsonl

if [[ "${BENCH_SKIP_BROWSER:-}" != 1 ]]; then
  page() {  # label, file, [zip]
    local out
    out="$(BENCH_RULES_ZIP="${3:-}" node scripts/bench-browser.mjs "$2" --no-worker-probe 2>&1)"
    log "page $1: $(grep -E '^browser (wall s|findings|rules loaded|peak app renderer RSS)' <<<"$out" | sed 's/^browser //' | paste -sd ';' -)"
  }
  page "built-ins, $SYSMON" "$SYSMON"
  page "SigmaHQ pack, $SYSMON" "$SYSMON" "$ZIP"
  page "built-ins, $HITS" "$HITS"
fi
