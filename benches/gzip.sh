#!/usr/bin/env bash
# How fast a large .gz can be decompressed, by the ways well-kept crates offer, in one
# run: zlib-rs through flate2 streaming (what vpce-audit uses), libdeflate through
# libdeflater on the whole member (which needs the whole input and output in memory),
# and libdeflate on two threads, one member each, on the same data cut into members of
# 64 MiB (concatenated gzip members; the member offsets are given, which a reader of an
# arbitrary file does not have). Then vpce-audit itself on both files. Prints the
# results as Markdown and writes them into docs/performance.md between its own markers.
# From a clean clone: `benches/gzip.sh` (about 10 minutes on 2 cores).
#
# Environment:
#   BENCH_LINES=2200000  lines generated (2.2M lines ≈ 1.55 GB), as benches/compare.sh
#   BENCH_SEED=1         generator seed
#   BENCH_RUNS=3         rounds, one run of each way per round; the median is shown
#   BENCH_DOC=docs/performance.md
#                        the page the results go into; empty: print them only
set -euo pipefail
cd "$(dirname "$0")/.."

LINES=${BENCH_LINES:-2200000}
SEED=${BENCH_SEED:-1}
RUNS=${BENCH_RUNS:-3}
DOC=${BENCH_DOC-docs/performance.md}
BEGIN='<!-- Written by benches/gzip.sh from here to its end marker; edit the script, not this. -->'
END='<!-- End of the part written by benches/gzip.sh. -->'
CORE_MARKER='<!-- Everything below this line is written by benches/compare.sh; edit above it. -->'
MEMBER=$((64 << 20))

say() { echo "gzip: $*" >&2; }
. benches/common.sh

# The same release build as benches/compare_s3.sh (the `s3` feature plays no part in
# reading a local file).
say "building release binaries"
cargo build --release --quiet --bin vpce-audit --example generate --example gunzip
BIN=target/release/vpce-audit
GUNZIP=target/release/examples/gunzip

data=target/bench-data
mkdir -p "$data"
log="$data/s3-access-$LINES-seed$SEED.log"
if [ ! -s "$log" ]; then
    say "generating $LINES lines into $log"
    target/release/examples/generate "$LINES" "$SEED" >"$log.tmp"
    mv "$log.tmp" "$log"
fi
one="$log.gz"
if [ ! -s "$one" ]; then
    say "gzip $log (one member)"
    gzip -c "$log" >"$one.tmp"
    mv "$one.tmp" "$one"
fi
many="$log.members.gz"
if [ ! -s "$many" ] || [ ! -s "$many.offsets" ]; then
    say "gzip $log in members of $MEMBER bytes"
    tmp_parts=$(mktemp -d)
    split -b "$MEMBER" -d -a 4 "$log" "$tmp_parts/part."
    : >"$many.tmp"
    : >"$many.offsets"
    for part in "$tmp_parts"/part.*; do
        stat -c %s "$many.tmp" >>"$many.offsets"
        gzip -c "$part" >>"$many.tmp"
    done
    rm -rf "$tmp_parts"
    mv "$many.tmp" "$many"
fi
plain=$(stat -c %s "$log")
cat "$one" "$many" >/dev/null

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ways=(
    "zlib-rs (flate2), streaming|$GUNZIP zlib-rs $one"
    "libdeflate (libdeflater), whole member|$GUNZIP libdeflate $one"
    "libdeflate, 64 MiB members, 2 threads|$GUNZIP members $many $many.offsets 2"
    "vpce-audit --threads 2, one member|$BIN --threads 2 --format json --output /dev/null $one"
    "vpce-audit --threads 2, 64 MiB members|$BIN --threads 2 --format json --output /dev/null $many"
)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for ((round = 1; round <= RUNS; round++)); do
    for i in "${!ways[@]}"; do
        IFS='|' read -r name command <<<"${ways[$i]}"
        say "round $round of $RUNS: $name"
        start=$EPOCHREALTIME
        # shellcheck disable=SC2086
        /usr/bin/time -f '%M %U %S' -o "$tmp/time" $command >"$tmp/out"
        end=$EPOCHREALTIME
        read -r rss user sys <"$tmp/time"
        printf '%s\t%s\t%s\t%s\t%s\n' "$i" "$name" "$(awk "BEGIN {print $end - $start}")" "$rss" \
            "$(awk "BEGIN {print $user + $sys}")" >>"$tmp/results.tsv"
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
{
cat <<EOF
## gzip: results

- date: $(date -u '+%Y-%m-%d %H:%M UTC')
- machine: $(nproc) cores ($cpu); load average before $load_before, after $load_after
- commit: $commit
- command: \`BENCH_LINES=$LINES BENCH_SEED=$SEED BENCH_RUNS=$RUNS benches/gzip.sh\`
- data: \`examples/generate $LINES $SEED\`, $plain bytes, compressed by \`gzip\` (level 6) into one member of $(stat -c %s "$one") bytes, and in members of 64 MiB into $(stat -c %s "$many") bytes; median of $RUNS round(s); MB/s of decompressed bytes (MB = 10^6 bytes)

EOF
python3 - "$tmp/results.tsv" "$plain" <<'PYTHON'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    i, name, seconds, rss, cpu = line.rstrip("\n").split("\t")
    runs.setdefault((int(i), name), []).append((float(seconds), int(rss), float(cpu)))
plain = int(sys.argv[2])
base = None
print("| way | MB/s | seconds | CPU seconds | peak RSS (MiB) | against zlib-rs |")
print("|---|---:|---:|---:|---:|---:|")
for (i, name), rs in sorted(runs.items()):
    s = statistics.median(r[0] for r in rs)
    base = base or s
    print(f"| {name} | {plain / 1e6 / s:,.0f} | {s:.2f} | {statistics.median(r[2] for r in rs):.2f} | "
          f"{max(r[1] for r in rs) / 1024:,.0f} | {base / s:.2f}× |")
PYTHON
} >"$tmp/results.md"

echo
cat "$tmp/results.md"
if [ -n "$DOC" ]; then
    python3 benches/write_section.py "$DOC" "$tmp/results.md" "$BEGIN" "$END" "$CORE_MARKER"
    say "results written into $DOC"
fi
