#!/usr/bin/env bash
# The memory of many buckets and many windows: the peak resident memory of every output
# format of `report`, `requests` and `check` on one million buckets of one request each,
# and on one bucket of one million one-minute windows (every third request public, every
# third internal). Prints the results as Markdown and writes them into
# docs/performance.md between its own markers. From a clean clone: `benches/memory.sh`
# (about 15 minutes on 2 cores with the build).
#
# Environment:
#   BENCH_MEMORY_LINES=1000000  buckets in the first file, windows in the second
#   BENCH_RUNS=3                runs of each command; the largest peak is shown
#   BENCH_THREADS=2             --threads
#   BENCH_BIN=                  measure this binary instead of building the release one
#   BENCH_DOC=docs/performance.md
#                               the page the results go into; empty: print them only
set -euo pipefail
cd "$(dirname "$0")/.."

LINES=${BENCH_MEMORY_LINES:-1000000}
RUNS=${BENCH_RUNS:-3}
THREADS=${BENCH_THREADS:-2}
DOC=${BENCH_DOC-docs/performance.md}
BEGIN='<!-- Written by benches/memory.sh from here to its end marker; edit the script, not this. -->'
END='<!-- End of the part written by benches/memory.sh. -->'
CORE_MARKER='<!-- Everything below this line is written by benches/compare.sh; edit above it. -->'

say() { echo "memory: $*" >&2; }
. benches/common.sh

BIN=${BENCH_BIN:-}
if [ -z "$BIN" ]; then
    say "building the release binary"
    cargo build --release --quiet --bin vpce-audit
    BIN=target/release/vpce-audit
fi

data=target/bench-data
mkdir -p "$data"
# One record a line: LINES buckets of one request each, or one bucket and a request a
# minute (the same lines as tests/it/limits.rs).
generate() {
    python3 - "$1" "$2" "$3" <<'PYTHON'
import datetime, sys
lines, buckets, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
base = datetime.date(2020, 1, 1)
with open(path, "w") as f:
    for i in range(lines):
        ip = ["10.0.0.1", f"52.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}", "-"][i % 3]
        bucket, minute = (0, i) if buckets == 1 else (i, 0)
        day = base + datetime.timedelta(days=minute // 1440)
        f.write(
            f"o bucket-{bucket:07} [{day:%d/%b/%Y}:{minute // 60 % 24:02}:{minute % 60:02}:00 +0000] "
            f"{ip} arn:aws:sts::111122223333:assumed-role/r/i-1 REQ REST.GET.OBJECT k "
            '"GET /k HTTP/1.1" 200 - 1 1 1 1 "-" "ua"\n'
        )
PYTHON
}
buckets="$data/memory-buckets-$LINES.log"
windows="$data/memory-windows-$LINES.log"
[ -s "$buckets" ] || { say "generating $buckets"; generate "$LINES" "$LINES" "$buckets"; }
[ -s "$windows" ] || { say "generating $windows"; generate "$LINES" 1 "$windows"; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
commands=(
    "report --interval 1m --format table"
    "report --interval 1m --format json"
    "report --interval 1m --format csv"
    "report --interval 1m --format html"
    "requests --format ndjson"
    "check --require-private * --interval 1m --format table"
    "check --require-private * --interval 1m --format json"
    "check --require-private * --interval 1m --format csv"
    "check --require-private * --interval 1m --format html"
)
for round in $(seq "$RUNS"); do
    for i in "${!commands[@]}"; do
        for file in buckets windows; do
            path=$buckets
            [ "$file" = windows ] && path=$windows
            # shellcheck disable=SC2086 # the command's words, `*` quoted by set -f
            set -f
            args=(${commands[$i]})
            set +f
            say "round $round: ${commands[$i]} ($file)"
            /usr/bin/time -f '%M' -o "$tmp/rss" \
                "$BIN" "${args[@]}" --threads "$THREADS" --quiet "$path" \
                >/dev/null 2>"$tmp/stderr" || true
            printf '%s\t%s\t%s\t%s\n' "$i" "${commands[$i]}" "$file" "$(tail -1 "$tmp/rss")" \
                >>"$tmp/results.tsv"
        done
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//' | cut -d' ' -f1-2)
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
{
cat <<EOF
## Memory: results

- date: $(date -u '+%Y-%m-%d %H:%M UTC')
- machine: $(nproc) cores ($cpu); load average before $load_before, after $load_after
- commit: $commit
- command: \`BENCH_MEMORY_LINES=$LINES BENCH_RUNS=$RUNS BENCH_THREADS=$THREADS benches/memory.sh\`
- data: $LINES buckets of one request each ($(stat -c %s "$buckets") bytes), and one bucket of $LINES one-minute windows ($(stat -c %s "$windows") bytes); \`--threads $THREADS\`; the largest peak RSS of $RUNS run(s), in MB (10^6 bytes) as GNU \`time\` reports it

EOF
python3 - "$tmp/results.tsv" <<'PYTHON'
import sys
peaks = {}
for line in open(sys.argv[1]):
    i, command, file, kib = line.rstrip("\n").split("\t")
    key = (int(i), command)
    peaks.setdefault(key, {}).setdefault(file, []).append(int(kib) if kib.isdigit() else 0)
print("| command | many buckets (MB) | many windows (MB) |")
print("|---|---:|---:|")
for (i, command), files in sorted(peaks.items()):
    mb = lambda f: f"{max(files[f]) * 1024 / 1e6:,.0f}"
    shown = command.replace("*", "'*'")
    print(f"| `{shown}` | {mb('buckets')} | {mb('windows')} |")
PYTHON
} >"$tmp/results.md"

echo
cat "$tmp/results.md"
if [ -n "$DOC" ]; then
    python3 benches/write_section.py "$DOC" "$tmp/results.md" "$BEGIN" "$END" "$CORE_MARKER"
    say "results written into $DOC"
fi
