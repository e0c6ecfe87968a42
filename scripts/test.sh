#!/usr/bin/env bash
# The whole test suite, from a fresh clone: unit tests, end-to-end tests of the real
# binary, and the benches compiled (not timed). Installs what the tests need first.
set -euo pipefail
cd "$(dirname "$0")/.."

# tests/s3.rs reads from a real S3 server: SeaweedFS, installed into target/ on first
# use, started on 127.0.0.1 and stopped when this script exits.
source scripts/seaweedfs.sh

cargo test --all-targets
# The build without the `s3` feature (no tokio, no AWS SDK) works and passes too.
cargo test --no-default-features --all-targets
