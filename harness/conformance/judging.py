"""Judge what came back for one crafted datagram against what the rules expect.

A :class:`Verdict` says which :class:`~harness.conformance.crafting.Reply` the target
gave, whether the specs accept it, and every problem found on the way: the strict
checker's violations (``check_stun`` with the password and the observed address),
a missing or forbidden MESSAGE-INTEGRITY (STUN-50), a 420 that does not list the
unknown attribute (STUN-46), answers from another address than the one probed
(STUN-48) or to another transaction (STUN-5).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from dataclasses import dataclass, field

from harness.conformance.crafting import Crafted, Reply, Signing
from harness.conformance.datagrams import Address, Exchange
from harness.protocol.stun_attributes import AttributeType, TransportAddress
from harness.protocol.stun_checker import CheckReport, Profile, check_stun
from harness.protocol.stun_outcome import classify


@dataclass(frozen=True)
class Verdict:
    crafted: Crafted
    reply: Reply
    problems: tuple[str, ...]
    reports: tuple[CheckReport, ...] = field(default=())
    answers: int = 0
    """How many answers carried this transaction (STUN-49: one per retransmission)."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def explain(self) -> str:
        lines = [
            f"{self.crafted.variant}: got {self.reply} ({self.answers} answer(s)); specs accept "
            f"{', '.join(sorted(r.value for r in self.crafted.expectation.accepted))} "
            f"({', '.join(self.crafted.expectation.requirements)}: {self.crafted.expectation.why})"
        ]
        lines += [f"  - {problem}" for problem in self.problems]
        return "\n".join(lines)


def _same(a: Address, b: Address) -> bool:
    try:
        return ipaddress.ip_address(a[0]) == ipaddress.ip_address(b[0]) and a[1] == b[1]
    except ValueError:
        return a == b


def judge(
    crafted: Crafted,
    result: Exchange,
    *,
    password: str | None,
    observed: Collection[Address] | None = None,
    profile: Profile = Profile.ULLC,
) -> Verdict:
    """Judge ``result`` (the exchange that sent ``crafted``).

    ``password``: the bot's ice-pwd (verifies signed answers). ``observed``: the
    addresses XOR-MAPPED-ADDRESS may carry (the probe socket as the target sees
    it; a set because behind a hop the target sees the hop's flow socket).
    """
    expectation = crafted.expectation
    problems: list[str] = []
    mine = result.answers_to(crafted.transaction_id)
    for stray in result.answers:
        if stray not in mine:
            problems.append(
                f"STUN-5: answer from {stray.source} for transaction {stray.data[8:20].hex()} "
                f"that was never sent"
            )
    if not mine:
        reply = Reply.SILENCE
        if reply not in expectation.accepted:
            problems.append(f"no answer within the linger time; expected {_accepted(crafted)}")
        return Verdict(crafted, reply, tuple(problems))

    reports: list[CheckReport] = []
    replies: set[Reply] = set()
    candidates = list(observed or ())
    for answer in mine:
        if not _same(answer.source, result.destination):
            problems.append(
                f"STUN-48: answer came from {answer.source}, the check went to "
                f"{result.destination} (the client discards it, STUN-33)"
            )
        single = candidates[0] if len(candidates) == 1 else None
        report = check_stun(
            answer.data,
            request=crafted.data,
            password=password if expectation.signing is Signing.SIGNED else None,
            observed=single,
            profile=profile,
        )
        reports.append(report)
        reply = classify(report)
        replies.add(reply)
        problems.extend(str(v) for v in report.violations)
        problems.extend(_signing(report, reply, expectation.signing, crafted))
        if reply is Reply.E420:
            problems.extend(_unknown_listed(report, crafted))
        if len(candidates) > 1:
            problems.extend(_mapped_in(report, candidates))
    reply = next(iter(replies)) if len(replies) == 1 else Reply.OTHER_ERROR
    if len(replies) > 1:
        problems.append(
            f"STUN-49: one transaction got different answers: {sorted(r.value for r in replies)}"
        )
    if reply not in expectation.accepted:
        problems.append(f"answered {reply}; expected {_accepted(crafted)}")
    return Verdict(crafted, reply, tuple(problems), tuple(reports), len(mine))


def _accepted(crafted: Crafted) -> str:
    expectation = crafted.expectation
    return (
        " or ".join(sorted(r.value for r in expectation.accepted))
        + f" ({', '.join(expectation.requirements)})"
    )


def _signing(report: CheckReport, reply: Reply, signing: Signing, crafted: Crafted) -> list[str]:
    signed = any(
        a.type in (AttributeType.MESSAGE_INTEGRITY, AttributeType.MESSAGE_INTEGRITY_SHA256)
        for a in report.attributes
    )
    if reply in (Reply.E400, Reply.E401) and signed:
        return [f"STUN-50: {reply} carries MESSAGE-INTEGRITY (it must not)"]
    if signing is Signing.SIGNED and reply in crafted.expectation.accepted and not signed:
        return [f"STUN-50/STUN-48: {reply} is not signed with the bot's ice-pwd"]
    return []


def _unknown_listed(report: CheckReport, crafted: Crafted) -> list[str]:
    listed: set[int] = set()
    for attr in report.attributes:
        if attr.type == AttributeType.UNKNOWN_ATTRIBUTES and isinstance(attr.value, bytes):
            listed = {
                int.from_bytes(attr.value[i : i + 2], "big") for i in range(0, len(attr.value), 2)
            }
        elif attr.type == AttributeType.UNKNOWN_ATTRIBUTES and isinstance(attr.value, tuple):
            listed = {int(t) for t in attr.value}
    missing = [t for t in crafted.unknown_types if t not in listed]
    if missing:
        return [
            "STUN-46: UNKNOWN-ATTRIBUTES does not list "
            + ", ".join(f"0x{t:04X}" for t in missing)
            + f" (lists {sorted(hex(t) for t in listed)})"
        ]
    return []


def _mapped_in(report: CheckReport, candidates: list[Address]) -> list[str]:
    for attr in report.attributes:
        if attr.type == AttributeType.XOR_MAPPED_ADDRESS and isinstance(
            attr.value, TransportAddress
        ):
            got = attr.value.as_tuple()
            if not any(_same(got, c) for c in candidates):
                return [f"STUN-13: XOR-MAPPED-ADDRESS {got} is none of {candidates}"]
    return []
