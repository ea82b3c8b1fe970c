#!/usr/bin/env bash
# Issue 11: the STUN-only suite (TGT-5) against real responders on loopback, each started
# and stopped by harness.conformance.stun_peers: coturn (rfc8489 profile) and an aioice
# ICE agent (ice profile, signed checks) always; stund (classic) and a libnice ICE-lite
# agent when their packages are there. Then the golden verdicts (tests/data/stun).
set -euo pipefail
cd "$(dirname "$0")/../.."
export DEBIAN_FRONTEND=noninteractive
PYTHON="${PYTHON:-python}"

if ! command -v turnserver >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq coturn >/dev/null
fi

peers=(coturn aioice)
command -v stund >/dev/null && peers+=(stund)
if command -v cc >/dev/null && pkg-config --exists nice 2>/dev/null; then
    peers+=(libnice)
fi

for peer in "${peers[@]}"; do
    echo "== STUN-only suites against $peer"
    "$PYTHON" -m harness.conformance.stun_peers "$peer" -- suites -q -rs -p no:cacheprovider
done
"$PYTHON" -m pytest tests/unit/protocol/test_stun_golden.py tests/unit/target -q -p no:cacheprovider
