"""The seam between the harness and a way of running the reference stack (DESIGN.md §6).

One Protocol, one package per backend (``harness.stack.local``,
``harness.stack.docker``), in the manner of pytest-xdist's schedulers. A backend
also satisfies :class:`harness.faults.process.ProcessControl` (kill/pause/resume
by name), so the fault vocabulary can take a DC down without knowing how it runs.
Fixtures, faults and commands hold a :class:`StackBackend` from :func:`open_backend`,
never a concrete class.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from harness.stack.errors import BackendNotAvailableError

if TYPE_CHECKING:
    from harness.faults.client import FaultClient
    from harness.stack.deaths import DeathWatcher
    from harness.stack.defects import Defect
    from harness.stack.plan import Plan
    from harness.stack.topology import Topology


class BackendKind(StrEnum):
    """Where the reference stack runs: the one enum of ``--backend``/``--ullc-backend``."""

    LOCAL = "local"
    """Processes on their own loopback addresses (no root, no Docker; the default)."""
    DOCKER = "docker"
    """One container per component on an internal Docker network."""

    @property
    def start_timeout_s(self) -> float:
        """How long a start may take to become healthy by default.

        Docker: ~21 containers, each a fresh interpreter importing the harness,
        where the local backend forks one preloaded interpreter.
        """
        return 15.0 if self is BackendKind.LOCAL else 60.0


@runtime_checkable
class StackBackend(Protocol):
    """A reference stack that can be started, checked, stopped and disturbed.

    Component names are those of :meth:`components`; ``kill``/``pause``/``resume``
    also accept a group (a DC id such as ``dc-eu`` covers its handler, ingress,
    bots and redis; an edge id its edge process).
    """

    kind: BackendKind
    session: str
    """The run's label (process names, container/network labels, run directory)."""
    topology: Topology
    plan: Plan
    run_dir: Path
    """Inputs (stack.json, hops.json, maps/), ready markers and ``logs/<component>.log``."""
    map_files: dict[str, Path]
    startup_seconds: float | None

    def start(self) -> None:
        """Launch every component; returns once they exist, not once healthy."""
        ...

    def wait_healthy(self, timeout: float = 15.0) -> None:
        """Block until every component answers; raise StackStartError naming the laggard."""
        ...

    def stop(self) -> None:
        """Tear everything down; idempotent, safe after a failed start."""
        ...

    def alive(self) -> bool:
        """False once the stack died under the runner (``up`` exits then)."""
        ...

    def death_watch(self) -> DeathWatcher:
        """Notices components that die unannounced (not through ``kill``), each once."""
        ...

    def kill(self, component: str) -> None: ...

    def pause(self, component: str) -> None: ...

    def resume(self, component: str) -> None: ...

    def restart(self, component: str) -> None:
        """Start a killed component again (same addresses)."""
        ...

    def components(self) -> list[str]: ...

    def addresses(self) -> dict[str, str]:
        """Component name -> the address it serves on (for tables and reports)."""
        ...

    def handles(self) -> dict[str, str]:
        """Component name -> what runs it (a pid, a container id)."""
        ...

    def restore_links(self) -> None:
        """Every link back to the topology: toxics dropped, the world's latency on again."""
        ...

    def set_latency_map(self, component: str, version: str) -> None: ...

    def fault_client(self) -> FaultClient: ...

    @property
    def hop_url(self) -> str:
        """The hop server's (Toxiproxy-format) API."""
        ...

    @property
    def target_path(self) -> Path:
        """The TOML target file describing this running stack (specs/target-file.md)."""
        ...


def backend_kind(name: str, *, flag: str = "--backend") -> BackendKind:
    """Validate a backend name (``flag`` names where it came from in the error)."""
    try:
        return BackendKind(name)
    except ValueError:
        choices = "|".join(kind.value for kind in BackendKind)
        raise BackendNotAvailableError(
            f"unknown backend {name!r}", hint=f"use {flag} {choices}"
        ) from None


def open_backend(
    kind: BackendKind | str,
    topology: Topology | Path | str | None = None,
    *,
    network: str | None = "auto",
    seed: int = 0,
    run_root: Path | None = None,
    defects: Iterable[Defect] | None = None,
) -> StackBackend:
    """A not yet started backend of ``kind`` (``network="auto"``: a free, claimed /16)."""
    kind = backend_kind(kind) if isinstance(kind, str) else kind
    if kind is BackendKind.DOCKER:
        from harness.stack.docker.backend import DockerBackend

        return DockerBackend(topology, network=network, seed=seed, run_root=run_root,
                             defects=defects)  # fmt: skip
    from harness.stack.local.backend import LocalBackend

    return LocalBackend(topology, network=network, seed=seed, run_root=run_root, defects=defects)


@contextlib.contextmanager
def start_stack(
    kind: BackendKind | str = BackendKind.LOCAL,
    topology: Topology | Path | str | None = None,
    *,
    network: str | None = "auto",
    seed: int = 0,
    timeout: float | None = None,
) -> Iterator[StackBackend]:
    """Start a stack of ``kind``, wait until healthy, yield it, always tear it down."""
    from harness.stack.lifecycle import running

    backend = open_backend(kind, topology, network=network, seed=seed)
    with running(backend, timeout or backend.kind.start_timeout_s) as started:
        yield started
