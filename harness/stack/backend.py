"""The seam between the harness and a way of running the reference stack (DESIGN.md §6).

One Protocol, one module per backend (``harness.stack.local`` today, docker
later), in the manner of pytest-xdist's schedulers. A backend also satisfies
:class:`harness.faults.process.ProcessControl` (kill/pause/resume by name), so
the fault vocabulary can take a DC down without knowing how it runs.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Protocol, runtime_checkable

from harness.stack.errors import BackendNotAvailableError


class BackendKind(StrEnum):
    LOCAL = "local"
    DOCKER = "docker"


@runtime_checkable
class StackBackend(Protocol):
    """A reference stack that can be started, checked, stopped and disturbed.

    Component names are those of :meth:`components`; ``kill``/``pause``/``resume``
    also accept a group (a DC id such as ``dc-eu`` covers its handler, ingress,
    bots and redis; an edge id its edge process).
    """

    def start(self) -> None:
        """Launch every component; returns once processes exist, not once healthy."""
        ...

    def wait_healthy(self, timeout: float = 15.0) -> None:
        """Block until every component answers; raise StackStartError naming the laggard."""
        ...

    def stop(self) -> None:
        """Tear everything down; idempotent, safe after a failed start."""
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

    @property
    def target_path(self) -> Path:
        """The TOML target file describing this running stack (specs/target-file.md)."""
        ...


def backend_kind(name: str) -> BackendKind:
    """Validate a ``--backend`` value; docker is refused until it exists."""
    try:
        kind = BackendKind(name)
    except ValueError:
        raise BackendNotAvailableError(
            f"unknown backend {name!r}", hint="use --backend local"
        ) from None
    if kind is BackendKind.DOCKER:
        raise BackendNotAvailableError(
            "the docker backend is not available yet (a later issue brings it)",
            hint="use --backend local (processes on loopback addresses, no root needed)",
        )
    return kind
