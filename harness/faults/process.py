"""Process faults: the seam the stack's backends implement, and a signal-based implementation.

The local backend can hand its child PIDs to :class:`SignalProcessControl`; the
docker backend implements :class:`ProcessControl` with container kill/pause/unpause.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from harness.errors import UsageError


@runtime_checkable
class ProcessControl(Protocol):
    """Kill, pause and resume one named component of a running stack."""

    def kill(self, component: str) -> None: ...

    def pause(self, component: str) -> None: ...

    def resume(self, component: str) -> None: ...


class SignalProcessControl:
    """SIGKILL / SIGSTOP / SIGCONT to local processes known by component name."""

    def __init__(self, pids: Mapping[str, int] | None = None) -> None:
        self._pids = dict(pids or {})

    def register(self, component: str, pid: int) -> None:
        self._pids[component] = pid

    def pid(self, component: str) -> int:
        try:
            return self._pids[component]
        except KeyError:
            known = ", ".join(sorted(self._pids)) or "none"
            raise UsageError(
                f"no process registered for component {component!r}",
                hint=f"known components: {known}",
            ) from None

    def _signal(self, component: str, signum: signal.Signals) -> None:
        try:
            os.kill(self.pid(component), signum)
        except ProcessLookupError:
            raise UsageError(
                f"component {component!r} (pid {self.pid(component)}) is not running",
                hint="it may have been killed already; restart the stack",
            ) from None

    def kill(self, component: str) -> None:
        self._signal(component, signal.SIGKILL)

    def pause(self, component: str) -> None:
        self._signal(component, signal.SIGSTOP)

    def resume(self, component: str) -> None:
        self._signal(component, signal.SIGCONT)
