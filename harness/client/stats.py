"""Aggregate numbers over a run of calls (overview, definitions; DESIGN section 4).

Percentiles use the **nearest-rank** method: for ``p`` in (0, 100] over ``n``
sorted values, the value at rank ``ceil(p / 100 * n)`` (1-based). It always
returns a latency some call really had, and p100 is the maximum. Percentiles
are over connected calls only; failures are counted by outcome instead.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from harness.client.result import CallResult
from harness.signaling.messages import Mode


def nearest_rank(values: Sequence[float], percentile: float) -> float | None:
    """Nearest-rank percentile of ``values`` (any order); ``None`` for no values."""
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {percentile}")
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(percentile / 100.0 * len(ordered)))
    return ordered[rank - 1]


def _empty() -> Mapping[str, int]:
    return MappingProxyType({})


@dataclass(frozen=True)
class CallStats:
    """What a run of calls adds up to."""

    calls: int
    connected: int
    failed: int
    failures: Mapping[str, int] = field(default_factory=_empty)
    """Failed calls by :attr:`CallResult.failure` (``signaling_error(timeout)``, ...)."""
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    mean_ms: float | None = None
    max_ms: float | None = None
    fallbacks: int = 0
    hit_rate: float | None = None
    """Routing-bet hit rate: connected ULLC calls whose edge transaction got a success that
    counts, whichever target answered first (FB-4) / connected ULLC."""
    mean_recovery_ms: float | None = None
    """Fallback recovery: ``session.created`` -> connected, mean over fell-back calls."""
    modes: tuple[Mode, ...] = ()

    @classmethod
    def from_results(cls, results: Sequence[CallResult]) -> CallStats:
        latencies = [r.connect_ms for r in results if r.connected and r.connect_ms is not None]
        failures = Counter(r.failure for r in results if not r.connected)
        ullc_connected = [r for r in results if r.connected and r.mode is Mode.ULLC]
        fell_back = [r for r in results if r.fell_back]
        recoveries = [r.recovery_ms for r in fell_back if r.recovery_ms is not None]
        return cls(
            calls=len(results),
            connected=len(latencies),
            failed=len(results) - len(latencies),
            failures=MappingProxyType({str(k): v for k, v in sorted(failures.items())}),
            p50_ms=nearest_rank(latencies, 50),
            p95_ms=nearest_rank(latencies, 95),
            p99_ms=nearest_rank(latencies, 99),
            mean_ms=sum(latencies) / len(latencies) if latencies else None,
            max_ms=max(latencies) if latencies else None,
            fallbacks=len(fell_back),
            hit_rate=(
                sum(1 for r in ullc_connected if r.bet_hit) / len(ullc_connected)
                if ullc_connected
                else None
            ),
            mean_recovery_ms=sum(recoveries) / len(recoveries) if recoveries else None,
            modes=tuple(mode for mode in Mode if any(r.mode is mode for r in results)),
        )

    def to_json(self) -> dict[str, Any]:
        def ms(value: float | None) -> float | None:
            return None if value is None else round(value, 3)

        return {
            "calls": self.calls,
            "connected": self.connected,
            "failed": self.failed,
            "failures": dict(self.failures),
            "p50_ms": ms(self.p50_ms),
            "p95_ms": ms(self.p95_ms),
            "p99_ms": ms(self.p99_ms),
            "mean_ms": ms(self.mean_ms),
            "max_ms": ms(self.max_ms),
            "fallbacks": self.fallbacks,
            "hit_rate": None if self.hit_rate is None else round(self.hit_rate, 4),
            "mean_recovery_ms": ms(self.mean_recovery_ms),
            "percentile_method": "nearest-rank",
        }

    def table(self) -> str:
        """A two-column text table for terminals."""

        def ms(value: float | None) -> str:
            return "-" if value is None else f"{value:.1f} ms"

        rows = [
            ("calls", str(self.calls)),
            ("connected", str(self.connected)),
            ("failed", str(self.failed)),
            *((f"  {name}", str(count)) for name, count in self.failures.items()),
            ("p50", ms(self.p50_ms)),
            ("p95", ms(self.p95_ms)),
            ("p99", ms(self.p99_ms)),
            ("fallbacks", str(self.fallbacks)),
            ("hit rate", "-" if self.hit_rate is None else f"{self.hit_rate:.1%}"),
            ("fallback recovery", ms(self.mean_recovery_ms)),
        ]
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)
