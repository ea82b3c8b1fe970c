"""Start the independent implementation (peers/compact) as a user target for these tests.

It runs as its own process (``python -m peers.compact``), written apart from
harness/stack, and writes its own target file; the tests then run the suites against
that file exactly as an outside implementer would (``pytest --ullc-target``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30.0

PeerLauncher = Callable[[int], Path]
"""``launch(hold_ms)`` -> the target file of a running peer with that RACE-3 hold."""


@pytest.fixture(scope="session")
def launch_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PeerLauncher]:
    """Start at most one peer per hold for the whole session; all stop at its end."""
    running: dict[int, tuple[subprocess.Popen[bytes], Path]] = {}

    def launch(hold_ms: int) -> Path:
        if hold_ms in running:
            return running[hold_ms][1]
        folder = tmp_path_factory.mktemp(f"peer-hold-{hold_ms}")
        target, log = folder / "peer.toml", folder / "peer.log"
        with log.open("w") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "peers.compact", "--hold-ms", str(hold_ms),
                 "--write-target", str(target), "--name", f"ullc-peer-hold-{hold_ms}"],
                cwd=ROOT, stdout=output, stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )  # fmt: skip
        running[hold_ms] = (process, target)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not target.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"peers.compact --hold-ms {hold_ms} did not start: {log.read_text()}")
            time.sleep(0.1)
        return target

    yield launch
    for process, _ in running.values():
        process.send_signal(signal.SIGTERM)
    for process, _ in running.values():
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
