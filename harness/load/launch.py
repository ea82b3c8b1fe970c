"""Start Locust for ``ullc-harness load``: a master and local workers, or one process.

Locust runs as separate ``python -m locust`` processes (importing it patches the process
with gevent, which the CLI must not be). Every process is in its own process group and
is ended on the way out, also after Ctrl-C or an error.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from harness.processes import stop_group
from harness.signaling.messages import Mode

STOP_GRACE_S = 10.0


@dataclass(frozen=True)
class LoadPlan:
    """What to run; the Locust options keep Locust's own names."""

    target_file: Path
    users: int
    spawn_rate: float
    run_time: str | None
    headless: bool
    csv_prefix: Path | None
    html: Path | None
    summary: Path
    workers: int = 0
    """Local worker processes; 0: one process does everything (Locust's local mode)."""
    master_host: str | None = None
    """Only workers, connecting to this remote master (``--master-host``)."""
    master_port: int = 5557
    expect_workers: int | None = None
    """For a master whose workers run elsewhere: how many to wait for."""
    web_host: str = "127.0.0.1"
    web_port: int = 8089
    mode: Mode = Mode.ULLC

    @property
    def locustfile(self) -> Path:
        return Path(str(files("harness.load").joinpath("locustfile.py")))

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "ULLC_LOAD_TARGET": str(self.target_file),
            "ULLC_LOAD_MODE": self.mode.value,
            "ULLC_LOAD_SUMMARY": str(self.summary),
        }

    def _common(self) -> list[str]:
        return [sys.executable, "-P", "-m", "locust", "-f", str(self.locustfile)]

    def master_argv(self) -> list[str]:
        argv = self._common()
        workers = self.expect_workers if self.expect_workers is not None else self.workers
        if workers:
            argv += [
                "--master",
                "--master-bind-port", str(self.master_port),
                "--expect-workers", str(workers),
            ]  # fmt: skip
        argv += ["--users", str(self.users), "--spawn-rate", str(self.spawn_rate)]
        if self.run_time is not None:
            argv += ["--run-time", self.run_time]
        if self.headless:
            argv += ["--headless"]
        else:
            argv += ["--web-host", self.web_host, "--web-port", str(self.web_port), "--autostart"]
        if self.csv_prefix is not None:
            argv += ["--csv", str(self.csv_prefix)]
        if self.html is not None:
            argv += ["--html", str(self.html)]
        return argv

    def worker_argv(self) -> list[str]:
        return [
            *self._common(),
            "--worker",
            "--master-host", self.master_host or "127.0.0.1",
            "--master-port", str(self.master_port),
        ]  # fmt: skip


@contextlib.contextmanager
def _process(argv: list[str], environment: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(argv, env=environment, start_new_session=True)
    try:
        yield process
    finally:
        _end(process)


def _end(process: subprocess.Popen[bytes]) -> None:
    # SIGINT: Locust stops its users and writes its stats.
    stop_group(process, signal.SIGINT, STOP_GRACE_S)


def run_load(plan: LoadPlan) -> int:
    """Run the plan to its end; Locust's exit status (1 when any call failed)."""
    environment = plan.environment()
    with contextlib.ExitStack() as stack:
        if plan.master_host is not None:  # workers only, for a master elsewhere
            workers = [
                stack.enter_context(_process(plan.worker_argv(), environment))
                for _ in range(max(1, plan.workers))
            ]
            return max(worker.wait() for worker in workers)
        master = stack.enter_context(_process(plan.master_argv(), environment))
        for _ in range(plan.workers):
            stack.enter_context(_process(plan.worker_argv(), environment))
        return master.wait()
