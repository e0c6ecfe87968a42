#!/usr/bin/env bash
# vpce-audit against the baselines and the tools auditors use today, on the same
# synthetic logs, in one run. Prints the results as Markdown and writes them into
# docs/performance.md below its marker line (the text above the marker is kept as it
# is). From a clean clone: `benches/compare.sh` (about 10 minutes on 2 cores).
#
# Environment:
#   BENCH_LINES=2200000  lines generated (2.2M lines ≈ 1.55 GB); smaller for a quick run
#   BENCH_SEED=1         generator seed
#   BENCH_RUNS=5         rounds of the fast commands (vpce-audit, baselines, DuckDB CSV),
#                        one run of each per round; the median is shown
#   BENCH_SLOW_PART=10   the slow tools (GoAccess, DuckDB with the Athena regex, Python
#                        re) read the first 1/N of the lines, once; 1 = the whole file
#   BENCH_BIG=1          also pipe the file 7 times (≈ 10 GB) into `vpce-audit -` to show
#                        that peak memory does not grow with the input
#   BENCH_DOC=docs/performance.md
#                        the page the results are written into; empty: print them only
#
# Installs what is missing: GNU time and GoAccess from Debian, DuckDB from PyPI into a
# venv under target/. Data is cached in target/bench-data/, keyed by lines and seed.
set -euo pipefail
cd "$(dirname "$0")/.."

LINES=${BENCH_LINES:-2200000}
SEED=${BENCH_SEED:-1}
RUNS=${BENCH_RUNS:-5}
SLOW_PART=${BENCH_SLOW_PART:-10}
BIG=${BENCH_BIG:-0}
DOC=${BENCH_DOC-docs/performance.md}
# The line of $DOC that ends its hand-written part (kept); the results follow it.
MARKER='<!-- Everything below this line is written by benches/compare.sh; edit above it. -->'
DUCKDB_VERSION=2.0.1

say() { echo "compare: $*" >&2; }

# --- tools -------------------------------------------------------------------------
. benches/common.sh
command -v goaccess >/dev/null || apt_install goaccess || say "GoAccess unavailable, skipped"

venv=target/bench-venv
if ! "$venv/bin/python" -c 'import duckdb' 2>/dev/null; then
    say "installing duckdb==$DUCKDB_VERSION into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "duckdb==$DUCKDB_VERSION"
fi
PY="$venv/bin/python"

# Built without the `s3` feature: the AWS SDK in this LTO release build alone would
# take 10+ minutes on 2 cores, and S3 plays no part in reading a local file.
say "building release binaries"
cargo build --release --quiet --no-default-features \
    --bin vpce-audit --example generate --example baseline
BIN=target/release/vpce-audit
BASELINE=target/release/examples/baseline

# --- data --------------------------------------------------------------------------
data=target/bench-data
mkdir -p "$data"
file="$data/s3-access-$LINES-seed$SEED.log"
if [ ! -s "$file" ]; then
    say "generating $LINES lines into $file"
    target/release/examples/generate "$LINES" "$SEED" >"$file.tmp"
    mv "$file.tmp" "$file"
fi
slow_lines=$((LINES / SLOW_PART))
slow_file="$file"
if [ "$SLOW_PART" -gt 1 ]; then
    slow_file="$data/s3-access-$LINES-seed$SEED-first$slow_lines.log"
    [ -s "$slow_file" ] || head -n "$slow_lines" "$file" >"$slow_file"
fi
bytes=$(stat -c %s "$file")
slow_bytes=$(stat -c %s "$slow_file")
# Warm the page cache: every tool reads from memory, none from disk.
cat "$file" "$slow_file" >/dev/null

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
results="$tmp/results.tsv"

# The competitors written in Python: the regular expression AWS documents for the
# Athena table of S3 server access logs (RegexSerDe), applied by DuckDB and by Python's
# re, and DuckDB's CSV reader with the timestamp split in two columns ("[date" and
# "+0000]"). Each answers the audit's question the way an auditor would write it: per
# bucket and hour, the requests from private addresses (10/8, 172.16/12, 192.168/16,
# 100.64/10, fc00::/7), from public ones, and from S3 itself (`-`), and how many were
# denied (403); it prints the number of lines it could read as records.
cat >"$tmp/competitors.py" <<'PYTHON'
import re
import sys

ATHENA_REGEX = (
    r'([^ ]*) ([^ ]*) \[(.*?)\] ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ("[^"]*"|-) '
    r'(-|[0-9]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ("[^"]*"|-) ([^ ]*)'
    r'(?: ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*))?.*$'
)

# The address classes, as an auditor writes them: by text prefix and second octet.
PRIVATE = re.compile(
    rb"(?:10\.|192\.168\.|172\.(?:1[6-9]|2[0-9]|3[01])\.|100\.(?:6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\.|[fF][cCdD][0-9a-fA-F]{0,2}:)"
)
CLASS_SQL = """CASE WHEN {ip} = '-' THEN 'internal'
    WHEN regexp_matches({ip}, '^(10\\.|192\\.168\\.|172\\.(1[6-9]|2[0-9]|3[01])\\.|100\\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\\.|[fF][cCdD][0-9a-fA-F]{{0,2}}:)')
    THEN 'private' ELSE 'public' END"""

mode, path, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
if mode == "python-re":
    regex = re.compile(ATHENA_REGEX.encode())
    groups = {}
    with open(path, "rb") as f:
        for line in f:
            m = regex.match(line)
            if m:
                ip = m.group(4)
                cls = "internal" if ip == b"-" else "private" if PRIVATE.match(ip) else "public"
                key = (m.group(2), m.group(3)[:14], cls)
                n, denied = groups.get(key, (0, 0))
                groups[key] = (n + 1, denied + (m.group(10) == b"403"))
    print(f"{sum(n for n, _ in groups.values())} lines read as records, {len(groups)} groups")
    sys.exit(0)

import duckdb

con = duckdb.connect()
con.execute(f"SET threads = {threads}")
if mode == "duckdb-regex":
    # One line per row: a delimiter that never occurs, no quoting.
    sql = f"""
        WITH lines AS (
            SELECT regexp_extract(line, '{ATHENA_REGEX}',
                                  ['owner', 'bucket', 'time', 'ip', 'requester', 'id',
                                   'operation', 'key', 'uri', 'status']) AS r
            FROM read_csv('{path}', columns = {{'line': 'VARCHAR'}}, header = false,
                          auto_detect = false, delim = '\x01', quote = '', escape = '')
        )
        SELECT sum(n), count(*) FROM (
            SELECT r.bucket, substr(r.time, 1, 14), {CLASS_SQL.format(ip="r.ip")},
                   count(*) AS n, count(*) FILTER (r.status = '403') AS denied
            FROM lines WHERE r.bucket <> '' GROUP BY ALL)"""
else:
    columns = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(28))
    sql = f"""
        SELECT sum(n), count(*) FROM (
            SELECT c1, substr(c2, 2, 14), {CLASS_SQL.format(ip="c4")},
                   count(*) AS n, count(*) FILTER (c10 = '403') AS denied
            FROM read_csv('{path}', columns = {{{columns}}}, header = false,
                          auto_detect = false, delim = ' ', quote = '"', escape = '"',
                          strict_mode = false, null_padding = true)
            GROUP BY ALL)"""
records, groups = con.execute(sql).fetchone()
print(f"{records or 0} lines read as records, {groups} groups")
PYTHON

# measure NAME THREADS PART COUNTER COMMAND...: runs COMMAND once (stdout to $tmp/out)
# under GNU time, and appends its wall time, peak RSS and the record count that COUNTER
# reads from the output to $results. For the slow tools.
measure() {
    local name=$1 threads=$2 part=$3 counter=$4
    shift 4
    say "$name ($threads thread(s), 1 run)"
    local start=$EPOCHREALTIME
    if ! /usr/bin/time -v -o "$tmp/time" "$@" >"$tmp/out" 2>"$tmp/err"; then
        say "$name failed:"
        tail -n 5 "$tmp/err" >&2
        printf '%s\t%s\t%s\tfailed\t-\t-\n' "$name" "$threads" "$part" >>"$results"
        return
    fi
    local end=$EPOCHREALTIME
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$threads" "$part" "$($counter)" \
        "$(awk "BEGIN {print $end - $start}")" \
        "$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/time")" >>"$results"
}

# fast NAME THREADS COUNTER COMMAND...: registers a command on the whole file for
# run_fast, which runs the registered commands in RUNS rounds, one run of each per
# round: a burst of load on this shared machine then slows every tool alike, not the
# runs of one. It appends each command's median wall time, largest peak RSS and record
# count to $results.
fast_count=0
fast() {
    local name=$1 threads=$2 counter=$3
    shift 3
    printf '%s\t%s\t%s\n' "$name" "$threads" "$counter" >"$tmp/fast$fast_count.meta"
    printf 'exec' >"$tmp/fast$fast_count.sh"
    printf ' %q' "$@" >>"$tmp/fast$fast_count.sh"
    fast_count=$((fast_count + 1))
}
run_fast() {
    local round i name threads counter start end
    for ((round = 1; round <= RUNS; round++)); do
        for ((i = 0; i < fast_count; i++)); do
            IFS=$'\t' read -r name threads counter <"$tmp/fast$i.meta"
            [ -e "$tmp/fast$i.failed" ] && continue
            say "round $round of $RUNS: $name ($threads thread(s))"
            start=$EPOCHREALTIME
            if ! /usr/bin/time -v -o "$tmp/time" bash "$tmp/fast$i.sh" >"$tmp/out" 2>"$tmp/err"; then
                say "$name failed:"
                tail -n 5 "$tmp/err" >&2
                touch "$tmp/fast$i.failed"
                continue
            fi
            end=$EPOCHREALTIME
            awk "BEGIN {print $end - $start}" >>"$tmp/fast$i.times"
            awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/time" >>"$tmp/fast$i.rss"
            [ -s "$tmp/fast$i.count" ] || $counter >"$tmp/fast$i.count"
        done
    done
    local median rss
    for ((i = 0; i < fast_count; i++)); do
        IFS=$'\t' read -r name threads counter <"$tmp/fast$i.meta"
        if [ -e "$tmp/fast$i.failed" ]; then
            printf '%s\t%s\tfull\tfailed\t-\t-\n' "$name" "$threads" >>"$results"
            continue
        fi
        median=$(sort -g "$tmp/fast$i.times" | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
        rss=$(sort -n "$tmp/fast$i.rss" | tail -n 1)
        printf '%s\t%s\tfull\t%s\t%s\t%s\n' "$name" "$threads" \
            "$(cat "$tmp/fast$i.count")" "$median" "$rss" >>"$results"
    done
}

audit_count() { "$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["summary"]["parsed"])' "$tmp/report.json"; }
first_number() { grep -oE '[0-9]+' "$tmp/out" | head -n 1; }
baseline_count() { awk '{print $2}' "$tmp/out"; }
goaccess_count() { "$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["general"]["valid_requests"])' "$tmp/goaccess.json"; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for t in 1 2; do
    fast "vpce-audit" "$t" audit_count \
        "$BIN" --threads "$t" --format json --output "$tmp/report.json" "$file"
done
fast "baseline byte count (memchr count)" 2 baseline_count "$BASELINE" count 2 "$file"
fast "baseline scan (memchr split)" 2 baseline_count "$BASELINE" scan 2 "$file"
for t in 1 2; do
    fast "baseline naive tokenizer" "$t" baseline_count "$BASELINE" tokenize "$t" "$file"
done
for t in 1 2; do
    fast "DuckDB read_csv, split timestamp" "$t" first_number \
        "$PY" "$tmp/competitors.py" duckdb-csv "$file" "$t"
done
run_fast
if command -v goaccess >/dev/null; then
    measure "GoAccess $(goaccess --version | grep -oE '[0-9]+\.[0-9.]*[0-9]' | head -n 1) AWSS3" \
        1 slow goaccess_count \
        goaccess "$slow_file" --log-format=AWSS3 --no-global-config -o "$tmp/goaccess.json"
fi
for t in 1 2; do
    measure "DuckDB + Athena regex" "$t" slow first_number \
        "$PY" "$tmp/competitors.py" duckdb-regex "$slow_file" "$t"
done
measure "Python re + Athena regex" 1 slow first_number \
    "$PY" "$tmp/competitors.py" python-re "$slow_file" 1
if [ "$BIG" = 1 ]; then
    copies=7
    args=()
    for ((i = 0; i < copies; i++)); do args+=("$file"); done
    cat >"$tmp/big.sh" <<EOF
set -o pipefail
cat ${args[*]} | "$BIN" --threads 2 --format json --output "$tmp/report.json" -
EOF
    measure "vpce-audit, stdin ×$copies" 2 big audit_count bash "$tmp/big.sh"
fi
# A hostile file: 4 GiB without a newline (sparse: no disk used), one over-long line,
# read with one thread and with two, in alternation, from the page cache.
no_newlines="$tmp/no-newlines.log"
truncate -s 4G "$no_newlines"
cat "$no_newlines" >/dev/null
for ((round = 1; round <= RUNS; round++)); do
    for t in 1 2; do
        say "round $round of $RUNS: vpce-audit, 4 GiB without newlines ($t thread(s))"
        start=$EPOCHREALTIME
        "$BIN" --threads "$t" --format json --output "$tmp/hostile.json" "$no_newlines" 2>/dev/null
        end=$EPOCHREALTIME
        printf '%s\t%s\n' "$t" "$(awk "BEGIN {print $end - $start}")" >>"$tmp/no-newlines.tsv"
    done
done
rm -f "$no_newlines"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- the results -------------------------------------------------------------------
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
mem=$(awk '/^MemTotal:/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
# Uncommitted changes to what is built or run here.
dirty=$(git status --porcelain -- src examples benches Cargo.toml Cargo.lock 2>/dev/null | grep -q . && echo " (with uncommitted changes to the code)" || true)
out="$tmp/results.md"
{
cat <<EOF
## Results

- date: $(date -u '+%Y-%m-%d %H:%M UTC')
- machine: $(nproc) cores ($cpu), $mem memory; load average before $load_before, after $load_after (on a shared machine the figures are noisy)
- commit: $commit$dirty
- command: \`BENCH_LINES=$LINES BENCH_SEED=$SEED BENCH_RUNS=$RUNS BENCH_SLOW_PART=$SLOW_PART BENCH_BIG=$BIG benches/compare.sh\`
- data: \`examples/generate $LINES $SEED\`: $bytes bytes, $LINES lines; the slow tools read the first $slow_lines lines ($slow_bytes bytes) once, and their MB/s is for that part; the others: median of $RUNS round(s) on the whole file (one run of each tool per round), warm page cache; MB = 10^6 bytes

EOF
"$PY" - "$results" "$bytes" "$LINES" "$slow_bytes" "$slow_lines" <<'PYTHON'
import sys

path, full_bytes, full_lines, slow_bytes, slow_lines = sys.argv[1], *map(int, sys.argv[2:])
rows = []
for line in open(path):
    name, threads, part, count, seconds, rss_kb = line.rstrip("\n").split("\t")
    size, lines = {"full": (full_bytes, full_lines), "slow": (slow_bytes, slow_lines),
                   "big": (7 * full_bytes, 7 * full_lines)}[part]
    failed = count == "failed"
    rows.append({
        "name": name, "threads": int(threads), "part": part, "size": size,
        "lines": lines, "count": None if failed else int(count),
        "mbs": None if failed else size / 1e6 / float(seconds),
        "seconds": None if failed else float(seconds),
        "rss": None if failed else int(rss_kb) / 1024,
    })

def find(name, threads):
    return next((r for r in rows if r["name"].startswith(name) and r["threads"] == threads
                 and r["mbs"] is not None), None)

audit2 = find("vpce-audit", 2)
print("| tool | threads | input | records read / lines | MB/s | lines/s | peak RSS (MiB) | vpce-audit 2 threads is this many times as fast |")
print("|---|---:|---|---:|---:|---:|---:|---:|")
for r in rows:
    part = {"full": f"{r['size'] / 1e9:.2f} GB", "slow": f"first {r['size'] / 1e6:.0f} MB",
            "big": f"{r['size'] / 1e9:.1f} GB via stdin"}[r["part"]]
    if r["mbs"] is None:
        print(f"| {r['name']} | {r['threads']} | {part} | failed | | | | |")
        continue
    records = f"{r['count']:,} / {r['lines']:,}"
    if r["count"] != r["lines"] and not r["name"].startswith("baseline"):
        records += f" ({100 * (r['lines'] - r['count']) / r['lines']:.1f}% lost)"
    ratio = f"{audit2['mbs'] / r['mbs']:.2f}×" if audit2 and r is not audit2 else ""
    print(f"| {r['name']} | {r['threads']} | {part} | {records} | {r['mbs']:,.0f} | "
          f"{r['lines'] / r['seconds']:,.0f} | {r['rss']:.0f} | {ratio} |")

print()
print("| what | measured | goal | met |")
print("|---|---:|---:|---|")
def target(what, value, goal, unit="×", higher=True):
    sign = "≥" if higher else "<"
    if value is None:
        print(f"| {what} | not measured | {sign} {goal:,}{unit} | |")
        return
    ok = value >= goal if higher else value < goal
    fmt = f"{value:.2f}" if unit == "×" else f"{value:,.0f}"
    print(f"| {what} | {fmt}{unit} | {sign} {goal:,}{unit} | {'yes' if ok else 'no'} |")

def ratio(other):
    return audit2["mbs"] / other["mbs"] if audit2 and other else None

audit1 = find("vpce-audit", 1)
target("vpce-audit 2 threads, MB/s", audit2 and audit2["mbs"], 2000, " MB/s")
target("vpce-audit 1 thread (per core), MB/s", audit1 and audit1["mbs"], 1000, " MB/s")
target("vs byte count (every byte touched once), 2 threads",
       ratio(find("baseline byte count", 2)), 0.35)
target("vs bare scan, 2 threads", ratio(find("baseline scan", 2)), 0.3)
target("vs naive tokenizer, 2 threads", ratio(find("baseline naive tokenizer", 2)), 1.1)
target("vs GoAccess", ratio(find("GoAccess", 1)), 40)
target("vs DuckDB + Athena regex, 2 threads", ratio(find("DuckDB + Athena regex", 2)), 40)
target("vs DuckDB read_csv (best correct option), 2 threads",
       ratio(find("DuckDB read_csv", 2)), 5)
for r in rows:
    if r["name"].startswith("vpce-audit") and r["rss"] is not None:
        label = f"peak RSS, {r['name']} {r['threads']} thread(s), {r['size'] / 1e9:.2f} GB"
        target(label, r["rss"], 100, " MiB", higher=False)
    if r["name"].startswith("vpce-audit") and r["count"] is not None and r["count"] != r["lines"]:
        print(f"| records read by {r['name']} {r['threads']} thread(s) | {r['count']:,} | {r['lines']:,} | no |")
PYTHON
echo
echo "A file of 4 GiB without a newline (one over-long line, rejected), median of $RUNS round(s):"
echo
"$PY" - "$tmp/no-newlines.tsv" <<'PYTHON'
import statistics
import sys

times = {}
for line in open(sys.argv[1]):
    threads, seconds = line.split()
    times.setdefault(int(threads), []).append(float(seconds))
one, two = (statistics.median(times[t]) for t in (1, 2))
print("| threads | seconds |")
print("|---:|---:|")
for t, s in ((1, one), (2, two)):
    print(f"| {t} | {s:.2f} |")
print()
print("| what | measured | goal | met |")
print("|---|---:|---:|---|")
print(f"| 2 threads against 1, no newlines | {two / one:.2f}× the time | ≤ 1× | {'yes' if two <= one else 'no'} |")
PYTHON
} >"$out"

echo
cat "$out"
if [ -n "$DOC" ]; then
    # Keep the page up to its marker line; a page without one is replaced by a title,
    # the marker and the results.
    if [ -f "$DOC" ] && grep -qxF "$MARKER" "$DOC"; then
        awk -v m="$MARKER" '{print} $0 == m {exit}' "$DOC" >"$tmp/doc.md"
    else
        printf '# Performance\n\n%s\n' "$MARKER" >"$tmp/doc.md"
    fi
    { echo; cat "$out"; } >>"$tmp/doc.md"
    mkdir -p "$(dirname "$DOC")"
    mv "$tmp/doc.md" "$DOC"
    say "results written into $DOC"
fi
