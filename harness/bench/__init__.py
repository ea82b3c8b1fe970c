"""Benchmarks (``ullc-harness bench``): timing targets are measured here, never in tests.

Each section is one module with a ``run() -> BenchResult`` function; add a
:class:`Section` to :data:`SECTIONS` to add one. Modules are imported only when run.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


class BenchResult(Protocol):
    """What a section returns: table rows (metric, value, target) and a JSON object."""

    def rows(self) -> list[tuple[str, str, str]]: ...

    def to_json(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Section:
    name: str
    help: str
    target: str  # "module:function", imported lazily

    def load(self) -> Callable[[], BenchResult]:
        module, _, function = self.target.partition(":")
        runner: Callable[[], BenchResult] = getattr(importlib.import_module(module), function)
        return runner


SECTIONS: list[Section] = [
    Section("hop", "added latency and datagram rate of one fault hop", "harness.bench.hop:run"),
]
