"""Stack up and healthy, median and max over K starts (DESIGN section 9).

Local: < 1 s. Docker with a warm image: up < 10 s, teardown < 5 s.

Two clocks per start: ``LocalBackend.startup_seconds`` (the stack's own, from
``start()`` to every component healthy, which is what the target is about) and
a wall clock around entering ``start_local_stack`` (adds building the plan and
the sweep of earlier runs). Teardown time is reported too: a slow stop is what
makes a test suite slow even when starts are fast.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any

from harness.bench import BenchOptions
from harness.bench.common import Goal, Judged, LoadMeter, MachineLoad, Row, judged_json, progress

DEFAULT_STARTS = 5
MAX_FAILED_STARTS = 3
MEDIAN = Goal("median_s", "<", 1.0, "s")  # DESIGN section 9, local stack
MAX = Goal("max_s", "<", 1.0, "s")
DOCKER_GOALS = (
    Goal("median_s", "<", 10.0, "s"),
    Goal("max_s", "<", 10.0, "s"),
    Goal("stop_median_s", "<", 5.0, "s"),
)


@dataclass(frozen=True)
class Start:
    healthy_s: float
    """``startup_seconds`` of the backend."""
    wall_s: float
    stop_s: float


@dataclass(frozen=True)
class Startup:
    starts: tuple[Start, ...]
    failed_starts: tuple[str, ...]
    """First line of each start that did not come up (retried, not in the numbers)."""
    load: MachineLoad
    backend: str = "local"

    def _healthy(self) -> list[float]:
        return [s.healthy_s for s in self.starts]

    @property
    def median_s(self) -> float:
        return statistics.median(self._healthy())

    @property
    def max_s(self) -> float:
        return max(self._healthy())

    @property
    def stop_median_s(self) -> float:
        return statistics.median(s.stop_s for s in self.starts)

    @property
    def judged(self) -> list[Judged]:
        if self.backend == "docker":
            median, maximum, stop = DOCKER_GOALS
            return [
                Judged(median, self.median_s),
                Judged(maximum, self.max_s),
                Judged(stop, self.stop_median_s),
            ]
        return [Judged(MEDIAN, self.median_s), Judged(MAX, self.max_s)]

    def rows(self) -> list[Row]:
        median, maximum = self.judged[:2]
        stop_verdict = self.judged[2].verdict.value if len(self.judged) > 2 else ""
        stop_goal = self.judged[2].goal.text() if len(self.judged) > 2 else ""
        wall = [s.wall_s for s in self.starts]
        stop = [s.stop_s for s in self.starts]
        return [
            ("starts (failed and retried)", f"{len(self.starts)} ({len(self.failed_starts)})",
             "", ""),
            ("backend", self.backend, "", ""),
            ("up and healthy, median", f"{self.median_s:.3f} s", median.goal.text(),
             median.verdict.value),
            ("up and healthy, max", f"{self.max_s:.3f} s", maximum.goal.text(),
             maximum.verdict.value),
            ("wall clock around start, median / max",
             f"{statistics.median(wall):.3f} / {max(wall):.3f} s", "", ""),
            ("teardown, median / max", f"{statistics.median(stop):.3f} / {max(stop):.3f} s",
             stop_goal, stop_verdict),
            ("machine load", self.load.text(), "", ""),
        ]  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "starts": len(self.starts),
            "failed_starts": list(self.failed_starts),
            "median_s": round(self.median_s, 4),
            "max_s": round(self.max_s, 4),
            **judged_json(self.judged),
            "samples": [
                {
                    "healthy_s": round(s.healthy_s, 4),
                    "wall_s": round(s.wall_s, 4),
                    "stop_s": round(s.stop_s, 4),
                }
                for s in self.starts
            ],
            "load": self.load.to_json(),
        }


def run(options: BenchOptions | None = None) -> Startup:
    from harness.stack.backend import backend_kind, open_backend
    from harness.stack.errors import StackAddressInUseError, StackStartError

    kind = backend_kind(options.backend if options else "local")

    count = (options.starts if options else None) or DEFAULT_STARTS
    meter = LoadMeter()
    starts: list[Start] = []
    failed: list[str] = []
    # A start that fails (on a shared machine: another stack took an address between
    # the automatic network's free-check and the bind) is retried and reported.
    attempts = 0
    while len(starts) < count and attempts < count + MAX_FAILED_STARTS:
        attempts += 1
        began = time.monotonic()
        stack = open_backend(kind, network="auto")
        try:
            try:
                stack.start()
                stack.wait_healthy(kind.start_timeout_s)
                wall = time.monotonic() - began
                healthy = stack.startup_seconds
            finally:
                stopping = time.monotonic()
                stack.stop()
        except (StackStartError, StackAddressInUseError) as error:
            failed.append(error.message.splitlines()[0])
            progress(f"startup: a start failed, retrying: {failed[-1]}")
            continue
        stop = time.monotonic() - stopping
        assert healthy is not None  # set by wait_healthy, which entering the block ran
        starts.append(Start(healthy, wall, stop))
        progress(f"startup: {len(starts)}/{count}: healthy in {healthy:.3f} s, stop {stop:.3f} s")
    if not starts:
        raise StackStartError(f"no start of {attempts} succeeded: {failed[-1]}")
    return Startup(tuple(starts), tuple(failed), meter.done(), kind.value)
