#!/usr/bin/env bash
# The fault-engine tests on the OS's own python3 (Debian 12: 3.11.2), whose asyncio
# ignores a pause_reading() made in connection_made (fixed in 3.11.3). The TCP hop must
# not depend on it (issue 18 item 3). Runs from the repository root; idempotent.
set -euo pipefail

PY=/usr/bin/python3
VENV=${DEBIAN_VENV:-/tmp/ullc-venv-debian-python}

if ! "$PY" -c 'import ensurepip, venv' 2>/dev/null; then
    apt-get install -y python3-venv
fi
echo "debian-python: $("$PY" --version)"
if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q -e '.[test]'
"$VENV/bin/python" -m pytest tests/unit/faults -q -p no:cacheprovider
