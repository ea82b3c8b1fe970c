"""The local backend, runner side: start the supervisor, configure hops, wait, tear down.

Usage::

    with start_local_stack(network="auto") as stack:
        target = stack.target_path
        stack.kill("dc-eu.bot-0")

Everything the stack starts carries the run's session label, dies with the
runner (PR_SET_PDEATHSIG), and is swept at the next start if it survived.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from harness.stack import store_password
from harness.stack.defects import DEFECTS_ENV, Defect, defects_from_env, describe
from harness.stack.errors import (
    RedisServerMissingError,
    StackAddressInUseError,
    StackStartError,
    UnknownComponentError,
)
from harness.stack.local import deaths, probes, reaper
from harness.stack.local.network_claim import NetworkClaim, try_claim
from harness.stack.maps import write_maps
from harness.stack.plan import Component, Link, Plan, Role, Transport
from harness.stack.topology import Topology, default_topology, load_topology, relocate

if TYPE_CHECKING:
    from harness.faults.client import FaultClient

REDIS_ENV = "ULLC_REDIS_SERVER"
TOPOLOGY_TOXIC = "topology-latency"
LOG_TAIL_LINES = 15
AUTO_NETWORK_RANGE = (100, 250)


def find_redis_server(path: str | None = None) -> str:
    """The redis-server binary (``ULLC_REDIS_SERVER`` or PATH); a clear error if absent."""
    configured = os.environ.get(REDIS_ENV)
    if configured:
        if os.access(configured, os.X_OK):
            return configured
        raise RedisServerMissingError(
            f"{REDIS_ENV}={configured} is not an executable",
            hint=f"point {REDIS_ENV} at redis-server or unset it to search PATH",
        )
    found = shutil.which("redis-server", path=path)
    if found is None:
        raise RedisServerMissingError(
            "redis-server is not on PATH; every DC of the reference stack runs one",
            hint="install it: `apt-get install redis-server` (Debian/Ubuntu), "
            f"or set {REDIS_ENV} to its path",
        )
    return found


def busy_address(plan: Plan) -> tuple[str, Transport, tuple[str, int], OSError] | None:
    """The first address of the plan that cannot be bound right now, if any."""
    for owner, transport, address in plan.binds():
        kind = socket.SOCK_DGRAM if transport is Transport.UDP else socket.SOCK_STREAM
        with socket.socket(socket.AF_INET, kind) as sock:
            if transport is Transport.TCP:
                # Servers bind with SO_REUSEADDR, so TIME_WAIT leftovers are not "busy".
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(address)
            except OSError as error:
                return owner, transport, address, error
    return None


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "    (no log written)"
    kept = text.splitlines()[-lines:]
    return "\n".join(f"    {line}" for line in kept) if kept else "    (log is empty)"


class LocalBackend:
    """The reference stack as local processes (implements StackBackend and ProcessControl)."""

    name = "local"

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
        if topology is None:
            topology = default_topology()
        elif not isinstance(topology, Topology):
            topology = load_topology(Path(topology))
        self.topology = topology
        self.requested_network = network
        self.seed = seed
        self.run_root = run_root or reaper.run_root()
        self.hops = hops
        # Harness self-test only (harness/stack/defects.py): bugs planted on purpose.
        # None reads ULLC_REFERENCE_DEFECTS, so a suite run can target a broken stack.
        self.defects = defects_from_env() if defects is None else frozenset(defects)
        self.plan = Plan(topology, hops=hops)
        self.session = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
        self.run_dir = self.run_root / self.session
        self.process: subprocess.Popen[bytes] | None = None
        self.map_files: dict[str, Path] = {}
        self.startup_seconds: float | None = None
        self._started_at = 0.0
        self._toxic_thread: threading.Thread | None = None
        self._toxic_error: StackStartError | None = None
        self._claim: NetworkClaim | None = None

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        self._started_at = time.monotonic()
        redis_server = find_redis_server()
        reaper.sweep(self.run_root)
        self._choose_network()
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
                [sys.executable, "-m", "harness.stack.local.supervisor", str(self.run_dir),
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

    def _choose_network(self) -> None:
        if self.requested_network == "auto":
            octets = list(range(*AUTO_NETWORK_RANGE))
            # System RNG: tests may seed `random`, and parallel workers must not agree.
            secrets.SystemRandom().shuffle(octets)
            for octet in octets[:30]:
                network = f"127.{octet}.0.0/16"
                claim = try_claim(network)
                if claim is None:
                    continue  # another runner of ours is starting or running a stack there
                candidate = relocate(self.topology, network)
                plan = Plan(candidate, hops=self.hops)
                if busy_address(plan) is None:
                    self.topology, self.plan, self._claim = candidate, plan, claim
                    return
                claim.release()
            raise StackAddressInUseError(
                "no free /16 found in 127.100-249.0.0 for an automatic network",
                hint="stop other reference stacks (`ps -eo pid,comm | grep ullc:`)",
            )
        if self.requested_network is not None:
            self.topology = relocate(self.topology, self.requested_network)
            self.plan = Plan(self.topology, hops=self.hops)
        busy = busy_address(self.plan)
        if busy is not None:
            owner, transport, address, error = busy
            raise StackAddressInUseError(
                f"cannot bind {transport.value} {address[0]}:{address[1]} for {owner}: "
                f"{error.strerror or error}",
                hint=f"another reference stack probably runs on {self.topology.network}; "
                "stop it (Ctrl-C its `ullc-harness up`), or use another network "
                '(`--network 127.78.0.0/16`, or network="auto" from Python)',
            )

    def _prepare_run_dir(self, redis_server: str) -> None:
        for sub in ("pids", "logs", "ready", "exited", "killed", "maps", "redis"):
            (self.run_dir / sub).mkdir(parents=True, exist_ok=True)
        reaper.write_pidfile(self.run_dir, "owner", os.getpid(), self.session)
        (self.run_dir / "topology.json").write_text(
            json.dumps(self.topology.to_json(), indent=2) + "\n", encoding="utf-8"
        )
        spec = {
            "session": self.session,
            "topology": str(self.run_dir / "topology.json"),
            "network": self.topology.network,
            "seed": self.seed,
            "hops": self.hops,
            "redis_server": redis_server,
            "defects": sorted(d.value for d in self.defects),
        }
        (self.run_dir / "stack.json").write_text(json.dumps(spec, indent=2), encoding="utf-8")
        proxies = [link.proxy_json() for link in self.plan.links]
        (self.run_dir / "hops.json").write_text(json.dumps(proxies, indent=2), encoding="utf-8")
        self.map_files = write_maps(self.plan, self.run_dir / "maps")
        from harness.stack.target import build_target, write_stack_target

        target = build_target(
            self.plan, run_dir=self.run_dir, session=self.session, seed=self.seed,
            backend=self.name, maps=self.map_files,
        )  # fmt: skip
        write_stack_target(target, self.target_path)

    @property
    def target_path(self) -> Path:
        return self.run_dir / "target.toml"

    @property
    def hop_url(self) -> str:
        return f"http://{self.plan.hop_api[0]}:{self.plan.hop_api[1]}"

    def wait_healthy(self, timeout: float = 15.0) -> None:
        """Wait for every component; on failure stop everything and raise StackStartError."""
        try:
            self._wait(timeout)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - self._started_at

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pending: dict[str, str] = {c.name: "ready marker" for c in self._components()}
        last_problem: dict[str, str] = {}
        while pending:
            self._check_alive()
            for component in self._components():
                if component.name not in pending:
                    continue
                problem = self._probe(component)
                if problem is None:
                    del pending[component.name]
                else:
                    last_problem[component.name] = problem
            if not pending:
                return
            if time.monotonic() > deadline:
                name = next(iter(pending))
                raise StackStartError(
                    f"component {name} of stack {self.session} not healthy after {timeout:g} s: "
                    f"waited for {last_problem.get(name, pending[name])}; also pending: "
                    f"{', '.join(sorted(set(pending) - {name})) or 'nothing'}\n"
                    f"last log lines of {name}:\n{_tail(self._log(name))}",
                    hint=f"read {self._log(name)} (all logs: {self.run_dir / 'logs'}); "
                    "on a loaded machine pass a longer timeout to wait_healthy",
                )
            time.sleep(0.01)

    def _probe(self, component: Component) -> str | None:
        """None when ``component`` is healthy, else what it still lacks."""
        if component.role is Role.REDIS:
            password = store_password.read(self.run_dir)
            return probes.redis_ping(self.plan.dcs[component.group].redis, password)
        if not (self.run_dir / "ready" / component.name).exists():
            return "its ready marker (it has not bound its sockets yet)"
        if component.role is Role.HOP:
            return self._hop_probe()
        if component.role is Role.GATEWAY:
            return probes.http_health(self.plan.gateway_control)
        if component.role is Role.EDGE:
            return probes.http_health(self.plan.edges[component.name].control)
        if component.role is Role.HANDLER:
            return probes.http_health(self.plan.dcs[component.group].control)
        if component.role is Role.DNS:
            source = self.plan.client_ip()
            return probes.dns_query(self.plan.dns_public, self.topology.global_endpoint, source)
        return None

    def _check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise StackStartError(
                f"the supervisor of stack {self.session} exited with {self.process.returncode}\n"
                f"last log lines:\n{_tail(self.run_dir / 'logs' / 'supervisor.log')}",
                hint=f"read {self.run_dir / 'logs'}",
            )
        for marker in sorted((self.run_dir / "exited").glob("[!.]*")):
            raise StackStartError(
                f"component {marker.name} exited with status {marker.read_text().strip()} "
                f"during start\nlast log lines of {marker.name}:\n{_tail(self._log(marker.name))}",
                hint=f"read {self._log(marker.name)}; a bind error there means an address "
                "is taken (see `ss -lnup`)",
            )

    def _log(self, name: str) -> Path:
        return self.run_dir / "logs" / f"{name}.log"

    def _components(self) -> list[Component]:
        return self.plan.components()

    # -- hops -------------------------------------------------------------------------------
    def _hop_probe(self) -> str | None:
        """Healthy once the topology's latency toxics are on every link (in a thread: the
        ~30 API calls overlap with the other components' start)."""
        if self._toxic_thread is None:
            self._toxic_thread = threading.Thread(
                target=self._apply_topology_toxics, name="ullc-toxics", daemon=True
            )
            self._toxic_thread.start()
        if self._toxic_thread.is_alive():
            return "the topology's latency toxics on every link"
        if self._toxic_error is not None:
            raise self._toxic_error
        return None

    def _apply_topology_toxics(self) -> None:
        """One latency toxic per link, both directions: the world's one-way latency (TOPO-2)."""
        client = probes.Http(self.plan.hop_api, timeout=2.0)
        try:
            for link in self.plan.links:
                self._add_latency(client, link)
        except (StackStartError, OSError) as error:
            self._toxic_error = (
                error
                if isinstance(error, StackStartError)
                else StackStartError(
                    f"hop server API failed while adding latency toxics: {error}",
                    hint=f"read {self._log('hop')}",
                )
            )
        finally:
            client.close()

    def _add_latency(self, client: probes.Http, link: Link) -> None:
        if link.latency_ms <= 0:
            return
        body = {
            "name": TOPOLOGY_TOXIC,
            "type": "latency",
            "stream": "both",
            "toxicity": 1.0,
            "attributes": {"latency": link.latency_ms, "jitter": 0},
        }
        status, reply = client.request("POST", f"/proxies/{link.name}/toxics", body)
        if status >= 300:
            raise StackStartError(
                f"hop server refused the latency toxic of link {link.name}: {status} {reply}",
                hint=f"read {self._log('hop')}",
            )

    def restore_links(self) -> None:
        """Back to the topology: ``POST /reset`` (drops every toxic), then the latencies again.

        Use this instead of a bare FaultClient.reset(), which would leave the world
        without its emulated latency.
        """
        client = probes.Http(self.plan.hop_api, timeout=2.0)
        try:
            client.request("POST", "/reset")
            for link in self.plan.links:
                self._add_latency(client, link)
        finally:
            client.close()

    def fault_client(self) -> FaultClient:
        """A :class:`harness.faults.client.FaultClient` connected to this stack's hop server."""
        from harness.faults.client import FaultClient

        return FaultClient.connect(self.hop_url)

    # -- latency maps -----------------------------------------------------------------------
    def set_latency_map(self, component: str, version: str) -> None:
        """PUT map ``version`` (see ``self.map_files``) on ``gateway`` or an edge (CTL-3)."""
        if version not in self.map_files:
            raise UnknownComponentError(
                f"no latency map version {version!r}",
                hint=f"versions: {', '.join(sorted(self.map_files))}",
            )
        if component == "gateway":
            address = self.plan.gateway_control
        elif component in self.plan.edges:
            address = self.plan.edges[component].control
        else:
            raise UnknownComponentError(
                f"{component!r} does not route (only the gateway and edges hold a map)",
                hint=f"routing components: gateway, {', '.join(self.plan.edges)}",
            )
        body = json.loads(self.map_files[version].read_text(encoding="utf-8"))
        client = probes.Http(address, timeout=2.0)
        try:
            status, reply = client.request("PUT", "/control/latency-map", body)
        finally:
            client.close()
        if status != 200:
            raise StackStartError(f"{component} refused map {version}: {status} {reply}")

    # -- processes --------------------------------------------------------------------------
    def components(self) -> list[str]:
        return [component.name for component in self._components()]

    def groups(self) -> dict[str, list[str]]:
        """Group name (DC or edge id, ``hop``, ``dns``, ``gateway``) -> its components."""
        found: dict[str, list[str]] = {}
        for component in self._components():
            found.setdefault(component.group, []).append(component.name)
        return found

    def pids(self) -> dict[str, int]:
        """Live component pids by name (the supervisor included)."""
        return {
            record.name: record.pid
            for record in reaper.read_pidfiles(self.run_dir / "pids")
            if record.alive()
        }

    def _resolve(self, name: str) -> list[str]:
        if name in self.components():
            return [name]
        groups = self.groups()
        if name in groups:
            return groups[name]
        raise UnknownComponentError(
            f"no component or group {name!r} in this stack",
            hint=f"components: {', '.join(self.components())}; groups: {', '.join(groups)}",
        )

    def _signal(self, name: str, signum: signal.Signals) -> None:
        pids = self.pids()
        for component in self._resolve(name):
            if component in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pids[component], signum)

    def kill(self, component: str, timeout: float = 2.0) -> None:
        """SIGKILL a component or group and return once it is dead (a zombie counts).

        Waiting matters: a ``restart`` right after a bare signal could still see the
        process alive on a loaded machine and skip it.
        """
        names = set(self._resolve(component))
        deaths.expect(self.run_dir, names)  # on purpose: not a death to report
        self._signal(component, signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while names & set(self.pids()) and time.monotonic() < deadline:
            time.sleep(0.005)

    def pause(self, component: str) -> None:
        self._signal(component, signal.SIGSTOP)

    def resume(self, component: str) -> None:
        self._signal(component, signal.SIGCONT)

    def restart(self, component: str, timeout: float = 10.0) -> None:
        """Start killed components of ``component`` (name or group) again and wait for them."""
        assert self.process is not None
        assert self.process.stdin is not None
        names = self._resolve(component)
        for name in names:
            if name in self.pids():
                continue
            # Wait for the supervisor to reap it, or it would think it is still running.
            deadline = time.monotonic() + 2.0
            while not (self.run_dir / "exited" / name).exists() and time.monotonic() < deadline:
                time.sleep(0.01)
            # The dead process's ready marker must not pass for the new one's.
            (self.run_dir / "ready" / name).unlink(missing_ok=True)
            self.process.stdin.write(f"restart {name}\n".encode())
            self.process.stdin.flush()
        deadline = time.monotonic() + timeout
        for name in names:
            while name not in self.pids() or self._probe(self.plan.component(name)) is not None:
                if time.monotonic() > deadline:
                    raise StackStartError(f"{name} did not come back within {timeout:g} s")
                time.sleep(0.01)

    def addresses(self) -> dict[str, str]:
        plan = self.plan
        found = {
            "hop": f"{self.hop_url} (API)",
            "dns": f"{plan.dns_public[0]}:{plan.dns_public[1]} ({self.topology.global_endpoint})",
            "gateway": plan.gateway_url,
        }
        for name, _edge in plan.edges.items():
            found[name] = f"{plan.edge_public(name)[0]}:{plan.edge_public(name)[1]} (udp)"
        for name, dc in plan.dcs.items():
            found[f"{name}.handler"] = f"http://{dc.handler[0]}:{dc.handler[1]}"
            found[f"{name}.ingress"] = f"{dc.ingress[0]}:{dc.ingress[1]} (udp)"
            found[f"{name}.redis"] = f"{dc.redis[0]}:{dc.redis[1]}"
            for bot in dc.bots:
                found[bot.name] = f"{bot.media[0]}:{bot.media[1]} (udp)"
        return found

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

    def __enter__(self) -> LocalBackend:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


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
    backend = LocalBackend(topology, network=network, seed=seed, defects=defects)
    try:
        backend.start()
        backend.wait_healthy(timeout)
        yield backend
    finally:
        backend.stop()
