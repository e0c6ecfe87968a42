#!/usr/bin/env bash
# The whole test suite, from a fresh clone: unit tests, end-to-end tests of the real
# binary, and the benches compiled (not timed). Installs what the tests need first.
set -euo pipefail
cd "$(dirname "$0")/.."

# tests/it/s3.rs reads from a real S3 server: SeaweedFS, installed into target/ on first
# use, started on 127.0.0.1 and stopped when this script exits.
source scripts/seaweedfs.sh

# What the tests run beside the binary: a real headless browser for the HTML pages
# (tests/it/html.rs) and GNU time, which measures a command's own peak memory
# (tests/it/util.rs).
missing=()
[ -x /usr/bin/chromium ] || [ -n "${CHROMIUM:-}" ] || missing+=(chromium)
[ -x /usr/bin/time ] || missing+=(time)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} for the tests" >&2
    export DEBIAN_FRONTEND=noninteractive
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq >/dev/null
    $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cargo test --all-targets
# The build without the `s3` feature (no tokio, no AWS SDK) works and passes too.
cargo test --no-default-features --all-targets

# The Athena equality test: Trino's grammar and DuckDB, pinned, in a venv of its own
# under target/ (ignored by git); created once, then reused.
venv=target/athena-venv
if ! "$venv/bin/python" -c 'import duckdb, trino_query_parser, trino_sql_validator' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        duckdb==2.0.1 trino-query-parser==0.422.7 antlr4-python3-runtime==4.13.0 \
        trino-sql-validator==0.23.0
fi
"$venv/bin/python" scripts/athena-equality.py --bin target/debug/vpce-audit

# The findings formats: OCSF Detection Findings validated with the OCSF models Prowler
# maintains, JUnit XML read as CI systems read it; pinned, in a venv of their own.
venv=target/findings-venv
if ! "$venv/bin/python" -c 'import py_ocsf_models, junitparser' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        py-ocsf-models==0.10.0 pydantic==2.14.4 junitparser==5.0.3
fi
"$venv/bin/python" scripts/findings-formats.py --bin target/debug/vpce-audit
