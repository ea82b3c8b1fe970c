#!/usr/bin/env bash
# Every suite (all of suites/) against the second, independent implementation
# (peers/compact), once without an ingress hold (RACE-3 is a SHOULD) and once with one.
# Each run starts a fresh peer on a free 127.X block and stops it afterwards
# (peers/compact/launch.py), so nothing is left running. Exit status: non-zero when
# either suite run fails. The skips that remain name what the peer does not declare or
# cannot offer a user target: stun_only rows (it is a ULLC implementation), the expiry
# test (its session TTL is 60 s), the hold test at hold 0, store faults (its DC store is
# internal, behind no harness hop), the regions test (one client per target file) and the
# client suite (no --ullc-client-command).
# About 2 minutes per run on an idle 2-core machine, 4 to 5 in all.
set -euo pipefail
cd "$(dirname "$0")/../.."
python -c "import harness, aiohttp, aioice, dns" 2>/dev/null || python -m pip install -q -e '.[test]'
status=0
for hold_ms in 0 150; do
    echo "== suites/ against the compact peer, hold_ms=${hold_ms} =="
    python -m peers.compact.launch "${hold_ms}" -- \
        python -m pytest --ullc-target '{peer_target}' suites/ -q -rfEs -p no:cacheprovider \
        || status=1
done
exit "${status}"
