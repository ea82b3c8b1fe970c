"""Claims on 127.X.0.0/16 blocks, so two instances (or a reference stack) never share one.

The claim is an exclusive flock on a file named after the network, in the
directory ullc-harness stacks use for the same purpose; the kernel drops it
when this process dies, however it dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from pathlib import Path

# Blocks tried when no --base-ip is given; high numbers, away from the harness's default 127.77.
CANDIDATES = [*range(200, 255), *range(150, 200)]


def claims_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"ullc-harness-{os.getuid()}" / "networks"


class Claim:
    def __init__(self, base: str, fd: int) -> None:
        self.base = base
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


def try_claim(base: str) -> Claim | None:
    directory = claims_dir()
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / f"{base}.0.0_16.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return Claim(base, fd)
