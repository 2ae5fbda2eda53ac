#!/usr/bin/env bash
# Benchmark of reading again after a scan: prints the chunk index's size, the time of each
# incident's story and of the events ±2 minutes around its first finding (crate/examples/
# story_timing.rs, which reads only the chunks the index names), and the CLI's `search` wall time
# and peak RSS for a few queries against `evtx_dump -t 1 -o jsonl` on the same file.
#
#   bash scripts/bench-story.sh [LOG.evtx]    (default bench-data/sysmon-1024m.evtx; run
#                                               scripts/bench.sh once to make it)
set -euo pipefail
cd "$(dirname "$0")/.."
LOG="${1:-bench-data/sysmon-1024m.evtx}"
[[ -f "$LOG" ]] || { echo "bench-story: $LOG is missing: run bash scripts/bench.sh 1024 first" >&2; exit 2; }
command -v evtx_dump >/dev/null || cargo install --locked evtx --version 0.15.1 --features fast-alloc >/dev/null
cargo build --release -q -p evtx-triage --bins --examples
BIN=target/release/evtx-triage

echo "== stories and contexts on $LOG"
target/release/examples/story_timing "$LOG"

best() { # best wall time (s) and its peak RSS (KiB) of 3 runs of "$@" > /dev/null
  local best_s="" best_kb=""
  for _ in 1 2 3; do
    local out; out=$( { /usr/bin/time -f '%e %M' "$@" > /dev/null; } 2>&1 | tail -1)
    local s=${out% *} kb=${out#* }
    if [[ -z "$best_s" ]] || awk "BEGIN{exit !($s < $best_s)}"; then best_s=$s; best_kb=$kb; fi
  done
  echo "$best_s $best_kb"
}
read -r dump_s _ < <(best evtx_dump -t 1 -o jsonl "$LOG")
echo "== search (best of 3; evtx_dump -t 1 -o jsonl: $dump_s s)"
printf '%-45s %8s %8s %10s %12s\n' "query" "hits" "wall s" "peak MiB" "/ evtx_dump"
for q in 'TargetImage:*\lsass.exe' '"-ma lsass"' 'mimikatz' 'EventID:10 -SourceImage:*\werfault.exe' 'EventID:1'; do
  hits=$($BIN search --format table "$q" "$LOG" | tail -1 | cut -d' ' -f1)
  read -r s kb < <(best "$BIN" search --format jsonl "$q" "$LOG")
  printf '%-45s %8s %8s %10s %12s\n' "$q" "$hits" "$s" "$((kb / 1024))" "$(awk "BEGIN{printf \"%.2f\", $s / $dump_s}")"
done
