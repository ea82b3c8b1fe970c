"""The gateway's signaling messages against the schemas and SIG rules (SIG-1, 3, 6, 7, 10, 12, 15).

Frames are sent raw on one WebSocket (:class:`harness.conformance.signaling.SignalingProbe`),
so requests the client library would refuse to build reach the gateway, and the same
connection is used afterwards to show it is still usable.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from typing import Any

import pytest

from harness.conformance.session import media_address
from harness.conformance.signaling import RawAnswer, SignalingProbe, valid_request
from harness.fixtures.target_session import RunningTarget

pytestmark = [pytest.mark.conformance]

Mutation = Callable[[dict[str, Any]], None]


def _drop(*path: str) -> Mutation:
    def mutate(body: dict[str, Any]) -> None:
        node = body
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return mutate


def _set(value: object, *path: str) -> Mutation:
    def mutate(body: dict[str, Any]) -> None:
        node = body
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mutate


# (case id, mutation, the field the error message must name)
INVALID: list[tuple[str, Mutation, str]] = [
    ("missing-client", _drop("client"), "client"),
    ("missing-bot-in-ullc", _drop("bot"), "bot"),
    ("missing-edge-ip-in-ullc", _drop("edge_ip"), "edge_ip"),
    ("edge-ip-not-an-address", _set("edge.example", "edge_ip"), "edge_ip"),
    ("short-bot-ufrag", _set("ab", "bot", "ice_ufrag"), "ice_ufrag"),
    ("bad-char-in-client-pwd", _set("x" * 21 + "!", "client", "ice_pwd"), "ice_pwd"),
    ("unknown-mode", _set("turbo", "mode"), "mode"),
    ("sdp-not-a-string", _set(42, "client", "sdp"), "sdp"),
    ("unknown-top-level-field", _set(True, "debug"), "debug"),
]


def _run(target: RunningTarget, steps: Callable[[SignalingProbe], Any]) -> Any:
    async def go() -> Any:
        async with SignalingProbe(target.target) as probe:
            return await steps(probe)

    return asyncio.run(go())


def _edge_ip(ullc_target: RunningTarget) -> str:
    if ullc_target.capabilities.stun_only:
        pytest.skip(f"target {ullc_target.name!r} lacks capability ullc: it is stun_only (TGT-5)")
    return asyncio.run(media_address(ullc_target.target))[0]


@pytest.mark.requirements("SIG-10", "SIG-3", "SIG-4")
def test_valid_request_gets_session_created_matching_the_schema(
    ullc_target: RunningTarget,
) -> None:
    request = valid_request(ullc_target.target, _edge_ip(ullc_target), request_id="conf.valid-1")

    answer: RawAnswer = _run(ullc_target, lambda probe: probe.send(request))

    assert answer.well_formed, (answer.text, answer.violations)
    assert answer.type == "session.created", answer.text
    assert answer.request_id == "conf.valid-1"
    body = answer.body
    assert body["dc"] in (ullc_target.topology.dcs if ullc_target.topology else [body["dc"]])
    # SIG-10: in ULLC mode `bot`, when present, equals what the request carried.
    if "bot" in body:
        assert body["bot"]["ice_ufrag"] == request["bot"]["ice_ufrag"]
        assert body["bot"]["ice_pwd"] == request["bot"]["ice_pwd"]


@pytest.mark.parametrize(
    ("mutation", "field"),
    [pytest.param(m, f, id=case) for case, m, f in INVALID],
)
@pytest.mark.requirements("SIG-6", "SIG-12", "SIG-3", "SIG-1")
def test_invalid_request_gets_bad_request_naming_the_field(
    ullc_target: RunningTarget, mutation: Mutation, field: str
) -> None:
    edge_ip = _edge_ip(ullc_target)
    bad = valid_request(ullc_target.target, edge_ip, request_id="conf.bad-1")
    mutation(bad)
    follow_up = valid_request(ullc_target.target, edge_ip, request_id="conf.after-bad")

    async def steps(probe: SignalingProbe) -> tuple[RawAnswer, RawAnswer]:
        return await probe.send(bad), await probe.send(follow_up)

    answer, after = _run(ullc_target, steps)

    assert answer.well_formed, (answer.text, answer.violations)
    assert answer.type == "error", answer.text
    assert answer.code == "bad_request", answer.text
    assert field in answer.message, f"the error does not name {field!r}: {answer.message!r}"
    assert answer.request_id in (None, "conf.bad-1")
    # One bad request neither closes the connection nor poisons it (SIG-1, SIG-12).
    assert after.type == "session.created", after.text
    assert after.request_id == "conf.after-bad"


@pytest.mark.requirements("SIG-1", "SIG-12")
def test_binary_frame_gets_bad_request_and_the_connection_stays_open(
    ullc_target: RunningTarget,
) -> None:
    edge_ip = _edge_ip(ullc_target)
    request = valid_request(ullc_target.target, edge_ip, request_id="conf.after-binary")

    async def steps(probe: SignalingProbe) -> tuple[RawAnswer, RawAnswer]:
        return await probe.send(b"\x00\x01 binary"), await probe.send(request)

    answer, after = _run(ullc_target, steps)

    assert answer.well_formed, (answer.text, answer.violations)
    assert answer.code == "bad_request", answer.text
    assert after.type == "session.created", after.text


@pytest.mark.requirements("SIG-7", "SIG-12")
def test_bot_ufrag_already_in_use_is_a_conflict(ullc_target: RunningTarget) -> None:
    first = valid_request(ullc_target.target, _edge_ip(ullc_target), request_id="conf.first")
    second = copy.deepcopy(first)
    second["request_id"] = "conf.second"
    # A different client, the same bot ufrag: the DC already stores a session under it.
    second["client"] = valid_request(ullc_target.target, first["edge_ip"])["client"]

    async def steps(probe: SignalingProbe) -> tuple[RawAnswer, RawAnswer]:
        return await probe.send(first), await probe.send(second)

    created, refused = _run(ullc_target, steps)

    assert created.type == "session.created", created.text
    assert refused.well_formed, (refused.text, refused.violations)
    assert refused.type == "error", refused.text
    assert refused.code == "conflict", refused.text
    assert refused.request_id == "conf.second"


NOT_AN_EDGE = ["0.0.0.0", "255.255.255.255", "::", "::1", "8.8.8.8", "10.0.0.1", "224.0.0.1"]


@pytest.mark.parametrize("edge_ip", NOT_AN_EDGE)
@pytest.mark.requirements("SIG-18", "SIG-6", "SIG-12")
def test_an_edge_ip_that_is_no_edge_is_refused(ullc_target: RunningTarget, edge_ip: str) -> None:
    real_edge = _edge_ip(ullc_target)
    edges = {edge.host for edge in ullc_target.target.endpoints.edges} | {real_edge}
    if edge_ip in edges:
        pytest.skip(f"{edge_ip} is an edge of target {ullc_target.name!r}")
    bad = valid_request(ullc_target.target, real_edge, request_id="conf.no-edge")
    bad["edge_ip"] = edge_ip
    follow_up = valid_request(ullc_target.target, real_edge, request_id="conf.after-no-edge")

    async def steps(probe: SignalingProbe) -> tuple[RawAnswer, RawAnswer]:
        return await probe.send(bad), await probe.send(follow_up)

    answer, after = _run(ullc_target, steps)

    assert answer.well_formed, (answer.text, answer.violations)
    assert answer.type == "error", f"edge_ip {edge_ip} was not refused: {answer.text}"
    assert answer.code == "bad_request", answer.text
    assert answer.body.get("retryable") is False, answer.text
    assert "edge_ip" in answer.message, answer.text
    assert answer.request_id == "conf.no-edge"
    assert after.type == "session.created", after.text


DEEP = 100_000


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param("[" * DEEP + "]" * DEEP, id="array-100000-deep"),
        pytest.param('{"a":' * DEEP + "1" + "}" * DEEP, id="object-100000-deep"),
        pytest.param(
            '{"type":"session.create","request_id":"conf.deep","debug":'
            + "[" * 900
            + "]" * 900
            + "}",
            id="session-create-with-a-900-deep-field",
        ),
    ],
)
@pytest.mark.requirements("SIG-12", "SIG-6")
def test_deeply_nested_json_gets_exactly_one_answer(ullc_target: RunningTarget, frame: str) -> None:
    follow_up = valid_request(
        ullc_target.target, _edge_ip(ullc_target), request_id="conf.after-deep"
    )

    async def steps(probe: SignalingProbe) -> tuple[RawAnswer, RawAnswer]:
        return await probe.send(frame), await probe.send(follow_up)

    answer, after = _run(ullc_target, steps)

    assert answer.well_formed, (answer.text, answer.violations)
    assert answer.type == "error", answer.text
    assert answer.code == "bad_request", answer.text
    # The next answer on the connection is the follow-up's: no second answer to the
    # deep frame came in between, and the connection still serves (SIG-12).
    assert after.request_id == "conf.after-deep", after.text
    assert after.type == "session.created", after.text
