"""A UDP proxy's flows, bounded: a flood of sources evicts flows instead of exhausting files.

Each flow owns one upstream socket (the upstream tells clients apart by source port,
as behind a NAT), so flows cost file descriptors. Two bounds hold:

- per proxy, ``max_flows`` (default 4096);
- per process, half the open-file limit across every UDP proxy (:class:`FdBudget`),
  so TCP connections and the API keep descriptors even during a flood.

At a bound the least recently active flow goes, preferring one that never got a
reply (a flood source, a scanner) over an answered one (a real call). Evictions are
logged, at most once per :data:`REPORT_EVERY_S`, with their count.
"""

from __future__ import annotations

import logging
import resource
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger("harness.faults.udp")

REPORT_EVERY_S = 10.0
_SCAN = 64  # how far from the oldest end eviction looks for a never-answered flow


class FlowLike(Protocol):
    answered: bool

    def close(self) -> None: ...


class FdBudget:
    """Descriptors all UDP flows of this process may hold together."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit if limit is not None else _process_limit()
        self.used = 0

    @property
    def full(self) -> bool:
        return self.used >= self.limit


def _process_limit() -> int:
    """Half the open-file limit, after raising the soft limit to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = 65536 if hard == resource.RLIM_INFINITY else hard
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return max(16, soft // 2)


@dataclass
class _Report:
    evicted: int = 0
    since: float = 0.0
    last_log: float = -REPORT_EVERY_S


class FlowTable:
    """Client address -> flow, least recently active first."""

    def __init__(self, proxy: str, max_flows: int, budget: FdBudget) -> None:
        self.proxy = proxy
        self.max_flows = max_flows
        self.budget = budget
        self.flows: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self.evicted_total = 0
        self._report = _Report()

    def __len__(self) -> int:
        return len(self.flows)

    def room(self) -> bool:
        """Make room for one more flow; False if none can be made (the datagram drops)."""
        while len(self.flows) >= self.max_flows or self.budget.full:
            if not self.flows:
                return False
            self._evict_one()
        return True

    def touch(self, client: tuple[Any, ...]) -> None:
        """``client``'s flow was active: it moves to the young end."""
        if client in self.flows:
            self.flows.move_to_end(client)

    def add(self, client: tuple[Any, ...], flow: Any) -> None:
        self.flows[client] = flow
        self.budget.used += 1

    def pop(self, client: tuple[Any, ...]) -> None:
        flow = self.flows.pop(client, None)
        if flow is not None:
            flow.close()
            self.budget.used -= 1

    def clear(self) -> None:
        for client in list(self.flows):
            self.pop(client)
        self.flush_report(force=True)

    def _evict_one(self) -> None:
        victim = None
        for index, (client, flow) in enumerate(self.flows.items()):
            if not flow.answered:
                victim = client
                break
            if index >= _SCAN:
                break
        if victim is None:
            victim = next(iter(self.flows))
        self.pop(victim)
        self.evicted_total += 1
        report = self._report
        now = time.monotonic()
        if report.evicted == 0:
            report.since = now
        report.evicted += 1
        self.flush_report(now)

    def flush_report(self, now: float | None = None, *, force: bool = False) -> None:
        """Log the evictions not yet reported, at most once per REPORT_EVERY_S."""
        report = self._report
        if report.evicted == 0:
            return
        now = time.monotonic() if now is None else now
        if not force and now - report.last_log < REPORT_EVERY_S:
            return
        log.warning(
            "udp proxy %r: flow table full (%d flows; max_flows %d, process budget %d/%d "
            "descriptors): evicted %d least recently active flow(s) in %.1f s "
            "(%d since start); raise max_flows if these are real clients",
            self.proxy,
            len(self.flows),
            self.max_flows,
            self.budget.used,
            self.budget.limit,
            report.evicted,
            now - report.since,
            self.evicted_total,
        )
        report.evicted = 0
        report.last_log = now
