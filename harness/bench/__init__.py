"""Benchmarks (``ullc-harness bench``): timing targets are measured here, never in tests.

Each section is one module with a ``run`` function returning a :class:`BenchResult`
(a dataclass with the numbers, the targets and a verdict); add a :class:`Section`
to :data:`SECTIONS` to add one. Modules are imported only when run. Sections
whose ``run`` takes a :class:`BenchOptions` say so with ``takes_options``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from harness.bench.common import Row


class BenchResult(Protocol):
    """What a section returns: table rows and a JSON object (with ``verdict``)."""

    def rows(self) -> list[Row]: ...

    def to_json(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class BenchOptions:
    """Sizes from the command line; ``None`` means the section's default."""

    calls: int | None = None
    """Calls per mode in ``ullc_vs_sequential``."""
    concurrent: int | None = None
    """Simultaneous calls in ``concurrency`` (the target is stated for 500)."""
    starts: int | None = None
    """Stack starts in ``startup``."""
    backend: str = "local"
    """The backend ``startup`` measures (``local`` or ``docker``)."""


@dataclass(frozen=True)
class Section:
    name: str
    help: str
    target: str  # "module:function", imported lazily
    takes_options: bool = False

    def load(self) -> Callable[..., BenchResult]:
        module, _, function = self.target.partition(":")
        runner: Callable[..., BenchResult] = getattr(importlib.import_module(module), function)
        return runner

    def result_key(self, options: BenchOptions) -> str:
        """Where bench.json keeps this section's result: startup on docker is its own."""
        if self.name == "startup" and options.backend != "local":
            return f"{self.name}_{options.backend}"
        return self.name

    def run(self, options: BenchOptions) -> BenchResult:
        runner = self.load()
        return runner(options) if self.takes_options else runner()


SECTIONS: list[Section] = [
    Section(
        "hop",
        "added latency and datagram rate of one fault hop",
        "harness.bench.hop_verdict:run",
    ),
    Section(
        "ullc_vs_sequential",
        "ULLC vs sequential connect latency at the default world's 100 ms RTT",
        "harness.bench.ullc_vs_sequential:run",
        takes_options=True,
    ),
    Section(
        "concurrency",
        "500 simultaneous calls at a 50 ms client-DC RTT",
        "harness.bench.concurrency:run",
        takes_options=True,
    ),
    Section(
        "startup",
        "reference stack up and healthy (--backend local or docker)",
        "harness.bench.startup:run",
        takes_options=True,
    ),
]
