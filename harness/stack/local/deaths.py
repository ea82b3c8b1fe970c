"""Deaths on the local backend: the supervisor's ``exited/<name>`` markers.

The supervisor writes ``exited/<name>`` (the exit status) when a component ends,
and removes it when the component is restarted. What counts as a death and how
it is reported: :mod:`harness.stack.deaths`.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from harness.stack.deaths import Death, announced_ns, death

EXITED = "exited"


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
        announced = announced_ns(self.run_dir, name)
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
            found.append(death(self.run_dir, marker.name, status))
        return found
