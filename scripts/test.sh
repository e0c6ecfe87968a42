#!/usr/bin/env bash
# The whole test suite, from a fresh clone: unit tests, end-to-end tests of the real
# binary, and the benches compiled (not timed). Installs what the tests need first.
set -euo pipefail
cd "$(dirname "$0")/.."

# The HTML report tests open the page in a real headless browser (tests/html.rs).
if [ ! -x /usr/bin/chromium ] && [ -z "${CHROMIUM:-}" ]; then
    echo "installing chromium for the HTML report tests" >&2
    export DEBIAN_FRONTEND=noninteractive
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq >/dev/null
    $SUDO apt-get install -y -qq chromium >/dev/null
fi

cargo test --all-targets
