#!/usr/bin/env bash
# What hashing costs: `report` with and without --evidence-hashes (SHA-256 of the
# stored bytes), `check` with and without a --state file (SHA-256 of the decoded bytes,
# the identity of each log), on the same synthetic logs, plain and gzipped. Prints a
# Markdown table of median wall times; docs/check.md quotes it. From a clean clone:
# `benches/digest.sh` (a few minutes on 2 cores).
#
# Environment:
#   BENCH_LINES=1000000  lines generated (about 700 MB)
#   BENCH_SEED=1         generator seed
#   BENCH_RUNS=5         rounds; one run of each command per round, the median is shown
set -euo pipefail
cd "$(dirname "$0")/.."

LINES=${BENCH_LINES:-1000000}
SEED=${BENCH_SEED:-1}
RUNS=${BENCH_RUNS:-5}

say() { echo "digest: $*" >&2; }

say "building release binaries"
cargo build --release --quiet --no-default-features --bin vpce-audit --example generate
BIN=target/release/vpce-audit

data=target/bench-data
mkdir -p "$data"
file="$data/s3-access-$LINES-seed$SEED.log"
if [ ! -s "$file" ]; then
    say "generating $LINES lines into $file"
    target/release/examples/generate "$LINES" "$SEED" >"$file.tmp"
    mv "$file.tmp" "$file"
fi
gz="$file.gz"
[ -s "$gz" ] || gzip -1 -c "$file" >"$gz"
cat "$file" "$gz" >/dev/null

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The commands, by name. A check with a state starts from a fresh state each time, so
# that every run reads (and hashes) the whole input.
names=()
commands=()
add() {
    names+=("$1")
    commands+=("$2")
}
for input in "$file" "$gz"; do
    kind=plain
    [ "$input" = "$gz" ] && kind=gzip
    for t in 1 2; do
        add "report, $kind, $t thread(s)" \
            "$BIN report --threads $t --format json -o $tmp/r.json $input"
        add "report --evidence-hashes, $kind, $t thread(s)" \
            "$BIN report --threads $t --evidence-hashes --format json -o $tmp/r.json $input"
        add "check, $kind, $t thread(s)" \
            "$BIN check --threads $t --require-private '*' --allow-no-evidence --format json -o $tmp/c.json $input || [ \$? = 1 ]"
        add "check --state, $kind, $t thread(s)" \
            "rm -f $tmp/state.json; $BIN check --threads $t --require-private '*' --allow-no-evidence --max-age 1000d --state $tmp/state.json --format json -o $tmp/c.json $input || [ \$? = 1 ]"
    done
done

for ((round = 1; round <= RUNS; round++)); do
    for i in "${!names[@]}"; do
        say "round $round of $RUNS: ${names[$i]}"
        start=$EPOCHREALTIME
        bash -c "${commands[$i]}" >/dev/null 2>"$tmp/err" || {
            cat "$tmp/err" >&2
            exit 1
        }
        end=$EPOCHREALTIME
        awk "BEGIN {print $end - $start}" >>"$tmp/times$i"
    done
done

bytes=$(stat -c %s "$file")
echo "Measured $(date -u +%Y-%m-%d) on $(nproc) core(s) ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), commit $(git rev-parse --short HEAD), $LINES lines ($((bytes / 1000000)) MB plain), median of $RUNS runs:"
echo
echo "| command | seconds | MB/s (plain bytes) |"
echo "| --- | ---: | ---: |"
for i in "${!names[@]}"; do
    median=$(sort -g "$tmp/times$i" | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
    printf '| %s | %.2f | %.0f |\n' "${names[$i]}" "$median" "$(awk "BEGIN {print $bytes / 1000000 / $median}")"
done
