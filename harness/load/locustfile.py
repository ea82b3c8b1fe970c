"""The file Locust runs (``locust -f``) for ``ullc-harness load``, in master and workers.

Settings come from the environment ``ullc-harness load`` sets (a worker on another
machine sets them itself, see the README):

- ``ULLC_LOAD_TARGET``: the target file every user calls;
- ``ULLC_LOAD_MODE``: ``ullc`` (default) or ``sequential``;
- ``ULLC_LOAD_SUMMARY``: on the master (or a local run), where to write the run summary
  (JSON: calls per route, hit rate, percentiles, the workers that reported).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from locust import User, constant, events, task
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from harness.client.client import UllcClient
from harness.load.bridge import BRIDGE
from harness.load.routes import CallFailed, RouteCounts, request_name
from harness.signaling.messages import Mode
from harness.target.loader import load_target
from harness.target.model import Target

_TARGET: Target | None = None
_REPORTING_WORKERS: set[str] = set()


def _target() -> Target:
    global _TARGET
    if _TARGET is None:
        path = os.environ.get("ULLC_LOAD_TARGET")
        if not path:
            raise RuntimeError("ULLC_LOAD_TARGET is not set: run this file via `ullc-harness load`")
        _TARGET = load_target(path)
    return _TARGET


def _region(target: Target) -> str:
    """The stats name's first part: the client's region when the target says, else its name."""
    subnets = {} if target.reference is None else target.reference.extra.get("client_subnets", {})
    bind_ip = target.client.bind_ip or ""
    for region, subnet in dict(subnets).items():
        prefix = str(subnet).rsplit(".", 1)[0] + "."
        if bind_ip.startswith(prefix):
            return str(region)
    return target.name


class UllcUser(User):
    """One voice client with its persistent gateway connection, placing calls back to back."""

    wait_time = constant(0)

    def on_start(self) -> None:
        target = _target()
        self.mode = Mode(os.environ.get("ULLC_LOAD_MODE", Mode.ULLC.value))
        self.region = _region(target)
        self.client = BRIDGE.run(UllcClient(target).open())

    def on_stop(self) -> None:
        BRIDGE.run(self.client.close())

    @task
    def place_call(self) -> None:
        started = time.time()
        result = BRIDGE.run(self.client.connect(mode=self.mode))
        self.environment.events.request.fire(
            request_type=self.mode.value,
            name=request_name(self.region, result),
            # Locust's response time is the connect latency (DESIGN section 4), measured
            # by the client on the asyncio loop, not greenlet wall time.
            response_time=result.connect_ms if result.connect_ms is not None else
            (time.time() - started) * 1000.0,
            response_length=0,
            exception=None if result.connected else CallFailed(result),
            context={"dc": result.dc, "fell_back": result.fell_back},
        )  # fmt: skip


def _count_worker(client_id: str, data: dict[str, Any], **_kwargs: Any) -> None:
    if any(entry.get("num_requests", 0) for entry in data.get("stats", [])):
        _REPORTING_WORKERS.add(client_id)


def _write_summary(environment: Environment, **_kwargs: Any) -> None:
    destination = os.environ.get("ULLC_LOAD_SUMMARY")
    if not destination or isinstance(environment.runner, WorkerRunner):
        return
    stats = environment.stats
    routes = RouteCounts.from_rows(
        (entry.name, entry.num_requests, entry.num_failures) for entry in stats.entries.values()
    )
    total = stats.total

    def percentile(p: float) -> float | None:
        return None if total.num_requests == 0 else total.get_response_time_percentile(p)

    summary = {
        "calls": routes.calls,
        "connected": routes.hits + routes.fallbacks,
        "failed": routes.failed,
        "fallbacks": routes.fallbacks,
        "hit_rate": routes.hit_rate,
        "p50_ms": percentile(0.50),
        "p95_ms": percentile(0.95),
        "p99_ms": percentile(0.99),
        "workers_reporting": sorted(_REPORTING_WORKERS)
        if isinstance(environment.runner, MasterRunner)
        else [],
    }
    Path(destination).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


# Locust's EventHook has no type hints.
events.worker_report.add_listener(_count_worker)  # type: ignore[no-untyped-call]
events.quitting.add_listener(_write_summary)  # type: ignore[no-untyped-call]
