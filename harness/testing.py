"""What a test author imports: the types the plugin's fixtures hand out, and the helpers
the bundled suites call.

The suites ship inside the wheel as ``harness.suites`` and import only from the library,
never from a ``conftest.py`` or ``suites.*``; a user's own tests do the same through this
module::

    from harness.testing import CallRunner, Faults, RunningTarget

    def test_mine(ullc_target: RunningTarget, ullc_calls: CallRunner, ullc_faults: Faults):
        ...

The fixtures themselves (``ullc_target``, ``ullc_calls``, ``ullc_faults``, ...) come from
the ``ullc`` plugin, listed at the top of :mod:`harness.plugin`.
"""

from __future__ import annotations

from harness.client.result import CallOutcome, CallResult, EventKind
from harness.client_target.observe import ClientObservation, ObserveClient
from harness.client_target.wire import WireCall
from harness.conformance.accounting import (
    Accountant,
    Accounting,
    assert_accounted,
    latencies_counting_failures,
    p95_counting_failures,
)
from harness.conformance.bounds import World
from harness.conformance.measured import ChaosWorld, chaos_world
from harness.conformance.session import ProbeSession, media_address, open_probe_session
from harness.conformance.skips import (
    known_deviation_reason,
    lacks_sessions_reason,
    no_credentials_reason,
    probe_credentials,
)
from harness.evidence import Evidence
from harness.faults.vocabulary import FaultKind
from harness.fixtures.calls import CallRunner, ClientHandle
from harness.fixtures.captures import Capture
from harness.fixtures.faults import Faults
from harness.fixtures.target_session import RunningTarget
from harness.fuzz.world import FixtureWorld, is_success

__all__ = [
    "Accountant",
    "Accounting",
    "CallOutcome",
    "CallResult",
    "CallRunner",
    "Capture",
    "ChaosWorld",
    "ClientHandle",
    "ClientObservation",
    "EventKind",
    "Evidence",
    "FaultKind",
    "Faults",
    "FixtureWorld",
    "ObserveClient",
    "ProbeSession",
    "RunningTarget",
    "WireCall",
    "World",
    "assert_accounted",
    "chaos_world",
    "is_success",
    "known_deviation_reason",
    "lacks_sessions_reason",
    "latencies_counting_failures",
    "media_address",
    "no_credentials_reason",
    "open_probe_session",
    "p95_counting_failures",
    "probe_credentials",
]
