"""The stateful fuzz machine's world over the plugin's fixtures, and the success test it uses.

:class:`harness.fuzz.stateful.CallWorld` is a Protocol; :class:`FixtureWorld` is the one the
fuzz suite runs, built from ``ullc_target``, ``ullc_faults``, ``ullc_client`` and
``ullc_evidence``. It lives in the library (not a conftest) so that an installed harness,
whose suites are ``harness.suites``, and a user's own tests can both import it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.client.client import UllcClient
from harness.client.result import CallResult
from harness.conformance.bounds import HOLD_MS
from harness.conformance.crafting import Variant, craft
from harness.conformance.datagrams import exchange
from harness.conformance.session import ProbeSession
from harness.evidence import Evidence
from harness.faults.log import FaultAction
from harness.fixtures.calls import ClientHandle
from harness.fixtures.faults import Faults
from harness.fixtures.target_session import RunningTarget
from harness.fuzz.stateful import LinkFault, Switch
from harness.protocol.stun_wire import MessageClass, decode_type

STATEFUL_DEADLINE_S = 3.0
"""The stateful world's call deadline: above the signaling timeout (SIG-13's 2 s) + 1 s,
below the 5 s default, so a sequence that cuts a link does not wait 5 s per call."""


def is_success(datagram: bytes) -> bool:
    """A STUN success response of any method (the first 2 bits zero, class success)."""
    if len(datagram) < 20 or datagram[0] & 0xC0:
        return False
    _, message_class = decode_type(int.from_bytes(datagram[:2], "big"))
    return message_class is MessageClass.SUCCESS


@dataclass
class FixtureWorld:
    """:class:`harness.fuzz.stateful.CallWorld` over the plugin's fixtures."""

    running: RunningTarget
    faults: Faults
    handle: ClientHandle
    evidence: Evidence
    probe: ProbeSession
    budget_ms: float
    udp_links: Sequence[str]
    tcp_links: Sequence[str]
    dcs: Sequence[str]
    results: list[CallResult] = field(default_factory=list)
    _client: UllcClient | None = None

    def place_call(self) -> CallResult:
        if self._client is None:
            client = UllcClient(self.running.target, deadline_s=STATEFUL_DEADLINE_S)
            self._client = self.handle.run(client.open())
        result = self.handle.run(self._client.connect())
        self.results.append(result)
        return result

    def link_fault(self, link: str, kind: LinkFault) -> Switch:
        if kind is LinkFault.LOSS:
            return self.faults.loss(link, 0.2)
        if kind is LinkFault.PARTITION:
            return self.faults.partition(link)
        return self.faults.latency(link, HOLD_MS)

    def pause(self, dc: str) -> Switch:
        # SIGSTOP on the reference stack, CTL-5 on a user target (Faults.outage).
        return self.faults.outage(dc)

    def route_all(self, component: str, dc: str) -> None:
        targets = ["gateway"] if component == "gateway" else list(self.running.maps.edges)
        for name in targets:
            self.faults.route_all(name, dc)

    def restore_maps(self) -> None:
        for component in list(self.running.maps.originals):
            self.faults.log.record("latency_map", component, FaultAction.REMOVED, {})
        self.running.maps.restore()

    def forged_check_succeeds(self) -> bool:
        crafted = craft(Variant.BAD_INTEGRITY, self.probe.bot, self.probe.client)
        result = asyncio.run(
            exchange(self.probe.edge, [crafted.data], bind_ip=self.running.target.client.bind_ip,
                     linger_s=0.3)
        )  # fmt: skip
        return any(is_success(answer.data) for answer in result.answers)

    def close(self) -> None:
        if self._client is not None:
            self.handle.run(self._client.close())
            self._client = None
        if self.results:
            self.evidence.add_batch(
                "stateful", self.results, started_at=self.results[0].started_at or 0.0
            )
