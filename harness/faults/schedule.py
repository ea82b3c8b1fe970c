"""Timed fault schedules: fault on at t1, off at t2, relative to one monotonic start.

A schedule is data (:class:`FaultSpec` steps), so it serialises into the report
and a failing chaos run can be replayed exactly. :meth:`Schedule.random` draws a
schedule from one seed; the same seed gives the same schedule.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from harness.errors import UsageError
from harness.faults.client import FaultClient
from harness.faults.process import ProcessControl
from harness.faults.seeding import derive_rng
from harness.faults.vocabulary import KINDS, Fault, FaultKind, Target

__all__ = ["FaultKind", "FaultSpec", "Schedule", "ScheduleRun", "Step"]


@dataclass(frozen=True)
class FaultSpec:
    """A fault as data: ``target`` is a link name, or a component for process faults."""

    kind: FaultKind
    target: str
    params: dict[str, Any] = field(default_factory=dict)

    def build(self, client: FaultClient | None, processes: ProcessControl | None = None) -> Fault:
        """The fault this step switches, built through the kind table."""
        spec = KINDS[self.kind]
        if spec.target is Target.PROCESS:
            if processes is None:
                raise UsageError(f"{self.kind} of {self.target!r} needs a ProcessControl")
            log = client.log if client is not None else None
            return spec.on_process(processes, self.target, log)
        if spec.target is not Target.LINK:
            raise UsageError(
                f"{self.kind} cannot be scheduled",
                hint="latency maps change through the ullc_faults fixture (route_all, diverge)",
            )
        if client is None:
            raise UsageError(f"{self.kind} on {self.target!r} needs a FaultClient")
        return spec.on_link(client.link(self.target), **self.params)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "target": self.target, "params": dict(self.params)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultSpec:
        return cls(FaultKind(data["kind"]), str(data["target"]), dict(data.get("params") or {}))


@dataclass(frozen=True)
class Step:
    """Apply ``spec`` at ``at`` seconds after start; remove at ``until`` (None: stays on)."""

    at: float
    until: float | None
    spec: FaultSpec

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at, "until": self.until, "fault": self.spec.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Step:
        until = data.get("until")
        return cls(
            float(data["at"]),
            None if until is None else float(until),
            FaultSpec.from_json(data["fault"]),
        )


@dataclass
class Schedule:
    steps: list[Step] = field(default_factory=list)
    seed: int | None = None

    def add(self, at: float, until: float | None, spec: FaultSpec) -> Schedule:
        if until is not None and until < at:
            raise UsageError(f"step ends at {until} s before it starts at {at} s")
        self.steps.append(Step(at, until, spec))
        return self

    def to_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "steps": [step.to_json() for step in self.steps]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Schedule:
        return cls([Step.from_json(item) for item in data.get("steps", [])], data.get("seed"))

    @classmethod
    def random(
        cls,
        *,
        seed: int,
        links: list[str],
        duration: float,
        count: int,
        kinds: tuple[FaultKind, ...] = (FaultKind.LATENCY, FaultKind.PARTITION),
        max_length: float = 1.0,
    ) -> Schedule:
        """``count`` faults of ``kinds`` on ``links`` within ``duration`` s, drawn from ``seed``."""
        rng = derive_rng(seed, "schedule")
        schedule = cls(seed=seed)
        for _ in range(count):
            kind = rng.choice(kinds)
            at = round(rng.uniform(0, duration * 0.8), 3)
            until = round(min(duration, at + rng.uniform(0.05, max_length)), 3)
            params: dict[str, Any] = {}
            if kind in (FaultKind.LATENCY, FaultKind.RTT):
                params = {"ms": rng.choice([10, 20, 50, 100, 200])}
            elif kind is FaultKind.JITTER:
                params = {"ms": rng.choice([5, 10, 20])}
            elif kind is FaultKind.LOSS:
                params = {"probability": rng.choice([0.01, 0.05, 0.2, 0.5])}
            elif kind is FaultKind.BURSTY_LOSS:
                params = {"p": rng.choice([0.01, 0.05]), "r": rng.choice([0.2, 0.5])}
            elif kind is FaultKind.BANDWIDTH:
                params = {"rate_kbps": rng.choice([8, 32, 128])}
            schedule.add(at, until, FaultSpec(kind, rng.choice(links), params))
        schedule.steps.sort(key=lambda step: step.at)
        return schedule

    def _timeline(self) -> list[tuple[float, int, bool, int]]:
        """(time, order, is_apply, step index); removals first at equal times."""
        events = []
        for index, step in enumerate(self.steps):
            events.append((step.at, 1, True, index))
            if step.until is not None:
                events.append((step.until, 0, False, index))
        return sorted(events)

    def run(
        self,
        client: FaultClient | None,
        *,
        processes: ProcessControl | None = None,
        start: float | None = None,
    ) -> ScheduleRun:
        """Run in a background thread from ``start`` (monotonic; default now)."""
        faults = [step.spec.build(client, processes) for step in self.steps]
        run = ScheduleRun(self, faults, time.monotonic() if start is None else start)
        run.thread.start()
        return run

    async def run_async(
        self,
        client: FaultClient | None,
        *,
        processes: ProcessControl | None = None,
        start: float | None = None,
    ) -> None:
        """Run on the current loop; HTTP calls go to a thread so the loop keeps serving."""
        faults = await asyncio.to_thread(
            lambda: [step.spec.build(client, processes) for step in self.steps]
        )
        t0 = time.monotonic() if start is None else start
        try:
            for when, _, is_apply, index in self._timeline():
                await asyncio.sleep(max(0.0, t0 + when - time.monotonic()))
                fault = faults[index]
                await asyncio.to_thread(fault.apply if is_apply else fault.remove)
        finally:
            for fault in faults:
                if fault.active and fault.what is not FaultKind.KILL:
                    await asyncio.to_thread(fault.remove)


class ScheduleRun:
    """A schedule running in a thread. :meth:`stop` removes what is still applied."""

    def __init__(self, schedule: Schedule, faults: list[Fault], start: float) -> None:
        self.schedule = schedule
        self.faults = faults
        self.start = start
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._main, name="fault-schedule", daemon=True)

    def _main(self) -> None:
        try:
            for when, _, is_apply, index in self.schedule._timeline():
                if self._stop.wait(max(0.0, self.start + when - time.monotonic())):
                    break
                fault = self.faults[index]
                fault.apply() if is_apply else fault.remove()
        except BaseException as error:  # surfaced by wait()/stop() in the caller's thread
            self.errors.append(error)
        self.done.set()
        # Steps without an end stay applied until stop().
        self._stop.wait()
        for fault in self.faults:
            if fault.active and fault.what is not FaultKind.KILL:
                try:
                    fault.remove()
                except Exception as error:
                    self.errors.append(error)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the last step has run; True if it has. Raises a step's error."""
        finished = self.done.wait(timeout)
        if self.errors:
            raise self.errors[0]
        return finished

    def stop(self) -> None:
        """End the run now and remove every fault still applied."""
        self._stop.set()
        self.thread.join()
        if self.errors:
            raise self.errors[0]

    def __enter__(self) -> ScheduleRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
