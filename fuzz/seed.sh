#!/usr/bin/env bash
# Builds the seed corpora for the fuzz targets from ../shared/corpus (next to
# the repository root), into fuzz/corpus/<target>/ (not committed).
#   chunk_reader: distinct, not all-zero 64 KiB chunks of the corpus files,
#                 at most $MAX_CHUNKS: all of parser-samples/, then the
#                 other files' chunks evenly thinned out;
#                 quick_vs_full gets the same chunks;
#   scan_file:    the corpus files smaller than $MAX_FILE_BYTES, whole (all
#                 one-chunk files), and $MAX_CUT larger ones cut after 2 chunks
#                 and 4 KiB, so that files of several chunks get fuzzed too.
# Seeds are named by their SHA-1, as libFuzzer names its own.
# Usage: fuzz/seed.sh [corpus dir]   (env: MAX_CHUNKS=300 MAX_FILE_BYTES=204800 MAX_CUT=8)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="${1:-$here/../../shared/corpus}"
[ -d "$src" ] || { echo "seed.sh: no corpus at $src" >&2; exit 1; }
exec python3 - "$src" "$here/corpus" "${MAX_CHUNKS:-300}" "${MAX_FILE_BYTES:-204800}" "${MAX_CUT:-8}" <<'PY'
import hashlib, os, sys
src, out, max_chunks, max_file, max_cut = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
HEADER, CHUNK = 4096, 65536
files = sorted(os.path.join(d, f) for d, _, fs in os.walk(src) for f in fs if f.lower().endswith(".evtx"))

def save(dir, data):
    os.makedirs(dir, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    path = os.path.join(dir, name)
    if os.path.exists(path):
        return False
    with open(path, "wb") as f:
        f.write(data)
    return True

# chunk_reader: every chunk of the parser's edge cases (parser-samples/:
# bad chunk magic, bad string cache, no CRC32...) first, then the other files'
# chunks, chunk k of each file before chunk k+1 of any, evenly thinned out to
# the cap so that every folder (ATT&CK tactic) keeps some.
first, rest = [], []
for p in files:
    with open(p, "rb") as f:
        data = f.read()
    chunks = [data[o:o + CHUNK] for o in range(HEADER, len(data), CHUNK)]
    chunks = [c for c in chunks if any(c)]
    if "parser-samples" in os.path.relpath(p, src).split(os.sep):
        first.extend(chunks)
    else:
        rest.append(chunks)
rest = [cs[k] for k in range(max(map(len, rest), default=0)) for cs in rest if k < len(cs)]
seen = set()
def distinct(chunks):
    out = []
    for c in chunks:
        h = hashlib.sha1(c).digest()
        if h not in seen:
            seen.add(h)
            out.append(c)
    return out
first, rest = distinct(first)[:max_chunks], distinct(rest)
room = max_chunks - len(first)
if len(rest) > room:
    rest = [rest[i * len(rest) // room] for i in range(room)] if room > 0 else []
n = sum(save(os.path.join(out, "chunk_reader"), c) for c in first + rest)
# quick_vs_full reads the same chunks.
for c in first + rest:
    save(os.path.join(out, "quick_vs_full"), c)
print(f"chunk_reader: {len(first) + len(rest)} chunks from {len(files)} files ({n} new)")

m = 0
for p in files:
    if os.path.getsize(p) < max_file:
        with open(p, "rb") as f:
            m += save(os.path.join(out, "scan_file"), f.read())
# Every corpus file that small holds a single chunk, so the fuzzer would never
# build a file of several: add a few larger files cut short (header, two
# chunks, 4 KiB of the third), from the parser's edge cases first (bad chunk
# magic, bad string cache).
cuts = [p for p in files if os.path.getsize(p) >= max_file]
cuts.sort(key=lambda p: ("parser-samples" not in os.path.relpath(p, src).split(os.sep), "bad" not in os.path.basename(p)))
c = 0
for p in cuts[:max_cut]:
    with open(p, "rb") as f:
        c += save(os.path.join(out, "scan_file"), f.read(HEADER + 2 * CHUNK + 4096))
print(f"scan_file: {m + c} new: files under {max_file} bytes ({m}), larger ones cut short ({c})")
PY
