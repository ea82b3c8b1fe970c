"""Process faults of the local backend: signals to the components the supervisor forked."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from harness.stack import deaths
from harness.stack.errors import StackStartError
from harness.stack.health import Prober
from harness.stack.local import reaper
from harness.stack.plan import Plan


class LocalProcesses:
    """Kill, pause, resume and restart components by name or group (the pid files say who)."""

    def __init__(self, plan: Plan, run_dir: Path, prober: Prober) -> None:
        self.plan = plan
        self.run_dir = run_dir
        self.prober = prober

    def pids(self) -> dict[str, int]:
        """Live component pids by name (the supervisor included)."""
        return {
            record.name: record.pid
            for record in reaper.read_pidfiles(self.run_dir / "pids")
            if record.alive()
        }

    def signal(self, name: str, signum: signal.Signals) -> None:
        pids = self.pids()
        for component in self.plan.resolve(name):
            if component in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pids[component], signum)

    def kill(self, component: str, timeout: float = 2.0) -> None:
        """SIGKILL a component or group and return once it is dead (a zombie counts).

        Waiting matters: a ``restart`` right after a bare signal could still see the
        process alive on a loaded machine and skip it.
        """
        names = set(self.plan.resolve(component))
        deaths.expect(self.run_dir, names)  # on purpose: not a death to report
        self.signal(component, signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while names & set(self.pids()) and time.monotonic() < deadline:
            time.sleep(0.005)

    def restart(
        self, supervisor: subprocess.Popen[bytes], component: str, timeout: float = 10.0
    ) -> None:
        """Ask the supervisor to start killed components again and wait until they answer."""
        assert supervisor.stdin is not None
        names = self.plan.resolve(component)
        for name in names:
            if name in self.pids():
                continue
            # Wait for the supervisor to reap it, or it would think it is still running.
            deadline = time.monotonic() + 2.0
            while not (self.run_dir / "exited" / name).exists() and time.monotonic() < deadline:
                time.sleep(0.01)
            # The dead process's ready marker must not pass for the new one's.
            (self.run_dir / "ready" / name).unlink(missing_ok=True)
            supervisor.stdin.write(f"restart {name}\n".encode())
            supervisor.stdin.flush()
        deadline = time.monotonic() + timeout
        for name in names:
            while name not in self.pids() or self.prober.probe(self.plan.component(name)):
                if time.monotonic() > deadline:
                    raise StackStartError(f"{name} did not come back within {timeout:g} s")
                time.sleep(0.01)
