"""Stopping a child that leads its own process group (``start_new_session=True``).

The harness starts servers (coturn, stund, Locust, a user's client) in their own
session so that one signal reaches everything they forked; stopping them is the same
three steps everywhere: a polite signal to the group, a grace period, SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from typing import Any

STOP_GRACE_S = 3.0
"""How long a stopped group has to exit on its own before SIGKILL."""


def kill_group(process: subprocess.Popen[Any]) -> None:
    """SIGKILL ``process``'s group now and reap the leader."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def stop_group(
    process: subprocess.Popen[Any],
    first: signal.Signals = signal.SIGTERM,
    grace_s: float = STOP_GRACE_S,
) -> None:
    """Send ``first`` to ``process``'s group, wait ``grace_s``, then SIGKILL what is left."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, first)
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        kill_group(process)
