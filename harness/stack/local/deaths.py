"""Components that died on their own: noticed, named, and shown with their last log lines.

The supervisor writes ``exited/<name>`` (the exit status) when a component ends,
and removes it when the component is restarted. A death the harness caused on
purpose (``LocalBackend.kill``, a chaos test's outage) is announced first in
``killed/<name>``; any other marker is a crash, an OOM kill or a stranger's
SIGKILL, which ``ullc-harness up`` reports and the pytest plugin turns into a
failure of the running test.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from harness.stack.atomic import write_atomically

EXITED = "exited"
KILLED = "killed"
TAIL_LINES = 20


@dataclass(frozen=True)
class Death:
    """One component that ended without being asked to."""

    component: str
    status: str
    """Its exit status as the supervisor recorded it (negative: killed by that signal)."""
    log: Path
    tail: str
    """The last lines of its log."""

    def describe(self) -> str:
        return (
            f"component {self.component} of the reference stack died "
            f"(exit status {self.status}); last log lines of {self.log}:\n{self.tail}"
        )


def expect(run_dir: Path, names: Iterable[str]) -> None:
    """Announce that ``names`` are about to be killed on purpose (not a death to report)."""
    (run_dir / KILLED).mkdir(exist_ok=True)
    for name in names:
        write_atomically(run_dir / KILLED / name, str(os.getpid()))


def tail(path: Path, lines: int = TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        return f"(no log: {error})"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def _mtime_ns(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None


class DeathWatch:
    """Polls a run directory for deaths; each death is reported once."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self._seen: dict[str, int] = {}  # component -> mtime of the exit marker handled

    def _expected(self, name: str) -> bool:
        """Killed on purpose: announced after the current process started (its pidfile)."""
        announced = _mtime_ns(self.run_dir / KILLED / name)
        started = _mtime_ns(self.run_dir / "pids" / f"{name}.json")
        return announced is not None and (started is None or announced >= started)

    def new_deaths(self) -> list[Death]:
        found: list[Death] = []
        exited = self.run_dir / EXITED
        if not exited.is_dir():
            return found
        for marker in sorted(exited.glob("[!.]*")):
            stamp = _mtime_ns(marker)
            if stamp is None or self._seen.get(marker.name) == stamp:
                continue
            self._seen[marker.name] = stamp
            if self._expected(marker.name):
                continue
            status = "unknown"
            with contextlib.suppress(OSError):
                status = marker.read_text(encoding="utf-8").strip()
            log = self.run_dir / "logs" / f"{marker.name}.log"
            found.append(Death(marker.name, status, log, tail(log)))
        return found
