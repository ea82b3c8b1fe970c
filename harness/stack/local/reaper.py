"""Labels, pidfiles and the sweep that removes what a crashed run left behind.

Three layers keep the machine clean (testcontainers' Ryuk, without a daemon):
1. PR_SET_PDEATHSIG: the supervisor gets SIGTERM when the runner dies, every
   component SIGKILL when the supervisor dies;
2. the supervisor tears its children down on SIGTERM/SIGINT or when its stdin
   (a pipe from the runner) reaches EOF;
3. pidfiles with the process start time: the next start kills survivors of
   dead runs, after checking start time and the session label in the environment,
   so a recycled pid is never hit.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness.stack.atomic import write_atomically

SESSION_ENV = "ULLC_HARNESS_SESSION"
RUN_ROOT_ENV = "ULLC_HARNESS_RUN_ROOT"
KEEP_DEAD_RUNS = 20

_PR_SET_PDEATHSIG = 1
_PR_SET_NAME = 15


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def die_with_parent(signum: int = signal.SIGKILL) -> None:
    """Ask the kernel to send ``signum`` when our parent (thread) exits (prctl(2))."""
    if _libc().prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")


def set_process_name(name: str) -> None:
    """Name shown by ``ps -o comm``/``top`` (15 bytes): which component a pid is."""
    _libc().prctl(_PR_SET_NAME, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0)


def run_root() -> Path:
    configured = os.environ.get(RUN_ROOT_ENV)
    if configured:
        return Path(configured)
    return Path(tempfile.gettempdir()) / f"ullc-harness-{os.getuid()}" / "runs"


def start_time(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat (clock ticks since boot); None if the pid is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm may contain spaces and parentheses: split after the last ')'.
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[19])


def is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def has_label(pid: int, session: str) -> bool:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return f"{SESSION_ENV}={session}".encode() in environ.split(b"\0")


@dataclass(frozen=True)
class PidRecord:
    name: str
    pid: int
    start_time: int
    session: str

    def to_json(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def read(cls, path: Path) -> PidRecord | None:
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                str(body["name"]), int(body["pid"]), int(body["start_time"]), body["session"]
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def alive(self) -> bool:
        """Still this very process (same start time), and not a zombie."""
        return start_time(self.pid) == self.start_time and not is_zombie(self.pid)


def write_pidfile(directory: Path, name: str, pid: int, session: str) -> PidRecord:
    record = PidRecord(name, pid, start_time(pid) or 0, session)
    write_atomically(directory / f"{name}.json", record.to_json())
    return record


def read_pidfiles(directory: Path) -> list[PidRecord]:
    records = []
    for path in sorted(directory.glob("*.json")):
        record = PidRecord.read(path)
        if record is not None:
            records.append(record)
    return records


def sweep(root: Path | None = None) -> list[PidRecord]:
    """Kill processes of runs whose runner is gone; return what was killed.

    A pid is killed only when its start time matches the pidfile and its
    environment carries the run's session label.
    """
    root = root or run_root()
    killed: list[PidRecord] = []
    if not root.is_dir():
        return killed
    dead_runs = []
    for run_dir in root.iterdir():
        owner = PidRecord.read(run_dir / "owner.json")
        if owner is not None and owner.alive():
            continue
        dead_runs.append(run_dir)
        for record in read_pidfiles(run_dir / "pids"):
            if record.alive() and has_label(record.pid, record.session):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(record.pid, signal.SIGKILL)
                killed.append(record)
    # Keep the logs of recent dead runs for reading; drop the rest.
    dead_runs.sort(key=_mtime)
    for run_dir in dead_runs[:-KEEP_DEAD_RUNS]:
        shutil.rmtree(run_dir, ignore_errors=True)
    return killed


def _mtime(path: Path) -> float:
    # Another runner's sweep may remove a dead run between our listing and this stat.
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0
