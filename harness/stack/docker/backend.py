"""The docker backend: the reference stack as containers, one per component (DESIGN.md §6).

Usage::

    with start_docker_stack() as stack:     # healthy when the block starts
        stack.pause("dc-eu")                 # docker pause of the DC's containers

Layout: one ``--internal`` bridge network per run with an explicit /16 subnet
of 10.0.0.0/8 (:mod:`.network`). The fault hop's container holds the run's one
endpoint on it; every other component's container joins the hop's network
namespace (``--network container:``), where the hop adds every link's listen
address and every component's plan address (``ip addr add`` with NET_ADMIN,
``net.ipv4.ip_nonlocal_bind=1``), as the local backend lays them out on the
loopback, and serves the same Toxiproxy-format API. Kill, pause and restart
stay container operations, one container per component. The run directory is
mounted into every container at the same path, so inputs, ready markers and
logs are where the local backend keeps them. Everything carries the run's
labels; a watcher removes it all if the runner dies (:mod:`.reaper`). Where the
time of a start goes and what was cut: :meth:`DockerBackend._start_containers`,
:func:`.daemon.fair_cgroup_parent`, ``python -m harness.stack.docker``.
"""

from __future__ import annotations

import atexit
import contextlib
import shlex
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.stack import deaths, relay_seal, store_password
from harness.stack.backend import BackendKind
from harness.stack.defects import DEFECTS_ENV, Defect, defects_from_env, describe
from harness.stack.docker import daemon, images, labels, reaper
from harness.stack.docker.entry import PRIVATE, redis_argv
from harness.stack.docker.network import place
from harness.stack.errors import StackStartError
from harness.stack.health import tail
from harness.stack.lifecycle import RunFiles, resolve_topology, running
from harness.stack.local import reaper as local_reaper
from harness.stack.local.backend import new_session
from harness.stack.local.network_claim import NetworkClaim
from harness.stack.plan import Component, Plan, Role
from harness.stack.rundir import prepare_run_dir
from harness.stack.topology import Topology, relocate

if TYPE_CHECKING:
    import subprocess

    import docker

    from harness.stack.deaths import DeathWatcher

START_WORKERS = 12
"""Containers created and started at once (dockerd does the work; we mostly wait)."""
ALIVE_CHECK_S = 0.5


def _stderr(message: str) -> None:
    print(f"ullc docker: {message}", file=sys.stderr, flush=True)


class DockerBackend(RunFiles):
    """The reference stack as containers (implements StackBackend and ProcessControl)."""

    kind = BackendKind.DOCKER
    name = kind.value

    def __init__(
        self,
        topology: Topology | Path | str | None = None,
        *,
        network: str | None = "auto",
        seed: int = 0,
        run_root: Path | None = None,
        hops: bool = True,
        defects: Iterable[Defect] | None = None,
        progress: Callable[[str], None] = _stderr,
    ) -> None:
        # Laid out in 10.0.0.0/8 from the start: the plan's addresses are container addresses.
        self.topology = relocate(resolve_topology(topology), "10.77.0.0/16", within=PRIVATE)
        self.requested_network = network
        self.seed = seed
        self.run_root = run_root or local_reaper.run_root()
        self.hops = hops
        self.defects = defects_from_env() if defects is None else frozenset(defects)
        self.plan = Plan(self.topology, hops=hops)
        self.session = new_session()
        self.run_dir = self.run_root / self.session
        self.map_files: dict[str, Path] = {}
        self.startup_seconds: float | None = None
        self.image: str | None = None
        self.progress = progress
        self._client: docker.DockerClient | None = None
        self._claim: NetworkClaim | None = None
        self._network_id: str | None = None
        self._containers: dict[str, str] = {}
        self._cgroup_parent: str | None = None
        self._watcher: subprocess.Popen[bytes] | None = None
        self._started_at = 0.0
        self._last_alive_check = 0.0
        self._toxics = self._topology_toxics()

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            self._client = daemon.connect()
        return self._client

    @property
    def network_name(self) -> str:
        return f"ullc-{self.session}"

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        self._started_at = time.monotonic()
        client = self.client
        for session in reaper.sweep(client):
            self.progress(f"removed the leftovers of dead run {session}")
        self.image = images.ensure_image(client, self.progress).tag
        self._cgroup_parent = daemon.fair_cgroup_parent(client)
        self.topology, self._claim = place(client, self.topology, self.requested_network)
        self.plan = Plan(self.topology, hops=self.hops)
        self._toxics = self._topology_toxics()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.map_files = prepare_run_dir(
            self.run_dir, self.plan, session=self.session, seed=self.seed,
            backend=self.name, defects=self.defects, extra={"image": self.image},
        )  # fmt: skip
        # What the local supervisor makes before any Redis starts: the run's Redis
        # password and the edges' header seal key, read by the components from the
        # mounted run directory.
        store_password.create(self.run_dir)
        relay_seal.create_key(self.run_dir)
        if self.defects:
            self.progress(
                f"stack {self.session} runs with deliberate defects "
                f"({DEFECTS_ENV}={describe(self.defects)}): a harness self-test, not the reference"
            )
        atexit.register(self.stop)
        self._watcher = reaper.spawn_watcher(self.session)
        self._create_network()
        self._start_containers()

    def _start_containers(self) -> None:
        """Create and start every container, all at once but for the hop's start.

        The hop's container holds the run's one network endpoint and every
        component joins its network namespace (``--network container:hop``), where
        the hop adds each component's address (:func:`.entry.hop_addresses`): one
        address plan in one namespace, as on the local backend's loopback, and
        dockerd sets up one endpoint instead of 21, which was half of its CPU per
        start. The others are created while the hop starts, and started once it
        runs (joining a namespace needs its holder running); their interpreters
        need not wait for the hop's (components retry their links until it listens).
        """
        components = self.plan.components()
        hop = next((c for c in components if c.role is Role.HOP), None)
        with ThreadPoolExecutor(max_workers=START_WORKERS) as pool:
            if hop is None:  # no hop (component tests): an endpoint each
                ids = list(pool.map(lambda c: self._start(self._create(c, None)), components))
            else:
                hop_id = self._create(hop, None)
                hop_started = pool.submit(self._start, hop_id)

                def join(component: Component) -> str:
                    if component is hop:
                        return hop_started.result()
                    container_id = self._create(component, hop_id)
                    hop_started.result()  # raises the hop's failure to start
                    return self._start(container_id)

                ids = list(pool.map(join, components))
        for component, container_id in zip(components, ids, strict=True):
            self._containers[component.name] = container_id

    def _create_network(self) -> None:
        import docker.types

        # The bridge (the host's side) takes the client's address: the reference
        # client on the host binds it (TOPO-1 client subnet of its region).
        pool = docker.types.IPAMPool(subnet=self.topology.network, gateway=self.plan.client_ip())
        network = self.client.networks.create(
            self.network_name,
            driver="bridge",
            internal=True,
            ipam=docker.types.IPAMConfig(pool_configs=[pool]),
            labels={
                **labels.run_labels(self.session),
                labels.MEMBERS: ",".join(self.components()),
            },
        )
        self._network_id = network.id

    def _create(self, component: Component, netns_of: str | None) -> str:
        """Create ``component``'s container: on the run's network at its address, or in
        the network namespace of container ``netns_of`` (the hop's)."""
        api = self.client.api
        hop = component.role is Role.HOP
        host_config = api.create_host_config(
            binds={str(self.run_dir): {"bind": str(self.run_dir), "mode": "rw"}},
            network_mode=self.network_name if netns_of is None else f"container:{netns_of}",
            cap_add=["NET_ADMIN"] if hop else None,
            sysctls={"net.ipv4.ip_nonlocal_bind": "1"} if hop else None,
            cgroup_parent=self._cgroup_parent,
        )
        networking = None
        if netns_of is None:
            endpoint = api.create_endpoint_config(ipv4_address=component.ip)
            networking = api.create_networking_config({self.network_name: endpoint})
        created = api.create_container(
            self.image,
            command=self._command(component),
            name=f"ullc-{self.session}-{component.name}",
            labels={**labels.run_labels(self.session), labels.COMPONENT: component.name},
            host_config=host_config,
            networking_config=networking,
            environment={"PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        return str(created["Id"])

    def _start(self, container_id: str) -> str:
        self.client.api.start(container_id)
        return container_id

    def _command(self, component: Component) -> list[str]:
        """Redis runs bare (no interpreter to start); the others through the entry module."""
        if component.role is Role.REDIS:
            log = shlex.quote(str(self._log(component.name)))
            password = store_password.read(self.run_dir)
            assert password is not None  # made in start() before any container
            config = store_password.redis_config(self.run_dir, component.name, password)
            argv = " ".join(shlex.quote(arg) for arg in redis_argv(self.plan, component, config))
            return ["sh", "-c", f"exec {argv} >>{log} 2>&1"]
        return ["python", "-m", "harness.stack.docker", str(self.run_dir), component.name]

    def wait_healthy(self, timeout: float = 15.0) -> None:
        """Wait for every component; on failure remove everything and raise StackStartError."""
        try:
            self.prober.wait(
                self.plan.components(), timeout, session=self.session,
                check_alive=self._check_alive,
            )  # fmt: skip
            self._warm_up()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - self._started_at

    def _warm_up(self) -> None:
        """One call through the stack before it counts as healthy.

        Every container is a fresh interpreter (the local backend forks a preloaded
        one), and the first call after a start pays for cold ARP entries, first
        connections through the hops and first code paths: measured 1.6-2.7 s on a
        loaded machine, against ~140 ms for the next. A suite's first test must not
        measure that. In a thread: the caller may already run an event loop.
        """
        import asyncio
        import threading

        from harness.client.runner import run_calls
        from harness.target.loader import load_target

        target = load_target(self.target_path)
        failure: list[BaseException] = []

        def call() -> None:
            try:
                results, _ = asyncio.run(run_calls(target, 1))
                if not results or results[0].connect_ms is None:
                    raise StackStartError(
                        f"the warm-up call through stack {self.session} did not connect: "
                        f"{results[0].detail if results else 'no result'}",
                        hint=f"read the logs in {self.run_dir / 'logs'}",
                    )
            except BaseException as error:
                failure.append(error)

        thread = threading.Thread(target=call, name="ullc-docker-warm-up")
        thread.start()
        thread.join()
        if failure:
            raise failure[0]

    def _states(self) -> dict[str, dict[str, Any]]:
        """Container state by component name (one API call for the whole run)."""
        found: list[dict[str, Any]] = self.client.api.containers(
            all=True, filters=labels.session_filter(self.session)
        )
        return {c["Labels"].get(labels.COMPONENT, c["Id"]): c for c in found}

    def _check_alive(self) -> None:
        now = time.monotonic()
        if now - self._last_alive_check < ALIVE_CHECK_S:
            return
        self._last_alive_check = now
        for name, state in sorted(self._states().items()):
            if state.get("State") == "exited":
                raise StackStartError(
                    f"container of component {name} exited during start "
                    f"({state.get('Status')})\nlast log lines of {name}:\n{tail(self._log(name))}",
                    hint=f"read {self._log(name)} (or `docker logs {state['Id'][:12]}`)",
                )

    def alive(self) -> bool:
        """True while the hop container runs (it carries every link)."""
        hop = self._states().get("hop")
        return hop is not None and hop.get("State") in ("running", "paused")

    # -- processes (containers) -------------------------------------------------------------
    def handles(self) -> dict[str, str]:
        """Component name -> its container's short id."""
        return {name: container_id[:12] for name, container_id in self._containers.items()}

    def _each(self, component: str, action: Callable[[str, str], None]) -> None:
        names = self.plan.resolve(component)
        with ThreadPoolExecutor(max_workers=min(len(names), START_WORKERS)) as pool:
            list(pool.map(lambda name: action(name, self._containers[name]), names))

    def death_watch(self) -> DeathWatcher:
        """Containers of this run that exited unannounced (:mod:`.deaths`)."""
        from harness.stack.docker.deaths import DockerDeathWatch

        return DockerDeathWatch(self.run_dir, self.session)

    def kill(self, component: str) -> None:
        """SIGKILL a component's container (or a group's) and return once it has stopped."""
        import docker.errors

        deaths.expect(self.run_dir, self.plan.resolve(component))  # on purpose: no report

        def kill(name: str, container_id: str) -> None:
            with contextlib.suppress(docker.errors.APIError):
                self.client.api.kill(container_id)
            self.client.api.wait(container_id, timeout=10)

        self._each(component, kill)

    def pause(self, component: str) -> None:
        """``docker pause`` (the cgroup freezer): the container's processes stop in place."""
        self._each(component, lambda name, cid: self.client.api.pause(cid))

    def resume(self, component: str) -> None:
        import docker.errors

        def unpause(name: str, container_id: str) -> None:
            with contextlib.suppress(docker.errors.APIError):  # not paused: nothing to do
                self.client.api.unpause(container_id)

        self._each(component, unpause)

    def restart(self, component: str, timeout: float = 20.0) -> None:
        """Start killed containers of ``component`` again (same address) and wait for them."""
        states = self._states()
        names = [
            name
            for name in self.plan.resolve(component)
            if states.get(name, {}).get("State") not in ("running", "paused")
        ]
        for name in names:
            # The dead process's ready marker must not pass for the new one's.
            (self.run_dir / "ready" / name).unlink(missing_ok=True)
        self._each(
            component, lambda name, cid: self.client.api.start(cid) if name in names else None
        )
        deadline = time.monotonic() + timeout
        for name in names:
            while self.prober.probe(self.plan.component(name)) is not None:
                if time.monotonic() > deadline:
                    raise StackStartError(
                        f"{name} did not come back within {timeout:g} s",
                        hint=f"read {self._log(name)}",
                    )
                time.sleep(0.02)

    def stop(self) -> None:
        """Remove every container and the network of this run; idempotent."""
        atexit.unregister(self.stop)
        if self._client is not None:
            reaper.remove_session(self._client, self.session)
            self._containers.clear()
            self._network_id = None
            self._client.close()
            self._client = None
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.terminate()
            with contextlib.suppress(Exception):
                watcher.wait(timeout=2.0)
        if self._claim is not None:
            self._claim.release()
            self._claim = None


@contextlib.contextmanager
def start_docker_stack(
    topology: Topology | Path | str | None = None,
    *,
    network: str | None = "auto",
    seed: int = 0,
    timeout: float = 60.0,
    defects: Iterable[Defect] | None = None,
) -> Iterator[DockerBackend]:
    """Start a docker stack, wait until healthy, yield it, always remove it."""
    with running(
        DockerBackend(topology, network=network, seed=seed, defects=defects), timeout
    ) as backend:
        yield backend
