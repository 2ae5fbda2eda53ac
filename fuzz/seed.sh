#!/usr/bin/env bash
# Builds the seed corpora for the fuzz targets from ../shared/corpus (next to
# the repository root), into fuzz/corpus/<target>/ (not committed).
#   chunk_reader: distinct, not all-zero 64 KiB chunks of the corpus files,
#                 at most $MAX_CHUNKS: all of parser-samples/, then the
#                 other files' chunks evenly thinned out;
#   scan_file:    the corpus files smaller than $MAX_FILE_BYTES, whole.
# Seeds are named by their SHA-1, as libFuzzer names its own.
# Usage: fuzz/seed.sh [corpus dir]   (env: MAX_CHUNKS=300 MAX_FILE_BYTES=204800)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="${1:-$here/../../shared/corpus}"
[ -d "$src" ] || { echo "seed.sh: no corpus at $src" >&2; exit 1; }
exec python3 - "$src" "$here/corpus" "${MAX_CHUNKS:-300}" "${MAX_FILE_BYTES:-204800}" <<'PY'
import hashlib, os, sys
src, out, max_chunks, max_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
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
print(f"chunk_reader: {n} chunks from {len(files)} files")

m = 0
for p in files:
    if os.path.getsize(p) < max_file:
        with open(p, "rb") as f:
            m += save(os.path.join(out, "scan_file"), f.read())
print(f"scan_file: {m} files under {max_file} bytes")
PY
