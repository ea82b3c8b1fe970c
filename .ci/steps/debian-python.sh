#!/usr/bin/env bash
# The fault-engine tests on the OS's own python3 (Debian 12: 3.11.2), whose asyncio
# ignores a pause_reading() made in connection_made (fixed in 3.11.3). The TCP hop must
# not depend on it (issue 18 item 3). Runs from the repository root; idempotent.
set -euo pipefail

PY=/usr/bin/python3
VENV=${DEBIAN_VENV:-/tmp/ullc-venv-debian-python}

if ! "$PY" -c 'import ensurepip, venv' 2>/dev/null; then
    apt-get install -y python3-venv || { apt-get update && apt-get install -y python3-venv; }
fi
echo "debian-python: $("$PY" --version)"
if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q -e '.[test]'
# Timing checks (latency fidelity within ~1.6 ms) can miss on a loaded machine; failures
# get one more run, so only what fails twice (a real 3.11.2 problem) fails the step.
CACHE=$(mktemp -d)
trap 'rm -rf "$CACHE"' EXIT
if ! "$VENV/bin/python" -m pytest tests/unit/faults -q -o cache_dir="$CACHE"; then
    echo "debian-python: re-running the failed tests once"
    "$VENV/bin/python" -m pytest tests/unit/faults -q -o cache_dir="$CACHE" --lf
fi
