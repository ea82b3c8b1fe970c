"""What the two backends share: the run's files and hop, the stop-on-exit, the healthy start.

A backend (``LocalBackend``, ``DockerBackend``) runs its components its own way;
everything below only reads the plan and the run directory, or talks to the hop
server, so it is written once here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self, TypeVar

from harness.stack.health import Prober
from harness.stack.latency_control import set_latency_map
from harness.stack.links import TopologyToxics, restore_links
from harness.stack.plan import Plan
from harness.stack.topology import Topology, default_topology, load_topology

if TYPE_CHECKING:
    from harness.faults.client import FaultClient


def resolve_topology(topology: Topology | Path | str | None) -> Topology:
    """A backend's ``topology`` argument: None for the default world, or a file to load."""
    if topology is None:
        return default_topology()
    if isinstance(topology, Topology):
        return topology
    return load_topology(Path(topology))


class RunFiles:
    """The members a backend has from its plan, run directory and hop (both backends)."""

    plan: Plan
    run_dir: Path
    map_files: dict[str, Path]
    _toxics: TopologyToxics

    def stop(self) -> None:
        raise NotImplementedError

    def _log(self, name: str) -> Path:
        return self.run_dir / "logs" / f"{name}.log"

    def _topology_toxics(self) -> TopologyToxics:
        """Puts the world's latency on every link once the hop listens (its health probe)."""
        return TopologyToxics(self.plan.hop_api, self.plan.links, self._log("hop"))

    @property
    def target_path(self) -> Path:
        return self.run_dir / "target.toml"

    @property
    def hop_url(self) -> str:
        return f"http://{self.plan.hop_api[0]}:{self.plan.hop_api[1]}"

    @property
    def prober(self) -> Prober:
        return Prober(self.plan, self.run_dir, self._toxics.probe)

    def restore_links(self) -> None:
        """Back to the topology: ``POST /reset`` (drops every toxic), then the latencies again.

        Use this instead of a bare FaultClient.reset(), which would leave the world
        without its emulated latency.
        """
        restore_links(self.plan.hop_api, self.plan.links, self._log("hop"))

    def fault_client(self) -> FaultClient:
        """A :class:`harness.faults.client.FaultClient` connected to this stack's hop server."""
        from harness.faults.client import FaultClient

        return FaultClient.connect(self.hop_url)

    def set_latency_map(self, component: str, version: str) -> None:
        """PUT map ``version`` (see ``self.map_files``) on ``gateway`` or an edge (CTL-3)."""
        set_latency_map(self.plan, self.map_files, component, version)

    def components(self) -> list[str]:
        return [component.name for component in self.plan.components()]

    def groups(self) -> dict[str, list[str]]:
        """Group name (DC or edge id, ``hop``, ``dns``, ``gateway``) -> its components."""
        return self.plan.groups()

    def addresses(self) -> dict[str, str]:
        return self.plan.addresses()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class _Startable(Protocol):
    def start(self) -> None: ...

    def wait_healthy(self, timeout: float = ...) -> None: ...

    def stop(self) -> None: ...


StartableT = TypeVar("StartableT", bound=_Startable)


@contextlib.contextmanager
def running(backend: StartableT, timeout: float) -> Iterator[StartableT]:
    """Start ``backend``, wait until healthy, yield it, always stop it."""
    try:
        backend.start()
        backend.wait_healthy(timeout)
        yield backend
    finally:
        backend.stop()
