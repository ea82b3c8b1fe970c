"""Components that died on their own: one report whatever ran them (both backends).

A death the harness causes on purpose (a backend's ``kill``, a chaos test's
outage) is announced first in ``killed/<name>`` of the run directory; a death
after the component's current start that nobody announced is a crash, an OOM
kill or a stranger's SIGKILL, which ``ullc-harness up`` reports and the pytest
plugin turns into a failure of the running test. How a death is noticed is the
backend's business: exit markers of the local supervisor
(:mod:`harness.stack.local.deaths`), container states on docker
(:mod:`harness.stack.docker.deaths`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from harness.stack.atomic import write_atomically

KILLED = "killed"
TAIL_LINES = 20


@dataclass(frozen=True)
class Death:
    """One component that ended without being asked to."""

    component: str
    status: str
    """Its exit status as its backend recorded it (local: negative for a signal)."""
    log: Path
    tail: str
    """The last lines of its log."""

    def describe(self) -> str:
        return (
            f"component {self.component} of the reference stack died "
            f"(exit status {self.status}); last log lines of {self.log}:\n{self.tail}"
        )


class DeathWatcher(Protocol):
    """What a backend's ``death_watch()`` returns: polled, each death reported once."""

    def new_deaths(self) -> list[Death]: ...


def expect(run_dir: Path, names: Iterable[str]) -> None:
    """Announce that ``names`` are about to be killed on purpose (not a death to report)."""
    (run_dir / KILLED).mkdir(exist_ok=True)
    for name in names:
        write_atomically(run_dir / KILLED / name, str(os.getpid()))


def announced_ns(run_dir: Path, name: str) -> int | None:
    """When ``name``'s last deliberate kill was announced (wall clock, ns), if ever."""
    try:
        return (run_dir / KILLED / name).stat().st_mtime_ns
    except FileNotFoundError:
        return None


def tail(path: Path, lines: int = TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        return f"(no log: {error})"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def death(run_dir: Path, component: str, status: str) -> Death:
    log = run_dir / "logs" / f"{component}.log"
    return Death(component, status, log, tail(log))


def open_death_watch(run_dir: Path) -> DeathWatcher:
    """The death watch of the stack in ``run_dir`` (one ``ullc-harness up`` runs, say),
    by the backend its ``stack.json`` names."""
    try:
        spec = json.loads((run_dir / "stack.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        spec = {}
    if spec.get("backend") == "docker":
        from harness.stack.docker.deaths import DockerDeathWatch

        return DockerDeathWatch(run_dir, str(spec["session"]))
    from harness.stack.local.deaths import DeathWatch

    return DeathWatch(run_dir)
