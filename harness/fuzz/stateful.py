"""Stateful fuzzing of call and fault sequences (Hypothesis ``RuleBasedStateMachine``).

The machine places calls while it switches faults on and off, pauses and resumes DCs,
swaps latency-map versions and forges checks, in sequences Hypothesis chooses and
shrinks. Invariants, after every step:

- every call ended with a typed :class:`~harness.client.result.CallOutcome` (SIG-14);
- no forged or unauthenticated check was ever answered with a success (STUN-45, SESS-5);
- a call placed while no fault was active connected under the budget (ROUTE-7, FB-2:
  a swapped map is repaired by fallback, so it does not excuse a failure).

The machine drives a :class:`CallWorld`, a Protocol, so it runs against anything that
can place a call and switch faults; ``suites/fuzz`` adapts the plugin's fixtures to it.

Profiles (registered on import, so ``-p harness.fuzz.stateful`` makes them selectable
with ``--hypothesis-profile``): ``ullc-fuzz`` (default of the suites: few examples) and
``ullc-deep`` (many examples, longer sequences; CI runs it under the ``slow`` marker).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from harness.client.result import CallOutcome, CallResult
from harness.fuzz.profiles import DEEP_PROFILE, FUZZ_PROFILE

STATEFUL_EXAMPLES = {FUZZ_PROFILE: 3, DEEP_PROFILE: 25}
"""Sequences per run: each step may wait out a signaling timeout, so fewer than the profile's."""


HEAL_SETTLE_S = 0.5
"""After a fault is removed, how long its aftermath may still explain a failed call (and
how long the closing health call waits): far above a FIN's trip on loopback."""


def fuzz_settings(profile: str | None = None) -> settings:
    """The settings of ``profile`` (default: ``ullc-fuzz``), for ``@settings(...)``."""
    return settings.get_profile(profile or FUZZ_PROFILE)


class LinkFault(StrEnum):
    """What the machine may do to a link (a subset of the fault vocabulary)."""

    LATENCY = "latency"
    LOSS = "loss"
    PARTITION = "partition"


class Switch(Protocol):
    """A fault that is on until removed (harness.faults.vocabulary.Fault fits)."""

    def remove(self) -> None: ...


class CallWorld(Protocol):
    """What the machine needs of a target; ``suites/fuzz`` adapts the fixtures to it."""

    budget_ms: float
    udp_links: Sequence[str]
    tcp_links: Sequence[str]
    dcs: Sequence[str]

    def place_call(self) -> CallResult: ...

    def link_fault(self, link: str, kind: LinkFault) -> Switch: ...

    def pause(self, dc: str) -> Switch: ...

    def route_all(self, component: str, dc: str) -> None:
        """Make ``component`` (``gateway`` or an edge) route every edge to ``dc``."""

    def restore_maps(self) -> None: ...

    def forged_check_succeeds(self) -> bool:
        """Send a check signed with a wrong password to a live session's edge; True if a
        success came back (which must never happen)."""


@dataclass
class Ledger:
    """What happened in one sequence of the machine (its invariants judge that one only), or,
    as the ``ledger`` of :func:`call_fault_machine`, in all of them together, for the report."""

    calls: list[tuple[CallResult, bool]] = field(default_factory=list)
    """Each call with whether a fault was active while it ran."""
    forged_successes: int = 0
    steps: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    """What broke an invariant, each with the steps of its sequence."""

    def add(self, sequence: Ledger, budget_ms: float) -> None:
        """Take in one finished sequence, judging it as its invariants do."""
        self.calls.extend(sequence.calls)
        self.forged_successes += sequence.forged_successes
        self.steps.extend(sequence.steps)
        self.violations.extend(
            f"{problem}\n  steps: {sequence.steps}" for problem in violations(sequence, budget_ms)
        )


def violations(ledger: Ledger, budget_ms: float) -> list[str]:
    """What in ``ledger`` breaks the machine's invariants (see the module docstring)."""
    problems = [
        f"{result.failure} without detail: {result}"
        for result, _ in ledger.calls
        if not (isinstance(result.outcome, CallOutcome) and (result.connected or result.detail))
    ]
    if ledger.forged_successes:
        problems.append(f"{ledger.forged_successes} forged check(s) answered with a success")
    for result, faulty in ledger.calls:
        if faulty:
            continue
        if not result.connected:
            problems.append(
                f"no fault was active, yet the call ended {result.failure}: {result.detail}"
            )
        elif result.connect_ms is None or result.connect_ms >= budget_ms:
            problems.append(
                f"no fault was active, yet the call took {result.connect_ms} ms "
                f"(budget {budget_ms:.0f} ms)"
            )
    return problems


def call_fault_machine(
    world: CallWorld, ledger: Ledger | None = None
) -> type[RuleBasedStateMachine]:
    """A machine class bound to ``world`` (Hypothesis instantiates it without arguments).

    Each sequence keeps its own :class:`Ledger` and its invariants judge only that one:
    Hypothesis replays a failing sequence to shrink it and expects the same outcome, so a
    call that failed in an earlier sequence must not fail a later one. (Judged over a
    shared record, one failed call failed every later sequence at its first step, the
    replay stopped earlier than the original, and Hypothesis raised
    FlakyStrategyDefinition instead of reporting the call.) ``ledger`` gets every
    sequence's record and what broke the invariants in it (:attr:`Ledger.violations`):
    the caller asserts that too, because Hypothesis discards a failure in a sequence it
    abandons (one that ran out of choices) and a call that failed once and not on
    replay ends as FlakyFailure, not as the call."""
    total = ledger if ledger is not None else Ledger()
    links = [*world.udp_links, *world.tcp_links]

    class CallFaultMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.record = Ledger()
            self.faults: dict[str, Switch] = {}
            self.paused: dict[str, Switch] = {}
            self.diverged = False
            self.healed_at = float("-inf")

        @property
        def faulty(self) -> bool:
            # A fault's removal has effects of its own: a healed TCP partition closes the
            # connections it held (Toxiproxy's semantics), so a call placed in the same
            # instant may meet a connection whose close is still on its way.
            settling = time.monotonic() - self.healed_at < HEAL_SETTLE_S
            return bool(self.faults or self.paused) or settling

        @rule()
        def place_call(self) -> None:
            faulty_before = self.faulty
            result = world.place_call()
            self.record.calls.append((result, faulty_before or self.faulty))
            self.record.steps.append(f"call -> {result.failure or 'connected'}")

        @precondition(lambda self: len(self.faults) < 2)
        @rule(link=st.sampled_from(links), kind=st.sampled_from(list(LinkFault)))
        def apply_link_fault(self, link: str, kind: LinkFault) -> None:
            if link in self.faults:
                return
            if kind is LinkFault.LOSS and link not in world.udp_links:
                kind = LinkFault.LATENCY  # TCP retransmits: loss there is latency
            self.faults[link] = world.link_fault(link, kind)
            self.record.steps.append(f"{kind} on {link}")

        @precondition(lambda self: bool(self.faults))
        @rule(data=st.data())
        def remove_link_fault(self, data: st.DataObject) -> None:
            link = data.draw(st.sampled_from(sorted(self.faults)))
            self.faults.pop(link).remove()
            self.healed_at = time.monotonic()
            self.record.steps.append(f"healed {link}")

        @precondition(lambda self: not self.paused)
        @rule(dc=st.sampled_from(list(world.dcs)))
        def pause_dc(self, dc: str) -> None:
            self.paused[dc] = world.pause(dc)
            self.record.steps.append(f"paused {dc}")

        @precondition(lambda self: bool(self.paused))
        @rule()
        def resume_dc(self) -> None:
            for dc in list(self.paused):
                self.paused.pop(dc).remove()
                self.healed_at = time.monotonic()
                self.record.steps.append(f"resumed {dc}")

        @rule(component=st.sampled_from(["gateway", "edges"]), dc=st.sampled_from(list(world.dcs)))
        def swap_map(self, component: str, dc: str) -> None:
            world.route_all(component, dc)
            self.diverged = True
            self.record.steps.append(f"{component} -> all-to-{dc}")

        @precondition(lambda self: self.diverged)
        @rule()
        def restore_maps(self) -> None:
            world.restore_maps()
            self.diverged = False
            self.record.steps.append("maps restored")

        @rule()
        def forge_check(self) -> None:
            if world.forged_check_succeeds():
                self.record.forged_successes += 1
            self.record.steps.append("forged check")

        @invariant()
        def no_rule_broken(self) -> None:
            problems = violations(self.record, world.budget_ms)
            assert not problems, "\n".join([*problems, f"steps: {self.record.steps}"])

        def teardown(self) -> None:
            try:
                for switch in [*self.faults.values(), *self.paused.values()]:
                    switch.remove()
                self.faults.clear()
                self.paused.clear()
                if self.diverged:
                    world.restore_maps()
                    self.diverged = False
                # Every sequence ends with a health call on the healed target: the machine
                # always places a call, and recovery from whatever it did is checked.
                time.sleep(HEAL_SETTLE_S)
                self.healed_at = float("-inf")
                self.place_call()
                self.no_rule_broken()
            finally:
                total.add(self.record, world.budget_ms)

    return CallFaultMachine


def failed_calls(ledger: Ledger) -> list[CallResult]:
    return [result for result, _ in ledger.calls if not result.connected]


__all__ = [
    "DEEP_PROFILE",
    "FUZZ_PROFILE",
    "STATEFUL_EXAMPLES",
    "CallOutcome",
    "CallWorld",
    "Ledger",
    "LinkFault",
    "call_fault_machine",
    "failed_calls",
    "fuzz_settings",
    "violations",
]
