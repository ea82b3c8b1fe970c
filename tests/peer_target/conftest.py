"""Start the independent implementation (peers/compact) as a user target for these tests.

It runs as its own process (``peers.compact.launch.running_peer``), written apart from
harness/stack, and writes its own target file; the tests then run the suites against
that file exactly as an outside implementer would (``pytest --ullc-target``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from peers.compact.launch import running_peer

PeerLauncher = Callable[[int], Path]
"""``launch(hold_ms)`` -> the target file of a running peer with that RACE-3 hold."""


@pytest.fixture(scope="session")
def launch_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PeerLauncher]:
    """Start at most one peer per hold for the whole session; all stop at its end."""
    with contextlib.ExitStack() as stack:
        targets: dict[int, Path] = {}

        def launch(hold_ms: int) -> Path:
            if hold_ms not in targets:
                folder = tmp_path_factory.mktemp(f"peer-hold-{hold_ms}")
                peer = stack.enter_context(running_peer(hold_ms, directory=folder))
                targets[hold_ms] = peer.target
            return targets[hold_ms]

        yield launch
