#!/usr/bin/env bash
# Benchmark: prints figures for the CLI, evtx_dump (the reference parser) and the web app in
# Chromium on large Sysmon logs. A benchmark, not a test: it never judges a time; the targets
# are printed beside the figures, and the exit code says only whether the runs could be made.
#
#   bash scripts/bench.sh [SIZE_MIB ...]          (default: 1024 4096)
#
# For each size it
#   1. builds bench-data/sysmon-<SIZE>m.evtx when missing (crate/examples/build_bench_input.rs,
#      from the corpus at ../shared/corpus or EVTX_TRIAGE_CORPUS), if the disk has room;
#   2. times `evtx-triage scan --format json FILE > /dev/null` (wall time and peak RSS) and
#      `evtx_dump -t 1 -o jsonl FILE > /dev/null`, BENCH_RUNS times each (default 3; best shown);
#   3. scans FILE in the web app in Chromium (scripts/bench-browser.mjs): wall time, the app's
#      own scan time, first finding, peak RSS of the renderer process running the app, JS heap;
# then prints a summary table. The file is read once before timing, so every run reads it from
# the page cache. Installs what is missing first (scripts/setup.sh; evtx_dump 0.15.1 with cargo
# install; GNU time with apt), unless EVTX_TRIAGE_SKIP_SETUP=1 (then only evtx_dump and time).
# BENCH_SKIP_BROWSER=1 skips the browser; BENCH_BROWSER_RUNS (default 3) browser runs per size,
# without the worker probe (best wall time, highest peaks); BENCH_BROWSER_TIMEOUT_S (default
# 1800) bounds a scan.
set -euo pipefail
export LC_NUMERIC=C  # "1.23", not "1,23", from $EPOCHREALTIME and printf
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
ROOT="$EVTX_TRIAGE_ROOT"
cd "$ROOT"

RUNS="${BENCH_RUNS:-3}"
BROWSER_RUNS="${BENCH_BROWSER_RUNS:-3}"
CORPUS="${EVTX_TRIAGE_CORPUS:-../shared/corpus}"
DATA=bench-data
CLI=target/release/evtx-triage
EVTX_DUMP_VERSION=0.15.1
BROWSER_TIMEOUT_S="${BENCH_BROWSER_TIMEOUT_S:-1800}"
# Targets (printed, never enforced).
T_CLI_RATIO=0.5 T_BROWSER_RATIO=1.5 T_BROWSER_MIB=256 T_FIRST_PCT=20

log() { printf '[bench] %s\n' "$*"; }
step() { printf '\n=== %s (%ds)\n' "$*" "$SECONDS"; }
as_root() {
  if [[ $EUID -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else log "need root for: $*"; return 1
  fi
}
load() { cut -d' ' -f1-3 /proc/loadavg; }
cpus() { nproc 2>/dev/null || echo '?'; }
# Share of all CPUs busy (user+nice+system+irq+softirq+steal) over the next second, in %.
cpu_busy() {
  local a b
  a="$(head -n 1 /proc/stat)"; sleep 1; b="$(head -n 1 /proc/stat)"
  awk -v a="$a" -v b="$b" 'BEGIN {
    n = split(a, x, " "); split(b, y, " ")
    for (i = 2; i <= n; i++) { d = y[i] - x[i]; total += d; if (i == 5 || i == 6) idle += d }
    printf "%.0f", total ? 100 * (total - idle) / total : 0 }'
}

if [[ "${1:-}" == -h || "${1:-}" == --help ]]; then sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0; fi
if [[ $# -gt 0 ]]; then SIZES=("$@"); else SIZES=(1024 4096); fi
for s in "${SIZES[@]}"; do
  [[ "$s" =~ ^[1-9][0-9]*$ ]] || { echo "usage: bash scripts/bench.sh [SIZE_MIB ...]  (a size is a whole number of MiB; got '$s')" >&2; exit 2; }
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "BENCH_RUNS must be a whole number >= 1" >&2; exit 2; }

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

step "machine"
log "$(uname -srm); $(cpus) CPUs; $(awk '/MemTotal/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo)"
LOAD_START="$(load)"
log "load average (1/5/15 min) at start: $LOAD_START  -- other work on the machine skews the figures"
log "CPU busy over one second now: $(cpu_busy)% of all CPUs (before this benchmark runs anything)"

# ---- tools ----------------------------------------------------------------------------------
if [[ "${EVTX_TRIAGE_SKIP_SETUP:-}" != 1 ]]; then
  step "setup"
  bash scripts/setup.sh
fi

step "tools"
# GNU time gives wall time and peak RSS; without it (and without apt), python3's getrusage.
if [[ ! -x /usr/bin/time ]]; then
  log "/usr/bin/time missing: installing Debian's 'time' (apt)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq || true
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends time || true
fi
if [[ -x /usr/bin/time ]]; then
  TIMER=gnu-time
  log "timer: wall time from bash's \$EPOCHREALTIME, peak RSS from /usr/bin/time (GNU time %M)"
elif command -v python3 >/dev/null 2>&1; then
  TIMER=python3
  log "timer: python3 resource.getrusage(RUSAGE_CHILDREN) (no /usr/bin/time)"
else
  log "no way to measure peak RSS: install Debian's 'time' package (apt-get install time) or python3"
  exit 1
fi

# Runs a command with stdout to /dev/null and stderr to $TMP/stderr; prints "WALL_S MAXRSS_KIB".
# (The timer's own start, a fork and exec, is inside the wall time: well under a millisecond.)
measure() {
  local out="$TMP/time" rc=0 t0 t1
  if [[ $TIMER == gnu-time ]]; then
    # Wall time from bash's clock (ms; GNU time's %e has 10 ms), peak RSS from GNU time.
    t0=$EPOCHREALTIME
    /usr/bin/time -f '%e %M' -o "$out" "$@" >/dev/null 2>"$TMP/stderr" || rc=$?
    t1=$EPOCHREALTIME
    awk -v a="$t0" -v b="$t1" -v kib="$(tail -n 1 "$out" | awk '{ print $2 }')" 'BEGIN { printf "%.3f %s\n", b - a, kib }'
  else
    python3 -c '
import resource, subprocess, sys, time
with open(sys.argv[1], "w") as err:
    t = time.perf_counter()
    p = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=err)
    wall = time.perf_counter() - t
print(f"{wall:.3f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
sys.exit(p.returncode)' "$TMP/stderr" "$@" || rc=$?
  fi
  if [[ $rc -ne 0 ]]; then
    log "note: '$*' exited with $rc; stderr: $(head -c 300 "$TMP/stderr" | tr '\n' ' ')" >&2
  elif [[ -s "$TMP/stderr" ]]; then
    log "note: '$1' wrote $(wc -l <"$TMP/stderr") line(s) to stderr, first: $(head -n 1 "$TMP/stderr" | head -c 200)" >&2
  fi
}

EVTX_DUMP="$(command -v evtx_dump || true)"
if [[ -z "$EVTX_DUMP" ]]; then
  log "evtx_dump missing: cargo install evtx --version $EVTX_DUMP_VERSION (~2 min)"
  # From / so that the project's cargo configuration cannot apply.
  (cd / && cargo install evtx --version "$EVTX_DUMP_VERSION" --locked) ||
    (cd / && cargo install evtx --version "$EVTX_DUMP_VERSION")
  EVTX_DUMP="$(command -v evtx_dump)"
fi
DUMP_VERSION="$("$EVTX_DUMP" --version 2>/dev/null | awk '{ print $NF }')"
log "evtx_dump: $EVTX_DUMP ($DUMP_VERSION)"
[[ "$DUMP_VERSION" == "$EVTX_DUMP_VERSION" ]] || log "note: evtx_dump is $DUMP_VERSION, not the $EVTX_DUMP_VERSION these figures are meant against"

step "cargo build --release -p evtx-triage"
cargo build --release -p evtx-triage
log "CLI: $CLI ($("$CLI" --version))"

if [[ "${BENCH_SKIP_BROWSER:-}" == 1 ]]; then
  log "browser: skipped (BENCH_SKIP_BROWSER=1)"
elif [[ -f dist/index.html ]]; then
  log "web app: using the existing dist/ (built $(date -r dist/index.html '+%F %T'); delete dist/ to rebuild)"
else
  step "trunk build --release (dist/ missing)"
  trunk build --release
fi

# ---- inputs ---------------------------------------------------------------------------------
# The size build_bench_input writes for SIZE_MIB: a 4 KiB header and whole 64 KiB chunks.
expected_bytes() { echo $(( 4096 + ( ($1 * 1048576 - 4096 + 65535) / 65536 ) * 65536 )); }

# Makes $DATA/sysmon-<N>m.evtx unless it is there at the right size; returns 1 to skip N.
ensure_input() {
  local n=$1 file="$DATA/sysmon-$1m.evtx" want have avail_mib need_mib
  want="$(expected_bytes "$n")"
  if [[ -f "$file" ]]; then
    have="$(stat -c %s "$file")"
    if [[ "$have" == "$want" ]]; then
      log "input: $file (present, $((have >> 20)) MiB)"
      return 0
    fi
    log "input: $file has $have bytes, not $want: rebuilding it"
    rm -f "$file"
  fi
  if [[ ! -d "$CORPUS" ]]; then
    log "SKIP $n MiB: no corpus at $CORPUS to build $file from (set EVTX_TRIAGE_CORPUS)"
    return 1
  fi
  mkdir -p "$DATA"
  avail_mib=$(( $(df -Pk "$DATA" | awk 'NR == 2 { print $4 }') / 1024 ))
  need_mib=$(( n + (n / 4 > 512 ? n / 4 : 512) ))
  if (( avail_mib < need_mib )); then
    log "SKIP $n MiB: $file needs about $need_mib MiB free on $(df -P "$DATA" | awk 'NR == 2 { print $6 }'), only $avail_mib MiB are"
    return 1
  fi
  log "input: building $file from $CORPUS ($avail_mib MiB free)"
  local partial="$DATA/.sysmon-${n}m.evtx.partial"
  if ! cargo run --release --example build_bench_input -p evtx-triage -- "$CORPUS" "$partial" "$n"; then
    rm -f "$partial"
    log "SKIP $n MiB: build_bench_input failed"
    return 1
  fi
  mv -f "$partial" "$file"
}

# ---- runs -----------------------------------------------------------------------------------
num_or_na() { [[ -n "${1:-}" ]] && echo "$1" || echo n/a; }
ratio() { awk -v a="${1:-}" -v b="${2:-}" 'BEGIN { if (a == "" || b == "" || b + 0 == 0 || a == "n/a" || b == "n/a") print "n/a"; else printf "%.2f", a / b }'; }
# "met" / "NOT met" beside a figure, or nothing when the figure is missing.
verdict() { awk -v v="${1:-}" -v op="$2" -v t="$3" 'BEGIN { if (v == "" || v == "n/a") print ""; else if ((op == "<=" && v + 0 <= t + 0) || (op == "<" && v + 0 < t + 0)) print "met"; else print "NOT met" }'; }
best_of() { tr ' ' '\n' | grep -v '^$' | sort -g | head -n 1; }
json_field() { node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); const v = process.argv[2].split(".").reduce((o, k) => (o == null ? undefined : o[k]), r); console.log(v ?? "")' "$1" "$2"; }

declare -A R
for n in "${SIZES[@]}"; do
  step "$n MiB"
  ensure_input "$n" || { R[$n,skipped]=1; continue; }
  file="$DATA/sysmon-${n}m.evtx"
  R[$n,load]="$(load)"
  R[$n,busy]="$(cpu_busy)"
  log "load average before: ${R[$n,load]}; CPU busy over one second: ${R[$n,busy]}%"

  # Read once: the runs below all read from the page cache (the first would not otherwise).
  cat "$file" >/dev/null

  # One CLI run with its JSON kept, for the record and finding counts (not timed).
  "$CLI" scan --format json "$file" >"$TMP/cli.json" 2>"$TMP/stderr" || log "note: CLI exited with $? on $file: $(head -c 300 "$TMP/stderr")"
  { read -r R[$n,records]; read -r R[$n,findings]; read -r R[$n,status]; } < <(node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(r.totals.records); console.log(r.findings.length); console.log(r.files.map((f) => `${f.file}: ${f.status}`).join("; "));' "$TMP/cli.json")
  log "CLI records: ${R[$n,records]}"
  log "CLI findings: ${R[$n,findings]}"
  log "CLI file status: ${R[$n,status]}"

  cli_times=() cli_rss=() dump_times=()
  for ((i = 1; i <= RUNS; i++)); do
    read -r t kib < <(measure "$CLI" scan --format json "$file")
    cli_times+=("$t"); cli_rss+=("$kib")
    log "CLI run $i: $t s, peak RSS $(awk -v k="$kib" 'BEGIN { printf "%.0f", k / 1024 }') MiB"
    read -r t _ < <(measure "$EVTX_DUMP" -t 1 -o jsonl "$file")
    dump_times+=("$t")
    log "evtx_dump -t 1 run $i: $t s"
  done
  R[$n,cli]="$(echo "${cli_times[*]}" | best_of)"
  R[$n,cli_rss]="$(printf '%s\n' "${cli_rss[@]}" | sort -g | tail -n 1 | awk '{ printf "%.0f", $1 / 1024 }')"
  R[$n,dump]="$(echo "${dump_times[*]}" | best_of)"
  R[$n,cli_ratio]="$(ratio "${R[$n,cli]}" "${R[$n,dump]}")"
  log "CLI best s: ${R[$n,cli]}"
  log "CLI peak RSS MiB (highest of the runs): ${R[$n,cli_rss]}"
  log "CLI throughput MiB/s: $(ratio "$n" "${R[$n,cli]}")"
  log "evtx_dump -t 1 best s: ${R[$n,dump]}"
  log "CLI/evtx_dump: ${R[$n,cli_ratio]} (target <= $T_CLI_RATIO: $(verdict "${R[$n,cli_ratio]}" '<=' "$T_CLI_RATIO"))"

  if [[ "${BENCH_SKIP_BROWSER:-}" != 1 ]]; then
    log "load average before the browser: $(load)"
    # Timed runs without the worker probe (its CDP calls pause the workers); best wall time,
    # highest peaks. `node scripts/bench-browser.mjs FILE` alone adds each worker's memory.
    ok=0
    for ((i = 1; i <= BROWSER_RUNS; i++)); do
      if node scripts/bench-browser.mjs "$file" --no-worker-probe --json "$TMP/browser-$i.json" --timeout-s "$BROWSER_TIMEOUT_S"; then
        ok=$((ok + 1))
        wall="$(json_field "$TMP/browser-$i.json" wall_s)"
        rss="$(json_field "$TMP/browser-$i.json" peak_app_renderer_rss_mib)"
        anon="$(json_field "$TMP/browser-$i.json" peak_app_renderer_anon_mib)"
        R[$n,browser]="$(awk -v a="${R[$n,browser]:-}" -v b="$wall" 'BEGIN { printf "%.2f", (a == "" || b < a) ? b : a }')"
        R[$n,browser_rss]="$(awk -v a="${R[$n,browser_rss]:-0}" -v b="$rss" 'BEGIN { printf "%.0f", (b > a) ? b : a }')"
        R[$n,browser_anon]="$(awk -v a="${R[$n,browser_anon]:-0}" -v b="$anon" 'BEGIN { printf "%.0f", (b > a) ? b : a }')"
        R[$n,first_pct]="$(json_field "$TMP/browser-$i.json" first_finding_percent)"
        R[$n,b_records]="$(json_field "$TMP/browser-$i.json" records)"
        R[$n,b_findings]="$(json_field "$TMP/browser-$i.json" findings)"
      else
        log "browser run $i failed (see above)"
      fi
    done
    if ((ok > 0)); then
      log "browser best s of $ok run(s): ${R[$n,browser]}; peak RSS MiB ${R[$n,browser_rss]} (private/anon ${R[$n,browser_anon]})"
      if [[ "${R[$n,b_records]}" == "${R[$n,records]}" && "${R[$n,b_findings]}" == "${R[$n,findings]}" ]]; then
        log "browser and CLI agree: ${R[$n,records]} records, ${R[$n,findings]} findings"
      else
        log "NOTE: browser and CLI differ: browser ${R[$n,b_records]} records / ${R[$n,b_findings]} findings, CLI ${R[$n,records]} / ${R[$n,findings]}"
      fi
    fi
  fi
  log "load average after: $(load)"
done

# ---- summary --------------------------------------------------------------------------------
step "summary"
log "$(cpus) CPUs; load average at start $LOAD_START, now $(load); best of $RUNS runs; inputs read from the page cache"
log "evtx_dump $DUMP_VERSION with -t 1 (one thread) and -o jsonl; CLI: all cores; browser: Chromium, one worker per core (at least 2, at most 8)"
row() { printf '%-7s %7s %9s %10s %10s %8s %10s %9s %9s %9s %14s %7s\n' "$@"; }
row "size" "CLI" "CLI peak" "evtx_dump" "CLI/" "browser" "browser/" "browser/" "browser" "browser" "first finding" "load"
row "MiB" "s" "RSS MiB" "-t 1 s" "evtx_dump" "s" "evtx_dump" "CLI" "peak RSS" "peak anon" "% of input" "1 min"
row "target" "" "" "" "<= $T_CLI_RATIO" "" "<= $T_BROWSER_RATIO" "" "<= $T_BROWSER_MIB" "<= $T_BROWSER_MIB" "< $T_FIRST_PCT" ""
for n in "${SIZES[@]}"; do
  if [[ -n "${R[$n,skipped]:-}" ]]; then
    row "$n" "skipped" "" "" "" "" "" "" "" "" "" ""
    continue
  fi
  b="${R[$n,browser]:-}"
  row "$n" "$(num_or_na "${R[$n,cli]:-}")" "$(num_or_na "${R[$n,cli_rss]:-}")" "$(num_or_na "${R[$n,dump]:-}")" \
    "$(num_or_na "${R[$n,cli_ratio]:-}")" "$(num_or_na "$b")" "$(ratio "$b" "${R[$n,dump]:-}")" "$(ratio "$b" "${R[$n,cli]:-}")" \
    "$(num_or_na "${R[$n,browser_rss]:-}")" "$(num_or_na "${R[$n,browser_anon]:-}")" "$(num_or_na "${R[$n,first_pct]:-}")" "${R[$n,load]%% *}"
  row "" "" "" "" "$(verdict "${R[$n,cli_ratio]:-}" '<=' "$T_CLI_RATIO")" "" "$(verdict "$(ratio "$b" "${R[$n,dump]:-}")" '<=' "$T_BROWSER_RATIO")" "" \
    "$(verdict "${R[$n,browser_rss]:-}" '<=' "$T_BROWSER_MIB")" "$(verdict "${R[$n,browser_anon]:-}" '<=' "$T_BROWSER_MIB")" "$(verdict "${R[$n,first_pct]:-}" '<' "$T_FIRST_PCT")" ""
done
log "load 1 min: the load average when the size started; on $(cpus) CPUs, more than $(cpus) means other work competed with the runs"
log "browser peak RSS: the VmRSS of the renderer process that runs the app and its workers (scripts/bench-browser.mjs); what is not anon in it is file-backed or shared memory, mostly the Chromium binary's own pages"
log "browser peak anon: that process's private memory (RssAnon): JS heaps, wasm memories, buffers"
log "browser: best of $BROWSER_RUNS runs (BENCH_BROWSER_RUNS), each picked once the page is idle after load"
