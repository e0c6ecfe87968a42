#!/usr/bin/env bash
# vpce-audit reading access logs from S3 at its default settings, against the tools an
# auditor would copy them with, in one run, behind a proxy that gives every response
# the latency of real S3; then the listing of a million keys. Prints the results as
# Markdown and writes them into docs/performance.md between its own markers (the rest
# of the page is left as it is). From a clean clone: `benches/compare_s3.sh` (about 15
# minutes on 2 cores, most of it building).
#
# 1. SeaweedFS (scripts/seaweedfs.sh) on 127.0.0.1 holds N log objects of 20 lines
#    (about 14 KB each, as S3 delivers them), named like S3's over a few days.
#    benches/s3/latency_proxy.py sits in front and holds the first chunk of every
#    response 25 ms. In interleaved rounds (one run of each tool per round, so a burst
#    of load on a shared machine slows all alike) it times:
#      - vpce-audit report at its defaults (adaptive requests in flight);
#      - rclone copy --transfers 128 --checkers 128 (Debian's rclone), to a local folder;
#      - aws s3 cp --recursive (the AWS CLI from PyPI), to a local folder;
#    and reports objects/s, MB/s, peak RSS and CPU seconds (median wall time, largest
#    RSS).
# 2. examples/s3_fake_listing.rs answers ListObjectsV2 from a generated key space of
#    BENCH_S3_KEYS keys (and GetObject with one line), 25 ms a request: the time
#    vpce-audit's listing takes to hand out every key, against one sequential paginator
#    of the AWS SDK (examples/s3_list.rs), with the CPU seconds, requests and keys each
#    costs the lister and the fake, and the time from starting `vpce-audit report` to
#    its first GetObject.
#
# Environment:
#   BENCH_S3_OBJECTS=10000   objects in the bucket
#   BENCH_S3_ROUNDS=3        rounds of the three readers
#   BENCH_S3_LATENCY_MS=25   latency the proxy and the fake add to each response
#   BENCH_S3_KEYS=1000000    keys of the listing-only server; 0 skips part 2
#   BENCH_DOC=docs/performance.md
#                            the page the results go into; empty: print them only
#
# Installs what is missing: GNU time and rclone from Debian, the AWS CLI from PyPI into
# a venv under target/. Objects are generated into target/bench-data/.
set -euo pipefail
cd "$(dirname "$0")/.."

OBJECTS=${BENCH_S3_OBJECTS:-10000}
ROUNDS=${BENCH_S3_ROUNDS:-3}
LATENCY=${BENCH_S3_LATENCY_MS:-25}
KEYS=${BENCH_S3_KEYS:-1000000}
DOC=${BENCH_DOC-docs/performance.md}
BEGIN='<!-- Written by benches/compare_s3.sh from here to its end marker; edit the script, not this. -->'
END='<!-- End of the part written by benches/compare_s3.sh. -->'
# benches/compare.sh keeps the page above this line and rewrites what follows it.
CORE_MARKER='<!-- Everything below this line is written by benches/compare.sh; edit above it. -->'
AWSCLI_VERSION=1.45.11
BUCKET=bench-s3

say() { echo "compare_s3: $*" >&2; }

# --- tools -------------------------------------------------------------------------
. benches/common.sh
command -v rclone >/dev/null || apt_install rclone
aws_venv=target/bench-awscli
if ! "$aws_venv/bin/aws" --version >/dev/null 2>&1; then
    say "installing awscli==$AWSCLI_VERSION into $aws_venv"
    python3 -m venv "$aws_venv"
    "$aws_venv/bin/pip" install --quiet --disable-pip-version-check "awscli==$AWSCLI_VERSION"
fi
AWS="$aws_venv/bin/aws"

# The release build a user installs, with the `s3` feature.
say "building release binaries"
cargo build --release --quiet --bin vpce-audit --example generate --example s3_list --example s3_fake_listing
BIN=target/release/vpce-audit

# --- the server and the objects -----------------------------------------------------
source scripts/seaweedfs.sh
tmp=$(mktemp -d)
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
    stop_seaweedfs
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

data=target/bench-data/s3-objects-$OBJECTS
if [ ! -e "$data/done" ]; then
    say "generating $OBJECTS objects of 20 lines into $data"
    rm -rf "$data"
    mkdir -p "$data/logs"
    target/release/examples/generate $((OBJECTS * 20)) 7 | python3 -c '
import sys, time
objects, folder = int(sys.argv[1]), sys.argv[2]
start = 1651363200  # 2022-05-01T00:00:00Z
lines = sys.stdin.buffer.readlines()
for i in range(objects):
    # Delivered every ~30 s on average over the days the objects span, as S3 names them.
    stamp = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(start + i * 30))
    with open(f"{folder}/{stamp}-{i:016X}", "wb") as f:
        f.writelines(lines[i * 20:(i + 1) * 20])
' "$OBJECTS" "$data/logs"
    touch "$data/done"
fi
bytes=$(du -sb "$data/logs" | cut -f1)

# rclone's S3 remotes from the environment: `direct:` to the server, `slow:` through
# the proxy. rclone refuses to start with AWS_CA_BUNDLE set.
rclone_remote() {
    local name=$1 endpoint=$2
    export "RCLONE_CONFIG_${name}_TYPE=s3" "RCLONE_CONFIG_${name}_PROVIDER=Other" \
        "RCLONE_CONFIG_${name}_ENDPOINT=$endpoint" "RCLONE_CONFIG_${name}_REGION=us-east-1" \
        "RCLONE_CONFIG_${name}_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID" \
        "RCLONE_CONFIG_${name}_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY"
}
RCLONE=(env -u AWS_CA_BUNDLE rclone --config /dev/null)
rclone_remote DIRECT "$VPCE_AUDIT_TEST_S3_ENDPOINT"
say "uploading $OBJECTS objects"
"$AWS" --endpoint-url "$VPCE_AUDIT_TEST_S3_ENDPOINT" s3 mb "s3://$BUCKET" >/dev/null
"${RCLONE[@]}" copy --transfers 32 --checkers 32 "$data/logs" "direct:$BUCKET/logs"

proxy_port=$(free_port)
python3 benches/s3/latency_proxy.py "$proxy_port" "${VPCE_AUDIT_TEST_S3_ENDPOINT##*:}" "$LATENCY" &
pids+=($!)
ENDPOINT="http://127.0.0.1:$proxy_port"
rclone_remote SLOW "$ENDPOINT"
for _ in $(seq 50); do
    python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$proxy_port" 2>/dev/null && break
    sleep 0.1
done

# --- part 1: the readers, interleaved -------------------------------------------------
# Each reader is a script of its own, timed by GNU time (peak RSS of the reader, its CPU).
results="$tmp/results.tsv"
rclone_up=$(printf '%q ' "${RCLONE[@]}" copy --transfers 128 --checkers 128 "slow:$BUCKET/logs" "$tmp/copy")
printf 'exec %q report --format json --output %q --endpoint-url %q %q\n' \
    "$BIN" "$tmp/report.json" "$ENDPOINT" "s3://$BUCKET/logs/" >"$tmp/reader0.sh"
printf 'rm -rf %q && mkdir -p %q && exec %s\n' "$tmp/copy" "$tmp/copy" "$rclone_up" >"$tmp/reader1.sh"
printf 'rm -rf %q && mkdir -p %q && exec %q --endpoint-url %q s3 cp --recursive --quiet %q %q\n' \
    "$tmp/copy" "$tmp/copy" "$AWS" "$ENDPOINT" "s3://$BUCKET/logs/" "$tmp/copy" >"$tmp/reader2.sh"
names=("vpce-audit report (defaults)" "rclone copy --transfers 128 --checkers 128" "aws s3 cp --recursive")
count() {
    if [ "$1" = 0 ]; then
        python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["summary"]["s3"]["objects_read"])' "$tmp/report.json"
    else
        find "$tmp/copy" -type f | wc -l
    fi
}
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for ((round = 1; round <= ROUNDS; round++)); do
    for i in 0 1 2; do
        say "round $round of $ROUNDS: ${names[$i]}"
        start=$EPOCHREALTIME
        if ! /usr/bin/time -f '%M %U %S' -o "$tmp/time" bash "$tmp/reader$i.sh" >"$tmp/out" 2>"$tmp/err"; then
            say "${names[$i]} failed:"
            tail -n 5 "$tmp/err" >&2
            continue
        fi
        end=$EPOCHREALTIME
        read -r rss user sys <"$tmp/time"
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$i" "${names[$i]}" "$(awk "BEGIN {print $end - $start}")" \
            "$rss" "$(awk "BEGIN {print $user + $sys}")" "$(count "$i")" >>"$results"
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- part 2: a million keys ---------------------------------------------------------
listing="$tmp/listing.tsv"
: >"$listing"
if [ "$KEYS" -gt 0 ]; then
    fake_port=$(free_port)
    target/release/examples/s3_fake_listing "$fake_port" "$KEYS" "$LATENCY" &
    fake_pid=$!
    pids+=($fake_pid)
    FAKE="http://127.0.0.1:$fake_port"
    # The fake's counters (LIST requests, keys its answers held) and its CPU seconds.
    fake_stats() {
        python3 -c 'import json, os, sys, urllib.request
s = json.load(urllib.request.urlopen(sys.argv[1] + "/__stats"))
stat = open(f"/proc/{sys.argv[2]}/stat").read().rsplit(")", 1)[1].split()
print(s["list"], s["keys"], (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK"))' "$FAKE" "$fake_pid"
    }
    for _ in $(seq 100); do fake_stats >/dev/null 2>&1 && break; sleep 0.1; done
    for mode in vpce paginator; do
        say "listing $KEYS keys: $mode"
        read -r lists0 keys0 cpu0 < <(fake_stats)
        /usr/bin/time -f '%M %U %S' -o "$tmp/time" target/release/examples/s3_list "$mode" "$FAKE" s3://bench/logs/ >"$tmp/out"
        read -r lists1 keys1 cpu1 < <(fake_stats)
        read -r rss user sys <"$tmp/time"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$(cat "$tmp/out")" "$rss" \
            "$(awk "BEGIN {print $user + $sys}")" $((lists1 - lists0)) $((keys1 - keys0)) \
            "$(awk "BEGIN {print $cpu1 - $cpu0}")" >>"$listing"
    done
    # Time to the first GetObject of a report over the million keys: started, then
    # stopped once the fake has seen a GetObject (or after 20 s).
    say "time to the first GetObject of vpce-audit report over $KEYS keys"
    started=$EPOCHREALTIME
    "$BIN" report --format json --output /dev/null --endpoint-url "$FAKE" s3://bench/logs/ 2>/dev/null &
    report_pid=$!
    pids+=($report_pid)
    first_get=""
    for _ in $(seq 200); do
        first_get=$(python3 -c 'import json, sys, urllib.request
print(json.load(urllib.request.urlopen(sys.argv[1] + "/__stats"))["first_get"] or "")' "$FAKE" 2>/dev/null || true)
        [ -n "$first_get" ] && break
        sleep 0.1
    done
    kill "$report_pid" 2>/dev/null || true
    wait "$report_pid" 2>/dev/null || true
    printf 'first_get\t%s\n' "$(awk "BEGIN {print ${first_get:-0} - $started}")" >>"$listing"
fi

# --- the results --------------------------------------------------------------------
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
mem=$(awk '/^MemTotal:/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain -- src examples benches Cargo.toml Cargo.lock 2>/dev/null | grep -q . && echo " (with uncommitted changes to the code)" || true)
out="$tmp/results.md"
{
cat <<EOF
## S3: results

- date: $(date -u '+%Y-%m-%d %H:%M UTC')
- machine: $(nproc) cores ($cpu), $mem memory; load average before $load_before, after $load_after (the S3 server, the proxy and the readers share the cores)
- commit: $commit$dirty
- command: \`BENCH_S3_OBJECTS=$OBJECTS BENCH_S3_ROUNDS=$ROUNDS BENCH_S3_LATENCY_MS=$LATENCY BENCH_S3_KEYS=$KEYS benches/compare_s3.sh\`
- data: $OBJECTS objects of 20 lines, $bytes bytes in all, in SeaweedFS on 127.0.0.1 behind a proxy that holds the first chunk of each response $LATENCY ms; median of $ROUNDS round(s), one run of each reader per round; MB = 10^6 bytes; CPU = user + system seconds of the reader alone

EOF
python3 - "$results" "$OBJECTS" "$bytes" "$listing" "$KEYS" <<'PYTHON'
import statistics, sys

path, objects, size, listing_path, keys = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
runs = {}
for line in open(path):
    i, name, seconds, rss, cpu, count = line.rstrip("\n").split("\t")
    runs.setdefault((int(i), name), []).append((float(seconds), int(rss), float(cpu), count.strip()))
rows = []
for (i, name), rs in sorted(runs.items()):
    seconds = statistics.median(r[0] for r in rs)
    rows.append({
        "name": name, "seconds": seconds, "rate": objects / seconds, "mbs": size / 1e6 / seconds,
        "rss": max(r[1] for r in rs) / 1024, "cpu": statistics.median(r[2] for r in rs),
        "complete": all(r[3] == str(objects) for r in rs), "runs": len(rs),
    })
print("| reader | objects/s | MB/s | peak RSS (MiB) | CPU seconds | all objects read |")
print("|---|---:|---:|---:|---:|---|")
for r in rows:
    print(f"| {r['name']} | {r['rate']:,.0f} | {r['mbs']:.1f} | {r['rss']:.0f} | {r['cpu']:.1f} | "
          f"{'yes' if r['complete'] else 'no'} ({r['runs']} runs) |")
print()
find = lambda p: next((r for r in rows if r["name"].startswith(p)), None)
vpce, rclone = find("vpce-audit"), find("rclone")
listing = {}
for line in open(listing_path):
    parts = line.split("\t")
    listing[parts[0]] = parts[1:]

print("| what | measured | goal | met |")
print("|---|---:|---:|---|")
def target(what, value, goal, unit, higher=True, fmt="{:.2f}"):
    sign = "≥" if higher else "<"
    if value is None:
        print(f"| {what} | not measured | {sign} {goal}{unit} | |")
        return
    ok = value >= goal if higher else value < goal
    print(f"| {what} | {fmt.format(value)}{unit} | {sign} {goal}{unit} | {'yes' if ok else 'no'} |")
target("vpce-audit (defaults) objects/s against rclone at 128 transfers",
       vpce and rclone and vpce["rate"] / rclone["rate"], 1.3, "×")
target("vpce-audit peak RSS", vpce and vpce["rss"], 100, " MiB", higher=False, fmt="{:.0f}")
if keys:
    def parse(mode):
        if mode not in listing:
            return None
        n, seconds, first = listing[mode][0].split()
        rss, cpu, lists, returned, fake_cpu = listing[mode][1:6]
        return (int(n), float(seconds), float(first), int(rss) / 1024, float(cpu), int(lists),
                int(returned), float(fake_cpu))
    ours, sdk = parse("vpce"), parse("paginator")
    first_get = float(listing["first_get"][0]) if "first_get" in listing else None
    target(f"time to the first GetObject of `vpce-audit report`, {keys:,} keys",
           first_get if first_get and first_get > 0 else None, 1, " s", higher=False)
    target(f"listing {keys:,} keys, vpce-audit against one sequential paginator",
           ours and sdk and sdk[1] / ours[1], 10, "×")
    print()
    print("| listing of the fake's keys | keys | seconds | first key after (s) | peak RSS (MiB) "
          "| CPU seconds | LIST requests | keys in the answers | the fake's CPU seconds |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, r in [("vpce-audit (examples/s3_list.rs vpce)", ours),
                     ("one ListObjectsV2 paginator of the AWS SDK (examples/s3_list.rs paginator)", sdk)]:
        if r:
            print(f"| {label} | {r[0]:,} | {r[1]:.2f} | {r[2]:.2f} | {r[3]:.0f} | {r[4]:.2f} | "
                  f"{r[5]:,} | {r[6]:,} | {r[7]:.2f} |")
PYTHON
} >"$out"

echo
cat "$out"
if [ -n "$DOC" ]; then
    python3 benches/write_section.py "$DOC" "$out" "$BEGIN" "$END" "$CORE_MARKER"
    say "results written into $DOC"
fi
