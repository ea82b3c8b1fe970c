"""How a call shows in Locust's stats, and the run summary read back from them.

Each call is one request event: ``request_type`` is the mode (``ullc``/``sequential``),
``name`` is ``REGION/ROUTE`` with ROUTE ``hit`` (the routing bet held, FB-4: the check
through the resolved edge got an authentic success, whichever path answered first),
``fallback`` (connected, but only through the response's media address) or ``failed``
(the exception carries the typed outcome). So Locust's own table, CSV and web UI show
fallbacks and the hit rate with no side channel, and the Aggregated row is all calls.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from harness.client.result import CallResult


class Route(StrEnum):
    HIT = "hit"
    FALLBACK = "fallback"
    FAILED = "failed"

    @classmethod
    def of(cls, result: CallResult) -> Route:
        if not result.connected:
            return cls.FAILED
        return cls.HIT if result.bet_hit else cls.FALLBACK


class CallFailed(Exception):
    """A call that did not connect, as Locust records a failure: its typed outcome."""

    def __init__(self, result: CallResult) -> None:
        super().__init__(f"{result.outcome.value}: {result.failure}")


def request_name(region: str, result: CallResult) -> str:
    return f"{region}/{Route.of(result).value}"


@dataclass(frozen=True)
class RouteCounts:
    """Calls per route, summed over the stats rows Locust kept (``name`` -> requests)."""

    hits: int
    fallbacks: int
    failed: int

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, int, int]]) -> RouteCounts:
        """``rows``: (name, requests, failures) of every stats entry; Locust counts a
        failure as a request too, so a ``failed`` row's requests are its failures."""
        counts = dict.fromkeys(Route, 0)
        for name, requests, _failures in rows:
            route = name.rsplit("/", 1)[-1]
            if route in set(Route):
                counts[Route(route)] += requests
        return cls(counts[Route.HIT], counts[Route.FALLBACK], counts[Route.FAILED])

    @property
    def calls(self) -> int:
        return self.hits + self.fallbacks + self.failed

    @property
    def hit_rate(self) -> float | None:
        """Share of connected calls that connected through the resolved edge (FB-4)."""
        connected = self.hits + self.fallbacks
        return None if connected == 0 else self.hits / connected
