"""The compact peer (peers/compact), started once per module for the tests in this folder."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# peers/ is deliberately not an installed package (it stays out of the wheel): import it
# from the checkout.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from peers.compact.launch import Peer, running_peer  # noqa: E402

# With a hold (RACE-3); the suites run against both hold 0 and a hold in CI.
HOLD_MS = 150


@pytest.fixture(scope="module")
def compact_peer() -> Iterator[Peer]:
    with running_peer(hold_ms=HOLD_MS) as peer:
        yield peer
