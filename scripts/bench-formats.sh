#!/usr/bin/env bash
# Benchmark of text exports: prints figures, never judges them. A benchmark, not a test.
#
#   bash scripts/bench-formats.sh [SIZE_MIB]        (default 256)
#
# Inputs (bench-data/, never committed; built when missing): a corpus Sysmon log with CAR hits
# (the Dumpert sample) written by the project's convert_log example as Winlogbeat NDJSON, Event
# XML and evtx_dump JSON, repeated to SIZE MiB each. Prints, for each: records, findings, the
# CLI's wall time, peak RSS and MB/s (best of 3), and with BENCH_BROWSER=1 the page's pick-to-done
# time and peak renderer memory (scripts/bench-browser.mjs, 2 workers).
set -euo pipefail
export LC_NUMERIC=C
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$EVTX_TRIAGE_ROOT"

SIZE="${1:-256}"
CORPUS="${EVTX_TRIAGE_CORPUS:-../shared/corpus}"
SRC="$CORPUS/attack-samples/Credential Access/sysmon_10_11_outlfank_dumpert_and_andrewspecial_memdump.evtx"
CLI=target/release/evtx-triage
DATA=bench-data
log() { printf '[bench-formats] %s\n' "$*"; }

[[ -f "$SRC" ]] || { echo "needs $SRC" >&2; exit 2; }
cargo build --release -p evtx-triage --bins --examples >/dev/null
mkdir -p "$DATA"
timed() { /usr/bin/time -f '%e %M' "$@" 2>&1 >/dev/null | tail -n 1 | awk '{ printf "%s %.0f", $1, $2 / 1024 }'; }

for form in winlogbeat event-xml evtx-json; do
  file="$DATA/${form}-${SIZE}m.txt"
  [[ -f "$file" ]] || target/release/examples/convert_log "$SRC" "$file" "$form" "$SIZE" >/dev/null
  cat "$file" > /dev/null  # into the page cache
  bytes="$(stat -c %s "$file")"
  best= rss=
  for _ in 1 2 3; do
    read -r t m <<<"$(timed "$CLI" scan --format jsonl "$file")"
    if [[ -z "$best" ]] || awk -v a="$t" -v b="$best" 'BEGIN { exit !(a < b) }'; then best="$t"; rss="$m"; fi
  done
  summary="$("$CLI" scan --format json "$file" | python3 -c 'import json,sys; r=json.load(sys.stdin); f=r["files"][0]; print(f["format"], f["records"], f["findings"], len(f["issues"]))')"
  read -r format records findings issues <<<"$summary"
  mbs="$(awk -v b="$bytes" -v t="$best" 'BEGIN { printf "%.0f", b / 1048576 / t }')"
  log "$form ($format): $((bytes >> 20)) MiB, $records records, $findings findings, $issues issues; CLI jsonl ${best} s (${mbs} MiB/s), peak RSS ${rss} MiB"
  if [[ "${BENCH_BROWSER:-0}" == 1 ]]; then
    node scripts/bench-browser.mjs "$file" --no-worker-probe | grep -E "wall|peak|findings|records" | sed "s/^/[bench-formats] $form page: /"
  fi
done
