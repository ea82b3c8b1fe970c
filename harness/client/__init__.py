"""The ULLC client: places calls against a target and reports typed results.

One concept a module:

- :mod:`~harness.client.offer`: the pre-generated offer, both credential sets and SDP (SIG-4).
- :mod:`~harness.client.checks`: building a check, judging a response (specs/stun.md).
- :mod:`~harness.client.media`: the check socket and paced transactions (RACE-2, FB-2).
- :mod:`~harness.client.gateway`: the persistent signaling WebSocket (SIG-1..3).
- :mod:`~harness.client.dns`: resolving the global media endpoint from the client's address.
- :mod:`~harness.client.timeline`: the call's event recorder.
- :mod:`~harness.client.result`: :class:`CallResult`, :class:`CallOutcome`, the timeline events.
- :mod:`~harness.client.call`: one call's flow (ULLC race or sequential baseline).
- :mod:`~harness.client.client`: :class:`UllcClient`.
- :mod:`~harness.client.stats`: :class:`CallStats` over a run (nearest-rank percentiles).
- :mod:`~harness.client.runner`: :func:`run_calls`, many clients, many calls.

Names load lazily: the pytest plugin reads results and stats at every start-up
and must not pay for the network stack (websockets, dnspython, jsonschema) then.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.client.client import UllcClient
    from harness.client.offer import CallOffer
    from harness.client.result import CallOutcome, CallResult, EventKind, TimelineEvent, Via
    from harness.client.runner import run_calls
    from harness.client.stats import CallStats
    from harness.protocol.ice import IceCredentials

_LAZY = {
    "UllcClient": "harness.client.client",
    "CallOffer": "harness.client.offer",
    "CallOutcome": "harness.client.result",
    "CallResult": "harness.client.result",
    "EventKind": "harness.client.result",
    "TimelineEvent": "harness.client.result",
    "Via": "harness.client.result",
    "run_calls": "harness.client.runner",
    "CallStats": "harness.client.stats",
    "IceCredentials": "harness.protocol.ice",
}

__all__ = [
    "CallOffer",
    "CallOutcome",
    "CallResult",
    "CallStats",
    "EventKind",
    "IceCredentials",
    "TimelineEvent",
    "UllcClient",
    "Via",
    "run_calls",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
