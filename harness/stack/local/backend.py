"""The local backend, runner side: start the supervisor, configure hops, wait, tear down.

Usage::

    with start_local_stack(network="auto") as stack:
        target = stack.target_path
        stack.kill("dc-eu.bot-0")

Everything the stack starts carries the run's session label, dies with the
runner (PR_SET_PDEATHSIG), and is swept at the next start if it survived.
The concerns live next door: :mod:`.network` (where it binds), :mod:`.processes`
(signals), :mod:`.redis_binary`; shared with the docker backend:
:mod:`harness.stack.rundir`, :mod:`harness.stack.health`, :mod:`harness.stack.links`,
:mod:`harness.stack.latency_control`.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from harness.stack.backend import BackendKind
from harness.stack.defects import DEFECTS_ENV, Defect, defects_from_env, describe
from harness.stack.errors import StackStartError
from harness.stack.health import tail
from harness.stack.lifecycle import RunFiles, resolve_topology, running
from harness.stack.links import TOPOLOGY_TOXIC
from harness.stack.local import reaper
from harness.stack.local.network import busy_address, place
from harness.stack.local.network_claim import NetworkClaim
from harness.stack.local.processes import LocalProcesses
from harness.stack.local.redis_binary import REDIS_ENV, find_redis_server
from harness.stack.plan import Plan
from harness.stack.rundir import prepare_run_dir
from harness.stack.topology import Topology

if TYPE_CHECKING:
    from harness.stack.deaths import DeathWatcher

__all__ = [
    "REDIS_ENV",
    "TOPOLOGY_TOXIC",
    "LocalBackend",
    "busy_address",
    "find_redis_server",
    "start_local_stack",
]


def new_session() -> str:
    """A run's label: sortable by start time, unique across parallel runners."""
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"


class LocalBackend(RunFiles):
    """The reference stack as local processes (implements StackBackend and ProcessControl)."""

    kind = BackendKind.LOCAL
    name = kind.value

    def __init__(
        self,
        topology: Topology | Path | str | None = None,
        *,
        network: str | None = None,
        seed: int = 0,
        run_root: Path | None = None,
        hops: bool = True,
        defects: Iterable[Defect] | None = None,
    ) -> None:
        topology = resolve_topology(topology)
        self.topology = topology
        self.requested_network = network
        self.seed = seed
        self.run_root = run_root or reaper.run_root()
        self.hops = hops
        # Harness self-test only (harness/stack/defects.py): bugs planted on purpose.
        # None reads ULLC_REFERENCE_DEFECTS, so a suite run can target a broken stack.
        self.defects = defects_from_env() if defects is None else frozenset(defects)
        self.plan = Plan(topology, hops=hops)
        self.session = new_session()
        self.run_dir = self.run_root / self.session
        self.process: subprocess.Popen[bytes] | None = None
        self.map_files: dict[str, Path] = {}
        self.startup_seconds: float | None = None
        self._started_at = 0.0
        self._claim: NetworkClaim | None = None
        self._toxics = self._topology_toxics()

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        self._started_at = time.monotonic()
        redis_server = find_redis_server()
        reaper.sweep(self.run_root)
        placement = place(self.topology, self.requested_network, hops=self.hops)
        self.plan, self._claim = placement.plan, placement.claim
        self.topology = placement.topology
        self._toxics = self._topology_toxics()
        self._prepare_run_dir(redis_server)
        if self.defects:
            # Loud on purpose: nobody should mistake a broken stack for the reference.
            print(
                f"ullc reference stack {self.session} runs with deliberate defects "
                f"({DEFECTS_ENV}={describe(self.defects)}): a harness self-test, not the reference",
                file=sys.stderr,
            )
        env = {**os.environ, reaper.SESSION_ENV: self.session, "PYTHONUNBUFFERED": "1"}
        log = open(self.run_dir / "logs" / "supervisor.log", "ab")
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-P", "-m", "harness.stack.local.supervisor", str(self.run_dir),
                 str(os.getpid())],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=log,
                env=env,
                # Own session: a terminal Ctrl-C reaches the runner only, which tears
                # down in order instead of every process dying at once.
                start_new_session=True,
            )  # fmt: skip
        finally:
            log.close()
        reaper.write_pidfile(self.run_dir / "pids", "supervisor", self.process.pid, self.session)
        atexit.register(self.stop)

    def _prepare_run_dir(self, redis_server: str) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        reaper.write_pidfile(self.run_dir, "owner", os.getpid(), self.session)
        self.map_files = prepare_run_dir(
            self.run_dir, self.plan, session=self.session, seed=self.seed,
            backend=self.name, defects=self.defects, extra={"redis_server": redis_server},
        )  # fmt: skip

    @property
    def processes(self) -> LocalProcesses:
        return LocalProcesses(self.plan, self.run_dir, self.prober)

    def wait_healthy(self, timeout: float = 15.0) -> None:
        """Wait for every component; on failure stop everything and raise StackStartError."""
        try:
            self.prober.wait(
                self.plan.components(), timeout, session=self.session, check_alive=self._check_alive
            )
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - self._started_at

    def alive(self) -> bool:
        """True while the supervisor runs (``up`` exits when it does not)."""
        return self.process is not None and self.process.poll() is None

    def _check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise StackStartError(
                f"the supervisor of stack {self.session} exited with {self.process.returncode}\n"
                f"last log lines:\n{tail(self.run_dir / 'logs' / 'supervisor.log')}",
                hint=f"read {self.run_dir / 'logs'}",
            )
        for marker in sorted((self.run_dir / "exited").glob("[!.]*")):
            raise StackStartError(
                f"component {marker.name} exited with status {marker.read_text().strip()} "
                f"during start\nlast log lines of {marker.name}:\n{tail(self._log(marker.name))}",
                hint=f"read {self._log(marker.name)}; a bind error there means an address "
                "is taken (see `ss -lnup`)",
            )

    # -- processes --------------------------------------------------------------------------
    def pids(self) -> dict[str, int]:
        """Live component pids by name (the supervisor included)."""
        return self.processes.pids()

    def handles(self) -> dict[str, str]:
        """Component name -> what runs it (here its pid), for ``up``'s table."""
        return {name: str(pid) for name, pid in self.pids().items()}

    def death_watch(self) -> DeathWatcher:
        """The supervisor's exit markers (:mod:`harness.stack.local.deaths`)."""
        from harness.stack.local.deaths import DeathWatch

        return DeathWatch(self.run_dir)

    def kill(self, component: str, timeout: float = 2.0) -> None:
        """SIGKILL a component or group and return once it is dead (a zombie counts)."""
        self.processes.kill(component, timeout)

    def pause(self, component: str) -> None:
        self.processes.signal(component, signal.SIGSTOP)

    def resume(self, component: str) -> None:
        self.processes.signal(component, signal.SIGCONT)

    def restart(self, component: str, timeout: float = 10.0) -> None:
        """Start killed components of ``component`` (name or group) again and wait for them."""
        assert self.process is not None
        self.processes.restart(self.process, component, timeout)

    def stop(self) -> None:
        """Tear down: EOF + SIGTERM to the supervisor, then SIGKILL whatever is left."""
        atexit.unregister(self.stop)
        process, self.process = self.process, None
        if process is not None:
            with contextlib.suppress(OSError):
                if process.stdin is not None:
                    process.stdin.close()
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        # Belt and braces: anything labelled that is still alive goes now.
        pid_dir = self.run_dir / "pids"
        if pid_dir.is_dir():
            for record in reaper.read_pidfiles(pid_dir):
                if record.alive() and reaper.has_label(record.pid, record.session):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(record.pid, signal.SIGKILL)
        if self._claim is not None:
            self._claim.release()
            self._claim = None


@contextlib.contextmanager
def start_local_stack(
    topology: Topology | Path | str | None = None,
    *,
    network: str | None = "auto",
    seed: int = 0,
    timeout: float = 15.0,
    defects: Iterable[Defect] | None = None,
) -> Iterator[LocalBackend]:
    """Start a local stack, wait until healthy, yield it, always tear it down.

    ``defects`` plants deliberate bugs (harness/stack/defects.py); None reads
    ``ULLC_REFERENCE_DEFECTS``, which is unset, hence no defect, by default.
    """
    with running(
        LocalBackend(topology, network=network, seed=seed, defects=defects), timeout
    ) as backend:
        yield backend
