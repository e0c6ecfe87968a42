#!/usr/bin/env python3
"""Conformance: the 72 real S3 access log lines of ../shared/conformance.

Runs the built binary (`target/debug/vpce-audit requests --format ndjson` and
`report --format json`) on real_lines.log and checks that
  * the 70 genuine lines parse and the 2 redacted ones (38, 65) are rejected with a
    reason naming the remote IP field;
  * every value in expectations.json matches ours. Sources spell values differently
    (kept quotes, '-' as 0, the log's own time format), so values are compared by
    meaning: see normalise() and the derived fields below.
Prints one line per failure and a closing 'N passed, N failed' line.
"""
import json
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

CORPUS = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/conformance")
BINARY = Path(__file__).resolve().parent.parent / "target" / "debug" / "vpce-audit"
REDACTED = {38, 65}
NUMERIC = {"bytes_sent", "object_size", "total_time", "turn_around_time", "http_status"}
# Keys of the sources' own derived outputs that have no counterpart in a record.
NOT_RECORD_FIELDS = {
    "network_path_label", "object_key_reduced", "excluded_from_reduced_output",
    "cloud_region(derived)", "url_path(derived)", "url_query(derived)", "downloads",
    "author_label",
}
RENAMED = {"source_region(27th field)": "source_region"}

passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {what}")


def epoch(value):
    """Seconds since the epoch of a time as one of the sources writes it."""
    v = str(value)
    m = re.fullmatch(r"(\d\d)/(\w{3})/(\d{4}):(\d\d):(\d\d):(\d\d) ([+-]\d{4})", v)
    if m:
        return datetime.strptime(v, "%d/%b/%Y:%H:%M:%S %z").timestamp()
    v = v.replace("Z", "+00:00")
    t = datetime.fromisoformat(v)
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return t.timestamp()


def normalise(key, value):
    """An expected value in our spelling: quotes stripped, '-' as null."""
    if isinstance(value, str):
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
            value = value[1:-1]
        if value == "-":
            return None
    return value


def main():
    log = CORPUS / "real_lines.log"
    expectations = json.loads((CORPUS / "expectations.json").read_text())
    total_lines = sum(1 for _ in log.open(encoding="utf-8", errors="replace"))
    check(total_lines == 72, f"corpus has 72 lines (found {total_lines})")

    out = subprocess.run(
        [BINARY, "requests", "--format", "ndjson", log],
        capture_output=True, check=False,
    )
    check(out.returncode == 0, f"requests exits 0 (got {out.returncode})")
    ours = {}
    for line in out.stdout.decode().splitlines():
        record = json.loads(line)
        ours[record["line"]] = record
    check(len(ours) == 70, f"70 lines parsed (got {len(ours)})")
    check(set(ours) == set(range(1, 73)) - REDACTED, f"parsed lines are all but {sorted(REDACTED)}")

    report = json.loads(subprocess.run(
        [BINARY, "report", "--format", "json", log], capture_output=True, check=False
    ).stdout)
    s = report["summary"]
    check((s["lines"], s["parsed"], s["rejected"]) == (72, 70, 2),
          f"summary lines/parsed/rejected = 72/70/2 (got {s['lines']}/{s['parsed']}/{s['rejected']})")
    rejected = {r["line"]: r["reason"] for r in report["rejections"]}
    check(set(rejected) == REDACTED, f"rejected lines are {sorted(REDACTED)} (got {sorted(rejected)})")
    for n, reason in rejected.items():
        check("remote IP field" in reason, f"line {n}: reason names the remote IP field: {reason!r}")

    for exp in expectations:
        n = exp["line_no"]
        if n in REDACTED:
            continue
        mine = ours.get(n)
        if mine is None:
            check(False, f"line {n}: expected a record")
            continue
        fields = exp["fields"]
        uri_parts = (mine["request_uri"] or "").split(" ")
        for key, value in fields.items():
            key = RENAMED.get(key, key)
            if key in NOT_RECORD_FIELDS:
                continue
            where = f"line {n} {key} ({exp['source'][:40]})"
            if key == "time":
                check(epoch(value) == epoch(mine["time"]), f"{where}: {value!r} vs {mine['time']!r}")
            elif key == "time_unix_nano":
                check(int(value) // 10**9 == epoch(mine["time"]), f"{where}")
            elif key == "time_yyMMddHHmmss":
                t = datetime.strptime(value, "%y%m%d%H%M%S").replace(tzinfo=timezone.utc)
                check(t.timestamp() == epoch(mine["time"]), f"{where}: {value!r} vs {mine['time']!r}")
            elif key == "request_method":
                check(uri_parts[0] == value, f"{where}: {value!r} vs {uri_parts[0]!r}")
            elif key == "request_path":
                target = uri_parts[1] if len(uri_parts) > 1 else None
                if "request_query" in fields and target is not None:
                    target = target.split("?")[0]
                check(target == value, f"{where}: {value!r} vs {target!r}")
            elif key == "request_query":
                target = uri_parts[1] if len(uri_parts) > 1 else ""
                query = target.split("?", 1)[1] if "?" in target else None
                check(query == value, f"{where}: {value!r} vs {query!r}")
            elif key in ("http_version", "http_version_raw"):
                version = uri_parts[-1] if len(uri_parts) > 2 else None
                check(version is not None and version.removeprefix("HTTP/") == str(value).removeprefix("HTTP/"),
                      f"{where}: {value!r} vs {version!r}")
            elif key == "acl_required" and isinstance(value, bool):
                check((mine[key] == "Yes") == value, f"{where}: {value!r} vs {mine[key]!r}")
            else:
                want = normalise(key, value)
                got = mine.get(key, "<missing>")
                if key in NUMERIC and want == 0 and got is None:
                    want = None  # this source writes '-' as 0
                check(want == got, f"{where}: expected {want!r}, got {got!r}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
