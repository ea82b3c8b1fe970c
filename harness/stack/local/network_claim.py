"""Claims on automatic /16 networks, so two stacks that start at once never pick the same one.

Checking that a network's addresses are free and binding them later leaves a window in
which a second runner (another xdist worker, say) can check the same network. A claim
is an exclusive ``flock`` on a file named after the network, held by the runner for the
stack's life; the kernel drops it when the runner exits, even by SIGKILL, so a crash
never leaves a stale claim behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path


def claims_dir() -> Path:
    # Per user and machine-wide, not per run root: tests give each stack its own run root.
    return Path(tempfile.gettempdir()) / f"ullc-harness-{os.getuid()}" / "networks"


@dataclass
class NetworkClaim:
    fd: int | None

    def release(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None


def try_claim(network: str, directory: Path | None = None) -> NetworkClaim | None:
    """The claim on ``network``, or None while another runner holds it."""
    directory = directory or claims_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / (network.replace("/", "_") + ".lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return NetworkClaim(fd)
